package redislimit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// NonceStore is a hawk.NonceStore in Redis, so that a request replayed to
// another node is refused: each triple is one key set with SET NX PX ttl.
// It is safe for concurrent use.
//
// Unlike hawk.MemoryNonceStore it knows nothing of timestamps: a triple is
// remembered for ttl after its first use, by Redis's clock, which is the
// NonceStore contract. hawk.Server only passes triples whose ts is within
// ±skew of its clock with ttl = 2×skew, so a replay cannot outlive its key.
type NonceStore struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewNonceStore returns a NonceStore keeping its triples under prefix (e.g.
// "aip:nonce:") in rdb.
func NewNonceStore(rdb redis.UniversalClient, prefix string) *NonceStore {
	return &NonceStore{rdb: rdb, prefix: prefix}
}

// Use implements hawk.NonceStore. A Redis error is returned as is with
// fresh=false: the caller must refuse the request (fail closed) or fall back
// (FallbackNonceStore), never admit it.
func (s *NonceStore) Use(ctx context.Context, id, ts, nonce string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("redislimit: nonce ttl %v is not positive", ttl)
	}
	// Round up to Redis's millisecond: a triple is never forgotten early.
	ttl = (ttl + time.Millisecond - 1) / time.Millisecond * time.Millisecond
	fresh, err := s.rdb.SetNX(ctx, s.prefix+nonceKey(id, ts, nonce), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redislimit: use nonce: %w", err)
	}
	return fresh, nil
}

// nonceKey is a hex SHA-256 (first 128 bits) of the triple, each field
// preceded by its length as a uvarint so that no two triples frame alike.
// Unlike the memory store's key it is unkeyed, since every node must derive
// the same key; SHA-256 needs no secret to resist chosen collisions, and
// hashing bounds the key size whatever a client sends.
func nonceKey(id, ts, nonce string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range [...]string{id, ts, nonce} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}
