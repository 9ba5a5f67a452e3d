package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

func TestDetectionQueryPlansUseIndexes(t *testing.T) {
	db := openTemp(t)
	now := time.Now()
	cursor := &aip.Cursor{Time: now.Add(-time.Minute), ID: "x"}
	week := aip.TimeRange{From: now.Add(-7 * 24 * time.Hour), Until: now}
	active := aip.AlertFilter{OrgID: "org", Status: aip.AlertActive, Limit: 100}
	with := func(f aip.AlertFilter, change func(*aip.AlertFilter)) aip.AlertFilter {
		change(&f)
		return f
	}
	alerts := []struct {
		name  string
		f     aip.AlertFilter
		index string
	}{
		{"status", active, "alerts_status"},
		{"status page 5000", with(active, func(f *aip.AlertFilter) { f.After = cursor }), "alerts_status"},
		{"dismissed in a range, deep page", with(active, func(f *aip.AlertFilter) {
			f.Status, f.Range, f.After = aip.AlertDismissed, week, cursor
		}), "alerts_status"},
		{"severity", with(active, func(f *aip.AlertFilter) { f.Severity, f.After = 1, cursor }), "alerts_severity"},
		{"agent", with(active, func(f *aip.AlertFilter) { f.AgentID, f.After = "a", cursor }), "alerts_agent"},
		{"rule", with(active, func(f *aip.AlertFilter) { f.RuleID, f.After = "r", cursor }), "alerts_rule"},
		{"ruleset in a range", with(active, func(f *aip.AlertFilter) { f.RulesetID, f.Range = "rs", week }), "alerts_ruleset"},
	}
	for _, tt := range alerts {
		t.Run("alerts by "+tt.name+" seek "+tt.index+" without sorting", func(t *testing.T) {
			q, args := storeutil.AlertQuery(tt.f)
			checkSeek(t, queryPlan(t, db, q, args...), "alerts", tt.index)
		})
	}
	t.Run("severity counts seek the covering severity index over the range", func(t *testing.T) {
		q, args := storeutil.SeverityCountQuery("org", aip.AlertActive, week)
		plan := queryPlan(t, db, q, args...)
		want := "SEARCH alerts USING COVERING INDEX alerts_severity (org_id=? AND severity=? AND dismissed=? AND created_at>? AND created_at<?)"
		if n := strings.Count(plan, want); n != 3 || strings.Contains(plan, "SCAN alerts") {
			t.Errorf("plan = %q, want three times %q", plan, want)
		}
	})
	t.Run("agents page seeks the org creation index without sorting", func(t *testing.T) {
		q, args := storeutil.AgentQuery(aip.AgentFilter{OrgID: "org", Status: aip.AgentOnline, OnlineSince: now,
			Hostname: "h", Range: week, After: cursor, Limit: 100})
		checkSeek(t, queryPlan(t, db, q, args...), "agents", "agents_org_created")
	})
	t.Run("events of an alert page by the link time index", func(t *testing.T) {
		q, args := storeutil.AlertEventsQuery("o", "a", cursor, 10)
		plan := queryPlan(t, db, q, args...)
		if !strings.Contains(plan, "USING COVERING INDEX alert_events_time") ||
			!strings.Contains(plan, "USING INDEX events_org_time_id") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("plan = %q, want index seeks on alert_events_time and events_org_time_id, no sort", plan)
		}
	})
}

// checkSeek fails unless plan searches table through index, without a scan
// or a temporary sort.
func checkSeek(t *testing.T, plan, table, index string) {
	t.Helper()
	if !strings.HasPrefix(plan, "SEARCH "+table+" USING INDEX "+index+" (") ||
		strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "SCAN") {
		t.Errorf("plan = %q, want a search of %s using %s and no sort", plan, table, index)
	}
}

