package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

// ingestEvents returns n events of one agent, a millisecond apart.
func ingestEvents(n int) []*aip.Event {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	out := make([]*aip.Event, n)
	for i := range out {
		id := aip.NewUUID()
		t := at.Add(time.Duration(i) * time.Millisecond)
		raw := fmt.Sprintf(`{"_id":%q,"event_type":"audit","agent_id":"agent","timestamp":%d}`, id, t.UnixMilli())
		out[i] = &aip.Event{ID: id, AgentID: "agent", Type: "audit", Time: t, Raw: json.RawMessage(raw)}
	}
	return out
}

// eventCopies returns a copy of evs for each of n callers, every other
// one reversed, so that concurrent callers send them in opposite orders;
// each needs its own copy as the store writes into the events it is given.
func eventCopies(evs []*aip.Event, n int) [][]*aip.Event {
	out := make([][]*aip.Event, n)
	for c := range out {
		batch := make([]*aip.Event, len(evs))
		for i, e := range evs {
			cp := *e
			batch[i] = &cp
		}
		if c%2 == 1 {
			slices.Reverse(batch)
		}
		out[c] = batch
	}
	return out
}

// The nodes of a cluster share the database: these tests run several
// transactions at once on one store, each on its own connection, as
// several nodes would.
func TestConcurrentIngest(t *testing.T) {
	db := openSchema(t)
	ctx := t.Context()
	org := &aip.Organization{Name: "acme"}
	if err := db.CreateOrganization(ctx, org); err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	const nodes = 8

	t.Run("a re-sent event is fresh and evaluated on exactly one node", func(t *testing.T) {
		evs := ingestEvents(150) // more than two INSERT chunks
		var (
			mu        sync.Mutex
			freshN    = map[string]int{}
			evaluated = map[string]int{}
			wg        sync.WaitGroup
		)
		errs := make([]error, nodes)
		for n, batch := range eventCopies(evs, nodes) {
			wg.Go(func() {
				fresh, err := db.IngestEvents(ctx, org.ID, batch, func(_ context.Context, todo []*aip.Event, _ *aip.EvalState) (*aip.Evaluation, error) {
					mu.Lock()
					defer mu.Unlock()
					for _, e := range todo {
						evaluated[e.ID]++
					}
					return nil, nil
				})
				errs[n] = err
				mu.Lock()
				defer mu.Unlock()
				for i, f := range fresh {
					if f {
						freshN[batch[i].ID]++
					}
				}
			})
		}
		wg.Wait()
		for n, err := range errs {
			if err != nil {
				t.Errorf("node %d: IngestEvents: %v", n, err)
			}
		}
		want := map[string]int{}
		for _, e := range evs {
			want[e.ID] = 1
		}
		if diff := cmp.Diff(want, freshN); diff != "" {
			t.Errorf("times each event was fresh (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, evaluated); diff != "" {
			t.Errorf("times each event was evaluated (-want +got):\n%s", diff)
		}
	})

	t.Run("concurrent links count each event once", func(t *testing.T) {
		evs := ingestEvents(40)
		for _, e := range evs {
			e.Time = e.Time.Add(time.Hour) // apart from the events above
		}
		if _, err := db.InsertEvents(ctx, org.ID, evs); err != nil {
			t.Fatalf("InsertEvents: %v", err)
		}
		at := evs[0].Time
		a := &aip.Alert{
			OrgID: org.ID, Title: "sudo run by root", DataSource: aip.DataSourceAgent, CreatedAt: aip.Time{Time: at},
			Severity: 2, AgentID: "agent", RuleID: "rule", RulesetID: "ruleset",
			ExpiresAt: aip.Time{Time: at.Add(time.Hour)}, Key: "rule|agent|root",
		}
		if err := db.CreateAlert(ctx, a, evs[:1], nil); err != nil {
			t.Fatalf("CreateAlert: %v", err)
		}
		var (
			wg    sync.WaitGroup
			added = make([]int, nodes)
			errs  = make([]error, nodes)
		)
		for n, batch := range eventCopies(evs, nodes) {
			wg.Go(func() {
				added[n], errs[n] = db.AddAlertEvents(ctx, org.ID, a.ID, batch, batch[0].Time)
			})
		}
		wg.Wait()
		total := 0
		for n, err := range errs {
			if err != nil {
				t.Errorf("node %d: AddAlertEvents: %v", n, err)
			}
			total += added[n]
		}
		if got, want := total, len(evs)-1; got != want {
			t.Errorf("events added over all nodes = %d, want %d", got, want)
		}
		got, err := db.FindAlert(ctx, org.ID, a.ID)
		if err != nil {
			t.Fatalf("FindAlert: %v", err)
		}
		if want := len(evs); got.EventCount != want {
			t.Errorf("EventCount = %d, want %d", got.EventCount, want)
		}
	})

	t.Run("retention skips an event another node is linking", func(t *testing.T) {
		evs := ingestEvents(2)
		old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, e := range evs {
			e.Time = e.Time.Add(2 * time.Hour) // apart from the events above
			e.ReceivedAt = old
		}
		linked := evs[0]
		if _, err := db.InsertEvents(ctx, org.ID, evs); err != nil {
			t.Fatalf("InsertEvents: %v", err)
		}
		a := &aip.Alert{
			OrgID: org.ID, Title: "sudo run by root", DataSource: aip.DataSourceAgent, CreatedAt: aip.Time{Time: linked.Time},
			Severity: 1, AgentID: "agent", RuleID: "rule", RulesetID: "ruleset",
			ExpiresAt: aip.Time{Time: linked.Time.Add(time.Hour)}, Key: "rule|agent|other",
		}
		if err := db.CreateAlert(ctx, a, nil, nil); err != nil {
			t.Fatalf("CreateAlert: %v", err)
		}
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := addAlertEvents(ctx, tx, org.ID, a.ID, []*aip.Event{linked}, linked.Time); err != nil {
			t.Fatalf("addAlertEvents: %v", err)
		}
		// A delete that waited for the linking transaction would hang here,
		// and one that did not see its link would delete the event.
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		n, err := db.DeleteExpiredEvents(dctx, old.Add(time.Hour), 100)
		if err != nil {
			t.Fatalf("DeleteExpiredEvents while linking: %v", err)
		}
		if n != 1 {
			t.Errorf("DeleteExpiredEvents while linking = %d, want 1 (the unlinked event)", n)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit link: %v", err)
		}
		if n, err := db.DeleteExpiredEvents(ctx, old.Add(time.Hour), 100); err != nil || n != 0 {
			t.Errorf("DeleteExpiredEvents after the link = %d, %v; want 0, nil", n, err)
		}
		got, err := db.ListAlertEvents(ctx, org.ID, a.ID, nil, 10)
		if err != nil {
			t.Fatalf("ListAlertEvents: %v", err)
		}
		if diff := cmp.Diff([]string{linked.ID}, eventIDsOf(got)); diff != "" {
			t.Errorf("events of the alert (-want +got):\n%s", diff)
		}
	})
}

func eventIDsOf(evs []*aip.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}
