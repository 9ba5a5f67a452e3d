package ratelimit_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip/internal/ratelimit"
	"github.com/aipsec/aip/internal/ratelimit/ratelimittest"
)

var epoch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func newMemory(_ *testing.T, now func() time.Time) ratelimit.Limiter { return ratelimit.NewMemory(now) }

func newMemoryLocks(_ *testing.T, now func() time.Time) ratelimit.LockStore {
	return ratelimit.NewMemoryLockStore(now)
}

func realClock(*testing.T) ratelimittest.Clock {
	return ratelimittest.RealClock{Slack: 20 * time.Millisecond}
}

func TestMemoryConformance(t *testing.T) {
	ratelimittest.Run(t, newMemory)
}

// TestMemoryConformanceRealClock runs the suite the way the Redis backend
// will, to keep the real-clock mode of the suite itself working.
func TestMemoryConformanceRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps about a second")
	}
	ratelimittest.RunWithClock(t, realClock, newMemory)
}

func TestMemoryLockStoreConformance(t *testing.T) {
	ratelimittest.RunLockout(t, newMemoryLocks)
}

func TestMemoryLockStoreConformanceRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps about a second")
	}
	ratelimittest.RunLockoutWithClock(t, realClock, newMemoryLocks)
}

// TestMemoryMatchesRedisRate replays GCRA step by step with the numbers
// redis_rate's own tests and Lua script give, so that Memory and the Redis
// backend agree to the nanosecond on a frozen clock.
func TestMemoryMatchesRedisRate(t *testing.T) {
	l := ratelimit.PerSecond(10)
	allowed := func(remaining int, resetAfter time.Duration) ratelimit.Result {
		return ratelimit.Result{Limit: l, Allowed: 1, Remaining: remaining, RetryAfter: -1, ResetAfter: resetAfter}
	}
	denied := func(retryAfter, resetAfter time.Duration) ratelimit.Result {
		return ratelimit.Result{Limit: l, RetryAfter: retryAfter, ResetAfter: resetAfter}
	}
	ms := time.Millisecond
	type step struct {
		advance time.Duration
		want    ratelimit.Result
	}
	steps := []step{
		{0, allowed(9, 100*ms)},
		{0, allowed(8, 200*ms)},
	}
	for i := 3; i <= 10; i++ {
		steps = append(steps, step{0, allowed(10-i, time.Duration(i)*100*ms)})
	}
	steps = append(steps,
		step{0, denied(100*ms, time.Second)},
		step{0, denied(100*ms, time.Second)}, // a denial leaves the state alone
		step{40 * ms, denied(60*ms, 960*ms)},
		step{210 * ms, allowed(1, 850*ms)}, // 250 ms in: two requests earned back, half of a third
		step{0, allowed(0, 950*ms)},
		step{0, denied(50*ms, 950*ms)},
		step{50 * ms, allowed(0, time.Second)},
		step{10 * time.Second, allowed(9, 100*ms)}, // long idle: a fresh full burst, not more
	)
	clk := ratelimittest.NewFakeClock(epoch)
	m := ratelimit.NewMemory(clk.Now)
	for i, s := range steps {
		clk.Advance(s.advance)
		got, err := m.Allow(t.Context(), "k", l)
		if err != nil {
			t.Fatalf("step %d: Allow: %v", i, err)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("step %d (after %v): result mismatch (-want +got):\n%s", i, s.advance, diff)
		}
	}
}

