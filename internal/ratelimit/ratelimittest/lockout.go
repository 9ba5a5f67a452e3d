package ratelimittest

import (
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/aipsec/aip/internal/ratelimit"
)

// lockFor is the lockout duration of the suite: longer than an emission
// interval of fast, so a locked key is seen refused when the limiter alone
// would allow it, and short enough for a real-clock run.
const lockFor = 400 * time.Millisecond

// RunLockout runs the LockStore conformance suite on a FakeClock, including
// a ratelimit.Lockout built on the store and a ratelimit.Memory limiter.
// newLocks is called once per subtest and must return an empty store
// reading time from now.
func RunLockout(t *testing.T, newLocks func(t *testing.T, now func() time.Time) ratelimit.LockStore) {
	t.Helper()
	RunLockoutWithClock(t, fakeClock, newLocks)
}

// RunLockoutWithClock runs the LockStore conformance suite on the clocks
// newClock returns (one per subtest); see RunWithClock.
func RunLockoutWithClock(t *testing.T, newClock func(t *testing.T) Clock, newLocks func(t *testing.T, now func() time.Time) ratelimit.LockStore) {
	t.Helper()
	run := rand.Text()
	tests := []struct {
		name string
		fn   func(*lockSuite)
	}{
		{"reports an unknown key unlocked", testUnlocked},
		{"reports the end of a lock", testLockedUntil},
		{"unlocks when the lock ends", testLockEnds},
		{"never shortens a lock", testNoShorten},
		{"keeps lock keys independent", testLockKeys},
		{"locks a key out after its first denial", testLockout},
		{"locks out for at least the limiter's retry-after", testLockoutAtLeastRetry},
		{"leaves other keys alone during a lockout", testLockoutKeys},
		{"allows exactly the burst to parallel requests through a lockout", testLockoutConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock(t)
			store := newLocks(t, clk.Now)
			tc.fn(&lockSuite{
				t:      t,
				clk:    clk,
				store:  store,
				lo:     &ratelimit.Lockout{Limiter: ratelimit.NewMemory(clk.Now), Locks: store, Duration: lockFor, Now: clk.Now},
				prefix: run + "/" + t.Name() + "/",
			})
		})
	}
}

type lockSuite struct {
	t      *testing.T
	clk    Clock
	store  ratelimit.LockStore
	lo     *ratelimit.Lockout
	prefix string
}

func (s *lockSuite) lockedUntil(key string) time.Time {
	s.t.Helper()
	until, err := s.store.LockedUntil(s.t.Context(), s.prefix+key)
	if err != nil {
		s.t.Fatalf("LockedUntil(%q): %v", key, err)
	}
	return until
}

func (s *lockSuite) lock(key string, until time.Time) {
	s.t.Helper()
	if err := s.store.Lock(s.t.Context(), s.prefix+key, until); err != nil {
		s.t.Fatalf("Lock(%q, %v): %v", key, until, err)
	}
}

// wantUnlocked fails unless key's lock, if any, is over.
func (s *lockSuite) wantUnlocked(what, key string) {
	s.t.Helper()
	now := s.clk.Now()
	if until := s.lockedUntil(key); until.After(now) {
		s.t.Errorf("%s: locked until %v, %v after now; want unlocked", what, until, until.Sub(now))
	}
}

// wantLockedUntil fails unless key is locked until want, give or take the
// clock's tolerance.
func (s *lockSuite) wantLockedUntil(what, key string, want time.Time) {
	s.t.Helper()
	got := s.lockedUntil(key)
	if d := got.Sub(want).Abs(); d > s.clk.Tolerance() {
		s.t.Errorf("%s: locked until %v, want %v (±%v)", what, got, want, s.clk.Tolerance())
	}
}

func (s *lockSuite) allow(key string, l ratelimit.Limit) ratelimit.Result {
	s.t.Helper()
	res, err := s.lo.Allow(s.t.Context(), s.prefix+key, l)
	if err != nil {
		s.t.Fatalf("Lockout.Allow(%q, %v): %v", key, l, err)
	}
	return res
}

func testUnlocked(s *lockSuite) {
	s.wantUnlocked("key never locked", "k")
}

func testLockedUntil(s *lockSuite) {
	until := s.clk.Now().Add(time.Minute)
	s.lock("k", until)
	s.wantLockedUntil("key locked for a minute", "k", until)
}

