package web_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

// alSeed stores an active alert of orgID created a minute ago; mod
// adjusts it first.
func (e *env) alSeed(t *testing.T, orgID string, mod func(*aip.Alert), events ...*aip.Event) *aip.Alert {
	t.Helper()
	now := e.clock.Now()
	a := &aip.Alert{OrgID: orgID, Title: "alert", DataSource: aip.DataSourceAgent, CreatedAt: aip.Time{Time: now.Add(-time.Minute)},
		Severity: 2, Aggregates: []aip.Aggregate{}, ExpiresAt: aip.Time{Time: now.Add(time.Hour)}, Key: aip.NewUUID()}
	if mod != nil {
		mod(a)
	}
	if err := e.store.CreateAlert(t.Context(), a, events, nil); err != nil {
		t.Fatal(err)
	}
	return a
}

// alSignIn returns a browser signed in as a new user with role in orgID.
func (e *env) alSignIn(t *testing.T, email, orgID string, role aip.Role) *browser {
	t.Helper()
	e.user(t, email, map[string]aip.Role{orgID: role})
	b := e.browser(t)
	if p := b.signIn(email, password); p.path != "/console/" {
		t.Fatalf("sign-in of %s landed on %s (%d)", email, p.path, p.status)
	}
	return b
}

var alRowRe = regexp.MustCompile(`<tr data-alert-id="([^"]+)">`)

// alIDs returns the alert ids listed on p, in order.
func alIDs(p page) []string {
	var out []string
	for _, m := range alRowRe.FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1])
	}
	return out
}

var alNextRe = regexp.MustCompile(`<a href="([^"]+)" rel="next"`)

