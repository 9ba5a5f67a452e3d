package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aipsec/aip"
)

// CreateAuditRecords appends recs in one transaction: either every record
// is stored or none. IDs, OrganizationID and EventTime must be set.
func (db *DB) CreateAuditRecords(ctx context.Context, recs []*aip.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	// Validate and encode before taking the write lock, to hold it briefly.
	contexts := make([]sql.NullString, len(recs))
	for i, r := range recs {
		switch {
		case r.ID == "":
			return aip.Errorf(aip.EINVALID, "Audit record %d has no id.", i)
		case r.OrganizationID == "":
			return aip.Errorf(aip.EINVALID, "Audit record %s has no organization.", r.ID)
		case r.EventTime.IsZero():
			return aip.Errorf(aip.EINVALID, "Audit record %s has no event time.", r.ID)
		}
		if r.Context != nil {
			b, err := json.Marshal(r.Context)
			if err != nil {
				return fmt.Errorf("audit record %s: encode context: %w", r.ID, err)
			}
			contexts[i] = sql.NullString{String: string(b), Valid: true}
		}
	}

	var failed *aip.AuditRecord
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `
			INSERT INTO audit_records (id, org_id, user_id, user_email, result, crud, action,
			                           source, description, event_time, context)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, r := range recs {
			if _, err := stmt.ExecContext(ctx, r.ID, r.OrganizationID, r.UserID, r.UserEmail,
				r.Result, r.CRUD, r.Action, r.Source, r.Description,
				toMillis(r.EventTime.Time), contexts[i]); err != nil {
				failed = r
				return err
			}
		}
		return nil
	})
	switch {
	case failed != nil && isUnique(err):
		return aip.Errorf(aip.ECONFLICT, "Audit record %s already exists.", failed.ID)
	case failed != nil && isForeignKey(err):
		return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", failed.OrganizationID)
	case err != nil:
		return fmt.Errorf("create %d audit records: %w", len(recs), err)
	}
	return nil
}

// ListAuditRecords returns at most f.Limit records of f.OrgID ordered by
// (EventTime, ID) descending. OrgID and a positive Limit are required.
func (db *DB) ListAuditRecords(ctx context.Context, f aip.AuditFilter) ([]*aip.AuditRecord, error) {
	if f.OrgID == "" {
		return nil, aip.Errorf(aip.EINVALID, "Audit records are listed per organization.")
	}
	if f.Limit <= 0 {
		return nil, aip.Errorf(aip.EINVALID, "Invalid limit %d: must be positive.", f.Limit)
	}
	q, args := auditQuery(f)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit records of organization %s: %w", f.OrgID, err)
	}
	defer rows.Close()
	var out []*aip.AuditRecord
	for rows.Next() {
		var (
			r       aip.AuditRecord
			ms      int64
			ctxJSON sql.NullString
		)
		if err := rows.Scan(&r.ID, &r.OrganizationID, &r.UserID, &r.UserEmail, &r.Result, &r.CRUD,
			&r.Action, &r.Source, &r.Description, &ms, &ctxJSON); err != nil {
			return nil, fmt.Errorf("list audit records of organization %s: %w", f.OrgID, err)
		}
		r.EventTime = aip.Time{Time: fromMillis(ms)}
		if ctxJSON.Valid {
			if err := json.Unmarshal([]byte(ctxJSON.String), &r.Context); err != nil {
				return nil, fmt.Errorf("audit record %s: decode context: %w", r.ID, err)
			}
		}
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit records of organization %s: %w", f.OrgID, err)
	}
	return out, nil
}

// auditQuery builds the listing query for f: keyset pagination as a row
// value comparison, served by the (org_id, event_time DESC, id DESC) index.
func auditQuery(f aip.AuditFilter) (string, []any) {
	var q strings.Builder
	q.WriteString(`
		SELECT id, org_id, user_id, user_email, result, crud, action, source, description,
		       event_time, context
		FROM audit_records
		WHERE org_id = ?`)
	args := []any{f.OrgID}
	if !f.Range.From.IsZero() {
		q.WriteString(` AND event_time >= ?`)
		args = append(args, ceilMillis(f.Range.From))
	}
	if f.Operation != "" {
		q.WriteString(` AND crud = ?`)
		args = append(args, f.Operation)
	}
	if f.UserEmail != "" {
		q.WriteString(` AND user_email = ?`) // the column is COLLATE NOCASE
		args = append(args, f.UserEmail)
	}
	if f.UserID != "" {
		q.WriteString(` AND user_id = ?`)
		args = append(args, f.UserID)
	}
	// The upper bound is one row value, the tighter of Until and the
	// cursor: SQLite seeks the index with a single upper bound only, and
	// with two it would scan every earlier page of the listing. Until u is
	// the row value (u, ""), since no id sorts below the empty string.
	switch {
	case f.After != nil:
		ms, id := toMillis(f.After.Time), f.After.ID
		if !f.Range.Until.IsZero() {
			if u := ceilMillis(f.Range.Until); u < ms || (u == ms && id > "") {
				ms, id = u, ""
			}
		}
		q.WriteString(` AND (event_time, id) < (?, ?)`)
		args = append(args, ms, id)
	case !f.Range.Until.IsZero():
		q.WriteString(` AND event_time < ?`)
		args = append(args, ceilMillis(f.Range.Until))
	}
	q.WriteString(` ORDER BY event_time DESC, id DESC LIMIT ?`)
	args = append(args, f.Limit)
	return q.String(), args
}
