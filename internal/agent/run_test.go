package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/agent"
	"github.com/aipsec/aip/internal/agent/collect"
	"github.com/aipsec/aip/internal/rules"
)

// fakeCollector emits n host events at start, the first with its own
// timestamp, and keeps them as the core completed them.
type fakeCollector struct {
	name string
	n    int
	err  error // returned at once when set

	mu      sync.Mutex
	emitted []collect.Event
}

func (c *fakeCollector) Name() string { return c.name }

func (c *fakeCollector) Run(ctx context.Context, emit collect.Emit) error {
	if c.err != nil {
		return c.err
	}
	for i := range c.n {
		ev := collect.Event{"event_type": "host", "comment": "fake event", "n": i}
		if i == 0 {
			ev["timestamp"] = fixedTS
		}
		emit(ev)
		c.mu.Lock()
		c.emitted = append(c.emitted, ev)
		c.mu.Unlock()
	}
	<-ctx.Done()
	return nil
}

func (c *fakeCollector) events() []collect.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.emitted)
}

// fixedTS is the timestamp the first fake event sets itself.
var fixedTS = time.Now().Add(-time.Hour).UnixMilli()

// fakeWatcher records the watches it is given.
type fakeWatcher struct {
	mu      sync.Mutex
	updates [][]collect.FileWatch
}

func (w *fakeWatcher) Update(watches []collect.FileWatch) {
	w.mu.Lock()
	w.updates = append(w.updates, watches)
	w.mu.Unlock()
}

func (w *fakeWatcher) calls() [][]collect.FileWatch {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.updates)
}

// fakePackages is a fixed inventory whose database never changes.
type fakePackages struct{ inv *aip.Inventory }

func (p fakePackages) Inventory() (*aip.Inventory, error) { return p.inv, nil }

func (p fakePackages) Watch(ctx context.Context, _ func()) error {
	<-ctx.Done()
	return nil
}

// recorder is a transport that keeps the bodies of the event batches the
// server answered 202 to.
type recorder struct {
	mu      sync.Mutex
	batches [][]byte
	paths   []string // of every request sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	r.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && strings.HasSuffix(req.URL.Path, "/agent/v1/events") && resp.StatusCode == http.StatusAccepted {
		r.mu.Lock()
		r.batches = append(r.batches, body)
		r.mu.Unlock()
	}
	return resp, err
}

// sent reports whether a request to path was sent.
func (r *recorder) sent(path string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.paths, path)
}

