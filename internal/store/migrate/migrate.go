// Package migrate copies an SQLite installation into PostgreSQL, for a
// deployment outgrowing one node (aipd admin migrate-data).
//
// The copy is generic: tables and columns come from the SQLite schema, so a
// new migration is picked up without touching this package, as long as the
// table is placed in Order (a test checks that every SQLite table is). The
// whole copy runs in one PostgreSQL transaction, reading one consistent
// SQLite snapshot, and is verified by counting rows on both sides before
// commit: a failed migration leaves the target as empty as it was.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/aipsec/aip/internal/store/postgres"
	"github.com/aipsec/aip/internal/store/sqlite"
)

// Order is every table copied, parents before children, so that foreign
// keys hold row by row. The state tables come last: the PostgreSQL
// triggers on rules and rulesets write eval_state while rules are copied,
// and the copied values must replace what they wrote.
var Order = []string{
	"organizations", "users", "memberships", "invites", "audit_records", "deploy_keys",
	"agents", "rulesets", "rules", "agent_rulesets", "events", "alerts", "alert_events",
	"webhooks", "webhook_deliveries", "alert_windows", "inventories", "inventory_packages",
	"advisories", "advisory_packages", "vuln_matches", "vuln_suppressions", "ec2_instances",
	"s3_enrollments", "web_sessions",
	"vulndb_state", "eval_state",
}

// stateTables hold counters the target's migrations and triggers already
// wrote to; their rows are replaced by the source's rather than added.
var stateTables = map[string]bool{"vulndb_state": true, "eval_state": true}

// maxParams stays below PostgreSQL's limit of 65535 bind parameters per
// statement; maxBatchRows bounds the memory one batch of large rows takes.
const (
	maxParams    = 65535
	maxBatchRows = 500
)

// TableCount is the number of rows of one table, equal on both sides.
type TableCount struct {
	Table string
	Rows  int64
}

// Report is what a successful migration copied, in copy order.
type Report struct {
	Tables []TableCount
}

// ErrTargetNotEmpty is returned when the target already holds data:
// migrating into it would mix two installations.
var ErrTargetNotEmpty = errors.New("target database is not empty")

// Copy copies the SQLite database at sqlitePath into the PostgreSQL
// database at postgresURL, which must be empty (its schema is created or
// migrated here). progress, when not nil, is called after each table.
// The source is first opened with sqlite.Open, which brings an older
// installation's schema up to date as aipd itself would; it is then read
// through a read-only connection. aipd should not be writing to the source
// meanwhile: what it writes after the snapshot is not copied.
func Copy(ctx context.Context, sqlitePath, postgresURL string, progress func(table string, rows int64)) (Report, error) {
	if _, err := os.Stat(sqlitePath); err != nil {
		return Report{}, fmt.Errorf("migrate: source database: %w", err)
	}
	src, err := sqlite.Open(ctx, sqlitePath)
	if err != nil {
		return Report{}, fmt.Errorf("migrate: %w", err)
	}
	if err := src.Close(); err != nil {
		return Report{}, fmt.Errorf("migrate: close source: %w", err)
	}
	dst, err := postgres.Open(ctx, postgresURL)
	if err != nil {
		return Report{}, fmt.Errorf("migrate: %w", err)
	}
	if err := dst.Close(); err != nil {
		return Report{}, fmt.Errorf("migrate: close target: %w", err)
	}

	dsn, err := sourceDSN(sqlitePath)
	if err != nil {
		return Report{}, fmt.Errorf("migrate: source database: %w", err)
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return Report{}, fmt.Errorf("migrate: open source: %w", err)
	}
	defer sdb.Close()
	pdb, err := sql.Open("pgx", postgresURL)
	if err != nil {
		return Report{}, fmt.Errorf("migrate: open target: %w", err)
	}
	defer pdb.Close()

	// One read transaction: every table and count comes from one snapshot.
	stx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return Report{}, fmt.Errorf("migrate: begin source: %w", err)
	}
	defer stx.Rollback()
	ptx, err := pdb.BeginTx(ctx, nil)
	if err != nil {
		return Report{}, fmt.Errorf("migrate: begin target: %w", err)
	}
	defer ptx.Rollback()

	rep, err := copyAll(ctx, stx, ptx, progress)
	if err != nil {
		return Report{}, fmt.Errorf("migrate: %w", err)
	}
	if err := ptx.Commit(); err != nil {
		return Report{}, fmt.Errorf("migrate: commit: %w", err)
	}
	return rep, nil
}

