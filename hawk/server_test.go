package hawk

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testKeys are the credentials the test server knows.
var testKeys = map[string]string{"dh37fgj492je": k1, "123456": k2, "123": k1, tsID: tsKey}

func lookup(_ context.Context, h *Header) (*Credentials, error) {
	id := h.ID
	k, ok := testKeys[id]
	if !ok {
		return nil, nil
	}
	return &Credentials{ID: id, Key: []byte(k), Subject: "user " + id}, nil
}

// newServer returns a server whose clock is pinned to nowMs.
func newServer(nowMs int64, nonces NonceStore) *Server {
	return &Server{Credentials: lookup, Nonces: nonces, Now: func() time.Time { return time.UnixMilli(nowMs) }}
}

// sec converts Unix seconds to the milliseconds newServer takes.
func sec(s int64) int64 { return s * 1000 }

// sign returns the Authorization header for a signed by id.
func sign(id string, a Artifacts) string {
	return Credentials{ID: id, Key: []byte(testKeys[id])}.RequestHeader(&a)
}

// call is one recorded NonceStore.Use.
type call struct {
	ID, TS, Nonce string
	TTL           time.Duration
}

// recordingStore records its calls and answers fresh (or err).
type recordingStore struct {
	calls []call
	err   error
}

func (r *recordingStore) Use(_ context.Context, id, ts, nonce string, ttl time.Duration) (bool, error) {
	r.calls = append(r.calls, call{id, ts, nonce, ttl})
	return r.err == nil, r.err
}

var (
	v3Header = Header{ID: "123456", TS: "1353809207", Nonce: "Ygvqdz", Hash: "2QfCt3GuY9HQnHWyWD3wX68ZOKbynqlfYmuO2ZBRqtY=",
		Ext: "Bazinga!", MAC: "q1CwFoSHzPZSkbIvl0oYlD+91rBUEvFk763nMjMndj8="}.String()
	v3HeaderNoExt = Header{ID: "123456", TS: "1353809207", Nonce: "Ygvqdz", Hash: "2QfCt3GuY9HQnHWyWD3wX68ZOKbynqlfYmuO2ZBRqtY=",
		MAC: "HTgtd0jPI6E4izx8e4OHdO36q00xFCU0FolNq3RiCYs="}.String()
	ts2Tent = `Hawk id="5d1fa0e1c2b3a4f5e6d7c8b9", mac="wjnrR/WIEfAY9pSGEl4izJy9vj8s+ScqS8vewKVM/s0=", ts="1700000000", nonce="Xy12Ab", hash="xRrmKVl8ck02tPu9eLSXWU4wttLHk9gq/ULG3w65I9g=", ext="5a0f1e2d3c4b5a6978877665"`
	ts4     = Header{ID: tsID, TS: "1700000000", Nonce: "Xy12Ab", Ext: tsOrg, MAC: "7OC2U8DU/SAhgih750fBGPrQrr0EFm+rEsTIuqgsfpU="}.String()
	ts5     = Header{ID: tsID, TS: "1700000000", Nonce: "Xy12Ab", Ext: tsOrg, MAC: "VR8296WRgIj+Xhn/DmTrTzD1q6eiN0qczdKAXby3Mt4="}.String()
)

