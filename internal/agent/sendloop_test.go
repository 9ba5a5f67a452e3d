package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aipsec/aip/internal/agent/collect"
	"github.com/aipsec/aip/internal/agent/spool"
)

// newTestAgent is an agent of srvURL with a spool in a temporary dir; its
// loops are started by the test.
func newTestAgent(t *testing.T, srvURL string) *agent {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatalf("open spool: %v", err)
	}
	t.Cleanup(func() { sp.Close() })
	opts := Options{StateDir: t.TempDir(), RetryMax: 2 * time.Second}.withDefaults()
	return &agent{opts: opts, id: &Identity{Server: srvURL, AgentID: "agent-1", AgentKey: testKey},
		client: testClient(t, srvURL), spool: sp, log: opts.Logger, health: map[string]string{},
		meta: map[string]any{"hostname": "test-host"}}
}

// runLoop runs loop until the test ends.
func runLoop(t *testing.T, loop func(context.Context)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); loop(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// batchEvents decodes a posted batch.
func batchEvents(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var evs []map[string]any
	if err := json.Unmarshal(body, &evs); err != nil {
		t.Errorf("batch is not a JSON array: %v", err)
	}
	return evs
}

func ids(evs []map[string]any) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i], _ = e["_id"].(string)
	}
	return out
}

func TestSendLoopIsolatesABadRecord(t *testing.T) {
	var mu sync.Mutex
	accepted := map[float64]int{} // event n → times accepted
	var srv *signedServer
	srv = newSignedServer(t, nil, func(_ *http.Request, body []byte) reply {
		evs := batchEvents(t, body)
		for _, e := range evs {
			if e["bad"] == true {
				return reply{status: http.StatusBadRequest, body: []byte(`{"errors":["bad record"]}`)}
			}
		}
		mu.Lock()
		for _, e := range evs {
			accepted[e["n"].(float64)]++
		}
		mu.Unlock()
		return reply{status: http.StatusAccepted, body: []byte(`{"accepted":` + itoa(len(evs)) + `,"duplicates":0,"rejected":[]}`)}
	})
	a := newTestAgent(t, srv.URL)
	for i := range 5 {
		a.emit(collect.Event{"event_type": "host", "n": i, "bad": i == 2})
	}
	runLoop(t, a.sendLoop)

	eventually(t, 10*time.Second, "the spool to drain", func() bool { return a.spool.Stats().PendingRecords == 0 })
	mu.Lock()
	defer mu.Unlock()
	want := map[float64]int{0: 1, 1: 1, 3: 1, 4: 1}
	if len(accepted) != len(want) {
		t.Errorf("accepted %v, want %v", accepted, want)
	}
	for n, c := range want {
		if accepted[n] != c {
			t.Errorf("event %v accepted %d times, want %d", n, accepted[n], c)
		}
	}
	if got := a.rejected.Load(); got != 1 {
		t.Errorf("rejected %d, want 1", got)
	}
}

func TestSendLoopWaitsRetryAfterAndResendsTheSameEvents(t *testing.T) {
	var mu sync.Mutex
	var sent [][]string
	var at []time.Time
	srv := newSignedServer(t, nil, func(_ *http.Request, body []byte) reply {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, ids(batchEvents(t, body)))
		at = append(at, time.Now())
		if len(sent) == 1 {
			return reply{status: http.StatusTooManyRequests, header: http.Header{"Retry-After": {"2"}, "Server-Authorization": {"-"}},
				body: []byte(`{"errors":["slow down"]}`)}
		}
		return reply{status: http.StatusAccepted, body: []byte(`{"accepted":3,"duplicates":0,"rejected":[]}`)}
	})
	a := newTestAgent(t, srv.URL)
	for range 3 {
		a.emit(collect.Event{"event_type": "host"})
	}
	runLoop(t, a.sendLoop)

	eventually(t, 10*time.Second, "the spool to drain", func() bool { return a.spool.Stats().PendingRecords == 0 })
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 2 {
		t.Fatalf("%d batches sent, want 2", len(sent))
	}
	if len(sent[0]) != 3 || !slices.Equal(sent[0], sent[1]) {
		t.Errorf("resent _ids %v, want the same as first sent %v", sent[1], sent[0])
	}
	if gap := at[1].Sub(at[0]); gap < 1900*time.Millisecond {
		t.Errorf("resent after %v, want after the 2 s Retry-After", gap)
	}
}

func TestSendLoopAcknowledgesRejectedEvents(t *testing.T) {
	srv := newSignedServer(t, nil, func(_ *http.Request, body []byte) reply {
		return reply{status: http.StatusAccepted,
			body: []byte(`{"accepted":2,"duplicates":0,"rejected":[{"index":1,"error":"no event_type"}]}`)}
	})
	a := newTestAgent(t, srv.URL)
	for range 3 {
		a.emit(collect.Event{"event_type": "host"})
	}
	runLoop(t, a.sendLoop)

	eventually(t, 10*time.Second, "the spool to drain", func() bool { return a.spool.Stats().PendingRecords == 0 })
	time.Sleep(300 * time.Millisecond)
	if got := srv.count(); got != 1 {
		t.Errorf("%d batches sent, want 1 (rejected events are not resent)", got)
	}
	if got := a.rejected.Load(); got != 1 {
		t.Errorf("rejected %d, want 1", got)
	}
}

func TestEmit(t *testing.T) {
	a := newTestAgent(t, "http://127.0.0.1:1")
	t.Run("drops an event without event_type", func(t *testing.T) {
		a.emit(collect.Event{"foo": "bar"})
		if got := a.spool.Stats().PendingRecords; got != 0 {
			t.Errorf("%d records spooled, want 0", got)
		}
	})
	t.Run("adds the envelope", func(t *testing.T) {
		ev := collect.Event{"event_type": "login", "timestamp": int64(42)}
		a.emit(ev)
		b, err := a.spool.Next(10, 1<<20)
		if err != nil || b.Len() != 1 {
			t.Fatalf("Next = %d records, %v; want 1", b.Len(), err)
		}
		var got map[string]any
		if err := json.Unmarshal(b.Records[0], &got); err != nil {
			t.Fatal(err)
		}
		if got["_type"] != "login" || got["agent_id"] != "agent-1" || got["timestamp"] != float64(42) {
			t.Errorf("envelope %v: want _type login, agent_id agent-1, timestamp 42 kept", got)
		}
		if id, _ := got["_id"].(string); !isUUID(id) {
			t.Errorf("_id %q is not a UUID", id)
		}
		if hm, _ := got["host_metadata"].(map[string]any); hm["hostname"] != "test-host" {
			t.Errorf("host_metadata %v, want hostname test-host", got["host_metadata"])
		}
		if am, _ := got["agent_metadata"].(map[string]any); am["version"] != Version || am["agent_id"] != "agent-1" {
			t.Errorf("agent_metadata %v", got["agent_metadata"])
		}
	})
}
