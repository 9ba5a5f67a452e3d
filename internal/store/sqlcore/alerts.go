package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// FindAlert returns one alert.
func (co *Core) FindAlert(ctx context.Context, orgID, id string) (*aip.Alert, error) {
	a, err := storeutil.ScanAlert(co.read().QueryRowContext(ctx, `SELECT `+storeutil.AlertColumns+` FROM alerts WHERE org_id = ? AND id = ?`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Alert %s not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find alert %s: %w", id, err)
	}
	return a, nil
}

// ListAlerts returns at most f.Limit alerts ordered by (CreatedAt, ID)
// descending. OrgID, Status and a positive Limit are required.
func (co *Core) ListAlerts(ctx context.Context, f aip.AlertFilter) ([]*aip.Alert, error) {
	if err := storeutil.ValidAlertFilter(f); err != nil {
		return nil, err
	}
	switch {
	case f.Status == "":
		return nil, aip.Errorf(aip.EINVALID, "Alerts are listed by status: active or dismissed.")
	case f.Limit <= 0:
		return nil, aip.Errorf(aip.EINVALID, "Invalid limit %d: must be positive.", f.Limit)
	}
	q, args := storeutil.AlertQuery(f)
	rows, err := co.read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts of organization %s: %w", f.OrgID, err)
	}
	defer rows.Close()
	var out []*aip.Alert
	for rows.Next() {
		a, err := storeutil.ScanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list alerts of organization %s: %w", f.OrgID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list alerts of organization %s: %w", f.OrgID, err)
	}
	return out, nil
}

// CountAlertsBySeverity counts alerts per severity; 1, 2 and 3 always.
func (co *Core) CountAlertsBySeverity(ctx context.Context, orgID, status string, r aip.TimeRange) ([]aip.SeverityCount, error) {
	if err := storeutil.ValidAlertFilter(aip.AlertFilter{OrgID: orgID, Status: status}); err != nil {
		return nil, err
	}
	q, args := storeutil.SeverityCountQuery(orgID, status, r)
	out := []aip.SeverityCount{{Severity: 1}, {Severity: 2}, {Severity: 3}}
	err := co.read().QueryRowContext(ctx, q, args...).Scan(&out[0].Count, &out[1].Count, &out[2].Count)
	if err != nil {
		return nil, fmt.Errorf("count alerts of organization %s: %w", orgID, err)
	}
	return out, nil
}

// ListAlertEvents returns a page of an alert's events, newest first.
func (co *Core) ListAlertEvents(ctx context.Context, orgID, alertID string, after *aip.Cursor, limit int) ([]*aip.Event, error) {
	if limit <= 0 {
		return nil, aip.Errorf(aip.EINVALID, "Invalid limit %d: must be positive.", limit)
	}
	var ok bool
	err := co.read().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM alerts WHERE org_id = ? AND id = ?)`,
		orgID, alertID).Scan(&ok)
	if err != nil {
		return nil, fmt.Errorf("check alert %s: %w", alertID, err)
	} else if !ok {
		return nil, aip.Errorf(aip.ENOTFOUND, "Alert %s not found.", alertID)
	}
	q, args := storeutil.AlertEventsQuery(orgID, alertID, after, limit)
	rows, err := co.read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events of alert %s: %w", alertID, err)
	}
	defer rows.Close()
	out := []*aip.Event{}
	for rows.Next() {
		e, err := storeutil.ScanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("list events of alert %s: %w", alertID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events of alert %s: %w", alertID, err)
	}
	return out, nil
}

// DismissAlertsMatching dismisses every active alert matching f.
func (co *Core) DismissAlertsMatching(ctx context.Context, f aip.AlertFilter, d aip.Dismissal) (int, error) {
	f.Status = aip.AlertActive
	if err := storeutil.ValidAlertFilter(f); err != nil {
		return 0, err
	}
	set, args, err := storeutil.DismissSet(d)
	if err != nil {
		return 0, err
	}
	var q strings.Builder
	q.WriteString(set)
	args = storeutil.AppendAlertWhere(&q, args, f)
	args = storeutil.AppendRange(&q, args, "created_at", f.Range)
	return co.ExecCount(ctx, q.String(), args, "dismiss alerts of organization "+f.OrgID)
}

// ExecCount runs one write and returns how many rows it changed.
func (co *Core) ExecCount(ctx context.Context, q string, args []any, what string) (int, error) {
	res, err := co.write().ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}
