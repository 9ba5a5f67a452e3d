package hawk_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"testing"
	"time"

	"github.com/aipsec/aip/hawk"
	tent "github.com/tent/hawk-go"
)

// These tests drive github.com/tent/hawk-go the way the threatstack/ts CLI
// does (api/api.go) against our server side.

const (
	interopID  = "5d1fa0e1c2b3a4f5e6d7c8b9"
	interopKey = "tsapikey-0123456789abcdef0123456789abcdef"
	interopOrg = "5a0f1e2d3c4b5a6978877665"
)

func interopServer() *hawk.Server {
	return &hawk.Server{
		Credentials: func(_ context.Context, h *hawk.Header) (*hawk.Credentials, error) {
			if h.ID != interopID {
				return nil, nil
			}
			return &hawk.Credentials{ID: h.ID, Key: []byte(interopKey)}, nil
		},
		Nonces: hawk.NewMemoryNonceStore(0),
	}
}

// tentRequest signs a request like the ts CLI and converts it to a
// hawk.Request as the HTTP layer would.
func tentRequest(t *testing.T, method, url string, body []byte, offset time.Duration) (*tent.Auth, *hawk.Request) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	auth := tent.NewRequestAuth(req, &tent.Credentials{ID: interopID, Key: interopKey, Hash: sha256.New}, offset)
	auth.Ext = interopOrg
	if len(body) > 0 {
		h := auth.PayloadHash("application/json")
		h.Write(body)
		auth.SetHash(h)
		req.Header.Set("Content-Type", "application/json")
	}
	header := auth.RequestHeader()
	defaultPort := "80"
	if req.URL.Scheme == "https" {
		defaultPort = "443"
	}
	host, port, err := hawk.SplitHostPort(req.Host, defaultPort)
	if err != nil {
		t.Fatal(err)
	}
	return auth, &hawk.Request{Method: req.Method, RequestURI: req.URL.RequestURI(), Host: host, Port: port,
		Authorization: header, ContentType: req.Header.Get("Content-Type"), Body: body}
}

func TestTentClientInterop(t *testing.T) {
	tests := []struct {
		name, method, url string
		body              []byte
	}{
		{"accepts GET with query", "GET", "https://api.threatstack.com/v2/alerts?status=active&from=2017-08-01T00:00:00", nil},
		{"accepts GET on an explicit port", "GET", "http://127.0.0.1:8080/help/hawk/self-test", nil},
		{"accepts GET with an escaped path", "GET", "https://api.threatstack.com/v2/a%20b/c", nil},
		{"accepts POST with hashed body", "POST", "https://api.threatstack.com/v2/rulesets", []byte(`{"name":"x"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, req := tentRequest(t, tt.method, tt.url, tt.body, 0)
			res, err := interopServer().Authenticate(context.Background(), req)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if res.Header.Ext != interopOrg {
				t.Errorf("ext = %q, want %q", res.Header.Ext, interopOrg)
			}

			body := []byte(`{"ok":true}`)
			sa := hawk.ResponseHeader(res.Credentials.Key, &res.Artifacts, "application/json; charset=utf-8", body)
			if err := auth.ValidResponse(sa); err != nil {
				t.Errorf("tent ValidResponse(%q): %v", sa, err)
			}
			h := auth.PayloadHash("application/json")
			h.Write(body)
			if !auth.ValidHash(h) {
				t.Errorf("tent ValidHash rejects %q", sa)
			}
		})
	}
}

func TestTentClientAdoptsStaleTimestamp(t *testing.T) {
	auth, req := tentRequest(t, "GET", "https://api.threatstack.com/help/hawk/self-test", nil, -10*time.Minute)
	_, err := interopServer().Authenticate(context.Background(), req)
	he, ok := err.(*hawk.Error)
	if !ok || he.Message != "Stale timestamp" {
		t.Fatalf("Authenticate error = %v, want Stale timestamp", err)
	}
	offset, err := auth.UpdateOffset(he.WWWAuthenticate)
	if err != nil {
		t.Fatalf("tent UpdateOffset(%q): %v", he.WWWAuthenticate, err)
	}
	_, req = tentRequest(t, "GET", "https://api.threatstack.com/help/hawk/self-test", nil, offset)
	if _, err := interopServer().Authenticate(context.Background(), req); err != nil {
		t.Errorf("Authenticate after UpdateOffset: %v", err)
	}
}
