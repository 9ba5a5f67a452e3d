// Package redislimit moves the state that several aipd nodes must share to
// Redis: the organization and IP limits (Limiter), the IP lockout
// (LockStore) and the Hawk replay cache (NonceStore).
//
// The limiter is github.com/go-redis/redis_rate: GCRA in one Lua script that
// reads Redis TIME, so every node charges one budget on one clock whatever
// the nodes' own clocks say. Lockouts and nonces are plain keys with a
// millisecond expiry.
//
// The Fallback wrappers keep a node serving when Redis is unreachable: they
// answer from per-node memory until Redis answers again. See FallbackOptions
// for what that costs (limits and replay protection become per node during
// the outage).
package redislimit
