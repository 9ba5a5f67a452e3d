package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

// TestMemoryBoundedWithoutSweep checks that a stream of one-off keys, each
// back to a full burst before the next arrives, never piles up: inserts
// sweep their shard as it grows.
func TestMemoryBoundedWithoutSweep(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	m := NewMemory(func() time.Time { return now })
	const n = 100_000
	limit := numShards * minSweepLen
	for i := range n {
		if _, err := m.Allow(t.Context(), strconv.Itoa(i), PerSecond(1)); err != nil {
			t.Fatalf("Allow: %v", err)
		}
		now = now.Add(time.Second)
	}
	if got := m.Len(); got > limit {
		t.Errorf("Len() after %d one-off keys = %d, want at most %d", n, got, limit)
	}
}

// TestMemoryLockStoreBoundedWithoutSweep is the same for locks.
func TestMemoryLockStoreBoundedWithoutSweep(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	s := NewMemoryLockStore(func() time.Time { return now })
	const n = 100_000
	limit := numShards * minSweepLen
	for i := range n {
		if err := s.Lock(t.Context(), strconv.Itoa(i), now.Add(time.Second)); err != nil {
			t.Fatalf("Lock: %v", err)
		}
		now = now.Add(time.Second)
	}
	if got := s.Len(); got > limit {
		t.Errorf("Len() after %d one-off locks = %d, want at most %d", n, got, limit)
	}
}

// TestMemoryKeepsLiveKeys checks that growth sweeps never drop a key that is
// still limited.
func TestMemoryKeepsLiveKeys(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	m := NewMemory(func() time.Time { return now })
	l := Limit{Rate: 1, Period: time.Hour, Burst: 1}
	const n = 20_000 // enough to make every shard sweep several times
	for i := range n {
		if _, err := m.Allow(t.Context(), strconv.Itoa(i), l); err != nil {
			t.Fatalf("Allow: %v", err)
		}
		now = now.Add(time.Millisecond)
	}
	if got := m.Len(); got != n {
		t.Errorf("Len() with %d limited keys = %d, want %d", n, got, n)
	}
	for i := range n {
		res, err := m.Allow(t.Context(), strconv.Itoa(i), l)
		if err != nil {
			t.Fatalf("Allow: %v", err)
		}
		if res.Allowed != 0 {
			t.Fatalf("key %d, still limited: got Allowed 1, want 0", i)
		}
	}
}