func testLockEnds(s *lockSuite) {
	s.lock("k", s.clk.Now().Add(200*time.Millisecond))
	s.clk.Advance(200 * time.Millisecond)
	s.wantUnlocked("key whose lock ended", "k")
}

func testNoShorten(s *lockSuite) {
	now := s.clk.Now()
	s.lock("k", now.Add(time.Minute))
	s.lock("k", now.Add(time.Second))
	s.wantLockedUntil("key locked for a minute then for a second", "k", now.Add(time.Minute))
}

func testLockKeys(s *lockSuite) {
	s.lock("a", s.clk.Now().Add(time.Minute))
	s.wantUnlocked("key next to a locked one", "b")
}

func testLockout(s *lockSuite) {
	e := emission(fast)
	t0 := s.clk.Now()
	for i := range fast.Burst {
		if res := s.allow("k", fast); res.Allowed != 1 {
			s.t.Fatalf("request %d of the burst: got Allowed %d, want 1", i+1, res.Allowed)
		}
	}
	res := s.allow("k", fast)
	wantLocked(s.t, s.clk, "denial starting the lockout", res, fast, lockFor, s.clk.Now().Sub(t0))
	// One emission interval later the limiter alone would allow a request.
	s.clk.Advance(e)
	extra := func() time.Duration { return s.clk.Now().Sub(t0) - e }
	res = s.allow("k", fast)
	wantLocked(s.t, s.clk, "request during the lockout", res, fast, lockFor-e, extra())
	s.clk.Advance(res.RetryAfter)
	res = s.allow("k", fast)
	if res.Allowed != 1 || res.Remaining != fast.Burst-1 {
		s.t.Errorf("request after the lockout: got Allowed %d, Remaining %d; want 1, %d", res.Allowed, res.Remaining, fast.Burst-1)
	}
}

// wantLocked checks res is a refusal by a lockout with left to run, of
// which up to elapsed may have passed.
func wantLocked(t *testing.T, clk Clock, what string, res ratelimit.Result, l ratelimit.Limit, left, elapsed time.Duration) {
	t.Helper()
	if res.Allowed != 0 || res.Remaining != 0 || res.Limit != l || res.ResetAfter != res.RetryAfter {
		t.Errorf("%s: got Allowed %d, Remaining %d, Limit %v, ResetAfter %v; want 0, 0, %v and ResetAfter = RetryAfter %v",
			what, res.Allowed, res.Remaining, res.Limit, res.ResetAfter, l, res.RetryAfter)
	}
	wantDuration(t, clk, what+": RetryAfter", res.RetryAfter, left, elapsed)
}

func testLockoutAtLeastRetry(s *lockSuite) {
	l := ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 1}
	t0 := s.clk.Now()
	if res := s.allow("k", l); res.Allowed != 1 {
		s.t.Fatalf("first request: got Allowed %d, want 1", res.Allowed)
	}
	res := s.allow("k", l)
	wantLocked(s.t, s.clk, "denial under a limit slower than the lockout", res, l, time.Minute, s.clk.Now().Sub(t0))
	s.wantLockedUntil("key denied under a limit slower than the lockout", "k", t0.Add(time.Minute))
}

func testLockoutKeys(s *lockSuite) {
	for range fast.Burst + 1 {
		s.allow("a", fast)
	}
	if res := s.allow("b", fast); res.Allowed != 1 || res.Remaining != fast.Burst-1 {
		s.t.Errorf("key next to a locked-out one: got Allowed %d, Remaining %d; want 1, %d", res.Allowed, res.Remaining, fast.Burst-1)
	}
}

func testLockoutConcurrent(s *lockSuite) {
	l := ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 10}
	const n = 100
	allowed := make([]int, n)
	errs := make([]error, n)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-ready
			res, err := s.lo.Allow(s.t.Context(), s.prefix+"k", l)
			allowed[i], errs[i] = res.Allowed, err
		})
	}
	close(ready)
	wg.Wait()
	total := 0
	for i, a := range allowed {
		if errs[i] != nil {
			s.t.Fatalf("Lockout.Allow: %v", errs[i])
		}
		total += a
	}
	if total != l.Burst {
		s.t.Errorf("%d parallel requests under %v: got %d allowed, want %d", n, l, total, l.Burst)
	}
	if res := s.allow("k", l); res.Allowed != 0 || res.RetryAfter <= 0 {
		s.t.Errorf("request after the parallel ones: got Allowed %d, RetryAfter %v; want 0 and a positive wait", res.Allowed, res.RetryAfter)
	}
}
