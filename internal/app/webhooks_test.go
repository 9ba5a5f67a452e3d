package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/webhook"
)

// TestWebhookDispatcherRuns checks the wiring of Main: the dispatcher it
// starts drains the outbox to a receiver and records the outcome. The
// ingest → enqueue path is tested in internal/httpapi.
func TestWebhookDispatcherRuns(t *testing.T) {
	const secret = "0123456789abcdef-secret"
	type received struct {
		sig  string
		body []byte
	}
	got := make(chan received, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case got <- received{r.Header.Get("X-AIP-Signature"), body}:
		default:
		}
	}))
	t.Cleanup(rc.Close)

	inst := start(t, app.Config{WebhookAllowPrivate: true, WebhookPollInterval: 10 * time.Millisecond})
	c := inst.client(t, inst.Bootstrap.APIKey)
	ctx := context.Background()
	w, _, err := c.Webhooks.Create(ctx, &client.WebhookRequest{URL: rc.URL, Secret: secret})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	body, err := webhook.Payload([]webhook.Alert{{ID: aip.NewUUID(), Title: "t", CreatedAt: 1, Severity: 1,
		OrganizationID: inst.Bootstrap.OrgID, Source: webhook.SourceHost}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := inst.Store().EnqueueDeliveries(ctx, inst.Bootstrap.OrgID, body); err != nil || n != 1 {
		t.Fatalf("EnqueueDeliveries = %d, %v; want 1", n, err)
	}

	var r received
	select {
	case r = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the receiver got nothing")
	}
	if string(r.body) != string(body) {
		t.Errorf("body = %s, want %s", r.body, body)
	}
	if err := webhook.Verify([]byte(secret), r.sig, r.body, time.Now(), time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	// The outcome is recorded just after the answer; wait for it in the
	// store (polling the API would spend the organization's rate limit).
	for range 3000 {
		list, err := inst.Store().ListWebhooks(ctx, inst.Bootstrap.OrgID)
		if err != nil || len(list) != 1 {
			t.Fatalf("ListWebhooks = %v, %v", list, err)
		}
		if list[0].LastDelivery != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	list, _, err := c.Webhooks.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != w.ID {
		t.Fatalf("List = %v, %v", list, err)
	}
	if ld := list[0].LastDelivery; ld == nil || ld.State != aip.DeliveryDelivered || ld.Status != http.StatusOK {
		t.Errorf("lastDelivery = %+v, want delivered with 200", ld)
	}
}