// alNext returns the page's next link, unescaped, "" when none.
func alNext(p page) string {
	m := alNextRe.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// alDismissed reports whether alert id of orgID is dismissed.
func (e *env) alDismissed(t *testing.T, orgID, id string) bool {
	t.Helper()
	a, err := e.store.FindAlert(t.Context(), orgID, id)
	if err != nil {
		t.Fatal(err)
	}
	return a.IsDismissed
}

func TestAlertList(t *testing.T) {
	e := newEnv(t, nil)
	now := e.clock.Now()
	ruleA, ruleB, rsA, rsB := aip.NewID24(), aip.NewID24(), aip.NewID24(), aip.NewID24()
	agentA, agentB := aip.NewUUID(), aip.NewUUID()
	day := func(d int) time.Time { return time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC) }
	seed := func(sev int, rule, rs, agent string, at time.Time) string {
		return e.alSeed(t, e.orgA.ID, func(a *aip.Alert) {
			a.Severity, a.RuleID, a.RulesetID, a.AgentID, a.CreatedAt.Time = sev, rule, rs, agent, at
		}).ID
	}
	a1 := seed(1, ruleA, rsA, agentA, day(1))
	a2 := seed(2, ruleA, rsA, agentB, day(2))
	a3 := seed(3, ruleB, rsB, agentA, day(3))
	a4 := seed(1, ruleB, rsB, agentB, day(4))
	dis := seed(1, ruleA, rsA, agentA, day(5))
	if _, err := e.store.DismissAlerts(t.Context(), e.orgA.ID, []string{dis}, aip.Dismissal{Reason: aip.DismissMaintenance, By: "x", At: now}); err != nil {
		t.Fatal(err)
	}
	e.alSeed(t, e.orgB.ID, func(a *aip.Alert) { a.Title, a.Severity, a.RuleID, a.CreatedAt.Time = "orgb-secret", 1, ruleA, day(3) })
	b := e.alSignIn(t, "alice@example.test", e.orgA.ID, aip.RoleUser)

	for _, tt := range []struct {
		name, query string
		want        []string
	}{
		{"lists open alerts newest first by default", "", []string{a4, a3, a2, a1}},
		{"lists dismissed alerts", "status=dismissed", []string{dis}},
		{"filters by severity", "severity=1", []string{a4, a1}},
		{"filters by rule", "rule=" + ruleA, []string{a2, a1}},
		{"filters by ruleset", "ruleset=" + rsB, []string{a4, a3}},
		{"filters by agent", "agent=" + agentA, []string{a3, a1}},
		{"filters by time range with an inclusive until day", "from=2026-03-02&until=2026-03-03", []string{a3, a2}},
		{"combines filters", "severity=1&agent=" + agentB, []string{a4}},
		{"dismissed alerts of a rule", "status=dismissed&rule=" + ruleA, []string{dis}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get("/console/alerts?" + tt.query)
			if p.status != http.StatusOK {
				t.Fatalf("status = %d, want 200:\n%s", p.status, p.body)
			}
			if diff := cmp.Diff(tt.want, alIDs(p)); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
			if strings.Contains(p.body, "orgb-secret") {
				t.Error("Org A's list shows Org B's alert")
			}
		})
	}
	for _, tt := range []struct{ name, query, msg string }{
		{"refuses an unknown status", "status=open", "Status must be active or dismissed."},
		{"refuses an unknown severity", "severity=9", "Severity must be high, medium or low."},
		{"refuses an unparsable from", "from=yesterday", `invalid &#34;from&#34; parameter`},
		{"refuses an until before from", "from=2026-03-05&until=2026-03-01", `it is before`},
		{"refuses a forged cursor", "after=12.not-a-uuid", "The page link is not valid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get("/console/alerts?" + tt.query)
			if p.status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", p.status)
			}
			if !strings.Contains(p.body, `id="filter-error">`) || !strings.Contains(p.body, tt.msg) {
				t.Errorf("page lacks the error %q:\n%s", tt.msg, p.body)
			}
			if ids := alIDs(p); len(ids) != 0 {
				t.Errorf("listed %d alerts with invalid filters", len(ids))
			}
		})
	}
	t.Run("keeps the filters in the form", func(t *testing.T) {
		p := b.get("/console/alerts?severity=3&agent=" + agentA)
		for _, want := range []string{`<option value="3" selected>Low</option>`, `name="agent" value="` + agentA + `"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("form lacks %q", want)
			}
		}
	})
}

func TestAlertPaging(t *testing.T) {
	e := newEnv(t, nil)
	base := e.clock.Now().Add(-time.Hour)
	var want []string
	for i := range 230 {
		// Pairs share a timestamp, so that the cursor's id breaks ties.
		a := e.alSeed(t, e.orgA.ID, func(a *aip.Alert) { a.Severity, a.CreatedAt.Time = 1, base.Add(time.Duration(i/2)*time.Second) })
		want = append(want, a.ID)
	}
	for range 20 {
		e.alSeed(t, e.orgA.ID, func(a *aip.Alert) { a.Severity = 3 })
	}
	b := e.alSignIn(t, "alice@example.test", e.orgA.ID, aip.RoleReader)

	var got []string
	var sizes []int
	next := "/console/alerts?severity=1"
	for next != "" && len(sizes) < 10 {
		p := b.get(next)
		if p.status != http.StatusOK {
			t.Fatalf("%s: status %d", next, p.status)
		}
		ids := alIDs(p)
		sizes = append(sizes, len(ids))
		got = append(got, ids...)
		next = alNext(p)
		if next != "" && !strings.Contains(next, "severity=1") {
			t.Errorf("next link %q drops the severity filter", next)
		}
	}
	if diff := cmp.Diff([]int{100, 100, 30}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	// Newest first: the reverse of creation order, ties by id descending.
	created := map[string]int{}
	for i, id := range want {
		created[id] = i / 2
	}
	slices.SortFunc(want, func(x, y string) int {
		if c := created[y] - created[x]; c != 0 {
			return c
		}
		return strings.Compare(y, x)
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alerts across pages (-want +got):\n%s", diff)
	}
}

func TestDismissAlerts(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	var ids []string
	for i := range 4 {
		ids = append(ids, e.alSeed(t, e.orgA.ID, func(a *aip.Alert) {
			a.Severity, a.CreatedAt.Time = 1, e.clock.Now().Add(-time.Duration(i+1)*time.Minute)
		}).ID)
	}
	other := e.alSeed(t, e.orgB.ID, func(a *aip.Alert) { a.Title = "orgb-secret" })
	writer := e.alSignIn(t, "writer@example.test", e.orgA.ID, aip.RoleUser)
	reader := e.alSignIn(t, "reader@example.test", e.orgA.ID, aip.RoleReader)

	t.Run("a user dismisses the selected alerts and returns to the list", func(t *testing.T) {
		list := writer.get("/console/alerts?severity=1")
		if n := strings.Count(list.body, `type="checkbox" name="id"`); n != 4 {
			t.Fatalf("%d checkboxes, want 4", n)
		}
		p := writer.post("/console/alerts/dismiss", url.Values{
			"csrf": {csrf(t, list)}, "id": {ids[0], ids[2]}, "reason": {aip.DismissMaintenance},
			"back": {"status=active&severity=1"},
		})
		if p.status != http.StatusOK || p.path != "/console/alerts" {
			t.Fatalf("landed on %s with %d, want the list", p.path, p.status)
		}
		if !strings.Contains(p.body, `id="dismissed-notice">2 alerts dismissed.`) {
			t.Errorf("no dismissal notice:\n%s", p.body)
		}
		if diff := cmp.Diff([]string{ids[1], ids[3]}, alIDs(p)); diff != "" {
			t.Errorf("open alerts after dismissing (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{ids[0], ids[2]}, alIDs(writer.get("/console/alerts?status=dismissed"))); diff != "" {
			t.Errorf("dismissed alerts (-want +got):\n%s", diff)
		}
		a, err := e.store.FindAlert(ctx, e.orgA.ID, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		got := []string{a.DismissReason, a.DismissedBy}
		u, _, err := e.store.FindPasswordHash(ctx, "writer@example.test")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{aip.DismissMaintenance, u.ID}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("dismissal (-want +got):\n%s", diff)
		}
		recs, err := e.store.ListAuditRecords(ctx, aip.AuditFilter{OrgID: e.orgA.ID, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		found := slices.ContainsFunc(recs, func(r *aip.AuditRecord) bool {
			return r.Action == "dismiss-alerts" && r.Source == "web" && r.Result == "success" && r.UserEmail == "writer@example.test"
		})
		if !found {
			t.Error("no web audit record of the dismissal")
		}
	})
	t.Run("requires a text with the reason Other", func(t *testing.T) {
		list := writer.get("/console/alerts")
		p := writer.post("/console/alerts/dismiss", url.Values{"csrf": {csrf(t, list)}, "id": {ids[1]}, "reason": {aip.DismissOther}})
		if p.status != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", p.status)
		}
		if e.alDismissed(t, e.orgA.ID, ids[1]) {
			t.Error("alert dismissed without a text")
		}
	})
	t.Run("cannot dismiss another organization's alert", func(t *testing.T) {
		list := writer.get("/console/alerts")
		p := writer.post("/console/alerts/dismiss", url.Values{"csrf": {csrf(t, list)}, "id": {other.ID}, "reason": {aip.DismissOther}, "text": {"x"}})
		if !strings.Contains(p.body, `0 alerts dismissed.`) {
			t.Errorf("want 0 dismissed, got %s:\n%s", p.path, p.body)
		}
		if e.alDismissed(t, e.orgB.ID, other.ID) {
			t.Error("Org A's user dismissed Org B's alert")
		}
	})
	t.Run("a reader sees no checkboxes and cannot dismiss", func(t *testing.T) {
		list := reader.get("/console/alerts")
		if len(alIDs(list)) != 2 {
			t.Fatalf("reader sees %d alerts, want 2", len(alIDs(list)))
		}
		for _, absent := range []string{`type="checkbox"`, `name="reason"`, "Dismiss selected"} {
			if strings.Contains(list.body, absent) {
				t.Errorf("reader's list has %q", absent)
			}
		}
		p := reader.post("/console/alerts/dismiss", url.Values{"csrf": {csrf(t, list)}, "id": {ids[1]}, "reason": {aip.DismissMaintenance}})
		if p.status != http.StatusForbidden {
			t.Errorf("status = %d, want 403", p.status)
		}
		if e.alDismissed(t, e.orgA.ID, ids[1]) {
			t.Error("reader dismissed an alert")
		}
	})
	t.Run("refuses a dismissal without the CSRF token", func(t *testing.T) {
		for _, token := range []string{"", "forged-token"} {
			form := url.Values{"id": {ids[1]}, "reason": {aip.DismissMaintenance}}
			if token != "" {
				form.Set("csrf", token)
			}
			if p := writer.post("/console/alerts/dismiss", form); p.status != http.StatusForbidden {
				t.Errorf("token %q: status = %d, want 403", token, p.status)
			}
		}
		if e.alDismissed(t, e.orgA.ID, ids[1]) {
			t.Error("CSRF-less post dismissed an alert")
		}
	})
}

func TestAlertPage(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	now := e.clock.Now()
	agentID := aip.NewUUID()
	var evs []*aip.Event
	for i := range 150 {
		raw, _ := json.Marshal(map[string]any{"_id": fmt.Sprintf("ev-%03d", i), "event_type": "login", "user": "<root>"})
		evs = append(evs, &aip.Event{ID: fmt.Sprintf("ev-%03d", i), AgentID: agentID, Type: "login", Time: now.Add(-time.Duration(i) * time.Second), Raw: raw})
	}
	if _, err := e.store.InsertEvents(ctx, e.orgA.ID, evs); err != nil {
		t.Fatal(err)
	}
	rule, rs := aip.NewID24(), aip.NewID24()
	a := e.alSeed(t, e.orgA.ID, func(a *aip.Alert) {
		a.Title, a.Severity, a.RuleID, a.RulesetID, a.AgentID = "Root login", 1, rule, rs, agentID
		a.Aggregates = []aip.Aggregate{{FieldName: "user", Value: "root"}}
	}, evs...)
	other := e.alSeed(t, e.orgB.ID, func(a *aip.Alert) { a.Title = "orgb-secret" })
	b := e.alSignIn(t, "alice@example.test", e.orgA.ID, aip.RoleReader)

	t.Run("shows the alert, its rule, aggregates and events", func(t *testing.T) {
		p := b.get("/console/alerts/" + a.ID)
		if p.status != http.StatusOK {
			t.Fatalf("status = %d, want 200", p.status)
		}
		for _, want := range []string{
			"<h1>Root login</h1>",
			`<a href="/console/rules/` + rs + `/` + rule + `" id="rule-link">`,
			"<code>user</code></th><td><code>root</code>",
			// Pretty-printed, escaped JSON of the newest event.
			"<code>{\n  &#34;_id&#34;: &#34;ev-000&#34;,\n  &#34;event_type&#34;: &#34;login&#34;,\n  &#34;user&#34;: &#34;\\u003croot\\u003e&#34;\n}</code>",
		} {
			if !strings.Contains(p.body, want) {
				t.Errorf("alert page lacks %q", want)
			}
		}
		if n := strings.Count(p.body, `<li class="event">`); n != 100 {
			t.Errorf("first page has %d events, want 100", n)
		}
		next := alNext(p)
		if next == "" {
			t.Fatal("no link to more events")
		}
		p2 := b.get(next)
		if n := strings.Count(p2.body, `<li class="event">`); n != 50 {
			t.Errorf("second page has %d events, want 50", n)
		}
		if !strings.Contains(p2.body, "ev-149") || strings.Contains(p2.body, "&#34;ev-000&#34;") {
			t.Error("second page does not continue after the first")
		}
		if alNext(p2) != "" {
			t.Error("last page links to more events")
		}
	})
	t.Run("another organization's alert is not found", func(t *testing.T) {
		for _, id := range []string{other.ID, aip.NewUUID(), "not-an-id"} {
			p := b.get("/console/alerts/" + id)
			if p.status != http.StatusNotFound {
				t.Errorf("%s: status = %d, want 404", id, p.status)
			}
			if strings.Contains(p.body, "orgb-secret") {
				t.Errorf("%s: page shows Org B's alert", id)
			}
		}
	})
	t.Run("links from the list to the alert", func(t *testing.T) {
		p := b.get("/console/alerts")
		if !strings.Contains(p.body, `<a href="/console/alerts/`+a.ID+`">Root login</a>`) {
			t.Error("list does not link to the alert page")
		}
	})
}
