package hawk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// NonceStore remembers (id, ts, nonce) triples. All servers of a cluster must
// share one, or a request replayed to another replica passes.
type NonceStore interface {
	// Use records the triple and reports fresh=false if it was already
	// recorded within ttl. Server.Authenticate passes ttl = 2×skew, and only
	// triples whose ts is within ±skew of its clock.
	Use(ctx context.Context, id, ts, nonce string, ttl time.Duration) (fresh bool, err error)
}

// ErrNonceStoreFull is wrapped by the error MemoryNonceStore.Use returns when
// it holds maxEntries live triples. The server must then refuse the request
// (503): forgetting live triples would let replays through.
var ErrNonceStoreFull = errors.New("nonce store full")

// DefaultMaxNonceEntries is the cap NewMemoryNonceStore uses when given none.
// A triple costs 20 to 40 bytes, 32 to 38 measured (see MemoryNonceStore), so
// a full store holds about 150 MB. With the default 60 s skew it fills at a
// sustained 4<<20 / 121 s ≈ 34,000 verified requests per second if every
// client runs a full skew ahead, at about 68,000 if client clocks are right.
const DefaultMaxNonceEntries = 4 << 20

// nonceShards is the number of independently locked parts of a
// MemoryNonceStore, so that requests on many cores rarely wait on each other.
const nonceShards = 64

// nonceKey is the 128-bit keyed hash of a triple; see MemoryNonceStore.
type nonceKey [16]byte

// MemoryNonceStore is an in-process NonceStore for a single server. It is
// safe for concurrent use.
//
// A triple only has to be remembered while a request carrying it could still
// pass the timestamp check, that is until now > ts + ttl/2. So triples are
// grouped by their ts second and a whole second is dropped once it is past;
// the store then holds at most rate × (ttl + 1 s) triples however long the
// load lasts. Within a second, a triple is kept as a 128-bit keyed hash in a
// map[[16]byte]struct{}: 17 bytes a slot, and as the map's tables are powers
// of two filled up to 7/8, 20 to 40 bytes an entry; no strings are retained.
//
// Hashing can only merge distinct triples, never split equal ones, so its
// only possible error is a false "replay" (a 401 the client retries), never a
// missed replay. The key is two maphash sums under independent random seeds,
// over length-prefixed fields so that no two triples frame alike. A fresh
// triple collides with one of the at most n held keys with probability
// n/2^128: with n = 4<<20 = 2^22 that is 2^-106 per request, below 2^-66 over
// a trillion (2^40) requests. The seeds are secret and per store, so a client
// cannot aim for a collision either.
//
// Triples whose ts is outside [now - ttl/2, now + ttl/2] by the store's
// clock (ttl the largest in use) never come from a Server sharing that clock:
// it answers them "Stale timestamp" first. They are handled defensively, failing closed:
//   - a ts at most one window (ttl + 1 s) below the latest second the store
//     dropped is answered fresh=false: that triple may have been forgotten,
//     and answering fresh could admit a replay (e.g. of a request whose clock
//     check passed at the very edge of the skew and which reached the store
//     after its second expired, or after the clock stepped back). A ts
//     further below can only have been forgotten across a clock jump longer
//     than a window, which the store cannot cover any more than a restart;
//     refusing it would turn a short clock glitch into an outage as long as
//     the jump;
//   - any other such triple (a ts never bucketed, a far-future ts, or a ts
//     that is not a decimal number) is kept as a "stray" with its own expiry
//     of ttl after its use, dropped between ttl and 2×ttl, which is the
//     NonceStore contract. That serves callers whose clock differs from the
//     store's (tests with a pinned Server.Now) without letting a far-future
//     ts pin memory for longer than 2×ttl.
//
// At most maxEntries triples are held, strays included. When a new triple
// would exceed that even after dropping every expired second, Use fails with
// ErrNonceStoreFull rather than forget live triples.
type MemoryNonceStore struct {
	max          int64
	now          func() time.Time // injected by tests; time.Now otherwise
	seed0, seed1 maphash.Seed

	// maxHalf is the largest ttl/2 (rounded up, in nanoseconds) seen so far:
	// seconds are kept for it, so that callers with different skews sharing
	// the store never drop each other's live triples.
	maxHalf atomic.Int64
	count   atomic.Int64 // triples held by all shards, expired ones until swept
	// dropped is one past the largest second any shard dropped: a triple with
	// an earlier ts may have been forgotten. It rises about once a second.
	dropped atomic.Int64

	shards [nonceShards]nonceShard
}

