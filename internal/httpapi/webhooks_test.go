package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/webhook"
	"github.com/google/go-cmp/cmp"
)

const testWebhookSecret = "s3cret-s3cret-s3cret"

func TestWebhooksCRUD(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "hooks")
	owner := h.client(t, h.newAccount(t, org, "owner@hooks.example", aip.RoleOwner))
	reader := h.client(t, h.newAccount(t, org, "reader@hooks.example", aip.RoleReader))

	created, _, err := owner.Webhooks.Create(h.ctx(t), &client.WebhookRequest{URL: "https://hooks.example/aip", Secret: testWebhookSecret})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Run("create returns the webhook without a delivery", func(t *testing.T) {
		if created.ID == "" || created.URL != "https://hooks.example/aip" || !created.CreatedAt.Equal(h.clock.Now()) || created.LastDelivery != nil {
			t.Errorf("created = %+v", created)
		}
	})
	t.Run("secret is never returned", func(t *testing.T) {
		r, _ := h.signedDo(t, h.newAccount(t, org, "peek@hooks.example", aip.RoleUser), http.MethodGet, "/v2/integrations/webhooks", nil)
		if r.Status != http.StatusOK || strings.Contains(string(r.Body), testWebhookSecret) {
			t.Errorf("GET = %d %s; want 200 without the secret", r.Status, r.Body)
		}
	})
	t.Run("readers list", func(t *testing.T) {
		got, _, err := reader.Webhooks.List(h.ctx(t))
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if diff := cmp.Diff([]*client.Webhook{created}, got, cmp.Comparer(func(a, b aip.Time) bool { return a.Equal(b.Time) })); diff != "" {
			t.Errorf("List (-want +got):\n%s", diff)
		}
	})

	tests := []struct {
		name string
		c    *client.Client
		req  client.WebhookRequest
		want int
	}{
		{"rejects a reader", reader, client.WebhookRequest{URL: "https://x.example", Secret: testWebhookSecret}, http.StatusForbidden},
		{"rejects a non-http url", owner, client.WebhookRequest{URL: "ftp://x.example", Secret: testWebhookSecret}, http.StatusBadRequest},
		{"rejects a relative url", owner, client.WebhookRequest{URL: "/hook", Secret: testWebhookSecret}, http.StatusBadRequest},
		{"rejects credentials in the url", owner, client.WebhookRequest{URL: "https://u:p@x.example", Secret: testWebhookSecret}, http.StatusBadRequest},
		{"rejects a short secret", owner, client.WebhookRequest{URL: "https://x.example", Secret: strings.Repeat("a", 15)}, http.StatusBadRequest},
		{"rejects a long secret", owner, client.WebhookRequest{URL: "https://x.example", Secret: strings.Repeat("a", 257)}, http.StatusBadRequest},
		{"accepts the longest secret", owner, client.WebhookRequest{URL: "http://x.example", Secret: strings.Repeat("a", 256)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.c.Webhooks.Create(h.ctx(t), &tt.req)
			if got := statusOf(err); got != tt.want {
				t.Errorf("status = %d (%v), want %d", got, err, tt.want)
			}
		})
	}

	t.Run("rejects unknown fields", func(t *testing.T) {
		r, _ := h.signedDo(t, h.newAccount(t, org, "odd@hooks.example", aip.RoleUser), http.MethodPost, "/v2/integrations/webhooks",
			[]byte(`{"url":"https://x.example","secret":"`+testWebhookSecret+`","events":["all"]}`))
		if r.Status != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", r.Status)
		}
	})
	t.Run("reader cannot delete", func(t *testing.T) {
		_, err := reader.Webhooks.Delete(h.ctx(t), created.ID)
		if got := statusOf(err); got != http.StatusForbidden {
			t.Errorf("status = %d, want 403", got)
		}
	})
	t.Run("delete answers 204 then 404", func(t *testing.T) {
		resp, err := owner.Webhooks.Delete(h.ctx(t), created.ID)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("Delete = %v, %v; want 204", resp, err)
		}
		_, err = owner.Webhooks.Delete(h.ctx(t), created.ID)
		if got := statusOf(err); got != http.StatusNotFound {
			t.Errorf("second delete status = %d, want 404", got)
		}
	})
	t.Run("delete of a malformed id is 404", func(t *testing.T) {
		_, err := owner.Webhooks.Delete(h.ctx(t), "nope")
		if got := statusOf(err); got != http.StatusNotFound {
			t.Errorf("status = %d, want 404", got)
		}
	})
}

