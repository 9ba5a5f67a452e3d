package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// maxContextDepth is how deeply an audit context may nest arrays and
// objects. PostgreSQL stores the context as TEXT and would take any depth;
// the limit is the SQLite store's (its JSON functions refuse deeper text),
// kept so that both backends accept the same records.
const maxContextDepth = 1000

// auditInsert inserts a whole batch in one statement whatever its size:
// each column travels as one array parameter and unnest zips them back
// into rows. The text stays the same for every batch, so pgx prepares it
// once per connection, and a batch costs one round trip.
const auditInsert = `
	INSERT INTO audit_records (id, org_id, user_id, user_email, result, crud, action,
		source, description, event_time, context)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[])`

// CreateAuditRecords appends recs in one statement: either every record is
// stored or none. IDs, OrganizationID and EventTime must be set; Context is
// empty or one JSON object nested at most maxContextDepth deep, stored as
// given.
func (db *DB) CreateAuditRecords(ctx context.Context, recs []*aip.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	n := len(recs)
	var (
		ids, orgs, userIDs, emails = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		results, cruds, actions    = make([]string, n), make([]string, n), make([]string, n)
		sources, descriptions      = make([]string, n), make([]string, n)
		times                      = make([]int64, n)
		contexts                   = make([]*string, n) // nil is NULL: no context
	)
	for i, r := range recs {
		switch {
		case r.ID == "":
			return aip.Errorf(aip.EINVALID, "Audit record %d has no id.", i)
		case r.OrganizationID == "":
			return aip.Errorf(aip.EINVALID, "Audit record %s has no organization.", r.ID)
		case r.EventTime.IsZero():
			return aip.Errorf(aip.EINVALID, "Audit record %s has no event time.", r.ID)
		case len(r.Context) > 0 && !validContext(r.Context):
			return aip.Errorf(aip.EINVALID, "Audit record %s: the context must be a JSON object.", r.ID)
		case len(r.Context) > 0 && contextDepth(r.Context) > maxContextDepth:
			return aip.Errorf(aip.EINVALID, "Audit record %s has a context nested more than %d levels deep.", r.ID, maxContextDepth)
		}
		ids[i], orgs[i], userIDs[i], emails[i] = r.ID, r.OrganizationID, r.UserID, r.UserEmail
		results[i], cruds[i], actions[i] = r.Result, r.CRUD, r.Action
		sources[i], descriptions[i] = r.Source, r.Description
		times[i] = toMillis(r.EventTime.Time)
		if len(r.Context) > 0 {
			c := string(r.Context)
			contexts[i] = &c
		}
	}
	_, err := db.sql.ExecContext(ctx, auditInsert, ids, orgs, userIDs, emails, results, cruds,
		actions, sources, descriptions, times, contexts)
	switch {
	case isUnique(err):
		if r := db.auditConflict(ctx, recs); r != nil {
			return aip.Errorf(aip.ECONFLICT, "Audit record %s already exists.", r.ID)
		}
		return aip.Errorf(aip.ECONFLICT, "An audit record of this batch already exists.")
	case isForeignKey(err):
		if org := db.auditMissingOrg(ctx, orgs); org != "" {
			return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", org)
		}
		return aip.Errorf(aip.ENOTFOUND, "An organization of this batch was not found.")
	case pgCode(err) == "22021" || pgCode(err) == "22P05":
		// Text PostgreSQL cannot store: invalid UTF-8 or a NUL byte in a
		// field other than the context, which was checked above.
		return aip.Errorf(aip.EINVALID, "An audit record of this batch has text that is not valid UTF-8.")
	case err != nil:
		return fmt.Errorf("create %d audit records: %w", len(recs), err)
	}
	return nil
}

// validContext reports whether b is well-formed JSON whose value is an
// object, in text PostgreSQL can store (UTF-8, no NUL: a raw NUL is never
// valid JSON anyway). The SQLite store leaves well-formedness to a CHECK on
// its column; the PostgreSQL column is plain TEXT, so it is checked here.
func validContext(b []byte) bool {
	return storeutil.LooksLikeObject(b) && utf8.Valid(b) && json.Valid(b)
}

// contextDepth returns how deeply the well-formed JSON b nests arrays and
// objects, skipping brackets inside strings.
func contextDepth(b []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// auditConflict finds the record that made a batch violate the uniqueness
// of (org, event time, id): a duplicate inside recs, or a record already
// stored. It runs only on that error path.
func (db *DB) auditConflict(ctx context.Context, recs []*aip.AuditRecord) *aip.AuditRecord {
	type key struct {
		org, id string
		ms      int64
	}
	seen := make(map[key]bool, len(recs))
	orgs, times, ids := make([]string, len(recs)), make([]int64, len(recs)), make([]string, len(recs))
	for i, r := range recs {
		k := key{r.OrganizationID, r.ID, toMillis(r.EventTime.Time)}
		if seen[k] {
			return r
		}
		seen[k] = true
		orgs[i], times[i], ids[i] = k.org, k.ms, k.id
	}
	var ord int
	err := db.sql.QueryRowContext(ctx, `
		SELECT b.ord
		FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS b (org_id, event_time, id, ord)
		WHERE EXISTS (SELECT 1 FROM audit_records a
		              WHERE a.org_id = b.org_id AND a.event_time = b.event_time AND a.id = b.id)
		ORDER BY b.ord
		LIMIT 1`, orgs, times, ids).Scan(&ord)
	if err != nil {
		return nil
	}
	return recs[ord-1]
}

// auditMissingOrg returns the first of orgs that does not exist, "" when
// all do. It runs only on the foreign key error path.
func (db *DB) auditMissingOrg(ctx context.Context, orgs []string) string {
	var org string
	err := db.sql.QueryRowContext(ctx, `
		SELECT b.id
		FROM unnest($1::text[]) WITH ORDINALITY AS b (id, ord)
		WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = b.id)
		ORDER BY b.ord
		LIMIT 1`, orgs).Scan(&org)
	if err != nil {
		return ""
	}
	return org
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
	rows, err := db.sql.QueryContext(ctx, q, args...)
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
		q.WriteString(` AND lower(user_email) = lower(?)`) // emails match in any case
		args = append(args, f.UserEmail)
	}
	if f.UserID != "" {
		q.WriteString(` AND user_id = ?`)
		args = append(args, f.UserID)
	}
	args = storeutil.AppendNewestFirst(&q, args, "event_time", "id", f.Range, f.After, f.Limit)
	return rebind(q.String()), args
}
