package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/sqlcore"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// CreateAlert stores a, links its first events and queues webhookBody
// (when not nil) for every webhook of the organization in one transaction,
// so that a crash cannot keep the alert and lose its deliveries.
func (db *DB) CreateAlert(ctx context.Context, a *aip.Alert, events []*aip.Event, webhookBody []byte) error {
	if err := storeutil.PrepareAlert(a); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := orgExists(ctx, tx, a.OrgID); err != nil {
			return err
		}
		return createAlert(ctx, tx, a, events, webhookBody)
	})
}

// createAlert inserts a prepared alert, links its events and queues its
// webhook deliveries inside tx.
func createAlert(ctx context.Context, tx *sql.Tx, a *aip.Alert, events []*aip.Event, webhookBody []byte) error {
	aggs, err := json.Marshal(a.Aggregates)
	if err != nil {
		return fmt.Errorf("encode aggregates of alert %s: %w", a.ID, err)
	}
	var dismissedAt any
	if a.IsDismissed {
		dismissedAt = toMillis(a.DismissedAt.Time)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO alerts (id, org_id, title, data_source, created_at, dismissed, dismissed_at, dismiss_reason,
			dismiss_reason_text, dismissed_by, severity, agent_id, rule_id, ruleset_id, aggregates,
			event_count, expires_at, last_event_at, agg_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
		a.ID, a.OrgID, a.Title, a.DataSource, toMillis(a.CreatedAt.Time), a.IsDismissed, dismissedAt,
		a.DismissReason, a.DismissReasonText, a.DismissedBy, a.Severity, a.AgentID, a.RuleID, a.RulesetID,
		string(aggs), toMillis(a.ExpiresAt.Time), toMillis(a.LastEventAt.Time), a.Key)
	if isUnique(err) {
		return aip.Errorf(aip.ECONFLICT, "Alert %s already exists.", a.ID)
	} else if err != nil {
		return fmt.Errorf("create alert %s: %w", a.ID, err)
	}
	n, err := linkEvents(ctx, tx, a.OrgID, a.ID, events, a.LastEventAt.Time)
	a.EventCount = n
	if err != nil {
		return err
	}
	if webhookBody == nil {
		return nil
	}
	if _, err := enqueueDeliveries(ctx, tx, a.OrgID, webhookBody); err != nil {
		return fmt.Errorf("enqueue webhook deliveries of alert %s: %w", a.ID, err)
	}
	return nil
}

// linkEvents links stored events to an alert, raising its event count by
// the number of new links, and returns that number.
func linkEvents(ctx context.Context, tx *sql.Tx, orgID, alertID string, events []*aip.Event, lastEventAt time.Time) (int, error) {
	added := 0
	for _, e := range events {
		id, ms := e.ID, toMillis(e.Time)
		res, err := tx.ExecContext(ctx, `
			INSERT OR IGNORE INTO alert_events (org_id, alert_id, event_id, event_time)
			SELECT org_id, ?, id, event_time FROM events WHERE org_id = ? AND event_time = ? AND id = ?`,
			alertID, orgID, ms, id)
		if err != nil {
			return 0, fmt.Errorf("link event %s to alert %s: %w", id, alertID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("link event %s to alert %s: %w", id, alertID, err)
		}
		if n == 0 {
			var stored bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE org_id = ? AND event_time = ? AND id = ?)`,
				orgID, ms, id).Scan(&stored)
			if err != nil {
				return 0, fmt.Errorf("check event %s: %w", id, err)
			} else if !stored {
				return 0, aip.Errorf(aip.ENOTFOUND, "Event %s not found.", id)
			}
		}
		added += int(n)
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE alerts SET event_count = event_count + ?, last_event_at = max(last_event_at, ?)
		WHERE org_id = ? AND id = ?`, added, toMillis(lastEventAt), orgID, alertID)
	if err != nil {
		return 0, fmt.Errorf("count events of alert %s: %w", alertID, err)
	}
	if err := sqlcore.WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Alert %s not found.", alertID)); err != nil {
		return 0, err
	}
	return added, nil
}

// AddAlertEvents links more events to an alert without counting any twice.
func (db *DB) AddAlertEvents(ctx context.Context, orgID, alertID string, events []*aip.Event, lastEventAt time.Time) (int, error) {
	var added int
	err := db.inTx(ctx, func(tx *sql.Tx) (err error) {
		added, err = addAlertEvents(ctx, tx, orgID, alertID, events, lastEventAt)
		return err
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// addAlertEvents is AddAlertEvents inside tx.
func addAlertEvents(ctx context.Context, tx *sql.Tx, orgID, alertID string, events []*aip.Event, lastEventAt time.Time) (int, error) {
	var ok bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM alerts WHERE org_id = ? AND id = ?)`,
		orgID, alertID).Scan(&ok)
	if err != nil {
		return 0, fmt.Errorf("check alert %s: %w", alertID, err)
	} else if !ok {
		return 0, aip.Errorf(aip.ENOTFOUND, "Alert %s not found.", alertID)
	}
	return linkEvents(ctx, tx, orgID, alertID, events, lastEventAt)
}

// DismissAlerts dismisses the active alerts among ids.
func (db *DB) DismissAlerts(ctx context.Context, orgID string, ids []string, d aip.Dismissal) (int, error) {
	if len(ids) > aip.MaxDismissIDs {
		return 0, aip.Errorf(aip.EINVALID, "At most %d alerts may be dismissed at once; got %d.", aip.MaxDismissIDs, len(ids))
	}
	if len(ids) == 0 {
		return 0, nil
	}
	set, args, err := storeutil.DismissSet(d)
	if err != nil {
		return 0, err
	}
	var q strings.Builder
	q.WriteString(set + ` WHERE org_id = ? AND dismissed = 0 AND id IN (`)
	args = append(args, orgID)
	for i, id := range ids {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('?')
		args = append(args, id)
	}
	q.WriteByte(')')
	return db.ExecCount(ctx, q.String(), args, "dismiss alerts of organization "+orgID)
}
