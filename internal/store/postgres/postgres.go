// Package postgres is the PostgreSQL storage backend, for several aipd
// nodes behind a load balancer sharing one database. It speaks pgx v5
// through database/sql, mirrors the SQLite schema table for table and
// passes the same conformance suite (internal/store/storetest).
//
// Migrations take a PostgreSQL advisory lock (goose's session locker), so
// nodes starting at once apply each migration exactly once.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/sqlcore"
	"github.com/aipsec/aip/internal/store/storeutil"
)

//go:embed migrations/postgres/*.sql
var migrations embed.FS

// DB is an aip.Store backed by PostgreSQL.
type DB struct {
	// Core holds the methods both stores share, run on sql with ?
	// placeholders rebound.
	sqlcore.Core
	sql *sql.DB
	// aff is this node's copy of the advisory package index (AffectedFor),
	// rebuilt when vulndb_state.generation moved.
	aff affectedCache
}

var _ aip.Store = (*DB)(nil)

// Open connects to the database at url (postgres://…) and migrates it to
// the current schema.
func Open(ctx context.Context, url string) (*DB, error) {
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pool.SetMaxOpenConns(32)
	pool.SetMaxIdleConns(32)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	fsys, err := fs.Sub(migrations, "migrations/postgres")
	if err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("open postgres: migrations: %w", err)
	}
	if err := migrate(ctx, pool, fsys); err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &DB{
		Core: sqlcore.New(pool, pool, sqlcore.Dialect{Rebind: rebind, IsUnique: isUnique, IsForeignKey: isForeignKey}),
		sql:  pool,
	}, nil
}

// migrate applies the embedded migrations under a session-level advisory
// lock, so that concurrent nodes wait for each other instead of racing.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migrations: lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close releases the connection pool.
func (db *DB) Close() error {
	if err := db.sql.Close(); err != nil {
		return fmt.Errorf("close postgres: %w", err)
	}
	return nil
}

// inTx runs fn in one transaction, committing when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rebind turns the SQLite-style ? placeholders of q into PostgreSQL's $n,
// so that queries read like their SQLite counterparts. q must not contain
// a literal question mark (in a string or a jsonb operator).
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// pgCode returns the SQLSTATE of a PostgreSQL error in err's chain, "" for
// any other error.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isUnique reports whether err is a unique or primary key violation.
func isUnique(err error) bool { return pgCode(err) == "23505" }

// isForeignKey reports whether err is a foreign key violation.
func isForeignKey(err error) bool { return pgCode(err) == "23503" }

// orgExists returns ENOTFOUND unless the organization exists.
func orgExists(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, orgID string) error {
	var ok bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)`, orgID).Scan(&ok); err != nil {
		return fmt.Errorf("check organization %s: %w", orgID, err)
	}
	if !ok {
		return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", orgID)
	}
	return nil
}

// The store's time conventions (UTC, whole milliseconds, epoch ms columns)
// are storeutil's, shared with the other store; these short names keep the
// many call sites readable.
func now() time.Time                            { return storeutil.Now() }
func toMillis(t time.Time) int64                { return storeutil.ToMillis(t) }
func ceilMillis(t time.Time) int64              { return storeutil.CeilMillis(t) }
func fromMillis(ms int64) time.Time             { return storeutil.FromMillis(ms) }
func fromNullMillis(ms sql.NullInt64) time.Time { return storeutil.FromNullMillis(ms) }
func normalize(t time.Time) time.Time           { return storeutil.Normalize(t) }
