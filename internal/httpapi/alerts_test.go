package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

// alertsFixture is a rules fixture with fixed rule, ruleset and agent ids.
type alertsFixture struct {
	*rulesFixture
	ruleA, ruleB, rulesetA, rulesetB, agentA, agentB string
}

func newAlertsFixture(t *testing.T) *alertsFixture {
	t.Helper()
	return &alertsFixture{rulesFixture: newRulesFixture(t),
		ruleA: aip.NewUUID(), ruleB: aip.NewUUID(), rulesetA: aip.NewUUID(), rulesetB: aip.NewUUID(),
		agentA: aip.NewUUID(), agentB: aip.NewUUID()}
}

// alert stores an alert of orgID created age ago, with its events, changed
// by mod.
func (f *alertsFixture) alert(t testing.TB, orgID string, age time.Duration, mod func(a *aip.Alert), events ...*aip.Event) *aip.Alert {
	t.Helper()
	at := f.h.clock.Now().Add(-age)
	a := &aip.Alert{OrgID: orgID, Title: "sudo by root", DataSource: aip.DataSourceAgent,
		CreatedAt: aip.Time{Time: at}, Severity: 2, AgentID: f.agentA, RuleID: f.ruleA, RulesetID: f.rulesetA,
		Aggregates: []aip.Aggregate{{FieldName: "user", Value: "root"}},
		ExpiresAt:  aip.Time{Time: at.Add(time.Hour)}}
	if mod != nil {
		mod(a)
	}
	if err := f.h.store.CreateAlert(context.Background(), a, events, nil); err != nil {
		t.Fatalf("create alert: %v", err)
	}
	return a
}

// events stores n audit events of orgID, the newest first in the result.
func (f *alertsFixture) events(t testing.TB, orgID string, n int) []*aip.Event {
	t.Helper()
	evs := make([]*aip.Event, n)
	for i := range n {
		at := f.h.clock.Now().Add(-time.Duration(i+1) * time.Second).Truncate(time.Millisecond)
		id := aip.NewUUID()
		raw := fmt.Sprintf(`{"_id":%q,"event_type":"audit","timestamp":%d,"command":"sudo","user":"root","n":%d}`, id, at.UnixMilli(), i)
		evs[i] = &aip.Event{ID: id, OrgID: orgID, AgentID: f.agentA, Type: "audit", Time: at, Raw: json.RawMessage(raw)}
	}
	if _, err := f.h.store.InsertEvents(context.Background(), orgID, evs); err != nil {
		t.Fatalf("insert events: %v", err)
	}
	return evs
}

// alertPage is the decoded answer of GET /v2/alerts.
type alertPage struct {
	Alerts []*aip.Alert `json:"alerts"`
	Token  *string      `json:"token"`
}

func alertIDs(as []*aip.Alert) []string {
	ids := []string{}
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	return ids
}

func (f *alertsFixture) listAlerts(t *testing.T, as account, query string) (alertPage, reply) {
	t.Helper()
	r, art := f.h.signedDo(t, as, http.MethodGet, "/v2/alerts?"+query, nil)
	var p alertPage
	if r.Status == http.StatusOK {
		verifySigned(t, as, art, r)
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
	}
	return p, r
}

