package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/aipsec/aip"
)

// CreateWebhook stores w, filling ID when empty and CreatedAt. EINVALID
// when the organization already has aip.MaxWebhooksPerOrg webhooks.
//
// Several nodes may create webhooks of one organization at once, so the
// count and the insert run under a transaction-scoped advisory lock keyed
// by the organization: SQLite's single writer made this count-then-insert
// atomic, PostgreSQL needs the lock (a row lock would not stop the
// inserts, which add new rows).
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
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('webhooks:' || $1))`, w.OrgID); err != nil {
			return fmt.Errorf("lock webhooks of organization %s: %w", w.OrgID, err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhooks WHERE org_id = $1`, w.OrgID).Scan(&n); err != nil {
			return fmt.Errorf("count webhooks of organization %s: %w", w.OrgID, err)
		}
		if n >= aip.MaxWebhooksPerOrg {
			return aip.Errorf(aip.EINVALID, "An organization can have at most %d webhooks.", aip.MaxWebhooksPerOrg)
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO webhooks (id, org_id, url, secret_sealed, created_at) VALUES ($1, $2, $3, $4, $5)`,
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
// One INSERT … SELECT reads the webhooks and writes their deliveries, so a
// webhook deleted by another node meanwhile is either queued and then
// cascaded away with it, or not queued at all.
func enqueueDeliveries(ctx context.Context, tx *sql.Tx, orgID string, body []byte) (int, error) {
	created := toMillis(now())
	res, err := tx.ExecContext(ctx,
		`INSERT INTO webhook_deliveries (id, webhook_id, org_id, body, state, next_at, created_at)
		 SELECT gen_random_uuid()::text, id, org_id, $1::bytea, 'pending', $2::bigint, $2::bigint FROM webhooks WHERE org_id = $3`,
		body, created, orgID)
	if err != nil {
		return 0, fmt.Errorf("enqueue deliveries to webhooks of %s: %w", orgID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("enqueue deliveries to webhooks of %s: %w", orgID, err)
	}
	return int(n), nil
}

// LeaseDueDeliveries selects and leases due deliveries in one statement.
// SQLite's single writer serialized dispatchers; here several nodes poll
// at once, so the due rows are picked FOR UPDATE SKIP LOCKED: a delivery
// another node is leasing right now is skipped rather than waited for, and
// one whose lease that node already committed no longer matches
// next_at <= at when re-checked. Each delivery thus goes to one dispatcher
// per lease.
func (db *DB) LeaseDueDeliveries(ctx context.Context, at time.Time, limit int, lease time.Duration) ([]*aip.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.sql.QueryContext(ctx, `
		WITH due AS (
			SELECT id, next_at FROM webhook_deliveries
			WHERE state = 'pending' AND next_at <= $1
			ORDER BY next_at, id LIMIT $2
			FOR UPDATE SKIP LOCKED
		), leased AS (
			UPDATE webhook_deliveries d SET next_at = $3
			FROM due, webhooks w
			WHERE d.id = due.id AND w.id = d.webhook_id
			RETURNING d.id, d.webhook_id, d.org_id, w.url, w.secret_sealed, d.body, d.attempts, d.created_at,
				due.next_at AS due_at
		)
		SELECT id, webhook_id, org_id, url, secret_sealed, body, attempts, created_at
		FROM leased ORDER BY due_at, id`,
		toMillis(at), limit, toMillis(at.Add(lease)))
	if err != nil {
		return nil, fmt.Errorf("lease due deliveries: %w", err)
	}
	defer rows.Close()
	var out []*aip.WebhookDelivery
	for rows.Next() {
		var (
			d       aip.WebhookDelivery
			created int64
		)
		if err := rows.Scan(&d.ID, &d.WebhookID, &d.OrgID, &d.URL, &d.SecretSealed, &d.Body, &d.Attempts, &created); err != nil {
			return nil, fmt.Errorf("lease due deliveries: scan delivery: %w", err)
		}
		d.CreatedAt = fromMillis(created)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lease due deliveries: %w", err)
	}
	return out, nil
}
