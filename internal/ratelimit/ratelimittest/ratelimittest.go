// Package ratelimittest is the conformance suite of ratelimit.Limiter and
// ratelimit.LockStore implementations, so that the in-memory backends and
// the Redis ones behave the same way.
//
// Backends with an injectable clock run Run and RunLockout, which drive a
// FakeClock and expect exact results. Backends that read their own clock
// (the Redis limiter computes GCRA from Redis TIME) run RunWithClock and
// RunLockoutWithClock with a RealClock instead: Advance then sleeps, and
// every duration check allows the time the local clock saw pass plus the
// clock's Tolerance. Keys are prefixed with a random run id, so a shared
// Redis database needs no flushing between runs. A Redis test looks like:
//
//	func TestRedis(t *testing.T) {
//		rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("AIP_TEST_REDIS")})
//		clock := func(*testing.T) ratelimittest.Clock {
//			return ratelimittest.RealClock{Slack: 20 * time.Millisecond}
//		}
//		ratelimittest.RunWithClock(t, clock, func(t *testing.T, _ func() time.Time) ratelimit.Limiter {
//			return redislimit.NewLimiter(rdb, "test:")
//		})
//		ratelimittest.RunLockoutWithClock(t, clock, func(t *testing.T, _ func() time.Time) ratelimit.LockStore {
//			return redislimit.NewLockStore(rdb, "test:")
//		})
//	}
package ratelimittest

import (
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aipsec/aip/internal/ratelimit"
)

// Limits of the suite. Tests that only count requests use a long emission
// interval, so that the time a real backend takes between calls never earns
// a request back; tests that wait use a 100 ms one, so a real-clock run
// stays short.
var (
	// slow earns a request back every 6 s.
	slow = ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 5}
	// fast earns a request back every 100 ms.
	fast = ratelimit.Limit{Rate: 10, Period: time.Second, Burst: 3}
)

// emission is the GCRA emission interval of l.
func emission(l ratelimit.Limit) time.Duration { return l.Period / time.Duration(l.Rate) }

// start is when every FakeClock of the suite starts.
var start = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func fakeClock(*testing.T) Clock { return NewFakeClock(start) }

// Run runs the Limiter conformance suite on a FakeClock. newLimiter is
// called once per subtest and must return an empty limiter reading time
// from now.
func Run(t *testing.T, newLimiter func(t *testing.T, now func() time.Time) ratelimit.Limiter) {
	t.Helper()
	RunWithClock(t, fakeClock, newLimiter)
}

// RunWithClock runs the Limiter conformance suite on the clocks newClock
// returns (one per subtest). Use it with a RealClock for backends whose time
// cannot be faked; they may ignore the now passed to newLimiter.
func RunWithClock(t *testing.T, newClock func(t *testing.T) Clock, newLimiter func(t *testing.T, now func() time.Time) ratelimit.Limiter) {
	t.Helper()
	run := rand.Text()
	tests := []struct {
		name string
		fn   func(*limiterSuite)
	}{
		{"allows a burst then denies", testBurst},
		{"earns one request back per emission interval", testEmission},
		{"allows again after retry-after", testRetryAfter},
		{"refills the burst after reset-after", testResetAfter},
		{"keeps keys independent", testKeys},
		{"applies each key its own limit", testLimitsPerKey},
		{"allows exactly the burst to parallel requests", testConcurrent},
		{"rejects invalid limits", testInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock(t)
			tc.fn(&limiterSuite{t: t, clk: clk, lim: newLimiter(t, clk.Now), prefix: run + "/" + t.Name() + "/"})
		})
	}
}

type limiterSuite struct {
	t      *testing.T
	clk    Clock
	lim    ratelimit.Limiter
	prefix string
}

// allow charges one request to key, failing the test on error.
func (s *limiterSuite) allow(key string, l ratelimit.Limit) ratelimit.Result {
	s.t.Helper()
	res, err := s.lim.Allow(s.t.Context(), s.prefix+key, l)
	if err != nil {
		s.t.Fatalf("Allow(%q, %v): %v", key, l, err)
	}
	return res
}

// exhaust charges l.Burst requests to key, fails unless all are allowed,
// and returns the last result.
func (s *limiterSuite) exhaust(key string, l ratelimit.Limit) ratelimit.Result {
	s.t.Helper()
	var res ratelimit.Result
	for i := range l.Burst {
		res = s.allow(key, l)
		if res.Allowed != 1 {
			s.t.Fatalf("request %d of a burst of %d: got Allowed %d, want 1", i+1, l.Burst, res.Allowed)
		}
	}
	return res
}