func TestWebhooksTenantIsolation(t *testing.T) {
	h := newHarness(t)
	orgA, orgB := h.newOrg(t, "a"), h.newOrg(t, "b")
	a := h.client(t, h.newAccount(t, orgA, "owner@a.example", aip.RoleOwner))
	b := h.client(t, h.newAccount(t, orgB, "owner@b.example", aip.RoleOwner))
	w, _, err := a.Webhooks.Create(h.ctx(t), &client.WebhookRequest{URL: "https://a.example/hook", Secret: testWebhookSecret})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Run("B lists none of A's webhooks", func(t *testing.T) {
		got, _, err := b.Webhooks.List(h.ctx(t))
		if err != nil || len(got) != 0 {
			t.Errorf("B's list = %v, %v; want empty", got, err)
		}
	})
	t.Run("B cannot delete A's webhook", func(t *testing.T) {
		_, err := b.Webhooks.Delete(h.ctx(t), w.ID)
		if got := statusOf(err); got != http.StatusNotFound {
			t.Errorf("status = %d, want 404", got)
		}
		got, _, err := a.Webhooks.List(h.ctx(t))
		if err != nil || len(got) != 1 {
			t.Errorf("A's list = %v, %v; want the webhook kept", got, err)
		}
	})
}

// receiver is a webhook endpoint on loopback answering with the scripted
// statuses (200 once they run out) and recording what it got.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	statuses []int
	got      []receivedDelivery
}

type receivedDelivery struct {
	Signature, DeliveryID string
	Body                  []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	rc := &receiver{statuses: statuses}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, receivedDelivery{Signature: r.Header.Get("X-AIP-Signature"), DeliveryID: r.Header.Get("X-AIP-Delivery"), Body: body})
		status := http.StatusOK
		if len(rc.statuses) > 0 {
			status, rc.statuses = rc.statuses[0], rc.statuses[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) deliveries() []receivedDelivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedDelivery(nil), rc.got...)
}

// offsetClock is real time plus an offset the test advances, so that
// retries come due without waiting (the outbox stamps enqueues with the
// real clock).
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func TestWebhookDeliveryEndToEnd(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		// runs is how many dispatcher passes it takes, an hour apart.
		runs      int
		wantSends int
	}{
		{"delivers a new alert signed", nil, 1, 1},
		{"retries after a 500", []int{http.StatusInternalServerError}, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			orgID, key := h.newAgentOrg(t, "Acme")
			owner := h.client(t, h.newAccount(t, orgID, "owner@acme.example", aip.RoleOwner))
			rc := newReceiver(t, tt.statuses...)
			w, _, err := owner.Webhooks.Create(h.ctx(t), &client.WebhookRequest{URL: rc.srv.URL + "/hook", Secret: testWebhookSecret})
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			agent := h.enrollAgent(t, key, "web-1")
			h.sendEvents(t, agent, []string{sudoEvent(t, agent.UserID, epoch.UnixMilli()-10)})
			alerts, _, err := owner.Alerts.List(h.ctx(t), &client.AlertListOptions{Status: aip.AlertActive})
			if err != nil || len(alerts) != 1 {
				t.Fatalf("alerts = %v (%v), want the sudo alert", alerts, err)
			}

			clock := &offsetClock{}
			d := &webhook.Dispatcher{
				Outbox:       &httpapi.Outbox{Store: h.store, Keyring: h.keys},
				AllowPrivate: true,
				Now:          clock.Now,
			}
			for range tt.runs {
				if _, err := d.RunOnce(context.Background()); err != nil {
					t.Fatalf("RunOnce: %v", err)
				}
				clock.Advance(time.Hour)
			}

			got := rc.deliveries()
			if len(got) != tt.wantSends {
				t.Fatalf("receiver got %d requests, want %d", len(got), tt.wantSends)
			}
			last := got[len(got)-1]
			if err := webhook.Verify([]byte(testWebhookSecret), last.Signature, last.Body, clock.Now(), 2*time.Hour*time.Duration(tt.runs)); err != nil {
				t.Errorf("signature: %v", err)
			}
			if got[0].DeliveryID == "" || last.DeliveryID != got[0].DeliveryID {
				t.Errorf("delivery ids %q … %q, want one stable id", got[0].DeliveryID, last.DeliveryID)
			}
			a := alerts[0]
			want, err := webhook.Payload([]webhook.Alert{{
				ID: a.ID, Title: a.Title, CreatedAt: a.CreatedAt.UnixMilli(), Severity: a.Severity,
				OrganizationID: orgID, OrganizationName: "Acme", ServerOrRegion: "web-1", Source: webhook.SourceHost,
			}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(last.Body)); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}

			list, _, err := owner.Webhooks.List(h.ctx(t))
			if err != nil || len(list) != 1 || list[0].ID != w.ID {
				t.Fatalf("List = %v, %v", list, err)
			}
			ld := list[0].LastDelivery
			if ld == nil || ld.State != aip.DeliveryDelivered || ld.Status != http.StatusOK || ld.Error != "" || ld.At.IsZero() {
				t.Errorf("lastDelivery = %+v, want delivered with 200", ld)
			}
		})
	}
}

