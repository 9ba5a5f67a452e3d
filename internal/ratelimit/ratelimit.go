// Package ratelimit implements the request limits of DECISIONS.md: a GCRA
// limiter per key (organization or client IP) and a lockout wrapper for the
// per-IP rule.
//
// The types mirror github.com/go-redis/redis_rate (Limit, Result and the GCRA
// arithmetic) so that a Redis-backed Limiter is a thin adapter around it and
// passes the same conformance suite (package ratelimittest) as Memory.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Limit allows Rate requests per Period, with bursts of up to Burst requests.
// Under GCRA one request is earned back every Period/Rate (the emission
// interval) and at most Burst of them can be saved up.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// PerSecond returns a limit of n requests a second with a burst of n.
func PerSecond(n int) Limit { return Limit{Rate: n, Period: time.Second, Burst: n} }

// PerMinute returns a limit of n requests a minute with a burst of n, the
// shape of both limits in DECISIONS.md (200/min per org, 1000/min per IP).
func PerMinute(n int) Limit { return Limit{Rate: n, Period: time.Minute, Burst: n} }

// PerHour returns a limit of n requests an hour with a burst of n.
func PerHour(n int) Limit { return Limit{Rate: n, Period: time.Hour, Burst: n} }

// String renders the limit like redis_rate does, e.g. "200 req/m (burst 200)".
func (l Limit) String() string {
	var p string
	switch l.Period {
	case time.Second:
		p = "s"
	case time.Minute:
		p = "m"
	case time.Hour:
		p = "h"
	default:
		p = l.Period.String()
	}
	return fmt.Sprintf("%d req/%s (burst %d)", l.Rate, p, l.Burst)
}

// IsZero reports whether l is the zero Limit.
func (l Limit) IsZero() bool { return l == Limit{} }

// Validate reports why l cannot be enforced. Limits come from configuration,
// so every Limiter validates them instead of dividing by zero or overflowing.
func (l Limit) Validate() error {
	switch {
	case l.Rate < 1:
		return fmt.Errorf("invalid limit %v: rate must be at least 1", l)
	case l.Period <= 0:
		return fmt.Errorf("invalid limit %v: period must be positive", l)
	case l.Burst < 1:
		return fmt.Errorf("invalid limit %v: burst must be at least 1", l)
	}
	e := l.emission()
	if e < 1 {
		return fmt.Errorf("invalid limit %v: more than one request per nanosecond", l)
	}
	if int64(l.Burst) > math.MaxInt64/4/e {
		// A quarter of the int64 range leaves room to add the offset to a clock reading.
		return fmt.Errorf("invalid limit %v: burst window too long", l)
	}
	return nil
}

// emission is the GCRA emission interval in nanoseconds: the time it takes
// to earn one request back.
func (l Limit) emission() int64 { return int64(l.Period) / int64(l.Rate) }

// Result is the outcome of charging one request, with the fields of
// redis_rate's Result.
type Result struct {
	// Limit is the limit the request was charged against.
	Limit Limit
	// Allowed is 1 if the request was allowed and 0 if it was denied.
	Allowed int
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is -1 when the request was allowed; otherwise how long
	// until one request would be allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the key is back to a full burst (0 when
	// it already is).
	ResetAfter time.Duration
}

// Headers renders r as the rate limit headers of DECISIONS.md:
// X-Rate-Limit-Limit (the limit's Rate), X-Rate-Limit-Remaining,
// X-Rate-Limit-Reset (milliseconds until a request would be allowed again,
// "0" when this one was allowed) and Retry-After (whole seconds, rounded up
// so a client that waits that long is not refused again; "0" when allowed,
// and only to be sent on a 429).
func (r Result) Headers() (limit, remaining, resetMs, retryAfterSec string) {
	limit = strconv.Itoa(r.Limit.Rate)
	remaining = strconv.Itoa(max(r.Remaining, 0))
	if r.Allowed > 0 {
		return limit, remaining, "0", "0"
	}
	resetMs = strconv.FormatInt(ceilDiv(r.RetryAfter, time.Millisecond), 10)
	retryAfterSec = strconv.FormatInt(max(ceilDiv(r.RetryAfter, time.Second), 1), 10)
	return limit, remaining, resetMs, retryAfterSec
}

// ceilDiv returns d/unit rounded up, and 0 for non-positive d.
func ceilDiv(d, unit time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + unit - 1) / unit)
}

// Limiter charges requests to keys.
type Limiter interface {
	// Allow charges one request to key under limit l. A denied request is
	// not charged. Limits are tracked per key only: the same key charged
	// under two limits shares one state, as in redis_rate.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}

// LockStore holds the lockout state of keys, so that several servers can
// share it (Redis) or a single one can keep it in memory.
type LockStore interface {
	// LockedUntil returns when the lock on key ends; a time not after now
	// (usually the zero time) means key is not locked.
	LockedUntil(ctx context.Context, key string) (time.Time, error)
	// Lock locks key until the given time. It must never shorten a lock
	// that is already in place.
	Lock(ctx context.Context, key string, until time.Time) error
}
