package redislimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/ratelimit"
)

// DefaultProbeInterval is how often a degraded wrapper tries Redis again
// when FallbackOptions.ProbeInterval is zero.
const DefaultProbeInterval = time.Second

// Component names passed to FallbackOptions.OnFallback and OnRecover, and
// logged as "component".
const (
	ComponentLimiter = "limiter"
	ComponentLocks   = "locks"
	ComponentNonces  = "nonces"
)

// FallbackOptions configure the Fallback wrappers.
//
// While Redis is unreachable a wrapper answers from its per-node memory
// implementation, which means during the outage:
//   - limits are per node: with N nodes behind a load balancer a key may be
//     allowed up to N times its limit, and each node starts from a full
//     burst (its memory state is whatever it saw during earlier outages);
//   - lockouts are per node, and locks set in Redis before the outage are
//     not seen (locks set in memory during it still hold after recovery);
//   - replay protection is per node: a request replayed to another node
//     passes, and so does one replayed after recovery to a node other than
//     the one that first saw it. FallbackNonceStore still consults its memory
//     for triples seen during the outage for the ttl after recovery, so a
//     replay to the same node stays refused.
//
// Availability is chosen over a cluster-wide guarantee for the outage only;
// every call goes back to Redis once it answers a probe. A probe is an
// ordinary request sent to Redis, at most one per ProbeInterval per wrapper,
// so it waits for the client's dial/read timeout when Redis is down; so do
// the calls that detect an outage. Give the redis.Options short timeouts
// (e.g. DialTimeout, ReadTimeout and WriteTimeout of 200 ms) and few dial
// retries (DialerRetries 1: go-redis otherwise dials 5 times, 100 ms apart,
// even when the connection is refused).
type FallbackOptions struct {
	// Logger receives one warning when an outage starts and one info line
	// when it ends, per wrapper; nil means slog.Default().
	Logger *slog.Logger
	// OnFallback, if set, is called once per outage, with the component
	// name, when the wrapper switches to memory (a metric hook).
	OnFallback func(component string)
	// OnRecover, if set, is called once per outage, with the component
	// name, when Redis answers again.
	OnRecover func(component string)
	// ProbeInterval is the least time between two attempts to reach Redis
	// while degraded; zero means DefaultProbeInterval.
	ProbeInterval time.Duration
	// Now is the clock probes are scheduled on; nil means time.Now.
	Now func() time.Time
}

// breaker tracks whether Redis answers, for one wrapper.
type breaker struct {
	component string
	opts      FallbackOptions

	mu        sync.Mutex
	degraded  bool
	since     time.Time // start of the current outage
	nextProbe time.Time
	recovered time.Time // end of the last outage
}

func newBreaker(component string, opts FallbackOptions) *breaker {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = DefaultProbeInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &breaker{component: component, opts: opts}
}

// useRedis reports whether this call should go to Redis: always while
// healthy, and for one call per probe interval while degraded.
func (b *breaker) useRedis() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.degraded {
		return true
	}
	now := b.opts.Now()
	if now.Before(b.nextProbe) {
		return false
	}
	b.nextProbe = now.Add(b.opts.ProbeInterval)
	return true
}

// failed records a failed Redis call, starting an outage if none is on.
func (b *breaker) failed(err error) {
	b.mu.Lock()
	now := b.opts.Now()
	b.nextProbe = now.Add(b.opts.ProbeInterval)
	if b.degraded {
		b.mu.Unlock()
		return
	}
	b.degraded, b.since = true, now
	b.mu.Unlock()
	b.opts.Logger.Warn("redis unreachable, falling back to per-node state",
		"component", b.component, "err", err.Error(), "probe_interval", b.opts.ProbeInterval)
	if b.opts.OnFallback != nil {
		b.opts.OnFallback(b.component)
	}
}

// succeeded records a Redis call that answered, ending an outage if one is
// on.
func (b *breaker) succeeded() {
	b.mu.Lock()
	if !b.degraded {
		b.mu.Unlock()
		return
	}
	now := b.opts.Now()
	outage := now.Sub(b.since)
	b.degraded, b.recovered = false, now
	b.mu.Unlock()
	b.opts.Logger.Info("redis answers again, back to shared state",
		"component", b.component, "outage", outage)
	if b.opts.OnRecover != nil {
		b.opts.OnRecover(b.component)
	}
}

// Degraded reports whether calls are currently answered from memory.
func (b *breaker) Degraded() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.degraded
}

// redisFailed reports whether err from a Redis call means Redis is
// unreachable rather than that the caller gave up: a cancelled or expired
// request context is the caller's, not an outage.
func redisFailed(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil
}

// FallbackLimiter is a ratelimit.Limiter that charges Redis and falls back
// to a per-node limiter while Redis is unreachable; see FallbackOptions.
type FallbackLimiter struct {
	redis, local ratelimit.Limiter
	b            *breaker
}

// NewFallbackLimiter returns a limiter that uses redis (normally a *Limiter)
// and local (normally ratelimit.NewMemory(nil)) while redis fails.
func NewFallbackLimiter(redis, local ratelimit.Limiter, opts FallbackOptions) *FallbackLimiter {
	return &FallbackLimiter{redis: redis, local: local, b: newBreaker(ComponentLimiter, opts)}
}

