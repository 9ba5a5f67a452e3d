package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// ListWebhooks returns orgID's webhooks, oldest first.
func (co *Core) ListWebhooks(ctx context.Context, orgID string) ([]*aip.Webhook, error) {
	rows, err := co.read().QueryContext(ctx,
		`SELECT `+storeutil.WebhookColumns+` FROM webhooks WHERE org_id = ? ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks of %s: %w", orgID, err)
	}
	defer rows.Close()
	var out []*aip.Webhook
	for rows.Next() {
		w, err := storeutil.ScanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("scan webhook: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhooks of %s: %w", orgID, err)
	}
	return out, nil
}

// DeleteWebhook removes a webhook of orgID; its deliveries go with it
// (ON DELETE CASCADE).
func (co *Core) DeleteWebhook(ctx context.Context, orgID, id string) error {
	res, err := co.write().ExecContext(ctx, `DELETE FROM webhooks WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Webhook %s not found.", id))
}

// RecordDeliveryAttempt updates the delivery and its webhook's last
// status in one transaction.
func (co *Core) RecordDeliveryAttempt(ctx context.Context, id string, a aip.DeliveryAttempt) error {
	switch a.State {
	case aip.DeliveryPending, aip.DeliveryDelivered, aip.DeliveryAbandoned:
	default:
		return aip.Errorf(aip.EINVALID, "Invalid delivery state %q.", a.State)
	}
	err := co.inTx(ctx, func(tx Queryer) error {
		var webhookID string
		err := tx.QueryRowContext(ctx,
			`UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?, next_at = ?, last_status = ?, last_error = ?
			 WHERE id = ? RETURNING webhook_id`,
			a.State, storeutil.ToMillis(a.Next), a.Status, a.Error, id).Scan(&webhookID)
		if errors.Is(err, sql.ErrNoRows) {
			return aip.Errorf(aip.ENOTFOUND, "Delivery %s not found.", id)
		} else if err != nil {
			return fmt.Errorf("update delivery: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE webhooks SET last_state = ?, last_status = ?, last_at = ?, last_error = ? WHERE id = ?`,
			a.State, a.Status, storeutil.ToMillis(a.At), a.Error, webhookID); err != nil {
			return fmt.Errorf("update webhook %s: %w", webhookID, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record attempt of delivery %s: %w", id, err)
	}
	return nil
}
