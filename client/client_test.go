package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aipsec/aip/hawk"
	"github.com/google/go-cmp/cmp"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name                 string
		base, user, key, org string
		wantErr              bool
		wantBase             string
	}{
		{name: "adds trailing slash", base: "https://api.example.com", user: testUserID, key: testKey, org: testOrgID, wantBase: "https://api.example.com/"},
		{name: "keeps path prefix", base: "http://127.0.0.1:8080/aip", user: testUserID, key: testKey, org: testOrgID, wantBase: "http://127.0.0.1:8080/aip/"},
		{name: "drops query", base: "http://h/?x=1", user: testUserID, key: testKey, org: testOrgID, wantBase: "http://h/"},
		{name: "rejects other scheme", base: "ftp://h", user: testUserID, key: testKey, org: testOrgID, wantErr: true},
		{name: "rejects missing host", base: "http://", user: testUserID, key: testKey, org: testOrgID, wantErr: true},
		{name: "rejects unparsable URL", base: "http://[::1", user: testUserID, key: testKey, org: testOrgID, wantErr: true},
		{name: "rejects empty user", base: "http://h", key: testKey, org: testOrgID, wantErr: true},
		{name: "rejects empty key", base: "http://h", user: testUserID, org: testOrgID, wantErr: true},
		{name: "rejects empty org", base: "http://h", user: testUserID, key: testKey, wantErr: true},
		{name: "rejects quote in org", base: "http://h", user: testUserID, key: testKey, org: `a"b`, wantErr: true},
		{name: "rejects backslash in user", base: "http://h", user: `a\b`, key: testKey, org: testOrgID, wantErr: true},
		{name: "rejects non-ASCII in org", base: "http://h", user: testUserID, key: testKey, org: "é", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.base, tt.user, tt.key, tt.org)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("New(%q, …) = nil error, want one", tt.base)
				}
				if tt.key != "" && strings.Contains(err.Error(), tt.key) {
					t.Errorf("error %q contains the API key", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := c.BaseURL.String(); got != tt.wantBase {
				t.Errorf("BaseURL = %q, want %q", got, tt.wantBase)
			}
		})
	}
}

func TestNewFromLookup(t *testing.T) {
	full := map[string]string{
		EnvEndpoint: "https://aip.example.com", EnvUserID: testUserID, EnvAPIKey: testKey, EnvOrgID: testOrgID,
	}
	t.Run("builds client from all four variables", func(t *testing.T) {
		c, err := newFromLookup(func(k string) string { return full[k] })
		if err != nil {
			t.Fatalf("newFromLookup: %v", err)
		}
		got := []string{c.BaseURL.String(), c.UserID, c.OrgID}
		want := []string{"https://aip.example.com/", testUserID, testOrgID}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("client fields (-want +got):\n%s", diff)
		}
	})
	t.Run("names every missing variable", func(t *testing.T) {
		_, err := newFromLookup(func(k string) string {
			if k == EnvUserID || k == EnvOrgID {
				return full[k]
			}
			return " "
		})
		if err == nil {
			t.Fatal("newFromLookup = nil error, want one")
		}
		for _, name := range []string{EnvEndpoint, EnvAPIKey} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name %s", err, name)
			}
		}
	})
}

func TestClientNeverPrintsKey(t *testing.T) {
	c, err := New("https://aip.example.com", testUserID, testKey, testOrgID)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{c, struct{ C *Client }{c}, []*Client{c}} {
			if got := fmt.Sprintf(format, v); strings.Contains(got, testKey) {
				t.Errorf("Sprintf(%q, %T) = %q, contains the API key", format, v, got)
			}
		}
	}
}

