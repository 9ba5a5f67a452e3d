package bench_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/ratelimit"
	redislimit "github.com/aipsec/aip/internal/ratelimit/redis"
)

const (
	alertsPath = "/v2/alerts?status=active"
	// scaleAlerts is how many alerts every database holds, the same rows.
	scaleAlerts = 10_000
	// scaleConcurrency is the number of client workers (and keep-alive
	// connections per node) of the throughput phases.
	scaleConcurrency = 16
	// scalePhase is one throughput phase; rounds alternate the targets so
	// that machine drift hits all of them alike.
	scalePhase  = 3 * time.Second
	scaleRounds = 3
	// serialPhase is one single-client phase, where a request's latency is
	// its own cost and not the queue in front of it.
	serialPhase = time.Second
	// redisCalls is the number of direct limiter and nonce calls timed.
	redisCalls = 20_000
)

// node is one aipd under load: its URL and the host and port it is signed for.
type node struct {
	url, host, port string
}

// cluster is one benchmark target: one or more nodes sharing a database,
// loaded round-robin, all answering the same credentials.
type cluster struct {
	name  string
	nodes []node
	creds hawk.Credentials
	org   string
}

func (c cluster) authorization(n node) string {
	return c.creds.RequestHeader(&hawk.Artifacts{Method: http.MethodGet, Resource: alertsPath, Host: n.host, Port: n.port, Ext: c.org})
}

// BenchmarkScaleOut compares signed GET /v2/alerts?status=active (first
// page, 100 of 10,000 alerts) on three aipd nodes sharing PostgreSQL and
// Redis with one node on SQLite, in alternating rounds of the same run, and
// measures what Redis (limits, lockout and replay cache) adds to a request:
// a SQLite node with Redis against the same node without, and the limiter
// and nonce calls timed directly against Redis.
//
//	AIP_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	AIP_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \
//	go test -run='^$' -bench=ScaleOut -benchtime=1x ./internal/bench/
//
// Client, servers, PostgreSQL and Redis share one machine: three nodes on
// two CPUs cannot show scale-out, only what PostgreSQL and Redis cost.
func BenchmarkScaleOut(b *testing.B) {
	pgBase, redisURL := os.Getenv("AIP_TEST_POSTGRES_URL"), os.Getenv("AIP_TEST_REDIS_URL")
	if pgBase == "" || redisURL == "" {
		b.Skip("AIP_TEST_POSTGRES_URL and AIP_TEST_REDIS_URL must both be set")
	}
	rows := scaleRows(scaleAlerts)
	sqlite1 := sqliteNode(b, "sqlite-1node", "", rows)
	sqliteRedis := sqliteNode(b, "sqlite-1node-redis", redisURL, rows)
	pg3 := pgCluster(b, "pg-3nodes", pgBase, redisURL, rows)
	samePage(b, sqlite1, pg3, sqliteRedis)

	targets := []cluster{sqlite1, pg3, sqliteRedis}
	tallies := make([]latencyTally, len(targets))
	serial := make([]latencyTally, 2) // sqlite1 and sqliteRedis
	for _, t := range targets {
		var warm latencyTally
		warm.run(b, t, scaleConcurrency, 500*time.Millisecond)
	}
	for b.Loop() {
		for range scaleRounds {
			for i, t := range targets {
				tallies[i].run(b, t, scaleConcurrency, scalePhase)
			}
			serial[0].run(b, sqlite1, 1, serialPhase)
			serial[1].run(b, sqliteRedis, 1, serialPhase)
		}
	}
	for i, t := range targets {
		tl := &tallies[i]
		b.ReportMetric(tl.rate(), t.name+"-req/s")
		b.Logf("%-19s %6.0f req/s (%d requests at concurrency %d), mean %v, p50 %v, p99 %v",
			t.name, tl.rate(), tl.requests, scaleConcurrency, tl.mean(), tl.quantile(0.50), tl.quantile(0.99))
	}
	b.ReportMetric(tallies[0].quantile(0.50).Seconds()*1e6, "sqlite1-p50-µs")
	b.ReportMetric(tallies[0].quantile(0.99).Seconds()*1e6, "sqlite1-p99-µs")
	b.ReportMetric(tallies[1].quantile(0.50).Seconds()*1e6, "pg3-p50-µs")
	b.ReportMetric(tallies[1].quantile(0.99).Seconds()*1e6, "pg3-p99-µs")
	ratio := tallies[1].rate() / tallies[0].rate()
	b.ReportMetric(ratio, "pg3/sqlite1")
	b.Logf("pg-3nodes/sqlite-1node throughput = %.3f", ratio)

	loaded := tallies[2].mean() - tallies[0].mean()
	alone := serial[1].mean() - serial[0].mean()
	b.ReportMetric(float64(loaded.Nanoseconds())/1e3, "redis-µs/req-loaded")
	aloneP50 := serial[1].quantile(0.50) - serial[0].quantile(0.50)
	b.ReportMetric(float64(alone.Nanoseconds())/1e3, "redis-µs/req-serial")
	b.ReportMetric(float64(aloneP50.Nanoseconds())/1e3, "redis-µs/req-serial-p50")
	b.Logf("Redis per request, SQLite node with Redis minus without: %v mean under load (%v vs %v); with one client %v mean (%v vs %v), %v p50 (%v vs %v), %d and %d requests",
		loaded, tallies[2].mean(), tallies[0].mean(), alone, serial[1].mean(), serial[0].mean(),
		aloneP50, serial[1].quantile(0.50), serial[0].quantile(0.50), serial[1].requests, serial[0].requests)

	allow, use := redisDirect(b, redisURL)
	b.ReportMetric(float64(allow.Nanoseconds())/1e3, "redis-allow-µs")
	b.ReportMetric(float64(use.Nanoseconds())/1e3, "redis-nonce-µs")
	b.Logf("direct Redis calls, one client, %d each: limiter Allow %v, nonce Use %v", redisCalls, allow, use)
	b.ReportMetric(0, "ns/op")
}