func TestMemorySweep(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{"keeps keys still short of a full burst", 999 * time.Millisecond, 100},
		{"forgets keys back to a full burst", time.Second, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := ratelimittest.NewFakeClock(epoch)
			m := ratelimit.NewMemory(clk.Now)
			for i := range 100 {
				if _, err := m.Allow(t.Context(), fmt.Sprint("key", i), ratelimit.PerSecond(1)); err != nil {
					t.Fatalf("Allow: %v", err)
				}
			}
			if got := m.Len(); got != 100 {
				t.Fatalf("Len() after 100 keys = %d, want 100", got)
			}
			clk.Advance(tc.advance)
			m.Sweep()
			if got := m.Len(); got != tc.want {
				t.Errorf("Len() after Sweep = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestMemoryForgetsDeniedKeysNever(t *testing.T) {
	clk := ratelimittest.NewFakeClock(epoch)
	m := ratelimit.NewMemory(clk.Now)
	l := ratelimit.Limit{Rate: 1, Period: time.Second, Burst: 1}
	for range 2 {
		if _, err := m.Allow(t.Context(), "k", l); err != nil {
			t.Fatalf("Allow: %v", err)
		}
	}
	m.Sweep()
	res, err := m.Allow(t.Context(), "k", l)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	if res.Allowed != 0 {
		t.Errorf("limited key after Sweep: got Allowed %d, want 0", res.Allowed)
	}
}

func TestMemoryLockStoreSweep(t *testing.T) {
	clk := ratelimittest.NewFakeClock(epoch)
	s := ratelimit.NewMemoryLockStore(clk.Now)
	for i := range 100 {
		d := time.Minute
		if i%2 == 0 {
			d = time.Second
		}
		if err := s.Lock(t.Context(), fmt.Sprint("ip", i), clk.Now().Add(d)); err != nil {
			t.Fatalf("Lock: %v", err)
		}
	}
	clk.Advance(time.Second)
	s.Sweep()
	if got := s.Len(); got != 50 {
		t.Errorf("Len() after the short locks ended = %d, want 50", got)
	}
}

func TestMemoryLockStoreIgnoresEndedLocks(t *testing.T) {
	tests := []struct {
		name  string
		until time.Time
	}{
		{"ignores a lock ending now", epoch},
		{"ignores a lock in the past", epoch.Add(-time.Hour)},
		{"ignores the zero time", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ratelimit.NewMemoryLockStore(ratelimittest.NewFakeClock(epoch).Now)
			if err := s.Lock(t.Context(), "k", tc.until); err != nil {
				t.Fatalf("Lock: %v", err)
			}
			if got := s.Len(); got != 0 {
				t.Errorf("Len() = %d, want 0", got)
			}
		})
	}
}

func TestMemoryLockStoreFarFuture(t *testing.T) {
	s := ratelimit.NewMemoryLockStore(ratelimittest.NewFakeClock(epoch).Now)
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Lock(t.Context(), "k", far); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	got, err := s.LockedUntil(t.Context(), "k")
	if err != nil {
		t.Fatalf("LockedUntil: %v", err)
	}
	if !got.After(epoch.AddDate(200, 0, 0)) {
		t.Errorf("LockedUntil after locking until %v = %v, want a time centuries ahead", far, got)
	}
}

// FuzzMemoryAllow checks GCRA's invariants for any limit and any pattern of
// request times: no panic, consistent fields, and never more requests than
// the burst plus one per emission interval elapsed.
func FuzzMemoryAllow(f *testing.F) {
	f.Add(200, int64(time.Minute), 200, []byte{0, 0, 0, 1, 2, 255})
	f.Add(10, int64(time.Second), 3, []byte{0, 0, 0, 0, 8, 0, 0, 4, 4})
	f.Add(1, int64(1), 1, []byte{1, 1, 1})
	f.Add(0, int64(time.Second), 1, []byte{0})
	f.Add(3, int64(10), 7, []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 200})
	f.Add(1000, int64(time.Minute), 1, []byte{})
	f.Fuzz(func(t *testing.T, rate int, period int64, burst int, steps []byte) {
		l := ratelimit.Limit{Rate: rate, Period: time.Duration(period), Burst: burst}
		clk := ratelimittest.NewFakeClock(epoch)
		m := ratelimit.NewMemory(clk.Now)
		res, err := m.Allow(t.Context(), "k", l)
		if gotErr, wantErr := err != nil, l.Validate() != nil; gotErr != wantErr {
			t.Fatalf("Allow(%v) error = %v, want error: %t", l, err, wantErr)
		}
		// Keep the clock within a few centuries of its start: beyond that
		// time.Duration, and any server, overflows.
		if err != nil || l.Period > 24*time.Hour || l.Burst > 1e6 || len(steps) > 1000 {
			return
		}
		e := l.Period / time.Duration(l.Rate)
		var elapsed time.Duration
		allowed := 0
		for i := 0; ; i++ {
			if res.Allowed == 1 {
				allowed++
				if res.RetryAfter != -1 || res.Remaining < 0 || res.Remaining >= l.Burst || res.ResetAfter <= 0 || res.ResetAfter > time.Duration(l.Burst)*e {
					t.Fatalf("request %d under %v: inconsistent allowed result %+v", i, l, res)
				}
			} else if res.Allowed != 0 || res.Remaining != 0 || res.RetryAfter <= 0 || res.RetryAfter > e || res.ResetAfter < res.RetryAfter {
				t.Fatalf("request %d under %v: inconsistent denied result %+v", i, l, res)
			}
			if max := l.Burst + int(elapsed/e); allowed > max {
				t.Fatalf("under %v: %d requests allowed within %v, want at most %d", l, allowed, elapsed, max)
			}
			if i == len(steps) {
				return
			}
			d := time.Duration(steps[i]) * (e/8 + 1)
			clk.Advance(d)
			elapsed += d
			if res, err = m.Allow(t.Context(), "k", l); err != nil {
				t.Fatalf("Allow: %v", err)
			}
		}
	})
}

func BenchmarkMemoryAllow(b *testing.B) {
	// Bursts so large no request is denied: the hot path of a key being
	// charged. With one key, an emission interval of 1 ns has the key back
	// to full at each call, the state of a lightly used key. With many keys,
	// an interval of a minute keeps every key limited for the whole run, so
	// none is swept and charged again as a new key.
	single := ratelimit.Limit{Rate: 1e9, Period: time.Second, Burst: 1e9}
	many := ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 1e6}
	b.Run("single key", func(b *testing.B) {
		benchSerial(b, ratelimit.NewMemory(nil), single)
	})
	b.Run("single key frozen clock", func(b *testing.B) {
		// Without time.Now, which costs more than the limiter on some VMs.
		benchSerial(b, ratelimit.NewMemory(func() time.Time { return epoch }), single)
	})
	b.Run("single key parallel", func(b *testing.B) {
		benchParallel(b, []string{"org"}, single)
	})
	// 4096 keys stay in the CPU caches; 65536 mostly do not, so each call
	// then waits on memory.
	for _, n := range []int{1 << 12, 1 << 16} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("203.0.113.%d:%d", i%256, i)
		}
		b.Run(fmt.Sprintf("%d keys parallel", n), func(b *testing.B) {
			benchParallel(b, keys, many)
		})
	}
}

func benchSerial(b *testing.B, m *ratelimit.Memory, l ratelimit.Limit) {
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Allow(ctx, "org", l); err != nil {
			b.Fatal(err)
		}
	}
}

// benchParallel charges keys (a power of two of them) from every
// goroutine, each starting at a random one.
func benchParallel(b *testing.B, keys []string, l ratelimit.Limit) {
	m := ratelimit.NewMemory(nil)
	ctx := b.Context()
	for _, k := range keys {
		if _, err := m.Allow(ctx, k, l); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(keys))
		for pb.Next() {
			if _, err := m.Allow(ctx, keys[i&(len(keys)-1)], l); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkLockoutAllow(b *testing.B) {
	l := ratelimit.Limit{Rate: 1000, Period: time.Second, Burst: 1e9}
	lo := &ratelimit.Lockout{
		Limiter:  ratelimit.NewMemory(nil),
		Locks:    ratelimit.NewMemoryLockStore(nil),
		Duration: 15 * time.Minute,
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		key := fmt.Sprintf("198.51.100.%d", rand.IntN(256))
		for pb.Next() {
			if _, err := lo.Allow(ctx, key, l); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
