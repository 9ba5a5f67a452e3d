package storeutil

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Placeholder writes the n-th (1-based) bind parameter of a statement in a
// dialect's syntax: the dialect stays with the store that knows it.
type Placeholder func(b *strings.Builder, n int)

// QuestionMark is SQLite's placeholder.
func QuestionMark(b *strings.Builder, _ int) { b.WriteByte('?') }

// Dollar is PostgreSQL's numbered placeholder.
func Dollar(b *strings.Builder, n int) {
	b.WriteByte('$')
	b.WriteString(strconv.Itoa(n))
}

// MultiInsert batches rows into multi-row INSERTs, preparing the full-size
// statement once per transaction: a bulk import costs one round trip per
// perStmt rows instead of one a row. cols × perStmt must stay within the
// dialect's limit of bind parameters a statement.
type MultiInsert struct {
	tx      *sql.Tx
	prefix  string
	cols    int
	perStmt int
	ph      Placeholder
	full    *sql.Stmt
	args    []any
}

// NewMultiInsert returns a batcher of INSERTs that start with prefix
// ("INSERT INTO t (a, b) VALUES ") and have cols values a row.
func NewMultiInsert(tx *sql.Tx, ph Placeholder, prefix string, cols, perStmt int) *MultiInsert {
	return &MultiInsert{tx: tx, prefix: prefix, cols: cols, perStmt: perStmt, ph: ph}
}

// InsertQuery returns prefix followed by rows tuples of cols placeholders.
func InsertQuery(ph Placeholder, prefix string, cols, rows int) string {
	var b strings.Builder
	b.Grow(len(prefix) + rows*cols*6)
	b.WriteString(prefix)
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			ph(&b, n)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Add queues one row, running a full statement when enough are queued.
func (m *MultiInsert) Add(ctx context.Context, vals ...any) error {
	if len(vals) != m.cols {
		return fmt.Errorf("insert row of %d values into %d columns", len(vals), m.cols)
	}
	m.args = append(m.args, vals...)
	if len(m.args) < m.cols*m.perStmt {
		return nil
	}
	if m.full == nil {
		st, err := m.tx.PrepareContext(ctx, InsertQuery(m.ph, m.prefix, m.cols, m.perStmt))
		if err != nil {
			return fmt.Errorf("prepare insert: %w", err)
		}
		m.full = st
	}
	_, err := m.full.ExecContext(ctx, m.args...)
	m.args = m.args[:0]
	return err
}

// Flush inserts the rows still queued.
func (m *MultiInsert) Flush(ctx context.Context) error {
	if len(m.args) == 0 {
		return nil
	}
	_, err := m.tx.ExecContext(ctx, InsertQuery(m.ph, m.prefix, m.cols, len(m.args)/m.cols), m.args...)
	m.args = m.args[:0]
	return err
}

// Close releases the prepared statement; rows not flushed are dropped.
func (m *MultiInsert) Close() {
	if m.full != nil {
		_ = m.full.Close()
	}
}
