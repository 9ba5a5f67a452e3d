package redislimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxLockTTL bounds a lock, since a caller may lock a key "forever": Redis
// refuses expiries past its own range and Unix microseconds overflow after
// the year 294,000. A lock is shortened to this length at most, which is
// forever for any practical purpose.
const maxLockTTL = 100 * 365 * 24 * time.Hour

// lockScript sets KEYS[1] to the deadline ARGV[1] (Unix microseconds) with
// an expiry of ARGV[2] milliseconds unless it already holds a later one, so
// that concurrent lockers on several nodes never shorten a lock. Microseconds
// stay within the 2^53 a Lua number holds exactly.
var lockScript = redis.NewScript(`
local cur = redis.call("GET", KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then
  return 0
end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1
`)

// LockStore is a ratelimit.LockStore in Redis, so that a key locked out by
// one node is locked out on all of them. Each lock is one key holding its
// deadline, expiring with it. It is safe for concurrent use.
type LockStore struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewLockStore returns a LockStore keeping its locks under prefix (e.g.
// "aip:lock:") in rdb. The Redis expiry is computed from this node's clock;
// the deadline itself is stored, so LockedUntil answers exactly what Lock
// was given.
func NewLockStore(rdb redis.UniversalClient, prefix string) *LockStore {
	return &LockStore{rdb: rdb, prefix: prefix, now: time.Now}
}

// LockedUntil implements ratelimit.LockStore.
func (s *LockStore) LockedUntil(ctx context.Context, key string) (time.Time, error) {
	v, err := s.rdb.Get(ctx, s.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("redislimit: read lock: %w", err)
	}
	us, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("redislimit: read lock: bad deadline %q: %w", v, err)
	}
	return time.UnixMicro(us), nil
}

// Lock implements ratelimit.LockStore. A lock that would already be over is
// not recorded; one longer than 100 years is kept for 100 years. The
// deadline is kept to the microsecond, rounded up.
func (s *LockStore) Lock(ctx context.Context, key string, until time.Time) error {
	now := s.now()
	ttl := until.Sub(now)
	if ttl <= 0 {
		return nil
	}
	if ttl > maxLockTTL {
		ttl, until = maxLockTTL, now.Add(maxLockTTL)
	}
	ms := (ttl + time.Millisecond - 1) / time.Millisecond
	us := until.UnixMicro()
	if until.Nanosecond()%1000 != 0 {
		us++ // round up: a lock must never end early
	}
	if err := lockScript.Run(ctx, s.rdb, []string{s.prefix + key}, us, int64(ms)).Err(); err != nil {
		return fmt.Errorf("redislimit: lock: %w", err)
	}
	return nil
}