func TestListAlerts(t *testing.T) {
	f := newAlertsFixture(t)
	h := f.h
	old := f.alert(t, f.orgA, 48*time.Hour, func(a *aip.Alert) { a.Severity = 1 })
	other := f.alert(t, f.orgA, 3*time.Hour, func(a *aip.Alert) {
		a.Severity, a.RuleID, a.RulesetID, a.AgentID = 3, f.ruleB, f.rulesetB, f.agentB
	})
	cloud := f.alert(t, f.orgA, 2*time.Hour, func(a *aip.Alert) {
		a.DataSource, a.AgentID, a.Aggregates = aip.DataSourceCloudTrail, "", nil
	})
	dismissed := f.alert(t, f.orgA, time.Hour, func(a *aip.Alert) {
		a.IsDismissed, a.DismissedAt = true, aip.Time{Time: h.clock.Now()}
		a.DismissReason, a.DismissReasonText, a.DismissedBy = aip.DismissOther, "test", f.owner.UserID
	})
	inB := f.alert(t, f.orgB, time.Minute, nil)

	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{name: "lists active alerts newest first", query: "status=active", want: []string{cloud.ID, other.ID, old.ID}},
		{name: "lists dismissed alerts", query: "status=dismissed", want: []string{dismissed.ID}},
		{name: "filters by severity", query: "status=active&severity=1", want: []string{old.ID}},
		{name: "filters by agent", query: "status=active&agentId=" + f.agentB, want: []string{other.ID}},
		{name: "filters by rule", query: "status=active&ruleId=" + f.ruleB, want: []string{other.ID}},
		{name: "filters by ruleset", query: "status=active&rulesetId=" + f.rulesetA, want: []string{cloud.ID, old.ID}},
		{name: "filters dismissed alerts by rule", query: "status=dismissed&ruleId=" + f.ruleA, want: []string{dismissed.ID}},
		{name: "filters by creation time", query: "status=active&from=" + aip.FormatTime(h.clock.Now().Add(-4*time.Hour)) + "&until=" + aip.FormatTime(h.clock.Now().Add(-150*time.Minute)), want: []string{other.ID}},
		{name: "ignores a malformed key", query: "status=active&severity1&from=" + h.clock.Now().Add(-24*time.Hour).Format("2006-01-02T15:04:05.000000"), want: []string{cloud.ID, other.ID}},
		{name: "combines filters", query: "status=active&agentId=" + f.agentA + "&ruleId=" + f.ruleB, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := f.listAlerts(t, f.reader, tt.query)
			wantStatus(t, r, http.StatusOK, "")
			if diff := cmp.Diff(tt.want, alertIDs(p.Alerts)); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
			if p.Token != nil {
				t.Errorf("token = %q, want null", *p.Token)
			}
		})
	}

	t.Run("answers the alert as stored", func(t *testing.T) {
		got, _, err := h.client(t, f.owner).Alerts.Get(h.ctx(t), dismissed.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *dismissed
		want.OrgID, want.Key = "", ""
		want.LastEventAt = want.CreatedAt
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("alert (-want +got):\n%s", diff)
		}
	})

	t.Run("answers empty aggregates as an array", func(t *testing.T) {
		r, _ := h.signedDo(t, f.owner, http.MethodGet, "/v2/alerts/"+cloud.ID, nil)
		wantStatus(t, r, http.StatusOK, "")
		if !strings.Contains(string(r.Body), `"aggregates":[]`) || strings.Contains(string(r.Body), `"agentId"`) {
			t.Errorf("body %s: want aggregates [] and no agentId", r.Body)
		}
	})

	bad := []struct{ name, query, msg string }{
		{name: "rejects a missing status", query: "severity=1", msg: `"status" is required`},
		{name: "rejects an unknown status", query: "status=open", msg: `"status" must be active or dismissed`},
		{name: "rejects an unknown severity", query: "status=active&severity=4", msg: `"severity" must be 1, 2 or 3`},
		{name: "rejects until before from", query: "status=active&from=2024-02-01&until=2024-01-01", msg: "until"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, r := f.listAlerts(t, f.owner, tt.query)
			wantStatus(t, r, http.StatusBadRequest, tt.msg)
		})
	}

	for _, id := range []string{old.ID, aip.NewUUID(), "nope"} {
		t.Run("answers 404 to an alert B does not have", func(t *testing.T) {
			r, _ := h.signedDo(t, f.ownerB, http.MethodGet, "/v2/alerts/"+id, nil)
			wantStatus(t, r, http.StatusNotFound, "not found")
		})
	}

	t.Run("lists only B's alerts to B", func(t *testing.T) {
		p, r := f.listAlerts(t, f.ownerB, "status=active")
		wantStatus(t, r, http.StatusOK, "")
		if diff := cmp.Diff([]string{inB.ID}, alertIDs(p.Alerts)); diff != "" {
			t.Errorf("alerts (-want +got):\n%s", diff)
		}
	})
}

