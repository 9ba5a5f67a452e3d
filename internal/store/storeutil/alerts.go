package storeutil

// The alert and event queries both stores run. They are written with
// SQLite-style ? placeholders; the PostgreSQL store rebinds them to $n.

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aipsec/aip"
)

// PrepareAlert checks a and normalizes it to what will be stored.
func PrepareAlert(a *aip.Alert) error {
	switch {
	case a.Severity < 1 || a.Severity > 3:
		return aip.Errorf(aip.EINVALID, "Invalid severity %d: must be 1, 2 or 3.", a.Severity)
	case a.CreatedAt.IsZero():
		return aip.Errorf(aip.EINVALID, "An alert needs a creation time.")
	}
	if a.ID == "" {
		a.ID = aip.NewUUID()
	}
	a.CreatedAt.Time = Normalize(a.CreatedAt.Time)
	if a.LastEventAt.Before(a.CreatedAt.Time) {
		a.LastEventAt = a.CreatedAt
	}
	a.LastEventAt.Time = Normalize(a.LastEventAt.Time)
	a.ExpiresAt.Time = Normalize(a.ExpiresAt.Time)
	a.Aggregates = NonNil(a.Aggregates)
	return nil
}

// AlertColumns is what ScanAlert reads, in its order.
const AlertColumns = `id, org_id, title, data_source, created_at, dismissed, dismissed_at, dismiss_reason,
	dismiss_reason_text, dismissed_by, severity, agent_id, rule_id, ruleset_id, aggregates, event_count,
	expires_at, last_event_at, agg_key`

// ScanAlert reads one row of AlertColumns.
func ScanAlert(row Scanner) (*aip.Alert, error) {
	var (
		a                          aip.Alert
		created, expires, lastSeen int64
		dismissedAt                sql.NullInt64
		aggs                       string
	)
	if err := row.Scan(&a.ID, &a.OrgID, &a.Title, &a.DataSource, &created, &a.IsDismissed, &dismissedAt,
		&a.DismissReason, &a.DismissReasonText, &a.DismissedBy, &a.Severity, &a.AgentID, &a.RuleID, &a.RulesetID,
		&aggs, &a.EventCount, &expires, &lastSeen, &a.Key); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(aggs), &a.Aggregates); err != nil {
		return nil, fmt.Errorf("decode aggregates of alert %s: %w", a.ID, err)
	}
	a.Aggregates = NonNil(a.Aggregates)
	a.CreatedAt = aip.Time{Time: FromMillis(created)}
	a.DismissedAt = aip.Time{Time: FromNullMillis(dismissedAt)}
	a.ExpiresAt = aip.Time{Time: FromMillis(expires)}
	a.LastEventAt = aip.Time{Time: FromMillis(lastSeen)}
	return &a, nil
}

// ValidAlertFilter checks the parts of f every alert query uses.
func ValidAlertFilter(f aip.AlertFilter) error {
	switch {
	case f.OrgID == "":
		return aip.Errorf(aip.EINVALID, "Alerts are selected per organization.")
	case f.Status != "" && f.Status != aip.AlertActive && f.Status != aip.AlertDismissed:
		return aip.Errorf(aip.EINVALID, "Invalid status %q: must be active or dismissed.", f.Status)
	case f.Severity != 0 && (f.Severity < 1 || f.Severity > 3):
		return aip.Errorf(aip.EINVALID, "Invalid severity %d: must be 1, 2 or 3.", f.Severity)
	}
	return nil
}

// AppendAlertWhere appends the equality filters of f (not its time range).
func AppendAlertWhere(q *strings.Builder, args []any, f aip.AlertFilter) []any {
	q.WriteString(` WHERE org_id = ?`)
	args = append(args, f.OrgID)
	for _, c := range []struct {
		col string
		val any
		set bool
	}{
		{"severity", f.Severity, f.Severity != 0},
		{"agent_id", f.AgentID, f.AgentID != ""},
		{"rule_id", f.RuleID, f.RuleID != ""},
		{"ruleset_id", f.RulesetID, f.RulesetID != ""},
		{"dismissed", f.Status == aip.AlertDismissed, f.Status != ""},
	} {
		if c.set {
			q.WriteString(` AND ` + c.col + ` = ?`)
			args = append(args, c.val)
		}
	}
	return args
}

// AlertQuery builds the listing query for f: an index seek on one of the
// alerts_* indexes whatever the page.
func AlertQuery(f aip.AlertFilter) (string, []any) {
	var q strings.Builder
	q.WriteString(`SELECT ` + AlertColumns + ` FROM alerts`)
	args := AppendAlertWhere(&q, nil, f)
	args = AppendNewestFirst(&q, args, "created_at", "id", f.Range, f.After, f.Limit)
	return q.String(), args
}

// SeverityCountQuery counts each severity in its own subquery, so that
// each is a seek of the covering alerts_severity index over just the time
// range, rather than a scan of every alert of the organization.
func SeverityCountQuery(orgID, status string, r aip.TimeRange) (string, []any) {
	var q strings.Builder
	var args []any
	q.WriteString(`SELECT`)
	for sev := 1; sev <= 3; sev++ {
		if sev > 1 {
			q.WriteByte(',')
		}
		q.WriteString(` (SELECT count(*) FROM alerts`)
		args = AppendAlertWhere(&q, args, aip.AlertFilter{OrgID: orgID, Status: status, Severity: sev})
		args = AppendRange(&q, args, "created_at", r)
		q.WriteString(`)`)
	}
	return q.String(), args
}

// AlertEventsQuery builds the query of a page of an alert's events: a seek
// on alert_events_time, then one unique key lookup per event.
func AlertEventsQuery(orgID, alertID string, after *aip.Cursor, limit int) (string, []any) {
	var q strings.Builder
	q.WriteString(`SELECT ` + EventSelect + ` FROM alert_events l
		JOIN events e ON e.org_id = l.org_id AND e.event_time = l.event_time AND e.id = l.event_id
		WHERE l.org_id = ? AND l.alert_id = ?`)
	args := AppendNewestFirst(&q, []any{orgID, alertID}, "l.event_time", "l.event_id", aip.TimeRange{}, after, limit)
	return q.String(), args
}

// DismissSet is the SET clause of a dismissal and its arguments.
func DismissSet(d aip.Dismissal) (string, []any, error) {
	if d.Reason == "" {
		return "", nil, aip.Errorf(aip.EINVALID, "A dismissal needs a reason.")
	}
	at := d.At
	if at.IsZero() {
		at = Now()
	}
	return `UPDATE alerts SET dismissed = ?, dismissed_at = ?, dismiss_reason = ?, dismiss_reason_text = ?, dismissed_by = ?`,
		[]any{true, ToMillis(at), d.Reason, d.Text, d.By}, nil
}

// EventSelect is what ScanEvent reads, for events aliased e.
const EventSelect = `e.id, e.org_id, e.agent_id, e.event_type, e.event_time, e.received_at, e.body`

// ScanEvent reads one row of EventSelect.
func ScanEvent(row Scanner) (*aip.Event, error) {
	var (
		e            aip.Event
		at, received int64
	)
	if err := row.Scan(&e.ID, &e.OrgID, &e.AgentID, &e.Type, &at, &received, (*[]byte)(&e.Raw)); err != nil {
		return nil, err
	}
	e.Time, e.ReceivedAt = FromMillis(at), FromMillis(received)
	return &e, nil
}