func TestNewRequest(t *testing.T) {
	c, err := New("http://127.0.0.1:8080/prefix", testUserID, testKey, testOrgID)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		body       any
		wantURL    string
		wantCT     string
		wantBody   string
		wantErr    bool
	}{
		{name: "resolves under prefix with leading slash", path: "/v2/auditlogs?b=1&a=2", wantURL: "http://127.0.0.1:8080/prefix/v2/auditlogs?b=1&a=2"},
		{name: "resolves relative path", path: "help/hawk/self-test", wantURL: "http://127.0.0.1:8080/prefix/help/hawk/self-test"},
		{name: "encodes JSON body", path: "v2/x", body: map[string]string{"name": "x"}, wantURL: "http://127.0.0.1:8080/prefix/v2/x", wantCT: "application/json", wantBody: `{"name":"x"}`},
		{name: "rejects absolute URL to another host", path: "http://evil.example/v2/x", wantErr: true},
		{name: "keeps double slash on the server", path: "//evil.example/v2/x", wantURL: "http://127.0.0.1:8080/prefix/evil.example/v2/x"},
		{name: "rejects unencodable body", path: "v2/x", body: func() {}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := c.NewRequest(context.Background(), "post", tt.path, tt.body)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NewRequest(%q) = %v, want error", tt.path, req.URL)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewRequest: %v", err)
			}
			var body string
			if req.Body != nil {
				b, _ := readRequestBody(req)
				body = string(b)
			}
			got := []string{req.Method, req.URL.String(), req.Header.Get("Content-Type"), req.Header.Get("Accept"), body}
			want := []string{"POST", tt.wantURL, tt.wantCT, "application/json", tt.wantBody}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDoSignsGETWithQuery(t *testing.T) {
	f := newFake(t, ok(`{"recs":[],"token":null}`))
	c := f.client()
	// The query is deliberately unsorted and escaped: the signed resource
	// must be exactly what goes on the wire.
	req, err := c.NewRequest(context.Background(), http.MethodGet, "/v2/auditlogs?until=2022-09-05T15%3A00&from=2022-09-01", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(req, nil); err != nil {
		t.Fatalf("Do: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.uri != "/v2/auditlogs?until=2022-09-05T15%3A00&from=2022-09-01" {
		t.Errorf("request URI = %q", got.uri)
	}
	if got.header.Hash != "" {
		t.Errorf("GET without body sent hash %q, want none", got.header.Hash)
	}
	if got.header.Ext != testOrgID || got.header.ID != testUserID {
		t.Errorf("id, ext = %q, %q; want %q, %q", got.header.ID, got.header.Ext, testUserID, testOrgID)
	}
	if got.contentType != "" || got.accept != "application/json" {
		t.Errorf("Content-Type, Accept = %q, %q; want none, application/json", got.contentType, got.accept)
	}
}

func TestDoSignsBodyHash(t *testing.T) {
	f := newFake(t, func(_ int, _ *http.Request, body []byte) reply {
		return reply{body: string(body)} // echo, so the response hash covers it too
	})
	c := f.client()
	req, err := c.NewRequest(context.Background(), http.MethodPost, "v2/rulesets", map[string]any{"name": "x", "ruleIds": []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var echo map[string]any
	if _, err := c.Do(req, &echo); err != nil {
		t.Fatalf("Do: %v", err)
	}
	got := f.requests()[0]
	wantBody := `{"name":"x","ruleIds":[]}`
	if string(got.body) != wantBody {
		t.Errorf("body = %s, want %s", got.body, wantBody)
	}
	if want := hawk.PayloadHash("application/json", []byte(wantBody)); got.header.Hash != want {
		t.Errorf("hash = %q, want %q", got.header.Hash, want)
	}
	if diff := cmp.Diff(map[string]any{"name": "x", "ruleIds": []any{}}, echo); diff != "" {
		t.Errorf("decoded echo (-want +got):\n%s", diff)
	}
}

func TestDoHashesWithSentContentType(t *testing.T) {
	f := newFake(t, ok(`{}`))
	c := f.client()
	req, err := c.NewRequest(context.Background(), http.MethodPost, "v2/x", map[string]int{"a": 1})
	if err != nil {
		t.Fatal(err)
	}
	// The media type is part of the hash and the server checks it against
	// the Content-Type it receives, so the client must hash with that one.
	req.Header.Set("Content-Type", "text/plain")
	resp, err := c.Do(req, nil)
	if err != nil {
		t.Fatalf("Do with text/plain: %v (hash follows the sent Content-Type, so it should verify)", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if got := f.requests()[0].header.Hash; got != hawk.PayloadHash("text/plain", []byte(`{"a":1}`)) {
		t.Errorf("hash = %q, want the text/plain payload hash", got)
	}
}

func TestDoHandRolledRequests(t *testing.T) {
	serverNow := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name     string
		body     io.Reader
		wantBody string
		wantHash bool
	}{
		{name: "replays a one-shot body on the stale retry", body: io.NopCloser(strings.NewReader(`{"a":1}`)), wantBody: `{"a":1}`, wantHash: true},
		{name: "sends an empty body unhashed", body: strings.NewReader(""), wantBody: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, ok(`{}`), pinClock(serverNow))
			c := f.client(WithClock(func() time.Time { return serverNow.Add(-time.Hour) }))
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, f.srv.URL+"/v2/x", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if _, err := c.Do(req, nil); err != nil {
				t.Fatalf("Do: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 2 {
				t.Fatalf("server saw %d requests, want 2 (stale, retry)", len(reqs))
			}
			last := reqs[1]
			if string(last.body) != tt.wantBody || (last.header.Hash != "") != tt.wantHash {
				t.Errorf("retry = body %q, hash %q; want body %q, hash %v", last.body, last.header.Hash, tt.wantBody, tt.wantHash)
			}
		})
	}
}

func TestDoVerifiesServerAuthorization(t *testing.T) {
	otherKey := []byte("another-key-entirely")
	tests := []struct {
		name        string
		rep         reply
		opts        []Option
		wantAuthErr bool // errors.Is(err, ErrResponseNotAuthentic)
		wantStatus  int  // *ErrorResponse status, 0 for none
	}{
		{name: "accepts genuine signature", rep: reply{body: `{"authenticated":true}`}},
		{
			name: "rejects mac made with another key",
			rep: reply{body: `{}`, sign: func(a *hawk.Artifacts, ct string, b []byte) string {
				return hawk.ResponseHeader(otherKey, a, ct, b)
			}},
			wantAuthErr: true,
		},
		{
			name: "rejects signature of another body",
			rep: reply{body: `{"authenticated":true}`, sign: func(a *hawk.Artifacts, ct string, _ []byte) string {
				return hawk.ResponseHeader([]byte(testKey), a, ct, []byte(`{"authenticated":false}`))
			}},
			wantAuthErr: true,
		},
		{
			name: "rejects signature of another resource",
			rep: reply{body: `{}`, sign: func(a *hawk.Artifacts, ct string, b []byte) string {
				other := *a
				other.Resource = "/v2/other"
				return hawk.ResponseHeader([]byte(testKey), &other, ct, b)
			}},
			wantAuthErr: true,
		},
		{
			name:        "rejects garbage header",
			rep:         reply{body: `{}`, sign: func(*hawk.Artifacts, string, []byte) string { return `Hawk mac=` }},
			wantAuthErr: true,
		},
		{
			name:        "rejects 2xx without header",
			rep:         reply{body: `{}`, sign: func(*hawk.Artifacts, string, []byte) string { return "" }},
			wantAuthErr: true,
		},
		{
			name:        "rejects forged header on error status",
			rep:         reply{status: 404, body: `{"errors":["nope"]}`, sign: func(*hawk.Artifacts, string, []byte) string { return `Hawk mac="AAAA", hash="AAAA"` }},
			wantAuthErr: true,
		},
		{
			name:       "returns unsigned error status as ErrorResponse",
			rep:        reply{status: 404, body: `{"errors":["nope"]}`, sign: func(*hawk.Artifacts, string, []byte) string { return "" }},
			wantStatus: 404,
		},
		{
			name: "accepts unsigned 2xx when verification is off",
			rep:  reply{body: `{}`, sign: func(*hawk.Artifacts, string, []byte) string { return "" }},
			opts: []Option{WithoutResponseVerification()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(int, *http.Request, []byte) reply { return tt.rep })
			c := f.client(tt.opts...)
			_, resp, err := c.Help.SelfTest(context.Background())
			if gotAuth := errors.Is(err, ErrResponseNotAuthentic); gotAuth != tt.wantAuthErr {
				t.Fatalf("SelfTest error = %v; ErrResponseNotAuthentic %v, want %v", err, gotAuth, tt.wantAuthErr)
			}
			var er *ErrorResponse
			gotStatus := 0
			if errors.As(err, &er) {
				gotStatus = er.StatusCode()
			}
			if gotStatus != tt.wantStatus {
				t.Errorf("ErrorResponse status = %d, want %d (err %v)", gotStatus, tt.wantStatus, err)
			}
			if err == nil && resp == nil {
				t.Error("nil Response with nil error")
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Errorf("error %q contains the API key", err)
			}
		})
	}
}

func TestDoErrorResponses(t *testing.T) {
	tests := []struct {
		name       string
		rep        reply
		wantStatus int
		wantErrors []string
		wantText   []string // substrings of Error()
	}{
		{
			name:       "parses errors list",
			rep:        reply{status: 400, body: `{"errors":["bad from","bad until"]}`},
			wantStatus: 400,
			wantErrors: []string{"bad from", "bad until"},
			wantText:   []string{"400 Bad Request", "bad from; bad until", "GET", "/help/hawk/self-test"},
		},
		{
			name:       "keeps non-JSON body as empty errors",
			rep:        reply{status: 502, body: "<html>bad gateway</html>", contentType: "text/html"},
			wantStatus: 502,
			wantText:   []string{"502 Bad Gateway"},
		},
		{
			name:       "tolerates JSON of another shape",
			rep:        reply{status: 500, body: `{"statusCode":500,"message":"x"}`},
			wantStatus: 500,
			wantText:   []string{"500 Internal Server Error"},
		},
		{
			name:       "reports 404 with message",
			rep:        reply{status: 404, body: `{"errors":["The resource was not found"]}`},
			wantStatus: 404,
			wantErrors: []string{"The resource was not found"},
			wantText:   []string{"The resource was not found"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(int, *http.Request, []byte) reply { return tt.rep })
			_, resp, err := f.client().Help.SelfTest(context.Background())
			var er *ErrorResponse
			if !errors.As(err, &er) {
				t.Fatalf("SelfTest error = %v (%T), want *ErrorResponse", err, err)
			}
			if er.StatusCode() != tt.wantStatus {
				t.Errorf("status = %d, want %d", er.StatusCode(), tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantErrors, er.Errors); diff != "" {
				t.Errorf("Errors (-want +got):\n%s", diff)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Error() = %q, missing %q", err, s)
				}
			}
			if resp == nil || resp.StatusCode != tt.wantStatus {
				t.Errorf("Response = %v, want one with status %d", resp, tt.wantStatus)
			}
		})
	}
}

func TestDoRateLimit(t *testing.T) {
	f := newFake(t, func(int, *http.Request, []byte) reply {
		return reply{status: 429, body: `{"errors":["Rate limit hit"]}`, header: map[string]string{
			"Retry-After": "3", "X-Rate-Limit-Limit": "200", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "2500",
		}}
	})
	_, resp, err := f.client().Help.SelfTest(context.Background())
	var rle *RateLimitError
	if !errors.As(err, &rle) {
		t.Fatalf("error = %v (%T), want *RateLimitError", err, err)
	}
	wantRate := Rate{Limit: 200, Remaining: 0, Reset: 2500 * time.Millisecond}
	if diff := cmp.Diff(wantRate, rle.Rate); diff != "" {
		t.Errorf("Rate (-want +got):\n%s", diff)
	}
	if rle.RetryAfter != 3*time.Second {
		t.Errorf("RetryAfter = %v, want 3s", rle.RetryAfter)
	}
	if diff := cmp.Diff([]string{"Rate limit hit"}, rle.Errors); diff != "" {
		t.Errorf("Errors (-want +got):\n%s", diff)
	}
	var er *ErrorResponse
	if !errors.As(err, &er) || er.StatusCode() != 429 {
		t.Errorf("errors.As(*ErrorResponse) = %v, want the 429", er)
	}
	if resp == nil || resp.Rate != wantRate {
		t.Errorf("Response.Rate = %+v, want %+v", resp, wantRate)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("server saw %d requests, want 1 (no retry by default)", n)
	}
}

func TestDoRetryOnRateLimit(t *testing.T) {
	limited := reply{status: 429, body: `{"errors":["Rate limit hit"]}`, header: map[string]string{
		"Retry-After": "0", "X-Rate-Limit-Reset": "1",
	}}
	locked := reply{status: 429, body: `{"errors":["locked out"]}`, header: map[string]string{
		"Retry-After": "900", "X-Rate-Limit-Reset": "900000",
	}}
	tests := []struct {
		name     string
		first    reply
		wantErr  bool
		wantReqs int
	}{
		{name: "retries once after a short wait", first: limited, wantReqs: 2},
		{name: "gives up when the wait exceeds the maximum", first: locked, wantErr: true, wantReqs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(n int, _ *http.Request, _ []byte) reply {
				if n == 0 {
					return tt.first
				}
				return reply{body: `{"authenticated":true}`}
			})
			okay, _, err := f.client(WithRetryOnRateLimit(time.Second)).Help.SelfTest(context.Background())
			var rle *RateLimitError
			if gotErr := errors.As(err, &rle); gotErr != tt.wantErr {
				t.Fatalf("SelfTest = %v, %v; want RateLimitError %v", okay, err, tt.wantErr)
			}
			if n := len(f.requests()); n != tt.wantReqs {
				t.Errorf("server saw %d requests, want %d", n, tt.wantReqs)
			}
		})
	}
	t.Run("retries at most once", func(t *testing.T) {
		f := newFake(t, func(int, *http.Request, []byte) reply { return limited })
		_, _, err := f.client(WithRetryOnRateLimit(time.Second)).Help.SelfTest(context.Background())
		var rle *RateLimitError
		if !errors.As(err, &rle) {
			t.Fatalf("error = %v, want *RateLimitError", err)
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("server saw %d requests, want 2", n)
		}
	})
}

