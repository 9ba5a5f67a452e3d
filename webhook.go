package aip

import (
	"context"
	"time"
)

// Delivery states of a webhook delivery.
const (
	// DeliveryPending is waiting for its first or next attempt.
	DeliveryPending = "pending"
	// DeliveryDelivered got a 2xx answer.
	DeliveryDelivered = "delivered"
	// DeliveryAbandoned failed for good (410, refused destination, or the
	// retry window is over).
	DeliveryAbandoned = "abandoned"
)

// Webhook is an organization's alert receiver (our extension of v2).
type Webhook struct {
	ID    string
	OrgID string
	URL   string
	// SecretSealed is the HMAC secret sealed by the keyring with the
	// webhook id as owner; it never leaves the server in clear.
	SecretSealed []byte
	CreatedAt    time.Time
	// LastDelivery is the outcome of the most recent attempt of any of its
	// deliveries; nil until one was made.
	LastDelivery *DeliveryStatus
}

// DeliveryStatus is the outcome of one delivery attempt.
type DeliveryStatus struct {
	// State is DeliveryPending (a retry is scheduled), DeliveryDelivered or
	// DeliveryAbandoned.
	State string
	// Status is the HTTP status of the answer; 0 when there was none.
	Status int
	At     time.Time
	// Error describes a failure; empty on success.
	Error string
}

// WebhookDelivery is one payload due to one webhook, as leased from the
// outbox.
type WebhookDelivery struct {
	ID           string
	WebhookID    string
	OrgID        string
	URL          string
	SecretSealed []byte
	Body         []byte
	// Attempts is the number of attempts already recorded.
	Attempts  int
	CreatedAt time.Time
}

// DeliveryAttempt is what RecordDeliveryAttempt persists.
type DeliveryAttempt struct {
	DeliveryStatus
	// Next is when a DeliveryPending delivery is tried again.
	Next time.Time
}

// MaxWebhooksPerOrg bounds the fan-out of every alert. The stores enforce
// it atomically, so that concurrent creates on several nodes cannot pass it.
const MaxWebhooksPerOrg = 20

// WebhookStore persists webhooks and their durable delivery outbox.
type WebhookStore interface {
	// CreateWebhook stores w, filling ID (when empty) and CreatedAt.
	// ENOTFOUND when the organization is unknown; EINVALID when it has
	// MaxWebhooksPerOrg webhooks already.
	CreateWebhook(ctx context.Context, w *Webhook) error
	// ListWebhooks returns orgID's webhooks, oldest first.
	ListWebhooks(ctx context.Context, orgID string) ([]*Webhook, error)
	// DeleteWebhook removes a webhook of orgID and its deliveries;
	// ENOTFOUND when orgID has no such webhook.
	DeleteWebhook(ctx context.Context, orgID, id string) error
	// EnqueueDeliveries queues body once for every webhook of orgID, due at
	// once, and returns how many deliveries it queued.
	EnqueueDeliveries(ctx context.Context, orgID string, body []byte) (int, error)
	// LeaseDueDeliveries returns up to limit pending deliveries due at now,
	// oldest next attempt first, and pushes their next attempt to now+lease
	// in the same transaction, so that concurrent callers never get the
	// same delivery while it is being sent.
	LeaseDueDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*WebhookDelivery, error)
	// RecordDeliveryAttempt counts one attempt of delivery id, sets its
	// state (and next attempt time when pending) and makes a the last
	// delivery status of its webhook. ENOTFOUND when the delivery is gone
	// (its webhook was deleted).
	RecordDeliveryAttempt(ctx context.Context, id string, a DeliveryAttempt) error
}