// alertRow is one seeded alert; every database gets the same rows.
type alertRow struct {
	id        string
	createdAt int64
	dismissed bool
	severity  int
}

// scaleRows returns n alerts one second apart up to now, one in ten
// dismissed, as bulkAlerts makes them.
func scaleRows(n int) []alertRow {
	start := time.Now().Add(-time.Duration(n) * time.Second).UnixMilli()
	rows := make([]alertRow, n)
	for i := range rows {
		rows[i] = alertRow{id: aip.NewUUID(), createdAt: start + int64(i)*1000, dismissed: i%10 == 0, severity: i%3 + 1}
	}
	return rows
}

// seedAlerts inserts rows for orgID in one transaction straight into the
// alerts table, whose columns both dialects share; placeholder numbers the
// i-th parameter in the driver's syntax.
func seedAlerts(b *testing.B, driver, dsn, orgID string, placeholder func(i int) string, rows []alertRow) {
	b.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	p := make([]any, 7)
	for i := range p {
		p[i] = placeholder(i + 1)
	}
	query := fmt.Sprintf(`
		INSERT INTO alerts (id, org_id, title, data_source, created_at, dismissed, dismiss_reason,
			dismiss_reason_text, dismissed_by, severity, agent_id, rule_id, ruleset_id, aggregates,
			event_count, expires_at, last_event_at, agg_key)
		VALUES (%s, %s, 'User: Sudo Usage', 'agent', %s, %s, '', '', '', %s, 'agent', 'rule', 'rs', '[]', 1, %s, %s, 'k')`, p...)
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(query)
	if err != nil {
		b.Fatalf("prepare %s insert: %v", driver, err)
	}
	for _, r := range rows {
		if _, err := stmt.Exec(r.id, orgID, r.createdAt, r.dismissed, r.severity, r.createdAt+3_600_000, r.createdAt); err != nil {
			b.Fatalf("insert %s alert: %v", driver, err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if driver == "pgx" {
		// Fresh statistics, as autovacuum would give a real installation.
		if _, err := db.Exec("ANALYZE alerts"); err != nil {
			b.Fatalf("analyze: %v", err)
		}
	}
}

// openNode boots one aipd with limits that never refuse (but are charged).
func openNode(b *testing.B, cfg app.Config) *app.Main {
	b.Helper()
	cfg.Addr, cfg.OrgRateLimit, cfg.IPRateLimit = "127.0.0.1:0", unlimited, unlimited
	if cfg.DataDir == "" {
		cfg.DataDir = b.TempDir()
	}
	m := &app.Main{Config: cfg}
	if err := m.Open(context.Background()); err != nil {
		b.Fatalf("open aipd: %v", err)
	}
	b.Cleanup(func() {
		if err := m.Close(); err != nil {
			b.Errorf("close aipd: %v", err)
		}
	})
	return m
}

func nodeOf(m *app.Main) node {
	host, port, _ := net.SplitHostPort(m.Addr())
	return node{url: "http://" + m.Addr() + alertsPath, host: host, port: port}
}

func clusterOf(name string, boot *app.Main, ms ...*app.Main) cluster {
	c := cluster{name: name, org: boot.Bootstrap.OrgID,
		creds: hawk.Credentials{ID: boot.Bootstrap.UserID, Key: []byte(boot.Bootstrap.APIKey)}}
	for _, m := range ms {
		c.nodes = append(c.nodes, nodeOf(m))
	}
	return c
}

// sqliteNode is one node on its own SQLite file, with Redis when redisURL
// is not empty.
func sqliteNode(b *testing.B, name, redisURL string, rows []alertRow) cluster {
	b.Helper()
	dir := b.TempDir()
	m := openNode(b, app.Config{DataDir: dir, RedisURL: redisURL})
	seedAlerts(b, "sqlite", "file:"+filepath.Join(dir, "aip.db")+"?_pragma=busy_timeout(10000)&_txlock=immediate",
		m.Bootstrap.OrgID, func(int) string { return "?" }, rows)
	return clusterOf(name, m, m)
}

// pgCluster is three nodes on a fresh schema of the test PostgreSQL,
// sharing Redis and the master key; the first one bootstraps.
func pgCluster(b *testing.B, name, base, redisURL string, rows []alertRow) cluster {
	b.Helper()
	dbURL := pgSchema(b, base)
	cfg := app.Config{DatabaseURL: dbURL, RedisURL: redisURL, MasterKeyFile: filepath.Join(b.TempDir(), "master.key")}
	first := openNode(b, cfg)
	if first.Bootstrap == nil {
		b.Fatal("the first node on an empty schema did not bootstrap")
	}
	seedAlerts(b, "pgx", dbURL, first.Bootstrap.OrgID, func(i int) string { return "$" + strconv.Itoa(i) }, rows)
	return clusterOf(name, first, first, openNode(b, cfg), openNode(b, cfg))
}

// pgSchema returns base on a fresh schema, dropped at cleanup (registered
// before the nodes' cleanups, so it runs after they closed).
func pgSchema(b *testing.B, base string) string {
	b.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		b.Fatal(err)
	}
	schema := "aipbench_" + hex.EncodeToString(r[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatalf("create schema: %v", err)
	}
	b.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			b.Errorf("drop schema: %v", err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// samePage checks, through the Go client, that every node of every target
// answers the same first page of 100 alerts: the targets do the same work.
func samePage(b *testing.B, cs ...cluster) {
	b.Helper()
	var want []string
	for _, c := range cs {
		for i, n := range c.nodes {
			cl, err := client.New("http://"+net.JoinHostPort(n.host, n.port), c.creds.ID, string(c.creds.Key), c.org)
			if err != nil {
				b.Fatal(err)
			}
			list, _, err := cl.Alerts.List(context.Background(), &client.AlertListOptions{Status: aip.AlertActive})
			if err != nil {
				b.Fatalf("%s node %d: list alerts: %v", c.name, i, err)
			}
			got := make([]string, len(list))
			for j, a := range list {
				got[j] = a.ID
			}
			if len(got) != 100 {
				b.Fatalf("%s node %d: first page has %d alerts, want 100", c.name, i, len(got))
			}
			if want == nil {
				want = got
			} else if diff := cmp.Diff(want, got); diff != "" {
				b.Fatalf("%s node %d: first page differs from %s (-want +got):\n%s", c.name, i, cs[0].name, diff)
			}
		}
	}
}

// latencyTally sums the phases of one target, keeping every request's
// latency for the mean and quantiles.
type latencyTally struct {
	requests uint64
	elapsed  time.Duration
	lat      []time.Duration
	sorted   bool
}

// run loads c with workers clients for d: each sends signed requests back
// to back, spread round-robin over the nodes, each signed for its node.
func (t *latencyTally) run(b *testing.B, c cluster, workers int, d time.Duration) {
	b.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, Proxy: nil,
	}}
	defer hc.CloseIdleConnections()
	var next atomic.Uint64
	var failure atomic.Pointer[string]
	lats := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				n := c.nodes[next.Add(1)%uint64(len(c.nodes))]
				if err := getAlerts(hc, c, n); err != nil {
					msg := err.Error()
					failure.CompareAndSwap(nil, &msg)
					return
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failure.Load(); f != nil {
		b.Fatalf("%s: %s: the rate would measure failures", c.name, *f)
	}
	for _, l := range lats {
		t.requests += uint64(len(l))
		t.lat = append(t.lat, l...)
	}
	t.elapsed += elapsed
	t.sorted = false
}

func (t *latencyTally) rate() float64 { return float64(t.requests) / t.elapsed.Seconds() }

func (t *latencyTally) mean() time.Duration {
	var sum time.Duration
	for _, l := range t.lat {
		sum += l
	}
	return (sum / time.Duration(max(1, len(t.lat)))).Round(time.Microsecond)
}

func (t *latencyTally) quantile(q float64) time.Duration {
	if len(t.lat) == 0 {
		return 0
	}
	if !t.sorted {
		slices.Sort(t.lat)
		t.sorted = true
	}
	return t.lat[min(len(t.lat)-1, int(q*float64(len(t.lat))))].Round(time.Microsecond)
}

// getAlerts sends one signed first-page request to n and drains the answer
// so that the connection is reused.
func getAlerts(hc *http.Client, c cluster, n node) error {
	req, err := http.NewRequest(http.MethodGet, n.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", c.authorization(n))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// redisDirect times the limiter's Allow and the nonce store's Use against
// Redis, one call at a time: the round trips a request pays.
func redisDirect(b *testing.B, redisURL string) (allow, use time.Duration) {
	b.Helper()
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		b.Fatalf("parse AIP_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	prefix := "aipbench:" + time.Now().Format(time.RFC3339Nano) + ":"
	lim := redislimit.NewLimiter(rdb, prefix+"limit:")
	nonces := redislimit.NewNonceStore(rdb, prefix+"nonce:")
	limit := ratelimit.PerMinute(unlimited)

	t0 := time.Now()
	for range redisCalls {
		res, err := lim.Allow(ctx, "org", limit)
		if err != nil || res.Allowed < 1 {
			b.Fatalf("Allow = %+v, %v", res, err)
		}
	}
	allow = time.Since(t0) / redisCalls
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	t0 = time.Now()
	for i := range redisCalls {
		fresh, err := nonces.Use(ctx, "user", ts, strconv.Itoa(i), 10*time.Second)
		if err != nil || !fresh {
			b.Fatalf("Use = %v, %v", fresh, err)
		}
	}
	use = time.Since(t0) / redisCalls
	return allow, use
}
