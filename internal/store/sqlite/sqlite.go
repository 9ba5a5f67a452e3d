// Package sqlite is the embedded storage backend: one SQLite file in WAL
// mode, shared safely by the server and the admin CLI running at once.
//
// Reads go through a pool of query-only connections; writes go through a
// single connection whose transactions begin IMMEDIATE, so a writer takes the
// database lock up front and waits (busy_timeout) instead of failing with
// SQLITE_BUSY when another process writes at the same time.
//
// FindCredentials, run on every authenticated request, is served from a
// cache that stays exact across processes: writes to users and memberships
// bump a generation counter in the file <db>-credgen, memory-mapped by every
// process with the database open (on Unix; elsewhere there is no cache).
// Like the -wal and -shm files, it must not be deleted while the database
// is in use.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/sqlcore"
	"github.com/aipsec/aip/internal/store/storeutil"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/sqlite/*.sql
var migrations embed.FS

// DB is an aip.Store backed by one SQLite file.
type DB struct {
	// Core holds the methods both stores share; it reads through read and
	// writes through write.
	sqlcore.Core
	read  *sql.DB
	write *sql.DB

	// Statements run on (nearly) every authenticated request.
	findCredentials *sql.Stmt
	touch           *sql.Stmt

	// creds caches FindCredentials, invalidated across processes.
	creds *credCache

	// auditMu guards auditInserts, the multi-row audit INSERTs prepared
	// so far, by number of rows.
	auditMu      sync.Mutex
	auditInserts map[int]*sql.Stmt

	// affMu guards aff, the advisory package index in memory (AffectedFor).
	affMu sync.Mutex
	aff   *storeutil.AffectedIndex
}

var _ aip.Store = (*DB)(nil)

// busyTimeout is how long a connection waits for another writer (possibly
// another process) before giving up with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// Open opens (creating if needed) the database file at path and migrates it
// to the current schema. Several processes may open the same file.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// Both pools must reach the same database, which only a plain file does.
		return nil, fmt.Errorf("open sqlite: %q is not a database file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	write, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One writer per process: SQLite serializes writers anyway, and queueing
	// them in database/sql is cheaper than spinning in the busy handler.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	db := &DB{write: write}
	fsys, err := fs.Sub(migrations, "migrations/sqlite")
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite %s: migrations: %w", path, err)
	}
	if err := migrate(ctx, write, fsys); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	// The read pool is opened after migrating so that its query_only
	// connections never meet a database that is not yet in WAL mode.
	read, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	db.read = read
	db.Core = sqlcore.New(read, write, sqlcore.Dialect{IsUnique: isUnique, IsForeignKey: isForeignKey})

	gen, err := openCredGen(abs)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.creds = newCredCache(gen)

	if err := db.prepare(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// dsn builds the modernc.org/sqlite data source name for the file at the
// absolute path abs. The driver runs each _pragma as "PRAGMA <value>" on
// every new connection, busy_timeout first.
func dsn(abs string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if write {
		q.Set("_txlock", "immediate")
		// The one writer gets a 64 MiB page cache (grown only as used):
		// bulk writes such as an advisory import touch many index pages,
		// and the default 2 MiB made a 200k-advisory import 2.5x slower.
		q.Add("_pragma", "cache_size(-65536)")
	} else {
		// A write slipping into the read pool would bypass the IMMEDIATE
		// locking of the write pool; make it fail instead.
		q.Add("_pragma", "query_only(ON)")
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letters: file:///C:/...
	}
	// A URI (rather than a bare path) so that '?' or '#' in the path are
	// percent-escaped instead of being taken for the query.
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// migrate applies the goose SQL migrations in fsys.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	// Only the embedded SQL files: Go migrations registered globally in goose
	// by any other package must not leak into this schema.
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// goose has no cross-process lock for SQLite. When two processes open a
	// fresh file at once, both may decide a migration is pending; the second
	// one's transaction then fails once the first has committed. Trying again
	// re-reads the applied versions; as long as each failed attempt saw the
	// schema move forward, the failure was such a race and not a bad migration.
	before := int64(-1)
	for {
		_, err := p.Up(ctx)
		if err == nil {
			return nil
		}
		pending, perr := p.HasPending(ctx)
		if perr == nil && !pending {
			return nil
		}
		after, verr := p.GetDBVersion(ctx)
		if verr != nil || after <= before || ctx.Err() != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		before = after
	}
}

func (db *DB) prepare(ctx context.Context) error {
	var err error
	db.findCredentials, err = db.read.PrepareContext(ctx, `
		SELECT u.id, u.email, u.display_name, u.enabled, u.sso_enabled, u.mfa_enabled,
		       u.created_at, u.last_authenticated_at, u.api_key_sealed, m.role
		FROM users u
		LEFT JOIN memberships m ON m.org_id = ? AND m.user_id = u.id
		WHERE u.id = ?`)
	if err != nil {
		return fmt.Errorf("prepare find credentials: %w", err)
	}
	db.touch, err = db.write.PrepareContext(ctx, `
		UPDATE users SET last_authenticated_at = ?
		WHERE id = ? AND (last_authenticated_at IS NULL OR last_authenticated_at < ?)`)
	if err != nil {
		return fmt.Errorf("prepare touch authenticated: %w", err)
	}
	return nil
}

// Close releases both connection pools and the credentials cache.
func (db *DB) Close() error {
	var errs []error
	stmts := []*sql.Stmt{db.findCredentials, db.touch}
	db.auditMu.Lock()
	for _, s := range db.auditInserts {
		stmts = append(stmts, s)
	}
	db.auditInserts = nil
	db.auditMu.Unlock()
	for _, s := range stmts {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if db.creds != nil {
		errs = append(errs, db.creds.close())
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}

// inTx runs fn in one write transaction (BEGIN IMMEDIATE), committing when
// fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
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

// sqliteCode returns the extended result code of a SQLite error in err's
// chain, 0 for any other error.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports whether err is a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
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
