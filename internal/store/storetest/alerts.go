package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// newEvent returns an event of agentID at time at.
func newEvent(agentID string, at time.Time) *aip.Event {
	id := aip.NewUUID()
	raw := fmt.Sprintf(`{"_id":%q,"event_type":"audit","agent_id":%q,"timestamp":%d,"command":"sudo"}`,
		id, agentID, at.UnixMilli())
	return &aip.Event{ID: id, AgentID: agentID, Type: "audit", Time: at, Raw: json.RawMessage(raw)}
}

func mustEvents(t *testing.T, s aip.Store, orgID string, evs ...*aip.Event) {
	t.Helper()
	fresh, err := s.InsertEvents(t.Context(), orgID, evs)
	if err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
	for i, f := range fresh {
		if !f {
			t.Fatalf("event %d (%s) not new", i, evs[i].ID)
		}
	}
}

func eventIDs(evs []*aip.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func testEvents(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")
	a, b := newEvent("agent", base), newEvent("agent", base.Add(time.Second))

	t.Run("new events are reported new", func(t *testing.T) {
		fresh, err := s.InsertEvents(ctx, org.ID, []*aip.Event{a, b})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{true, true}, fresh); diff != "" {
			t.Errorf("fresh mismatch (-want +got):\n%s", diff)
		}
		checkStoredTime(t, "ReceivedAt", a.ReceivedAt)
	})
	t.Run("re-sent ids are accepted and not new, in and across batches", func(t *testing.T) {
		c := newEvent("agent", base)
		dupA := *a
		fresh, err := s.InsertEvents(ctx, org.ID, []*aip.Event{&dupA, c, c, b})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{false, true, false, false}, fresh); diff != "" {
			t.Errorf("fresh mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("the same id is new in another organization", func(t *testing.T) {
		dup := *a
		fresh, err := s.InsertEvents(ctx, other.ID, []*aip.Event{&dup})
		if err != nil {
			t.Fatal(err)
		}
		if !fresh[0] {
			t.Error("event of another org reported as a repeat")
		}
	})
	t.Run("a batch larger than one statement keeps its order", func(t *testing.T) {
		var evs []*aip.Event
		for i := range 150 {
			evs = append(evs, newEvent("agent", base.Add(time.Duration(i)*time.Millisecond)))
		}
		evs[100] = evs[3] // a repeat in a later chunk
		fresh, err := s.InsertEvents(ctx, org.ID, evs)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range fresh {
			if want := i != 100; f != want {
				t.Errorf("fresh[%d] = %v, want %v", i, f, want)
			}
		}
	})
	t.Run("rejects events without id or body and unknown orgs", func(t *testing.T) {
		_, err := s.InsertEvents(ctx, org.ID, []*aip.Event{{Raw: json.RawMessage(`{}`)}})
		wantCode(t, err, aip.EINVALID)
		_, err = s.InsertEvents(ctx, org.ID, []*aip.Event{{ID: aip.NewUUID()}})
		wantCode(t, err, aip.EINVALID)
		_, err = s.InsertEvents(ctx, aip.NewID24(), []*aip.Event{newEvent("agent", base)})
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("an empty batch is fine", func(t *testing.T) {
		fresh, err := s.InsertEvents(ctx, org.ID, nil)
		if err != nil || len(fresh) != 0 {
			t.Errorf("InsertEvents(nil) = %v, %v", fresh, err)
		}
	})
}

// newAlert returns an alert of orgID created at at.
func newAlert(orgID string, at time.Time, severity int, agentID, ruleID, rulesetID string) *aip.Alert {
	return &aip.Alert{
		OrgID: orgID, Title: "sudo run by root", DataSource: aip.DataSourceAgent,
		CreatedAt: aip.Time{Time: at}, Severity: severity, AgentID: agentID, RuleID: ruleID, RulesetID: rulesetID,
		Aggregates: []aip.Aggregate{{FieldName: "user", Value: "root"}, {FieldName: "exe", Value: "/usr/bin/sudo"}},
		ExpiresAt:  aip.Time{Time: at.Add(time.Hour)}, Key: "rule|agent|root",
	}
}

func mustAlert(t *testing.T, s aip.Store, a *aip.Alert, events ...*aip.Event) *aip.Alert {
	t.Helper()
	if err := s.CreateAlert(t.Context(), a, events, nil); err != nil {
		t.Fatalf("CreateAlert: %v", err)
	}
	return a
}

func alertIDs(as []*aip.Alert) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func testAlerts(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	e1, e2, e3 := newEvent("ag", base), newEvent("ag", base.Add(time.Second)), newEvent("ag", base.Add(2*time.Second))
	mustEvents(t, s, org.ID, e1, e2, e3)
	a := mustAlert(t, s, newAlert(org.ID, base, 1, "ag", "rule", "rs"), e1, e1, e2)

	t.Run("create counts distinct events", func(t *testing.T) {
		if !aip.IsUUID(a.ID) || a.EventCount != 2 {
			t.Errorf("ID, EventCount = %q, %d; want a UUID, 2", a.ID, a.EventCount)
		}
		got, err := s.FindAlert(ctx, org.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *a
		want.LastEventAt = want.CreatedAt
		if diff := cmp.Diff(&want, got, timeOpts); diff != "" {
			t.Errorf("FindAlert mismatch (-want +got):\n%s", diff)
		}
		checkStoredTime(t, "CreatedAt", got.CreatedAt.Time)
	})
	t.Run("wire form has the decided fields", func(t *testing.T) {
		got, err := s.FindAlert(ctx, org.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		if string(m["aggregates"]) != `[{"fieldName":"user","value":"root"},{"fieldName":"exe","value":"/usr/bin/sudo"}]` {
			t.Errorf("aggregates = %s", m["aggregates"])
		}
		for _, k := range []string{"dataSource", "eventCount", "expiresAt", "lastEventAt", "isDismissed"} {
			if _, ok := m[k]; !ok {
				t.Errorf("JSON lacks %s: %s", k, out)
			}
		}
		for _, k := range []string{"dismissedAt", "dismissReason", "dismissReasonText", "dismissedBy"} {
			if _, ok := m[k]; ok {
				t.Errorf("active alert's JSON has %s: %s", k, out)
			}
		}
	})
	t.Run("adding events never counts one twice", func(t *testing.T) {
		later := base.Add(time.Minute)
		n, err := s.AddAlertEvents(ctx, org.ID, a.ID, []*aip.Event{e2, e3, e3}, later)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("added = %d, want 1", n)
		}
		n, err = s.AddAlertEvents(ctx, org.ID, a.ID, []*aip.Event{e1, e2, e3}, base)
		if err != nil || n != 0 {
			t.Errorf("re-adding = %d, %v; want 0, nil", n, err)
		}
		got, err := s.FindAlert(ctx, org.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.EventCount != 3 || !got.LastEventAt.Equal(later.Truncate(time.Millisecond)) {
			t.Errorf("EventCount, LastEventAt = %d, %v; want 3, %v", got.EventCount, got.LastEventAt, later)
		}
	})
	t.Run("unknown events and alerts are not found and change nothing", func(t *testing.T) {
		_, err := s.AddAlertEvents(ctx, org.ID, a.ID, []*aip.Event{e1, newEvent("ag", base)}, base)
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.AddAlertEvents(ctx, org.ID, aip.NewUUID(), []*aip.Event{e1}, base)
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.CreateAlert(ctx, newAlert(org.ID, base, 1, "", "", ""), []*aip.Event{newEvent("ag", base)}, nil), aip.ENOTFOUND)
		wantCode(t, s.CreateAlert(ctx, newAlert(aip.NewID24(), base, 1, "", "", ""), nil, nil), aip.ENOTFOUND)
		_, err = s.FindAlert(ctx, org.ID, aip.NewUUID())
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("rejects a bad severity", func(t *testing.T) {
		wantCode(t, s.CreateAlert(ctx, newAlert(org.ID, base, 4, "", "", ""), nil, nil), aip.EINVALID)
	})
	t.Run("events of an alert page newest first", func(t *testing.T) {
		var got []string
		var after *aip.Cursor
		for range 5 {
			page, err := s.ListAlertEvents(ctx, org.ID, a.ID, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, eventIDs(page)...)
			if len(page) < 2 {
				break
			}
			last := page[len(page)-1]
			after = &aip.Cursor{Time: last.Time, ID: last.ID}
		}
		if diff := cmp.Diff([]string{e3.ID, e2.ID, e1.ID}, got); diff != "" {
			t.Errorf("ListAlertEvents mismatch (-want +got):\n%s", diff)
		}
		page, err := s.ListAlertEvents(ctx, org.ID, a.ID, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(e3.Raw), string(page[0].Raw)); diff != "" {
			t.Errorf("event body mismatch (-want +got):\n%s", diff)
		}
		_, err = s.ListAlertEvents(ctx, org.ID, aip.NewUUID(), nil, 10)
		wantCode(t, err, aip.ENOTFOUND)
	})
}

func testAlertListing(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	// Twelve alerts a minute apart, alerts 4 and 5 at the same instant;
	// severity, agent, rule and ruleset cycle with different periods.
	var all []*aip.Alert
	for i := range 12 {
		at := base.Add(time.Duration(i) * time.Minute)
		if i == 5 {
			at = all[4].CreatedAt.Time
		}
		all = append(all, mustAlert(t, s, newAlert(org.ID, at, i%3+1,
			fmt.Sprintf("agent-%d", i%2), fmt.Sprintf("rule-%d", i%4), fmt.Sprintf("rs-%d", i%2))))
	}
	dismissed := []string{all[0].ID, all[7].ID}
	if n, err := s.DismissAlerts(ctx, org.ID, dismissed, aip.Dismissal{Reason: aip.DismissMaintenance, By: "u"}); err != nil || n != 2 {
		t.Fatalf("DismissAlerts = %d, %v", n, err)
	}
	isDismissed := func(a *aip.Alert) bool { return a.ID == dismissed[0] || a.ID == dismissed[1] }
	pick := func(keep func(i int, a *aip.Alert) bool) []string {
		var ids []string
		for i, a := range all {
			if keep(i, a) {
				ids = append(ids, a.ID)
			}
		}
		sortNewestFirst(ids, func(id string) time.Time {
			for _, a := range all {
				if a.ID == id {
					return a.CreatedAt.Time
				}
			}
			return time.Time{}
		})
		return ids
	}
	active := func(f func(i int, a *aip.Alert) bool) []string {
		return pick(func(i int, a *aip.Alert) bool { return !isDismissed(a) && f(i, a) })
	}
	tests := []struct {
		name string
		f    aip.AlertFilter
		want []string
	}{
		{"active", aip.AlertFilter{Status: aip.AlertActive}, active(func(int, *aip.Alert) bool { return true })},
		{"dismissed", aip.AlertFilter{Status: aip.AlertDismissed}, pick(func(_ int, a *aip.Alert) bool { return isDismissed(a) })},
		{"severity", aip.AlertFilter{Status: aip.AlertActive, Severity: 2}, active(func(i int, _ *aip.Alert) bool { return i%3 == 1 })},
		{"agent", aip.AlertFilter{Status: aip.AlertActive, AgentID: "agent-1"}, active(func(i int, _ *aip.Alert) bool { return i%2 == 1 })},
		{"rule", aip.AlertFilter{Status: aip.AlertActive, RuleID: "rule-3"}, active(func(i int, _ *aip.Alert) bool { return i%4 == 3 })},
		{"ruleset", aip.AlertFilter{Status: aip.AlertActive, RulesetID: "rs-0"}, active(func(i int, _ *aip.Alert) bool { return i%2 == 0 })},
		{"range", aip.AlertFilter{Status: aip.AlertActive, Range: aip.TimeRange{From: all[3].CreatedAt.Time, Until: all[8].CreatedAt.Time}},
			active(func(i int, _ *aip.Alert) bool { return i >= 3 && i < 8 })},
		{"severity and rule", aip.AlertFilter{Status: aip.AlertActive, Severity: 1, RuleID: "rule-0"}, active(func(i int, _ *aip.Alert) bool { return i%3 == 0 && i%4 == 0 })},
	}
	for _, tt := range tests {
		t.Run(tt.name+" selects its alerts newest first, whole and in pages", func(t *testing.T) {
			f := tt.f
			f.OrgID, f.Limit = org.ID, 100
			got, err := s.ListAlerts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, alertIDs(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ListAlerts mismatch (-want +got):\n%s", diff)
			}
			var paged []string
			f.Limit = 2
			for range 20 {
				page, err := s.ListAlerts(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, alertIDs(page)...)
				if len(page) < 2 {
					break
				}
				last := page[len(page)-1]
				f.After = &aip.Cursor{Time: last.CreatedAt.Time, ID: last.ID}
			}
			if diff := cmp.Diff(tt.want, paged, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("paged ListAlerts mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("severity counts list 1, 2 and 3 always", func(t *testing.T) {
		got, err := s.CountAlertsBySeverity(ctx, org.ID, aip.AlertActive, aip.TimeRange{})
		if err != nil {
			t.Fatal(err)
		}
		want := []aip.SeverityCount{{Severity: 1, Count: 3}, {Severity: 2, Count: 3}, {Severity: 3, Count: 4}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("active counts mismatch (-want +got):\n%s", diff)
		}
		got, err = s.CountAlertsBySeverity(ctx, org.ID, "", aip.TimeRange{Until: all[1].CreatedAt.Time})
		if err != nil {
			t.Fatal(err)
		}
		want = []aip.SeverityCount{{Severity: 1, Count: 1}, {Severity: 2, Count: 0}, {Severity: 3, Count: 0}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ranged counts mismatch (-want +got):\n%s", diff)
		}
		got, err = s.CountAlertsBySeverity(ctx, aip.NewID24(), "", aip.TimeRange{})
		if err != nil {
			t.Fatal(err)
		}
		want = []aip.SeverityCount{{Severity: 1}, {Severity: 2}, {Severity: 3}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("empty counts mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("rejects bad parameters", func(t *testing.T) {
		for _, f := range []aip.AlertFilter{
			{OrgID: org.ID, Limit: 10},
			{OrgID: org.ID, Limit: 10, Status: "open"},
			{OrgID: org.ID, Limit: 10, Status: aip.AlertActive, Severity: 4},
			{OrgID: org.ID, Status: aip.AlertActive},
			{Limit: 10, Status: aip.AlertActive},
		} {
			_, err := s.ListAlerts(ctx, f)
			wantCode(t, err, aip.EINVALID)
		}
	})
}

func testDismissAlerts(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	var all []*aip.Alert
	for i := range 6 {
		all = append(all, mustAlert(t, s, newAlert(org.ID, base.Add(time.Duration(i)*time.Hour), i%3+1, "ag", fmt.Sprintf("rule-%d", i%2), "rs")))
	}
	at := base.Add(24 * time.Hour)
	d := aip.Dismissal{Reason: aip.DismissOther, Text: "known job", By: "someone@example.com", At: at}
	t.Run("by ids dismisses active alerts once and records who, when and why", func(t *testing.T) {
		n, err := s.DismissAlerts(ctx, org.ID, []string{all[0].ID, all[1].ID, aip.NewUUID()}, d)
		if err != nil || n != 2 {
			t.Fatalf("DismissAlerts = %d, %v; want 2", n, err)
		}
		n, err = s.DismissAlerts(ctx, org.ID, []string{all[0].ID}, aip.Dismissal{Reason: aip.DismissMaintenance})
		if err != nil || n != 0 {
			t.Fatalf("second DismissAlerts = %d, %v; want 0", n, err)
		}
		got, err := s.FindAlert(ctx, org.ID, all[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.IsDismissed || !got.DismissedAt.Equal(at.Truncate(time.Millisecond)) || got.DismissReason != aip.DismissOther ||
			got.DismissReasonText != "known job" || got.DismissedBy != "someone@example.com" {
			t.Errorf("dismissed alert = %+v", got)
		}
	})
	t.Run("by ids refuses more than 512", func(t *testing.T) {
		ids := make([]string, aip.MaxDismissIDs+1)
		for i := range ids {
			ids[i] = aip.NewUUID()
		}
		_, err := s.DismissAlerts(ctx, org.ID, ids, d)
		wantCode(t, err, aip.EINVALID)
		n, err := s.DismissAlerts(ctx, org.ID, ids[:aip.MaxDismissIDs], d)
		if err != nil || n != 0 {
			t.Errorf("512 unknown ids = %d, %v; want 0, nil", n, err)
		}
	})
	t.Run("by query dismisses what matches and counts it", func(t *testing.T) {
		f := aip.AlertFilter{OrgID: org.ID, RuleID: "rule-1", Range: aip.TimeRange{Until: all[5].CreatedAt.Time}}
		n, err := s.DismissAlertsMatching(ctx, f, d)
		if err != nil {
			t.Fatal(err)
		}
		// rule-1: alerts 1 (already dismissed), 3 and 5 (outside the range).
		if n != 1 {
			t.Errorf("dismissed %d, want 1", n)
		}
		got, err := s.ListAlerts(ctx, aip.AlertFilter{OrgID: org.ID, Status: aip.AlertActive, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{all[5].ID, all[4].ID, all[2].ID}, alertIDs(got)); diff != "" {
			t.Errorf("active alerts mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("needs a reason", func(t *testing.T) {
		_, err := s.DismissAlerts(ctx, org.ID, []string{all[5].ID}, aip.Dismissal{})
		wantCode(t, err, aip.EINVALID)
		_, err = s.DismissAlertsMatching(ctx, aip.AlertFilter{OrgID: org.ID}, aip.Dismissal{})
		wantCode(t, err, aip.EINVALID)
	})
}

func testEventRetention(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")
	old := base.Add(-100 * time.Hour)
	var olds []*aip.Event
	for i := range 5 {
		e := newEvent("ag", old)
		e.ReceivedAt = old.Add(time.Duration(i) * time.Second)
		olds = append(olds, e)
	}
	fresh := newEvent("ag", base)
	fresh.ReceivedAt = base
	mustEvents(t, s, org.ID, olds[0], olds[1], olds[2], fresh)
	mustEvents(t, s, other.ID, olds[3], olds[4])
	alert := mustAlert(t, s, newAlert(org.ID, old, 1, "ag", "r", "rs"), olds[1])

	cutoff := base.Add(-72 * time.Hour)
	n, err := s.DeleteExpiredEvents(ctx, cutoff, 2)
	if err != nil || n != 2 {
		t.Fatalf("first DeleteExpiredEvents = %d, %v; want 2 (the limit)", n, err)
	}
	n, err = s.DeleteExpiredEvents(ctx, cutoff, 100)
	if err != nil || n != 2 {
		t.Fatalf("second DeleteExpiredEvents = %d, %v; want 2", n, err)
	}
	n, err = s.DeleteExpiredEvents(ctx, cutoff, 100)
	if err != nil || n != 0 {
		t.Fatalf("third DeleteExpiredEvents = %d, %v; want 0", n, err)
	}
	t.Run("linked and recent events survive, others are gone", func(t *testing.T) {
		got, err := s.ListAlertEvents(ctx, org.ID, alert.ID, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{olds[1].ID}, eventIDs(got)); diff != "" {
			t.Errorf("linked events mismatch (-want +got):\n%s", diff)
		}
		// A deleted event is new again; a surviving one is not.
		for _, tt := range []struct {
			org  string
			e    *aip.Event
			want bool
		}{
			{org.ID, olds[0], true}, {org.ID, olds[1], false}, {org.ID, olds[2], true}, {org.ID, fresh, false},
			{other.ID, olds[3], true}, {other.ID, olds[4], true},
		} {
			e := *tt.e
			got, err := s.InsertEvents(ctx, tt.org, []*aip.Event{&e})
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != tt.want {
				t.Errorf("event %s new = %v, want %v", e.ID, got[0], tt.want)
			}
		}
	})
	t.Run("rejects a non-positive limit", func(t *testing.T) {
		_, err := s.DeleteExpiredEvents(ctx, cutoff, 0)
		wantCode(t, err, aip.EINVALID)
	})
}

func testAlertIsolation(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	mine := mustOrg(t, s, "mine")
	theirs := mustOrg(t, s, "theirs")
	myEvent, theirEvent := newEvent("ag", base), newEvent("ag", base)
	mustEvents(t, s, mine.ID, myEvent)
	mustEvents(t, s, theirs.ID, theirEvent)
	my := mustAlert(t, s, newAlert(mine.ID, base, 1, "ag", "rule", "rs"), myEvent)
	their := mustAlert(t, s, newAlert(theirs.ID, base.Add(time.Second), 1, "ag", "rule", "rs"), theirEvent)

	t.Run("lists and counts only its own alerts", func(t *testing.T) {
		for _, f := range []aip.AlertFilter{
			{Status: aip.AlertActive}, {Status: aip.AlertActive, Severity: 1}, {Status: aip.AlertActive, AgentID: "ag"},
			{Status: aip.AlertActive, RuleID: "rule"}, {Status: aip.AlertActive, RulesetID: "rs"},
			{Status: aip.AlertActive, After: &aip.Cursor{Time: base.Add(time.Hour), ID: their.ID}},
		} {
			f.OrgID, f.Limit = mine.ID, 100
			got, err := s.ListAlerts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{my.ID}, alertIDs(got)); diff != "" {
				t.Errorf("ListAlerts(%+v) mismatch (-want +got):\n%s", f, diff)
			}
		}
		counts, err := s.CountAlertsBySeverity(ctx, mine.ID, "", aip.TimeRange{})
		if err != nil {
			t.Fatal(err)
		}
		if counts[0].Count != 1 {
			t.Errorf("severity 1 count = %d, want 1", counts[0].Count)
		}
	})
	t.Run("cannot read, extend or dismiss another org's alert", func(t *testing.T) {
		_, err := s.FindAlert(ctx, mine.ID, their.ID)
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.ListAlertEvents(ctx, mine.ID, their.ID, nil, 10)
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.AddAlertEvents(ctx, mine.ID, their.ID, []*aip.Event{myEvent}, base)
		wantCode(t, err, aip.ENOTFOUND)
		n, err := s.DismissAlerts(ctx, mine.ID, []string{their.ID}, aip.Dismissal{Reason: aip.DismissMaintenance})
		if err != nil || n != 0 {
			t.Errorf("DismissAlerts of their alert = %d, %v; want 0", n, err)
		}
		got, err := s.FindAlert(ctx, theirs.ID, their.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.IsDismissed || got.EventCount != 1 {
			t.Errorf("their alert changed: %+v", got)
		}
	})
	t.Run("cannot link another org's event", func(t *testing.T) {
		_, err := s.AddAlertEvents(ctx, mine.ID, my.ID, []*aip.Event{theirEvent}, base)
		wantCode(t, err, aip.ENOTFOUND)
		got, err := s.ListAlertEvents(ctx, mine.ID, my.ID, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{myEvent.ID}, eventIDs(got)); diff != "" {
			t.Errorf("events of my alert mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("dismiss by query stays inside the org", func(t *testing.T) {
		n, err := s.DismissAlertsMatching(ctx, aip.AlertFilter{OrgID: mine.ID, RuleID: "rule"}, aip.Dismissal{Reason: aip.DismissMaintenance})
		if err != nil || n != 1 {
			t.Fatalf("DismissAlertsMatching = %d, %v; want 1", n, err)
		}
		got, err := s.FindAlert(ctx, theirs.ID, their.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.IsDismissed {
			t.Error("their alert was dismissed")
		}
	})
}
