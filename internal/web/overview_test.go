package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

// ovAgent enrolls an agent of orgID that last reported at last.
func (e *env) ovAgent(t *testing.T, orgID, hostname string, last time.Time) *aip.Agent {
	t.Helper()
	a := &aip.Agent{ID: aip.NewUUID(), OrgID: orgID, CreatedAt: aip.Time{Time: last}, LastReportedAt: aip.Time{Time: last},
		AgentHost: aip.AgentHost{Hostname: hostname, AgentType: aip.AgentTypeMonitor}}
	if err := e.store.CreateAgent(t.Context(), a, []byte("sealed"), nil); err != nil {
		t.Fatal(err)
	}
	return a
}

// ovText returns the text of the element with the given id attribute.
func ovText(t *testing.T, p page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no element #%s on %s:\n%s", id, p.path, p.body)
	}
	return m[1]
}

// ovTop returns the top list with the given id as "name count" lines.
func ovTop(t *testing.T, p page, id string) []string {
	t.Helper()
	i := strings.Index(p.body, `id="`+id+`"`)
	if i < 0 {
		return nil
	}
	list := p.body[i:]
	list = list[:strings.Index(list, "</ol>")]
	var out []string
	for _, m := range regexp.MustCompile(`<a href="[^"]*">([^<]*)</a> <span class="top-count">(\d+)</span>`).FindAllStringSubmatch(list, -1) {
		out = append(out, m[1]+" "+m[2])
	}
	return out
}

