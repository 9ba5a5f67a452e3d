package interop_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	tent "github.com/tent/hawk-go"
)

// tsClient signs exactly like the official ts CLI (threatstack/ts
// api/api.go Request, on tent/hawk-go), then validates the answer the way
// hawk.md §4.3 does: UpdateOffset on a stale 401, ValidResponse and
// ValidHash on Server-Authorization.
type tsClient struct {
	user, key, org string
	http           *http.Client
}

// tsAnswer is one response and what tent made of it.
type tsAnswer struct {
	status int
	header http.Header
	body   []byte
	auth   *tent.Auth
	// validResponse is auth.ValidResponse(Server-Authorization); validHash
	// is auth.ValidHash over the body with the response's media type.
	validResponse error
	validHash     bool
}

func newTSClient(s *aipd) *tsClient {
	// No proxy from the environment: these requests must stay on loopback.
	return &tsClient{user: s.boot.UserID, key: s.boot.APIKey, org: s.boot.OrgID,
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
}

// do sends one request signed with the clock moved by offset.
func (c *tsClient) do(t *testing.T, method, rawURL string, payload []byte, offset time.Duration) tsAnswer {
	t.Helper()
	// From here to the Accept header this is api.Request of the ts CLI, line for line.
	req, err := http.NewRequest(method, rawURL, bytes.NewBuffer(payload))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	auth := tent.NewRequestAuth(req, &tent.Credentials{ID: c.user, Key: c.key, Hash: sha256.New}, offset)
	auth.Ext = c.org
	if len(payload) > 0 {
		payloadHash := auth.PayloadHash("application/json")
		payloadHash.Write(payload)
		auth.SetHash(payloadHash)
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", auth.RequestHeader())
	req.Header.Set("Accept", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, rawURL, err)
	}
	a := tsAnswer{status: resp.StatusCode, header: resp.Header, body: body, auth: auth}
	// ValidResponse loads the response's mac and hash into auth, so it runs first.
	a.validResponse = auth.ValidResponse(resp.Header.Get("Server-Authorization"))
	h := auth.PayloadHash(mediaType(resp.Header.Get("Content-Type")))
	h.Write(body)
	a.validHash = auth.ValidHash(h)
	return a
}

// mediaType is a Content-Type without parameters, trimmed and lower-cased,
// which is what tent's PayloadHash expects (and what Hawk hashes).
func mediaType(ct string) string {
	ct, _, _ = strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

// checkSigned fails unless the answer has status want and a
// Server-Authorization whose mac and hash tent accepts.
func checkSigned(t *testing.T, a tsAnswer, want int) {
	t.Helper()
	if a.status != want {
		t.Fatalf("status = %d, want %d; body %s", a.status, want, a.body)
	}
	if a.validResponse != nil {
		t.Errorf("ValidResponse(%q) = %v, want nil", a.header.Get("Server-Authorization"), a.validResponse)
	}
	if !a.validHash {
		t.Errorf("ValidHash = false for body %q with Content-Type %q and Server-Authorization %q",
			a.body, a.header.Get("Content-Type"), a.header.Get("Server-Authorization"))
	}
}

func TestTentClient(t *testing.T) {
	s := startAIPD(t)
	c := newTSClient(s)
	// The raw query keeps "%2B" (the "+" of the offset) and "%3A": the MAC
	// covers the request-target as sent, so a server that signs the decoded
	// form rejects it.
	from := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15") + "%3A00%3A00%2B00:00"

	tests := []struct {
		name, method, path string
		payload            []byte
		want               int
	}{
		{"authenticates GET self-test", "GET", "/help/hawk/self-test", nil, http.StatusOK},
		{"authenticates GET with a raw query", "GET", "/v2/auditlogs?from=" + from + "&operation=read", nil, http.StatusOK},
		{"authenticates GET members", "GET", "/v2/organizations/members?enabledOnly=true", nil, http.StatusOK},
		{"authenticates POST with a hashed JSON body", "POST", "/v2/organizations/invites",
			[]byte(`{"email":"tent-invite@example.com","role":"reader"}`), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkSigned(t, c.do(t, tt.method, s.base+tt.path, tt.payload, 0), tt.want)
		})
	}

	t.Run("self-test body says authenticated", func(t *testing.T) {
		a := c.do(t, "GET", s.base+"/help/hawk/self-test", nil, 0)
		checkSigned(t, a, http.StatusOK)
		var got map[string]any
		if err := json.Unmarshal(a.body, &got); err != nil {
			t.Fatalf("decode %s: %v", a.body, err)
		}
		if got["authenticated"] != true {
			t.Errorf("body = %s, want authenticated true", a.body)
		}
	})

	t.Run("adds then deletes a member, DELETE without a body", func(t *testing.T) {
		u := s.createUser(t, "tent-member@example.com")
		add := c.do(t, "POST", s.base+"/v2/organizations/members", []byte(`{"id":"`+u.ID+`","role":"user"}`), 0)
		checkSigned(t, add, http.StatusOK)
		del := c.do(t, "DELETE", s.base+"/v2/organizations/members/"+url.PathEscape(u.ID), nil, 0)
		checkSigned(t, del, http.StatusNoContent)
		if len(del.body) != 0 {
			t.Errorf("204 body = %q, want empty", del.body)
		}
		// A 404 after authentication is signed like any other answer.
		again := c.do(t, "DELETE", s.base+"/v2/organizations/members/"+url.PathEscape(u.ID), nil, 0)
		checkSigned(t, again, http.StatusNotFound)
	})

	t.Run("recovers from a stale clock with UpdateOffset", func(t *testing.T) {
		stale := c.do(t, "GET", s.base+"/help/hawk/self-test", nil, -10*time.Minute)
		if stale.status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401; body %s", stale.status, stale.body)
		}
		www := stale.header.Get("WWW-Authenticate")
		if !strings.Contains(www, `error="Stale timestamp"`) {
			t.Fatalf("WWW-Authenticate = %q, want a Stale timestamp error", www)
		}
		// UpdateOffset verifies tsm and returns the server clock relative to
		// ours: the offset to use from now on (assigned, not added).
		offset, err := stale.auth.UpdateOffset(www)
		if err != nil {
			t.Fatalf("UpdateOffset(%q): %v", www, err)
		}
		if offset < -time.Minute || offset > time.Minute {
			t.Errorf("offset = %v, want the (near-zero) real skew of a loopback server", offset)
		}
		retry := c.do(t, "GET", s.base+"/help/hawk/self-test", nil, offset)
		checkSigned(t, retry, http.StatusOK)
	})

	t.Run("signs the 403 for an organization the user is not in", func(t *testing.T) {
		other := *c
		other.org = s.createOrg(t, "tent-other")
		checkSigned(t, other.do(t, "GET", s.base+"/help/hawk/self-test", nil, 0), http.StatusForbidden)
	})

	t.Run("rejects a wrong key without signing", func(t *testing.T) {
		bad := *c
		bad.key = strings.Repeat("x", len(c.key))
		a := bad.do(t, "GET", s.base+"/help/hawk/self-test", nil, 0)
		if a.status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401; body %s", a.status, a.body)
		}
		if got := a.header.Get("WWW-Authenticate"); got != `Hawk error="Bad mac"` {
			t.Errorf("WWW-Authenticate = %q, want %q", got, `Hawk error="Bad mac"`)
		}
		if a.validResponse != tent.ErrMissingServerAuth {
			t.Errorf("ValidResponse = %v, want ErrMissingServerAuth: an unverified caller gets no signature", a.validResponse)
		}
	})
}
