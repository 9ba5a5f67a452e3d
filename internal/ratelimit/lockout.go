package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Lockout wraps a Limiter for the per-IP rule of DECISIONS.md: once a key is
// denied, every request for it is denied until Duration has passed (1000
// requests a minute per IP, then 15 minutes of 429s). Requests refused
// during a lockout are not charged to the Limiter.
//
// The lock lasts max(Duration, the Limiter's RetryAfter), so a Lockout never
// lets a request through earlier than its Limiter would; with a Duration
// shorter than the emission interval it behaves exactly like the Limiter.
type Lockout struct {
	// Limiter decides when a key is over its limit.
	Limiter Limiter
	// Locks holds the lockout state; share it between servers to share
	// lockouts.
	Locks LockStore
	// Duration is how long a key stays locked out after its first denial.
	Duration time.Duration
	// Now is the clock lock times are computed with; nil means time.Now.
	Now func() time.Time
}

// Allow charges one request to key under lim unless key is locked out.
// During a lockout the result has Allowed 0, Remaining 0 and RetryAfter =
// ResetAfter = the time left in the lockout; the denial that starts a
// lockout reports the full lock.
func (l *Lockout) Allow(ctx context.Context, key string, lim Limit) (Result, error) {
	if l.Limiter == nil || l.Locks == nil {
		return Result{}, errors.New("ratelimit: lockout needs a Limiter and a LockStore")
	}
	if err := lim.Validate(); err != nil {
		return Result{}, fmt.Errorf("ratelimit: %w", err)
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	t := now()
	until, err := l.Locks.LockedUntil(ctx, key)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: read lockout: %w", err)
	}
	if t.Before(until) {
		return locked(lim, until.Sub(t)), nil
	}
	res, err := l.Limiter.Allow(ctx, key, lim)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: lockout limiter: %w", err)
	}
	if res.Allowed > 0 {
		return res, nil
	}
	d := max(l.Duration, res.RetryAfter)
	if err := l.Locks.Lock(ctx, key, t.Add(d)); err != nil {
		return Result{}, fmt.Errorf("ratelimit: lock out: %w", err)
	}
	return locked(lim, d), nil
}

// locked is the result of a request refused by a lockout with left to run.
func locked(lim Limit, left time.Duration) Result {
	return Result{Limit: lim, Allowed: 0, Remaining: 0, RetryAfter: left, ResetAfter: left}
}
