package client

import (
	"context"
	"net/http"

	"github.com/aipsec/aip"
)

// WebhooksService manages the organization's alert webhooks (aip's
// extension of the v2 API).
type WebhooksService service

// Webhook is an alert receiver as the API shows it; its secret is never
// returned.
type Webhook struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	CreatedAt aip.Time `json:"createdAt"`
	// LastDelivery is the latest delivery attempt; nil before the first.
	LastDelivery *WebhookDelivery `json:"lastDelivery"`
}

// WebhookDelivery is the outcome of a delivery attempt.
type WebhookDelivery struct {
	// Status is the receiver's HTTP status; 0 when it did not answer.
	Status int      `json:"status"`
	At     aip.Time `json:"at"`
	// Error says why the attempt failed; empty on success.
	Error string `json:"error"`
	// State is "pending" (a retry is scheduled), "delivered" or "abandoned".
	State string `json:"state"`
}

// WebhookRequest is the body of WebhooksService.Create.
type WebhookRequest struct {
	// URL is the absolute http(s) URL that receives {"alerts":[...]}.
	URL string `json:"url"`
	// Secret (16 to 256 characters) keys the X-AIP-Signature HMAC.
	Secret string `json:"secret"`
}

// List returns every webhook of the organization
// (GET /v2/integrations/webhooks).
func (s *WebhooksService) List(ctx context.Context) ([]*Webhook, *Response, error) {
	var env struct {
		Webhooks []*Webhook `json:"webhooks"`
		Token    *string    `json:"token"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, "v2/integrations/webhooks", nil, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.NextToken = deref(env.Token)
	return env.Webhooks, resp, nil
}

// Create adds a webhook (POST /v2/integrations/webhooks).
func (s *WebhooksService) Create(ctx context.Context, r *WebhookRequest) (*Webhook, *Response, error) {
	w := new(Webhook)
	resp, err := s.client.call(ctx, http.MethodPost, "v2/integrations/webhooks", r, w)
	if err != nil {
		return nil, resp, err
	}
	return w, resp, nil
}

// Delete removes a webhook and its queued deliveries
// (DELETE /v2/integrations/webhooks/{id}).
func (s *WebhooksService) Delete(ctx context.Context, id string) (*Response, error) {
	p, err := pathID("webhook", id)
	if err != nil {
		return nil, err
	}
	return s.client.call(ctx, http.MethodDelete, "v2/integrations/webhooks/"+p, nil, nil)
}
