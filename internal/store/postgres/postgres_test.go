package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storetest"
)

// testURL is the database the integration tests use; without it they
// skip, so that `go test ./...` passes on a machine with only Go.
// .ci/run sets it for the CI machine's PostgreSQL.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("AIP_TEST_POSTGRES_URL")
	if u == "" {
		t.Skip("AIP_TEST_POSTGRES_URL not set: PostgreSQL tests skipped")
	}
	return u
}

// openSchema opens the store in a fresh schema of the test database,
// dropped at cleanup, so that tests (and test runs) never see each other.
func openSchema(t testing.TB) *DB {
	t.Helper()
	base := testURL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "aiptest_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse AIP_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := Open(ctx, u.String())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(cctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) aip.Store { return openSchema(t) })
}

func TestConcurrentMigrations(t *testing.T) {
	base := testURL(t)
	db := openSchema(t) // a schema with every migration applied once
	var schema string
	if err := db.sql.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	// Several nodes starting at once on the same database: every Open
	// succeeds and the migrations ran exactly once.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := Open(context.Background(), u.String())
			if err == nil {
				err = d.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	var applied int
	if err := db.sql.QueryRowContext(t.Context(), "SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations, "migrations/postgres/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) {
		t.Errorf("migrations recorded %d times, want %d (one per file)", applied, len(files))
	}
}

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"VALUES (?,?),(?,?)", "VALUES ($1,$2),($3,$4)"},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