// sourceDSN opens the file read-only, so the copy can never change it. A
// URI rather than "file:"+path, so that '?' or '#' in the path are escaped.
func sourceDSN(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letters: file:///C:/...
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}
	return u.String(), nil
}

// copyAll copies and verifies every table inside the two transactions.
func copyAll(ctx context.Context, src, dst *sql.Tx, progress func(string, int64)) (Report, error) {
	tables, err := sourceTables(ctx, src)
	if err != nil {
		return Report{}, err
	}
	if missing := unordered(tables); len(missing) > 0 {
		return Report{}, fmt.Errorf("source tables %s have no place in the copy order", strings.Join(missing, ", "))
	}
	if err := checkEmpty(ctx, dst); err != nil {
		return Report{}, err
	}
	var rep Report
	for _, t := range Order {
		if !slices.Contains(tables, t) {
			return Report{}, fmt.Errorf("table %s missing from the source", t)
		}
		n, err := copyTable(ctx, src, dst, t)
		if err != nil {
			return Report{}, fmt.Errorf("copy %s: %w", t, err)
		}
		if progress != nil {
			progress(t, n)
		}
		rep.Tables = append(rep.Tables, TableCount{Table: t, Rows: n})
	}
	// Counted after everything is copied, so that cascades or triggers a
	// later table set off would show as well.
	for _, tc := range rep.Tables {
		var s, d int64
		if err := src.QueryRowContext(ctx, `SELECT count(*) FROM `+quote(tc.Table)).Scan(&s); err != nil {
			return Report{}, fmt.Errorf("count source %s: %w", tc.Table, err)
		}
		if err := dst.QueryRowContext(ctx, `SELECT count(*) FROM `+quote(tc.Table)).Scan(&d); err != nil {
			return Report{}, fmt.Errorf("count target %s: %w", tc.Table, err)
		}
		if s != d || s != tc.Rows {
			return Report{}, fmt.Errorf("verify %s: source has %d rows, target %d, copied %d; nothing committed", tc.Table, s, d, tc.Rows)
		}
	}
	return rep, nil
}