func TestListAlertsPages(t *testing.T) {
	f := newAlertsFixture(t)
	h := f.h
	var want []string
	for i := range 130 {
		want = append(want, f.alert(t, f.orgA, time.Duration(i+1)*time.Second, nil).ID)
	}
	t.Run("pages 100 then 30 with the query and the token", func(t *testing.T) {
		p1, r := f.listAlerts(t, f.owner, "status=active")
		wantStatus(t, r, http.StatusOK, "")
		if len(p1.Alerts) != 100 || p1.Token == nil {
			t.Fatalf("page 1: %d alerts, token %v; want 100 and a token", len(p1.Alerts), p1.Token)
		}
		// An alert raised while paging does not shift the pages.
		f.alert(t, f.orgA, 0, nil)
		p2, r := f.listAlerts(t, f.owner, "status=active&token="+*p1.Token)
		wantStatus(t, r, http.StatusOK, "")
		if p2.Token != nil {
			t.Errorf("page 2 token = %q, want null", *p2.Token)
		}
		if diff := cmp.Diff(want, append(alertIDs(p1.Alerts), alertIDs(p2.Alerts)...)); diff != "" {
			t.Errorf("alerts (-want +got):\n%s", diff)
		}
	})
	t.Run("rejects A's token for B", func(t *testing.T) {
		p1, _ := f.listAlerts(t, f.owner, "status=active")
		_, r := f.listAlerts(t, f.ownerB, "token="+*p1.Token)
		wantStatus(t, r, http.StatusBadRequest, "another listing")
	})
	t.Run("iterates over every alert with All", func(t *testing.T) {
		n := 0
		for _, err := range h.client(t, f.owner).Alerts.All(h.ctx(t), &client.AlertListOptions{Status: "active", Severity: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 131 {
			t.Errorf("All yielded %d alerts, want 131", n)
		}
	})
}

func TestAlertEvents(t *testing.T) {
	f := newAlertsFixture(t)
	h := f.h
	evs := f.events(t, f.orgA, 130)
	a := f.alert(t, f.orgA, time.Minute, nil, evs...)
	few := f.alert(t, f.orgA, time.Minute, nil, evs[:2]...)
	empty := f.alert(t, f.orgA, time.Minute, nil)

	t.Run("pages the events newest first as sent", func(t *testing.T) {
		var got []string
		for ev, err := range h.client(t, f.reader).Alerts.AllEvents(h.ctx(t), a.ID) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(ev.Raw))
		}
		var want []string
		for _, ev := range evs {
			want = append(want, string(ev.Raw))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})

	t.Run("answers the first page with a token", func(t *testing.T) {
		got, resp, err := h.client(t, f.owner).Alerts.Events(h.ctx(t), a.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 100 || resp.NextToken == "" {
			t.Fatalf("page 1: %d events, token %q; want 100 and a token", len(got), resp.NextToken)
		}
		if got[0].ID != evs[0].ID || got[0].Type != "audit" || !got[0].Time.Equal(evs[0].Time) {
			t.Errorf("first event %+v, want id %s at %v", got[0], evs[0].ID, evs[0].Time)
		}
		r, _ := h.signedDo(t, f.owner, http.MethodGet, "/v2/alerts/"+few.ID+"/events?token="+resp.NextToken, nil)
		wantStatus(t, r, http.StatusBadRequest, "another listing")
	})

	t.Run("answers an alert without events with an empty list", func(t *testing.T) {
		r, _ := h.signedDo(t, f.owner, http.MethodGet, "/v2/alerts/"+empty.ID+"/events", nil)
		wantStatus(t, r, http.StatusOK, "")
		if diff := cmp.Diff(`{"events":[],"token":null}`, strings.TrimSpace(string(r.Body))); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
	})

	for _, id := range []string{a.ID, aip.NewUUID(), "nope"} {
		t.Run("answers 404 to events of an alert B does not have", func(t *testing.T) {
			r, _ := h.signedDo(t, f.ownerB, http.MethodGet, "/v2/alerts/"+id+"/events", nil)
			wantStatus(t, r, http.StatusNotFound, "not found")
		})
	}
}

func TestAlertSeverityCounts(t *testing.T) {
	f := newAlertsFixture(t)
	h := f.h
	f.alert(t, f.orgA, 48*time.Hour, func(a *aip.Alert) { a.Severity = 1 })
	f.alert(t, f.orgA, time.Hour, func(a *aip.Alert) { a.Severity = 3 })
	f.alert(t, f.orgA, 2*time.Hour, func(a *aip.Alert) { a.Severity = 3 })
	f.alert(t, f.orgA, time.Hour, func(a *aip.Alert) {
		a.Severity, a.IsDismissed, a.DismissReason, a.DismissedAt = 3, true, aip.DismissMaintenance, aip.Time{Time: h.clock.Now()}
	})
	f.alert(t, f.orgB, time.Hour, nil)
	counts := func(c1, c2, c3 int) []aip.SeverityCount {
		return []aip.SeverityCount{{Severity: 1, Count: c1}, {Severity: 2, Count: c2}, {Severity: 3, Count: c3}}
	}
	day := h.clock.Now().Format("2006-01-02")
	tests := []struct {
		name string
		as   account
		opts *client.SeverityCountOptions
		want []aip.SeverityCount
	}{
		{name: "counts active alerts with zeros", as: f.reader, want: counts(1, 0, 2)},
		{name: "counts within from and until", as: f.owner, opts: &client.SeverityCountOptions{From: day, Until: day}, want: counts(0, 0, 2)},
		{name: "counts dismissed alerts", as: f.owner, opts: &client.SeverityCountOptions{Status: "dismissed"}, want: counts(0, 0, 1)},
		{name: "counts only B's alerts for B", as: f.ownerB, want: counts(0, 1, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := h.client(t, tt.as).Alerts.SeverityCounts(h.ctx(t), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
	for _, q := range []string{"status=all", "from=2024-02-01&until=2024-01-01", "from=nope"} {
		t.Run("rejects "+q, func(t *testing.T) {
			r, _ := h.signedDo(t, f.owner, http.MethodGet, "/v2/alerts/severity-counts?"+q, nil)
			wantStatus(t, r, http.StatusBadRequest, "")
		})
	}
}

// TestAlertRoutes pins that the literal alert paths win over
// /v2/alerts/{alertId} in the mux.
func TestAlertRoutes(t *testing.T) {
	f := newAlertsFixture(t)
	tests := []struct {
		name, method, target, body, want string
		status                           int
	}{
		{name: "serves severity counts, not an alert", method: http.MethodGet, target: "/v2/alerts/severity-counts", status: 200, want: `"severityCounts"`},
		{name: "serves dismiss, not an alert", method: http.MethodPost, target: "/v2/alerts/dismiss", body: `{"ids":["` + aip.NewUUID() + `"],"dismissReason":"MAINTENANCE"}`, status: 200, want: `{"dismissedCount":0}`},
		{name: "answers 405 to PUT severity counts", method: http.MethodPut, target: "/v2/alerts/severity-counts", status: 405, want: "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			r, _ := f.h.signedDo(t, f.owner, tt.method, tt.target, body)
			if r.Status != tt.status || !strings.Contains(string(r.Body), tt.want) {
				t.Errorf("%s %s = %d %s, want %d with %s", tt.method, tt.target, r.Status, r.Body, tt.status, tt.want)
			}
		})
	}
}

func TestDismissAlerts(t *testing.T) {
	f := newAlertsFixture(t)
	h := f.h

	t.Run("dismisses by ids once", func(t *testing.T) {
		a1 := f.alert(t, f.orgA, time.Hour, nil)
		a2 := f.alert(t, f.orgA, time.Hour, nil)
		keep := f.alert(t, f.orgA, time.Hour, nil)
		c := h.client(t, f.user)
		req := &client.DismissRequest{IDs: []string{a1.ID, a2.ID, a1.ID, aip.NewUUID(), "nope"}, DismissReason: aip.DismissOther, DismissReasonText: "known scanner"}
		n, _, err := c.Alerts.Dismiss(h.ctx(t), req)
		if err != nil || n != 2 {
			t.Fatalf("Dismiss = %d, %v; want 2", n, err)
		}
		n, _, err = c.Alerts.Dismiss(h.ctx(t), req)
		if err != nil || n != 0 {
			t.Errorf("second Dismiss = %d, %v; want 0", n, err)
		}
		got, _, err := c.Alerts.Get(h.ctx(t), a1.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := aip.Alert{IsDismissed: true, DismissedAt: aip.Time{Time: h.clock.Now()}, DismissReason: aip.DismissOther,
			DismissReasonText: "known scanner", DismissedBy: f.user.UserID}
		gotD := aip.Alert{IsDismissed: got.IsDismissed, DismissedAt: got.DismissedAt, DismissReason: got.DismissReason,
			DismissReasonText: got.DismissReasonText, DismissedBy: got.DismissedBy}
		if diff := cmp.Diff(want, gotD); diff != "" {
			t.Errorf("dismissal (-want +got):\n%s", diff)
		}
		if k, _ := h.store.FindAlert(h.ctx(t), f.orgA, keep.ID); k.IsDismissed {
			t.Error("an alert not named was dismissed")
		}
	})

	t.Run("dismisses by query with either key spelling", func(t *testing.T) {
		h.clock.Advance(time.Hour)
		from, until := aip.FormatTime(h.clock.Now().Add(-10*time.Minute)), aip.FormatTime(h.clock.Now())
		match := f.alert(t, f.orgA, time.Minute, func(a *aip.Alert) { a.RuleID, a.AgentID, a.Severity = f.ruleB, f.agentB, 1 })
		otherSev := f.alert(t, f.orgA, time.Minute, func(a *aip.Alert) { a.RuleID, a.AgentID, a.Severity = f.ruleB, f.agentB, 3 })
		tooOld := f.alert(t, f.orgA, time.Hour, func(a *aip.Alert) { a.RuleID, a.AgentID, a.Severity = f.ruleB, f.agentB, 1 })
		f.alert(t, f.orgB, time.Minute, func(a *aip.Alert) { a.RuleID, a.AgentID, a.Severity = f.ruleB, f.agentB, 1 })
		body := fmt.Sprintf(`{"from":%q,"until":%q,"severity":1,"ruleID":%q,"agentId":%q,"dismissReason":"BUSINESS_OP","dismissReasonText":""}`, from, until, f.ruleB, f.agentB)
		r, _ := h.signedDo(t, f.owner, http.MethodPost, "/v2/alerts/dismiss", []byte(body))
		wantStatus(t, r, http.StatusOK, "")
		if diff := cmp.Diff(`{"dismissedCount":1}`, strings.TrimSpace(string(r.Body))); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
		for id, want := range map[string]bool{match.ID: true, otherSev.ID: false, tooOld.ID: false} {
			if a, err := h.store.FindAlert(h.ctx(t), f.orgA, id); err != nil || a.IsDismissed != want {
				t.Errorf("alert %s dismissed = %v (%v), want %v", id, a.IsDismissed, err, want)
			}
		}
		p, _ := f.listAlerts(t, f.ownerB, "status=active")
		if len(p.Alerts) != 1 {
			t.Errorf("B has %d active alerts after A's dismiss, want 1", len(p.Alerts))
		}
	})

	t.Run("does not dismiss A's alerts for B", func(t *testing.T) {
		a := f.alert(t, f.orgA, time.Minute, nil)
		n, _, err := h.client(t, f.ownerB).Alerts.Dismiss(h.ctx(t), &client.DismissRequest{IDs: []string{a.ID}, DismissReason: aip.DismissMaintenance})
		if err != nil || n != 0 {
			t.Errorf("B's Dismiss = %d, %v; want 0", n, err)
		}
		if got, _ := h.store.FindAlert(h.ctx(t), f.orgA, a.ID); got.IsDismissed {
			t.Error("B dismissed A's alert")
		}
	})

	t.Run("forbids readers", func(t *testing.T) {
		a := f.alert(t, f.orgA, time.Minute, nil)
		r, _ := h.signedDo(t, f.reader, http.MethodPost, "/v2/alerts/dismiss", []byte(`{"ids":["`+a.ID+`"],"dismissReason":"MAINTENANCE"}`))
		wantStatus(t, r, http.StatusForbidden, "")
		if got, _ := h.store.FindAlert(h.ctx(t), f.orgA, a.ID); got.IsDismissed {
			t.Error("a reader dismissed an alert")
		}
	})

	many := make([]string, aip.MaxDismissIDs+1)
	for i := range many {
		many[i] = aip.NewUUID()
	}
	tooMany, _ := json.Marshal(map[string]any{"ids": many, "dismissReason": "MAINTENANCE"})
	bad := []struct{ name, body, msg string }{
		{name: "rejects OTHER without a text", body: `{"ids":["` + aip.NewUUID() + `"],"dismissReason":"OTHER"}`, msg: "dismissReasonText is required"},
		{name: "rejects a text with another reason", body: `{"ids":["` + aip.NewUUID() + `"],"dismissReason":"MAINTENANCE","dismissReasonText":"x"}`, msg: "only allowed"},
		{name: "rejects an unknown reason", body: `{"ids":["` + aip.NewUUID() + `"],"dismissReason":"NONE"}`, msg: "Invalid dismissReason"},
		{name: "rejects a missing reason", body: `{"ids":["` + aip.NewUUID() + `"]}`, msg: "Invalid dismissReason"},
		{name: "rejects more than 512 ids", body: string(tooMany), msg: "at most 512"},
		{name: "rejects empty ids", body: `{"ids":[],"dismissReason":"MAINTENANCE"}`, msg: "at least one"},
		{name: "rejects ids with a query", body: `{"ids":["` + aip.NewUUID() + `"],"from":"2024-01-01","dismissReason":"MAINTENANCE"}`, msg: "cannot be combined"},
		{name: "rejects a query without until", body: `{"from":"2024-01-01","severity":1,"dismissReason":"MAINTENANCE"}`, msg: `"until"`},
		{name: "rejects until before from", body: `{"from":"2024-02-01","until":"2024-01-01","dismissReason":"MAINTENANCE"}`, msg: "until"},
		{name: "rejects a bad severity", body: `{"from":"2024-01-01","until":"2024-01-02","severity":5,"dismissReason":"MAINTENANCE"}`, msg: `"severity"`},
		{name: "rejects two different rule ids", body: `{"from":"2024-01-01","until":"2024-01-02","ruleID":"a","ruleId":"b","dismissReason":"MAINTENANCE"}`, msg: "ruleID"},
		{name: "rejects an unknown field", body: `{"ids":["x"],"dismissReason":"MAINTENANCE","why":1}`, msg: "Invalid JSON body"},
		{name: "rejects an empty body", body: ` `, msg: "JSON request body is required"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := h.signedDo(t, f.owner, http.MethodPost, "/v2/alerts/dismiss", []byte(tt.body))
			wantStatus(t, r, http.StatusBadRequest, tt.msg)
		})
	}
}
