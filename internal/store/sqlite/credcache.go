package sqlite

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aipsec/aip"
)

const (
	// credCacheMaxAge bounds how long an entry is trusted without a
	// generation change: the window in which a change nobody announced (a
	// process that crashed between its commit and its bump, a hand edit of
	// the file) can go unseen.
	credCacheMaxAge = time.Minute
	// credCacheMaxEntries bounds the cache's memory. Entries are keyed by
	// (user, organization) and the organization comes from the request
	// before it is authenticated, but an attacker also needs a real user id
	// and each entry lives at most credCacheMaxAge, so the per-IP rate
	// limit caps what one client can put in.
	credCacheMaxEntries = 100_000
)

// credCache keeps FindCredentials results so that authenticating a request
// does not cost a query. It is exact across processes: every write that can
// change credentials bumps the shared generation counter after it commits,
// and an entry is only served while the generation is the one read before
// the query that produced it.
type credCache struct {
	gen        *credGen // nil: no cache on this system
	now        func() time.Time
	maxAge     time.Duration
	maxEntries int
	// queries counts FindCredentials queries, so tests can tell hits from
	// misses; afterQuery, when set by a test, runs between a query and the
	// caching of its result, the window a concurrent change must not slip
	// through.
	queries    atomic.Uint64
	afterQuery func()

	// mu guards the fields below and the mapping itself: readers hold it
	// while touching the mapping so that close cannot unmap under them.
	mu     sync.RWMutex
	closed bool
	// entriesGen is the generation every entry in users was read at.
	entriesGen uint64
	users      map[string]map[string]*credEntry // user id → org id → entry
	size       int
}

// credEntry is one cached FindCredentials result. Its fields are never
// modified after insertion, except user.LastAuthenticatedAt under mu's
// write lock; key's bytes are never modified at all.
type credEntry struct {
	user    aip.User
	key     []byte
	role    aip.Role
	expires time.Time
}

func newCredCache(gen *credGen) *credCache {
	return &credCache{
		gen: gen, now: time.Now, maxAge: credCacheMaxAge, maxEntries: credCacheMaxEntries,
		users: map[string]map[string]*credEntry{},
	}
}

// get returns a copy of the cached credentials of (userID, orgID), or nil on
// a miss. On a miss, cacheable reports whether the result of a query may be
// cached, and gen is the generation to hand to put: it is read here, before
// the query, so a change committed while the query runs makes the entry
// stale from the start.
func (c *credCache) get(userID, orgID string) (creds *aip.Credentials, gen uint64, cacheable bool) {
	if c.gen == nil {
		return nil, 0, false
	}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return nil, 0, false
	}
	gen = c.gen.load()
	var e *credEntry
	if gen == c.entriesGen {
		e = c.users[userID][orgID]
	}
	if e == nil || !c.now().Before(e.expires) {
		c.mu.RUnlock()
		return nil, gen, true
	}
	user, key, role := e.user, e.key, e.role
	c.mu.RUnlock()

	out := &struct {
		c aip.Credentials
		u aip.User
	}{u: user}
	out.c = aip.Credentials{User: &out.u, EncryptedKey: bytes.Clone(key), Role: role}
	return &out.c, 0, false
}

// put caches a copy of creds, read from the database at generation gen.
func (c *credCache) put(gen uint64, userID, orgID string, creds *aip.Credentials) {
	e := &credEntry{
		user: *creds.User, key: bytes.Clone(creds.EncryptedKey), role: creds.Role,
		expires: c.now().Add(c.maxAge),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if cur := c.gen.load(); cur != c.entriesGen {
		// Every entry is stale: drop them all now rather than one by one.
		clear(c.users)
		c.size = 0
		c.entriesGen = cur
	}
	if gen != c.entriesGen {
		return // something changed while the query ran
	}
	orgs := c.users[userID]
	if orgs == nil {
		orgs = map[string]*credEntry{}
		c.users[userID] = orgs
	}
	if _, ok := orgs[orgID]; !ok {
		if c.size >= c.maxEntries {
			c.evict()
			if orgs = c.users[userID]; orgs == nil {
				orgs = map[string]*credEntry{}
				c.users[userID] = orgs
			}
		}
		c.size++
	}
	orgs[orgID] = e
}

// evict makes room when the cache is full: it drops the expired entries,
// and if that is not enough, arbitrary ones (map order is random) down to
// seven eighths of the limit, so that a full cache sweeps once per many
// insertions rather than on each. The caller holds the write lock.
func (c *credCache) evict() {
	now := c.now()
	for u, orgs := range c.users {
		for o, e := range orgs {
			if !now.Before(e.expires) {
				delete(orgs, o)
				c.size--
			}
		}
		if len(orgs) == 0 {
			delete(c.users, u)
		}
	}
	target := c.maxEntries - c.maxEntries/8
	for u, orgs := range c.users {
		if c.size < target {
			break
		}
		c.size -= len(orgs)
		delete(c.users, u)
	}
}

// touched moves the cached LastAuthenticatedAt of userID forward to t after
// TouchAuthenticated stored it, so that this process reads its own write.
// Touches are not credential changes and bump nothing: a touch by another
// process shows here once the entry expires.
func (c *credCache) touched(userID string, t time.Time) {
	if c.gen == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.users[userID] {
		if t.After(e.user.LastAuthenticatedAt) {
			e.user.LastAuthenticatedAt = t
		}
	}
}

// bump announces a committed credential change to every handle on the
// database, in this process and in others. Every write to the users or
// memberships tables that can change a FindCredentials result must call it
// after its transaction ends.
func (c *credCache) bump() {
	if c.gen == nil {
		return
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed {
		c.gen.bump()
	}
}

// close drops the entries and unmaps the generation counter.
func (c *credCache) close() error {
	if c.gen == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.users = nil
	c.size = 0
	return c.gen.close()
}