// events returns the events of the accepted batches, by _id.
func (r *recorder) events(t *testing.T) map[string]map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]map[string]any{}
	for _, b := range r.batches {
		var evs []map[string]any
		if err := json.Unmarshal(b, &evs); err != nil {
			t.Fatalf("batch is not a JSON array: %v", err)
		}
		for _, e := range evs {
			id, _ := e["_id"].(string)
			out[id] = e
		}
	}
	return out
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestRun(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	id, err := agent.Setup(ctx, agent.SetupOptions{Server: s.url, DeployKey: s.deployKey, Hostname: "run-host", StateDir: dir})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}

	const n = 7
	col := &fakeCollector{name: "fake", n: n}
	broken := &fakeCollector{name: "broken", err: errors.New("no such kernel interface")}
	files := &fakeWatcher{}
	inv := &aip.Inventory{Ecosystem: "deb", Distro: "debian", Release: "12",
		Packages: []aip.InstalledPackage{{Name: "openssl", Version: "3.0.11-1~deb12u2", Arch: "amd64"}}}
	rec := &recorder{}
	opts := agent.Options{
		StateDir: dir, Hostname: "run-host",
		Collectors: []collect.Collector{col, broken}, Files: files, Packages: fakePackages{inv},
		HeartbeatEvery: 100 * time.Millisecond, ConfigEvery: 100 * time.Millisecond,
		HTTPClient: &http.Client{Transport: rec, Timeout: 10 * time.Second},
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- agent.Run(runCtx, opts) }()
	stopped := false
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			stopped = true
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10 s of the cancel")
			return nil
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})

	t.Run("a second Run on the same state dir is refused", func(t *testing.T) {
		// The lock is taken before the loops start: once the first Run
		// sent its first heartbeat, it holds the lock.
		waitFor(t, 5*time.Second, "the first heartbeat", func() bool { return rec.sent("/agent/v1/heartbeat") })
		c2, cancel2 := context.WithTimeout(ctx, 5*time.Second)
		defer cancel2()
		err := agent.Run(c2, agent.Options{StateDir: dir})
		if err == nil || !strings.Contains(err.Error(), "in use") {
			t.Errorf("second Run = %v, want in use", err)
		}
	})

	t.Run("all events reach the server in their envelope", func(t *testing.T) {
		waitFor(t, 10*time.Second, "the events to be accepted", func() bool {
			return len(col.events()) == n && len(rec.events(t)) >= n
		})
		sent := rec.events(t)
		for _, ev := range col.events() {
			evID, _ := ev["_id"].(string)
			got, ok := sent[evID]
			if !ok {
				t.Errorf("event %v (_id %q) never accepted", ev["n"], evID)
				continue
			}
			if !uuidRE.MatchString(evID) {
				t.Errorf("_id %q is not a UUID", evID)
			}
			if got["agent_id"] != id.AgentID || got["_type"] != "host" || got["event_type"] != "host" {
				t.Errorf("event %v: agent_id %v _type %v, want %s host", got["n"], got["agent_id"], got["_type"], id.AgentID)
			}
			if hm, _ := got["host_metadata"].(map[string]any); hm["hostname"] != "run-host" {
				t.Errorf("event %v: host_metadata %v, want hostname run-host", got["n"], got["host_metadata"])
			}
			ts, _ := got["timestamp"].(float64)
			if got["n"] == float64(0) && int64(ts) != fixedTS {
				t.Errorf("timestamp %v, want the collector's %d kept", got["timestamp"], fixedTS)
			}
			if ts <= 0 {
				t.Errorf("event %v has no timestamp", got["n"])
			}
		}
		if len(sent) != n {
			t.Errorf("%d distinct events accepted, want %d", len(sent), n)
		}
	})

	t.Run("heartbeats carry the module health", func(t *testing.T) {
		var health struct {
			Collectors map[string]string `json:"collectors"`
			Spool      map[string]int64  `json:"spool"`
		}
		waitFor(t, 5*time.Second, "a heartbeat with both collectors' health and an empty spool", func() bool {
			a, err := s.m.Store().FindAgent(ctx, s.orgID, id.AgentID, time.Now().Add(-time.Minute))
			if err != nil || a.LastReportedAt.IsZero() || len(a.AgentModuleHealth) == 0 {
				return false
			}
			if err := json.Unmarshal(a.AgentModuleHealth, &health); err != nil {
				t.Fatalf("agentModuleHealth %s: %v", a.AgentModuleHealth, err)
			}
			return health.Collectors["broken"] != "ok" && health.Spool["pendingEvents"] == 0
		})
		want := map[string]string{"fake": "ok", "broken": "no such kernel interface"}
		if diff := cmp.Diff(want, health.Collectors); diff != "" {
			t.Errorf("collectors (-want +got):\n%s", diff)
		}
		for _, k := range []string{"pendingEvents", "pendingBytes", "droppedEvents"} {
			if _, ok := health.Spool[k]; !ok {
				t.Errorf("spool counters %v lack %s", health.Spool, k)
			}
		}
	})

	t.Run("the inventory is put", func(t *testing.T) {
		var got *aip.Inventory
		waitFor(t, 5*time.Second, "the inventory", func() bool {
			var err error
			got, err = s.m.Store().FindInventory(ctx, s.orgID, id.AgentID)
			return err == nil
		})
		if diff := cmp.Diff(inv.Packages, got.Packages); diff != "" {
			t.Errorf("packages (-sent +stored):\n%s", diff)
		}
	})

	t.Run("file watches follow the server's File rules", func(t *testing.T) {
		waitFor(t, 5*time.Second, "the first configuration", func() bool { return len(files.calls()) >= 1 })
		time.Sleep(350 * time.Millisecond) // several polls of an unchanged configuration
		if got := len(files.calls()); got != 1 {
			t.Fatalf("Update called %d times for an unchanged configuration, want 1", got)
		}
		rs, err := s.m.Store().FindRulesetByName(ctx, s.orgID, rules.BaseRuleSetName)
		if err != nil {
			t.Fatalf("FindRulesetByName: %v", err)
		}
		now := aip.Time{Time: time.Now()}
		r := &aip.Rule{ID: aip.NewUUID(), OrgID: s.orgID, RulesetID: rs.ID, Type: "File", Name: "agent test",
			Title: "agent test", Enabled: true, CreatedAt: now, UpdatedAt: now, SeverityOfAlerts: 1,
			FileIntegrityPaths: []aip.FileIntegrityPath{{Path: "/opt/agent-test", Recursive: true}},
			EventsToMonitor:    []string{"modify"}}
		if err := s.m.Store().CreateRule(ctx, r); err != nil {
			t.Fatalf("CreateRule: %v", err)
		}
		waitFor(t, 5*time.Second, "the new configuration", func() bool { return len(files.calls()) >= 2 })
		calls := files.calls()
		if len(calls) != 2 {
			t.Fatalf("Update called %d times, want 2", len(calls))
		}
		want := collect.FileWatch{Path: "/opt/agent-test", Recursive: true, Events: []string{"modify"}, Ignore: []string{}}
		if !slices.ContainsFunc(calls[1], func(w collect.FileWatch) bool { return cmp.Equal(w, want) }) {
			t.Errorf("watches %+v lack %+v", calls[1], want)
		}
		if slices.ContainsFunc(calls[0], func(w collect.FileWatch) bool { return w.Path == want.Path }) {
			t.Errorf("first watches %+v already hold %s", calls[0], want.Path)
		}
	})

	t.Run("Run returns after cancel and the server stored every event", func(t *testing.T) {
		if err := stop(); err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
		// Stored events come back as duplicates: not fresh.
		var evs []*aip.Event
		for _, ev := range col.events() {
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			ts, _ := ev["timestamp"].(int64)
			evs = append(evs, &aip.Event{ID: ev["_id"].(string), OrgID: s.orgID, AgentID: id.AgentID, Type: "host",
				Time: time.UnixMilli(ts).UTC(), Raw: raw})
		}
		fresh, err := s.m.Store().InsertEvents(ctx, s.orgID, evs)
		if err != nil {
			t.Fatalf("InsertEvents: %v", err)
		}
		for i, f := range fresh {
			if f {
				t.Errorf("event %d was not stored by the server", i)
			}
		}
		if _, err := agent.LoadIdentity(dir); err != nil {
			t.Errorf("identity unusable after Run: %v", err)
		}
	})
}
