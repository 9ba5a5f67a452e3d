package httpapi

import "net/http"

// newRouteTable is the whole API surface, one line per route. Public routes
// skip Hawk; authenticated ones name the audit crud and action they record.
func (s *Server) newRouteTable() *routeTable {
	t := &routeTable{mux: http.NewServeMux()}
	// The catch-all turns the mux's plain-text 404/405 into JSON errors.
	t.mux.HandleFunc("/", s.unmatched)

	t.public("GET /healthz", s.healthz)
	t.public("GET /v2/openapi.yaml", s.openAPISpec)
	t.public("GET /docs", s.docsIndex)
	t.public("GET /docs/{asset}", s.docsAsset)
	t.public("POST /v2/organizations/invites/accept", s.acceptInvite)

	// The agent ingest API: enrollment is authenticated by the deploy key
	// in the body, the rest by the agent's own Hawk credentials.
	t.public("POST /agent/v1/enroll", s.enrollAgent)
	t.authed("POST /agent/v1/heartbeat", s.agentAuth(s.agentHeartbeat))
	t.authed("POST /agent/v1/events", s.agentAuth(s.ingestEvents))
	t.authed("PUT /agent/v1/packages", s.agentAuth(s.putPackages))
	t.authed("GET /agent/v1/config", s.agentAuth(s.getAgentConfig))

	t.authed("GET /help/hawk/self-test", s.auth("read", "read-hawk-self-test", s.selfTest))
	t.authed("GET /v2/organizations/members", s.auth("read", "read-members", s.listMembers))
	t.authed("POST /v2/organizations/members", s.auth("create", "create-member", s.addMember))
	t.authed("DELETE /v2/organizations/members/{userId}", s.auth("delete", "user-revoke", s.removeMember))
	t.authed("PUT /v2/organizations/invites", s.auth("create", "user-invite", s.invite))
	t.authed("POST /v2/organizations/invites", s.auth("create", "user-invite", s.invite))
	t.authed("GET /v2/auditlogs", s.auth("read", "read-auditlogs", s.listAuditLogs))

	t.authed("GET /v2/agents", s.auth("read", "read-agents", s.listAgents))
	t.authed("GET /v2/agents/{agentId}", s.auth("read", "read-agent", s.getAgent))
	t.authed("GET /v2/alerts", s.auth("read", "read-alerts", s.listAlerts))
	// The mux prefers these literal paths to /v2/alerts/{alertId}.
	t.authed("GET /v2/alerts/severity-counts", s.auth("read", "read-alert-severity-counts", s.alertSeverityCounts))
	t.authed("POST /v2/alerts/dismiss", s.auth("update", "dismiss-alerts", s.dismissAlerts))
	t.authed("GET /v2/alerts/{alertId}", s.auth("read", "read-alert", s.getAlert))
	t.authed("GET /v2/alerts/{alertId}/events", s.auth("read", "read-alert-events", s.listAlertEvents))

	t.authed("GET /v2/rulesets", s.auth("read", "read-rulesets", s.listRulesets))
	t.authed("POST /v2/rulesets", s.auth("create", "create-ruleset", s.rulesChanged(s.createRuleset)))
	t.authed("GET /v2/rulesets/{rulesetId}", s.auth("read", "read-ruleset", s.getRuleset))
	t.authed("PUT /v2/rulesets/{rulesetId}", s.auth("update", "update-ruleset", s.rulesChanged(s.updateRuleset)))
	t.authed("DELETE /v2/rulesets/{rulesetId}", s.auth("delete", "delete-ruleset", s.rulesChanged(s.deleteRuleset)))
	t.authed("GET /v2/rulesets/{rulesetId}/rules", s.auth("read", "read-rules", s.listRules))
	t.authed("POST /v2/rulesets/{rulesetId}/rules", s.auth("create", "create-rule", s.rulesChanged(s.createRule)))
	t.authed("GET /v2/rulesets/{rulesetId}/rules/{ruleId}", s.auth("read", "read-rule", s.getRule))
	t.authed("PUT /v2/rulesets/{rulesetId}/rules/{ruleId}", s.auth("update", "update-rule", s.rulesChanged(s.updateRule)))
	t.authed("DELETE /v2/rulesets/{rulesetId}/rules/{ruleId}", s.auth("delete", "delete-rule", s.rulesChanged(s.deleteRule)))
	t.authed("GET /v2/rules/{ruleId}/tags", s.auth("read", "read-rule-tags", s.getRuleTags))
	t.authed("POST /v2/rules/{ruleId}/tags", s.auth("update", "update-rule-tags", s.setRuleTags))

	t.authed("GET /v2/vulnerabilities", s.auth("read", "read-vulnerabilities", s.listVulnerabilities))
	// Literal segments win over {cveNumber}, so these shadow it.
	t.authed("GET /v2/vulnerabilities/suppressions", s.auth("read", "read-vuln-suppressions", s.listSuppressions))
	t.authed("POST /v2/vulnerabilities/suppressions", s.auth("create", "create-vuln-suppression", s.createSuppression))
	t.authed("DELETE /v2/vulnerabilities/suppressions/{suppressionId}", s.auth("delete", "delete-vuln-suppression", s.deleteSuppression))
	t.authed("GET /v2/vulnerabilities/package/{package}", s.auth("read", "read-package-vulnerabilities", s.listPackageVulns))
	t.authed("GET /v2/vulnerabilities/package/{package}/suppressed", s.auth("read", "read-package-vulnerabilities", s.listPackageSuppressed))
	t.authed("GET /v2/vulnerabilities/agent/{agentId}", s.auth("read", "read-agent-vulnerabilities", s.listAgentCVEs))
	t.authed("GET /v2/vulnerabilities/agent/{agentId}/suppressed", s.auth("read", "read-agent-vulnerabilities", s.listAgentSuppressedCVEs))
	t.authed("GET /v2/vulnerabilities/server/{hostname}", s.auth("read", "read-server-vulnerabilities", s.listServerCVEs))
	t.authed("GET /v2/vulnerabilities/server/{hostname}/suppressed", s.auth("read", "read-server-vulnerabilities", s.listServerSuppressedCVEs))
	t.authed("GET /v2/vulnerabilities/{cveNumber}", s.auth("read", "read-vulnerability", s.getVulnerability))
	// {cveNumber}/servers would conflict with package/{package} and its
	// siblings in the mux; a {sub} wildcard does not, and the table records
	// the documented path.
	t.authedAs("GET /v2/vulnerabilities/{cveNumber}/{sub}", "/v2/vulnerabilities/{cveNumber}/servers",
		s.auth("read", "read-vulnerability-servers", s.vulnSubresource))

	t.authed("GET /v2/aws/ec2", s.auth("read", "read-ec2", s.listEC2))
	// {$}: the trailing-slash alias (the Python client's) is one path, not
	// a subtree.
	t.authedAs("GET /v2/aws/ec2/{$}", "/v2/aws/ec2/", s.auth("read", "read-ec2", s.listEC2))

	t.authed("GET /v2/integrations/webhooks", s.auth("read", "read-webhooks", s.listWebhooks))
	t.authed("POST /v2/integrations/webhooks", s.auth("create", "create-webhook", s.createWebhook))
	t.authed("DELETE /v2/integrations/webhooks/{webhookId}", s.auth("delete", "delete-webhook", s.deleteWebhook))

	// S3 export: every role reads; the handlers let only owners write.
	t.authed("GET /v2/integrations/s3export", s.auth("read", "read-s3-export-enrollments", s.listS3Enrollments))
	t.authed("PUT /v2/integrations/s3export", s.auth("update", "update-s3-export-enrollment", s.putS3Enrollment))
	t.authed("DELETE /v2/integrations/s3export", s.auth("delete", "delete-s3-export-enrollment", s.deleteS3Enrollment))

	return t
}

