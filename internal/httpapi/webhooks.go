package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/webhook"
)

// Webhook limits. The secret bounds follow common HMAC practice: long
// enough to resist guessing, short enough to be a header-sized value.
const (
	minWebhookSecret = 16
	maxWebhookSecret = 256
	maxWebhookURL    = 2048
)

// webhookSealOwner is the keyring owner a webhook secret is sealed for:
// prefixed so that it can never collide with a user's sealed API key.
func webhookSealOwner(webhookID string) string { return "webhook:" + webhookID }

// wireWebhook is a webhook as the API shows it; the secret never leaves.
type wireWebhook struct {
	ID           string        `json:"id"`
	URL          string        `json:"url"`
	CreatedAt    aip.Time      `json:"createdAt"`
	LastDelivery *wireDelivery `json:"lastDelivery"`
}

type wireDelivery struct {
	Status int      `json:"status"`
	At     aip.Time `json:"at"`
	Error  string   `json:"error"`
	State  string   `json:"state"`
}

func toWireWebhook(w *aip.Webhook) wireWebhook {
	out := wireWebhook{ID: w.ID, URL: w.URL, CreatedAt: aip.Time{Time: w.CreatedAt}}
	if d := w.LastDelivery; d != nil {
		out.LastDelivery = &wireDelivery{Status: d.Status, At: aip.Time{Time: d.At}, Error: d.Error, State: d.State}
	}
	return out
}

func webhookNotFound(id string) error { return aip.Errorf(aip.ENOTFOUND, "Webhook %s not found.", id) }