// benchEvents returns n events of about 400 bytes, the size of a typical
// audit event.
func benchEvents(n int) []*aip.Event {
	evs := make([]*aip.Event, n)
	at := time.Now()
	for i := range evs {
		id := aip.NewUUID()
		raw := fmt.Sprintf(`{"_id":%q,"event_type":"audit","agent_id":"3f2b8c1e-0000-4000-8000-000000000001",`+
			`"timestamp":%d,"syscall":"execve","type":"start","command":"sudo","exe":"/usr/bin/sudo",`+
			`"user":"root","auser":"ubuntu","uid":0,"auid":1000,"pid":%d,"ppid":1,"cwd":"/home/ubuntu",`+
			`"arguments":"sudo systemctl restart nginx","hostname":"web-1","session":42,"tty":"pts0"}`,
			id, at.UnixMilli(), i)
		evs[i] = &aip.Event{ID: id, AgentID: "3f2b8c1e-0000-4000-8000-000000000001", Type: "audit",
			Time: at, Raw: json.RawMessage(raw)}
	}
	return evs
}

// BenchmarkInsertEvents measures durable ingest: batches of 500 events,
// one transaction each, committed before the call returns.
func BenchmarkInsertEvents(b *testing.B) {
	ctx := context.Background()
	db := openAt(b, filepath.Join(b.TempDir(), "aip.db"))
	org := &aip.Organization{Name: "bench"}
	if err := db.CreateOrganization(ctx, org); err != nil {
		b.Fatal(err)
	}
	const batch = 500
	batches := make([][]*aip.Event, 64)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		k := i % len(batches)
		batches[k] = benchEvents(batch) // fresh ids: every event is new
		b.StartTimer()
		if _, err := db.InsertEvents(ctx, org.ID, batches[k]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkListAlerts compares the first page of active alerts with page
// 5000, among 1M alerts (900k active); both must cost the same.
func BenchmarkListAlerts(b *testing.B) {
	ctx := context.Background()
	db := openAt(b, filepath.Join(b.TempDir(), "aip.db"))
	org := &aip.Organization{Name: "bench"}
	if err := db.CreateOrganization(ctx, org); err != nil {
		b.Fatal(err)
	}
	const total = 1_000_000
	start := time.Now().Add(-total * time.Second)
	// Bulk load in a few transactions; CreateAlert one by one would take minutes.
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for i := range total {
			dismissed := i%10 == 0
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO alerts (id, org_id, title, data_source, created_at, dismissed, dismiss_reason,
					dismiss_reason_text, dismissed_by, severity, agent_id, rule_id, ruleset_id, aggregates,
					event_count, expires_at, last_event_at, agg_key)
				VALUES (?, ?, 'title', 'agent', ?, ?, '', '', '', ?, 'agent', 'rule', 'rs', '[]', 1, 0, 0, '')`,
				aip.NewUUID(), org.ID, toMillis(start.Add(time.Duration(i)*time.Second)), dismissed, i%3+1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// The cursor of page 5000 (100 per page, newest first).
	const deepPage = 5000
	f := aip.AlertFilter{OrgID: org.ID, Status: aip.AlertActive, Limit: 100}
	deep := f
	{
		var id string
		var ms int64
		if err := db.read.QueryRowContext(ctx, `SELECT created_at, id FROM alerts WHERE org_id = ? AND dismissed = 0
			ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?`, org.ID, (deepPage-1)*100-1).Scan(&ms, &id); err != nil {
			b.Fatal(err)
		}
		deep.After = &aip.Cursor{Time: fromMillis(ms), ID: id}
	}
	for _, bb := range []struct {
		name string
		f    aip.AlertFilter
	}{{"page 1", f}, {fmt.Sprintf("page %d", deepPage), deep}} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				got, err := db.ListAlerts(ctx, bb.f)
				if err != nil || len(got) != 100 {
					b.Fatalf("ListAlerts = %d alerts, %v", len(got), err)
				}
			}
		})
	}
}
