package httpapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/ratelimit"
)

// rateHeaders are the three X-Rate-Limit headers and Retry-After of r.
type rateHeaders struct{ Limit, Remaining, Reset, RetryAfter string }

func rateOf(r reply) rateHeaders {
	return rateHeaders{
		Limit: r.Header.Get("X-Rate-Limit-Limit"), Remaining: r.Header.Get("X-Rate-Limit-Remaining"),
		Reset: r.Header.Get("X-Rate-Limit-Reset"), RetryAfter: r.Header.Get("Retry-After"),
	}
}

func TestOrganizationRateLimit(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) {
		c.OrgLimit = ratelimit.PerMinute(200)
		c.IPLimit = ratelimit.PerMinute(1000)
	})
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	colleague := h.newAccount(t, org, "colleague@acme.example", aip.RoleReader)
	otherOrg := h.newOrg(t, "other")
	other := h.newAccount(t, otherOrg, "other@other.example", aip.RoleOwner)

	// Requests that fail authentication cost the organization nothing.
	for range 20 {
		req := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
		h.sign(t, req, account{UserID: owner.UserID, APIKey: "wrong", OrgID: org}, nil, nil)
		if r := h.do(t, req); r.Status != http.StatusUnauthorized {
			t.Fatalf("bad mac: status %d", r.Status)
		}
	}

	t.Run("allows 200 requests a minute shared by the organization", func(t *testing.T) {
		for i := range 200 {
			as := owner
			if i%2 == 1 {
				as = colleague
			}
			r, _ := h.signedDo(t, as, http.MethodGet, selfTestPath, nil)
			want := rateHeaders{Limit: "200", Remaining: strconv.Itoa(199 - i), Reset: "0"}
			if r.Status != http.StatusOK || rateOf(r) != want {
				t.Fatalf("request %d: status %d, headers %+v; want 200, %+v", i+1, r.Status, rateOf(r), want)
			}
		}
	})

	t.Run("answers the 201st with a signed 429", func(t *testing.T) {
		r, art := h.signedDo(t, owner, http.MethodGet, selfTestPath, nil)
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("status = %d, want 429", r.Status)
		}
		// 60 s / 200 = 300 ms until one request is earned back.
		if diff := cmp.Diff(rateHeaders{Limit: "200", Remaining: "0", Reset: "300", RetryAfter: "1"}, rateOf(r)); diff != "" {
			t.Errorf("headers (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"Rate limit exceeded for this organization; retry after 1 seconds."}, errorsOf(t, r)); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		verifySigned(t, owner, art, r)
	})

	t.Run("surfaces the limit through the client", func(t *testing.T) {
		_, _, err := h.client(t, colleague).Help.SelfTest(h.ctx(t))
		var rle *client.RateLimitError
		if !errors.As(err, &rle) {
			t.Fatalf("err = %v, want *client.RateLimitError", err)
		}
		want := client.Rate{Limit: 200, Remaining: 0, Reset: 300 * time.Millisecond}
		if rle.Rate != want || rle.RetryAfter != time.Second {
			t.Errorf("rate %+v retry after %v; want %+v, 1s", rle.Rate, rle.RetryAfter, want)
		}
	})

	t.Run("leaves other organizations alone", func(t *testing.T) {
		r, _ := h.signedDo(t, other, http.MethodGet, selfTestPath, nil)
		if r.Status != http.StatusOK || r.Header.Get("X-Rate-Limit-Remaining") != "199" {
			t.Errorf("other organization: status %d remaining %s; want 200, 199", r.Status, r.Header.Get("X-Rate-Limit-Remaining"))
		}
	})

	t.Run("allows again once a request is earned back", func(t *testing.T) {
		h.clock.Advance(299 * time.Millisecond)
		if r, _ := h.signedDo(t, owner, http.MethodGet, selfTestPath, nil); r.Status != http.StatusTooManyRequests {
			t.Fatalf("after 299 ms: status %d, want 429", r.Status)
		}
		h.clock.Advance(time.Millisecond)
		r, _ := h.signedDo(t, owner, http.MethodGet, selfTestPath, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("after 300 ms: status %d, want 200", r.Status)
		}
		if diff := cmp.Diff(rateHeaders{Limit: "200", Remaining: "0", Reset: "0"}, rateOf(r)); diff != "" {
			t.Errorf("headers (-want +got):\n%s", diff)
		}
	})
}

