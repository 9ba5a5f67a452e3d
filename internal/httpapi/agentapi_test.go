package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/rules"
)

// newAgentOrg creates an organization with its Base Rule Set and a deploy
// key, the way `aipd admin` does.
func (h *harness) newAgentOrg(t testing.TB, name string) (orgID, deployKey string) {
	t.Helper()
	ctx := context.Background()
	org, err := app.CreateOrganization(ctx, h.store, name)
	if err != nil {
		t.Fatalf("create organization: %v", err)
	}
	key, err := app.CreateDeployKey(ctx, h.store, org.ID)
	if err != nil {
		t.Fatalf("create deploy key: %v", err)
	}
	return org.ID, key
}

// enroll posts an enrollment and returns the answer.
func (h *harness) enroll(t testing.TB, body any) reply {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := h.rawRequest(h.ctx(t), t, http.MethodPost, "/agent/v1/enroll", b)
	req.Header.Set("Content-Type", "application/json")
	return h.do(t, req)
}

// enrollAgent enrolls an agent with the default rulesets and returns its
// credentials as an account (no ext: agents sign without one).
func (h *harness) enrollAgent(t testing.TB, deployKey, hostname string) account {
	t.Helper()
	r := h.enroll(t, map[string]any{"deployKey": deployKey, "hostname": hostname, "version": "3.0.0"})
	if r.Status != http.StatusOK {
		t.Fatalf("enroll: %d %s", r.Status, r.Body)
	}
	var e struct{ AgentID, AgentKey string }
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("enroll answer: %v", err)
	}
	return account{UserID: e.AgentID, APIKey: e.AgentKey}
}

// agentPost sends a Hawk-signed agent request with the given body, content
// type and encoding, and checks the signature of any authenticated answer.
func (h *harness) agentPost(t testing.TB, ctx context.Context, a account, path string, body []byte, ct, ce string) reply {
	t.Helper()
	req := h.rawRequest(ctx, t, http.MethodPost, path, body)
	req.Header.Set("Content-Type", ct)
	if ce != "" {
		req.Header.Set("Content-Encoding", ce)
	}
	art := h.sign(t, req, a, body, nil)
	r := h.do(t, req)
	if r.Status != http.StatusUnauthorized && r.Status != http.StatusRequestEntityTooLarge {
		verifySigned(t, a, art, r)
	}
	return r
}

// ingestAnswer is the 202 body of POST /agent/v1/events.
type ingestAnswer struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   []struct {
		Index int    `json:"index"`
		Error string `json:"error"`
	} `json:"rejected"`
}

func (h *harness) sendEvents(t testing.TB, a account, evs []string) ingestAnswer {
	t.Helper()
	body := []byte("[" + strings.Join(evs, ",") + "]")
	r := h.agentPost(t, h.ctx(t), a, "/agent/v1/events", body, "application/json", "")
	if r.Status != http.StatusAccepted {
		t.Fatalf("events: %d %s", r.Status, r.Body)
	}
	var ans ingestAnswer
	if err := json.Unmarshal(r.Body, &ans); err != nil {
		t.Fatalf("events answer: %v", err)
	}
	return ans
}

var eventSeq int

