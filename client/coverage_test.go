package client

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/api"
)

// outOfScope are the documented routes the client deliberately does not
// call, with the reason.
var outOfScope = map[string]string{
	"GET /healthz":                   "load balancer probe, not part of the API a user calls",
	"GET /docs":                      "documentation page for browsers",
	"GET /docs/{asset}":              "documentation page assets",
	"GET /v2/openapi.yaml":           "the contract itself, fetched by tools, not an operation",
	"POST /v2/organizations/invites": "alias of PUT /v2/organizations/invites, which InvitesService.Send uses",
	"POST /agent/v1/enroll":          "agent ingest API, spoken by agents, not users",
	"POST /agent/v1/heartbeat":       "agent ingest API, spoken by agents, not users",
	"POST /agent/v1/events":          "agent ingest API, spoken by agents, not users",
	"PUT /agent/v1/packages":         "agent ingest API, spoken by agents, not users",
	"GET /agent/v1/config":           "agent ingest API, spoken by agents, not users",
	"GET /v2/aws/ec2/":               "alias of GET /v2/aws/ec2, which EC2Service.List uses",
}

// muxPatterns are the documented routes that http.ServeMux cannot hold as
// written (they conflict with package/{package} and its siblings), with the
// pattern the server registers instead.
var muxPatterns = map[string]string{
	"GET /v2/vulnerabilities/{cveNumber}/servers": "GET /v2/vulnerabilities/{cveNumber}/{sub}",
}

