package storeutil

import (
	"database/sql"

	"github.com/aipsec/aip"
)

// WebhookColumns is what ScanWebhook reads, in its order.
const WebhookColumns = `id, org_id, url, secret_sealed, created_at, last_state, last_status, last_at, last_error`

// ScanWebhook reads one row of WebhookColumns; LastDelivery stays nil
// until a delivery was attempted.
func ScanWebhook(row Scanner) (*aip.Webhook, error) {
	var (
		w       aip.Webhook
		created int64
		state   sql.NullString
		status  sql.NullInt64
		at      sql.NullInt64
		errText sql.NullString
	)
	if err := row.Scan(&w.ID, &w.OrgID, &w.URL, &w.SecretSealed, &created, &state, &status, &at, &errText); err != nil {
		return nil, err
	}
	w.CreatedAt = FromMillis(created)
	if state.Valid {
		w.LastDelivery = &aip.DeliveryStatus{State: state.String, Status: int(status.Int64), At: FromNullMillis(at), Error: errText.String}
	}
	return &w, nil
}