func TestDoStaleTimestamp(t *testing.T) {
	serverNow := time.Unix(1_800_000_000, 0)
	clientNow := serverNow.Add(-time.Hour) // an hour slow: far outside the 60 s skew

	t.Run("adopts server time and retries once", func(t *testing.T) {
		f := newFake(t, ok(`{"authenticated":true}`), pinClock(serverNow))
		c := f.client(WithClock(func() time.Time { return clientNow }))
		okay, _, err := c.Help.SelfTest(context.Background())
		if err != nil || !okay {
			t.Fatalf("SelfTest = %v, %v; want true, nil", okay, err)
		}
		reqs := f.requests()
		if len(reqs) != 2 {
			t.Fatalf("server saw %d requests, want 2 (stale, retry)", len(reqs))
		}
		first, err := hawk.ParseHeader(reqs[0].authorization)
		if err != nil {
			t.Fatal(err)
		}
		if first.Nonce == reqs[1].header.Nonce {
			t.Errorf("retry reused nonce %q", first.Nonce)
		}
		if got, want := reqs[1].header.TS, fmt.Sprint(serverNow.Unix()); got != want {
			t.Errorf("retry ts = %s, want %s", got, want)
		}
		if got := c.ClockOffset(); got != time.Hour {
			t.Errorf("ClockOffset = %v, want 1h", got)
		}

		// The offset is kept: the next call needs no retry.
		if _, _, err := c.Help.SelfTest(context.Background()); err != nil {
			t.Fatalf("second SelfTest: %v", err)
		}
		if n := len(f.requests()); n != 3 {
			t.Errorf("server saw %d requests after the second call, want 3", n)
		}
	})

	t.Run("replays the body on retry", func(t *testing.T) {
		f := newFake(t, func(_ int, _ *http.Request, body []byte) reply { return reply{body: string(body)} }, pinClock(serverNow))
		c := f.client(WithClock(func() time.Time { return clientNow }))
		req, err := c.NewRequest(context.Background(), http.MethodPost, "v2/organizations/members", map[string]string{"id": "x"})
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if _, err := c.Do(req, &got); err != nil {
			t.Fatalf("Do: %v", err)
		}
		if diff := cmp.Diff(map[string]string{"id": "x"}, got); diff != "" {
			t.Errorf("echoed body (-want +got):\n%s", diff)
		}
	})

	t.Run("ignores a tsm that does not verify", func(t *testing.T) {
		forged := fmt.Sprintf(`Hawk ts="%d", tsm="%s", error="Stale timestamp"`,
			serverNow.Unix(), hawk.TimestampMAC([]byte("not-the-key"), serverNow.Unix()))
		f := newFake(t, func(int, *http.Request, []byte) reply {
			return reply{status: 401, body: `{"errors":["Stale timestamp"]}`, header: map[string]string{"WWW-Authenticate": forged}}
		})
		c := f.client()
		_, _, err := c.Help.SelfTest(context.Background())
		var ae *AuthError
		if !errors.As(err, &ae) {
			t.Fatalf("error = %v, want *AuthError", err)
		}
		if ae.Reason != "Stale timestamp" || ae.WWWAuthenticate != forged {
			t.Errorf("AuthError = {Reason %q, WWWAuthenticate %q}", ae.Reason, ae.WWWAuthenticate)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("server saw %d requests, want 1", n)
		}
		if got := c.ClockOffset(); got != 0 {
			t.Errorf("ClockOffset = %v, want 0", got)
		}
	})

	t.Run("retries only once", func(t *testing.T) {
		// A server that keeps answering stale (clock jumping ahead) must not
		// make the client loop.
		var jumps atomic.Int64
		f := newFake(t, ok(`{}`), func(s *hawk.Server) {
			s.Now = func() time.Time { return serverNow.Add(time.Duration(jumps.Add(1)) * time.Hour) }
		})
		_, _, err := f.client().Help.SelfTest(context.Background())
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Reason != "Stale timestamp" {
			t.Fatalf("error = %v, want stale *AuthError", err)
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("server saw %d requests, want 2", n)
		}
	})
}

