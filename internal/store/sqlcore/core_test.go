package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

func openCore(t *testing.T, rebind func(string) string) (*Core, *sql.DB) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "core.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	c := New(db, db, Dialect{Rebind: rebind})
	return &c, db
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestQueryerRebinds(t *testing.T) {
	var seen []string
	c, _ := openCore(t, func(q string) string {
		seen = append(seen, q)
		return strings.ReplaceAll(q, "@v", "?")
	})
	ctx := context.Background()
	if _, err := c.write().ExecContext(ctx, `INSERT INTO t (v) VALUES (@v)`, 7); err != nil {
		t.Fatalf("exec through rebind: %v", err)
	}
	var v int
	if err := c.read().QueryRowContext(ctx, `SELECT v FROM t WHERE v = @v`, 7).Scan(&v); err != nil || v != 7 {
		t.Fatalf("query through rebind = %d, %v; want 7", v, err)
	}
	if len(seen) != 2 {
		t.Errorf("rebind saw %d queries, want 2", len(seen))
	}
}

func TestInTx(t *testing.T) {
	ctx := context.Background()
	c, db := openCore(t, nil)
	t.Run("commits when fn succeeds", func(t *testing.T) {
		err := c.inTx(ctx, func(tx Queryer) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, 1)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := count(t, db); got != 1 {
			t.Errorf("rows = %d, want 1", got)
		}
	})
	t.Run("rolls back when fn fails", func(t *testing.T) {
		boom := errors.New("boom")
		err := c.inTx(ctx, func(tx Queryer) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, 2); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("inTx = %v, want %v", err, boom)
		}
		if got := count(t, db); got != 1 {
			t.Errorf("rows = %d, want 1", got)
		}
	})
}
