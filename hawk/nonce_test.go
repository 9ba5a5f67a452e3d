package hawk

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a settable clock for MemoryNonceStore.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *fakeClock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }

// testEpoch is where every test store's clock starts, on a second boundary.
const testEpoch = 1700000000

// tsAt is the ts string of testEpoch + d seconds.
func tsAt(d int64) string { return strconv.FormatInt(testEpoch+d, 10) }

func newTestStore(max int) (*MemoryNonceStore, *fakeClock) {
	c := &fakeClock{}
	c.set(time.Unix(testEpoch, 0))
	s := NewMemoryNonceStore(max)
	s.now = c.now
	return s, c
}

// use calls Use and fails the test on error.
func use(t testing.TB, s *MemoryNonceStore, id, ts, nonce string, ttl time.Duration) bool {
	t.Helper()
	fresh, err := s.Use(context.Background(), id, ts, nonce, ttl)
	if err != nil {
		t.Fatalf("Use(%q, %q, %q): %v", id, ts, nonce, err)
	}
	return fresh
}

const (
	testSkew = DefaultSkew
	testTTL  = 2 * testSkew
)

func TestMemoryNonceStore(t *testing.T) {
	now := tsAt(0)

	t.Run("accepts a new triple and rejects its replay", func(t *testing.T) {
		s, _ := newTestStore(0)
		if !use(t, s, "id", now, "n", testTTL) {
			t.Fatal("first use not fresh")
		}
		if use(t, s, "id", now, "n", testTTL) {
			t.Error("replay reported fresh")
		}
	})

	t.Run("keys on id ts and nonce together", func(t *testing.T) {
		for _, ts := range []string{now, "1353788437", "abc"} { // in the window, far in the past, not a number
			s, _ := newTestStore(0)
			use(t, s, "id", ts, "n", testTTL)
			for _, tr := range [][3]string{{"id2", ts, "n"}, {"id", ts + "1", "n"}, {"id", "0" + ts, "n"}, {"id", ts, "m"}, {"id" + ts, "", "n"}} {
				if !use(t, s, tr[0], tr[1], tr[2], testTTL) {
					t.Errorf("triple %q not fresh after (id, %s, n)", tr, ts)
				}
			}
		}
	})

	t.Run("keys long fields on their whole length", func(t *testing.T) {
		s, _ := newTestStore(0)
		long := strings.Repeat("x", 300)
		use(t, s, long, now, long, testTTL)
		if !use(t, s, long, now, long+"y", testTTL) {
			t.Error("triple differing in its last byte reported a replay")
		}
		if use(t, s, long, now, long, testTTL) {
			t.Error("replay of a long triple reported fresh")
		}
	})

	t.Run("frames fields unambiguously", func(t *testing.T) {
		s, _ := newTestStore(0)
		// Each pair concatenates to the same bytes.
		for _, pair := range [][2][3]string{
			{{"1", "23", "n"}, {"12", "3", "n"}},
			{{"a", now, "bc"}, {"a", now + "b", "c"}},
			{{"", "", "ab"}, {"a", "", "b"}},
		} {
			use(t, s, pair[0][0], pair[0][1], pair[0][2], testTTL)
			if !use(t, s, pair[1][0], pair[1][1], pair[1][2], testTTL) {
				t.Errorf("%q reported a replay of %q", pair[1], pair[0])
			}
		}
	})

	t.Run("remembers a triple until its second leaves the window", func(t *testing.T) {
		s, c := newTestStore(0)
		use(t, s, "id", now, "n", testTTL)
		c.advance(testSkew) // now = ts + skew: a request with ts still passes
		if use(t, s, "id", now, "n", testTTL) {
			t.Error("replay fresh at ts + skew")
		}
		if got := s.Len(); got != 1 {
			t.Errorf("Len at ts + skew = %d, want 1", got)
		}
		c.advance(time.Nanosecond)
		if got := s.Len(); got != 0 {
			t.Errorf("Len at ts + skew + 1ns = %d, want 0", got)
		}
		// The second is forgotten, so neither the replay nor a new nonce
		// with that ts can be told apart from a first use: fail closed.
		if use(t, s, "id", now, "n", testTTL) {
			t.Error("replay fresh after its second was dropped")
		}
		if use(t, s, "id", now, "other", testTTL) {
			t.Error("new nonce with a dropped second reported fresh")
		}
	})

	t.Run("drops each second on its own", func(t *testing.T) {
		s, c := newTestStore(0)
		for d := int64(-60); d <= 60; d++ {
			use(t, s, "id", tsAt(d), "n", testTTL)
		}
		var got []int
		for i := 0; i < 4; i++ {
			got = append(got, s.Len())
			c.advance(time.Second)
		}
		if diff := cmp.Diff([]int{121, 120, 119, 118}, got); diff != "" {
			t.Errorf("Len each second (-want +got):\n%s", diff)
		}
	})

	t.Run("keeps seconds for the largest ttl in use", func(t *testing.T) {
		s, c := newTestStore(0)
		use(t, s, "id", now, "n", testTTL)
		c.advance(testSkew / 2)
		use(t, s, "id", now, "short", testSkew) // a caller with half the skew
		c.advance(testSkew / 2)
		if got := s.Len(); got != 2 {
			t.Errorf("Len at ts + skew = %d, want 2", got)
		}
		if use(t, s, "id", now, "n", testTTL) {
			t.Error("replay fresh within the longer ttl")
		}
	})

	t.Run("fails closed for a dropped second after the clock steps back", func(t *testing.T) {
		s, c := newTestStore(0)
		use(t, s, "id", now, "n", testTTL)
		c.advance(testSkew + time.Second)
		s.Len() // drops the second
		c.set(time.Unix(testEpoch, 0))
		if use(t, s, "id", now, "n", testTTL) {
			t.Error("replay fresh after the clock stepped back")
		}
	})

	t.Run("accepts new triples after a clock glitch longer than a window", func(t *testing.T) {
		s, c := newTestStore(0)
		use(t, s, "id", now, "n", testTTL)
		c.advance(time.Hour)
		use(t, s, "id", tsAt(3600), "n", testTTL)
		c.advance(testSkew + time.Second)
		s.Len() // drops every second up to the glitch's first
		c.set(time.Unix(testEpoch+1, 0))
		if !use(t, s, "id", tsAt(1), "n", testTTL) {
			t.Error("new triple refused after the clock came back")
		}
	})

	t.Run("remembers a triple outside the window for the ttl", func(t *testing.T) {
		for _, ts := range []string{"1353788437", tsAt(61), "99999999999999", "-5", "abc", "123456789012345678901"} {
			s, c := newTestStore(0)
			if !use(t, s, "id", ts, "n", testTTL) {
				t.Errorf("ts %s: first use not fresh", ts)
			}
			c.advance(testTTL - time.Nanosecond)
			if use(t, s, "id", ts, "n", testTTL) {
				t.Errorf("ts %s: replay fresh within the ttl", ts)
			}
			c.advance(2*testTTL + time.Nanosecond)
			if got := s.Len(); got != 0 {
				t.Errorf("ts %s: Len after 3×ttl = %d, want 0", ts, got)
			}
		}
	})

	t.Run("finds a future triple once its second comes into the window", func(t *testing.T) {
		s, c := newTestStore(0)
		ts := tsAt(100)
		use(t, s, "id", ts, "n", testTTL)
		c.advance(50 * time.Second)
		if use(t, s, "id", ts, "n", testTTL) {
			t.Error("replay fresh")
		}
		if !use(t, s, "id", ts, "other", testTTL) {
			t.Error("new nonce not fresh")
		}
	})

	t.Run("refuses new triples when full", func(t *testing.T) {
		s, c := newTestStore(2)
		use(t, s, "id", now, "a", testTTL)
		use(t, s, "id", now, "b", testTTL)
		fresh, err := s.Use(context.Background(), "id", now, "c", testTTL)
		if !errors.Is(err, ErrNonceStoreFull) || fresh {
			t.Fatalf("Use when full = %v, %v; want false, ErrNonceStoreFull", fresh, err)
		}
		if use(t, s, "id", now, "a", testTTL) {
			t.Error("replay reported fresh while full")
		}
		c.advance(testSkew + time.Second)
		if !use(t, s, "id", tsAt(61), "c", testTTL) {
			t.Error("not fresh once the old triples expired")
		}
	})

	t.Run("refuses a stray when full", func(t *testing.T) {
		s, _ := newTestStore(1)
		use(t, s, "id", now, "a", testTTL)
		if _, err := s.Use(context.Background(), "id", "abc", "b", testTTL); !errors.Is(err, ErrNonceStoreFull) {
			t.Errorf("Use of a stray when full: %v, want ErrNonceStoreFull", err)
		}
	})

	t.Run("drops expired seconds of every shard before refusing", func(t *testing.T) {
		const max = 8
		s, c := newTestStore(max)
		for i := 0; i < max; i++ {
			use(t, s, "id", now, fmt.Sprint("old", i), testTTL)
		}
		c.advance(testSkew + time.Second)
		for i := 0; i < max; i++ {
			if !use(t, s, "id", tsAt(61), fmt.Sprint("new", i), testTTL) {
				t.Errorf("new triple %d not fresh", i)
			}
		}
	})

	t.Run("rejects a non-positive ttl", func(t *testing.T) {
		s, _ := newTestStore(0)
		for _, ttl := range []time.Duration{0, -time.Second} {
			if _, err := s.Use(context.Background(), "id", now, "n", ttl); err == nil {
				t.Errorf("Use with ttl %v succeeded", ttl)
			}
		}
	})

	t.Run("admits each triple once under concurrency", func(t *testing.T) {
		s, c := newTestStore(0)
		const workers, triples = 8, 500
		var freshCount atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < triples; i++ {
					fresh, err := s.Use(context.Background(), fmt.Sprint("id", i%7), now, fmt.Sprint(i), testTTL)
					if err != nil {
						t.Error(err)
						return
					}
					if fresh {
						freshCount.Add(1)
					}
					if i%50 == 0 {
						s.Len()
					}
					c.advance(time.Millisecond)
				}
			}()
		}
		wg.Wait()
		if got := freshCount.Load(); got != triples {
			t.Errorf("fresh uses = %d, want %d", got, triples)
		}
		if got := s.Len(); got != triples {
			t.Errorf("Len = %d, want %d", got, triples)
		}
	})
}

