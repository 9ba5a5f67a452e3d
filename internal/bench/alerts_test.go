package bench_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/app"
)

// BenchmarkAlertsDeepPage compares signed GET /v2/alerts?status=active for
// page 1 and page 5000 among 1M stored alerts (900k active), through HTTP,
// Hawk and the Go client: keyset paging must make both cost the same.
//
//	go test -run='^$' -bench=AlertsDeepPage -benchtime=2000x ./internal/bench/
func BenchmarkAlertsDeepPage(b *testing.B) {
	const total, deepPage = 1_000_000, 5000
	ctx := context.Background()
	dir := b.TempDir()
	m := &app.Main{Config: app.Config{
		Addr: "127.0.0.1:0", DataDir: dir, OrgRateLimit: unlimited, IPRateLimit: unlimited,
	}}
	if err := m.Open(ctx); err != nil {
		b.Fatalf("open aipd: %v", err)
	}
	b.Cleanup(func() {
		if err := m.Close(); err != nil {
			b.Errorf("close aipd: %v", err)
		}
	})
	orgID := m.Bootstrap.OrgID
	bulkAlerts(b, filepath.Join(dir, "aip.db"), orgID, total)

	c, err := client.New("http://"+m.Addr(), m.Bootstrap.UserID, m.Bootstrap.APIKey, orgID)
	if err != nil {
		b.Fatal(err)
	}
	// Walk to page 5000 the way a client does, to get its token.
	opts := &client.AlertListOptions{Status: aip.AlertActive}
	var deepToken string
	walkStart := time.Now()
	for page := 1; page < deepPage; page++ {
		_, resp, err := c.Alerts.List(ctx, opts)
		if err != nil || resp.NextToken == "" {
			b.Fatalf("page %d: %v (token %q)", page, err, resp.NextToken)
		}
		opts.Token = resp.NextToken
	}
	deepToken = opts.Token
	b.Logf("walked %d pages in %v", deepPage-1, time.Since(walkStart).Round(time.Millisecond))

	// Interleaved, so that both pages see the same machine load.
	first := &client.AlertListOptions{Status: aip.AlertActive}
	deep := &client.AlertListOptions{Status: aip.AlertActive, Token: deepToken}
	var spent [2]time.Duration
	for b.Loop() {
		for i, o := range []*client.AlertListOptions{first, deep} {
			t0 := time.Now()
			got, _, err := c.Alerts.List(ctx, o)
			spent[i] += time.Since(t0)
			if err != nil || len(got) != 100 {
				b.Fatalf("List = %d alerts, %v", len(got), err)
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(spent[0].Microseconds())/n, "µs/page1")
	b.ReportMetric(float64(spent[1].Microseconds())/n, "µs/page5000")
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "deep/first")
	b.ReportMetric(0, "ns/op")
}

// bulkAlerts inserts n alerts of orgID straight into the database, one in
// ten dismissed, one a second up to now: through the API it would take
// hours, and the listing under test does not care how they were made.
func bulkAlerts(b *testing.B, path, orgID string, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(`
		INSERT INTO alerts (id, org_id, title, data_source, created_at, dismissed, dismiss_reason,
			dismiss_reason_text, dismissed_by, severity, agent_id, rule_id, ruleset_id, aggregates,
			event_count, expires_at, last_event_at, agg_key)
		VALUES (?, ?, 'User: Sudo Usage', 'agent', ?, ?, '', '', '', ?, 'agent', 'rule', 'rs', '[]', 1, ?, ?, 'k')`)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().Add(-time.Duration(n) * time.Second).UnixMilli()
	for i := range n {
		at := start + int64(i)*1000
		if _, err := stmt.Exec(aip.NewUUID(), orgID, at, i%10 == 0, i%3+1, at+3_600_000, at); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