// pinClock fixes the fake server's clock at now.
func pinClock(now time.Time) func(*hawk.Server) {
	return func(s *hawk.Server) { s.Now = func() time.Time { return now } }
}

func TestDoReportsAuthFailure(t *testing.T) {
	f := newFake(t, ok(`{}`))
	c, err := New(f.srv.URL, testUserID, "wrong-key", testOrgID)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Help.SelfTest(context.Background())
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v (%T), want *AuthError", err, err)
	}
	if ae.Reason != "Bad mac" || ae.StatusCode() != 401 {
		t.Errorf("AuthError = {Reason %q, status %d}, want Bad mac, 401", ae.Reason, ae.StatusCode())
	}
	if strings.Contains(err.Error(), "wrong-key") {
		t.Errorf("error %q contains the API key", err)
	}
}

func TestDoDecodesIntoWriter(t *testing.T) {
	f := newFake(t, ok(`{"raw":true}`))
	c := f.client()
	req, err := c.NewRequest(context.Background(), http.MethodGet, "v2/raw", nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if _, err := c.Do(req, &b); err != nil {
		t.Fatalf("Do: %v", err)
	}
	if b.String() != `{"raw":true}` {
		t.Errorf("written body = %q", b.String())
	}
}

func TestDoReportsUndecodableBody(t *testing.T) {
	f := newFake(t, ok(`{"authenticated":`))
	_, resp, err := f.client().Help.SelfTest(context.Background())
	if err == nil {
		t.Fatal("SelfTest = nil error for truncated JSON")
	}
	if resp == nil || resp.StatusCode != 200 {
		t.Errorf("Response = %v, want the 200", resp)
	}
}

func TestDoHonoursContext(t *testing.T) {
	f := newFake(t, ok(`{}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := f.client().Help.SelfTest(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Duration
	}{
		{name: "reads seconds", in: "3", want: 3 * time.Second},
		{name: "trims spaces", in: " 7 ", want: 7 * time.Second},
		{name: "reads HTTP date", in: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		{name: "zeroes past date", in: now.Add(-time.Minute).Format(http.TimeFormat)},
		{name: "zeroes negative", in: "-5"},
		{name: "zeroes garbage", in: "soon"},
		{name: "zeroes empty", in: ""},
		{name: "caps huge value", in: "99999999999999", want: 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		name string
		h    map[string]string
		want Rate
	}{
		{name: "reads all three", h: map[string]string{"X-Rate-Limit-Limit": "200", "X-Rate-Limit-Remaining": "17", "X-Rate-Limit-Reset": "0"}, want: Rate{Limit: 200, Remaining: 17}},
		{name: "reads reset as milliseconds", h: map[string]string{"X-Rate-Limit-Reset": "1500"}, want: Rate{Reset: 1500 * time.Millisecond}},
		{name: "zeroes garbage and negatives", h: map[string]string{"X-Rate-Limit-Limit": "lots", "X-Rate-Limit-Remaining": "-1"}},
		{name: "zeroes missing headers", h: nil},
		{name: "caps huge reset", h: map[string]string{"X-Rate-Limit-Reset": "99999999999999"}, want: Rate{Reset: 24 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.h {
				h.Set(k, v)
			}
			if diff := cmp.Diff(tt.want, parseRate(h)); diff != "" {
				t.Errorf("parseRate (-want +got):\n%s", diff)
			}
		})
	}
}
