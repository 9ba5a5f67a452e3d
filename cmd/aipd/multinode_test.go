package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/store/postgres"
)

// TestMultiNode is issue 6's proof: three aipd processes on loopback ports
// share one PostgreSQL schema and one Redis, and a client sees one server.
func TestMultiNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds aipd and runs three processes")
	}
	redisURL := os.Getenv("AIP_TEST_REDIS_URL")
	if redisURL == "" || os.Getenv("AIP_TEST_POSTGRES_URL") == "" {
		t.Skip("AIP_TEST_POSTGRES_URL and AIP_TEST_REDIS_URL not both set: multi-node test skipped")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build aipd with")
	}
	start := time.Now()
	dbURL := emptyPostgres(t)
	tmp := t.TempDir()
	c := &cluster{bin: filepath.Join(tmp, "aipd"), dbURL: dbURL, redisURL: redisURL, keyFile: filepath.Join(tmp, "master.key")}
	if out, err := exec.Command(goBin, "build", "-o", c.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build aipd: %v\n%s", err, out)
	}
	c.public = &url.URL{Scheme: "http", Host: "127.0.0.1:" + freePort(t)}
	for i := range 3 {
		c.dirs = append(c.dirs, filepath.Join(tmp, fmt.Sprintf("node%d", i+1)))
	}
	// The first node bootstraps the empty schema; the others join it.
	c.nodes = append(c.nodes, c.startNode(t, c.dirs[0]))
	c.nodes = append(c.nodes, c.startNode(t, c.dirs[1]), c.startNode(t, c.dirs[2]))
	store, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	t.Logf("built and started 3 nodes in %v", time.Since(start).Round(time.Millisecond))

	t.Run("the org limit holds globally", func(t *testing.T) {
		// The bootstrap owner of credentials.env, whose org nothing else used.
		_, env := credentialsClient(t, c.dirs[0])
		owner := tenant{orgID: env[client.EnvOrgID], userID: env[client.EnvUserID], apiKey: env[client.EnvAPIKey]}
		clients := make([]*client.Client, len(c.nodes))
		for i, n := range c.nodes {
			clients[i] = c.clientOn(t, n, owner, nil)
		}
		const total, workers = 600, 24
		var next atomic.Int64
		var ok, limited, noRetryAfter atomic.Int64
		perNode := make([]atomic.Int64, len(c.nodes))
		var mu sync.Mutex
		var others []error
		began := time.Now()
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= total {
						return
					}
					node := int(i) % len(clients)
					_, _, err := clients[node].Help.SelfTest(t.Context())
					var rle *client.RateLimitError
					switch {
					case err == nil:
						ok.Add(1)
						perNode[node].Add(1)
					case errors.As(err, &rle):
						limited.Add(1)
						if rle.Response == nil || rle.Response.Header.Get("Retry-After") == "" {
							noRetryAfter.Add(1)
						}
					default:
						mu.Lock()
						others = append(others, err)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(began)
		if len(others) > 0 {
			t.Fatalf("%d requests failed otherwise than with 429, first: %v", len(others), others[0])
		}
		// GCRA earns one request back every 300 ms (200 a minute), so a
		// run of d allows the burst of 200 plus d/300ms.
		earned := int64(elapsed / (time.Minute / 200))
		lo, hi := int64(200-2), 200+2+earned
		if got := ok.Load(); got < lo || got > hi {
			t.Errorf("%d of %d requests succeeded in %v over 3 nodes, want %d..%d (one org limit of 200/min)", got, total, elapsed, lo, hi)
		}
		if got, want := limited.Load(), total-ok.Load(); got != want {
			t.Errorf("%d requests answered 429, want %d", got, want)
		}
		if n := noRetryAfter.Load(); n > 0 {
			t.Errorf("%d of the 429 answers carry no Retry-After", n)
		}
		for i := range perNode {
			if perNode[i].Load() == 0 {
				t.Errorf("node %d served no successful request", i+1)
			}
		}
		t.Logf("%d/%d succeeded (per node %d, %d, %d), %d answered 429, in %v",
			ok.Load(), total, perNode[0].Load(), perNode[1].Load(), perNode[2].Load(), limited.Load(), elapsed.Round(time.Millisecond))
	})

	t.Run("a replayed request is rejected on another node", func(t *testing.T) {
		tn := c.newTenant(t, "Replay")
		rec := &recorder{next: nodeHTTP(c.nodes[0]).Transport}
		first := c.clientOn(t, c.nodes[0], tn, &http.Client{Transport: rec, Timeout: bound})
		if _, _, err := first.Help.SelfTest(t.Context()); err != nil {
			t.Fatalf("original request on node 1: %v", err)
		}
		if rec.last == nil {
			t.Fatal("the original request was not recorded")
		}
		// A new signature on node 2 works: the 401s below come from the replay.
		if _, _, err := c.clientOn(t, c.nodes[1], tn, nil).Help.SelfTest(t.Context()); err != nil {
			t.Fatalf("freshly signed request on node 2: %v", err)
		}
		for i, n := range c.nodes[1:] {
			req, err := http.NewRequestWithContext(t.Context(), rec.last.Method, "http://127.0.0.1:"+n.port+rec.last.URL.RequestURI(), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = rec.last.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("replay on node %d answered %s, want 401", i+2, resp.Status)
			}
			if msg := resp.Header.Get("WWW-Authenticate") + " " + body.String(); !strings.Contains(msg, "Invalid nonce") {
				t.Errorf("replay on node %d: %q, want the Hawk replay error \"Invalid nonce\"", i+2, msg)
			}
		}
	})

	t.Run("a page token from node 1 continues on nodes 2 and 3", func(t *testing.T) {
		tn := c.newTenant(t, "Paging")
		dk := c.deployKey(t, tn.orgID)
		const agents = 120
		enrolled := make([]string, agents)
		errs := make([]error, agents)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < agents; i += 8 {
					creds, err := enroll(c.nodes[i%3], dk, fmt.Sprintf("page-%03d", i))
					enrolled[i], errs[i] = creds.ID, err
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		opts := &client.AgentListOptions{Status: "online"}
		page1, resp, err := c.clientOn(t, c.nodes[0], tn, nil).Agents.List(t.Context(), opts)
		if err != nil {
			t.Fatalf("page 1 on node 1: %v", err)
		}
		if resp.NextToken == "" {
			t.Fatalf("page 1 holds %d of %d agents and no next token", len(page1), agents)
		}
		next := &client.AgentListOptions{Status: "online", Token: resp.NextToken}
		var rest [][]string
		for i, n := range c.nodes[1:] {
			page, resp, err := c.clientOn(t, n, tn, nil).Agents.List(t.Context(), next)
			if err != nil {
				t.Fatalf("page 2 on node %d: %v", i+2, err)
			}
			if resp.NextToken != "" {
				t.Errorf("page 2 on node %d has a next token; %d agents fit in two pages", i+2, agents)
			}
			rest = append(rest, agentIDs(page))
		}
		if diff := cmp.Diff(rest[0], rest[1]); diff != "" {
			t.Errorf("page 2 differs between node 2 and node 3 (-node2 +node3):\n%s", diff)
		}
		seen := map[string]int{}
		for _, id := range append(agentIDs(page1), rest[0]...) {
			seen[id]++
		}
		want := map[string]int{}
		for _, id := range enrolled {
			want[id] = 1
		}
		if diff := cmp.Diff(want, seen); diff != "" {
			t.Errorf("pages 1 and 2 are not the enrolled agents once each (-want +got):\n%s", diff)
		}
	})

	t.Run("events of one key spread over all nodes make one alert with the exact count", func(t *testing.T) {
		tn := c.newTenant(t, "Spread")
		creds := enrollOn(t, c.nodes[0], c.deployKey(t, tn.orgID), "web-1")
		const events, batch = 60, 5
		_, all := failureBatch(t, events)
		var raws []json.RawMessage
		if err := json.Unmarshal(all, &raws); err != nil {
			t.Fatal(err)
		}
		hcs := []*http.Client{nodeHTTP(c.nodes[0]), nodeHTTP(c.nodes[1]), nodeHTTP(c.nodes[2])}
		errs := make(chan error, events/batch)
		var wg sync.WaitGroup
		for b := 0; b*batch < events; b++ {
			body, err := json.Marshal(raws[b*batch : (b+1)*batch])
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				if _, err := c.postEventsTo(hcs[b%3], c.nodes[b%3], creds, body); err != nil {
					errs <- fmt.Errorf("batch %d on node %d: %w", b, b%3+1, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			return
		}
		want := replayKeyedAlerts(t, store, tn.orgID, creds.ID, [][]byte{all})
		if len(want) == 0 {
			t.Fatal("the login failures raise no alert on one node either: nothing to compare")
		}
		got := settledAlerts(t, store, tn.orgID, want)
		if diff := cmp.Diff(want, keyedCounts(got)); diff != "" {
			t.Errorf("alerts differ from one node's evaluation of the same events (-want +got):\n%s", diff)
		}
		checkLinkedCounts(t, store, tn.orgID, got)
		counts := make([]int, len(want))
		for i, w := range want {
			counts[i] = w.EventCount
		}
		t.Logf("%d events in %d batches over 3 nodes: %d alerts with event counts %v", events, events/batch, len(want), counts)
		// The API answers the same alerts with the same counts on any node.
		apiAlerts, _, err := c.clientOn(t, c.nodes[2], tn, nil).Alerts.List(t.Context(), &client.AlertListOptions{Status: "active"})
		if err != nil {
			t.Fatalf("GET /v2/alerts on node 3: %v", err)
		}
		if diff := cmp.Diff(idCounts(got), idCounts(apiAlerts)); diff != "" {
			t.Errorf("GET /v2/alerts differs from the store (-store +api):\n%s", diff)
		}
	})

	t.Run("one node killed with -9 during ingest loses no acknowledged event", func(t *testing.T) {
		tn := c.newTenant(t, "Kill")
		creds := enrollOn(t, c.nodes[1], c.deployKey(t, tn.orgID), "web-1")
		hcs := []*http.Client{nodeHTTP(c.nodes[0]), nodeHTTP(c.nodes[1]), nodeHTTP(c.nodes[2])}
		const batchSize, afterKill = 100, 6
		acked := map[sentEvent]bool{}
		var pendingIDs []sentEvent
		var pendingBody []byte
		// ackedBodies holds the acknowledged batches in the order of their
		// acknowledgement, which is the order their events were committed.
		var ackedBodies [][]byte
		ack := func() {
			for _, id := range pendingIDs {
				acked[id] = true
			}
			ackedBodies = append(ackedBodies, pendingBody)
			pendingIDs, pendingBody = nil, nil
		}
		victim := c.nodes[0]
		killer := time.AfterFunc(time.Duration(300+mrand.IntN(700))*time.Millisecond, func() { _ = victim.cmd.Process.Kill() })
		defer killer.Stop()
		beforeKill := 0
		deadline := time.Now().Add(bound)
		for {
			if pendingBody == nil {
				pendingIDs, pendingBody = failureBatch(t, batchSize)
			}
			ok, err := c.postEventsTo(hcs[0], victim, creds, pendingBody)
			var se *statusError
			if errors.As(err, &se) {
				t.Fatalf("node 1 refused a batch before dying: %v", err)
			}
			if err != nil {
				break // node 1 died: the batch stays pending
			}
			if ok {
				ack()
				beforeKill++
			}
			if time.Now().After(deadline) {
				t.Fatal("node 1 still alive after the kill")
			}
		}
		<-victim.exited
		// The agent fails over to nodes 2 and 3, re-sending the pending
		// batch first with the same _ids, then sending more.
		for i := range afterKill + 1 {
			if pendingBody == nil {
				pendingIDs, pendingBody = failureBatch(t, batchSize)
			}
			n := 1 + i%2
			if ok, err := c.postEventsTo(hcs[n], c.nodes[n], creds, pendingBody); !ok {
				t.Fatalf("batch %d on node %d after the kill: %v", i, n+1, err)
			}
			ack()
		}

		var evs []*aip.Event
		for e := range acked {
			evs = append(evs, &aip.Event{ID: e.id, Type: "host", Time: time.UnixMilli(e.ms), Raw: json.RawMessage(`{}`)})
		}
		// Re-inserting reports each event already stored as not fresh.
		fresh, err := store.InsertEvents(t.Context(), tn.orgID, evs)
		if err != nil {
			t.Fatal(err)
		}
		lost := 0
		for i, f := range fresh {
			if f {
				lost++
				if lost <= 5 {
					t.Errorf("acknowledged event %s is missing", evs[i].ID)
				}
			}
		}
		if lost > 0 {
			t.Errorf("%d of %d acknowledged events are missing", lost, len(evs))
		}
		want := replayKeyedAlerts(t, store, tn.orgID, creds.ID, ackedBodies)
		alerts := settledAlerts(t, store, tn.orgID, want)
		if len(alerts) == 0 {
			t.Fatal("no alert formed from the login failures")
		}
		checkLinkedCounts(t, store, tn.orgID, alerts)
		if diff := cmp.Diff(want, keyedCounts(alerts)); diff != "" {
			t.Errorf("alerts differ from one uninterrupted node's evaluation of the acknowledged events (-want +got):\n%s", diff)
		}
		t.Logf("%d events acknowledged (%d batches before the kill, %d after on nodes 2 and 3), %d alerts",
			len(acked), beforeKill, afterKill+1, len(alerts))
	})
	t.Logf("multi-node test took %v", time.Since(start).Round(time.Millisecond))
}

// settledAlerts polls the org's active alerts until they equal want (nil:
// until two reads a second apart agree), or returns the last read after
// bound, for the caller to report the difference.
func settledAlerts(t *testing.T, store *postgres.DB, orgID string, want []keyedCount) []*aip.Alert {
	t.Helper()
	deadline := time.Now().Add(bound)
	var prev []keyedCount
	for {
		alerts, err := store.ListAlerts(t.Context(), aip.AlertFilter{OrgID: orgID, Status: aip.AlertActive, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		got := keyedCounts(alerts)
		if want != nil && cmp.Equal(want, got) || want == nil && prev != nil && cmp.Equal(prev, got) || time.Now().After(deadline) {
			return alerts
		}
		prev = got
		time.Sleep(time.Second)
	}
}

// checkLinkedCounts fails when an alert's eventCount is not the number of
// distinct events linked to it.
func checkLinkedCounts(t *testing.T, store *postgres.DB, orgID string, alerts []*aip.Alert) {
	t.Helper()
	for _, a := range alerts {
		evs, err := store.ListAlertEvents(t.Context(), orgID, a.ID, nil, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		distinct := map[string]bool{}
		for _, e := range evs {
			distinct[e.ID] = true
		}
		if a.EventCount != len(distinct) || len(evs) != len(distinct) {
			t.Errorf("alert %s (%s): eventCount %d, %d events linked, %d distinct", a.ID, a.Title, a.EventCount, len(evs), len(distinct))
		}
	}
}

func keyedCounts(alerts []*aip.Alert) []keyedCount {
	out := make([]keyedCount, len(alerts))
	for i, a := range alerts {
		out[i] = keyedCount{Key: a.Key, EventCount: a.EventCount}
	}
	sortKeyed(out)
	return out
}

func idCounts(alerts []*aip.Alert) map[string]int {
	out := map[string]int{}
	for _, a := range alerts {
		out[a.ID] = a.EventCount
	}
	return out
}

func agentIDs(agents []*aip.Agent) []string {
	out := make([]string, len(agents))
	for i, a := range agents {
		out[i] = a.ID
	}
	return out
}