func TestOverview(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	now := e.clock.Now()
	web1 := e.ovAgent(t, e.orgA.ID, "web-1", now)
	db1 := e.ovAgent(t, e.orgA.ID, "db-1", now.Add(-time.Minute))
	e.ovAgent(t, e.orgA.ID, "old-1", now.Add(-2*time.Hour))
	hostB := e.ovAgent(t, e.orgB.ID, "orgb-secret-host", now)

	ruleSSH, ruleSudo := aip.NewID24(), aip.NewID24()
	e.alSeed(t, e.orgA.ID, func(a *aip.Alert) {
		a.Title, a.Severity, a.RuleID, a.AgentID, a.CreatedAt.Time = "SSH login", 1, ruleSSH, web1.ID, now.Add(-time.Hour)
	})
	e.alSeed(t, e.orgA.ID, func(a *aip.Alert) {
		a.Title, a.Severity, a.RuleID, a.AgentID, a.CreatedAt.Time = "SSH login", 1, ruleSSH, web1.ID, now.Add(-90*time.Minute)
	})
	e.alSeed(t, e.orgA.ID, func(a *aip.Alert) {
		a.Title, a.Severity, a.RuleID, a.AgentID, a.CreatedAt.Time = "sudo use", 3, ruleSudo, db1.ID, now.Add(-3*time.Hour)
	})
	dismissed := e.alSeed(t, e.orgA.ID, func(a *aip.Alert) {
		a.Title, a.Severity, a.RuleID, a.AgentID, a.CreatedAt.Time = "sudo use", 2, ruleSudo, db1.ID, now.Add(-2*time.Hour)
	})
	if _, err := e.store.DismissAlerts(ctx, e.orgA.ID, []string{dismissed.ID}, aip.Dismissal{Reason: aip.DismissMaintenance, By: "x", At: now}); err != nil {
		t.Fatal(err)
	}
	// Three days old: in the 7 and 30 day ranges, not in the last 24 hours.
	e.alSeed(t, e.orgA.ID, func(a *aip.Alert) {
		a.Title, a.Severity, a.RuleID, a.AgentID, a.CreatedAt.Time = "SSH login", 2, ruleSSH, db1.ID, now.Add(-72*time.Hour)
	})
	for range 4 {
		e.alSeed(t, e.orgB.ID, func(a *aip.Alert) {
			a.Title, a.Severity, a.AgentID, a.CreatedAt.Time = "orgb-secret-rule", 1, hostB.ID, now.Add(-time.Hour)
		})
	}
	match := func(org, agent, cve, sev string) {
		m := &aip.VulnMatch{CVE: cve, AdvisoryID: "DEBIAN-" + cve, Package: "curl", ReportedPackage: "curl 7.74.0",
			SystemPackage: "curl 7.74.0-1.amd64 " + cve, Severity: sev, VectorType: "network"}
		if err := e.store.ReplaceVulnMatches(ctx, org, agent, []*aip.VulnMatch{m}, now); err != nil {
			t.Fatal(err)
		}
	}
	match(e.orgA.ID, web1.ID, "CVE-2026-0001", "critical")
	match(e.orgA.ID, db1.ID, "CVE-2026-0002", "high")
	match(e.orgB.ID, hostB.ID, "CVE-2026-0003", "low")

	b := e.alSignIn(t, "alice@example.test", e.orgA.ID, aip.RoleReader)

	t.Run("shows the last 24 hours by default", func(t *testing.T) {
		p := b.get("/console/")
		if p.status != http.StatusOK {
			t.Fatalf("status = %d, want 200", p.status)
		}
		if diff := cmp.Diff(map[string]string{"1": "2", "2": "1", "3": "1"}, counts(t, p)); diff != "" {
			t.Errorf("open counts (-want +got):\n%s", diff)
		}
		got := map[string]string{
			"open-total": ovText(t, p, "open-total"), "range-total": ovText(t, p, "range-total"),
			"agents-online": ovText(t, p, "agents-online"), "agents-offline": ovText(t, p, "agents-offline"),
		}
		want := map[string]string{"open-total": "4", "range-total": "4", "agents-online": "2", "agents-offline": "1"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("numbers (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"SSH login 2", "sudo use 1"}, ovTop(t, p, "top-rules")); diff != "" {
			t.Errorf("top rules (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"web-1 2", "db-1 1"}, ovTop(t, p, "top-hosts")); diff != "" {
			t.Errorf("top hosts (-want +got):\n%s", diff)
		}
		vulns := map[string]string{}
		for _, m := range regexp.MustCompile(`data-vuln-severity="(\w+)">(\d+)<`).FindAllStringSubmatch(p.body, -1) {
			vulns[m[1]] = m[2]
		}
		if diff := cmp.Diff(map[string]string{"critical": "1", "high": "1", "medium": "0", "low": "0"}, vulns); diff != "" {
			t.Errorf("vulnerable hosts (-want +got):\n%s", diff)
		}
		for _, want := range []string{
			`<svg class="chart" id="alerts-chart" role="img"`,
			`<title id="alerts-chart-title">Alerts per hour, Last 24 hours</title>`,
			`<desc id="alerts-chart-desc">`,
			`<a href="/console/?range=24h" aria-current="page">Last 24 hours</a>`,
		} {
			if !strings.Contains(p.body, want) {
				t.Errorf("overview lacks %q", want)
			}
		}
		if rows := strings.Count(p.body, `<tr><th scope="row">`); rows != 24 {
			t.Errorf("chart table has %d rows, want 24", rows)
		}
		if bars := strings.Count(p.body, `<g class="chart-bar">`); bars != 24 {
			t.Errorf("chart has %d bars, want 24", bars)
		}
	})
	t.Run("widens the chart and the top lists to 7 days", func(t *testing.T) {
		p := b.get("/console/?range=7d")
		if got := ovText(t, p, "range-total"); got != "5" {
			t.Errorf("range total = %s, want 5", got)
		}
		if diff := cmp.Diff([]string{"SSH login 3", "sudo use 1"}, ovTop(t, p, "top-rules")); diff != "" {
			t.Errorf("top rules (-want +got):\n%s", diff)
		}
		if rows := strings.Count(p.body, `<tr><th scope="row">`); rows != 7 {
			t.Errorf("chart table has %d rows, want 7", rows)
		}
		if !strings.Contains(p.body, `Alerts per day, Last 7 days`) {
			t.Error("chart title does not name the 7 day range")
		}
	})
	t.Run("shows 30 daily bars", func(t *testing.T) {
		p := b.get("/console/?range=30d")
		if bars := strings.Count(p.body, `<g class="chart-bar">`); bars != 30 {
			t.Errorf("chart has %d bars, want 30", bars)
		}
	})
	t.Run("refuses an unknown range", func(t *testing.T) {
		if p := b.get("/console/?range=1y"); p.status != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", p.status)
		}
	})
	t.Run("shows nothing of another organization", func(t *testing.T) {
		for _, path := range []string{"/console/", "/console/?range=30d"} {
			p := b.get(path)
			for _, secret := range []string{"orgb-secret", hostB.ID} {
				if strings.Contains(p.body, secret) {
					t.Errorf("%s shows Org B's %q", path, secret)
				}
			}
		}
	})
}
