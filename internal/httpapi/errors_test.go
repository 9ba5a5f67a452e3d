package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/httpapi"
)

const internalSecret = "secret internal state at /var/lib/aip"

// faultyStore breaks two store calls, one behind Hawk and one public, either
// by panicking or by failing with an error that must not reach clients.
type faultyStore struct {
	aip.Store
	panics bool
}

func (s faultyStore) fault() error {
	if s.panics {
		panic(internalSecret)
	}
	return errors.New(internalSecret)
}

func (s faultyStore) ListMembers(context.Context, string, bool) ([]*aip.Member, error) {
	return nil, s.fault()
}

func (s faultyStore) FindPendingInvite(context.Context, []byte) (*aip.Invite, error) {
	return nil, s.fault()
}

func TestUnmatchedRoutes(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)

	cases := []struct {
		name      string
		method    string
		target    string
		signed    bool
		status    int
		wantAllow string
		wantMsg   string
	}{
		{name: "answers 404 to an unknown path", method: http.MethodGet, target: "/nope", status: 404, wantMsg: "The resource was not found."},
		{name: "answers 404 to an unknown v2 path signed", method: http.MethodGet, target: "/v2/nope", signed: true, status: 404, wantMsg: "The resource was not found."},
		{name: "answers 404 to the root", method: http.MethodGet, target: "/", status: 404, wantMsg: "The resource was not found."},
		{name: "answers 404 to a trailing slash", method: http.MethodGet, target: "/v2/organizations/members/", signed: true, status: 404, wantMsg: "The resource was not found."},
		{name: "answers 404 to an empty docs asset", method: http.MethodGet, target: "/docs/", status: 404, wantMsg: "The resource was not found."},
		{name: "answers 404 to a missing docs asset", method: http.MethodGet, target: "/docs/nope.js", status: 404, wantMsg: "The resource was not found."},
		{name: "answers 404 to a doubled slash", method: http.MethodGet, target: "/v2//organizations/members", signed: true, status: 404, wantMsg: "The resource was not found."},
		{name: "answers 404 to a dot segment", method: http.MethodGet, target: "/help/hawk/./self-test", signed: true, status: 404, wantMsg: "The resource was not found."},
		{name: "answers 404 to a dot-dot segment", method: http.MethodPost, target: "/v2/organizations/members/../invites", signed: true, status: 404, wantMsg: "The resource was not found."},
		{name: "answers 405 to PATCH members", method: http.MethodPatch, target: "/v2/organizations/members", signed: true, status: 405,
			wantAllow: "GET, POST", wantMsg: "Method PATCH is not allowed on /v2/organizations/members."},
		{name: "answers 405 to GET invites", method: http.MethodGet, target: "/v2/organizations/invites", status: 405,
			wantAllow: "POST, PUT", wantMsg: "Method GET is not allowed on /v2/organizations/invites."},
		{name: "answers 405 to PUT a member", method: http.MethodPut, target: "/v2/organizations/members/" + owner.UserID, status: 405,
			wantAllow: "DELETE", wantMsg: "Method PUT is not allowed on /v2/organizations/members/" + owner.UserID + "."},
		{name: "answers 405 to GET invite accept", method: http.MethodGet, target: "/v2/organizations/invites/accept", status: 405,
			wantAllow: "POST", wantMsg: "Method GET is not allowed on /v2/organizations/invites/accept."},
		{name: "answers 405 to DELETE healthz", method: http.MethodDelete, target: "/healthz", status: 405,
			wantAllow: "GET", wantMsg: "Method DELETE is not allowed on /healthz."},
		{name: "answers 405 to an unknown method", method: "BREW", target: selfTestPath, status: 405,
			wantAllow: "GET", wantMsg: "Method BREW is not allowed on /help/hawk/self-test."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := h.rawRequest(h.ctx(t), t, tc.method, tc.target, nil)
			if tc.signed {
				h.sign(t, req, owner, nil, nil)
			}
			r := h.do(t, req)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if diff := cmp.Diff([]string{tc.wantMsg}, errorsOf(t, r)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if got := r.Header.Get("Allow"); got != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tc.wantAllow)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	const max = 1024
	h := newHarness(t, func(c *httpapi.Config) { c.MaxBodyBytes = max })
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	big := []byte(`{"token":"` + strings.Repeat("x", 2*max) + `"}`)
	wantMsg := []string{"The request body exceeds 1024 bytes."}

	for _, target := range []string{"/v2/organizations/members", "/v2/organizations/invites/accept"} {
		for _, chunked := range []bool{false, true} {
			name := "answers 413 to a declared oversized body on " + target
			if chunked {
				name = "answers 413 to a chunked oversized body on " + target
			}
			t.Run(name, func(t *testing.T) {
				req := h.rawRequest(h.ctx(t), t, http.MethodPost, target, nil)
				req.Header.Set("Content-Type", "application/json")
				if chunked {
					// A reader of unknown length makes the transport chunk.
					req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(big)))
					req.ContentLength = -1
				} else {
					req.Body = io.NopCloser(bytes.NewReader(big))
					req.ContentLength = int64(len(big))
				}
				h.sign(t, req, owner, big, nil)
				r := h.do(t, req)
				if r.Status != http.StatusRequestEntityTooLarge {
					t.Fatalf("status = %d, want 413: %s", r.Status, r.Body)
				}
				if diff := cmp.Diff(wantMsg, errorsOf(t, r)); diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
			})
		}
	}

	t.Run("accepts a body of exactly the limit", func(t *testing.T) {
		body := []byte(`{"token":"unknown"}`)
		body = append(body, bytes.Repeat([]byte(" "), max-len(body))...)
		req := h.rawRequest(h.ctx(t), t, http.MethodPost, "/v2/organizations/invites/accept", body)
		req.Header.Set("Content-Type", "application/json")
		if r := h.do(t, req); r.Status != http.StatusNotFound {
			t.Errorf("status = %d, want 404 (read, then no such invite): %s", r.Status, r.Body)
		}
	})
}

