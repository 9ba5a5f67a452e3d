package httpapi_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/ratelimit"
)

const selfTestPath = "/help/hawk/self-test"

func TestSelfTest(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)

	t.Run("client authenticates", func(t *testing.T) {
		got, resp, err := h.client(t, owner).Help.SelfTest(h.ctx(t))
		if err != nil {
			t.Fatalf("SelfTest: %v", err)
		}
		if !got || resp.StatusCode != http.StatusOK {
			t.Errorf("SelfTest = %v, status %d; want true, 200", got, resp.StatusCode)
		}
	})

	t.Run("answers exact bytes signed with mac and hash", func(t *testing.T) {
		r, art := h.signedDo(t, owner, http.MethodGet, selfTestPath, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200: %s", r.Status, r.Body)
		}
		if got, want := string(r.Body), `{"authenticated":true}`; got != want {
			t.Errorf("body = %q, want %q", got, want)
		}
		if got, want := r.Header.Get("Content-Type"), "application/json; charset=utf-8"; got != want {
			t.Errorf("Content-Type = %q, want %q", got, want)
		}
		sa := r.Header.Get("Server-Authorization")
		if !strings.HasPrefix(sa, `Hawk mac="`) || !strings.Contains(sa, `, hash="`) || strings.Contains(sa, "ext=") {
			t.Errorf("Server-Authorization = %q, want mac and hash, no ext", sa)
		}
		verifySigned(t, owner, art, r)
	})

	t.Run("rejects a tampered answer", func(t *testing.T) {
		r, art := h.signedDo(t, owner, http.MethodGet, selfTestPath, nil)
		err := hawk.VerifyResponse([]byte(owner.APIKey), art, r.Header.Get("Server-Authorization"),
			r.Header.Get("Content-Type"), []byte(`{"authenticated":false}`))
		if err == nil {
			t.Error("VerifyResponse accepted a body the server did not send")
		}
	})
}

// TestServerAuthorization checks which answers are signed: every answer to
// a request whose Hawk header verified, whatever its status, and none other.
func TestServerAuthorization(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	other := h.newOrg(t, "other")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	reader := h.newAccount(t, org, "reader@acme.example", aip.RoleReader)
	leaving := h.newAccount(t, org, "leaving@acme.example", aip.RoleUser)
	outsider, _ := h.newUser(t, "outsider@elsewhere.example", true)

	signedCases := []struct {
		name       string
		as         account
		method     string
		target     string
		body       string
		mod        func(*hawk.Artifacts)
		wantStatus int
	}{
		{name: "signs 200", as: owner, method: http.MethodGet, target: "/v2/organizations/members", wantStatus: http.StatusOK},
		{name: "signs 204", as: owner, method: http.MethodDelete, target: "/v2/organizations/members/" + leaving.UserID, wantStatus: http.StatusNoContent},
		{name: "signs 400 of a handler", as: owner, method: http.MethodGet, target: "/v2/auditlogs?from=yesterday", wantStatus: http.StatusBadRequest},
		{name: "signs 403 of a reader writing", as: reader, method: http.MethodPost, target: "/v2/organizations/members",
			body: `{"id":"` + outsider + `","role":"reader"}`, wantStatus: http.StatusForbidden},
		{name: "signs 403 of a foreign organization", as: owner, method: http.MethodGet, target: selfTestPath,
			mod: func(a *hawk.Artifacts) { a.Ext = other }, wantStatus: http.StatusForbidden},
		{name: "signs 403 of a missing ext", as: owner, method: http.MethodGet, target: selfTestPath,
			mod: func(a *hawk.Artifacts) { a.Ext = "" }, wantStatus: http.StatusForbidden},
		{name: "signs 404 of a non-member", as: owner, method: http.MethodDelete, target: "/v2/organizations/members/" + outsider, wantStatus: http.StatusNotFound},
	}
	for _, tc := range signedCases {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			req := h.rawRequest(h.ctx(t), t, tc.method, tc.target, body)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			art := h.sign(t, req, tc.as, body, tc.mod)
			r := h.do(t, req)
			if r.Status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.wantStatus, r.Body)
			}
			verifySigned(t, tc.as, art, r)
		})
	}

	t.Run("signs 429 of the organization limit", func(t *testing.T) {
		h := newHarness(t, func(c *httpapi.Config) { c.OrgLimit = ratelimit.PerMinute(1) })
		org := h.newOrg(t, "tiny")
		a := h.newAccount(t, org, "a@tiny.example", aip.RoleOwner)
		if r, _ := h.signedDo(t, a, http.MethodGet, selfTestPath, nil); r.Status != http.StatusOK {
			t.Fatalf("first request: status %d, want 200", r.Status)
		}
		r, art := h.signedDo(t, a, http.MethodGet, selfTestPath, nil)
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("second request: status %d, want 429", r.Status)
		}
		verifySigned(t, a, art, r)
	})

	unsignedCases := []struct {
		name       string
		header     func(req *http.Request)
		wantStatus int
	}{
		{name: "leaves 401 of a bad mac unsigned", wantStatus: http.StatusUnauthorized, header: func(req *http.Request) {
			h.sign(t, req, account{UserID: owner.UserID, APIKey: "wrong key", OrgID: org}, nil, nil)
		}},
		{name: "leaves 401 of a missing header unsigned", wantStatus: http.StatusUnauthorized, header: func(*http.Request) {}},
		{name: "leaves 400 of a malformed header unsigned", wantStatus: http.StatusBadRequest, header: func(req *http.Request) {
			req.Header.Set("Authorization", `Hawk id="`+owner.UserID+`"`)
		}},
	}
	for _, tc := range unsignedCases {
		t.Run(tc.name, func(t *testing.T) {
			req := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
			tc.header(req)
			r := h.do(t, req)
			if r.Status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.wantStatus, r.Body)
			}
			if sa := r.Header.Get("Server-Authorization"); sa != "" {
				t.Errorf("Server-Authorization = %q, want none", sa)
			}
		})
	}
}