// TestClientCoversEveryRoute calls one client method per route of
// api/openapi.yaml (which internal/httpapi's TestRoutesMatchSpec keeps equal
// to the server's route table) and checks which route pattern each request
// matched, so a new server route without a client method fails here.
func TestClientCoversEveryRoute(t *testing.T) {
	ops, err := api.Operations()
	if err != nil {
		t.Fatalf("api.Operations: %v", err)
	}
	mux := http.NewServeMux()
	want := map[string]bool{}
	for _, op := range ops {
		pattern := op.Method + " " + op.Path
		registered := pattern
		if p, ok := muxPatterns[pattern]; ok {
			registered = p
		}
		mux.Handle(registered, http.NotFoundHandler())
		if _, skip := outOfScope[pattern]; !skip {
			want[pattern] = true
		}
	}
	// matched is the route pattern of each request, in order.
	var (
		mu      sync.Mutex
		matched []string
	)
	f := newFake(t, func(_ int, r *http.Request, _ []byte) reply {
		_, pattern := mux.Handler(r)
		for documented, registered := range muxPatterns {
			if pattern == registered {
				pattern = documented
			}
		}
		mu.Lock()
		matched = append(matched, pattern)
		mu.Unlock()
		return reply{body: "{}"}
	})
	c := f.client()
	ctx := context.Background()
	const id24, uuid = "5d1fa0e1c2b3a4f5e6d7c8b9", "3b0f6c1e-8a2d-4f5e-9c7b-1a2b3c4d5e6f"
	// calls maps each in-scope route to the client method that reaches it.
	// Decoding errors of the fake's "{}" answers do not matter here: the
	// services' own tests check their answers.
	calls := map[string]func(){
		"GET /help/hawk/self-test":                       func() { c.Help.SelfTest(ctx) },
		"GET /v2/organizations/members":                  func() { c.Members.List(ctx, nil) },
		"POST /v2/organizations/members":                 func() { c.Members.Add(ctx, id24, aip.RoleReader) },
		"DELETE /v2/organizations/members/{userId}":      func() { c.Members.Remove(ctx, id24) },
		"PUT /v2/organizations/invites":                  func() { c.Invites.Send(ctx, "a@example.com", aip.RoleReader) },
		"POST /v2/organizations/invites/accept":          func() { c.Invites.Accept(ctx, "token", "A") },
		"GET /v2/auditlogs":                              func() { c.AuditLogs.List(ctx, nil) },
		"GET /v2/agents":                                 func() { c.Agents.List(ctx, nil) },
		"GET /v2/agents/{agentId}":                       func() { c.Agents.Get(ctx, id24) },
		"GET /v2/alerts":                                 func() { c.Alerts.List(ctx, nil) },
		"GET /v2/alerts/severity-counts":                 func() { c.Alerts.SeverityCounts(ctx, nil) },
		"POST /v2/alerts/dismiss":                        func() { c.Alerts.Dismiss(ctx, &DismissRequest{IDs: []string{uuid}}) },
		"GET /v2/alerts/{alertId}":                       func() { c.Alerts.Get(ctx, uuid) },
		"GET /v2/alerts/{alertId}/events":                func() { c.Alerts.Events(ctx, uuid, "") },
		"GET /v2/rulesets":                               func() { c.Rulesets.List(ctx, nil) },
		"POST /v2/rulesets":                              func() { c.Rulesets.Create(ctx, &RulesetRequest{Name: "r"}) },
		"GET /v2/rulesets/{rulesetId}":                   func() { c.Rulesets.Get(ctx, uuid) },
		"PUT /v2/rulesets/{rulesetId}":                   func() { c.Rulesets.Update(ctx, uuid, &RulesetRequest{Name: "r"}) },
		"DELETE /v2/rulesets/{rulesetId}":                func() { c.Rulesets.Delete(ctx, uuid) },
		"GET /v2/rulesets/{rulesetId}/rules":             func() { c.Rules.List(ctx, uuid) },
		"POST /v2/rulesets/{rulesetId}/rules":            func() { c.Rules.Create(ctx, uuid, &aip.Rule{}) },
		"GET /v2/rulesets/{rulesetId}/rules/{ruleId}":    func() { c.Rules.Get(ctx, uuid, uuid) },
		"PUT /v2/rulesets/{rulesetId}/rules/{ruleId}":    func() { c.Rules.Update(ctx, uuid, uuid, &aip.Rule{}) },
		"DELETE /v2/rulesets/{rulesetId}/rules/{ruleId}": func() { c.Rules.Delete(ctx, uuid, uuid) },
		"GET /v2/rules/{ruleId}/tags":                    func() { c.Tags.Get(ctx, uuid) },
		"POST /v2/rules/{ruleId}/tags":                   func() { c.Tags.Set(ctx, uuid, aip.TagSet{}) },
		"GET /v2/integrations/webhooks":                  func() { c.Webhooks.List(ctx) },
		"POST /v2/integrations/webhooks": func() {
			c.Webhooks.Create(ctx, &WebhookRequest{URL: "https://x.example.com", Secret: strings.Repeat("s", 16)})
		},
		"DELETE /v2/integrations/webhooks/{webhookId}":         func() { c.Webhooks.Delete(ctx, uuid) },
		"GET /v2/integrations/s3export":                        func() { c.S3Export.List(ctx) },
		"PUT /v2/integrations/s3export":                        func() { c.S3Export.Put(ctx, &S3EnrollmentRequest{S3Bucket: "b"}) },
		"DELETE /v2/integrations/s3export":                     func() { c.S3Export.Delete(ctx, "b") },
		"GET /v2/vulnerabilities":                              func() { c.Vulnerabilities.List(ctx, nil) },
		"GET /v2/vulnerabilities/{cveNumber}":                  func() { c.Vulnerabilities.Get(ctx, "CVE-2024-1234") },
		"GET /v2/vulnerabilities/{cveNumber}/servers":          func() { c.Vulnerabilities.Servers(ctx, "CVE-2024-1234", "") },
		"GET /v2/vulnerabilities/package/{package}":            func() { c.Vulnerabilities.ByPackage(ctx, "openssl", false) },
		"GET /v2/vulnerabilities/package/{package}/suppressed": func() { c.Vulnerabilities.ByPackage(ctx, "openssl", true) },
		"GET /v2/vulnerabilities/agent/{agentId}":              func() { c.Vulnerabilities.ByAgent(ctx, uuid, false) },
		"GET /v2/vulnerabilities/agent/{agentId}/suppressed":   func() { c.Vulnerabilities.ByAgent(ctx, uuid, true) },
		"GET /v2/vulnerabilities/server/{hostname}":            func() { c.Vulnerabilities.ByServer(ctx, "web-1", false) },
		"GET /v2/vulnerabilities/server/{hostname}/suppressed": func() { c.Vulnerabilities.ByServer(ctx, "web-1", true) },
		"GET /v2/vulnerabilities/suppressions":                 func() { c.Suppressions.List(ctx) },
		"POST /v2/vulnerabilities/suppressions": func() {
			c.Suppressions.Create(ctx, &SuppressionRequest{CVENumber: "CVE-2024-1234", Reason: "r"})
		},
		"DELETE /v2/vulnerabilities/suppressions/{suppressionId}": func() { c.Suppressions.Delete(ctx, uuid) },
		"GET /v2/aws/ec2": func() { c.EC2.List(ctx, nil) },
	}

	t.Run("every /v2 and /help route has a client method", func(t *testing.T) {
		got := map[string]bool{}
		for route := range calls {
			got[route] = true
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("routes of api/openapi.yaml (-want) vs client table (+got):\n%s", diff)
		}
	})
	t.Run("every excluded route is documented", func(t *testing.T) {
		documented := map[string]bool{}
		for _, op := range ops {
			documented[op.Method+" "+op.Path] = true
		}
		for route := range outOfScope {
			if !documented[route] {
				t.Errorf("excluded route %s is not in api/openapi.yaml: drop it from outOfScope", route)
			}
		}
	})
	for route, call := range calls {
		t.Run("method for "+route+" reaches it", func(t *testing.T) {
			mu.Lock()
			matched = nil
			mu.Unlock()
			call()
			mu.Lock()
			got := matched
			mu.Unlock()
			if diff := cmp.Diff([]string{route}, got); diff != "" {
				t.Errorf("matched routes (-want +got):\n%s", diff)
			}
		})
	}
}