// wantAllowed checks res is an allowed request leaving remaining requests
// and a full bucket after resetAfter, of which up to elapsed may have passed.
func wantAllowed(t *testing.T, clk Clock, what string, res ratelimit.Result, l ratelimit.Limit, remaining int, resetAfter, elapsed time.Duration) {
	t.Helper()
	if res.Allowed != 1 || res.Remaining != remaining || res.RetryAfter != -1 || res.Limit != l {
		t.Errorf("%s: got Allowed %d, Remaining %d, RetryAfter %v, Limit %v; want 1, %d, -1, %v",
			what, res.Allowed, res.Remaining, res.RetryAfter, res.Limit, remaining, l)
	}
	wantDuration(t, clk, what+": ResetAfter", res.ResetAfter, resetAfter, elapsed)
}

// wantDenied checks res is a denied request that may retry after
// retryAfter, of which up to elapsed may have passed.
func wantDenied(t *testing.T, clk Clock, what string, res ratelimit.Result, l ratelimit.Limit, retryAfter, elapsed time.Duration) {
	t.Helper()
	if res.Allowed != 0 || res.Remaining != 0 || res.Limit != l {
		t.Errorf("%s: got Allowed %d, Remaining %d, Limit %v; want 0, 0, %v", what, res.Allowed, res.Remaining, res.Limit, l)
	}
	wantDuration(t, clk, what+": RetryAfter", res.RetryAfter, retryAfter, elapsed)
	if res.ResetAfter < res.RetryAfter {
		t.Errorf("%s: ResetAfter %v is before RetryAfter %v", what, res.ResetAfter, res.RetryAfter)
	}
}

// wantDuration checks got is want less up to elapsed, give or take the
// clock's tolerance. On a FakeClock both are zero and got must equal want.
func wantDuration(t *testing.T, clk Clock, what string, got, want, elapsed time.Duration) {
	t.Helper()
	tol := clk.Tolerance()
	if got < want-elapsed-tol || got > want+tol {
		t.Errorf("%s = %v, want %v (less up to %v elapsed, ±%v)", what, got, want, elapsed, tol)
	}
}

func testBurst(s *limiterSuite) {
	e := emission(slow)
	t0 := s.clk.Now()
	for i := range slow.Burst {
		res := s.allow("k", slow)
		wantAllowed(s.t, s.clk, fmt.Sprintf("request %d", i+1), res, slow, slow.Burst-1-i, time.Duration(i+1)*e, s.clk.Now().Sub(t0))
	}
	for i := range 3 {
		res := s.allow("k", slow)
		wantDenied(s.t, s.clk, fmt.Sprintf("denial %d", i+1), res, slow, e, s.clk.Now().Sub(t0))
	}
}

func testEmission(s *limiterSuite) {
	e := emission(fast)
	t0 := s.clk.Now()
	s.exhaust("k", fast)
	for range 3 {
		if res := s.allow("k", fast); res.Allowed != 0 {
			s.t.Fatalf("request over the burst: got Allowed %d, want 0", res.Allowed)
		}
	}
	s.clk.Advance(e / 2)
	// Time that passed on top of the deliberate waits.
	extra := func() time.Duration { return s.clk.Now().Sub(t0) - e/2 }
	res := s.allow("k", fast)
	wantDenied(s.t, s.clk, "request half an interval later", res, fast, e-e/2, extra())
	s.clk.Advance(e - e/2)
	extra = func() time.Duration { return s.clk.Now().Sub(t0) - e }
	res = s.allow("k", fast)
	// The three denials must not have pushed the next request back.
	wantAllowed(s.t, s.clk, "request one interval later", res, fast, 0, time.Duration(fast.Burst)*e, extra())
	res = s.allow("k", fast)
	wantDenied(s.t, s.clk, "second request one interval later", res, fast, e, extra())
}

func testRetryAfter(s *limiterSuite) {
	s.exhaust("k", fast)
	denied := s.allow("k", fast)
	if denied.Allowed != 0 || denied.RetryAfter <= 0 {
		s.t.Fatalf("request over the burst: got Allowed %d, RetryAfter %v; want 0 and a positive wait", denied.Allowed, denied.RetryAfter)
	}
	s.clk.Advance(denied.RetryAfter)
	if res := s.allow("k", fast); res.Allowed != 1 {
		s.t.Errorf("request after waiting RetryAfter %v: got Allowed %d, want 1", denied.RetryAfter, res.Allowed)
	}
}

