package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

// These tests stand in for several aipd nodes sharing one database: each
// goroutine uses its own pooled connection, so the store's locks (not
// SQLite's single writer) are what keeps the outcomes consistent.

func mustTestOrg(t *testing.T, db *DB) *aip.Organization {
	t.Helper()
	o := &aip.Organization{Name: "Concurrency"}
	if err := db.CreateOrganization(t.Context(), o); err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	return o
}

// runAll calls fn(i) for i in [0, n) at once and returns the error codes
// of the calls, "" for success, counted.
func runAll(n int, fn func(i int) error) map[string]int {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		got = map[string]int{}
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := fn(i)
			code := aip.ErrorCode(err)
			if err != nil && code == "" {
				code = err.Error()
			}
			mu.Lock()
			got[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return got
}

func TestConcurrentLeasesDeliverOnce(t *testing.T) {
	db := openSchema(t)
	ctx := t.Context()
	org := mustTestOrg(t, db)
	for i := range 2 {
		w := &aip.Webhook{OrgID: org.ID, URL: fmt.Sprintf("https://example.com/%d", i), SecretSealed: []byte("sealed")}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatalf("CreateWebhook: %v", err)
		}
	}
	const bodies = 40
	for i := range bodies {
		if _, err := db.EnqueueDeliveries(ctx, org.ID, []byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatalf("EnqueueDeliveries: %v", err)
		}
	}
	at := time.Now().Add(time.Second)
	var (
		mu     sync.Mutex
		leased = map[string]int{}
	)
	codes := runAll(8, func(int) error {
		for {
			ds, err := db.LeaseDueDeliveries(context.Background(), at, 3, time.Hour)
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				return nil
			}
			mu.Lock()
			for _, d := range ds {
				leased[d.ID]++
			}
			mu.Unlock()
		}
	})
	if diff := cmp.Diff(map[string]int{"": 8}, codes); diff != "" {
		t.Fatalf("lease outcomes mismatch (-want +got):\n%s", diff)
	}
	if len(leased) != 2*bodies {
		t.Errorf("leased %d distinct deliveries, want %d", len(leased), 2*bodies)
	}
	for id, n := range leased {
		if n != 1 {
			t.Errorf("delivery %s leased %d times, want once", id, n)
		}
	}
}

func TestConcurrentWebhookCreatesStopAtLimit(t *testing.T) {
	db := openSchema(t)
	org := mustTestOrg(t, db)
	got := runAll(aip.MaxWebhooksPerOrg+10, func(i int) error {
		return db.CreateWebhook(context.Background(), &aip.Webhook{
			OrgID: org.ID, URL: fmt.Sprintf("https://example.com/%d", i), SecretSealed: []byte("sealed"),
		})
	})
	want := map[string]int{"": aip.MaxWebhooksPerOrg, aip.EINVALID: 10}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create outcomes mismatch (-want +got):\n%s", diff)
	}
	hooks, err := db.ListWebhooks(t.Context(), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != aip.MaxWebhooksPerOrg {
		t.Errorf("organization has %d webhooks, want %d", len(hooks), aip.MaxWebhooksPerOrg)
	}
}

func TestConcurrentRulesetNamesConflict(t *testing.T) {
	db := openSchema(t)
	org := mustTestOrg(t, db)
	got := runAll(10, func(int) error {
		return db.CreateRuleset(context.Background(), &aip.Ruleset{OrgID: org.ID, Name: "same"})
	})
	want := map[string]int{"": 1, aip.ECONFLICT: 9}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create outcomes mismatch (-want +got):\n%s", diff)
	}
	err := db.CreateRuleset(t.Context(), &aip.Ruleset{OrgID: org.ID, Name: "same"})
	if got, want := aip.ErrorMessage(err), `A ruleset named "same" already exists.`; got != want {
		t.Errorf("conflict message = %q, want %q", got, want)
	}
}
