package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
	sqlite3 "modernc.org/sqlite/lib"
)

// auditColumns is the number of values one audit_records row takes.
const auditColumns = 11

// auditChunk is the most rows one INSERT statement carries: sending rows 64
// at a time runs the statement machinery once per chunk instead of once per
// row, while 64*11 parameters stay far below SQLite's limit of 32766.
const auditChunk = 64

// maxContextDepth is how deeply an audit context may nest arrays and
// objects: SQLite's JSON functions, json_valid included, refuse deeper text.
const maxContextDepth = 1000

// CreateAuditRecords appends recs in one transaction: either every record
// is stored or none. IDs, OrganizationID and EventTime must be set; Context
// is empty or one JSON object nested at most maxContextDepth deep, stored
// as given.
func (db *DB) CreateAuditRecords(ctx context.Context, recs []*aip.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	// Validate before taking the write lock, to hold it briefly.
	for i, r := range recs {
		switch {
		case r.ID == "":
			return aip.Errorf(aip.EINVALID, "Audit record %d has no id.", i)
		case r.OrganizationID == "":
			return aip.Errorf(aip.EINVALID, "Audit record %s has no organization.", r.ID)
		case r.EventTime.IsZero():
			return aip.Errorf(aip.EINVALID, "Audit record %s has no event time.", r.ID)
		// Well-formedness is left to the column's CHECK (json_valid(context)),
		// which SQLite evaluates for a fraction of what encoding/json's
		// validator costs here, on every record the server writes;
		// FuzzAuditContext holds the two to the same verdicts. The one
		// difference, SQLite reading text only up to a NUL byte, is settled by
		// LooksLikeObject rejecting a raw NUL.
		case len(r.Context) > 0 && !storeutil.LooksLikeObject(r.Context):
			return aip.Errorf(aip.EINVALID, "Audit record %s: the context must be a JSON object.", r.ID)
		}
	}
	// The statements are prepared on the write pool, whose only connection
	// the transaction below holds: prepare them first.
	sizes := auditChunks(len(recs))
	stmts := make([]*sql.Stmt, len(sizes))
	for i, n := range sizes {
		var err error
		if stmts[i], err = db.auditInsert(ctx, n); err != nil {
			return fmt.Errorf("create %d audit records: %w", len(recs), err)
		}
	}

	var failed []*aip.AuditRecord
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, auditColumns*sizes[0])
		rest := recs
		for i, n := range sizes {
			chunk := rest[:n]
			rest = rest[n:]
			args = args[:0]
			for _, r := range chunk {
				var c any // NULL without a context
				if len(r.Context) > 0 {
					c = string(r.Context)
				}
				args = append(args, r.ID, r.OrganizationID, r.UserID, r.UserEmail,
					r.Result, r.CRUD, r.Action, r.Source, r.Description,
					toMillis(r.EventTime.Time), c)
			}
			if _, err := tx.StmtContext(ctx, stmts[i]).ExecContext(ctx, args...); err != nil {
				failed = chunk
				return err
			}
		}
		return nil
	})
	switch {
	case failed != nil && isUnique(err):
		if r := db.auditConflict(ctx, recs, failed); r != nil {
			return aip.Errorf(aip.ECONFLICT, "Audit record %s already exists.", r.ID)
		}
		return aip.Errorf(aip.ECONFLICT, "An audit record of this batch already exists.")
	case failed != nil && sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_CHECK:
		// The column's json_valid check: a context that opens like an
		// object but is not well-formed JSON.
		for _, r := range failed {
			if len(r.Context) > 0 && !json.Valid(r.Context) {
				return aip.Errorf(aip.EINVALID, "Audit record %s: the context must be a JSON object.", r.ID)
			}
		}
		return aip.Errorf(aip.EINVALID, "An audit record of this batch has a context nested more than %d levels deep.", maxContextDepth)
	case failed != nil && isForeignKey(err):
		if r := db.auditMissingOrg(ctx, failed); r != nil {
			return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", r.OrganizationID)
		}
		return aip.Errorf(aip.ENOTFOUND, "An organization of this batch was not found.")
	case err != nil:
		return fmt.Errorf("create %d audit records: %w", len(recs), err)
	}
	return nil
}