// TestHawkBadInput sends every kind of broken Hawk request through HTTP:
// each must get its 4xx JSON answer.
func TestHawkBadInput(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	other := h.newOrg(t, "other")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	disabledID, disabledKey := h.newUser(t, "disabled@acme.example", false)
	h.addMember(t, org, disabledID, aip.RoleOwner)
	disabled := account{OrgID: org, UserID: disabledID, APIKey: disabledKey}
	ghost := account{OrgID: org, UserID: aip.NewID24(), APIKey: "no such key"}
	notAnID := account{OrgID: org, UserID: "not-an-id", APIKey: "no such key"}

	// header sets a fixed Authorization value.
	header := func(v string) func(t *testing.T, req *http.Request) {
		return func(t *testing.T, req *http.Request) { req.Header.Set("Authorization", v) }
	}
	// signed signs as a after mod changed the artifacts.
	signed := func(a account, mod func(*hawk.Artifacts)) func(t *testing.T, req *http.Request) {
		return func(t *testing.T, req *http.Request) { h.sign(t, req, a, nil, mod) }
	}

	cases := []struct {
		name     string
		method   string
		target   string
		body     string
		auth     func(t *testing.T, req *http.Request)
		wantCode int
		wantMsg  string
		// wantWWW is the exact WWW-Authenticate; "" means none.
		wantWWW string
	}{
		{name: "rejects a missing header", auth: func(*testing.T, *http.Request) {},
			wantCode: 401, wantMsg: "Missing authentication", wantWWW: "Hawk"},
		{name: "rejects the Basic scheme", auth: header("Basic dXNlcjpwYXNz"),
			wantCode: 401, wantMsg: "Unsupported authentication scheme", wantWWW: "Hawk"},
		{name: "rejects Hawk alone", auth: header("Hawk"),
			wantCode: 400, wantMsg: "Invalid header syntax"},
		{name: "rejects missing attributes", auth: header(`Hawk id="` + owner.UserID + `"`),
			wantCode: 400, wantMsg: "Missing attributes"},
		{name: "rejects an unquoted attribute", auth: header(`Hawk id="a", ts=123, nonce="n", mac="m"`),
			wantCode: 400, wantMsg: "Bad header format"},
		{name: "rejects a value with a quote", auth: header(`Hawk id="a", ts="1", nonce="n\"x", mac="m"`),
			wantCode: 400, wantMsg: "Bad header format"},
		{name: "rejects a duplicate attribute", auth: header(`Hawk id="a", id="b", ts="1", nonce="n", mac="m"`),
			wantCode: 400, wantMsg: "Duplicate attribute: id"},
		{name: "rejects an unknown attribute", auth: header(`Hawk id="a", ts="1", nonce="n", mac="m", color="red"`),
			wantCode: 400, wantMsg: "Unknown attribute: color"},
		{name: "rejects an oversized header", auth: header(`Hawk id="a", ts="1", nonce="n", mac="m", ext="` + strings.Repeat("x", 4096) + `"`),
			wantCode: 400, wantMsg: "Header length too long"},
		{name: "rejects ts abc", auth: header(`Hawk id="` + owner.UserID + `", ts="abc", nonce="n", mac="m"`),
			wantCode: 400, wantMsg: "Bad attribute value: ts"},
		{name: "rejects a fractional ts", auth: header(`Hawk id="` + owner.UserID + `", ts="1.5", nonce="n", mac="m"`),
			wantCode: 400, wantMsg: "Bad attribute value: ts"},
		{name: "rejects dlg without app", auth: header(`Hawk id="a", ts="1", nonce="n", mac="m", dlg="d"`),
			wantCode: 400, wantMsg: "Attribute dlg requires app"},
		{name: "rejects a bad mac", auth: signed(owner, func(a *hawk.Artifacts) { a.Resource = "/v2/auditlogs" }),
			wantCode: 401, wantMsg: "Bad mac", wantWWW: `Hawk error="Bad mac"`},
		{name: "rejects a wrong host", auth: signed(owner, func(a *hawk.Artifacts) { a.Host = "api.example.com" }),
			wantCode: 401, wantMsg: "Bad mac", wantWWW: `Hawk error="Bad mac"`},
		{name: "rejects a wrong port", auth: signed(owner, func(a *hawk.Artifacts) { a.Port = "443" }),
			wantCode: 401, wantMsg: "Bad mac", wantWWW: `Hawk error="Bad mac"`},
		{name: "rejects an unknown user id", auth: signed(ghost, nil),
			wantCode: 401, wantMsg: "Unknown credentials", wantWWW: `Hawk error="Unknown credentials"`},
		{name: "rejects a malformed user id", auth: signed(notAnID, nil),
			wantCode: 401, wantMsg: "Unknown credentials", wantWWW: `Hawk error="Unknown credentials"`},
		{name: "rejects a body without hash", method: http.MethodPut, target: "/v2/organizations/invites",
			body:     `{"email":"x@acme.example","role":"user"}`,
			auth:     signed(owner, func(a *hawk.Artifacts) { a.Hash = "" }),
			wantCode: 401, wantMsg: "Missing required payload hash", wantWWW: `Hawk error="Missing required payload hash"`},
		{name: "rejects a body not matching its hash", method: http.MethodPut, target: "/v2/organizations/invites",
			body: `{"email":"x@acme.example","role":"user"}`,
			auth: signed(owner, func(a *hawk.Artifacts) {
				a.Hash = hawk.PayloadHash("application/json", []byte(`{"email":"y@acme.example","role":"user"}`))
			}),
			wantCode: 401, wantMsg: "Bad payload hash", wantWWW: `Hawk error="Bad payload hash"`},
		{name: "rejects a foreign organization in ext", auth: signed(owner, func(a *hawk.Artifacts) { a.Ext = other }),
			wantCode: 403, wantMsg: "The user is not a member of organization " + other + "."},
		{name: "rejects an unknown organization in ext", auth: signed(owner, func(a *hawk.Artifacts) { a.Ext = "000000000000000000000000" }),
			wantCode: 403, wantMsg: "The user is not a member of organization 000000000000000000000000."},
		{name: "rejects a missing ext", auth: signed(owner, func(a *hawk.Artifacts) { a.Ext = "" }),
			wantCode: 403, wantMsg: "The Hawk ext attribute must name your organization id."},
		{name: "rejects a disabled user", auth: signed(disabled, nil),
			wantCode: 403, wantMsg: "The user is disabled."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method, target := tc.method, tc.target
			if method == "" {
				method, target = http.MethodGet, selfTestPath
			}
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			req := h.rawRequest(h.ctx(t), t, method, target, body)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			tc.auth(t, req)
			r := h.do(t, req)
			if r.Status != tc.wantCode {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.wantCode, r.Body)
			}
			if diff := cmp.Diff([]string{tc.wantMsg}, errorsOf(t, r)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if got := r.Header.Get("WWW-Authenticate"); got != tc.wantWWW {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantWWW)
			}
			if tc.wantCode != http.StatusForbidden && r.Header.Get("Server-Authorization") != "" {
				t.Errorf("a failed authentication was answered with Server-Authorization")
			}
		})
	}

	t.Run("answers a stale timestamp with a verifiable server time", func(t *testing.T) {
		req := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
		h.sign(t, req, owner, nil, func(a *hawk.Artifacts) {
			a.TS = strconv.FormatInt(h.clock.Now().Add(-time.Hour).Unix(), 10)
		})
		r := h.do(t, req)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401: %s", r.Status, r.Body)
		}
		if diff := cmp.Diff([]string{"Stale timestamp"}, errorsOf(t, r)); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		gotTS, tsm, reason, err := hawk.ParseWWWAuthenticate(r.Header.Get("WWW-Authenticate"))
		if err != nil {
			t.Fatalf("parse WWW-Authenticate %q: %v", r.Header.Get("WWW-Authenticate"), err)
		}
		if want := h.clock.Now().Unix(); gotTS != want || reason != "Stale timestamp" {
			t.Errorf("WWW-Authenticate ts=%d error=%q, want ts=%d error=%q", gotTS, reason, want, "Stale timestamp")
		}
		if !hawk.VerifyTimestampMAC([]byte(owner.APIKey), gotTS, tsm) {
			t.Errorf("tsm %q does not verify for ts %d", tsm, gotTS)
		}
	})

	t.Run("client adopts the server time after a stale answer", func(t *testing.T) {
		c, err := client.New(h.ts.URL, owner.UserID, owner.APIKey, owner.OrgID, client.WithHTTPClient(h.http),
			client.WithClock(func() time.Time { return h.clock.Now().Add(-10 * time.Minute) }))
		if err != nil {
			t.Fatal(err)
		}
		ok, _, err := c.Help.SelfTest(h.ctx(t))
		if err != nil || !ok {
			t.Fatalf("SelfTest = %v, %v; want true after adopting the server clock", ok, err)
		}
		if got, want := c.ClockOffset(), 10*time.Minute; got != want {
			t.Errorf("ClockOffset = %v, want %v", got, want)
		}
	})

	t.Run("rejects a replayed nonce", func(t *testing.T) {
		req := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
		h.sign(t, req, owner, nil, nil)
		auth := req.Header.Get("Authorization")
		if r := h.do(t, req); r.Status != http.StatusOK {
			t.Fatalf("first request: status %d, want 200: %s", r.Status, r.Body)
		}
		again := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
		again.Header.Set("Authorization", auth)
		r := h.do(t, again)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("replay: status %d, want 401", r.Status)
		}
		if diff := cmp.Diff([]string{"Invalid nonce"}, errorsOf(t, r)); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})

	t.Run("does not burn the nonce of a forged request", func(t *testing.T) {
		nonce := hawk.NewNonce()
		forged := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
		h.sign(t, forged, account{UserID: owner.UserID, APIKey: "guessed", OrgID: org}, nil, func(a *hawk.Artifacts) { a.Nonce = nonce })
		if r := h.do(t, forged); r.Status != http.StatusUnauthorized {
			t.Fatalf("forged request: status %d, want 401", r.Status)
		}
		real := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
		h.sign(t, real, owner, nil, func(a *hawk.Artifacts) { a.Nonce = nonce })
		if r := h.do(t, real); r.Status != http.StatusOK {
			t.Errorf("genuine request with the forged nonce: status %d, want 200: %s", r.Status, r.Body)
		}
	})

	accepted := []struct {
		name   string
		target string
		ctype  string
	}{
		{name: "accepts a GET with Content-Type and no body or hash", target: selfTestPath, ctype: "application/json"},
		{name: "accepts a percent-encoded path signed raw", target: "/help/hawk/self%2Dtest"},
		{name: "accepts an unordered, encoded query signed raw", target: "/v2/organizations/members?z=%2F%20&enabledOnly=true&a=1&a=0"},
		{name: "accepts an empty query signed raw", target: "/v2/organizations/members?"},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			req := h.rawRequest(h.ctx(t), t, http.MethodGet, tc.target, nil)
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			art := h.sign(t, req, owner, nil, nil)
			if art.Resource != tc.target {
				t.Fatalf("signed resource %q, want the raw target %q", art.Resource, tc.target)
			}
			r := h.do(t, req)
			if r.Status != http.StatusOK {
				t.Fatalf("status = %d, want 200: %s", r.Status, r.Body)
			}
			verifySigned(t, owner, art, r)
		})
	}

	t.Run("client surfaces a 401 as AuthError", func(t *testing.T) {
		_, _, err := h.client(t, account{UserID: owner.UserID, APIKey: "wrong", OrgID: org}).Help.SelfTest(h.ctx(t))
		var ae *client.AuthError
		if !errors.As(err, &ae) || ae.Reason != "Bad mac" {
			t.Errorf("err = %v, want *client.AuthError with reason Bad mac", err)
		}
	})
}

func TestNonceStoreFull(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) { c.Nonces = hawk.NewMemoryNonceStore(1) })
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	if r, _ := h.signedDo(t, owner, http.MethodGet, selfTestPath, nil); r.Status != http.StatusOK {
		t.Fatalf("first request: status %d, want 200", r.Status)
	}
	req := h.rawRequest(allow5xx(h.ctx(t)), t, http.MethodGet, selfTestPath, nil)
	h.sign(t, req, owner, nil, nil)
	r := h.do(t, req)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q; want 503, 1", r.Status, r.Header.Get("Retry-After"))
	}
	if diff := cmp.Diff([]string{"The server is overloaded; retry shortly."}, errorsOf(t, r)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if got := h.counter(t, "aip_auth_failures_total", map[string]string{"reason": "replay cache full"}); got != 1 {
		t.Errorf("replay-cache-full failures counted %v, want 1", got)
	}
}
