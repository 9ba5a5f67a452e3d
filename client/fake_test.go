package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aipsec/aip/hawk"
)

// Test credentials in the Threat Stack shape (hawk.md "TS profile vectors").
const (
	testUserID = "5d1fa0e1c2b3a4f5e6d7c8b9"
	testKey    = "tsapikey-0123456789abcdef0123456789abcdef"
	testOrgID  = "5a0f1e2d3c4b5a6978877665"
)

// reply is what a fake route answers.
type reply struct {
	status      int // 200 when zero
	body        string
	contentType string // application/json when empty
	header      map[string]string
	// sign overrides the Server-Authorization value computed from the
	// genuine request artifacts; returning "" sends none.
	sign func(art *hawk.Artifacts, contentType string, body []byte) string
}

// seen is one request as the fake received it.
type seen struct {
	method, uri, contentType, accept string
	authorization                    string
	body                             []byte
	signed                           bool        // an Authorization header was present
	header                           hawk.Header // parsed when signed and verified
}

// fakeServer is an aip server in miniature: it authenticates every signed
// request with the real hawk.Server, answers 401/403 like aipd, routes the
// rest to a test function and signs its answers with hawk.ResponseHeader.
type fakeServer struct {
	t     testing.TB
	srv   *httptest.Server
	hawk  hawk.Server
	route func(n int, r *http.Request, body []byte) reply

	mu   sync.Mutex
	reqs []seen
}

// newFake starts a fake whose hawk.Server is adjusted by configure (e.g. to
// pin its clock) before the first request can reach it.
func newFake(t testing.TB, route func(n int, r *http.Request, body []byte) reply, configure ...func(*hawk.Server)) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, route: route}
	f.hawk = hawk.Server{
		Credentials: func(_ context.Context, h *hawk.Header) (*hawk.Credentials, error) {
			if h.ID != testUserID {
				return nil, nil
			}
			return &hawk.Credentials{ID: h.ID, Key: []byte(testKey)}, nil
		},
		Nonces: hawk.NewMemoryNonceStore(0),
	}
	for _, fn := range configure {
		fn(&f.hawk)
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a client of f with the test credentials.
func (f *fakeServer) client(opts ...Option) *Client {
	f.t.Helper()
	c, err := New(f.srv.URL, testUserID, testKey, testOrgID, opts...)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return c
}

// requests returns what the fake received so far.
func (f *fakeServer) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string][]string{"errors": msgs})
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "read body")
		return
	}
	s := seen{
		method: r.Method, uri: r.RequestURI, body: body,
		contentType: r.Header.Get("Content-Type"), accept: r.Header.Get("Accept"),
		authorization: r.Header.Get("Authorization"),
	}
	s.signed = s.authorization != ""
	var art *hawk.Artifacts
	if s.signed {
		host, port, err := hawk.SplitHostPort(r.Host, "80")
		var res *hawk.Result
		if err == nil {
			res, err = f.hawk.Authenticate(r.Context(), &hawk.Request{
				Method: r.Method, RequestURI: r.RequestURI, Host: host, Port: port,
				Authorization: r.Header.Get("Authorization"), ContentType: s.contentType, Body: body,
			})
		}
		if err != nil {
			f.record(s)
			var he *hawk.Error
			if !errors.As(err, &he) {
				writeErrors(w, http.StatusInternalServerError, "An internal error has occurred.")
				return
			}
			if he.WWWAuthenticate != "" {
				w.Header().Set("WWW-Authenticate", he.WWWAuthenticate)
			}
			writeErrors(w, he.Status, he.Message)
			return
		}
		s.header = res.Header
		art = &res.Artifacts
	}
	n := f.record(s)
	if art != nil && art.Ext != testOrgID {
		writeErrors(w, http.StatusForbidden, "The user is not allowed to perform this action")
		return
	}
	rep := f.route(n, r, body)
	ct := rep.contentType
	if ct == "" {
		ct = "application/json"
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", ct)
	if art != nil {
		sa := hawk.ResponseHeader([]byte(testKey), art, ct, []byte(rep.body))
		if rep.sign != nil {
			sa = rep.sign(art, ct, []byte(rep.body))
		}
		if sa != "" {
			w.Header().Set("Server-Authorization", sa)
		}
	}
	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, rep.body)
}

// record stores s and returns its index among all requests received,
// rejected ones included (0 for the first).
func (f *fakeServer) record(s seen) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, s)
	return len(f.reqs) - 1
}

// ok answers every request with status 200 and body.
func ok(body string) func(int, *http.Request, []byte) reply {
	return func(int, *http.Request, []byte) reply { return reply{body: body} }
}