// auditChunks splits n rows into INSERT sizes: as many full chunks as fit,
// then the rest in powers of two, so that at most 7 distinct statements
// (64, 32, ..., 1 rows) serve every batch size.
func auditChunks(n int) []int {
	var sizes []int
	for ; n >= auditChunk; n -= auditChunk {
		sizes = append(sizes, auditChunk)
	}
	for size := auditChunk / 2; size > 0; size /= 2 {
		if n >= size {
			sizes = append(sizes, size)
			n -= size
		}
	}
	return sizes
}

// auditInsert returns the prepared INSERT of n audit rows, preparing it on
// first use; Close releases it.
func (db *DB) auditInsert(ctx context.Context, n int) (*sql.Stmt, error) {
	db.auditMu.Lock()
	defer db.auditMu.Unlock()
	if s := db.auditInserts[n]; s != nil {
		return s, nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO audit_records (id, org_id, user_id, user_email, result, crud, action,
		source, description, event_time, context) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?,?,?,?,?,?,?)")
	}
	s, err := db.write.PrepareContext(ctx, q.String())
	if err != nil {
		return nil, fmt.Errorf("prepare insert of %d audit records: %w", n, err)
	}
	if db.auditInserts == nil {
		db.auditInserts = map[int]*sql.Stmt{}
	}
	db.auditInserts[n] = s
	return s, nil
}

// auditConflict finds the record that made a batch violate the uniqueness
// of (org, event time, id): a duplicate inside recs, or a record of the
// failed chunk that is already stored. It runs only on that error path.
func (db *DB) auditConflict(ctx context.Context, recs, failed []*aip.AuditRecord) *aip.AuditRecord {
	type key struct {
		org, id string
		ms      int64
	}
	seen := make(map[key]bool, len(recs))
	for _, r := range recs {
		k := key{r.OrganizationID, r.ID, toMillis(r.EventTime.Time)}
		if seen[k] {
			return r
		}
		seen[k] = true
	}
	for _, r := range failed {
		var exists bool
		err := db.read.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM audit_records WHERE org_id = ? AND event_time = ? AND id = ?)`,
			r.OrganizationID, toMillis(r.EventTime.Time), r.ID).Scan(&exists)
		if err == nil && exists {
			return r
		}
	}
	return nil
}

// auditMissingOrg finds a record of the failed chunk whose organization
// does not exist. It runs only on that error path.
func (db *DB) auditMissingOrg(ctx context.Context, failed []*aip.AuditRecord) *aip.AuditRecord {
	checked := map[string]bool{}
	for _, r := range failed {
		if checked[r.OrganizationID] {
			continue
		}
		checked[r.OrganizationID] = true
		var exists bool
		err := db.read.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM organizations WHERE id = ?)`, r.OrganizationID).Scan(&exists)
		if err == nil && !exists {
			return r
		}
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
			r  aip.AuditRecord
			ms int64
		)
		// The context comes back as stored: nil for NULL, else the object.
		if err := rows.Scan(&r.ID, &r.OrganizationID, &r.UserID, &r.UserEmail, &r.Result, &r.CRUD,
			&r.Action, &r.Source, &r.Description, &ms, (*[]byte)(&r.Context)); err != nil {
			return nil, fmt.Errorf("list audit records of organization %s: %w", f.OrgID, err)
		}
		r.EventTime = aip.Time{Time: fromMillis(ms)}
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit records of organization %s: %w", f.OrgID, err)
	}
	return out, nil
}

// auditQuery builds the listing query for f: keyset pagination as a row
// value comparison (storeutil.AppendNewestFirst), served by the
// (org_id, event_time DESC, id DESC) index.
func auditQuery(f aip.AuditFilter) (string, []any) {
	var q strings.Builder
	q.WriteString(`
		SELECT id, org_id, user_id, user_email, result, crud, action, source, description,
		       event_time, context
		FROM audit_records
		WHERE org_id = ?`)
	args := []any{f.OrgID}
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
	args = storeutil.AppendNewestFirst(&q, args, "event_time", "id", f.Range, f.After, f.Limit)
	return q.String(), args
}