func TestRateHeadersOnEveryAnswer(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) {
		c.OrgLimit = ratelimit.PerMinute(200)
		c.IPLimit = ratelimit.PerMinute(1000)
	})
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	other := h.newOrg(t, "other")

	cases := []struct {
		name      string
		method    string
		target    string
		sign      func(req *http.Request)
		status    int
		wantLimit string
	}{
		{name: "carries the IP limit on a 404", method: http.MethodGet, target: "/nope", status: 404, wantLimit: "1000"},
		{name: "carries the IP limit on a 405", method: http.MethodPatch, target: selfTestPath, status: 405, wantLimit: "1000"},
		{name: "carries the IP limit on a 401", method: http.MethodGet, target: selfTestPath, status: 401, wantLimit: "1000"},
		{name: "carries the IP limit on a public 200", method: http.MethodGet, target: "/v2/openapi.yaml", status: 200, wantLimit: "1000"},
		{name: "carries the IP limit on a 403 for a foreign organization", method: http.MethodGet, target: selfTestPath, status: 403, wantLimit: "1000",
			sign: func(req *http.Request) { h.sign(t, req, owner, nil, func(a *hawk.Artifacts) { a.Ext = other }) }},
		{name: "carries the organization limit on an authenticated 200", method: http.MethodGet, target: selfTestPath, status: 200, wantLimit: "200",
			sign: func(req *http.Request) { h.sign(t, req, owner, nil, nil) }},
		{name: "carries the organization limit on an authenticated 404", method: http.MethodDelete, target: "/v2/organizations/members/" + aip.NewID24(), status: 404, wantLimit: "200",
			sign: func(req *http.Request) { h.sign(t, req, owner, nil, nil) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := h.rawRequest(h.ctx(t), t, tc.method, tc.target, nil)
			if tc.sign != nil {
				tc.sign(req)
			}
			r := h.do(t, req)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			got := rateOf(r)
			if got.Limit != tc.wantLimit || got.Reset != "0" || got.RetryAfter != "" {
				t.Errorf("headers %+v, want limit %s, reset 0, no Retry-After", got, tc.wantLimit)
			}
		})
	}
}

func TestIPLockout(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) {
		c.IPLimit = ratelimit.PerMinute(5)
		c.IPLockout = 15 * time.Minute
	})
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	get := func(t *testing.T, target string) reply {
		return h.do(t, h.rawRequest(h.ctx(t), t, http.MethodGet, target, nil))
	}

	for i := range 5 {
		if r := get(t, "/nope"); r.Status != http.StatusNotFound || r.Header.Get("X-Rate-Limit-Remaining") != strconv.Itoa(4-i) {
			t.Fatalf("request %d: status %d remaining %s", i+1, r.Status, r.Header.Get("X-Rate-Limit-Remaining"))
		}
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    rateHeaders
	}{
		{name: "locks out the IP on the first excess request", want: rateHeaders{Limit: "5", Remaining: "0", Reset: "900000", RetryAfter: "900"}},
		{name: "stays locked after the limiter would allow again", advance: time.Minute,
			want: rateHeaders{Limit: "5", Remaining: "0", Reset: "840000", RetryAfter: "840"}},
		{name: "stays locked until the last millisecond", advance: 14*time.Minute - time.Millisecond,
			want: rateHeaders{Limit: "5", Remaining: "0", Reset: "1", RetryAfter: "1"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			h.clock.Advance(st.advance)
			r := get(t, "/v2/openapi.yaml")
			if r.Status != http.StatusTooManyRequests {
				t.Fatalf("status = %d, want 429", r.Status)
			}
			if diff := cmp.Diff(st.want, rateOf(r)); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("answers signed requests of a locked IP unsigned", func(t *testing.T) {
		r, _ := h.signedDo(t, owner, http.MethodGet, selfTestPath, nil)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Server-Authorization") != "" {
			t.Errorf("status %d, Server-Authorization %q; want 429 unsigned", r.Status, r.Header.Get("Server-Authorization"))
		}
		if diff := cmp.Diff([]string{"Rate limit exceeded for this IP address; retry after 1 seconds."}, errorsOf(t, r)); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})

	t.Run("keeps healthz out of the lockout", func(t *testing.T) {
		if r := get(t, "/healthz"); r.Status != http.StatusOK {
			t.Errorf("healthz: status %d, want 200", r.Status)
		}
	})

	t.Run("allows the IP again when the lockout ends", func(t *testing.T) {
		h.clock.Advance(time.Millisecond)
		r := get(t, "/v2/openapi.yaml")
		if r.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200", r.Status)
		}
		if diff := cmp.Diff(rateHeaders{Limit: "5", Remaining: "4", Reset: "0"}, rateOf(r)); diff != "" {
			t.Errorf("headers (-want +got):\n%s", diff)
		}
	})
}

