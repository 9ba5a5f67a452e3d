package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/aipsec/aip"
)

// CreateWebhook stores w, filling ID when empty and CreatedAt.
func (db *DB) CreateWebhook(ctx context.Context, w *aip.Webhook) error {
	switch {
	case w.URL == "":
		return aip.Errorf(aip.EINVALID, "A webhook needs a URL.")
	case len(w.SecretSealed) == 0:
		return aip.Errorf(aip.EINVALID, "A webhook needs a sealed secret.")
	}
	if w.ID == "" {
		w.ID = aip.NewUUID()
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = now()
	}
	w.CreatedAt = normalize(w.CreatedAt)
	w.LastDelivery = nil
	// Count and insert in one write transaction: the single writer makes
	// the limit exact.
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhooks WHERE org_id = ?`, w.OrgID).Scan(&n); err != nil {
			return fmt.Errorf("count webhooks of organization %s: %w", w.OrgID, err)
		}
		if n >= aip.MaxWebhooksPerOrg {
			return aip.Errorf(aip.EINVALID, "An organization can have at most %d webhooks.", aip.MaxWebhooksPerOrg)
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO webhooks (id, org_id, url, secret_sealed, created_at) VALUES (?, ?, ?, ?, ?)`,
			w.ID, w.OrgID, w.URL, w.SecretSealed, toMillis(w.CreatedAt))
		switch {
		case isForeignKey(err):
			return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", w.OrgID)
		case isUnique(err):
			return aip.Errorf(aip.ECONFLICT, "Webhook %s already exists.", w.ID)
		case err != nil:
			return fmt.Errorf("create webhook of organization %s: %w", w.OrgID, err)
		}
		return nil
	})
}

// EnqueueDeliveries queues body for every webhook of orgID in one
// transaction.
func (db *DB) EnqueueDeliveries(ctx context.Context, orgID string, body []byte) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = enqueueDeliveries(ctx, tx, orgID, body)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue deliveries of %s: %w", orgID, err)
	}
	return n, nil
}

// enqueueDeliveries queues body for every webhook of orgID inside tx, so
// that callers can commit the deliveries together with what caused them.
func enqueueDeliveries(ctx context.Context, tx *sql.Tx, orgID string, body []byte) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM webhooks WHERE org_id = ?`, orgID)
	if err != nil {
		return 0, fmt.Errorf("webhooks of %s: %w", orgID, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("scan webhook id: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("webhooks of %s: %w", orgID, err)
	}
	created := toMillis(now())
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO webhook_deliveries (id, webhook_id, org_id, body, state, next_at, created_at)
			 VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
			aip.NewUUID(), id, orgID, body, created, created); err != nil {
			return 0, fmt.Errorf("enqueue delivery to webhook %s: %w", id, err)
		}
	}
	return len(ids), nil
}

// LeaseDueDeliveries selects and leases due deliveries in one write
// transaction, which SQLite serializes across processes.
func (db *DB) LeaseDueDeliveries(ctx context.Context, at time.Time, limit int, lease time.Duration) ([]*aip.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*aip.WebhookDelivery
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx,
			`SELECT d.id, d.webhook_id, d.org_id, w.url, w.secret_sealed, d.body, d.attempts, d.created_at
			 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
			 WHERE d.state = 'pending' AND d.next_at <= ?
			 ORDER BY d.next_at, d.id LIMIT ?`, toMillis(at), limit)
		if err != nil {
			return fmt.Errorf("select due deliveries: %w", err)
		}
		for rows.Next() {
			var (
				d       aip.WebhookDelivery
				created int64
			)
			if err := rows.Scan(&d.ID, &d.WebhookID, &d.OrgID, &d.URL, &d.SecretSealed, &d.Body, &d.Attempts, &created); err != nil {
				rows.Close()
				return fmt.Errorf("scan delivery: %w", err)
			}
			d.CreatedAt = fromMillis(created)
			out = append(out, &d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("select due deliveries: %w", err)
		}
		if len(out) == 0 {
			return nil
		}
		args := make([]any, 0, len(out)+1)
		args = append(args, toMillis(at.Add(lease)))
		for _, d := range out {
			args = append(args, d.ID)
		}
		q := `UPDATE webhook_deliveries SET next_at = ? WHERE id IN (?` + strings.Repeat(", ?", len(out)-1) + `)`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("lease deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lease due deliveries: %w", err)
	}
	return out, nil
}
