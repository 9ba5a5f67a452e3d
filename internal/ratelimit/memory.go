package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"time"
	"unsafe"
)

const (
	// numShards spreads keys over independent mutexes so that parallel
	// requests for different keys rarely contend. A power of two.
	numShards = 256
	// minSweepLen is the shard size below which expired entries are not
	// worth a sweep.
	minSweepLen = 64
	cacheLine   = 64
)

// shardState is one shard of a table: keys mapped to an expiry in
// nanoseconds on the table's clock. An entry whose expiry is not after now
// carries no information and may be dropped.
type shardState struct {
	mu sync.Mutex
	m  map[string]int64
	// sweepAt is the size at which the next insert first drops expired
	// entries. It doubles the live size after each sweep, so sweeping costs
	// O(1) amortized per insert and a shard never holds more than about
	// twice the keys that were live at its last sweep.
	sweepAt int
}

// shard pads shardState to whole cache lines so that neighbouring mutexes
// do not share one under parallel load.
type shard struct {
	shardState
	_ [cacheLine - unsafe.Sizeof(shardState{})%cacheLine]byte
}

// table is a sharded map of expiring int64 values.
type table struct {
	seed   maphash.Seed
	shards [numShards]shard
}

func newTable() *table {
	t := &table{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].m = make(map[string]int64)
		t.shards[i].sweepAt = minSweepLen
	}
	return t
}

func (t *table) shard(key string) *shard {
	return &t.shards[maphash.String(t.seed, key)&(numShards-1)]
}

// insert stores a new key (one not in the map), sweeping first when the
// shard has grown enough. The key is cloned so that the map never pins a
// larger buffer the caller sliced it from. s.mu must be held.
func (s *shard) insert(key string, v, now int64) {
	if len(s.m) >= s.sweepAt {
		s.sweep(now)
	}
	s.m[strings.Clone(key)] = v
}

// sweep drops the entries that expired by now. s.mu must be held.
func (s *shard) sweep(now int64) {
	for k, v := range s.m {
		if v <= now {
			delete(s.m, k)
		}
	}
	s.sweepAt = max(2*len(s.m), minSweepLen)
}

// sweepAll drops every expired entry of the table.
func (t *table) sweepAll(now int64) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.sweep(now)
		s.mu.Unlock()
	}
}

// len counts the entries of the table, expired ones included.
func (t *table) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Memory is an in-process GCRA limiter with the semantics of redis_rate.
// It is safe for concurrent use. It keeps one theoretical arrival time (TAT)
// per key and forgets a key once its TAT has passed, as the key is then back
// to a full burst; memory is thereby bounded by the keys active within one
// burst window (Period*Burst/Rate), not by every key ever seen.
type Memory struct {
	now  func() time.Time
	base time.Time
	tats *table
}

// NewMemory returns an empty Memory limiter reading time from now, or from
// time.Now when now is nil (tests pass a fake clock).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, base: now(), tats: newTable()}
}

// clock returns the time in nanoseconds since m was created. Subtracting
// from base keeps time.Now's monotonic reading, so wall clock jumps do not
// lock keys out or hand out free bursts.
func (m *Memory) clock() int64 { return int64(m.now().Sub(m.base)) }

// Allow charges one request to key under limit l using GCRA: every request
// pushes the key's TAT one emission interval (Period/Rate) forward, and a
// request is allowed when the new TAT is at most Burst intervals ahead of
// now. Denied requests leave the TAT as it was.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	if err := l.Validate(); err != nil {
		return Result{}, fmt.Errorf("ratelimit: %w", err)
	}
	e := l.emission()
	offset := e * int64(l.Burst)
	now := m.clock()

	s := m.tats.shard(key)
	s.mu.Lock()
	tat, ok := s.m[key]
	if !ok || tat < now {
		tat = now
	}
	newTAT := tat + e
	diff := now - (newTAT - offset)
	if diff < 0 {
		s.mu.Unlock()
		return Result{
			Limit:      l,
			Allowed:    0,
			Remaining:  0,
			RetryAfter: time.Duration(-diff),
			ResetAfter: time.Duration(tat - now),
		}, nil
	}
	if ok {
		s.m[key] = newTAT
	} else {
		s.insert(key, newTAT, now)
	}
	s.mu.Unlock()
	return Result{
		Limit:      l,
		Allowed:    1,
		Remaining:  int(diff / e),
		RetryAfter: -1,
		ResetAfter: time.Duration(newTAT - now),
	}, nil
}

// Sweep forgets every key whose TAT has passed. Allow already does this as
// shards grow; a server may also call Sweep periodically to give memory back
// after a burst of one-off keys.
func (m *Memory) Sweep() { m.tats.sweepAll(m.clock()) }

// Len returns the number of keys held, including ones not yet swept.
func (m *Memory) Len() int { return m.tats.len() }

// MemoryLockStore is an in-process LockStore, safe for concurrent use.
// Expired locks are dropped as the store grows, so its memory is bounded by
// the keys locked at a time.
type MemoryLockStore struct {
	now   func() time.Time
	locks *table // key → end of the lock in Unix nanoseconds
}

// NewMemoryLockStore returns an empty store reading time from now, or from
// time.Now when now is nil.
func NewMemoryLockStore(now func() time.Time) *MemoryLockStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryLockStore{now: now, locks: newTable()}
}

// LockedUntil returns the end of key's lock, or the zero time if key is not
// locked.
func (s *MemoryLockStore) LockedUntil(_ context.Context, key string) (time.Time, error) {
	now := s.now().UnixNano()
	sh := s.locks.shard(key)
	sh.mu.Lock()
	until, ok := sh.m[key]
	if ok && until <= now {
		delete(sh.m, key)
		ok = false
	}
	sh.mu.Unlock()
	if !ok {
		return time.Time{}, nil
	}
	return time.Unix(0, until), nil
}

// Lock locks key until the given time, keeping an existing lock that ends
// later. A lock that would already be over is not recorded.
func (s *MemoryLockStore) Lock(_ context.Context, key string, until time.Time) error {
	nowT := s.now()
	if !until.After(nowT) {
		return nil
	}
	now, u := nowT.UnixNano(), unixNano(until)
	sh := s.locks.shard(key)
	sh.mu.Lock()
	cur, ok := sh.m[key]
	switch {
	case !ok:
		sh.insert(key, u, now)
	case cur < u:
		sh.m[key] = u
	}
	sh.mu.Unlock()
	return nil
}

// unixNano is t.UnixNano clamped to the int64 range, since UnixNano is
// undefined after 2262 and a caller may lock a key "forever".
func unixNano(t time.Time) int64 {
	if maxT := time.Unix(0, math.MaxInt64); t.After(maxT) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Sweep drops every expired lock.
func (s *MemoryLockStore) Sweep() { s.locks.sweepAll(s.now().UnixNano()) }

// Len returns the number of locks held, including expired ones not yet
// swept.
func (s *MemoryLockStore) Len() int { return s.locks.len() }
