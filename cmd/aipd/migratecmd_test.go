package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/postgres"
)

// emptyPostgres returns the URL of a fresh schema of AIP_TEST_POSTGRES_URL,
// dropped at cleanup; the test skips without it.
func emptyPostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv("AIP_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("AIP_TEST_POSTGRES_URL not set: PostgreSQL tests skipped")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "aipcmd_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse AIP_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestMigrateData(t *testing.T) {
	target := emptyPostgres(t)
	dir, boot := dataDir(t)
	orgID := value(t, mustAipd(t, "admin", "--data", dir, "org", "create", "--name", "Blue Team"), "ORG_ID")

	t.Run("copies the data dir and prints the counts", func(t *testing.T) {
		lines, stderr, err := aipdErr(t, "admin", "migrate-data", "--from", dir, "--to", target)
		if err != nil {
			t.Fatalf("migrate-data: %v\n%s", err, stderr)
		}
		got := map[string]string{}
		for _, l := range lines {
			k, v, _ := strings.Cut(l, "=")
			got[k] = v
		}
		want := map[string]string{"organizations": "2", "users": "1", "memberships": "1", "MIGRATED": "true"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s=%q, want %q (output %q)", k, got[k], v, lines)
			}
		}
		if last := lines[len(lines)-1]; last != "MIGRATED=true" {
			t.Errorf("last line = %q, want MIGRATED=true", last)
		}
		if !strings.Contains(stderr, "organizations: 2 rows copied") {
			t.Errorf("stderr lacks the progress of organizations:\n%s", stderr)
		}
		db, err := postgres.Open(t.Context(), target)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		org, err := db.FindOrganizationByID(t.Context(), orgID)
		if err != nil {
			t.Fatalf("FindOrganizationByID on the target: %v", err)
		}
		if diff := cmp.Diff("Blue Team", org.Name); diff != "" {
			t.Errorf("organization name (-want +got):\n%s", diff)
		}
		// The owner's API key, sealed with the data dir's master key, opens
		// from the copy: nodes on PostgreSQL share that key.
		c, err := db.FindCredentials(t.Context(), boot.UserID, boot.OrgID)
		if err != nil {
			t.Fatalf("FindCredentials on the target: %v", err)
		}
		_, kr := openStore(t, dir)
		key, err := kr.Open(boot.UserID, c.EncryptedKey)
		if err != nil {
			t.Fatalf("open the copied API key: %v", err)
		}
		if key != boot.APIKey || c.Role != aip.RoleOwner {
			t.Errorf("copied credentials: key matches %v, role %q; want the bootstrap key and owner", key == boot.APIKey, c.Role)
		}
	})
	t.Run("refuses a target holding data", func(t *testing.T) {
		lines, _, err := aipdErr(t, "admin", "migrate-data", "--from", dir, "--to", target)
		if err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("second migrate-data: err = %v, want a not-empty refusal", err)
		}
		if len(lines) != 0 {
			t.Errorf("refusal printed %q on stdout", lines)
		}
	})
}

func TestMigrateDataRejectsBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"rejects a missing --from", []string{"--to", "postgres://127.0.0.1:1/x"}, "--from"},
		{"rejects a missing --to", []string{"--from", dir}, "--to"},
		{"rejects a non-postgres --to", []string{"--from", dir, "--to", "mysql://x"}, "postgres://"},
		{"rejects a data dir without a database", []string{"--from", dir, "--to", "postgres://127.0.0.1:1/x"}, "no such file"},
		{"rejects arguments", []string{"--from", dir, "--to", "postgres://127.0.0.1:1/x", "extra"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AIP_DATABASE_URL", "")
			args := append([]string{"admin", "migrate-data"}, tc.args...)
			lines, _, err := aipdErr(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if len(lines) != 0 {
				t.Errorf("printed %q on stdout", lines)
			}
		})
	}
}
