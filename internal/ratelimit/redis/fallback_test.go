package redislimit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/ratelimit"
	redislimit "github.com/aipsec/aip/internal/ratelimit/redis"
)

// commandCounter counts the commands a client sends (or tries to send).
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// testClock is a settable clock for probe scheduling.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// events records the metric hooks' calls.
type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, s)
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...)
}

// wrapper is one Fallback wrapper under test, reduced to one call.
type wrapper struct {
	call     func(ctx context.Context, i int) error
	degraded func() bool
}

const probeEvery = time.Second

func TestFallback(t *testing.T) {
	tests := []struct {
		name      string
		component string
		build     func(rdb *redis.Client, opts redislimit.FallbackOptions) wrapper
	}{
		{"limiter answers from memory during an outage", redislimit.ComponentLimiter, func(rdb *redis.Client, opts redislimit.FallbackOptions) wrapper {
			f := redislimit.NewFallbackLimiter(redislimit.NewLimiter(rdb, "l:"), ratelimit.NewMemory(nil), opts)
			return wrapper{func(ctx context.Context, _ int) error {
				res, err := f.Allow(ctx, "k", ratelimit.PerMinute(100))
				if err == nil && res.Allowed != 1 {
					err = errors.New("request denied")
				}
				return err
			}, f.Degraded}
		}},
		{"lock store answers from memory during an outage", redislimit.ComponentLocks, func(rdb *redis.Client, opts redislimit.FallbackOptions) wrapper {
			f := redislimit.NewFallbackLockStore(redislimit.NewLockStore(rdb, "k:"), ratelimit.NewMemoryLockStore(nil), opts)
			return wrapper{func(ctx context.Context, _ int) error {
				until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
				if err := f.Lock(ctx, "k", until); err != nil {
					return err
				}
				got, err := f.LockedUntil(ctx, "k")
				if err == nil && !got.Equal(until) {
					err = errors.New("lock not read back: " + got.String())
				}
				return err
			}, f.Degraded}
		}},
		{"nonce store answers from memory during an outage", redislimit.ComponentNonces, func(rdb *redis.Client, opts redislimit.FallbackOptions) wrapper {
			f := redislimit.NewFallbackNonceStore(redislimit.NewNonceStore(rdb, "n:"), hawk.NewMemoryNonceStore(0), opts)
			return wrapper{func(ctx context.Context, i int) error {
				ts := time.Now().Unix()
				nonce := string(rune('a' + i))
				fresh, err := f.Use(ctx, "id", itoa(ts), nonce, time.Minute)
				if err == nil && !fresh {
					err = errors.New("first use not fresh")
				}
				if err != nil {
					return err
				}
				fresh, err = f.Use(ctx, "id", itoa(ts), nonce, time.Minute)
				if err == nil && fresh {
					err = errors.New("replay fresh")
				}
				return err
			}, f.Degraded}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mr := miniredis.NewMiniRedis()
			if err := mr.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(mr.Close)
			addr := mr.Addr()
			rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond,
				ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, MaxRetries: -1, DialerRetries: 1})
			t.Cleanup(func() { rdb.Close() })
			cmds := &commandCounter{}
			rdb.AddHook(cmds)
			clk := &testClock{}
			var logs bytes.Buffer
			var ev events
			w := tc.build(rdb, redislimit.FallbackOptions{
				Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
				OnFallback:    func(c string) { ev.add("fallback " + c) },
				OnRecover:     func(c string) { ev.add("recover " + c) },
				ProbeInterval: probeEvery,
				Now:           clk.now,
			})
			ctx := t.Context()
			call := func(what string, i int) {
				t.Helper()
				if err := w.call(ctx, i); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}

			call("call with Redis up", 0)
			if len(mr.Keys()) == 0 || w.degraded() {
				t.Fatalf("with Redis up: got keys %v, degraded %v; want keys in Redis, not degraded", mr.Keys(), w.degraded())
			}

			mr.Close()
			before := cmds.n.Load()
			for i := range 5 {
				call("call with Redis down", 1+i)
				clk.advance(probeEvery / 10)
			}
			if got := cmds.n.Load() - before; got != 1 {
				t.Errorf("commands sent during the outage within one probe interval: got %d, want 1", got)
			}
			if diff := cmp.Diff([]string{"fallback " + tc.component}, ev.list()); diff != "" {
				t.Errorf("hooks during the outage (-want +got):\n%s", diff)
			}
			if !w.degraded() {
				t.Error("during the outage: not degraded")
			}

			mr2 := miniredis.NewMiniRedis()
			if err := mr2.StartAddr(addr); err != nil {
				t.Fatalf("restart miniredis on %s: %v", addr, err)
			}
			t.Cleanup(mr2.Close)
			call("call before the next probe", 10)
			if keys := mr2.Keys(); len(keys) != 0 {
				t.Errorf("before the next probe: got keys %v in Redis, want none", keys)
			}
			clk.advance(probeEvery)
			call("call at the next probe", 11)
			if len(mr2.Keys()) == 0 || w.degraded() {
				t.Errorf("after the probe: got keys %v, degraded %v; want keys in Redis, not degraded", mr2.Keys(), w.degraded())
			}
			want := []string{"fallback " + tc.component, "recover " + tc.component}
			if diff := cmp.Diff(want, ev.list()); diff != "" {
				t.Errorf("hooks after recovery (-want +got):\n%s", diff)
			}
			log := logs.String()
			if got := strings.Count(log, "falling back"); got != 1 {
				t.Errorf("fallback log lines: got %d, want 1 in:\n%s", got, log)
			}
			if got := strings.Count(log, "answers again"); got != 1 {
				t.Errorf("recovery log lines: got %d, want 1 in:\n%s", got, log)
			}
			if !strings.Contains(log, "component="+tc.component) {
				t.Errorf("log lacks component=%s:\n%s", tc.component, log)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestFallbackNonceStoreAfterRecovery checks that a request accepted from
// memory during an outage cannot be replayed to the same node once Redis is
// back, although Redis never saw it.
func TestFallbackNonceStoreAfterRecovery(t *testing.T) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	addr := mr.Addr()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	clk := &testClock{}
	f := redislimit.NewFallbackNonceStore(redislimit.NewNonceStore(rdb, "n:"), hawk.NewMemoryNonceStore(0),
		redislimit.FallbackOptions{Now: clk.now, Logger: slog.New(slog.DiscardHandler)})
	ctx := t.Context()
	ts := itoa(time.Now().Unix())

	mr.Close()
	if fresh, err := f.Use(ctx, "id", ts, "during", time.Minute); err != nil || !fresh {
		t.Fatalf("first use during the outage: got %v, %v; want true, nil", fresh, err)
	}
	mr2 := miniredis.NewMiniRedis()
	if err := mr2.StartAddr(addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr2.Close)
	clk.advance(redislimit.DefaultProbeInterval)
	if fresh, err := f.Use(ctx, "id", ts, "after", time.Minute); err != nil || !fresh || f.Degraded() {
		t.Fatalf("new triple after recovery: got %v, %v, degraded %v; want true, nil, false", fresh, err, f.Degraded())
	}
	if fresh, err := f.Use(ctx, "id", ts, "during", time.Minute); err != nil || fresh {
		t.Errorf("replay after recovery of a triple seen during the outage: got %v, %v; want false, nil", fresh, err)
	}
}

// TestFallbackIgnoresCallerErrors checks that a cancelled request or an
// invalid limit is returned as an error, not taken for an outage.
func TestFallbackIgnoresCallerErrors(t *testing.T) {
	_, rdb := startMiniredis(t)
	var ev events
	opts := redislimit.FallbackOptions{OnFallback: func(c string) { ev.add(c) }, Logger: slog.New(slog.DiscardHandler)}
	lim := redislimit.NewFallbackLimiter(redislimit.NewLimiter(rdb, "l:"), ratelimit.NewMemory(nil), opts)
	nonces := redislimit.NewFallbackNonceStore(redislimit.NewNonceStore(rdb, "n:"), hawk.NewMemoryNonceStore(0), opts)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()

	if _, err := lim.Allow(t.Context(), "k", ratelimit.Limit{}); err == nil {
		t.Error("Allow under the zero limit: got no error")
	}
	if _, err := lim.Allow(cancelled, "k", ratelimit.PerMinute(1)); err == nil {
		t.Error("Allow with a cancelled context: got no error")
	}
	if _, err := nonces.Use(cancelled, "id", "1", "n", time.Minute); err == nil {
		t.Error("Use with a cancelled context: got no error")
	}
	if got := ev.list(); len(got) != 0 || lim.Degraded() || nonces.Degraded() {
		t.Errorf("after caller errors: got OnFallback %v, degraded %v/%v; want none", got, lim.Degraded(), nonces.Degraded())
	}
}

// TestFallbackLockStoreAfterRecovery checks that a lockout imposed from
// memory during an outage still holds once Redis is back.
func TestFallbackLockStoreAfterRecovery(t *testing.T) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	addr := mr.Addr()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	clk := &testClock{}
	f := redislimit.NewFallbackLockStore(redislimit.NewLockStore(rdb, "k:"), ratelimit.NewMemoryLockStore(nil),
		redislimit.FallbackOptions{Now: clk.now, Logger: slog.New(slog.DiscardHandler)})
	ctx := t.Context()
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond)

	mr.Close()
	if err := f.Lock(ctx, "ip", until); err != nil {
		t.Fatalf("Lock during the outage: %v", err)
	}
	mr2 := miniredis.NewMiniRedis()
	if err := mr2.StartAddr(addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr2.Close)
	clk.advance(redislimit.DefaultProbeInterval)
	got, err := f.LockedUntil(ctx, "ip")
	if err != nil || !got.Equal(until) || f.Degraded() {
		t.Errorf("LockedUntil after recovery: got %v, %v, degraded %v; want %v, nil, false", got, err, f.Degraded(), until)
	}
}
