package postgres

import (
	"sync"
	"testing"

	"github.com/aipsec/aip"
)

// The exporter's cursor only moves forward, so EventsAfter must never
// return an event while one of the organization with a lower seq may still
// commit: nodes ingest concurrently while a reader follows the cursor, and
// the reader must see every event exactly once.
func TestEventsAfterFollowsConcurrentIngest(t *testing.T) {
	db := openSchema(t)
	ctx := t.Context()
	org := &aip.Organization{Name: "acme"}
	other := &aip.Organization{Name: "other"}
	for _, o := range []*aip.Organization{org, other} {
		if err := db.CreateOrganization(ctx, o); err != nil {
			t.Fatalf("CreateOrganization: %v", err)
		}
	}
	const (
		writers = 8
		batches = 25
		perTx   = 20
	)
	var (
		wg      sync.WaitGroup
		written sync.Map // event ID → true
	)
	for w := range writers {
		wg.Go(func() {
			orgID := org.ID
			if w%4 == 3 { // another organization's ingest interleaves
				orgID = other.ID
			}
			for range batches {
				evs := ingestEvents(perTx)
				if _, err := db.InsertEvents(ctx, orgID, evs); err != nil {
					t.Errorf("InsertEvents: %v", err)
					return
				}
				if orgID == org.ID {
					for _, e := range evs {
						written.Store(e.ID, true)
					}
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := make(map[string]int)
	var cursor int64
	read := func() int {
		evs, err := db.EventsAfter(ctx, org.ID, cursor, 7)
		if err != nil {
			t.Fatalf("EventsAfter(%d): %v", cursor, err)
		}
		for _, x := range evs {
			if x.Seq <= cursor {
				t.Fatalf("EventsAfter(%d) returned seq %d", cursor, x.Seq)
			}
			if x.Event.OrgID != org.ID {
				t.Fatalf("EventsAfter returned event %s of organization %s", x.Event.ID, x.Event.OrgID)
			}
			cursor = x.Seq
			seen[x.Event.ID]++
		}
		return len(evs)
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			read()
		}
	}
	for read() > 0 {
	}

	want := 0
	written.Range(func(k, _ any) bool {
		want++
		if n := seen[k.(string)]; n != 1 {
			t.Errorf("event %s seen %d times, want once", k, n)
		}
		return true
	})
	if len(seen) != want {
		t.Errorf("reader saw %d events, want the %d written", len(seen), want)
	}
	if want != (writers-writers/4)*batches*perTx {
		t.Errorf("writers stored %d events, want %d", want, (writers-writers/4)*batches*perTx)
	}
}