func TestInternalFailuresLeakNothing(t *testing.T) {
	for _, panics := range []bool{true, false} {
		kind := "error"
		if panics {
			kind = "panic"
		}
		h := newHarness(t, func(c *httpapi.Config) { c.Store = faultyStore{Store: c.Store, panics: panics} })
		org := h.newOrg(t, "acme")
		owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
		wantBody := `{"errors":["An internal error has occurred."]}`

		check := func(t *testing.T, r reply) {
			t.Helper()
			if r.Status != http.StatusInternalServerError {
				t.Fatalf("status = %d, want 500: %s", r.Status, r.Body)
			}
			if string(r.Body) != wantBody {
				t.Errorf("body = %s, want %s", r.Body, wantBody)
			}
			logMsg := "request failed"
			if panics {
				logMsg = "panic serving request"
			}
			id := r.Header.Get("X-Request-Id")
			found := false
			for _, rec := range h.logs.find(logMsg) {
				if rec.Attrs["request_id"] == id {
					found = true
				}
			}
			if id == "" || !found {
				t.Errorf("no %q log with request id %q: %+v", logMsg, id, h.logs.records())
			}
		}

		t.Run("answers a generic 500 to an authenticated "+kind, func(t *testing.T) {
			req := h.rawRequest(allow5xx(h.ctx(t)), t, http.MethodGet, "/v2/organizations/members", nil)
			art := h.sign(t, req, owner, nil, nil)
			r := h.do(t, req)
			check(t, r)
			verifySigned(t, owner, art, r)
		})
		t.Run("answers a generic 500 to a public "+kind, func(t *testing.T) {
			req := h.rawRequest(allow5xx(h.ctx(t)), t, http.MethodPost, "/v2/organizations/invites/accept", []byte(`{"token":"abc"}`))
			req.Header.Set("Content-Type", "application/json")
			check(t, h.do(t, req))
		})
		t.Run("records the failed request after a "+kind, func(t *testing.T) {
			h.flushAudit(t)
			recs, err := h.store.ListAuditRecords(h.ctx(t), aip.AuditFilter{OrgID: org, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || recs[0].Result != "failure" || recs[0].Action != "read-members" {
				t.Errorf("audit records = %+v, want one failed read-members", recs)
			}
		})
		t.Run("keeps serving after a "+kind, func(t *testing.T) {
			if ok, _, err := h.client(t, owner).Help.SelfTest(h.ctx(t)); err != nil || !ok {
				t.Errorf("self-test = %v, %v", ok, err)
			}
		})
	}
}

func TestPublicRoutes(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name       string
		target     string
		wantType   string
		wantInBody string
	}{
		{name: "serves healthz", target: "/healthz", wantType: "application/json; charset=utf-8", wantInBody: `{"status":"ok"}`},
		{name: "serves the spec", target: "/v2/openapi.yaml", wantType: "application/yaml", wantInBody: "openapi: 3.0.3"},
		{name: "serves the docs page", target: "/docs", wantType: "text/html; charset=utf-8", wantInBody: "/docs/redoc.standalone.js"},
		{name: "serves the docs page by name", target: "/docs/index.html", wantType: "text/html; charset=utf-8", wantInBody: "/docs/init.js"},
		{name: "serves the renderer", target: "/docs/redoc.standalone.js", wantType: "text/javascript; charset=utf-8"},
		{name: "serves a license", target: "/docs/redoc.LICENSE", wantType: "text/plain; charset=utf-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, h.rawRequest(h.ctx(t), t, http.MethodGet, tc.target, nil))
			if r.Status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Status, r.Body)
			}
			if got := r.Header.Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tc.wantType)
			}
			if !bytes.Contains(r.Body, []byte(tc.wantInBody)) {
				t.Errorf("body does not contain %q", tc.wantInBody)
			}
			if sa := r.Header.Get("Server-Authorization"); sa != "" {
				t.Errorf("public answer signed: %q", sa)
			}
		})
	}
}

func TestStaticFilesIgnoreRanges(t *testing.T) {
	h := newHarness(t)
	for _, target := range []string{"/docs/redoc.standalone.js", "/v2/openapi.yaml", "/docs"} {
		for _, rng := range []string{"bytes=0-9", "bytes=999999999-", "bytes=oops"} {
			t.Run("serves "+target+" whole for Range "+rng, func(t *testing.T) {
				full := h.do(t, h.rawRequest(h.ctx(t), t, http.MethodGet, target, nil))
				req := h.rawRequest(h.ctx(t), t, http.MethodGet, target, nil)
				req.Header.Set("Range", rng)
				r := h.do(t, req)
				if r.Status != http.StatusOK || !bytes.Equal(r.Body, full.Body) {
					t.Errorf("status = %d with %d bytes, want 200 with all %d bytes", r.Status, len(r.Body), len(full.Body))
				}
			})
		}
	}
}