// rulesChanged wraps a handler that changes rules or rulesets: once it
// succeeded, the organization's cached rule engine is dropped so that the
// next event batch sees the change.
func (s *Server) rulesChanged(h authedHandler) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		h(w, r, p)
		if bw, ok := w.(*bufferedWriter); !ok || bw.status < 300 {
			s.pipeline.invalidate(p.OrgID)
		}
	}
}

// Route is one registered route, exported to tests that compare the table
// with api/openapi.yaml.
type Route struct {
	Method, Path  string
	Authenticated bool
}

// routeTable is an http.ServeMux that remembers what was registered.
type routeTable struct {
	mux    *http.ServeMux
	routes []Route
}

func (t *routeTable) add(pattern string, authenticated bool, h http.Handler) {
	t.mux.Handle(pattern, h)
	var method, path string
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == ' ' {
			method, path = pattern[:i], pattern[i+1:]
			break
		}
	}
	t.routes = append(t.routes, Route{Method: method, Path: path, Authenticated: authenticated})
}

func (t *routeTable) public(pattern string, h http.HandlerFunc) { t.add(pattern, false, h) }

func (t *routeTable) authed(pattern string, h http.Handler) { t.add(pattern, true, h) }

// authedAs registers an authenticated mux pattern that serves the
// documented path; the table records the documented one.
func (t *routeTable) authedAs(pattern, documented string, h http.Handler) {
	t.add(pattern, true, h)
	t.routes[len(t.routes)-1].Path = documented
}

// Routes lists every registered route in registration order.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes.routes...) }
