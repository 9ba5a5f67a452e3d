package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/rules"
	"github.com/aipsec/aip/internal/store/sqlite"
	"github.com/google/go-cmp/cmp"
)

// restart replaces the server by a new one on the same store, as a process
// restart does: everything in memory (engines, windows) is gone.
func (h *harness) restart(t *testing.T) {
	t.Helper()
	h.ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.srv.Close(ctx); err != nil {
		t.Fatalf("close server: %v", err)
	}
	srv, err := httpapi.New(h.cfg)
	if err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	h.srv, h.ts = srv, httptest.NewServer(srv)
}

// bruteForce is the title of the Base Rule Set's "5 login failures within a
// minute" alert for the loginFailure events.
const bruteForce = "User Activity (Brute Force): 5 login failures within a minute from IP 198.51.100.7"

func TestPipelineWindowsSurviveARestart(t *testing.T) {
	h := newHarness(t)
	org, key := h.newAgentOrg(t, "A")
	user := h.newAccount(t, org, "a@example.com", aip.RoleOwner)
	a := h.enrollAgent(t, key, "web-1")
	ts := epoch.UnixMilli() - 30_000

	for i := range 3 {
		h.sendEvents(t, a, []string{loginFailure(t, a.UserID, "admin", ts+int64(i))})
	}
	h.restart(t)
	h.sendEvents(t, a, []string{loginFailure(t, a.UserID, "admin", ts+3), loginFailure(t, a.UserID, "admin", ts+4)})

	got := bruteForceCounts(t, h, user)
	if diff := cmp.Diff([]string{bruteForce + ": 5"}, got); diff != "" {
		t.Errorf("brute-force alerts after 3 failures, a restart and 2 more (-want +got):\n%s", diff)
	}
}

func TestPipelineFiringWindowSurvivesARestart(t *testing.T) {
	h := newHarness(t)
	org, key := h.newAgentOrg(t, "A")
	user := h.newAccount(t, org, "a@example.com", aip.RoleOwner)
	a := h.enrollAgent(t, key, "web-1")
	ts := epoch.UnixMilli() - 30_000

	var evs []string
	for i := range 6 {
		evs = append(evs, loginFailure(t, a.UserID, "admin", ts+int64(i)))
	}
	h.sendEvents(t, a, evs)
	h.restart(t)
	h.sendEvents(t, a, []string{loginFailure(t, a.UserID, "admin", ts+6)})

	got := bruteForceCounts(t, h, user)
	if diff := cmp.Diff([]string{bruteForce + ": 7"}, got); diff != "" {
		t.Errorf("brute-force alerts after a restart inside the firing window (-want +got):\n%s", diff)
	}
}

// bruteForceCounts lists the active brute-force alerts as "title: count".
func bruteForceCounts(t *testing.T, h *harness, user account) []string {
	t.Helper()
	var out []string
	for _, s := range alertCounts(t, h.ctx(t), h.client(t, user)) {
		if strings.HasPrefix(s, "User Activity (Brute Force)") {
			out = append(out, s)
		}
	}
	return out
}

// failingStore fails the next IngestEvents after its evaluation ran, as a
// transaction that fails at commit does.
type failingStore struct {
	aip.Store
	failNext atomic.Bool
}

func (s *failingStore) IngestEvents(ctx context.Context, orgID string, evs []*aip.Event, evaluate aip.EvaluateFunc) ([]bool, error) {
	if !s.failNext.CompareAndSwap(true, false) || evaluate == nil {
		return s.Store.IngestEvents(ctx, orgID, evs, evaluate)
	}
	return s.Store.IngestEvents(ctx, orgID, evs, func(ctx context.Context, fresh []*aip.Event, st *aip.EvalState) (*aip.Evaluation, error) {
		if _, err := evaluate(ctx, fresh, st); err != nil {
			return nil, err
		}
		return nil, aip.Errorf(aip.EUNAVAILABLE, "injected failure")
	})
}

