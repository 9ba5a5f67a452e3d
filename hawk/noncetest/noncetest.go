// Package noncetest is the conformance suite of hawk.NonceStore
// implementations, so that the in-memory store and the Redis one behave the
// same way where hawk.Server relies on them.
//
// Stores differ in what they do with a triple once its window is over:
// hawk.MemoryNonceStore keeps refusing a timestamp second it has dropped
// (failing closed), a Redis store forgets the key. hawk.Server never passes
// such a triple (it answers "Stale timestamp" first), so the suite only
// checks forgetting on a timestamp outside every window, which all stores
// keep for ttl to at most 2×ttl.
package noncetest

import (
	"crypto/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aipsec/aip/hawk"
)

// TTL is the ttl the suite passes to Use: short, so that a run on a real
// clock waits about a second in all.
const TTL = 400 * time.Millisecond

// Clock is the time source of a run. Now tells the suite what time the
// store believes it is (the ts of in-window triples is taken from it);
// Advance lets d pass for the store: a real clock sleeps, miniredis
// fast-forwards its expiries, a fake clock jumps.
type Clock interface {
	Now() time.Time
	Advance(d time.Duration)
}

// RealClock is the wall clock: Advance sleeps.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Advance sleeps for d.
func (RealClock) Advance(d time.Duration) { time.Sleep(d) }

// Run runs the suite. newClock and newStore are called once per subtest;
// newStore must return a store reading time from the clock it is given
// (stores with their own clock may ignore it) that shares no triples with
// earlier subtests, or the suite's random ids keep runs apart.
func Run(t *testing.T, newClock func(t *testing.T) Clock, newStore func(t *testing.T, clk Clock) hawk.NonceStore) {
	t.Helper()
	run := rand.Text()
	tests := []struct {
		name string
		fn   func(*suite)
	}{
		{"accepts a first use and refuses its replay", testReplay},
		{"keys on id ts and nonce together", testFields},
		{"frames fields unambiguously", testFraming},
		{"remembers a triple within its window", testRemembers},
		{"forgets a triple outside every window after twice the ttl", testForgets},
		{"admits one of parallel uses of a triple", testConcurrent},
		{"rejects a non-positive ttl", testBadTTL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock(t)
			tc.fn(&suite{t: t, clk: clk, store: newStore(t, clk), id: run + "/" + t.Name()})
		})
	}
}

type suite struct {
	t     *testing.T
	clk   Clock
	store hawk.NonceStore
	id    string // unique per subtest and run, the base of every id
}

// use calls Use with the suite's ttl, failing the test on error.
func (s *suite) use(id, ts, nonce string) bool {
	s.t.Helper()
	fresh, err := s.store.Use(s.t.Context(), s.id+id, ts, nonce, TTL)
	if err != nil {
		s.t.Fatalf("Use(%q, %q, %q): %v", id, ts, nonce, err)
	}
	return fresh
}

// now is the ts of a request signed at the clock's time.
func (s *suite) now() string { return strconv.FormatInt(s.clk.Now().Unix(), 10) }

func testReplay(s *suite) {
	ts := s.now()
	if !s.use("id", ts, "n") {
		s.t.Fatal("first use: got fresh=false, want true")
	}
	for i := range 3 {
		if s.use("id", ts, "n") {
			s.t.Errorf("replay %d: got fresh=true, want false", i+1)
		}
	}
}

func testFields(s *suite) {
	ts := s.now()
	s.use("id", ts, "n")
	tests := []struct {
		name          string
		id, ts, nonce string
	}{
		{"another id", "id2", ts, "n"},
		{"another ts", "id", strconv.FormatInt(s.clk.Now().Unix()+1, 10), "n"},
		{"another nonce", "id", ts, "m"},
	}
	for _, tc := range tests {
		if !s.use(tc.id, tc.ts, tc.nonce) {
			s.t.Errorf("%s after (id, %s, n): got fresh=false, want true", tc.name, ts)
		}
	}
}

func testFraming(s *suite) {
	ts := s.now()
	// Each pair concatenates to the same bytes.
	for _, pair := range [][2][3]string{
		{{"1", ts, "23"}, {"1", ts + "2", "3"}},
		{{"a", ts, "bc"}, {"a" + ts[:1], ts[1:], "bc"}},
	} {
		s.use(pair[0][0], pair[0][1], pair[0][2])
		if !s.use(pair[1][0], pair[1][1], pair[1][2]) {
			s.t.Errorf("%q: got fresh=false after %q, want true", pair[1], pair[0])
		}
	}
}

func testRemembers(s *suite) {
	ts := s.now()
	s.use("id", ts, "n")
	// Within ttl/2 of its use a triple may still pass a Server's timestamp
	// check (ttl = 2×skew), so every store must still know it.
	s.clk.Advance(TTL/2 - time.Millisecond)
	if s.use("id", ts, "n") {
		s.t.Error("replay within the window: got fresh=true, want false")
	}
}

func testForgets(s *suite) {
	const ts = "1353788437" // 2012: outside every window
	s.use("id", ts, "n")
	s.clk.Advance(TTL - 50*time.Millisecond)
	if s.use("id", ts, "n") {
		s.t.Error("replay before the ttl: got fresh=true, want false")
	}
	s.clk.Advance(TTL + 100*time.Millisecond)
	if !s.use("id", ts, "n") {
		s.t.Error("use after twice the ttl: got fresh=false, want true")
	}
}

func testConcurrent(s *suite) {
	const n = 50
	ts := s.now()
	var fresh atomic.Int64
	errs := make([]error, n)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-ready
			ok, err := s.store.Use(s.t.Context(), s.id+"id", ts, "n", TTL)
			errs[i] = err
			if ok {
				fresh.Add(1)
			}
		})
	}
	close(ready)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			s.t.Fatalf("Use: %v", err)
		}
	}
	if got := fresh.Load(); got != 1 {
		s.t.Errorf("%d parallel uses of one triple: got %d fresh, want 1", n, got)
	}
}

func testBadTTL(s *suite) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		if fresh, err := s.store.Use(s.t.Context(), s.id+"id", s.now(), "n", ttl); err == nil {
			s.t.Errorf("Use with ttl %v: got %v, nil; want an error", ttl, fresh)
		}
	}
}