// agentEvent is an event in the envelope of rules-events.md §3.2 (as in
// internal/rules/baseruleset_test.go) with a fresh _id.
func agentEvent(t testing.TB, agentID, eventType string, ts int64, body map[string]any) string {
	t.Helper()
	eventSeq++
	m := map[string]any{
		"_id": fmt.Sprintf("7b2e0c1d-3f4a-4b5c-9d6e-%012d", eventSeq), "event_type": eventType,
		"agent_id": agentID, "timestamp": ts, "event_time": ts,
		"host_metadata": map[string]any{"hostname": "web-1", "kernel": "5.10.0-23-amd64", "os_version": "ubuntu-20.04"},
	}
	for k, v := range body {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sudoEvent(t testing.TB, agentID string, ts int64) string {
	return agentEvent(t, agentID, "audit", ts, map[string]any{
		"syscall": "execve", "type": "start", "success": true, "exit": "0",
		"exe": "/usr/bin/sudo", "command": "sudo", "args": []string{"sudo", "systemctl", "restart", "nginx"},
		"arguments": "sudo systemctl restart nginx", "cwd": "/home/ubuntu", "pid": 23117, "ppid": 1187,
		"uid": 1000, "gid": 1000, "user": "ubuntu", "group": "ubuntu", "auid": 1000, "auser": "ubuntu",
		"session": 7, "tty": "pts/0", "parent_metadata": map[string]any{"exe": "/usr/bin/bash", "pid": 1187},
	})
}

func loginFailure(t testing.TB, agentID, user string, ts int64) string {
	groups := []string{"syslog", "sshd", "invalid_login", "authentication_failed"}
	return agentEvent(t, agentID, "host", ts, map[string]any{
		"_type": "host", "hostname": "web-1", "comment": "Attempt to login using a non-existent user",
		"sigid": 5710, "group": groups, "groups": groups[:1], "level": 5, "location": "/var/log/auth.log",
		"log": "sshd[4123]: Invalid user " + user + " from 198.51.100.7 port 52044", "pid": 4123,
		"user": user, "src_ip": "198.51.100.7",
	})
}

// alertCounts lists the active alerts of c as "title: eventCount", sorted.
func alertCounts(t testing.TB, ctx context.Context, c *client.Client) []string {
	t.Helper()
	var out []string
	for a, err := range c.Alerts.All(ctx, &client.AlertListOptions{Status: aip.AlertActive}) {
		if err != nil {
			t.Fatalf("list alerts: %v", err)
		}
		out = append(out, fmt.Sprintf("%s: %d", a.Title, a.EventCount))
	}
	sort.Strings(out)
	return out
}

func TestAgentIngestEndToEnd(t *testing.T) {
	h := newHarness(t)
	orgA, keyA := h.newAgentOrg(t, "A")
	orgB, keyB := h.newAgentOrg(t, "B")
	userA := h.newAccount(t, orgA, "a@example.com", aip.RoleOwner)
	userB := h.newAccount(t, orgB, "b@example.com", aip.RoleOwner)
	agent := h.enrollAgent(t, keyA, "web-1")
	other := h.enrollAgent(t, keyB, "db-1")
	ca, cb := h.client(t, userA), h.client(t, userB)

	t.Run("heartbeat marks the agent online with its host", func(t *testing.T) {
		body := []byte(`{"hostname":"web-1b","kernel":"6.1.0","ipAddresses":{"private":["10.0.0.5"],"public":[],"link_local":[]}}`)
		r := h.agentPost(t, h.ctx(t), agent, "/agent/v1/heartbeat", body, "application/json", "")
		if r.Status != http.StatusOK || string(r.Body) != "{}" {
			t.Fatalf("heartbeat: %d %s, want 200 {}", r.Status, r.Body)
		}
		got, _, err := ca.Agents.Get(h.ctx(t), agent.UserID)
		if err != nil {
			t.Fatalf("get agent: %v", err)
		}
		if got.Status != aip.AgentOnline || got.Hostname != "web-1b" || got.Kernel != "6.1.0" {
			t.Errorf("agent status %q hostname %q kernel %q, want online web-1b 6.1.0", got.Status, got.Hostname, got.Kernel)
		}
	})

	t0 := epoch.UnixMilli() - 60_000
	users := []string{"admin", "root", "test", "oracle", "ubuntu"}
	batch := []string{sudoEvent(t, agent.UserID, t0)}
	for i, u := range users {
		batch = append(batch, loginFailure(t, agent.UserID, u, t0+int64(i)*10_000))
	}
	want := []string{
		"User Activity (Brute Force): 5 login failures within a minute from IP 198.51.100.7: 5",
	}
	t.Run("a batch raises the Base Rule Set alerts", func(t *testing.T) {
		ans := h.sendEvents(t, agent, batch)
		if ans.Accepted != 6 || ans.Duplicates != 0 || len(ans.Rejected) != 0 {
			t.Fatalf("answer %+v, want 6 accepted, no duplicates, none rejected", ans)
		}
		got := alertCounts(t, h.ctx(t), ca)
		// Beside the brute-force alert: one sudo alert and one login
		// failure alert per user, each of one event.
		if len(got) != 1+1+len(users) {
			t.Errorf("alerts %q, want %d", got, 2+len(users))
		}
		brute := 0
		for _, g := range got {
			if g == want[0] {
				brute++
			} else if !strings.HasSuffix(g, ": 1") {
				t.Errorf("alert %q, want an event count of 1", g)
			}
		}
		if brute != 1 {
			t.Errorf("alerts %q hold no %q", got, want[0])
		}
	})
	before := alertCounts(t, h.ctx(t), ca)
	t.Run("a re-sent batch counts nothing twice", func(t *testing.T) {
		ans := h.sendEvents(t, agent, batch)
		if ans.Accepted != 6 || ans.Duplicates != 6 {
			t.Fatalf("answer %+v, want 6 accepted, 6 duplicates", ans)
		}
		if diff := cmp.Diff(before, alertCounts(t, h.ctx(t), ca)); diff != "" {
			t.Errorf("alerts changed (-before +after):\n%s", diff)
		}
	})
	t.Run("later matches increment the open alert", func(t *testing.T) {
		h.sendEvents(t, agent, []string{loginFailure(t, agent.UserID, "admin", t0+50_000)})
		got := alertCounts(t, h.ctx(t), ca)
		if !slicesContain(got, "User Activity (Brute Force): 5 login failures within a minute from IP 198.51.100.7: 6") {
			t.Errorf("alerts %q, want the brute-force alert at 6 events", got)
		}
	})
	t.Run("rejects bad events and keeps the valid ones", func(t *testing.T) {
		good := sudoEvent(t, agent.UserID, t0+1)
		ans := h.sendEvents(t, agent, []string{`{"event_type":"audit"}`, good, `42`})
		if ans.Accepted != 1 || len(ans.Rejected) != 2 || ans.Rejected[0].Index != 0 || ans.Rejected[1].Index != 2 {
			t.Errorf("answer %+v, want 1 accepted and indexes 0 and 2 rejected", ans)
		}
	})
	t.Run("accepts a gzip NDJSON body", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		fmt.Fprintf(zw, "%s\n%s\n", sudoEvent(t, agent.UserID, t0+2), sudoEvent(t, agent.UserID, t0+3))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		r := h.agentPost(t, h.ctx(t), agent, "/agent/v1/events", buf.Bytes(), "application/x-ndjson", "gzip")
		if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"accepted":2`) {
			t.Errorf("gzip batch: %d %s, want 202 with 2 accepted", r.Status, r.Body)
		}
	})
	t.Run("another organization's agent neither sees nor affects A", func(t *testing.T) {
		beforeA := alertCounts(t, h.ctx(t), ca)
		h.sendEvents(t, other, batch)
		if diff := cmp.Diff(beforeA, alertCounts(t, h.ctx(t), ca)); diff != "" {
			t.Errorf("org A alerts changed (-before +after):\n%s", diff)
		}
		gotB := alertCounts(t, h.ctx(t), cb)
		if !slicesContain(gotB, want[0]) {
			t.Errorf("org B alerts %q, want its own brute-force alert", gotB)
		}
		if _, _, err := cb.Agents.Get(h.ctx(t), agent.UserID); err == nil {
			t.Error("org B reads org A's agent")
		}
	})
	t.Run("rejects a bad Hawk signature", func(t *testing.T) {
		bad := account{UserID: agent.UserID, APIKey: "not-the-key"}
		r := h.agentPost(t, h.ctx(t), bad, "/agent/v1/heartbeat", []byte(`{"hostname":"x"}`), "application/json", "")
		if r.Status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", r.Status)
		}
	})
	t.Run("rejects an unknown agent", func(t *testing.T) {
		ghost := account{UserID: aip.NewUUID(), APIKey: agent.APIKey}
		r := h.agentPost(t, h.ctx(t), ghost, "/agent/v1/events", []byte(`[]`), "application/json", "")
		if r.Status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", r.Status)
		}
	})
	t.Run("rejects a user's credentials", func(t *testing.T) {
		r := h.agentPost(t, h.ctx(t), userA, "/agent/v1/heartbeat", []byte(`{"hostname":"x"}`), "application/json", "")
		if r.Status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", r.Status)
		}
	})
	t.Run("rejects a revoked agent", func(t *testing.T) {
		gone := h.enrollAgent(t, keyA, "gone-1")
		if err := h.store.RevokeAgent(context.Background(), orgA, gone.UserID); err != nil {
			t.Fatal(err)
		}
		r := h.agentPost(t, h.ctx(t), gone, "/agent/v1/heartbeat", []byte(`{"hostname":"x"}`), "application/json", "")
		if r.Status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", r.Status)
		}
	})
	t.Run("agent requests are not audited", func(t *testing.T) {
		h.flushAudit(t)
		for rec, err := range ca.AuditLogs.All(h.ctx(t), nil) {
			if err != nil {
				t.Fatalf("audit logs: %v", err)
			}
			// Every record of org A comes from its user.
			if rec.UserID != userA.UserID || strings.Contains(string(rec.Context), "/agent/v1") {
				t.Errorf("audit record %q by %q (%s), want only the user's requests", rec.Action, rec.UserID, rec.Context)
			}
		}
	})
}

func slicesContain(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestAgentEnroll(t *testing.T) {
	h := newHarness(t)
	org, key := h.newAgentOrg(t, "A")
	tests := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"enrolls with the default rulesets", map[string]any{"deployKey": key, "hostname": "h1"}, http.StatusOK},
		{"enrolls with named rulesets", map[string]any{"deployKey": key, "hostname": "h2", "rulesets": []string{rules.BaseRuleSetName}}, http.StatusOK},
		{"rejects an unknown deploy key", map[string]any{"deployKey": "aipdk_nope", "hostname": "h3"}, http.StatusUnauthorized},
		{"rejects a missing deploy key", map[string]any{"hostname": "h3"}, http.StatusUnauthorized},
		{"rejects an unknown ruleset", map[string]any{"deployKey": key, "hostname": "h4", "rulesets": []string{"Nope"}}, http.StatusBadRequest},
		{"rejects a missing hostname", map[string]any{"deployKey": key}, http.StatusBadRequest},
		{"rejects an unknown field", map[string]any{"deployKey": key, "hostname": "h5", "colour": "red"}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.enroll(t, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d (%s), want %d", r.Status, r.Body, tt.status)
			}
			if r.Status != http.StatusOK {
				return
			}
			var e struct{ AgentID, AgentKey string }
			if err := json.Unmarshal(r.Body, &e); err != nil || !aip.IsUUID(e.AgentID) || e.AgentKey == "" {
				t.Fatalf("answer %s (%v), want an agent id and key", r.Body, err)
			}
			rs, err := h.store.ListRulesets(context.Background(), org, e.AgentID)
			if err != nil || len(rs) != 1 || rs[0].Name != rules.BaseRuleSetName {
				t.Errorf("agent rulesets %v (%v), want the Base Rule Set", rs, err)
			}
		})
	}
}

func TestAgentEventsLimits(t *testing.T) {
	t.Run("answers 413 beyond the agent body limit", func(t *testing.T) {
		h := newHarness(t, func(c *httpapi.Config) { c.AgentMaxBodyBytes = 1024 })
		_, key := h.newAgentOrg(t, "A")
		a := h.enrollAgent(t, key, "web-1")
		body := []byte("[" + strings.Repeat(sudoEvent(t, a.UserID, 1)+",", 10) + "{}]")
		r := h.agentPost(t, h.ctx(t), a, "/agent/v1/events", body, "application/json", "")
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", r.Status)
		}
	})
	t.Run("answers 503 with Retry-After when saturated", func(t *testing.T) {
		h := newHarness(t, func(c *httpapi.Config) { c.MaxConcurrentIngests = 1 })
		_, key := h.newAgentOrg(t, "A")
		a := h.enrollAgent(t, key, "web-1")
		release := httpapi.HoldIngestSlots(h.srv, 1)
		ev := sudoEvent(t, a.UserID, 1)
		r := h.agentPost(t, allow5xx(h.ctx(t)), a, "/agent/v1/events", []byte("["+ev+"]"), "application/json", "")
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" {
			t.Errorf("status %d Retry-After %q, want 503 and 1", r.Status, r.Header.Get("Retry-After"))
		}
		release()
		ans := h.sendEvents(t, a, []string{ev})
		if ans.Accepted != 1 || ans.Duplicates != 0 {
			t.Errorf("after release: %+v, want the event accepted as new (nothing stored by the 503)", ans)
		}
	})
}

func TestAgentRuleChangesApplyToTheNextBatch(t *testing.T) {
	h := newHarness(t)
	org, key := h.newAgentOrg(t, "A")
	user := h.newAccount(t, org, "a@example.com", aip.RoleOwner)
	a := h.enrollAgent(t, key, "web-1")
	c := h.client(t, user)
	// Alerts are listed up to the server's now: keep the events before it.
	ts := epoch.UnixMilli() - 10

	// The first batch builds and caches the organization's engine.
	h.sendEvents(t, a, []string{sudoEvent(t, a.UserID, ts)})
	if got := alertCounts(t, h.ctx(t), c); len(got) != 1 {
		t.Fatalf("alerts %q, want the sudo alert", got)
	}
	rs, err := h.store.FindRulesetByName(context.Background(), org, rules.BaseRuleSetName)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := h.signedDo(t, user, http.MethodPost, "/v2/rulesets/"+rs.ID+"/rules", ruleBody(nil))
	if resp.Status != http.StatusOK {
		t.Fatalf("create rule: %d %s", resp.Status, resp.Body)
	}
	h.sendEvents(t, a, []string{sudoEvent(t, a.UserID, ts+1)})
	want := []string{
		"User: Sudo Usage: ubuntu ran sudo as ubuntu with arguments sudo systemctl restart nginx: 2",
		"sudo by ubuntu: 1",
	}
	if diff := cmp.Diff(want, alertCounts(t, h.ctx(t), c)); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
}

func TestAgentMatchAfterDismissOpensANewAlert(t *testing.T) {
	h := newHarness(t)
	org, key := h.newAgentOrg(t, "A")
	user := h.newAccount(t, org, "a@example.com", aip.RoleOwner)
	a := h.enrollAgent(t, key, "web-1")
	c := h.client(t, user)
	ts := epoch.UnixMilli() - 10

	h.sendEvents(t, a, []string{sudoEvent(t, a.UserID, ts)})
	alerts, _, err := c.Alerts.List(h.ctx(t), &client.AlertListOptions{Status: aip.AlertActive})
	if err != nil || len(alerts) != 1 {
		t.Fatalf("alerts %v (%v), want the sudo alert", alerts, err)
	}
	if n, _, err := c.Alerts.Dismiss(h.ctx(t), &client.DismissRequest{IDs: []string{alerts[0].ID}, DismissReason: aip.DismissMaintenance}); err != nil || n != 1 {
		t.Fatalf("dismiss: %d, %v", n, err)
	}
	h.sendEvents(t, a, []string{sudoEvent(t, a.UserID, ts+1)})
	want := []string{"User: Sudo Usage: ubuntu ran sudo as ubuntu with arguments sudo systemctl restart nginx: 1"}
	if diff := cmp.Diff(want, alertCounts(t, h.ctx(t), c)); diff != "" {
		t.Errorf("active alerts (-want +got):\n%s", diff)
	}
	dismissed, err := h.store.FindAlert(context.Background(), org, alerts[0].ID)
	if err != nil || dismissed.EventCount != 1 {
		t.Errorf("dismissed alert %+v (%v), want it left at 1 event", dismissed, err)
	}
}

func TestAgentGoesOfflineAfterSilence(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) { c.AgentOfflineAfter = 2 * time.Minute })
	org, key := h.newAgentOrg(t, "A")
	c := h.client(t, h.newAccount(t, org, "a@example.com", aip.RoleOwner))
	a := h.enrollAgent(t, key, "web-1")
	r := h.agentPost(t, h.ctx(t), a, "/agent/v1/heartbeat", []byte(`{"hostname":"web-1"}`), "application/json", "")
	if r.Status != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", r.Status, r.Body)
	}
	status := func() string {
		got, _, err := c.Agents.Get(h.ctx(t), a.UserID)
		if err != nil {
			t.Fatalf("get agent: %v", err)
		}
		return got.Status
	}
	h.clock.Advance(time.Minute)
	if got := status(); got != aip.AgentOnline {
		t.Errorf("after 1 minute: %q, want online", got)
	}
	h.clock.Advance(2 * time.Minute)
	if got := status(); got != aip.AgentOffline {
		t.Errorf("after 3 minutes: %q, want offline", got)
	}
}
