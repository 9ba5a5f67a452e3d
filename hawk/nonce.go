package hawk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// NonceStore remembers (id, ts, nonce) triples. All servers of a cluster must
// share one, or a request replayed to another replica passes.
type NonceStore interface {
	// Use records the triple and reports fresh=false if it was already
	// recorded within ttl.
	Use(ctx context.Context, id, ts, nonce string, ttl time.Duration) (fresh bool, err error)
}

// ErrNonceStoreFull is wrapped by the error MemoryNonceStore.Use returns when
// it holds maxEntries live triples. The server must then refuse the request
// (503): forgetting old triples would let replays through.
var ErrNonceStoreFull = errors.New("nonce store full")

// DefaultMaxNonceEntries is the cap NewMemoryNonceStore uses when given none.
const DefaultMaxNonceEntries = 1 << 20

// MemoryNonceStore is an in-process NonceStore for a single server. It is
// safe for concurrent use. Memory stays bounded two ways: triples live in two
// generations, rotated every ttl, so an entry is dropped between ttl and
// 2×ttl after it was recorded; and at most maxEntries triples are held.
type MemoryNonceStore struct {
	max int
	now func() time.Time // injected by tests; time.Now otherwise

	mu        sync.Mutex
	cur, prev map[string]int64 // triple → expiry in Unix nanoseconds
	rotatedAt int64            // Unix nanoseconds of the last rotation
}

// NewMemoryNonceStore returns an empty store that holds at most maxEntries
// triples (DefaultMaxNonceEntries when maxEntries <= 0).
func NewMemoryNonceStore(maxEntries int) *MemoryNonceStore {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxNonceEntries
	}
	return &MemoryNonceStore{
		max:  maxEntries,
		now:  time.Now,
		cur:  make(map[string]int64),
		prev: make(map[string]int64),
	}
}

// Use implements NonceStore. The triple is keyed with NUL separators, which
// the Hawk grammar forbids inside values, so distinct triples never collide.
func (m *MemoryNonceStore) Use(ctx context.Context, id, ts, nonce string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("hawk: nonce ttl %v is not positive", ttl)
	}
	key := id + "\x00" + ts + "\x00" + nonce
	now := m.now().UnixNano()

	m.mu.Lock()
	defer m.mu.Unlock()
	m.rotate(now, int64(ttl))
	if exp, ok := m.cur[key]; ok && exp > now {
		return false, nil
	}
	if exp, ok := m.prev[key]; ok && exp > now {
		return false, nil
	}
	if len(m.cur)+len(m.prev) >= m.max {
		return false, fmt.Errorf("hawk: remember nonce: %w (%d entries)", ErrNonceStoreFull, m.max)
	}
	m.cur[key] = now + int64(ttl)
	return true, nil
}

// rotate drops the older generation once per ttl. Entries of the dropped
// generation were recorded at least ttl ago, so none of them still counts.
func (m *MemoryNonceStore) rotate(now, ttl int64) {
	switch age := now - m.rotatedAt; {
	case age >= 2*ttl:
		m.prev = make(map[string]int64)
		m.cur = make(map[string]int64)
		m.rotatedAt = now
	case age >= ttl:
		// Fresh maps rather than clear(): a burst must not pin its memory.
		m.prev, m.cur = m.cur, make(map[string]int64, len(m.cur))
		m.rotatedAt = now
	}
}

// Len reports how many triples the store holds, expired ones included until
// their generation is dropped.
func (m *MemoryNonceStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cur) + len(m.prev)
}