func TestClientIP(t *testing.T) {
	mustPrefixes := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	cases := []struct {
		name    string
		trusted []netip.Prefix
		xff     []string
		want    string
	}{
		{name: "ignores X-Forwarded-For from an untrusted peer", xff: []string{"203.0.113.7"}, want: "127.0.0.1"},
		{name: "honours X-Forwarded-For from a trusted proxy", trusted: mustPrefixes("127.0.0.0/8"), xff: []string{"203.0.113.7"}, want: "203.0.113.7"},
		{name: "takes the right-most untrusted hop", trusted: mustPrefixes("127.0.0.0/8"), xff: []string{"198.51.100.1, 203.0.113.7"}, want: "203.0.113.7"},
		{name: "skips trusted hops", trusted: mustPrefixes("127.0.0.0/8", "10.0.0.0/8"), xff: []string{"203.0.113.7, 10.1.2.3"}, want: "203.0.113.7"},
		{name: "joins repeated headers", trusted: mustPrefixes("127.0.0.0/8", "10.0.0.0/8"), xff: []string{"203.0.113.7", "10.1.2.3"}, want: "203.0.113.7"},
		{name: "stops at a malformed hop", trusted: mustPrefixes("127.0.0.0/8", "10.0.0.0/8"), xff: []string{"not-an-ip, 10.1.2.3"}, want: "10.1.2.3"},
		{name: "uses the peer without the header", trusted: mustPrefixes("127.0.0.0/8"), want: "127.0.0.1"},
		{name: "unmaps IPv4-in-IPv6 hops", trusted: mustPrefixes("127.0.0.0/8"), xff: []string{"::ffff:203.0.113.7"}, want: "203.0.113.7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *httpapi.Config) { c.TrustedProxies = tc.trusted })
			org := h.newOrg(t, "acme")
			owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
			req := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			h.sign(t, req, owner, nil, nil)
			if r := h.do(t, req); r.Status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Status, r.Body)
			}
			h.flushAudit(t)
			recs, err := h.store.ListAuditRecords(h.ctx(t), aip.AuditFilter{OrgID: org, Limit: 1})
			if err != nil || len(recs) != 1 {
				t.Fatalf("audit records: %v, %v", recs, err)
			}
			var details struct {
				ClientIP string `json:"clientIp"`
			}
			if err := json.Unmarshal(recs[0].Context, &details); err != nil {
				t.Fatalf("audit context %s: %v", recs[0].Context, err)
			}
			if got := details.ClientIP; got != tc.want {
				t.Errorf("client IP = %v, want %s", got, tc.want)
			}
		})
	}

	t.Run("limits by the forwarded address behind a trusted proxy", func(t *testing.T) {
		h := newHarness(t, func(c *httpapi.Config) {
			c.TrustedProxies = mustPrefixes("127.0.0.0/8")
			c.IPLimit = ratelimit.PerMinute(2)
		})
		from := func(ip string) int {
			req := h.rawRequest(h.ctx(t), t, http.MethodGet, "/v2/openapi.yaml", nil)
			req.Header.Set("X-Forwarded-For", ip)
			return h.do(t, req).Status
		}
		got := []int{from("203.0.113.1"), from("203.0.113.1"), from("203.0.113.1"), from("203.0.113.2")}
		if diff := cmp.Diff([]int{200, 200, 429, 200}, got); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
	})

	t.Run("limits by the peer when X-Forwarded-For is not trusted", func(t *testing.T) {
		h := newHarness(t, func(c *httpapi.Config) { c.IPLimit = ratelimit.PerMinute(2) })
		from := func(ip string) int {
			req := h.rawRequest(h.ctx(t), t, http.MethodGet, "/v2/openapi.yaml", nil)
			req.Header.Set("X-Forwarded-For", ip)
			return h.do(t, req).Status
		}
		got := []int{from("203.0.113.1"), from("203.0.113.2"), from("203.0.113.3")}
		if diff := cmp.Diff([]int{200, 200, 429}, got); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
	})
}

