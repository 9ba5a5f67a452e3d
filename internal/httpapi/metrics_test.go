package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/ratelimit"
)

func TestMetrics(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) {
		c.OrgLimit = ratelimit.PerMinute(1)
		c.IPLimit = ratelimit.PerMinute(9)
	})
	org := h.newOrg(t, "acme")
	other := h.newOrg(t, "other")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)

	steps := []struct {
		method, target string
		auth           func(req *http.Request)
		status         int
	}{
		{http.MethodGet, selfTestPath, func(r *http.Request) { h.sign(t, r, owner, nil, nil) }, 200},
		{http.MethodGet, selfTestPath, func(r *http.Request) { h.sign(t, r, owner, nil, nil) }, 429},
		{http.MethodGet, selfTestPath, nil, 401},
		{http.MethodGet, selfTestPath, func(r *http.Request) {
			h.sign(t, r, account{UserID: owner.UserID, APIKey: "wrong", OrgID: org}, nil, nil)
		}, 401},
		{http.MethodGet, selfTestPath, func(r *http.Request) {
			r.Header.Set("Authorization", `Hawk id="a", ts="1", nonce="n", mac="m", attacker_chosen_1="x"`)
		}, 400},
		{http.MethodGet, selfTestPath, func(r *http.Request) {
			h.sign(t, r, owner, nil, func(a *hawk.Artifacts) { a.Ext = other })
		}, 403},
		{http.MethodGet, "/nope", nil, 404},
		{"BREW", selfTestPath, nil, 405},
		{http.MethodGet, "/v2/openapi.yaml", nil, 200},
		{http.MethodGet, "/healthz", nil, 200}, // exempt from the IP limit
		{http.MethodGet, "/v2/openapi.yaml", nil, 429},
	}
	for i, st := range steps {
		req := h.rawRequest(h.ctx(t), t, st.method, st.target, nil)
		if st.auth != nil {
			st.auth(req)
		}
		if r := h.do(t, req); r.Status != st.status {
			t.Fatalf("step %d %s %s: status %d, want %d: %s", i, st.method, st.target, r.Status, st.status, r.Body)
		}
	}

	cases := []struct {
		name   string
		metric string
		want   string
	}{
		{name: "counts requests by route, method and status", metric: "aip_http_requests_total", want: `
# HELP aip_http_requests_total HTTP requests by route pattern, method ("other" for non-standard ones) and status.
# TYPE aip_http_requests_total counter
aip_http_requests_total{method="GET",route="GET /help/hawk/self-test",status="200"} 1
aip_http_requests_total{method="GET",route="GET /help/hawk/self-test",status="400"} 1
aip_http_requests_total{method="GET",route="GET /help/hawk/self-test",status="401"} 2
aip_http_requests_total{method="GET",route="GET /help/hawk/self-test",status="403"} 1
aip_http_requests_total{method="GET",route="GET /help/hawk/self-test",status="429"} 1
aip_http_requests_total{method="GET",route="GET /healthz",status="200"} 1
aip_http_requests_total{method="GET",route="GET /v2/openapi.yaml",status="200"} 1
aip_http_requests_total{method="GET",route="GET /v2/openapi.yaml",status="429"} 1
aip_http_requests_total{method="GET",route="unmatched",status="404"} 1
aip_http_requests_total{method="other",route="unmatched",status="405"} 1
`},
		{name: "counts authentication failures by bounded reason", metric: "aip_auth_failures_total", want: `
# HELP aip_auth_failures_total Requests refused by authentication, by reason.
# TYPE aip_auth_failures_total counter
aip_auth_failures_total{reason="Bad mac"} 1
aip_auth_failures_total{reason="Missing authentication"} 1
aip_auth_failures_total{reason="Unknown attribute"} 1
aip_auth_failures_total{reason="not a member"} 1
`},
		{name: "counts 429s by limit", metric: "aip_rate_limited_total", want: `
# HELP aip_rate_limited_total Requests answered 429, by limit (ip or org).
# TYPE aip_rate_limited_total counter
aip_rate_limited_total{limit="ip"} 1
aip_rate_limited_total{limit="org"} 1
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := testutil.GatherAndCompare(h.reg, strings.NewReader(tc.want), tc.metric); err != nil {
				t.Error(err)
			}
		})
	}

	t.Run("times requests by route", func(t *testing.T) {
		n, err := testutil.GatherAndCount(h.reg, "aip_http_request_duration_seconds")
		if err != nil {
			t.Fatal(err)
		}
		// One histogram per route seen: self-test, healthz, openapi, unmatched.
		if n != 4 {
			t.Errorf("%d duration series, want 4", n)
		}
	})
}

func TestMetricsRejectDuplicateRegistration(t *testing.T) {
	h := newHarness(t)
	if _, err := httpapi.NewMetrics(h.reg); err == nil {
		t.Error("NewMetrics registered the same collectors twice without error")
	}
}
