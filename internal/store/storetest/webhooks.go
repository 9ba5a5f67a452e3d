package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

// runWebhooks is the webhook and delivery outbox part of the suite.
func runWebhooks(t *testing.T, open func(t *testing.T) aip.Store) {
	t.Run("webhooks", func(t *testing.T) { testWebhooks(t, open) })
	t.Run("webhook isolation", func(t *testing.T) { testWebhookIsolation(t, open) })
	t.Run("webhook limit", func(t *testing.T) { testWebhookLimit(t, open) })
	t.Run("delivery outbox", func(t *testing.T) { testDeliveryOutbox(t, open) })
	t.Run("alert outbox", func(t *testing.T) { testAlertOutbox(t, open) })
}

func mustWebhook(t *testing.T, s aip.Store, orgID, url string) *aip.Webhook {
	t.Helper()
	w := &aip.Webhook{OrgID: orgID, URL: url, SecretSealed: []byte("sealed:" + url)}
	if err := s.CreateWebhook(t.Context(), w); err != nil {
		t.Fatalf("CreateWebhook(%s): %v", url, err)
	}
	return w
}

func testWebhooks(t *testing.T, open func(t *testing.T) aip.Store) {
	s := open(t)
	ctx := t.Context()
	org := mustOrg(t, s, "hooks")

	t.Run("rejects unknown organization", func(t *testing.T) {
		err := s.CreateWebhook(ctx, &aip.Webhook{OrgID: aip.NewID24(), URL: "https://x.example", SecretSealed: []byte("s")})
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("rejects missing secret", func(t *testing.T) {
		wantCode(t, s.CreateWebhook(ctx, &aip.Webhook{OrgID: org.ID, URL: "https://x.example"}), aip.EINVALID)
	})

	a := &aip.Webhook{OrgID: org.ID, URL: "https://a.example/hook", SecretSealed: []byte("sealed-a"), CreatedAt: base}
	if err := s.CreateWebhook(ctx, a); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	b := &aip.Webhook{OrgID: org.ID, URL: "https://b.example/hook", SecretSealed: []byte("sealed-b"), CreatedAt: base.Add(time.Second)}
	if err := s.CreateWebhook(ctx, b); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	t.Run("lists oldest first with fields", func(t *testing.T) {
		got, err := s.ListWebhooks(ctx, org.ID)
		if err != nil {
			t.Fatalf("ListWebhooks: %v", err)
		}
		want := []*aip.Webhook{a, b}
		if diff := cmp.Diff(want, got, timeOpts); diff != "" {
			t.Errorf("ListWebhooks (-want +got):\n%s", diff)
		}
	})
	t.Run("deletes", func(t *testing.T) {
		if err := s.DeleteWebhook(ctx, org.ID, a.ID); err != nil {
			t.Fatalf("DeleteWebhook: %v", err)
		}
		wantCode(t, s.DeleteWebhook(ctx, org.ID, a.ID), aip.ENOTFOUND)
		got, err := s.ListWebhooks(ctx, org.ID)
		if err != nil {
			t.Fatalf("ListWebhooks: %v", err)
		}
		if len(got) != 1 || got[0].ID != b.ID {
			t.Errorf("after delete, ListWebhooks = %+v, want only %s", got, b.ID)
		}
	})
}

func testWebhookIsolation(t *testing.T, open func(t *testing.T) aip.Store) {
	s := open(t)
	ctx := t.Context()
	mine, theirs := mustOrg(t, s, "mine"), mustOrg(t, s, "theirs")
	w := mustWebhook(t, s, mine.ID, "https://mine.example")

	t.Run("other organization lists nothing", func(t *testing.T) {
		got, err := s.ListWebhooks(ctx, theirs.ID)
		if err != nil {
			t.Fatalf("ListWebhooks: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("ListWebhooks(theirs) = %+v, want none", got)
		}
	})
	t.Run("other organization cannot delete", func(t *testing.T) {
		wantCode(t, s.DeleteWebhook(ctx, theirs.ID, w.ID), aip.ENOTFOUND)
		got, err := s.ListWebhooks(ctx, mine.ID)
		if err != nil || len(got) != 1 {
			t.Fatalf("ListWebhooks(mine) = %v, %v; want the webhook kept", got, err)
		}
	})
	t.Run("enqueue reaches only own webhooks", func(t *testing.T) {
		n, err := s.EnqueueDeliveries(ctx, theirs.ID, []byte(`{"alerts":[]}`))
		if err != nil || n != 0 {
			t.Fatalf("EnqueueDeliveries(theirs) = %d, %v; want 0, nil", n, err)
		}
		due, err := s.LeaseDueDeliveries(ctx, time.Now().Add(time.Hour), 10, time.Minute)
		if err != nil {
			t.Fatalf("LeaseDueDeliveries: %v", err)
		}
		if len(due) != 0 {
			t.Errorf("due = %d deliveries, want none", len(due))
		}
	})
}

func testDeliveryOutbox(t *testing.T, open func(t *testing.T) aip.Store) {
	s := open(t)
	ctx := t.Context()
	org := mustOrg(t, s, "outbox")
	w1 := mustWebhook(t, s, org.ID, "https://one.example")
	w2 := mustWebhook(t, s, org.ID, "https://two.example")
	body := []byte(`{"alerts":[{"id":"x"}]}`)

	n, err := s.EnqueueDeliveries(ctx, org.ID, body)
	if err != nil || n != 2 {
		t.Fatalf("EnqueueDeliveries = %d, %v; want 2, nil", n, err)
	}
	at := time.Now().Add(time.Second)
	due, err := s.LeaseDueDeliveries(ctx, at, 10, time.Minute)
	if err != nil {
		t.Fatalf("LeaseDueDeliveries: %v", err)
	}
	t.Run("one delivery per webhook with its url and sealed secret", func(t *testing.T) {
		got := map[string]string{}
		for _, d := range due {
			if string(d.Body) != string(body) || d.OrgID != org.ID || d.Attempts != 0 || d.CreatedAt.IsZero() {
				t.Errorf("delivery %+v: wrong body, org, attempts or created time", d)
			}
			got[d.WebhookID] = d.URL + " " + string(d.SecretSealed)
		}
		want := map[string]string{w1.ID: w1.URL + " " + string(w1.SecretSealed), w2.ID: w2.URL + " " + string(w2.SecretSealed)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("due deliveries (-want +got):\n%s", diff)
		}
	})
	if len(due) != 2 {
		t.Fatalf("got %d due deliveries, want 2", len(due))
	}
	t.Run("leased deliveries are not due again before the lease ends", func(t *testing.T) {
		again, err := s.LeaseDueDeliveries(ctx, at.Add(30*time.Second), 10, time.Minute)
		if err != nil {
			t.Fatalf("LeaseDueDeliveries: %v", err)
		}
		if len(again) != 0 {
			t.Errorf("got %d deliveries during the lease, want 0", len(again))
		}
		later, err := s.LeaseDueDeliveries(ctx, at.Add(2*time.Minute), 10, time.Minute)
		if err != nil {
			t.Fatalf("LeaseDueDeliveries: %v", err)
		}
		if len(later) != 2 {
			t.Errorf("got %d deliveries after the lease, want 2", len(later))
		}
	})

	first, second := due[0], due[1]
	failedAt := at.Add(3 * time.Minute)
	retry := aip.DeliveryAttempt{
		DeliveryStatus: aip.DeliveryStatus{State: aip.DeliveryPending, Status: 500, At: failedAt, Error: "HTTP 500"},
		Next:           failedAt.Add(time.Minute),
	}
	if err := s.RecordDeliveryAttempt(ctx, first.ID, retry); err != nil {
		t.Fatalf("RecordDeliveryAttempt(failed): %v", err)
	}
	t.Run("failed attempt is retried at next with attempts counted", func(t *testing.T) {
		early, err := s.LeaseDueDeliveries(ctx, failedAt.Add(59*time.Second), 10, time.Minute)
		if err != nil {
			t.Fatalf("LeaseDueDeliveries: %v", err)
		}
		for _, d := range early {
			if d.ID == first.ID {
				t.Errorf("delivery due before its retry time")
			}
		}
		got, err := s.LeaseDueDeliveries(ctx, failedAt.Add(time.Minute), 10, time.Minute)
		if err != nil {
			t.Fatalf("LeaseDueDeliveries: %v", err)
		}
		var found *aip.WebhookDelivery
		for _, d := range got {
			if d.ID == first.ID {
				found = d
			}
		}
		if found == nil || found.Attempts != 1 {
			t.Errorf("retried delivery = %+v, want due with 1 attempt", found)
		}
	})

	deliveredAt := failedAt.Add(5 * time.Minute)
	if err := s.RecordDeliveryAttempt(ctx, first.ID, aip.DeliveryAttempt{
		DeliveryStatus: aip.DeliveryStatus{State: aip.DeliveryDelivered, Status: 200, At: deliveredAt}}); err != nil {
		t.Fatalf("RecordDeliveryAttempt(delivered): %v", err)
	}
	if err := s.RecordDeliveryAttempt(ctx, second.ID, aip.DeliveryAttempt{
		DeliveryStatus: aip.DeliveryStatus{State: aip.DeliveryAbandoned, Status: 410, At: deliveredAt, Error: "HTTP 410"}}); err != nil {
		t.Fatalf("RecordDeliveryAttempt(abandoned): %v", err)
	}
	t.Run("finished deliveries are never due", func(t *testing.T) {
		got, err := s.LeaseDueDeliveries(ctx, deliveredAt.Add(48*time.Hour), 10, time.Minute)
		if err != nil {
			t.Fatalf("LeaseDueDeliveries: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("got %d due deliveries, want 0", len(got))
		}
	})
	t.Run("webhooks show their last delivery", func(t *testing.T) {
		list, err := s.ListWebhooks(ctx, org.ID)
		if err != nil {
			t.Fatalf("ListWebhooks: %v", err)
		}
		got := map[string]*aip.DeliveryStatus{}
		for _, w := range list {
			got[w.ID] = w.LastDelivery
		}
		want := map[string]*aip.DeliveryStatus{
			first.WebhookID:  {State: aip.DeliveryDelivered, Status: 200, At: deliveredAt},
			second.WebhookID: {State: aip.DeliveryAbandoned, Status: 410, At: deliveredAt, Error: "HTTP 410"},
		}
		opt := cmp.Comparer(func(a, b time.Time) bool { return a.UnixMilli() == b.UnixMilli() })
		if diff := cmp.Diff(want, got, opt); diff != "" {
			t.Errorf("last deliveries (-want +got):\n%s", diff)
		}
	})
	t.Run("deleting a webhook drops its deliveries", func(t *testing.T) {
		if _, err := s.EnqueueDeliveries(ctx, org.ID, body); err != nil {
			t.Fatalf("EnqueueDeliveries: %v", err)
		}
		if err := s.DeleteWebhook(ctx, org.ID, first.WebhookID); err != nil {
			t.Fatalf("DeleteWebhook: %v", err)
		}
		got, err := s.LeaseDueDeliveries(ctx, time.Now().Add(time.Hour), 10, time.Minute)
		if err != nil {
			t.Fatalf("LeaseDueDeliveries: %v", err)
		}
		if len(got) != 1 || got[0].WebhookID != second.WebhookID {
			t.Errorf("due after delete = %+v, want one delivery to %s", got, second.WebhookID)
		}
		wantCode(t, s.RecordDeliveryAttempt(ctx, first.ID, aip.DeliveryAttempt{
			DeliveryStatus: aip.DeliveryStatus{State: aip.DeliveryDelivered, Status: 200, At: deliveredAt}}), aip.ENOTFOUND)
	})
	t.Run("rejects unknown state", func(t *testing.T) {
		wantCode(t, s.RecordDeliveryAttempt(ctx, second.ID, aip.DeliveryAttempt{DeliveryStatus: aip.DeliveryStatus{State: "lost"}}), aip.EINVALID)
	})
}

// testAlertOutbox checks that CreateAlert queues the webhook body of a new
// alert in its own transaction: for every webhook of the alert's
// organization, and not at all when the alert is not stored.
func testAlertOutbox(t *testing.T, open func(t *testing.T) aip.Store) {
	s := open(t)
	ctx := t.Context()
	mine, theirs := mustOrg(t, s, "alerting"), mustOrg(t, s, "bystander")
	w1 := mustWebhook(t, s, mine.ID, "https://one.example")
	w2 := mustWebhook(t, s, mine.ID, "https://two.example")
	mustWebhook(t, s, theirs.ID, "https://theirs.example")
	ev := newEvent("ag", base)
	mustEvents(t, s, mine.ID, ev)

	// Leased deliveries stay invisible for a day, so every call returns
	// only what was queued since the previous one.
	leaseAll := func(t *testing.T) map[string]string {
		t.Helper()
		due, err := s.LeaseDueDeliveries(ctx, time.Now().Add(time.Hour), 100, 24*time.Hour)
		if err != nil {
			t.Fatalf("LeaseDueDeliveries: %v", err)
		}
		got := map[string]string{}
		for _, d := range due {
			got[d.WebhookID] = d.OrgID + " " + string(d.Body)
		}
		return got
	}

	t.Run("a failed insert queues nothing", func(t *testing.T) {
		stored := mustAlert(t, s, newAlert(mine.ID, base, 1, "", "", ""))
		dup := newAlert(mine.ID, base, 1, "", "", "")
		dup.ID = stored.ID
		wantCode(t, s.CreateAlert(ctx, dup, nil, []byte(`{"dup":true}`)), aip.ECONFLICT)
		wantCode(t, s.CreateAlert(ctx, newAlert(mine.ID, base, 1, "", "", ""), []*aip.Event{newEvent("ag", base)},
			[]byte(`{"unknown event":true}`)), aip.ENOTFOUND)
		wantCode(t, s.CreateAlert(ctx, newAlert(mine.ID, base, 4, "", "", ""), nil, []byte(`{"bad":true}`)), aip.EINVALID)
		if got := leaseAll(t); len(got) != 0 {
			t.Errorf("deliveries after failed creates = %v, want none", got)
		}
	})
	t.Run("no body queues nothing", func(t *testing.T) {
		mustAlert(t, s, newAlert(mine.ID, base, 2, "", "", ""))
		if got := leaseAll(t); len(got) != 0 {
			t.Errorf("deliveries after create without body = %v, want none", got)
		}
	})
	t.Run("a body is queued once for every webhook of the alert's organization only", func(t *testing.T) {
		body := []byte(`{"alerts":[{"id":"new"}]}`)
		a := newAlert(mine.ID, base, 3, "", "", "")
		if err := s.CreateAlert(ctx, a, []*aip.Event{ev}, body); err != nil {
			t.Fatalf("CreateAlert: %v", err)
		}
		want := map[string]string{w1.ID: mine.ID + " " + string(body), w2.ID: mine.ID + " " + string(body)}
		if diff := cmp.Diff(want, leaseAll(t)); diff != "" {
			t.Errorf("deliveries (-want +got):\n%s", diff)
		}
		got, err := s.FindAlert(ctx, mine.ID, a.ID)
		if err != nil || got.EventCount != 1 {
			t.Errorf("FindAlert = %+v, %v; want the alert with its event", got, err)
		}
	})
}

func testWebhookLimit(t *testing.T, open func(t *testing.T) aip.Store) {
	s := open(t)
	org := mustOrg(t, s, "hooks")
	other := mustOrg(t, s, "other")
	for i := range aip.MaxWebhooksPerOrg {
		mustWebhook(t, s, org.ID, fmt.Sprintf("https://h%d.example/hook", i))
	}
	t.Run("refuses one more than the limit", func(t *testing.T) {
		err := s.CreateWebhook(t.Context(), &aip.Webhook{OrgID: org.ID, URL: "https://one-too-many.example", SecretSealed: []byte("s")})
		wantCode(t, err, aip.EINVALID)
	})
	t.Run("counts per organization", func(t *testing.T) {
		mustWebhook(t, s, other.ID, "https://other.example/hook")
	})
}