// nonceShard holds the triples whose key selects it. Triples of one shard are
// guarded by one mutex; keys are uniform, so the shards fill evenly.
type nonceShard struct {
	mu sync.Mutex

	// buckets maps a ts second to the keys of its triples.
	buckets map[int64]map[nonceKey]struct{}
	// minTS is the smallest second in buckets (MaxInt64 when empty), so that
	// most calls know without a scan that nothing expired.
	minTS int64

	// Strays live in two generations rotated every 2×maxHalf, with their
	// expiry in Unix nanoseconds.
	strayCur, strayPrev map[nonceKey]int64
	strayRotated        int64

	_ [8]byte // pads to 64 bytes: keeps neighbouring shards' mutexes off one cache line
}

// NewMemoryNonceStore returns an empty store that holds at most maxEntries
// triples (DefaultMaxNonceEntries when maxEntries <= 0).
func NewMemoryNonceStore(maxEntries int) *MemoryNonceStore {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxNonceEntries
	}
	m := &MemoryNonceStore{
		max:   int64(maxEntries),
		now:   time.Now,
		seed0: maphash.MakeSeed(),
		seed1: maphash.MakeSeed(),
	}
	m.dropped.Store(math.MinInt64)
	for i := range m.shards {
		m.shards[i].minTS = math.MaxInt64
	}
	return m
}

// Use implements NonceStore. ts is expected to be the decimal Unix seconds
// that ParseHeader admits; see MemoryNonceStore for any other value.
func (m *MemoryNonceStore) Use(ctx context.Context, id, ts, nonce string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("hawk: nonce ttl %v is not positive", ttl)
	}
	key := m.key(id, ts, nonce)
	sec, err := strconv.ParseInt(ts, 10, 64)
	bucketable := err == nil
	half := m.observeHalf(ttl)
	sh := &m.shards[key[15]%nonceShards]

	for swept := false; ; swept = true {
		nowNs := m.now().UnixNano()
		lo, hi := window(nowNs, half)

		sh.mu.Lock()
		sh.expire(m, lo, nowNs, 2*half)
		fresh, err := sh.use(m, key, sec, bucketable, lo, hi, nowNs, int64(ttl))
		sh.mu.Unlock()
		if !errors.Is(err, ErrNonceStoreFull) || swept {
			return fresh, err
		}
		// Other shards may hold expired seconds nobody has touched since;
		// drop them before refusing. Done without our lock held, so two
		// sweeping shards cannot deadlock; the retry re-checks the triple.
		m.sweep()
	}
}

// use looks the triple up and records it if new, under sh.mu.
func (sh *nonceShard) use(m *MemoryNonceStore, key nonceKey, sec int64, bucketable bool, lo, hi, nowNs, ttl int64) (bool, error) {
	span := hi - lo + 2 // seconds a window spans, with room for a partial second
	if bucketable {
		if d := m.dropped.Load(); sec < d && sec >= d-span {
			return false, nil // its second may have been forgotten: fail closed
		}
		if _, seen := sh.buckets[sec][key]; seen {
			return false, nil
		}
	}
	// A triple recorded as a stray while its ts was in the future is still
	// found once the ts comes into the window.
	if len(sh.strayCur)+len(sh.strayPrev) > 0 && sh.strayLive(key, nowNs) {
		return false, nil
	}
	if m.count.Add(1) > m.max {
		m.count.Add(-1)
		return false, fmt.Errorf("hawk: remember nonce: %w (%d entries)", ErrNonceStoreFull, m.max)
	}
	if bucketable && sec >= lo && sec <= hi {
		b := sh.buckets[sec]
		if b == nil {
			if sh.buckets == nil {
				sh.buckets = make(map[int64]map[nonceKey]struct{})
			}
			// Sized like the previous second, so that under steady load a
			// second's map is allocated once instead of growing step by
			// step. After a burst this over-allocates one second at most.
			b = make(map[nonceKey]struct{}, len(sh.buckets[sec-1]))
			sh.buckets[sec] = b
			sh.minTS = min(sh.minTS, sec)
		}
		b[key] = struct{}{}
		return true, nil
	}
	if sh.strayCur == nil {
		sh.strayCur = make(map[nonceKey]int64)
	}
	if _, ok := sh.strayCur[key]; ok {
		m.count.Add(-1) // an expired entry of the current generation is reused
	}
	sh.strayCur[key] = nowNs + ttl
	return true, nil
}

