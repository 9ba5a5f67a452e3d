package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Default retry policy; see Backoff.
const (
	DefaultBase   = 10 * time.Second
	DefaultCap    = time.Hour
	DefaultFloor  = time.Second
	DefaultMaxAge = 24 * time.Hour
)

// Backoff is the retry schedule: exponential with full jitter, bounded by an age limit.
//
// After the n-th failed attempt (n ≥ 1) the next attempt waits
//
//	delay(n) = max(Floor, Rand() · min(Cap, Base · 2^(n-1)))
//
// so with the defaults the ceilings are 10 s, 20 s, 40 s, …, 2560 s, then 1 h from the 10th
// failure on. The Floor keeps an unlucky draw near 0 from turning into a tight loop.
// A delivery is abandoned only when an attempt fails at or after CreatedAt+MaxAge, so it is
// retried for at least MaxAge (24 h) whatever the draws: with the largest draws that is 33
// attempts in all, with draws of 0.5 it is 57, and the Floor bounds the worst case at 86401.
//
// The zero value uses the defaults and math/rand/v2.
type Backoff struct {
	// Base is the first ceiling (default 10 s).
	Base time.Duration
	// Cap bounds every ceiling and every honoured Retry-After (default 1 h).
	Cap time.Duration
	// Floor is the smallest delay (default 1 s).
	Floor time.Duration
	// MaxAge is how long after CreatedAt failures are still retried (default 24 h).
	MaxAge time.Duration
	// Rand returns a value in [0, 1); it must be safe for concurrent use. Tests fix it.
	Rand func() float64
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = DefaultBase
	}
	if b.Cap <= 0 {
		b.Cap = DefaultCap
	}
	if b.Floor <= 0 {
		b.Floor = DefaultFloor
	}
	if b.MaxAge <= 0 {
		b.MaxAge = DefaultMaxAge
	}
	if b.Rand == nil {
		b.Rand = rand.Float64
	}
	return b
}

// Ceiling is the largest delay after the failures-th failed attempt (failures < 1 counts as 1).
func (b Backoff) Ceiling(failures int) time.Duration {
	b = b.withDefaults()
	c := b.Base
	for i := 1; i < failures && c < b.Cap; i++ {
		c *= 2 // cannot overflow: c < Cap before doubling and Cap is a Duration
	}
	return min(c, b.Cap)
}

// Delay draws the wait after the failures-th failed attempt.
func (b Backoff) Delay(failures int) time.Duration {
	b = b.withDefaults()
	r := b.Rand()
	r = min(max(r, 0), 1) // a misbehaving Rand must not produce a negative or over-cap delay
	return max(b.Floor, time.Duration(r*float64(b.Ceiling(failures))))
}

// Next decides what follows the failures-th failed attempt, which ended at at, of a delivery
// created at createdAt: abandon once the attempt failed at or after createdAt+MaxAge,
// otherwise retry at at+Delay(failures).
func (b Backoff) Next(createdAt, at time.Time, failures int) (next time.Time, abandon bool) {
	b = b.withDefaults()
	if !at.Before(createdAt.Add(b.MaxAge)) {
		return time.Time{}, true
	}
	return at.Add(b.Delay(failures)), false
}

// retryAfter parses a Retry-After header (delay-seconds or HTTP-date) and clamps it to
// [Floor, Cap]: a receiver may slow us down, but not park a delivery beyond the normal cap.
func (b Backoff) retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	b = b.withDefaults()
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(b.Cap/time.Second) {
			return b.Cap, true
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, b.Floor), b.Cap), true
}