func testResetAfter(s *limiterSuite) {
	last := s.exhaust("k", fast)
	s.clk.Advance(last.ResetAfter)
	t0 := s.clk.Now()
	res := s.exhaust("k", fast)
	wantAllowed(s.t, s.clk, "last request of the refilled burst", res, fast, 0, time.Duration(fast.Burst)*emission(fast), s.clk.Now().Sub(t0))
	if res := s.allow("k", fast); res.Allowed != 0 {
		s.t.Errorf("request over the refilled burst: got Allowed %d, want 0", res.Allowed)
	}
}

func testKeys(s *limiterSuite) {
	s.exhaust("a", slow)
	t0 := s.clk.Now()
	res := s.allow("b", slow)
	wantAllowed(s.t, s.clk, "first request of another key", res, slow, slow.Burst-1, emission(slow), s.clk.Now().Sub(t0))
	if res := s.allow("a", slow); res.Allowed != 0 {
		s.t.Errorf("exhausted key after another key's request: got Allowed %d, want 0", res.Allowed)
	}
}

func testLimitsPerKey(s *limiterSuite) {
	la := ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 2}
	lb := ratelimit.Limit{Rate: 20, Period: time.Minute, Burst: 4}
	var gotA, gotB []int
	var lastA, lastB ratelimit.Result
	t0 := s.clk.Now()
	for range 6 {
		lastA = s.allow("a", la)
		lastB = s.allow("b", lb)
		gotA = append(gotA, lastA.Allowed)
		gotB = append(gotB, lastB.Allowed)
	}
	elapsed := s.clk.Now().Sub(t0)
	if want := []int{1, 1, 0, 0, 0, 0}; !slices.Equal(gotA, want) {
		s.t.Errorf("key under %v: got Allowed %v, want %v", la, gotA, want)
	}
	if want := []int{1, 1, 1, 1, 0, 0}; !slices.Equal(gotB, want) {
		s.t.Errorf("key under %v: got Allowed %v, want %v", lb, gotB, want)
	}
	wantDenied(s.t, s.clk, "key under "+la.String(), lastA, la, emission(la), elapsed)
	wantDenied(s.t, s.clk, "key under "+lb.String(), lastB, lb, emission(lb), elapsed)
}

func testConcurrent(s *limiterSuite) {
	l := ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 10}
	const n = 100
	results := make([]ratelimit.Result, n)
	errs := make([]error, n)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-ready
			results[i], errs[i] = s.lim.Allow(s.t.Context(), s.prefix+"k", l)
		})
	}
	close(ready)
	wg.Wait()
	var remaining []int
	for i, res := range results {
		if errs[i] != nil {
			s.t.Fatalf("Allow: %v", errs[i])
		}
		if res.Allowed == 1 {
			remaining = append(remaining, res.Remaining)
		}
	}
	slices.Sort(remaining)
	// Each allowed request must have seen its own state: Remaining 0..Burst-1 once each.
	want := make([]int, l.Burst)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(remaining, want) {
		s.t.Errorf("%d parallel requests under %v: got %d allowed with Remaining %v, want %d with %v", n, l, len(remaining), remaining, l.Burst, want)
	}
}

func testInvalid(s *limiterSuite) {
	tests := []struct {
		name string
		l    ratelimit.Limit
	}{
		{"zero limit", ratelimit.Limit{}},
		{"zero rate", ratelimit.Limit{Rate: 0, Period: time.Second, Burst: 1}},
		{"negative rate", ratelimit.Limit{Rate: -1, Period: time.Second, Burst: 1}},
		{"zero period", ratelimit.Limit{Rate: 1, Period: 0, Burst: 1}},
		{"negative period", ratelimit.Limit{Rate: 1, Period: -time.Second, Burst: 1}},
		{"zero burst", ratelimit.Limit{Rate: 1, Period: time.Second, Burst: 0}},
		{"rate above one per nanosecond", ratelimit.Limit{Rate: 10, Period: 5, Burst: 1}},
	}
	for _, tc := range tests {
		s.t.Run("rejects "+tc.name, func(t *testing.T) {
			res, err := s.lim.Allow(t.Context(), s.prefix+tc.name, tc.l)
			if err == nil {
				t.Errorf("Allow under %v: got %+v, want an error", tc.l, res)
			}
		})
	}
}
