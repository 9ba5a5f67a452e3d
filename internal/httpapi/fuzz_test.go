package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/ratelimit"
)

// validMethod reports whether m is an HTTP token, as net/http's server
// requires before a handler ever sees the request.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether net/http's server would accept v.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// FuzzAPIRequest sends arbitrary requests, optionally with a valid Hawk
// signature over whatever was fuzzed, through the whole handler: the answer
// must never be a 5xx, and every error must be the JSON error body.
func FuzzAPIRequest(f *testing.F) {
	h := newHarness(f, func(c *httpapi.Config) {
		c.MaxBodyBytes = 4096
		c.Mailer = nil
		c.Logger = slog.New(slog.DiscardHandler)
		// The fuzzer must reach the handlers, not the limits.
		c.OrgLimit = ratelimit.PerMinute(1 << 30)
		c.IPLimit = ratelimit.PerMinute(1 << 30)
		c.Nonces = hawk.NewMemoryNonceStore(1 << 24)
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})
	org := h.newOrg(f, "acme")
	owner := h.newAccount(f, org, "owner@acme.example", aip.RoleOwner)
	reader := h.newAccount(f, org, "reader@acme.example", aip.RoleReader)
	ts := strconv.FormatInt(h.clock.Now().Unix(), 10)
	rs := &aip.Ruleset{OrgID: org, Name: "Fuzz"}
	if err := h.store.CreateRuleset(context.Background(), rs); err != nil {
		f.Fatal(err)
	}
	rl := &aip.Rule{OrgID: org, RulesetID: rs.ID, Name: "r", Type: "Host", Title: "t", SeverityOfAlerts: 1,
		AlertDescription: "d", Filter: "user = 1", Enabled: true}
	if err := h.store.CreateRule(context.Background(), rl); err != nil {
		f.Fatal(err)
	}
	rulesPath := "/v2/rulesets/" + rs.ID + "/rules"
	ag := &aip.Agent{ID: aip.NewUUID(), OrgID: org, CreatedAt: aip.Time{Time: h.clock.Now()}, LastReportedAt: aip.Time{Time: h.clock.Now()},
		AgentHost: aip.AgentHost{Hostname: "h", AgentType: aip.AgentTypeMonitor}}
	if err := h.store.CreateAgent(context.Background(), ag, []byte("sealed"), nil); err != nil {
		f.Fatal(err)
	}
	al := &aip.Alert{OrgID: org, Title: "t", DataSource: aip.DataSourceAgent, CreatedAt: aip.Time{Time: h.clock.Now()},
		Severity: 1, AgentID: ag.ID, RuleID: rl.ID, RulesetID: rs.ID, ExpiresAt: aip.Time{Time: h.clock.Now().Add(time.Hour)}}
	if err := h.store.CreateAlert(context.Background(), al, nil, nil); err != nil {
		f.Fatal(err)
	}

	const host = "api.example.com"
	seeds := []struct {
		method, target, auth, ctype string
		body                        string
		sign                        bool
	}{
		{"GET", selfTestPath, "", "", "", true},
		{"GET", selfTestPath, "", "", "", false},
		{"GET", selfTestPath, "Basic dXNlcjpwYXNz", "", "", false},
		{"GET", selfTestPath, "Hawk", "", "", false},
		{"GET", selfTestPath, `Hawk id="a", id="b", ts="1", nonce="n", mac="m"`, "", "", false},
		{"GET", selfTestPath, `Hawk id="a", ts="1", nonce="n", mac="m", foo="bar"`, "", "", false},
		{"GET", selfTestPath, `Hawk id="` + owner.UserID + `", ts="abc", nonce="n", mac="m"`, "", "", false},
		{"GET", selfTestPath, `Hawk id="` + owner.UserID + `", ts="` + ts + `", nonce="n", ext="` + org + `", mac="bad"`, "", "", false},
		{"GET", selfTestPath, `Hawk id="a", ts="1", nonce="n", mac="m", ext="` + strings.Repeat("x", 5000) + `"`, "", "", false},
		{"POST", "/v2/organizations/members", "", "application/json", `{"id":"` + reader.UserID + `","role":"owner","x":1}`, true},
		{"POST", "/v2/organizations/members", "", "application/json", `{"id":"` + reader.UserID + `","role":"user"} {}`, true},
		{"POST", "/v2/organizations/members", "", "application/json", `{"id":`, true},
		{"POST", "/v2/organizations/members", "", "application/json", strings.Repeat("x", 5000), true},
		{"DELETE", "/v2/organizations/members/" + owner.UserID, "", "", "", true},
		{"DELETE", "/v2/organizations/members/%2e%2e", "", "", "", true},
		{"PUT", "/v2/organizations/invites", "", "application/json", `{"email":"a@b.example","role":"user"}`, true},
		{"POST", "/v2/organizations/invites", "", "application/json; charset=utf-8", `{"email":"Ada <a@b>","role":"user"}`, true},
		{"POST", "/v2/organizations/invites/accept", "", "application/json", `{"token":"abc","displayName":"x"}`, false},
		{"GET", "/v2/auditlogs?from=2022-13-01&until=x", "", "", "", true},
		{"GET", "/v2/auditlogs?from=2022-09-05&until=2022-09-01", "", "", "", true},
		{"GET", "/v2/auditlogs?token=AAAA&operation=read", "", "", "", true},
		{"GET", "/v2/auditlogs?userID=" + owner.UserID + "&from=2025-06-01T10:00:00.123456789%2B02:00", "", "", "", true},
		{"GET", "/v2/organizations/members?enabledOnly=maybe", "", "", "", true},
		{"GET", "/v2//organizations/./members/..", "", "", "", true},
		{"GET", "/v2/rulesets?agentId=" + rs.ID, "", "", "", true},
		{"POST", "/v2/rulesets", "", "application/json", `{"name":"n","ruleIds":["` + rl.ID + `"],"id":1}`, true},
		{"PUT", "/v2/rulesets/" + rs.ID, "", "application/json", `{"name":"Fuzz","rules":["x"]}`, true},
		{"DELETE", "/v2/rulesets/" + rs.ID, "", "application/json", `{"server_ids":[]}`, true},
		{"POST", rulesPath, "", "application/json", `{"name":"n","type":"file","title":"t","severityOfAlerts":"2","alertDescription":"d","enabled":true,` +
			`"fileIntegrityPaths":[{"path":"/etc","recursive":true}],"eventsToMonitor":["all"],"aggregateFields":["rule_id"]}`, true},
		{"PUT", rulesPath + "/" + rl.ID, "", "application/json", `{"name":"n","type":"HOST","title":"t","severityOfAlerts":1,"alertDescription":"d","enabled":true,"filter":"a in (\"x\"","id":"y"}`, true},
		{"DELETE", rulesPath + "/" + rl.ID, "", "", "", true},
		{"POST", "/v2/rules/" + rl.ID + "/tags", "", "application/json", `{"inclusion":[{"key":"k"}],"exclusion":null}`, true},
		{"GET", "/v2/rules/" + rl.ID + "/tags", "", "", "", true},
		{"GET", "/v2/agents?status=online&type=monitor&from=2025-06-01&until=2025-06-03", "", "", "", true},
		{"GET", "/v2/agents?status=asleep", "", "", "", true},
		{"GET", "/v2/agents/" + ag.ID, "", "", "", true},
		{"GET", "/v2/alerts?status=active&severity=1&ruleId=" + rl.ID + "&rulesetId=" + rs.ID, "", "", "", true},
		{"GET", "/v2/alerts?status=dismissed&severity1", "", "", "", true},
		{"GET", "/v2/alerts/" + al.ID, "", "", "", true},
		{"GET", "/v2/alerts/" + al.ID + "/events?token=AAAA", "", "", "", true},
		{"GET", "/v2/alerts/severity-counts?from=2025-06-01&status=dismissed", "", "", "", true},
		{"POST", "/v2/alerts/dismiss", "", "application/json", `{"ids":["` + al.ID + `"],"dismissReason":"OTHER","dismissReasonText":"x"}`, true},
		{"POST", "/v2/alerts/dismiss", "", "application/json", `{"from":"2025-06-01","until":"2025-06-03","severity":1,"ruleID":"a","ruleId":"a","dismissReason":"MAINTENANCE"}`, true},
		{"BREW", selfTestPath, "", "", "", false},
		{"GET", "/docs/..%2f..%2fetc%2fpasswd", "", "", "", false},
		{"GET", "*", "", "", "", false},
		{"GET", "/healthz", "", "", "", false},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, host, s.auth, s.ctype, "198.51.100.7, 192.0.2.9", []byte(s.body), s.sign)
	}

	f.Fuzz(func(t *testing.T, method, target, hostHeader, auth, ctype, xff string, body []byte, sign bool) {
		if !validMethod(method) || !validHeaderValue(auth) || !validHeaderValue(ctype) ||
			!validHeaderValue(xff) || !validHeaderValue(hostHeader) {
			t.Skip("net/http rejects this request before any handler")
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Skip("net/http rejects this request-target")
		}
		req := &http.Request{
			Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: hostHeader, RemoteAddr: "192.0.2.1:40000",
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		}
		if u.Host != "" {
			req.Host = u.Host
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		if sign {
			sh, sp, err := hawk.SplitHostPort(req.Host, "80")
			if err != nil {
				sh, sp = req.Host, "80"
			}
			art := &hawk.Artifacts{Method: method, Resource: target, Host: sh, Port: sp, TS: ts, Ext: org}
			if len(body) > 0 {
				art.Hash = hawk.PayloadHash(ctype, body)
			}
			auth = hawk.Credentials{ID: owner.UserID, Key: []byte(owner.APIKey)}.RequestHeader(art)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}

		rec := httptest.NewRecorder()
		h.srv.ServeHTTP(rec, req)
		resp := rec.Result()
		resp.Request = req
		checkInvariants(t, req, u.Path, resp, rec.Body.Bytes())
	})
}
