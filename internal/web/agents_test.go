package web_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

// agent enrolls an agent of orgID called hostname; online agents
// reported just now, offline ones an hour ago.
func (e *env) agent(t *testing.T, orgID, hostname string, online bool, rulesetIDs ...string) *aip.Agent {
	t.Helper()
	last := e.clock.Now()
	if !online {
		last = last.Add(-time.Hour)
	}
	a := &aip.Agent{
		ID: aip.NewUUID(), OrgID: orgID,
		CreatedAt: aip.Time{Time: last}, LastReportedAt: aip.Time{Time: last},
		AgentHost: aip.AgentHost{
			Hostname: hostname, Version: "2.4.1", OSVersion: "Debian GNU/Linux 12", Kernel: "6.1.0-18-amd64",
			AgentType:   aip.AgentTypeMonitor,
			IPAddresses: aip.IPAddresses{Private: []string{"10.1.2.3"}, Public: []string{"203.0.113.7"}},
			Tags:        []aip.Tag{{Source: "ec2", Key: "env", Value: "prod"}},
		},
	}
	if err := e.store.CreateAgent(t.Context(), a, []byte("sealed"), rulesetIDs); err != nil {
		t.Fatal(err)
	}
	return a
}

// signedIn returns a browser signed in as a new user with role in orgID.
func (e *env) signedIn(t *testing.T, email, orgID string, role aip.Role) *browser {
	t.Helper()
	e.user(t, email, map[string]aip.Role{orgID: role})
	b := e.browser(t)
	if p := b.signIn(email, password); p.path != "/console/" {
		t.Fatalf("sign-in landed on %s (%d)", p.path, p.status)
	}
	return b
}

var agentRowRe = regexp.MustCompile(`data-agent="([^"]+)"`)

// agentRows are the ids of the agents listed on p, in order.
func agentRows(p page) []string {
	out := []string{}
	for _, m := range agentRowRe.FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1])
	}
	return out
}

var nextRe = regexp.MustCompile(`href="([^"]+)" rel="next"`)

// nextLink is the page's "Next page" link, "" when there is none.
func nextLink(p page) string {
	m := nextRe.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestAgentsList(t *testing.T) {
	e := newEnv(t, nil)
	web1 := e.agent(t, e.orgA.ID, "web-1", true)
	db1 := e.agent(t, e.orgA.ID, "db-1", true)
	old := e.agent(t, e.orgA.ID, "old-1", false)
	e.agent(t, e.orgB.ID, "web-1", true)
	e.agent(t, e.orgB.ID, "b-offline", false)
	b := e.signedIn(t, "alice@example.test", e.orgA.ID, aip.RoleReader)

	for _, tt := range []struct {
		name, path string
		want       []string
	}{
		{"lists online agents by default", "/console/agents", []string{db1.ID, web1.ID}},
		{"lists offline agents on their tab", "/console/agents?status=offline", []string{old.ID}},
		{"filters by hostname", "/console/agents?status=online&hostname=web-1", []string{web1.ID}},
		{"shows nothing for an unknown hostname", "/console/agents?hostname=nope", []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get(tt.path)
			if p.status != http.StatusOK {
				t.Fatalf("status %d, want 200", p.status)
			}
			got := agentRows(p)
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("agents (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("refuses an unknown status", func(t *testing.T) {
		if p := b.get("/console/agents?status=sleeping"); p.status != http.StatusBadRequest {
			t.Errorf("status %d, want 400", p.status)
		}
	})
}

func TestAgentsPaging(t *testing.T) {
	e := newEnv(t, nil)
	var want []string
	for i := range 53 {
		a := e.agent(t, e.orgA.ID, fmt.Sprintf("host-%02d", i), true)
		want = append(want, a.ID)
		e.clock.Advance(time.Millisecond)
	}
	b := e.signedIn(t, "alice@example.test", e.orgA.ID, aip.RoleUser)
	first := b.get("/console/agents")
	next := nextLink(first)
	if next == "" {
		t.Fatalf("first page has no next link")
	}
	second := b.get(next)
	if got := nextLink(second); got != "" {
		t.Errorf("second page links to %s, want no next link", got)
	}
	pages := []int{len(agentRows(first)), len(agentRows(second))}
	if diff := cmp.Diff([]int{50, 3}, pages); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	got := append(agentRows(first), agentRows(second)...)
	slices.Reverse(want) // newest first
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("agents over both pages (-want +got):\n%s", diff)
	}
	if p := b.get("/console/agents?after=abc&afterId=x"); p.status != http.StatusBadRequest {
		t.Errorf("a forged cursor got %d, want 400", p.status)
	}
}

func TestAgentDetail(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	rs := &aip.Ruleset{OrgID: e.orgA.ID, Name: "Base Rules", Description: "the defaults"}
	if err := e.store.CreateRuleset(ctx, rs); err != nil {
		t.Fatal(err)
	}
	a := e.agent(t, e.orgA.ID, "web-1", true, rs.ID)
	other := e.agent(t, e.orgA.ID, "web-2", true)
	alert := func(agentID, title string) *aip.Alert {
		al := &aip.Alert{OrgID: e.orgA.ID, Title: title, DataSource: aip.DataSourceAgent, Severity: 1, AgentID: agentID,
			CreatedAt: aip.Time{Time: e.clock.Now()}, ExpiresAt: aip.Time{Time: e.clock.Now().Add(time.Hour)}, Key: title}
		if err := e.store.CreateAlert(ctx, al, nil, nil); err != nil {
			t.Fatal(err)
		}
		return al
	}
	mine := alert(a.ID, "sudo run by root")
	alert(other.ID, "alert of another host")
	e.matches(t, e.orgA.ID, a.ID, vm("CVE-2024-0001", "openssl", "high", true))
	bAgent := e.agent(t, e.orgB.ID, "b-host", true)
	b := e.signedIn(t, "alice@example.test", e.orgA.ID, aip.RoleReader)

	p := b.get("/console/agents/" + a.ID)
	if p.status != http.StatusOK {
		t.Fatalf("status %d, want 200:\n%s", p.status, p.body)
	}
	for _, want := range []string{
		`data-field="hostname">web-1<`, `data-field="private-ips">10.1.2.3<`, `data-field="public-ips">203.0.113.7<`,
		`data-field="os">Debian GNU/Linux 12<`, `data-field="kernel">6.1.0-18-amd64<`, `data-field="version">2.4.1<`,
		`data-field="type">monitor<`, `data-field="status">online<`, `env=prod`,
		`data-ruleset="` + rs.ID + `"><strong>Base Rules</strong>`,
		`data-alert="` + mine.ID + `"`, `href="/console/alerts/` + mine.ID + `"`,
		`data-cve="CVE-2024-0001"`, `href="https://security.example.test/CVE-2024-0001"`,
		`href="/console/vulnerabilities?agent=` + a.ID + `"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("agent page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "alert of another host") {
		t.Errorf("agent page shows another agent's alert")
	}

	for _, tt := range []struct{ name, id string }{
		{"hides another organization's agent", bAgent.ID},
		{"answers 404 for an unknown agent", aip.NewUUID()},
		{"answers 404 for a malformed id", "not-an-id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get("/console/agents/" + tt.id)
			if p.status != http.StatusNotFound {
				t.Errorf("status %d, want 404", p.status)
			}
			if strings.Contains(p.body, "b-host") {
				t.Errorf("404 page shows the other organization's hostname")
			}
		})
	}
}
