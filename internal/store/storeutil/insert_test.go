package storeutil

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"
)

func TestInsertQuery(t *testing.T) {
	tests := []struct {
		name string
		ph   Placeholder
		cols int
		rows int
		want string
	}{
		{"question marks", QuestionMark, 2, 3, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)"},
		{"dollars numbered across rows", Dollar, 2, 3, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)"},
		{"one row", Dollar, 3, 1, "INSERT INTO t (a, b) VALUES ($1, $2, $3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := InsertQuery(tt.ph, "INSERT INTO t (a, b) VALUES ", tt.cols, tt.rows)
			if got != tt.want {
				t.Errorf("InsertQuery = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMultiInsert runs the batcher against a real database, across full
// prepared statements and a partial flush.
func TestMultiInsert(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (a INTEGER, b TEXT)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	ins := NewMultiInsert(tx, QuestionMark, `INSERT INTO t (a, b) VALUES `, 2, 3)
	defer ins.Close()
	var want []string
	for i := range 7 {
		s := strings.Repeat("x", i)
		if err := ins.Add(ctx, i, s); err != nil {
			t.Fatalf("Add row %d: %v", i, err)
		}
		want = append(want, s)
	}
	t.Run("rejects a row of the wrong width", func(t *testing.T) {
		if err := ins.Add(ctx, 1); err == nil {
			t.Error("Add of one value into two columns succeeded")
		}
	})
	if err := ins.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ins.Flush(ctx); err != nil {
		t.Fatalf("second Flush: %v", err)
	}

	rows, err := tx.QueryContext(ctx, `SELECT b FROM t ORDER BY a`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows stored (-want +got):\n%s", diff)
	}
}
