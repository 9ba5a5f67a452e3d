package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/app"
)

// retentionEvent is an event of agent "ag" that arrived at receivedAt.
func retentionEvent(receivedAt time.Time) *aip.Event {
	id := aip.NewUUID()
	raw := fmt.Sprintf(`{"_id":%q,"event_type":"audit","agent_id":"ag","timestamp":%d}`, id, receivedAt.UnixMilli())
	return &aip.Event{ID: id, AgentID: "ag", Type: "audit", Time: receivedAt, ReceivedAt: receivedAt, Raw: json.RawMessage(raw)}
}

// seedRetention stores two old unlinked events, one old event linked to an
// alert and one recent event, and returns them in that order with the alert.
func seedRetention(t *testing.T, s aip.Store, orgID string, now time.Time) ([]*aip.Event, *aip.Alert) {
	t.Helper()
	old := now.Add(-3 * time.Hour)
	evs := []*aip.Event{retentionEvent(old), retentionEvent(old.Add(time.Second)), retentionEvent(old), retentionEvent(now)}
	if _, err := s.InsertEvents(t.Context(), orgID, evs); err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
	alert := &aip.Alert{
		OrgID: orgID, Title: "sudo run by root", DataSource: aip.DataSourceAgent, CreatedAt: aip.Time{Time: old},
		Severity: 1, AgentID: "ag", RuleID: "r", RulesetID: "rs", ExpiresAt: aip.Time{Time: old.Add(time.Hour)}, Key: "k",
	}
	if err := s.CreateAlert(t.Context(), alert, evs[2:3], nil); err != nil {
		t.Fatalf("CreateAlert: %v", err)
	}
	return evs, alert
}

// checkRetained fails unless exactly the unlinked old events are gone.
func checkRetained(t *testing.T, s aip.Store, orgID string, evs []*aip.Event, alert *aip.Alert) {
	t.Helper()
	linked, err := s.ListAlertEvents(t.Context(), orgID, alert.ID, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(linked) != 1 || linked[0].ID != evs[2].ID {
		t.Errorf("alert events = %v, want only the linked event %s", linked, evs[2].ID)
	}
	// Re-inserting tells which events were deleted: only those are new.
	again := make([]*aip.Event, len(evs))
	for i, e := range evs {
		c := *e
		again[i] = &c
	}
	got, err := s.InsertEvents(t.Context(), orgID, again)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bool{true, true, false, false}, got); diff != "" {
		t.Errorf("deleted events (old, old, linked, recent) mismatch (-want +got):\n%s", diff)
	}
}

func TestPurgeExpiredEvents(t *testing.T) {
	t.Run("deletes old unlinked events and keeps linked and recent ones", func(t *testing.T) {
		// Retention off: no background sweep races the seeding.
		inst := start(t, app.Config{})
		now := time.Now()
		evs, alert := seedRetention(t, inst.Store(), inst.Bootstrap.OrgID, now)
		n, err := inst.PurgeExpiredEvents(t.Context(), now.Add(-time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("PurgeExpiredEvents = %d, %v; want 2", n, err)
		}
		checkRetained(t, inst.Store(), inst.Bootstrap.OrgID, evs, alert)
	})
	t.Run("sweeps at start when retention is set", func(t *testing.T) {
		dir := t.TempDir()
		first := start(t, app.Config{DataDir: dir})
		orgID := first.Bootstrap.OrgID
		evs, alert := seedRetention(t, first.Store(), orgID, time.Now())
		if err := first.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		inst := start(t, app.Config{DataDir: dir, EventRetention: time.Hour})
		// The job logs each sweep that deleted something; wait for it.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(inst.logs.String(), `"msg":"expired events deleted","count":2`) {
			if time.Now().After(deadline) {
				t.Fatalf("no sweep deleted the 2 expired events; logs:\n%s", inst.logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
		checkRetained(t, inst.Store(), orgID, evs, alert)
	})
}

func TestPurgeExpiredWindows(t *testing.T) {
	inst := start(t, app.Config{})
	s, orgID := inst.Store(), inst.Bootstrap.OrgID
	now := time.Now()
	windows := []*aip.AlertWindow{
		{Key: "old", WindowStart: now.Add(-30 * time.Hour), WindowEnd: now.Add(-29 * time.Hour), Count: 1},
		{Key: "recent", WindowStart: now.Add(-2 * time.Hour), WindowEnd: now.Add(-time.Hour), Count: 1},
		{Key: "open", WindowStart: now, WindowEnd: now.Add(time.Hour), Count: 1},
	}
	_, err := s.IngestEvents(t.Context(), orgID, []*aip.Event{retentionEvent(now)},
		func(context.Context, []*aip.Event, *aip.EvalState) (*aip.Evaluation, error) {
			return &aip.Evaluation{Windows: windows}, nil
		})
	if err != nil {
		t.Fatalf("IngestEvents: %v", err)
	}
	n, err := inst.PurgeExpiredWindows(t.Context(), now.Add(-aip.AlertWindowRetention))
	if err != nil || n != 1 {
		t.Fatalf("PurgeExpiredWindows = %d, %v; want 1", n, err)
	}
	left, err := s.ListAlertWindows(t.Context(), orgID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range left {
		got = append(got, w.Key)
	}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"open", "recent"}, got); diff != "" {
		t.Errorf("windows left (-want +got):\n%s", diff)
	}
}
