package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/ratelimit"
	redislimit "github.com/aipsec/aip/internal/ratelimit/redis"
	"github.com/aipsec/aip/internal/store/postgres"
)

// redisTimeout bounds every Redis call: a request must not wait long for a
// Redis that is down before the per-node fallback answers it.
const redisTimeout = 250 * time.Millisecond

// redisPrefix namespaces aipd's keys in a Redis shared with other software.
const redisPrefix = "aip:"

// sharedState is the state several nodes must share: the rate limiter, the
// IP lockouts and the Hawk replay cache. Without Redis it lives in this
// process's memory.
type sharedState struct {
	limiter ratelimit.Limiter
	locks   ratelimit.LockStore
	nonces  hawk.NonceStore
	rdb     *redis.Client
}

// sharedState builds the limiter, lockout store and replay cache: in
// memory, or in Redis (cfg.RedisURL) with a per-node memory fallback while
// Redis is unreachable (logged, counted in aip_redis_fallback_total, and
// recovered from automatically).
func (m *Main) sharedState(cfg Config, metrics *httpapi.Metrics) (*sharedState, error) {
	local := &sharedState{
		limiter: ratelimit.NewMemory(nil),
		locks:   ratelimit.NewMemoryLockStore(nil),
		nonces:  hawk.NewMemoryNonceStore(hawk.DefaultMaxNonceEntries),
	}
	if cfg.RedisURL == "" {
		return local, nil
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		// The URL may carry a password: never echo it.
		return nil, errors.New("invalid --redis-url: want redis://[user:password@]host:port/db")
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = redisTimeout, redisTimeout, redisTimeout
	opt.MaxRetries, opt.DialerRetries = 0, 1
	rdb := redis.NewClient(opt)
	fo := redislimit.FallbackOptions{Logger: m.Logger, OnFallback: metrics.RedisFallback, OnRecover: metrics.RedisRecovered}
	return &sharedState{
		limiter: redislimit.NewFallbackLimiter(redislimit.NewLimiter(rdb, redisPrefix), local.limiter, fo),
		locks:   redislimit.NewFallbackLockStore(redislimit.NewLockStore(rdb, redisPrefix), local.locks, fo),
		nonces:  redislimit.NewFallbackNonceStore(redislimit.NewNonceStore(rdb, redisPrefix), local.nonces, fo),
		rdb:     rdb,
	}, nil
}

// close releases the Redis client, if any.
func (s *sharedState) close() error {
	if s == nil || s.rdb == nil {
		return nil
	}
	err := s.rdb.Close()
	s.rdb = nil
	return err
}

// bootstrapShared loads the master key and, on a database no node has set
// up yet, bootstraps the first organization, all under the database's
// cluster-wide lock: of several nodes starting at once on an empty
// database exactly one bootstraps (and writes credentials.env into its own
// data dir); the others find the organization and must share its master key.
func (m *Main) bootstrapShared(ctx context.Context, db *postgres.DB, endpoint string) (*keyring.Keyring, error) {
	var kr *keyring.Keyring
	err := db.WithBootstrapLock(ctx, func(ctx context.Context) error {
		n, err := db.CountOrganizations(ctx)
		if err != nil {
			return fmt.Errorf("open database: %w", err)
		}
		fresh := n == 0
		if err := checkMasterKeyPresent(m.Config, fresh); err != nil {
			return err
		}
		if kr, _, err = keyring.LoadOrCreate(m.Config.MasterKeyPath()); err != nil {
			return fmt.Errorf("master key: %w", err)
		}
		if !fresh {
			return nil
		}
		if m.Bootstrap, err = bootstrap(ctx, db, kr, endpoint, m.Config.CredentialsPath()); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		return nil
	})
	return kr, err
}