// sourceTables lists the application tables of the SQLite schema.
func sourceTables(ctx context.Context, src *sql.Tx) ([]string, error) {
	rows, err := src.QueryContext(ctx, `SELECT name FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name != 'goose_db_version' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list source tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list source tables: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list source tables: %w", err)
	}
	return names, nil
}

// unordered returns the tables that Order does not place.
func unordered(tables []string) []string {
	var out []string
	for _, t := range tables {
		if !slices.Contains(Order, t) {
			out = append(out, t)
		}
	}
	return out
}

// checkEmpty refuses a target holding any data. vulndb_state is left out:
// its migration inserts the row every database has.
func checkEmpty(ctx context.Context, dst *sql.Tx) error {
	for _, t := range Order {
		if t == "vulndb_state" {
			continue
		}
		var found bool
		if err := dst.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+quote(t)+`)`).Scan(&found); err != nil {
			return fmt.Errorf("check target %s: %w", t, err)
		}
		if found {
			return fmt.Errorf("%w: table %s has rows; migrate into an empty database", ErrTargetNotEmpty, t)
		}
	}
	return nil
}

// column is one source column with the type of its target column.
type column struct {
	name   string
	pgType string // information_schema data_type: boolean, bigint, text, bytea…
	pk     int    // position in the primary key, 0 when not part of it
}

// withoutRowID recognizes a WITHOUT ROWID table by its CREATE statement.
var withoutRowID = regexp.MustCompile(`(?i)without\s+rowid`)

// copyTable copies the rows of table t in batches and returns how many.
// Tables with a rowid are read in rowid order, which is creation order:
// the target's seq columns, filled as rows arrive, keep that order.
func copyTable(ctx context.Context, src, dst *sql.Tx, t string) (int64, error) {
	cols, err := columns(ctx, src, dst, t)
	if err != nil {
		return 0, err
	}
	var create string
	if err := src.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, t).Scan(&create); err != nil {
		return 0, fmt.Errorf("read schema: %w", err)
	}
	order := "rowid"
	if withoutRowID.MatchString(create) {
		var pk []string
		for _, c := range slices.SortedFunc(slices.Values(cols), func(a, b column) int { return a.pk - b.pk }) {
			if c.pk > 0 {
				pk = append(pk, quote(c.name))
			}
		}
		order = strings.Join(pk, ", ")
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quote(c.name)
	}
	list := strings.Join(names, ", ")

	if stateTables[t] {
		// Only migrations and triggers wrote these rows: the source's
		// counters replace them.
		if _, err := dst.ExecContext(ctx, `DELETE FROM `+quote(t)); err != nil {
			return 0, fmt.Errorf("clear target: %w", err)
		}
	}

	rows, err := src.QueryContext(ctx, `SELECT `+list+` FROM `+quote(t)+` ORDER BY `+order)
	if err != nil {
		return 0, fmt.Errorf("read source: %w", err)
	}
	defer rows.Close()

	perBatch := min(maxBatchRows, (maxParams-1)/len(cols))
	batch := make([]any, 0, perBatch*len(cols))
	var n int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := dst.ExecContext(ctx, insertSQL(t, list, len(cols), len(batch)/len(cols)), batch...); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("read source: %w", err)
		}
		for i, c := range cols {
			v, err := convert(vals[i], c.pgType)
			if err != nil {
				return 0, fmt.Errorf("row %d, column %s: %w", n+1, c.name, err)
			}
			batch = append(batch, v)
		}
		n++
		if len(batch) == perBatch*len(cols) {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read source: %w", err)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return n, nil
}

// columns reads the source columns of t and pairs each with its target
// column, failing when the target lacks one or requires one the source
// does not have (seq and other columns with defaults are filled there).
func columns(ctx context.Context, src, dst *sql.Tx, t string) ([]column, error) {
	rows, err := src.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, t)
	if err != nil {
		return nil, fmt.Errorf("read source columns: %w", err)
	}
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.pk); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read source columns: %w", err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read source columns: %w", err)
	}
	if len(cols) == 0 {
		return nil, errors.New("source table has no columns")
	}

	prows, err := dst.QueryContext(ctx, `SELECT column_name, data_type, is_nullable = 'YES' OR column_default IS NOT NULL
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, t)
	if err != nil {
		return nil, fmt.Errorf("read target columns: %w", err)
	}
	type target struct {
		typ      string
		optional bool
	}
	targets := map[string]target{}
	for prows.Next() {
		var name string
		var tc target
		if err := prows.Scan(&name, &tc.typ, &tc.optional); err != nil {
			prows.Close()
			return nil, fmt.Errorf("read target columns: %w", err)
		}
		targets[name] = tc
	}
	prows.Close()
	if err := prows.Err(); err != nil {
		return nil, fmt.Errorf("read target columns: %w", err)
	}
	if len(targets) == 0 {
		return nil, errors.New("target has no such table")
	}
	for i, c := range cols {
		tc, ok := targets[c.name]
		if !ok {
			return nil, fmt.Errorf("target has no column %s", c.name)
		}
		cols[i].pgType = tc.typ
		delete(targets, c.name)
	}
	for name, tc := range targets {
		if !tc.optional {
			return nil, fmt.Errorf("target column %s is required but not in the source", name)
		}
	}
	return cols, nil
}

// insertSQL is a multi-row INSERT of rows rows of n columns each.
func insertSQL(t, list string, n, rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + quote(t) + ` (` + list + `) VALUES `)
	p := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range n {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", p)
			p++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// convert turns a value read from SQLite into what the target column
// takes: SQLite keeps booleans as 0/1 integers, and may hand back text
// for a BLOB column written as a string.
func convert(v any, pgType string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch pgType {
	case "boolean":
		n, ok := v.(int64)
		if !ok || (n != 0 && n != 1) {
			return nil, fmt.Errorf("boolean column holds %T %v, want 0 or 1", v, v)
		}
		return n == 1, nil
	case "bytea":
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
	case "text":
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
	}
	return v, nil
}

// quote quotes an identifier for both SQLite and PostgreSQL.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