// Allow implements ratelimit.Limiter. An invalid limit is an error, never
// a reason to fall back.
func (f *FallbackLimiter) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	if err := l.Validate(); err != nil {
		return ratelimit.Result{}, fmt.Errorf("redislimit: %w", err)
	}
	if f.b.useRedis() {
		res, err := f.redis.Allow(ctx, key, l)
		if err == nil {
			f.b.succeeded()
			return res, nil
		}
		if !redisFailed(ctx, err) {
			return ratelimit.Result{}, err
		}
		f.b.failed(err)
	}
	return f.local.Allow(ctx, key, l)
}

// Degraded reports whether the limiter currently answers from memory.
func (f *FallbackLimiter) Degraded() bool { return f.b.Degraded() }

// FallbackLockStore is a ratelimit.LockStore that keeps locks in Redis and
// falls back to a per-node store while Redis is unreachable; see
// FallbackOptions.
type FallbackLockStore struct {
	redis, local ratelimit.LockStore
	b            *breaker
}

// NewFallbackLockStore returns a store that uses redis (normally a
// *LockStore) and local (normally ratelimit.NewMemoryLockStore(nil)) while
// redis fails.
func NewFallbackLockStore(redis, local ratelimit.LockStore, opts FallbackOptions) *FallbackLockStore {
	return &FallbackLockStore{redis: redis, local: local, b: newBreaker(ComponentLocks, opts)}
}

// LockedUntil implements ratelimit.LockStore. With Redis up it answers the
// later of Redis's lock and the memory store's, so that a lockout this node
// imposed during an outage runs its full course after recovery; the memory
// store only holds locks set during outages, so this costs one map lookup.
func (f *FallbackLockStore) LockedUntil(ctx context.Context, key string) (time.Time, error) {
	if f.b.useRedis() {
		until, err := f.redis.LockedUntil(ctx, key)
		if err == nil {
			f.b.succeeded()
			local, err := f.local.LockedUntil(ctx, key)
			if err != nil {
				return time.Time{}, fmt.Errorf("redislimit: read per-node lock: %w", err)
			}
			if local.After(until) {
				return local, nil
			}
			return until, nil
		}
		if !redisFailed(ctx, err) {
			return time.Time{}, err
		}
		f.b.failed(err)
	}
	return f.local.LockedUntil(ctx, key)
}

// Lock implements ratelimit.LockStore.
func (f *FallbackLockStore) Lock(ctx context.Context, key string, until time.Time) error {
	if f.b.useRedis() {
		err := f.redis.Lock(ctx, key, until)
		if err == nil {
			f.b.succeeded()
			return nil
		}
		if !redisFailed(ctx, err) {
			return err
		}
		f.b.failed(err)
	}
	return f.local.Lock(ctx, key, until)
}

// Degraded reports whether the store currently answers from memory.
func (f *FallbackLockStore) Degraded() bool { return f.b.Degraded() }

// FallbackNonceStore is a hawk.NonceStore that records triples in Redis and
// falls back to a per-node store while Redis is unreachable; see
// FallbackOptions. Errors of the memory store (hawk.ErrNonceStoreFull) are
// returned, so the server still fails closed on them.
type FallbackNonceStore struct {
	redis, local hawk.NonceStore
	b            *breaker
}

// NewFallbackNonceStore returns a store that uses redis (normally a
// *NonceStore) and local (normally hawk.NewMemoryNonceStore(0)) while redis
// fails.
func NewFallbackNonceStore(redis, local hawk.NonceStore, opts FallbackOptions) *FallbackNonceStore {
	return &FallbackNonceStore{redis: redis, local: local, b: newBreaker(ComponentNonces, opts)}
}

// Use implements hawk.NonceStore. For ttl after an outage ends, a triple
// Redis finds fresh is also checked against (and recorded in) the memory
// store, so that a request accepted from memory during the outage cannot be
// replayed to this node once Redis is back.
func (f *FallbackNonceStore) Use(ctx context.Context, id, ts, nonce string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("redislimit: nonce ttl %v is not positive", ttl)
	}
	if f.b.useRedis() {
		fresh, err := f.redis.Use(ctx, id, ts, nonce, ttl)
		if err == nil {
			f.b.succeeded()
			if !fresh || !f.recentlyRecovered(ttl) {
				return fresh, nil
			}
			return f.local.Use(ctx, id, ts, nonce, ttl)
		}
		if !redisFailed(ctx, err) {
			return false, err
		}
		f.b.failed(err)
	}
	return f.local.Use(ctx, id, ts, nonce, ttl)
}

// recentlyRecovered reports whether an outage ended less than ttl ago.
func (f *FallbackNonceStore) recentlyRecovered(ttl time.Duration) bool {
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	return !f.b.recovered.IsZero() && f.b.opts.Now().Sub(f.b.recovered) < ttl
}

// Degraded reports whether the store currently answers from memory.
func (f *FallbackNonceStore) Degraded() bool { return f.b.Degraded() }
