package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	if err := lockLinkedAlerts(ctx, tx, orgID, ev.Links); err != nil {
		return err
	}
	for _, l := range ev.Links {
		if _, err := addAlertEvents(ctx, tx, orgID, l.AlertID, l.Events, l.LastEventAt); err != nil {
			return err
		}
	}
	// Windows are written in key order, so that two transactions writing
	// the same windows take their row locks in one order. The stable sort
	// keeps the last write of a key last.
	windows := slices.Clone(ev.Windows)
	slices.SortStableFunc(windows, func(a, b *aip.AlertWindow) int { return strings.Compare(a.Key, b.Key) })
	for _, w := range windows {
		if err := putWindow(ctx, tx, orgID, w); err != nil {
			return err
		}
	}
	return nil
}

// lockLinkedAlerts locks the alerts that links extend, in id order, before
// any is extended: addAlertEvents locks each alert anyway, and taking
// those locks in one order keeps two transactions that extend the same
// alerts from deadlocking. Alerts not found are left to addAlertEvents to
// report.
func lockLinkedAlerts(ctx context.Context, tx *sql.Tx, orgID string, links []aip.AlertLink) error {
	if len(links) < 2 {
		return nil
	}
	ids := make([]string, 0, len(links))
	for _, l := range links {
		ids = append(ids, l.AlertID)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM alerts WHERE org_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`,
		orgID, ids)
	if err != nil {
		return fmt.Errorf("lock alerts of organization %s: %w", orgID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("lock alerts of organization %s: %w", orgID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lock alerts of organization %s: %w", orgID, err)
	}
	return nil
}

// putWindow stores w, replacing the stored window of its key: the engine
// that evaluated the batch holds the window's whole state.
func putWindow(ctx context.Context, tx *sql.Tx, orgID string, w *aip.AlertWindow) error {
	if w.Key == "" {
		return aip.Errorf(aip.EINVALID, "An alert window needs a key.")
	}
	state, err := storeutil.EncodeWindowState(w)
	if err != nil {
		return fmt.Errorf("encode window %s: %w", w.Key, err)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO alert_windows (org_id, agg_key, window_end, state) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org_id, agg_key) DO UPDATE SET window_end = excluded.window_end, state = excluded.state`,
		orgID, w.Key, toMillis(w.WindowEnd), string(state))
	if err != nil {
		return fmt.Errorf("store window %s: %w", w.Key, err)
	}
	return nil
}

// ListAlertWindows returns the windows of orgID ending after since.
func (db *DB) ListAlertWindows(ctx context.Context, orgID string, since time.Time) ([]*aip.AlertWindow, error) {
	return listAlertWindows(ctx, db.sql, orgID, since)
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// listAlertWindows is ListAlertWindows through q.
func listAlertWindows(ctx context.Context, q querier, orgID string, since time.Time) ([]*aip.AlertWindow, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT agg_key, window_end, state FROM alert_windows WHERE org_id = $1 AND window_end > $2`,
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

// lockEvaluation takes the organization's evaluation lock for the rest of
// tx. The transaction-scoped advisory lock serializes the evaluations of
// one organization across nodes, as SQLite's single writer does, so that a
// node's cached windows are current exactly when the generation it cached
// is the one evalState reads.
func lockEvaluation(ctx context.Context, tx *sql.Tx, orgID string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('aip-eval:' || $1))`, orgID); err != nil {
		return fmt.Errorf("lock evaluation of %s: %w", orgID, err)
	}
	return nil
}

// evalState reads the organization's evaluation counters inside tx (zero
// before its first evaluation); the caller holds lockEvaluation.
func evalState(ctx context.Context, tx *sql.Tx, orgID string) (*aip.EvalState, error) {
	st := &aip.EvalState{Windows: func(since time.Time) ([]*aip.AlertWindow, error) {
		return listAlertWindows(ctx, tx, orgID, since)
	}}
	err := tx.QueryRowContext(ctx, `SELECT generation, rules_generation FROM eval_state WHERE org_id = $1`, orgID).
		Scan(&st.Generation, &st.RulesGeneration)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read evaluation state of %s: %w", orgID, err)
	}
	return st, nil
}

// bumpEvalGeneration records a committed evaluation of the organization.
func bumpEvalGeneration(ctx context.Context, tx *sql.Tx, orgID string) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO eval_state (org_id, generation) VALUES ($1, 1)
		ON CONFLICT (org_id) DO UPDATE SET generation = eval_state.generation + 1`, orgID)
	if err != nil {
		return fmt.Errorf("bump evaluation generation of %s: %w", orgID, err)
	}
	return nil
}
