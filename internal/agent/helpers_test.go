package agent

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
)

// testKey is the agent key the httptest servers share with their clients.
const testKey = "test-agent-key-0123456789"

// reply is what a signedServer handler answers. A Server-Authorization
// header in it replaces the real signature; the value "-" sends none.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// signedServer is an httptest agent API: it verifies each request's Hawk
// header with clock now (time.Now when nil), hands the verified request to
// handle and signs its answer like internal/httpapi does.
type signedServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
}

func newSignedServer(t *testing.T, now func() time.Time, handle func(r *http.Request, body []byte) reply) *signedServer {
	t.Helper()
	hs := &hawk.Server{
		Credentials: func(_ context.Context, h *hawk.Header) (*hawk.Credentials, error) {
			return &hawk.Credentials{ID: h.ID, Key: []byte(testKey)}, nil
		},
		Nonces: hawk.NewMemoryNonceStore(10000),
		Now:    now,
	}
	s := &signedServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, r)
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		host, port, err := hawk.SplitHostPort(r.Host, "80")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := hs.Authenticate(r.Context(), &hawk.Request{Method: r.Method, RequestURI: r.RequestURI,
			Host: host, Port: port, Authorization: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"), Body: body})
		var he *hawk.Error
		if errors.As(err, &he) {
			if he.WWWAuthenticate != "" {
				w.Header().Set("WWW-Authenticate", he.WWWAuthenticate)
			}
			http.Error(w, he.Message, he.Status)
			return
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rep := handle(r, body)
		for k, v := range rep.header {
			w.Header()[k] = v
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		if w.Header().Get("Server-Authorization") == "" {
			w.Header().Set("Server-Authorization",
				hawk.ResponseHeader([]byte(testKey), &res.Artifacts, w.Header().Get("Content-Type"), rep.body))
		} else if w.Header().Get("Server-Authorization") == "-" {
			w.Header().Del("Server-Authorization")
		}
		w.WriteHeader(rep.status)
		w.Write(rep.body)
	}))
	t.Cleanup(s.Close)
	return s
}

// count is the number of requests the server received.
func (s *signedServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// testClient is a client of srvURL signing with testKey.
func testClient(t *testing.T, srvURL string) *Client {
	t.Helper()
	c, err := NewClient(srvURL, nil)
	if err != nil {
		t.Fatalf("NewClient(%q): %v", srvURL, err)
	}
	return c.WithCredentials("agent-1", testKey)
}

// testHost is a valid heartbeat body.
func testHost() aip.AgentHost { return hostInfo("test-host", nil) }

// eventually polls cond every 20 ms until it holds or d passed.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// isUUID reports whether s is a canonical 8-4-4-4-12 hex UUID.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}
