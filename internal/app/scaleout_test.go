package app_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/app"
)

// postgresSchema returns a database URL on a fresh schema of the test
// PostgreSQL (AIP_TEST_POSTGRES_URL), dropped at cleanup; the test skips
// without it.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("AIP_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("AIP_TEST_POSTGRES_URL not set: PostgreSQL tests skipped")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "aiptest_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		// Registered before the instances' cleanups, so it runs after them.
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// redisURL is the test Redis (AIP_TEST_REDIS_URL); the test skips without it.
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("AIP_TEST_REDIS_URL")
	if u == "" {
		t.Skip("AIP_TEST_REDIS_URL not set: Redis tests skipped")
	}
	return u
}

func TestNodesShareOnePostgreSQL(t *testing.T) {
	dbURL := postgresSchema(t)
	keyFile := filepath.Join(t.TempDir(), "master.key")
	// Three nodes start at once on the empty database.
	nodes := make([]*instance, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = open(t, app.Config{DatabaseURL: dbURL, MasterKeyFile: keyFile})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Open: %v", i, err)
		}
	}
	var first *instance
	for _, n := range nodes {
		if n.Bootstrap != nil {
			if first != nil {
				t.Fatal("two nodes bootstrapped the same database")
			}
			first = n
		}
	}
	if first == nil {
		t.Fatal("no node bootstrapped the empty database")
	}

	t.Run("every node answers the first node's credentials", func(t *testing.T) {
		for i, n := range nodes {
			c := newClient(t, "http://"+n.Addr(), first.Bootstrap.UserID, first.Bootstrap.APIKey, first.Bootstrap.OrgID)
			ok, _, err := c.Help.SelfTest(t.Context())
			if err != nil || !ok {
				t.Errorf("node %d: self-test = %v, %v", i, ok, err)
			}
		}
	})
	t.Run("a node without the master key refuses to start", func(t *testing.T) {
		_, err := open(t, app.Config{DatabaseURL: dbURL, MasterKeyFile: filepath.Join(t.TempDir(), "master.key")})
		if err == nil || !strings.Contains(err.Error(), "master key") {
			t.Errorf("Open without the key = %v, want a master key error", err)
		}
	})
}

func TestNodesShareRedisLimits(t *testing.T) {
	dbURL := postgresSchema(t)
	rURL := redisURL(t)
	keyFile := filepath.Join(t.TempDir(), "master.key")
	cfg := app.Config{DatabaseURL: dbURL, RedisURL: rURL, MasterKeyFile: keyFile, OrgRateLimit: 10}
	a := start(t, cfg)
	b := start(t, cfg)
	boot := a.Bootstrap
	if boot == nil {
		boot = b.Bootstrap
	}
	ctx := t.Context()
	allowed := 0
	for i := range 30 {
		n := []*instance{a, b}[i%2]
		c, err := client.New("http://"+n.Addr(), boot.UserID, boot.APIKey, boot.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Help.SelfTest(ctx); err == nil {
			allowed++
		} else if rl := new(client.RateLimitError); !errors.As(err, &rl) {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if allowed != 10 {
		t.Errorf("%d of 30 requests over two nodes allowed at 10/minute, want 10 (one shared budget)", allowed)
	}
}

func TestRedisDownFallsBackToMemory(t *testing.T) {
	// A port nothing listens on: every Redis call fails at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "redis://" + ln.Addr().String() + "/0"
	ln.Close()
	inst := start(t, app.Config{RedisURL: dead, OrgRateLimit: 3})
	c := inst.client(t, inst.Bootstrap.APIKey)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 3 {
		if ok, _, err := c.Help.SelfTest(ctx); err != nil || !ok {
			t.Fatalf("request %d with Redis down: %v, %v", i, ok, err)
		}
	}
	if _, _, err := c.Help.SelfTest(ctx); err == nil {
		t.Error("4th request at 3/minute allowed: the per-node fallback limiter did not apply")
	}
	if !strings.Contains(inst.logs.String(), "falling back") {
		t.Errorf("no fallback log line; logs:\n%s", inst.logs)
	}
}
