// Package sqlcore holds the store methods whose SQL both dialects run as
// written: the SQLite and PostgreSQL stores embed a Core, so that a method
// that does the same thing in both is written once. Queries use SQLite's ?
// placeholders; a Core built for PostgreSQL rebinds them to $n before they
// reach the driver. Methods whose SQL differs (locks, upserts, array
// parameters) stay in the stores.
package sqlcore

import (
	"context"
	"database/sql"
	"fmt"
)

// Dialect is what a Core needs to know of its database.
type Dialect struct {
	// Rebind turns ? placeholders into the dialect's; nil keeps them.
	Rebind func(string) string
	// IsUnique and IsForeignKey classify constraint violations.
	IsUnique     func(error) bool
	IsForeignKey func(error) bool
}

// Core runs the shared methods. SQLite reads through a pool of read-only
// connections and writes through its single writer; PostgreSQL passes one
// pool as both.
type Core struct {
	readDB, writeDB *sql.DB
	d               Dialect
}

// New returns a Core over the given pools.
func New(read, write *sql.DB, d Dialect) Core {
	if d.Rebind == nil {
		d.Rebind = func(q string) string { return q }
	}
	return Core{readDB: read, writeDB: write, d: d}
}

// Queryer is a pool or a transaction that rebinds the queries it is given.
type Queryer struct {
	q interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
		QueryRowContext(context.Context, string, ...any) *sql.Row
		ExecContext(context.Context, string, ...any) (sql.Result, error)
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	}
	rebind func(string) string
}

// QueryContext runs a query that returns rows.
func (q Queryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.q.QueryContext(ctx, q.rebind(query), args...)
}

// QueryRowContext runs a query that returns at most one row.
func (q Queryer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return q.q.QueryRowContext(ctx, q.rebind(query), args...)
}

// ExecContext runs a statement.
func (q Queryer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.q.ExecContext(ctx, q.rebind(query), args...)
}

// PrepareContext prepares a statement.
func (q Queryer) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return q.q.PrepareContext(ctx, q.rebind(query))
}

func (c *Core) read() Queryer  { return Queryer{q: c.readDB, rebind: c.d.Rebind} }
func (c *Core) write() Queryer { return Queryer{q: c.writeDB, rebind: c.d.Rebind} }

// inTx runs fn in one transaction on the write pool, committing when fn
// returns nil.
func (c *Core) inTx(ctx context.Context, fn func(tx Queryer) error) error {
	tx, err := c.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(Queryer{q: tx, rebind: c.d.Rebind}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// WantOneRow returns notFound when res changed no row.
func WantOneRow(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	if n == 0 {
		return notFound
	}
	return nil
}