func TestWebhookFailureShowsInList(t *testing.T) {
	h := newHarness(t)
	orgID, key := h.newAgentOrg(t, "Acme")
	owner := h.client(t, h.newAccount(t, orgID, "owner@acme.example", aip.RoleOwner))
	rc := newReceiver(t, http.StatusServiceUnavailable)
	if _, _, err := owner.Webhooks.Create(h.ctx(t), &client.WebhookRequest{URL: rc.srv.URL, Secret: testWebhookSecret}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	agent := h.enrollAgent(t, key, "web-1")
	h.sendEvents(t, agent, []string{sudoEvent(t, agent.UserID, epoch.UnixMilli()-10)})
	d := &webhook.Dispatcher{Outbox: &httpapi.Outbox{Store: h.store, Keyring: h.keys}, AllowPrivate: true}
	if n, err := d.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1 attempt", n, err)
	}
	list, _, err := owner.Webhooks.List(h.ctx(t))
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	ld := list[0].LastDelivery
	if ld == nil || ld.State != aip.DeliveryPending || ld.Status != http.StatusServiceUnavailable || ld.Error == "" {
		t.Errorf("lastDelivery = %+v, want pending after a 503 with an error", ld)
	}
}

func TestWebhookDispatcherRefusesLoopbackByDefault(t *testing.T) {
	h := newHarness(t)
	orgID, key := h.newAgentOrg(t, "Acme")
	owner := h.client(t, h.newAccount(t, orgID, "owner@acme.example", aip.RoleOwner))
	rc := newReceiver(t)
	if _, _, err := owner.Webhooks.Create(h.ctx(t), &client.WebhookRequest{URL: rc.srv.URL, Secret: testWebhookSecret}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	agent := h.enrollAgent(t, key, "web-1")
	h.sendEvents(t, agent, []string{sudoEvent(t, agent.UserID, epoch.UnixMilli()-10)})
	d := &webhook.Dispatcher{Outbox: &httpapi.Outbox{Store: h.store, Keyring: h.keys}}
	if _, err := d.RunOnce(context.Background()); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if got := rc.deliveries(); len(got) != 0 {
		t.Errorf("receiver got %d requests, want none", len(got))
	}
	list, _, err := owner.Webhooks.List(h.ctx(t))
	if err != nil || len(list) != 1 || list[0].LastDelivery == nil || list[0].LastDelivery.State != aip.DeliveryAbandoned {
		t.Errorf("List = %+v, %v; want the delivery abandoned", list, err)
	}
}
