package redislimit

import (
	"context"
	"fmt"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/aipsec/aip/internal/ratelimit"
)

// Limiter is a ratelimit.Limiter whose state lives in Redis, so that every
// node sharing the Redis database charges the same budget per key. It is
// safe for concurrent use.
type Limiter struct {
	rl     *redis_rate.Limiter
	prefix string
}

// NewLimiter returns a Limiter storing its state under prefix (e.g.
// "aip:limit:") in rdb; redis_rate adds its own "rate:" in front, so a key k
// is stored at "rate:"+prefix+k.
func NewLimiter(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rl: redis_rate.NewLimiter(rdb), prefix: prefix}
}

// Allow implements ratelimit.Limiter. The limit is validated locally first,
// so a configuration error never reaches Redis (nor triggers a fallback).
func (l *Limiter) Allow(ctx context.Context, key string, lim ratelimit.Limit) (ratelimit.Result, error) {
	if err := lim.Validate(); err != nil {
		return ratelimit.Result{}, fmt.Errorf("redislimit: %w", err)
	}
	res, err := l.rl.Allow(ctx, l.prefix+key, redis_rate.Limit{Rate: lim.Rate, Burst: lim.Burst, Period: lim.Period})
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("redislimit: allow: %w", err)
	}
	return ratelimit.Result{
		Limit:      lim,
		Allowed:    res.Allowed,
		Remaining:  res.Remaining,
		RetryAfter: res.RetryAfter,
		ResetAfter: res.ResetAfter,
	}, nil
}