func TestPipelineFailedBatchLeavesNoTrace(t *testing.T) {
	fs := &failingStore{}
	h := newHarness(t, func(c *httpapi.Config) { fs.Store = c.Store; c.Store = fs })
	org, key := h.newAgentOrg(t, "A")
	user := h.newAccount(t, org, "a@example.com", aip.RoleOwner)
	a := h.enrollAgent(t, key, "web-1")
	ts := epoch.UnixMilli() - 30_000

	h.sendEvents(t, a, []string{loginFailure(t, a.UserID, "admin", ts), loginFailure(t, a.UserID, "admin", ts+1),
		loginFailure(t, a.UserID, "admin", ts+2)})
	fs.failNext.Store(true)
	failed := loginFailure(t, a.UserID, "admin", ts+3)
	r := h.agentPost(t, allow5xx(h.ctx(t)), a, "/agent/v1/events", []byte("["+failed+"]"), "application/json", "")
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("failed batch answered %d %s, want 503", r.Status, r.Body)
	}
	h.sendEvents(t, a, []string{loginFailure(t, a.UserID, "admin", ts+4)})
	if got := bruteForceCounts(t, h, user); len(got) != 0 {
		t.Fatalf("brute-force alert after 4 stored failures: %v; the failed batch was counted", got)
	}
	// The agent re-sends the failed batch: now it is stored and counts.
	if ans := h.sendEvents(t, a, []string{failed}); ans.Duplicates != 0 {
		t.Errorf("re-sent failed batch: %d duplicates, want 0 (it was never stored)", ans.Duplicates)
	}
	if diff := cmp.Diff([]string{bruteForce + ": 5"}, bruteForceCounts(t, h, user)); diff != "" {
		t.Errorf("brute-force alerts (-want +got):\n%s", diff)
	}
}

// secondNode starts another server on a second handle of the same
// database, sharing the limiter and replay cache as Redis would: a second
// aipd node. Its caches are its own.
func (h *harness) secondNode(t *testing.T) *harness {
	t.Helper()
	st, err := sqlite.Open(context.Background(), h.dbPath)
	if err != nil {
		t.Fatalf("open second handle: %v", err)
	}
	cfg := h.cfg
	cfg.Store = st
	srv, err := httpapi.New(cfg)
	if err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	n := *h
	n.store, n.srv, n.ts = st, srv, httptest.NewServer(srv)
	t.Cleanup(func() {
		n.ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close second node: %v", err)
		}
		st.Close()
	})
	return &n
}

func TestPipelineAcrossNodes(t *testing.T) {
	a := newHarness(t)
	b := a.secondNode(t)
	org, key := a.newAgentOrg(t, "A")
	user := a.newAccount(t, org, "a@example.com", aip.RoleOwner)
	ag := a.enrollAgent(t, key, "web-1")
	ts := epoch.UnixMilli() - 30_000

	t.Run("a window fed by both nodes counts every event once", func(t *testing.T) {
		for i := range 9 {
			node := []*harness{a, b}[i%2]
			node.sendEvents(t, ag, []string{loginFailure(t, ag.UserID, "admin", ts+int64(i))})
		}
		if diff := cmp.Diff([]string{bruteForce + ": 9"}, bruteForceCounts(t, a, user)); diff != "" {
			t.Errorf("brute-force alerts (-want +got):\n%s", diff)
		}
	})
	t.Run("a rule change through one node applies on the other at once", func(t *testing.T) {
		c := a.client(t, user)
		b.sendEvents(t, ag, []string{sudoEvent(t, ag.UserID, ts)}) // node b caches its engine
		rs, err := a.store.FindRulesetByName(context.Background(), org, rules.BaseRuleSetName)
		if err != nil {
			t.Fatal(err)
		}
		list, _, err := c.Rules.List(a.ctx(t), rs.ID)
		if err != nil {
			t.Fatal(err)
		}
		var sudo *aip.Rule
		for _, r := range list {
			if r.Name == "User: Sudo Usage" {
				sudo = r
			}
		}
		if sudo == nil {
			t.Fatal("no sudo rule in the Base Rule Set")
		}
		sudo.Enabled = false
		if _, _, err := c.Rules.Update(a.ctx(t), rs.ID, sudo.ID, sudo); err != nil {
			t.Fatalf("disable the sudo rule through node a: %v", err)
		}
		before := alertCounts(t, a.ctx(t), c)
		b.sendEvents(t, ag, []string{sudoEvent(t, ag.UserID, ts+1)})
		if diff := cmp.Diff(before, alertCounts(t, a.ctx(t), c)); diff != "" {
			t.Errorf("node b still ran the disabled rule (-before +after):\n%s", diff)
		}
	})
}
