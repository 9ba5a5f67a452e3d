package hawk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for MemoryNonceStore.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newTestStore(max int) (*MemoryNonceStore, *fakeClock) {
	c := &fakeClock{}
	c.ns.Store(time.Unix(1700000000, 0).UnixNano())
	s := NewMemoryNonceStore(max)
	s.now = c.now
	return s, c
}

// use calls Use and fails the test on error.
func use(t *testing.T, s *MemoryNonceStore, id, ts, nonce string, ttl time.Duration) bool {
	t.Helper()
	fresh, err := s.Use(context.Background(), id, ts, nonce, ttl)
	if err != nil {
		t.Fatalf("Use(%q, %q, %q): %v", id, ts, nonce, err)
	}
	return fresh
}

func TestMemoryNonceStore(t *testing.T) {
	const ttl = 2 * time.Minute

	t.Run("accepts a new triple and rejects its replay", func(t *testing.T) {
		s, _ := newTestStore(0)
		if !use(t, s, "id", "1", "n", ttl) {
			t.Fatal("first use not fresh")
		}
		if use(t, s, "id", "1", "n", ttl) {
			t.Error("replay reported fresh")
		}
	})

	t.Run("keys on id ts and nonce together", func(t *testing.T) {
		s, _ := newTestStore(0)
		use(t, s, "id", "1", "n", ttl)
		for _, tr := range [][3]string{{"id2", "1", "n"}, {"id", "2", "n"}, {"id", "1", "m"}, {"id\x001", "", "n"}} {
			if !use(t, s, tr[0], tr[1], tr[2], ttl) {
				t.Errorf("triple %q not fresh", tr)
			}
		}
	})

	t.Run("remembers a triple for the whole ttl", func(t *testing.T) {
		s, c := newTestStore(0)
		use(t, s, "id", "1", "n", ttl)
		for i := 0; i < 4; i++ {
			c.advance(ttl/4 - time.Nanosecond)
			other := fmt.Sprint("other", i) // forces rotations in between
			use(t, s, "id", "1", other, ttl)
			if use(t, s, "id", "1", "n", ttl) {
				t.Fatalf("replay fresh %d quarters later", i+1)
			}
		}
	})

	t.Run("forgets a triple after the ttl", func(t *testing.T) {
		s, c := newTestStore(0)
		use(t, s, "id", "1", "n", ttl)
		c.advance(ttl)
		if !use(t, s, "id", "1", "n", ttl) {
			t.Error("triple still remembered after ttl")
		}
	})

	t.Run("drops old generations", func(t *testing.T) {
		s, c := newTestStore(0)
		for i := 0; i < 10; i++ {
			use(t, s, "id", "1", fmt.Sprint(i), ttl)
		}
		c.advance(ttl)
		use(t, s, "id", "2", "a", ttl) // rotation: the ten move to the old generation
		if got := s.Len(); got != 11 {
			t.Errorf("Len after one ttl = %d, want 11", got)
		}
		c.advance(ttl)
		use(t, s, "id", "3", "a", ttl) // rotation: the ten are dropped
		if got := s.Len(); got != 2 {
			t.Errorf("Len after two ttl = %d, want 2", got)
		}
		c.advance(3 * ttl)
		use(t, s, "id", "4", "a", ttl) // long idle: everything dropped
		if got := s.Len(); got != 1 {
			t.Errorf("Len after idle = %d, want 1", got)
		}
	})

	t.Run("refuses new triples when full", func(t *testing.T) {
		s, c := newTestStore(2)
		use(t, s, "id", "1", "a", ttl)
		use(t, s, "id", "1", "b", ttl)
		fresh, err := s.Use(context.Background(), "id", "1", "c", ttl)
		if !errors.Is(err, ErrNonceStoreFull) || fresh {
			t.Fatalf("Use when full = %v, %v; want false, ErrNonceStoreFull", fresh, err)
		}
		if use(t, s, "id", "1", "a", ttl) {
			t.Error("replay reported fresh while full")
		}
		c.advance(2 * ttl)
		if !use(t, s, "id", "1", "c", ttl) {
			t.Error("not fresh once the old triples expired")
		}
	})

	t.Run("rejects a non-positive ttl", func(t *testing.T) {
		s, _ := newTestStore(0)
		if _, err := s.Use(context.Background(), "id", "1", "n", 0); err == nil {
			t.Error("Use with ttl 0 succeeded")
		}
	})

	t.Run("admits each triple once under concurrency", func(t *testing.T) {
		s, c := newTestStore(0)
		const workers, triples = 8, 200
		var freshCount atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < triples; i++ {
					fresh, err := s.Use(context.Background(), "id", "1", fmt.Sprint(i), ttl)
					if err != nil {
						t.Error(err)
						return
					}
					if fresh {
						freshCount.Add(1)
					}
					c.advance(time.Microsecond)
				}
			}()
		}
		wg.Wait()
		if got := freshCount.Load(); got != triples {
			t.Errorf("fresh uses = %d, want %d", got, triples)
		}
	})
}
