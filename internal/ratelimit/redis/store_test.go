package redislimit_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aipsec/aip/internal/ratelimit"
	redislimit "github.com/aipsec/aip/internal/ratelimit/redis"
)

func TestKeysUnderPrefix(t *testing.T) {
	mr, rdb := startMiniredis(t)
	ctx := t.Context()
	if _, err := redislimit.NewLimiter(rdb, "aip:limit:").Allow(ctx, "org1", ratelimit.PerMinute(1)); err != nil {
		t.Fatal(err)
	}
	if err := redislimit.NewLockStore(rdb, "aip:lock:").Lock(ctx, "ip1", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := redislimit.NewNonceStore(rdb, "aip:nonce:").Use(ctx, "id", "1", "n", time.Minute); err != nil {
		t.Fatal(err)
	}
	keys := mr.Keys()
	want := map[string]bool{"rate:aip:limit:org1": true, "aip:lock:ip1": true}
	if len(keys) != 3 {
		t.Fatalf("got keys %q, want 3", keys)
	}
	for _, k := range keys {
		if !want[k] && (len(k) != len("aip:nonce:")+32 || k[:len("aip:nonce:")] != "aip:nonce:") {
			t.Errorf("unexpected key %q", k)
		}
	}
}

// TestReplayAcrossNodes replays a request to a second node, with its own
// client and store, sharing one Redis.
func TestReplayAcrossNodes(t *testing.T) {
	mr, _ := startMiniredis(t)
	var stores []*redislimit.NonceStore
	for range 2 {
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { rdb.Close() })
		stores = append(stores, redislimit.NewNonceStore(rdb, "n:"))
	}
	ctx := t.Context()
	if fresh, err := stores[0].Use(ctx, "id", "1700000000", "n", time.Minute); err != nil || !fresh {
		t.Fatalf("first use on node 1: got %v, %v; want true, nil", fresh, err)
	}
	if fresh, err := stores[1].Use(ctx, "id", "1700000000", "n", time.Minute); err != nil || fresh {
		t.Errorf("replay on node 2: got %v, %v; want false, nil", fresh, err)
	}
}

func TestLockStoreLongLocks(t *testing.T) {
	mr, rdb := startMiniredis(t)
	s := redislimit.NewLockStore(rdb, "k:")
	ctx := t.Context()
	tests := []struct {
		name  string
		until time.Time
		want  func(got time.Time) bool
	}{
		{"keeps a lock of a day exactly", time.Now().Add(24 * time.Hour).Truncate(time.Microsecond),
			nil},
		{"keeps a lock forever for a hundred years", time.Unix(1<<62, 0), func(got time.Time) bool {
			return got.After(time.Now().Add(99*365*24*time.Hour)) && mr.TTL("k:keeps a lock forever for a hundred years") > 99*365*24*time.Hour
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Lock(ctx, tc.name, tc.until); err != nil {
				t.Fatalf("Lock: %v", err)
			}
			got, err := s.LockedUntil(ctx, tc.name)
			if err != nil {
				t.Fatalf("LockedUntil: %v", err)
			}
			ok := got.Equal(tc.until)
			if tc.want != nil {
				ok = tc.want(got)
			}
			if !ok {
				t.Errorf("LockedUntil = %v (Redis TTL %v), locked until %v", got, mr.TTL("k:"+tc.name), tc.until)
			}
		})
	}
}