func TestHawkHostAndPort(t *testing.T) {
	mustURL := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	cases := []struct {
		name       string
		publicURL  *url.URL
		trusted    []netip.Prefix
		hostHeader string
		proto      string
		signHost   string
		signPort   string
		want       int
	}{
		{name: "accepts the public URL host and default https port", publicURL: mustURL("https://API.example.com"),
			signHost: "api.example.com", signPort: "443", want: 200},
		{name: "accepts the public URL explicit port", publicURL: mustURL("http://aip.internal:8443/"),
			signHost: "aip.internal", signPort: "8443", want: 200},
		{name: "rejects the Host header when a public URL is set", publicURL: mustURL("https://api.example.com"),
			want: 401},
		{name: "accepts the Host header and port 80 by default", hostHeader: "api.example.com",
			signHost: "api.example.com", signPort: "80", want: 200},
		{name: "accepts https from a trusted proxy as port 443", trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			hostHeader: "api.example.com", proto: "https", signHost: "api.example.com", signPort: "443", want: 200},
		{name: "ignores X-Forwarded-Proto from an untrusted peer", hostHeader: "api.example.com", proto: "https",
			signHost: "api.example.com", signPort: "443", want: 401},
		{name: "accepts an upper-case Host header", hostHeader: "API.Example.COM:8080",
			signHost: "api.example.com", signPort: "8080", want: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *httpapi.Config) {
				c.PublicURL = tc.publicURL
				c.TrustedProxies = tc.trusted
			})
			org := h.newOrg(t, "acme")
			owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
			req := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
			if tc.hostHeader != "" {
				req.Host = tc.hostHeader
			}
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			art := h.sign(t, req, owner, nil, func(a *hawk.Artifacts) {
				if tc.signHost != "" {
					a.Host, a.Port = tc.signHost, tc.signPort
				}
			})
			r := h.do(t, req)
			if r.Status != tc.want {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.want, r.Body)
			}
			if r.Status == http.StatusOK {
				verifySigned(t, owner, art, r)
			}
		})
	}
}

func TestAgentAPIHasItsOwnIPBucket(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) {
		c.IPLimit = ratelimit.PerMinute(3)
		c.AgentIPLimit = ratelimit.PerMinute(8)
	})
	org, key := h.newAgentOrg(t, "A")
	a := h.enrollAgent(t, key, "web-1") // 1 of the agent bucket
	owner := h.newAccount(t, org, "owner@a.example", aip.RoleOwner)
	ts := epoch.UnixMilli() - 10

	t.Run("a fleet behind one address is not held to the user limit", func(t *testing.T) {
		for i := range 6 {
			r := h.agentPost(t, h.ctx(t), a, "/agent/v1/events", []byte("["+sudoEvent(t, a.UserID, ts+int64(i))+"]"), "application/json", "")
			if r.Status != http.StatusAccepted {
				t.Fatalf("batch %d: status %d, want 202", i+1, r.Status)
			}
			if got := r.Header.Get("X-Rate-Limit-Limit"); got != "8" {
				t.Errorf("batch %d: X-Rate-Limit-Limit %s, want the agent limit 8", i+1, got)
			}
		}
	})
	t.Run("users of the same address keep their own budget", func(t *testing.T) {
		for i := range 3 {
			if r, _ := h.signedDo(t, owner, http.MethodGet, selfTestPath, nil); r.Status != http.StatusOK {
				t.Fatalf("request %d: status %d, want 200", i+1, r.Status)
			}
		}
		if r, _ := h.signedDo(t, owner, http.MethodGet, selfTestPath, nil); r.Status != http.StatusTooManyRequests {
			t.Errorf("4th user request: status %d, want 429", r.Status)
		}
	})
	t.Run("the agent bucket has a limit too", func(t *testing.T) {
		r := h.agentPost(t, h.ctx(t), a, "/agent/v1/events", []byte("["+sudoEvent(t, a.UserID, ts+100)+"]"), "application/json", "")
		if r.Status != http.StatusAccepted {
			t.Fatalf("8th agent request: status %d, want 202", r.Status)
		}
		body := []byte("[" + sudoEvent(t, a.UserID, ts+101) + "]")
		req := h.rawRequest(h.ctx(t), t, http.MethodPost, "/agent/v1/events", body)
		req.Header.Set("Content-Type", "application/json")
		h.sign(t, req, a, body, nil)
		if r := h.do(t, req); r.Status != http.StatusTooManyRequests {
			t.Errorf("9th agent request: status %d, want 429", r.Status)
		}
	})
}