// validWebhookURL accepts absolute http(s) URLs. Where they may point is
// decided at delivery time (the dispatcher refuses private addresses),
// since a name's addresses can change after it is checked here.
func validWebhookURL(raw string) error {
	if raw == "" || len(raw) > maxWebhookURL {
		return aip.Errorf(aip.EINVALID, "url is required and at most %d characters long.", maxWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return aip.Errorf(aip.EINVALID, "url must be an absolute http or https URL.")
	}
	if u.User != nil {
		return aip.Errorf(aip.EINVALID, "url must not carry credentials; authenticate deliveries with the secret.")
	}
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, p *principal) {
	list, err := s.cfg.Store.ListWebhooks(r.Context(), p.OrgID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]wireWebhook, len(list))
	for i, wh := range list {
		out[i] = toWireWebhook(wh)
	}
	writeOK(w, struct {
		Webhooks []wireWebhook `json:"webhooks"`
		Token    *string       `json:"token"`
	}{out, nil})
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	if err := decodeJSON(p.Body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := validWebhookURL(req.URL); err != nil {
		s.writeError(w, r, err)
		return
	}
	if n := utf8.RuneCountInString(req.Secret); n < minWebhookSecret || n > maxWebhookSecret {
		s.writeError(w, r, aip.Errorf(aip.EINVALID, "secret must be %d to %d characters long.", minWebhookSecret, maxWebhookSecret))
		return
	}
	// The store enforces aip.MaxWebhooksPerOrg atomically.
	wh := &aip.Webhook{ID: aip.NewUUID(), OrgID: p.OrgID, URL: req.URL, CreatedAt: s.now()}
	var err error
	if wh.SecretSealed, err = s.cfg.Keyring.Seal(webhookSealOwner(wh.ID), req.Secret); err != nil {
		s.writeError(w, r, fmt.Errorf("seal webhook secret: %w", err))
		return
	}
	if err := s.cfg.Store.CreateWebhook(r.Context(), wh); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, toWireWebhook(wh))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("webhookId")
	if !aip.IsUUID(id) {
		s.writeError(w, r, webhookNotFound(id))
		return
	}
	if err := s.cfg.Store.DeleteWebhook(r.Context(), p.OrgID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// alertPayload is the webhook payload of a freshly created alert, which
// CreateAlert queues for every webhook of its organization. hostname may
// be empty.
func alertPayload(a *aip.Alert, orgName, hostname string) ([]byte, error) {
	body, err := webhook.Payload([]webhook.Alert{{
		ID: a.ID, Title: a.Title, CreatedAt: a.CreatedAt.UnixMilli(), Severity: a.Severity,
		OrganizationID: a.OrgID, OrganizationName: orgName, ServerOrRegion: hostname, Source: webhook.SourceHost,
	}})
	if err != nil {
		return nil, fmt.Errorf("webhook payload of alert %s: %w", a.ID, err)
	}
	return body, nil
}

// DefaultOutboxLease is how long a delivery handed to a dispatcher stays
// invisible to the others: twice the dispatcher's default request timeout.
const DefaultOutboxLease = 2 * webhook.DefaultTimeout

// Outbox is the webhook.Outbox of a store: it leases due deliveries and
// opens their sealed secrets with the keyring.
type Outbox struct {
	Store   aip.WebhookStore
	Keyring *keyring.Keyring
	// Lease keeps a delivery from other dispatchers while it is sent; it
	// must exceed the dispatcher's Timeout. DefaultOutboxLease when zero.
	Lease  time.Duration
	Logger *slog.Logger
}

var _ webhook.Outbox = (*Outbox)(nil)

// Due leases up to limit due deliveries. A delivery whose secret cannot be
// opened (a changed master key) can never be signed, so it is abandoned
// with that reason instead of returned.
func (o *Outbox) Due(ctx context.Context, now time.Time, limit int) ([]webhook.Delivery, error) {
	lease := o.Lease
	if lease <= 0 {
		lease = DefaultOutboxLease
	}
	due, err := o.Store.LeaseDueDeliveries(ctx, now, limit, lease)
	if err != nil {
		return nil, err
	}
	out := make([]webhook.Delivery, 0, len(due))
	for _, d := range due {
		secret, err := o.Keyring.Open(webhookSealOwner(d.WebhookID), d.SecretSealed)
		if err != nil {
			o.logger().ErrorContext(ctx, "webhook secret cannot be opened; delivery abandoned",
				slog.String("webhook_id", d.WebhookID), slog.String("delivery_id", d.ID), slog.Any("error", err))
			if err := o.MarkAbandoned(ctx, d.ID, now, 0, "The webhook secret cannot be opened; recreate the webhook."); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, webhook.Delivery{
			ID: d.ID, WebhookID: d.WebhookID, OrgID: d.OrgID, URL: d.URL, Secret: []byte(secret),
			Body: d.Body, Attempts: d.Attempts, CreatedAt: d.CreatedAt,
		})
	}
	return out, nil
}

// MarkDelivered records a 2xx answer.
func (o *Outbox) MarkDelivered(ctx context.Context, id string, at time.Time, status int) error {
	return o.record(ctx, id, aip.DeliveryAttempt{DeliveryStatus: aip.DeliveryStatus{State: aip.DeliveryDelivered, Status: status, At: at}})
}

// MarkFailed records a failed attempt to be retried at next.
func (o *Outbox) MarkFailed(ctx context.Context, id string, at time.Time, status int, errMsg string, next time.Time) error {
	return o.record(ctx, id, aip.DeliveryAttempt{
		DeliveryStatus: aip.DeliveryStatus{State: aip.DeliveryPending, Status: status, At: at, Error: errMsg}, Next: next})
}

// MarkAbandoned records a final failure.
func (o *Outbox) MarkAbandoned(ctx context.Context, id string, at time.Time, status int, errMsg string) error {
	return o.record(ctx, id, aip.DeliveryAttempt{DeliveryStatus: aip.DeliveryStatus{State: aip.DeliveryAbandoned, Status: status, At: at, Error: errMsg}})
}

// record ignores deliveries deleted with their webhook while in flight:
// there is nothing left to record, and nothing to retry.
func (o *Outbox) record(ctx context.Context, id string, a aip.DeliveryAttempt) error {
	err := o.Store.RecordDeliveryAttempt(ctx, id, a)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("webhook outbox: %w", err)
	}
	return nil
}

func (o *Outbox) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}
