package redislimit_test

import (
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/hawk/noncetest"
	"github.com/aipsec/aip/internal/ratelimit"
	"github.com/aipsec/aip/internal/ratelimit/ratelimittest"
	redislimit "github.com/aipsec/aip/internal/ratelimit/redis"
)

// slack is how far durations from Redis may drift from the local clock:
// redis_rate returns float seconds and TIME is read on another clock.
const slack = 20 * time.Millisecond

func realClock(*testing.T) ratelimittest.Clock { return ratelimittest.RealClock{Slack: slack} }

// realRedis returns a client of the Redis named by AIP_TEST_REDIS_URL, or
// skips the test when it is unset.
func realRedis(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("AIP_TEST_REDIS_URL")
	if url == "" {
		t.Skip("AIP_TEST_REDIS_URL not set")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse AIP_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("ping %s: %v", opts.Addr, err)
	}
	return rdb
}

// startMiniredis returns a running miniredis and a client of it, both
// closed when the test ends.
func startMiniredis(t *testing.T) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return mr, rdb
}

// prefix keeps the keys of one test apart from other runs sharing a Redis.
func prefix(t *testing.T) string {
	return "aiptest:" + t.Name() + ":" + time.Now().Format(time.RFC3339Nano) + ":"
}

// runSuites runs the three conformance suites on rdb. advance lets time pass
// for key expiry (miniredis only expires keys when fast-forwarded).
func runSuites(t *testing.T, rdb *redis.Client, advance func(time.Duration)) {
	p := prefix(t)
	t.Run("limiter", func(t *testing.T) {
		ratelimittest.RunWithClock(t, realClock, func(*testing.T, func() time.Time) ratelimit.Limiter {
			return redislimit.NewLimiter(rdb, p)
		})
	})
	t.Run("lockout", func(t *testing.T) {
		ratelimittest.RunLockoutWithClock(t, realClock, func(*testing.T, func() time.Time) ratelimit.LockStore {
			return redislimit.NewLockStore(rdb, p)
		})
	})
	t.Run("nonces", func(t *testing.T) {
		noncetest.Run(t,
			func(*testing.T) noncetest.Clock { return expiryClock{advance} },
			func(*testing.T, noncetest.Clock) hawk.NonceStore { return redislimit.NewNonceStore(rdb, p) })
	})
}

// expiryClock is the wall clock whose Advance lets d pass for Redis.
type expiryClock struct{ advance func(time.Duration) }

func (expiryClock) Now() time.Time            { return time.Now() }
func (c expiryClock) Advance(d time.Duration) { c.advance(d) }

func TestConformanceRedis(t *testing.T) {
	rdb := realRedis(t)
	runSuites(t, rdb, time.Sleep)
}

func TestConformanceMiniredis(t *testing.T) {
	mr, rdb := startMiniredis(t)
	runSuites(t, rdb, func(d time.Duration) {
		time.Sleep(d) // the limiter reads TIME, which is the wall clock
		mr.FastForward(d)
	})
}

// TestConformanceFallbackMiniredis runs the suites through the Fallback
// wrappers while Redis answers: they must be transparent.
func TestConformanceFallbackMiniredis(t *testing.T) {
	mr, rdb := startMiniredis(t)
	p := prefix(t)
	opts := redislimit.FallbackOptions{
		OnFallback: func(c string) { t.Errorf("OnFallback(%q) with Redis up", c) },
	}
	t.Run("limiter", func(t *testing.T) {
		ratelimittest.RunWithClock(t, realClock, func(*testing.T, func() time.Time) ratelimit.Limiter {
			return redislimit.NewFallbackLimiter(redislimit.NewLimiter(rdb, p), ratelimit.NewMemory(nil), opts)
		})
	})
	t.Run("lockout", func(t *testing.T) {
		ratelimittest.RunLockoutWithClock(t, realClock, func(*testing.T, func() time.Time) ratelimit.LockStore {
			return redislimit.NewFallbackLockStore(redislimit.NewLockStore(rdb, p), ratelimit.NewMemoryLockStore(nil), opts)
		})
	})
	t.Run("nonces", func(t *testing.T) {
		noncetest.Run(t,
			func(*testing.T) noncetest.Clock { return expiryClock{mr.FastForward} },
			func(*testing.T, noncetest.Clock) hawk.NonceStore {
				return redislimit.NewFallbackNonceStore(redislimit.NewNonceStore(rdb, p), hawk.NewMemoryNonceStore(0), opts)
			})
	})
}

// TestGlobalLimit charges one key from two nodes, each with its own client
// and Limiter: they must share one budget.
func TestGlobalLimit(t *testing.T) {
	backends := []struct {
		name string
		addr func(t *testing.T) *redis.Options
	}{
		{"miniredis", func(t *testing.T) *redis.Options {
			mr, _ := startMiniredis(t)
			return &redis.Options{Addr: mr.Addr()}
		}},
		{"redis", func(t *testing.T) *redis.Options { return realRedis(t).Options() }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			opts := b.addr(t)
			p := prefix(t)
			var nodes []*redislimit.Limiter
			for range 2 {
				rdb := redis.NewClient(opts)
				t.Cleanup(func() { rdb.Close() })
				nodes = append(nodes, redislimit.NewLimiter(rdb, p))
			}
			l := ratelimit.PerMinute(10)
			got := []int{0, 0}
			for i := range 30 {
				res, err := nodes[i%2].Allow(t.Context(), "org", l)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				got[i%2] += res.Allowed
			}
			if total := got[0] + got[1]; total != 10 {
				t.Errorf("30 requests over two nodes under %v: got %d allowed (%v per node), want 10", l, total, got)
			}
		})
	}
}