// TestMemoryNonceStoreSustainedLoad replays ten minutes of 20,000 verified
// requests a second on a fake clock, from two goroutines. Most clients run a
// full skew ahead, the worst case for memory (their triples must be kept
// longest); the rest are spread over the whole ±skew. The store must never
// fill, hold no more than rate × (2×skew + 1 s) triples, and keep detecting
// replays.
func TestMemoryNonceStoreSustainedLoad(t *testing.T) {
	const (
		rate    = 20000
		workers = 2
		skewSec = int64(testSkew / time.Second)
		bound   = rate * (2*skewSec + 1)
	)
	seconds := int64(600)
	if testing.Short() {
		seconds = 250 // still two windows of steady state
	}
	s, c := newTestStore(0)
	nonces := make([]string, rate)
	for i := range nonces {
		nonces[i] = strconv.Itoa(i)
	}
	tsStrings := make([]string, seconds+2*skewSec+1) // tsStrings[i] = tsAt(i - skewSec)
	for i := range tsStrings {
		tsStrings[i] = tsAt(int64(i) - skewSec)
	}
	rngs := make([]*rand.Rand, workers)
	for w := range rngs {
		rngs[w] = rand.New(rand.NewPCG(1, uint64(w)))
	}
	ctx := context.Background()
	maxLen := int64(0)
	var prev [3]string
	for sec := int64(0); sec < seconds; sec++ {
		id := "client" + strconv.FormatInt(sec, 10) // keeps triples of different seconds distinct
		// Strictly inside the second, Authenticate passes ts from now-59 s
		// to now+60 s. The clock moves on every 64 requests.
		c.set(time.Unix(testEpoch+sec, 1))
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rngs[w]
				for i := w; i < rate; i += workers {
					if i%64 == 0 {
						c.set(time.Unix(testEpoch+sec, int64(i)*(int64(time.Second)/rate)+1))
					}
					ahead := skewSec
					if i%8 == 0 {
						ahead = rng.Int64N(2*skewSec) - (skewSec - 1)
					}
					ts := tsStrings[sec+skewSec+ahead]
					fresh, err := s.Use(ctx, id, ts, nonces[i], testTTL)
					if err == nil && !fresh {
						err = fmt.Errorf("new triple (%s, %s, %s) not fresh", id, ts, nonces[i])
					}
					if err != nil {
						errs[w] = fmt.Errorf("request %d: %w", i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("second %d: %v", sec, err)
		}
		if sec > 0 && use(t, s, prev[0], prev[1], prev[2], testTTL) {
			t.Fatalf("second %d: replay of %q fresh", sec, prev)
		}
		prev = [3]string{id, tsStrings[sec+skewSec+rngs[0].Int64N(2*skewSec)-(skewSec-1)], "replayed"}
		if !use(t, s, prev[0], prev[1], prev[2], testTTL) {
			t.Fatalf("second %d: new triple %q not fresh", sec, prev)
		}
		n := int64(s.Len())
		if n > bound {
			t.Fatalf("second %d: Len = %d, want ≤ %d", sec, n, bound)
		}
		maxLen = max(maxLen, n)
	}
	t.Logf("largest Len %d (bound %d, cap %d)", maxLen, bound, DefaultMaxNonceEntries)
}

func TestWindow(t *testing.T) {
	const s = int64(time.Second)
	tests := []struct {
		name           string
		nowNs, half    int64
		wantLo, wantHi int64
	}{
		{"on a second boundary includes both ends", 100 * s, 60 * s, 40, 160},
		{"inside a second excludes the past end", 100*s + 1, 60 * s, 41, 160},
		{"just before a second boundary", 101*s - 1, 60 * s, 41, 160},
		{"fractional half", 100*s + s/2, 60*s + s/2, 40, 161},
		{"half below a second", 100*s + s/4, s / 2, 100, 100},
		{"negative time", -100*s - s/2, 60 * s, -160, -41},
		{"zero half on a boundary", 5 * s, 0, 5, 5},
		{"zero half inside a second is empty", 5*s + 1, 0, 6, 5},
		{"huge half does not overflow", 1700000000 * s, math.MaxInt64, 1700000000 - 9223372036, 1700000000 + 9223372036},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := window(tt.nowNs, tt.half)
			if lo != tt.wantLo || hi != tt.wantHi {
				t.Errorf("window(%d, %d) = %d, %d; want %d, %d", tt.nowNs, tt.half, lo, hi, tt.wantLo, tt.wantHi)
			}
		})
	}
}
