package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip/internal/ratelimit"
	"github.com/aipsec/aip/internal/ratelimit/ratelimittest"
)

// TestLockoutConformance runs the Limiter suite through a Lockout whose
// lock is shorter than any emission interval: it must then behave exactly
// like the limiter it wraps, with every refusal after the first answered
// from the lock store.
func TestLockoutConformance(t *testing.T) {
	ratelimittest.Run(t, func(_ *testing.T, now func() time.Time) ratelimit.Limiter {
		return &ratelimit.Lockout{
			Limiter:  ratelimit.NewMemory(now),
			Locks:    ratelimit.NewMemoryLockStore(now),
			Duration: time.Nanosecond,
			Now:      now,
		}
	})
}

// TestLockoutPerIPRule plays the per-IP rule of DECISIONS.md: 1000 requests
// a minute, then 15 minutes of refusals.
func TestLockoutPerIPRule(t *testing.T) {
	clk := ratelimittest.NewFakeClock(epoch)
	lo := &ratelimit.Lockout{
		Limiter:  ratelimit.NewMemory(clk.Now),
		Locks:    ratelimit.NewMemoryLockStore(clk.Now),
		Duration: 15 * time.Minute,
		Now:      clk.Now,
	}
	l := ratelimit.PerMinute(1000)
	allow := func() ratelimit.Result {
		t.Helper()
		res, err := lo.Allow(t.Context(), "192.0.2.1", l)
		if err != nil {
			t.Fatalf("Allow: %v", err)
		}
		return res
	}
	for i := range 1000 {
		if res := allow(); res.Allowed != 1 {
			t.Fatalf("request %d of 1000: got Allowed 0, want 1", i+1)
		}
	}
	locked := func(left time.Duration) ratelimit.Result {
		return ratelimit.Result{Limit: l, RetryAfter: left, ResetAfter: left}
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    ratelimit.Result
	}{
		{"refuses request 1001 for 15 minutes", 0, locked(15 * time.Minute)},
		{"refuses once the minute's requests are earned back", time.Minute, locked(14 * time.Minute)},
		{"refuses until the last millisecond", 14*time.Minute - time.Millisecond, locked(time.Millisecond)},
		{"allows a full burst when the lockout ends", time.Millisecond, ratelimit.Result{Limit: l, Allowed: 1, Remaining: 999, RetryAfter: -1, ResetAfter: 60 * time.Millisecond}},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if diff := cmp.Diff(s.want, allow()); diff != "" {
			t.Errorf("%s: result mismatch (-want +got):\n%s", s.name, diff)
		}
	}
}

// stubLimiter and stubLocks fail on demand.
type stubLimiter struct {
	res ratelimit.Result
	err error
}

func (s stubLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	return s.res, s.err
}

type stubLocks struct {
	until             time.Time
	readErr, writeErr error
}

func (s stubLocks) LockedUntil(context.Context, string) (time.Time, error) { return s.until, s.readErr }
func (s stubLocks) Lock(context.Context, string, time.Time) error          { return s.writeErr }

func TestLockoutErrors(t *testing.T) {
	errBackend := errors.New("backend down")
	denied := ratelimit.Result{RetryAfter: time.Second, ResetAfter: time.Second}
	tests := []struct {
		name    string
		lo      *ratelimit.Lockout
		l       ratelimit.Limit
		wantErr error
	}{
		{"fails without a limiter", &ratelimit.Lockout{Locks: stubLocks{}}, ratelimit.PerMinute(1), nil},
		{"fails without a lock store", &ratelimit.Lockout{Limiter: stubLimiter{}}, ratelimit.PerMinute(1), nil},
		{"rejects an invalid limit", &ratelimit.Lockout{Limiter: stubLimiter{}, Locks: stubLocks{}}, ratelimit.Limit{}, nil},
		{"reports a failed lock read", &ratelimit.Lockout{Limiter: stubLimiter{}, Locks: stubLocks{readErr: errBackend}}, ratelimit.PerMinute(1), errBackend},
		{"reports a failed limiter", &ratelimit.Lockout{Limiter: stubLimiter{err: errBackend}, Locks: stubLocks{}}, ratelimit.PerMinute(1), errBackend},
		{"reports a failed lock write", &ratelimit.Lockout{Limiter: stubLimiter{res: denied}, Locks: stubLocks{writeErr: errBackend}}, ratelimit.PerMinute(1), errBackend},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.lo.Allow(t.Context(), "k", tc.l)
			if err == nil {
				t.Fatalf("Allow: got %+v, want an error", res)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Allow error = %v, want it to wrap %v", err, tc.wantErr)
			}
		})
	}
}

func TestLockoutDefaultsToWallClock(t *testing.T) {
	lo := &ratelimit.Lockout{
		Limiter: stubLimiter{res: ratelimit.Result{Allowed: 1}},
		Locks:   stubLocks{until: time.Now().Add(time.Hour)},
	}
	res, err := lo.Allow(t.Context(), "k", ratelimit.PerMinute(1))
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	if res.Allowed != 0 || res.RetryAfter <= 59*time.Minute {
		t.Errorf("key locked for an hour: got Allowed %d, RetryAfter %v; want 0 and about an hour", res.Allowed, res.RetryAfter)
	}
}