func TestAuthenticateAccepts(t *testing.T) {
	v1Req := Request{Method: "GET", RequestURI: "/resource/1?b=1&a=2", Host: "example.com", Port: "8000", Authorization: v1Header}
	v3Req := Request{Method: "POST", RequestURI: "/somewhere/over/the/rainbow", Host: "example.net", Port: "443",
		Authorization: v3Header, ContentType: "text/plain", Body: []byte("something to write about")}
	ts1Req := Request{Method: "GET", RequestURI: "/help/hawk/self-test", Host: "api.threatstack.com", Port: "443", Authorization: ts1Mohawk}
	ts2Req := Request{Method: "POST", RequestURI: "/v2/rulesets", Host: "api.threatstack.com", Port: "443", Authorization: ts2Tent,
		ContentType: "application/json", Body: []byte(`{"name":"x"}`)}
	tests := []struct {
		name    string
		nowMs   int64
		req     Request
		wantID  string
		wantArt Artifacts
	}{
		{"V1 GET", sec(1353832234), v1Req, "dh37fgj492je", v1Art},
		{"V1 with lower-case method on the wire", sec(1353832234),
			with2(v1Req, func(r *Request) { r.Method = "get" }), "dh37fgj492je", with(v1Art, func(a *Artifacts) { a.Method = "get" })},
		{"V1 with upper-case host", sec(1353832234),
			with2(v1Req, func(r *Request) { r.Host = "EXAMPLE.COM" }), "dh37fgj492je", with(v1Art, func(a *Artifacts) { a.Host = "EXAMPLE.COM" })},
		{"V1 absolute-form request target", sec(1353832234),
			with2(v1Req, func(r *Request) { r.RequestURI = "http://example.com:8000/resource/1?b=1&a=2" }), "dh37fgj492je", v1Art},
		{"V2 POST with verified payload", sec(1353832234), Request{Method: "POST", RequestURI: "/resource/1?b=1&a=2", Host: "example.com",
			Port: "8000", Authorization: v2Header, ContentType: "text/plain", Body: []byte("Thank you for flying Hawk")}, "dh37fgj492je",
			with(v1Art, func(a *Artifacts) { a.Method, a.Hash = "POST", "Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY=" })},
		{"V3 with ext", sec(1353809207), v3Req, "123456", with(v3Art, func(a *Artifacts) { a.Ext = "Bazinga!" })},
		{"V3 without ext", sec(1353809207), with2(v3Req, func(r *Request) { r.Authorization = v3HeaderNoExt }), "123456", v3Art},
		{"V5 hash of an empty payload", sec(1353809207), with2(v3Req, func(r *Request) { r.Authorization, r.Body = v5Header, nil }), "123456",
			with(v3Art, func(a *Artifacts) { a.Hash = "q/t+NNAkQZNlq/aAD6PlexImwQTxwgT2MahfTa9XRLA=" })},
		{"V7 GET", sec(1353832234), with2(v1Req, func(r *Request) { r.Authorization = v7Header }), "dh37fgj492je",
			with(v1Art, func(a *Artifacts) { a.Ext = "some-app-data" })},
		{"V8b GET", sec(1353788437), Request{Method: "GET", RequestURI: "/resource/4?filter=a", Host: "example.com", Port: "8080",
			Authorization: v8bHeader}, "123",
			Artifacts{Method: "GET", Resource: "/resource/4?filter=a", Host: "example.com", Port: "8080", TS: "1353788437", Nonce: "k3j4h2", Ext: "hello"}},
		{"V13 app and dlg", sec(1353832234), Request{Method: "GET", RequestURI: "/resource/4?filter=a", Host: "example.com", Port: "8080",
			Authorization: v13Header}, "dh37fgj492je",
			Artifacts{Method: "GET", Resource: "/resource/4?filter=a", Host: "example.com", Port: "8080", TS: "1353832234", Nonce: "k3j4h2",
				Ext: "hello", App: "asd23ased", Dlg: "23434szr3q4d"}},
		{"TS1 mohawk line", sec(1700000000), ts1Req, tsID, ts1Art},
		{"TS1 with content type but no body", sec(1700000000), with2(ts1Req, func(r *Request) { r.ContentType = "application/json" }), tsID, ts1Art},
		{"TS2 tent order with JSON body", sec(1700000000), ts2Req, tsID,
			with(ts1Art, func(a *Artifacts) {
				a.Method, a.Resource, a.Hash = "POST", "/v2/rulesets", "xRrmKVl8ck02tPu9eLSXWU4wttLHk9gq/ULG3w65I9g="
			})},
		{"TS2 with content type parameters and case", sec(1700000000),
			with2(ts2Req, func(r *Request) { r.ContentType = "Application/JSON; charset=utf-8" }), tsID,
			with(ts1Art, func(a *Artifacts) {
				a.Method, a.Resource, a.Hash = "POST", "/v2/rulesets", "xRrmKVl8ck02tPu9eLSXWU4wttLHk9gq/ULG3w65I9g="
			})},
		{"TS4 query", sec(1700000000), with2(ts1Req, func(r *Request) {
			r.RequestURI, r.Authorization = "/v2/alerts?status=active&from=2017-08-01T00:00:00", ts4
		}), tsID, with(ts1Art, func(a *Artifacts) { a.Resource = "/v2/alerts?status=active&from=2017-08-01T00:00:00" })},
		{"TS5 plain http", sec(1700000000), with2(ts1Req, func(r *Request) {
			r.RequestURI, r.Host, r.Port, r.Authorization = "/v2/agents", "127.0.0.1", "8080", ts5
		}), tsID, with(ts1Art, func(a *Artifacts) { a.Resource, a.Host, a.Port = "/v2/agents", "127.0.0.1", "8080" })},
		{"ts with leading zeros verified raw", sec(1700000000), with2(ts1Req, func(r *Request) {
			r.Authorization = sign(tsID, with(ts1Art, func(a *Artifacts) { a.TS = "01700000000" }))
		}), tsID, with(ts1Art, func(a *Artifacts) { a.TS = "01700000000" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := NewMemoryNonceStore(0)
			got, err := newServer(tt.nowMs, store).Authenticate(context.Background(), &tt.req)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if got.Credentials.ID != tt.wantID || got.Credentials.Subject != "user "+tt.wantID {
				t.Errorf("credentials = %+v, want id %q", got.Credentials, tt.wantID)
			}
			if diff := cmp.Diff(tt.wantArt, got.Artifacts); diff != "" {
				t.Errorf("artifacts (-want +got):\n%s", diff)
			}
			wantHeader, _ := ParseHeader(tt.req.Authorization)
			if diff := cmp.Diff(wantHeader, got.Header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if store.Len() != 1 {
				t.Errorf("nonce store holds %d triples, want 1", store.Len())
			}
		})
	}
}

// with2 returns a copy of r changed by f.
func with2(r Request, f func(*Request)) Request {
	f(&r)
	return r
}

func TestAuthenticateRejects(t *testing.T) {
	v1Req := Request{Method: "GET", RequestURI: "/resource/1?b=1&a=2", Host: "example.com", Port: "8000", Authorization: v1Header}
	v2Req := Request{Method: "POST", RequestURI: "/resource/1?b=1&a=2", Host: "example.com", Port: "8000", Authorization: v2Header,
		ContentType: "text/plain", Body: []byte("Thank you for flying Hawk")}
	local := Artifacts{Method: "GET", Resource: "/v2/agents", Host: "127.0.0.1", Port: "9999", TS: "1700000000", Nonce: "abc"}
	localReq := Request{Method: "GET", RequestURI: "/v2/agents", Host: "127.0.0.1", Port: "8765", Authorization: sign(tsID, local)}
	bad := func(msg string) *Error { return &Error{Status: 400, Message: msg} }
	tests := []struct {
		name  string
		nowMs int64
		req   Request
		want  *Error
	}{
		{"no Authorization", sec(1353832234), with2(v1Req, func(r *Request) { r.Authorization = "" }),
			&Error{Status: 401, Message: "Missing authentication", WWWAuthenticate: "Hawk"}},
		{"basic scheme", sec(1353832234), with2(v1Req, func(r *Request) { r.Authorization = "Basic Zm9vOmJhcg==" }),
			&Error{Status: 401, Message: "Unsupported authentication scheme", WWWAuthenticate: "Hawk"}},
		{"scheme alone", sec(1353832234), with2(v1Req, func(r *Request) { r.Authorization = "Hawk" }), bad("Invalid header syntax")},
		{"id and ts only", sec(1353832234), with2(v1Req, func(r *Request) { r.Authorization = `Hawk id="a", ts="1"` }), bad("Missing attributes")},
		{"unknown attribute", sec(1353832234), with2(v1Req, func(r *Request) { r.Authorization += `, foo="x"` }), bad("Unknown attribute: foo")},
		{"quote in ext", sec(1353832234), with2(v1Req, func(r *Request) {
			r.Authorization = sign("dh37fgj492je", with(v1Art, func(a *Artifacts) { a.Ext = `a"b` }))
		}), bad("Bad header format")},
		{"empty ext", sec(1353832234), with2(v1Req, func(r *Request) {
			r.Authorization = strings.Replace(v1Header, `ext="some-app-ext-data"`, `ext=""`, 1)
		}), bad("Bad attribute value: ext")},
		{"header too long", sec(1353832234), with2(v1Req, func(r *Request) { r.Authorization += strings.Repeat(" ", 4096) }),
			bad("Header length too long")},
		{"ts not a number with a valid mac", sec(1353832234), with2(v1Req, func(r *Request) {
			r.Authorization = sign("dh37fgj492je", with(v1Art, func(a *Artifacts) { a.TS = "abc" }))
		}), bad("Bad attribute value: ts")},
		{"fractional ts with a valid mac", sec(1353832234), with2(v1Req, func(r *Request) {
			r.Authorization = sign("dh37fgj492je", with(v1Art, func(a *Artifacts) { a.TS = "1353832234.9" }))
		}), bad("Bad attribute value: ts")},
		{"dlg without app", sec(1353832234), with2(v1Req, func(r *Request) { r.Authorization += `, dlg="x"` }),
			bad("Attribute dlg requires app")},
		{"empty host", sec(1353832234), with2(v1Req, func(r *Request) { r.Host = "" }), bad("Invalid Host header")},
		{"empty port", sec(1353832234), with2(v1Req, func(r *Request) { r.Port = "" }), bad("Invalid Host header")},
		{"host checked before the header", sec(1353832234), with2(v1Req, func(r *Request) { r.Host, r.Authorization = "", "" }),
			bad("Invalid Host header")},
		{"unknown id", sec(1353832234), with2(v1Req, func(r *Request) {
			r.Authorization = strings.Replace(v1Header, "dh37fgj492je", "nobody", 1)
		}), unauthorized("Unknown credentials")},
		{"signed for port 9999 sent to 8765", sec(1700000000), localReq, unauthorized("Bad mac")},
		{"other path", sec(1353832234), with2(v1Req, func(r *Request) { r.RequestURI = "/resource/1?a=2&b=1" }), unauthorized("Bad mac")},
		{"percent-decoded path", sec(1700000000), Request{Method: "GET", RequestURI: "/a b/c", Host: "127.0.0.1", Port: "80",
			Authorization: sign(tsID, with(local, func(a *Artifacts) { a.Resource, a.Port = "/a%20b/c", "80" }))}, unauthorized("Bad mac")},
		{"other method", sec(1353832234), with2(v1Req, func(r *Request) { r.Method = "POST" }), unauthorized("Bad mac")},
		{"other host", sec(1353832234), with2(v1Req, func(r *Request) { r.Host = "example.org" }), unauthorized("Bad mac")},
		{"tampered ext", sec(1353832234), with2(v1Req, func(r *Request) {
			r.Authorization = strings.Replace(v1Header, "some-app-ext-data", "other-org", 1)
		}), unauthorized("Bad mac")},
		{"ts leading zeros not signed", sec(1353832234), with2(v1Req, func(r *Request) {
			r.Authorization = strings.Replace(v1Header, `ts="1353832234"`, `ts="01353832234"`, 1)
		}), unauthorized("Bad mac")},
		{"short mac", sec(1353832234), with2(v1Req, func(r *Request) {
			r.Authorization = strings.Replace(v1Header, "6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE=", "x", 1)
		}), unauthorized("Bad mac")},
		{"mac of another key", sec(1353832234), with2(v1Req, func(r *Request) {
			r.Authorization = Credentials{ID: "dh37fgj492je", Key: []byte(k2)}.RequestHeader(&Artifacts{Method: "GET",
				Resource: "/resource/1?b=1&a=2", Host: "example.com", Port: "8000", TS: "1353832234", Nonce: "j4h3g2"})
		}), unauthorized("Bad mac")},
		{"bad mac checked before the payload", sec(1353832234), with2(v2Req, func(r *Request) { r.Method = "PUT"; r.Body = []byte("x") }),
			unauthorized("Bad mac")},
		{"body differs from the hashed body", sec(1353832234), with2(v2Req, func(r *Request) { r.Body = []byte("Thank you for flying Hawk!") }),
			unauthorized("Bad payload hash")},
		{"content type differs from the hashed one", sec(1353832234), with2(v2Req, func(r *Request) { r.ContentType = "application/json" }),
			unauthorized("Bad payload hash")},
		{"hash of a body that did not arrive", sec(1353832234), with2(v2Req, func(r *Request) { r.Body = nil }),
			unauthorized("Bad payload hash")},
		{"body without hash", sec(1353832234), with2(v1Req, func(r *Request) { r.Body = []byte(`{"a":1}`) }),
			unauthorized("Missing required payload hash")},
		{"payload checked before the timestamp", sec(1353832234 + 3600), with2(v2Req, func(r *Request) { r.Body = []byte("x") }),
			unauthorized("Bad payload hash")},
		{"old ts (V12 server time)", sec(1365741469) + 999, v1Req, &Error{Status: 401, Message: "Stale timestamp",
			WWWAuthenticate: `Hawk ts="1365741469", tsm="b4Qqhz8OUBq21saghHLV1ktwlXE72T1xtTEZkSlWizA=", error="Stale timestamp"`}},
		{"ts in the future", sec(1353832234 - 600), v1Req, &Error{Status: 401, Message: "Stale timestamp",
			WWWAuthenticate: `Hawk ts="1353831634", tsm="` + TimestampMAC([]byte(k1), 1353831634) + `", error="Stale timestamp"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &recordingStore{}
			got, err := newServer(tt.nowMs, store).Authenticate(context.Background(), &tt.req)
			if err == nil {
				t.Fatalf("Authenticate = %+v, want error %q", got, tt.want.Message)
			}
			if diff := cmp.Diff(tt.want, asError(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if len(store.calls) != 0 {
				t.Errorf("rejected request recorded nonces %+v", store.calls)
			}
		})
	}
}

func TestAuthenticateTimestampWindow(t *testing.T) {
	const base = 1700000000
	tests := []struct {
		name   string
		nowMs  int64
		ts     int64
		skew   time.Duration
		accept bool
	}{
		{"accepts now+59s", sec(base), base + 59, 0, true},
		{"rejects now-61s", sec(base), base - 61, 0, false},
		{"accepts now+60s exactly", sec(base), base + 60, 0, true},
		{"accepts now-60s exactly", sec(base), base - 60, 0, true},
		{"rejects now+61s", sec(base), base + 61, 0, false},
		{"accepts 59.5s ahead", sec(base) + 500, base + 60, 0, true},
		{"rejects 60.5s behind", sec(base) + 500, base - 60, 0, false},
		{"rejects 60.001s ahead", sec(base) - 1, base + 60, 0, false},
		{"accepts within a custom skew", sec(base), base - 5, 5 * time.Second, true},
		{"rejects beyond a custom skew", sec(base), base + 6, 5 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := with(ts1Art, func(a *Artifacts) { a.TS = strconv.FormatInt(tt.ts, 10) })
			req := &Request{Method: "GET", RequestURI: a.Resource, Host: a.Host, Port: a.Port, Authorization: sign(tsID, a)}
			srv := newServer(tt.nowMs, nil)
			srv.Skew = tt.skew
			_, err := srv.Authenticate(context.Background(), req)
			if tt.accept && err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if !tt.accept {
				nowSec := tt.nowMs / 1000
				want := &Error{Status: 401, Message: "Stale timestamp", WWWAuthenticate: `Hawk ts="` + strconv.FormatInt(nowSec, 10) +
					`", tsm="` + TimestampMAC([]byte(tsKey), nowSec) + `", error="Stale timestamp"`}
				if diff := cmp.Diff(want, asError(err)); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestAuthenticateNonces(t *testing.T) {
	v8b := Request{Method: "GET", RequestURI: "/resource/4?filter=a", Host: "example.com", Port: "8080", Authorization: v8bHeader}

	t.Run("rejects V8b replay", func(t *testing.T) {
		srv := newServer(sec(1353788437), NewMemoryNonceStore(0))
		if _, err := srv.Authenticate(context.Background(), &v8b); err != nil {
			t.Fatalf("first Authenticate: %v", err)
		}
		_, err := srv.Authenticate(context.Background(), &v8b)
		if diff := cmp.Diff(unauthorized("Invalid nonce"), asError(err)); diff != "" {
			t.Errorf("replay error (-want +got):\n%s", diff)
		}
	})

	t.Run("accepts another nonce in the same second", func(t *testing.T) {
		srv := newServer(sec(1353788437), NewMemoryNonceStore(0))
		a := Artifacts{Method: "GET", Resource: "/resource/4?filter=a", Host: "example.com", Port: "8080", TS: "1353788437", Ext: "hello"}
		for _, nonce := range []string{"k3j4h2", "k3j4h3"} {
			a.Nonce = nonce
			req := v8b
			req.Authorization = sign("123", a)
			if _, err := srv.Authenticate(context.Background(), &req); err != nil {
				t.Fatalf("Authenticate with nonce %s: %v", nonce, err)
			}
		}
	})

	t.Run("records id ts nonce for twice the skew", func(t *testing.T) {
		for _, tt := range []struct {
			skew, ttl time.Duration
		}{{0, 120 * time.Second}, {30 * time.Second, 60 * time.Second}} {
			store := &recordingStore{}
			srv := newServer(sec(1353788437), store)
			srv.Skew = tt.skew
			if _, err := srv.Authenticate(context.Background(), &v8b); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			want := []call{{"123", "1353788437", "k3j4h2", tt.ttl}}
			if diff := cmp.Diff(want, store.calls); diff != "" {
				t.Errorf("skew %v: calls (-want +got):\n%s", tt.skew, diff)
			}
		}
	})

	t.Run("returns store errors as non-Hawk errors", func(t *testing.T) {
		storeErr := errors.New("redis down")
		_, err := newServer(sec(1353788437), &recordingStore{err: storeErr}).Authenticate(context.Background(), &v8b)
		if !errors.Is(err, storeErr) || asError(err) != nil {
			t.Errorf("error = %v, want a non-*Error wrapping %v", err, storeErr)
		}
	})

	t.Run("returns a full store as ErrNonceStoreFull", func(t *testing.T) {
		store := NewMemoryNonceStore(1)
		if _, err := store.Use(context.Background(), "x", "1", "n", time.Minute); err != nil {
			t.Fatal(err)
		}
		_, err := newServer(sec(1353788437), store).Authenticate(context.Background(), &v8b)
		if !errors.Is(err, ErrNonceStoreFull) || asError(err) != nil {
			t.Errorf("error = %v, want a non-*Error wrapping ErrNonceStoreFull", err)
		}
	})
}

func TestAuthenticateCredentialFailures(t *testing.T) {
	req := &Request{Method: "GET", RequestURI: "/resource/1?b=1&a=2", Host: "example.com", Port: "8000", Authorization: v1Header}

	t.Run("returns lookup errors unchanged", func(t *testing.T) {
		lookupErr := errors.New("db down")
		srv := newServer(sec(1353832234), nil)
		srv.Credentials = func(context.Context, *Header) (*Credentials, error) { return nil, lookupErr }
		if _, err := srv.Authenticate(context.Background(), req); err != lookupErr {
			t.Errorf("error = %v, want %v", err, lookupErr)
		}
	})

	t.Run("rejects credentials without key as internal", func(t *testing.T) {
		srv := newServer(sec(1353832234), nil)
		srv.Credentials = func(_ context.Context, h *Header) (*Credentials, error) { return &Credentials{ID: h.ID}, nil }
		_, err := srv.Authenticate(context.Background(), req)
		if err == nil || asError(err) != nil {
			t.Errorf("error = %v, want a non-*Error", err)
		}
	})

	t.Run("passes the id to the lookup", func(t *testing.T) {
		var got string
		srv := newServer(sec(1353832234), nil)
		srv.Credentials = func(ctx context.Context, h *Header) (*Credentials, error) { got = h.ID; return lookup(ctx, h) }
		if _, err := srv.Authenticate(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if got != "dh37fgj492je" {
			t.Errorf("lookup id = %q, want dh37fgj492je", got)
		}
	})
}

func TestAuthenticateDefaultClock(t *testing.T) {
	a := with(ts1Art, func(a *Artifacts) { a.TS, a.Nonce = "", "" }) // RequestHeader stamps the current time
	req := &Request{Method: "GET", RequestURI: a.Resource, Host: a.Host, Port: a.Port, Authorization: sign(tsID, a)}
	srv := &Server{Credentials: lookup}
	if _, err := srv.Authenticate(context.Background(), req); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	creds := Credentials{ID: tsID, Key: []byte(tsKey)}
	body := []byte(`{"name":"x"}`)
	a := &Artifacts{Method: "POST", Resource: "/v2/rulesets?x=1", Host: "api.example.com", Port: "443",
		Hash: PayloadHash("application/json", body), Ext: tsOrg}
	header := creds.RequestHeader(a)

	host, port, err := SplitHostPort("API.example.com", "443")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Credentials: lookup, Nonces: NewMemoryNonceStore(0)}
	res, err := srv.Authenticate(context.Background(), &Request{Method: "POST", RequestURI: "/v2/rulesets?x=1", Host: host, Port: port,
		Authorization: header, ContentType: "application/json; charset=utf-8", Body: body})
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if res.Header.Ext != tsOrg {
		t.Errorf("ext = %q, want %q", res.Header.Ext, tsOrg)
	}

	respBody := []byte(`{"id":"1"}`)
	sa := ResponseHeader(res.Credentials.Key, &res.Artifacts, "application/json; charset=utf-8", respBody)
	if err := VerifyResponse(creds.Key, a, sa, "application/json", respBody); err != nil {
		t.Errorf("VerifyResponse: %v", err)
	}
	if err := VerifyResponse(creds.Key, a, sa, "application/json", []byte(`{"id":"2"}`)); err == nil {
		t.Error("VerifyResponse accepts a tampered body")
	}
}

func TestResource(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a%20b/c?x=1&y", "/a%20b/c?x=1&y"},
		{"/path?", "/path?"},
		{"", "/"},
		{"*", "*"},
		{"http://example.com:8000/resource/1?b=1&a=2", "/resource/1?b=1&a=2"},
		{"https://example.com", "/"},
		{"http://example.com?x=1", "/?x=1"},
		{"http://example.com/p#frag", "/p"},
	}
	for _, tt := range tests {
		if got := resource(tt.in); got != tt.want {
			t.Errorf("resource(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
