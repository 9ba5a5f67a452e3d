package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// applyEvaluation writes ev inside tx: new alerts, then links, then windows.
func applyEvaluation(ctx context.Context, tx *sql.Tx, orgID string, ev *aip.Evaluation) error {
	for _, na := range ev.Alerts {
		if na.Alert.OrgID != orgID {
			return fmt.Errorf("alert %s of organization %q evaluated for %q", na.Alert.ID, na.Alert.OrgID, orgID)
		}
		if err := storeutil.PrepareAlert(na.Alert); err != nil {
			return err
		}
		if err := createAlert(ctx, tx, na.Alert, na.Events, na.WebhookBody); err != nil {
			return err
		}
	}
	for _, l := range ev.Links {
		if _, err := addAlertEvents(ctx, tx, orgID, l.AlertID, l.Events, l.LastEventAt); err != nil {
			return err
		}
	}
	for _, w := range ev.Windows {
		if err := putWindow(ctx, tx, orgID, w); err != nil {
			return err
		}
	}
	return nil
}

func putWindow(ctx context.Context, tx *sql.Tx, orgID string, w *aip.AlertWindow) error {
	if w.Key == "" {
		return aip.Errorf(aip.EINVALID, "An alert window needs a key.")
	}
	state, err := storeutil.EncodeWindowState(w)
	if err != nil {
		return fmt.Errorf("encode window %s: %w", w.Key, err)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO alert_windows (org_id, agg_key, window_end, state) VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id, agg_key) DO UPDATE SET window_end = excluded.window_end, state = excluded.state`,
		orgID, w.Key, toMillis(w.WindowEnd), string(state))
	if err != nil {
		return fmt.Errorf("store window %s: %w", w.Key, err)
	}
	return nil
}

// ListAlertWindows returns the windows of orgID ending after since.
func (db *DB) ListAlertWindows(ctx context.Context, orgID string, since time.Time) ([]*aip.AlertWindow, error) {
	return listAlertWindows(ctx, db.read, orgID, since)
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// listAlertWindows is ListAlertWindows through q.
func listAlertWindows(ctx context.Context, q querier, orgID string, since time.Time) ([]*aip.AlertWindow, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT agg_key, window_end, state FROM alert_windows WHERE org_id = ? AND window_end > ?`,
		orgID, toMillis(since))
	if err != nil {
		return nil, fmt.Errorf("list windows of %s: %w", orgID, err)
	}
	defer rows.Close()
	var out []*aip.AlertWindow
	for rows.Next() {
		var (
			key, state string
			end        int64
		)
		if err := rows.Scan(&key, &end, &state); err != nil {
			return nil, fmt.Errorf("list windows of %s: %w", orgID, err)
		}
		w, err := storeutil.DecodeWindowState(key, fromMillis(end), []byte(state))
		if err != nil {
			return nil, fmt.Errorf("decode window %s of %s: %w", key, orgID, err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list windows of %s: %w", orgID, err)
	}
	return out, nil
}

// evalState reads the organization's evaluation counters inside tx (zero
// before its first evaluation).
func evalState(ctx context.Context, tx *sql.Tx, orgID string) (*aip.EvalState, error) {
	st := &aip.EvalState{Windows: func(since time.Time) ([]*aip.AlertWindow, error) {
		return listAlertWindows(ctx, tx, orgID, since)
	}}
	err := tx.QueryRowContext(ctx, `SELECT generation, rules_generation FROM eval_state WHERE org_id = ?`, orgID).
		Scan(&st.Generation, &st.RulesGeneration)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read evaluation state of %s: %w", orgID, err)
	}
	return st, nil
}

// bumpEvalGeneration records a committed evaluation of the organization.
func bumpEvalGeneration(ctx context.Context, tx *sql.Tx, orgID string) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO eval_state (org_id, generation) VALUES (?, 1)
		ON CONFLICT (org_id) DO UPDATE SET generation = generation + 1`, orgID)
	if err != nil {
		return fmt.Errorf("bump evaluation generation of %s: %w", orgID, err)
	}
	return nil
}