// strayLive reports whether key is an unexpired stray.
func (sh *nonceShard) strayLive(key nonceKey, nowNs int64) bool {
	if exp, ok := sh.strayCur[key]; ok && exp > nowNs {
		return true
	}
	exp, ok := sh.strayPrev[key]
	return ok && exp > nowNs
}

// expire drops the seconds before lo and rotates the stray generations once
// per period, under sh.mu.
func (sh *nonceShard) expire(m *MemoryNonceStore, lo, nowNs, period int64) {
	if sh.minTS < lo {
		next, dropped := int64(math.MaxInt64), int64(math.MinInt64)
		for sec, b := range sh.buckets {
			if sec >= lo {
				next = min(next, sec)
				continue
			}
			delete(sh.buckets, sec)
			m.count.Add(-int64(len(b)))
			dropped = max(dropped, sec+1)
		}
		sh.minTS = next
		for cur := m.dropped.Load(); dropped > cur && !m.dropped.CompareAndSwap(cur, dropped); cur = m.dropped.Load() {
		}
	}
	switch age := nowNs - sh.strayRotated; {
	case age >= 2*period:
		m.count.Add(-int64(len(sh.strayCur) + len(sh.strayPrev)))
		sh.strayCur, sh.strayPrev = nil, nil
		sh.strayRotated = nowNs
	case age >= period:
		// Every entry of the dropped generation was recorded at least one
		// period (≥ its ttl) ago.
		m.count.Add(-int64(len(sh.strayPrev)))
		sh.strayPrev, sh.strayCur = sh.strayCur, nil
		sh.strayRotated = nowNs
	}
}

// sweep expires every shard.
func (m *MemoryNonceStore) sweep() {
	half := m.maxHalf.Load()
	nowNs := m.now().UnixNano()
	lo, _ := window(nowNs, half)
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		sh.expire(m, lo, nowNs, 2*half)
		sh.mu.Unlock()
	}
}

// Len reports how many triples the store holds once the expired seconds are
// dropped. Strays count until their generation is dropped.
func (m *MemoryNonceStore) Len() int {
	m.sweep()
	return int(m.count.Load())
}

// observeHalf raises maxHalf to ttl/2 (rounded up, so that the window is
// never narrower than the caller's) and returns the new maximum.
func (m *MemoryNonceStore) observeHalf(ttl time.Duration) int64 {
	half := int64(ttl/2 + ttl%2)
	for {
		cur := m.maxHalf.Load()
		if half <= cur {
			return cur
		}
		if m.maxHalf.CompareAndSwap(cur, half) {
			return half
		}
	}
}

// window returns the seconds lo..hi whose triples can still pass a timestamp
// check allowing half nanoseconds either way at nowNs: sec*1e9 within
// [nowNs-half, nowNs+half]. It is computed in seconds so that no operand
// overflows.
func window(nowNs, half int64) (lo, hi int64) {
	const ns = int64(time.Second)
	nowSec, nowFrac := nowNs/ns, nowNs%ns
	if nowFrac < 0 {
		nowSec, nowFrac = nowSec-1, nowFrac+ns
	}
	halfSec, halfFrac := half/ns, half%ns
	lo = nowSec - halfSec
	if nowFrac > halfFrac {
		lo++ // ceiling of (nowNs - half) / 1e9
	}
	hi = nowSec + halfSec
	if nowFrac+halfFrac >= ns {
		hi++ // floor of (nowNs + half) / 1e9
	}
	return lo, hi
}

// key is the 128-bit keyed hash of a triple: two maphash sums of the same
// bytes, each field preceded by its length as a uvarint so that no two
// distinct triples feed the same bytes. The buffer lives on the stack unless
// the fields are unusually long.
func (m *MemoryNonceStore) key(id, ts, nonce string) nonceKey {
	var buf [128]byte
	b := binary.AppendUvarint(buf[:0], uint64(len(id)))
	b = append(b, id...)
	b = binary.AppendUvarint(b, uint64(len(ts)))
	b = append(b, ts...)
	b = binary.AppendUvarint(b, uint64(len(nonce)))
	b = append(b, nonce...)
	var k nonceKey
	binary.LittleEndian.PutUint64(k[:8], maphash.Bytes(m.seed0, b))
	binary.LittleEndian.PutUint64(k[8:], maphash.Bytes(m.seed1, b))
	return k
}
