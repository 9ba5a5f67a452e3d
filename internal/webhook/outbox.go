package webhook

import (
	"context"
	"time"
)

// Delivery is one payload to POST to one webhook URL. It is immutable apart from Attempts,
// which the outbox advances on every Mark* call.
type Delivery struct {
	// ID is unique per delivery and sent as X-AIP-Delivery on every attempt.
	ID string
	// WebhookID identifies the configured webhook, for its "last status" view.
	WebhookID string
	// OrgID is the owning organization, for logs.
	OrgID string
	// URL is the receiver, http or https.
	URL string
	// Secret is the webhook's HMAC key.
	Secret []byte
	// Body is the JSON payload (see Payload).
	Body []byte
	// Attempts is the number of attempts already made.
	Attempts int
	// CreatedAt starts the retry window (Backoff.MaxAge).
	CreatedAt time.Time
}

// Outbox is the durable queue the Dispatcher drains. Implementations persist every Mark*
// before returning, so a crash loses at most the outcome of in-flight attempts (which are then
// retried; receivers deduplicate on X-AIP-Delivery).
//
// Due may return deliveries the calling Dispatcher is still sending; it skips those. Several
// Dispatchers on one outbox would each send such a delivery, so an implementation shared by
// processes should lease what Due returns (e.g. push its next attempt time forward).
type Outbox interface {
	// Due returns up to limit pending deliveries whose next attempt time is not after now,
	// oldest next attempt first.
	Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// MarkDelivered records a 2xx answer; the delivery is done.
	MarkDelivered(ctx context.Context, id string, at time.Time, status int) error
	// MarkFailed records a failed attempt (status 0 when no HTTP answer) and when to retry.
	MarkFailed(ctx context.Context, id string, at time.Time, status int, errMsg string, next time.Time) error
	// MarkAbandoned records a final failure; the delivery is never tried again.
	MarkAbandoned(ctx context.Context, id string, at time.Time, status int, errMsg string) error
}
