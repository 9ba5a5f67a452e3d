// Package httpapi is the HTTP face of aipd: the v2 REST API, its
// authentication, rate limits, audit trail and error shapes.
//
// routes.go is the route table; middleware.go holds the request pipeline
// (client IP → IP limit → Hawk → org limit → handler → Server-Authorization);
// every other file serves one resource.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/ratelimit"
)

// Mailer sends one plain-text email. The SMTP implementation lives in
// internal/mail; tests use a recorder.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Config is everything the API server needs, passed explicitly.
type Config struct {
	Store   aip.Store
	Keyring *keyring.Keyring
	// Nonces is the Hawk replay cache, shared by every server of a cluster.
	Nonces hawk.NonceStore
	// Limiter is the GCRA backend for both limits; Locks holds IP lockouts.
	Limiter ratelimit.Limiter
	Locks   ratelimit.LockStore
	// OrgLimit is charged after Hawk verifies, per organization.
	OrgLimit ratelimit.Limit
	// IPLimit is charged before authentication, per client IP; exceeding it
	// locks the IP out for IPLockout.
	IPLimit   ratelimit.Limit
	IPLockout time.Duration
	// AgentIPLimit replaces IPLimit on the agent API (/agent/v1/…), in its
	// own bucket: a fleet behind one NAT address sends far more requests
	// than people do, and must not lock its owners out of the v2 API or
	// be locked out by them (60,000 a minute when zero).
	AgentIPLimit ratelimit.Limit
	// TrustedProxies are the networks whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed.
	TrustedProxies []netip.Prefix
	// PublicURL, when set, fixes the host and port Hawk MACs are checked
	// against (clients sign the URL they call, which a proxy may rewrite).
	PublicURL *url.URL
	// MaxBodyBytes caps request bodies (413 beyond); 1 MiB when zero.
	MaxBodyBytes int64
	// Mailer sends invites; nil means the accept link is logged instead.
	Mailer Mailer
	// Metrics records Prometheus metrics; nil disables them.
	Metrics *Metrics
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Skew is the accepted Hawk timestamp skew; 60 s when zero.
	Skew time.Duration
	// AgentOfflineAfter is the silence after which an agent counts as
	// offline; 5 minutes when zero.
	AgentOfflineAfter time.Duration
	// AgentMaxBodyBytes caps the bodies of agent requests, larger than
	// user requests since event batches go there (413 beyond); 16 MiB when
	// zero.
	AgentMaxBodyBytes int64
	// MaxConcurrentIngests bounds the event batches processed at once;
	// beyond it POST /agent/v1/events answers 503 with Retry-After. Twice
	// GOMAXPROCS when zero.
	MaxConcurrentIngests int
}

// Server serves the API. Create it with New and stop it with Close, which
// flushes the audit log.
type Server struct {
	cfg     Config
	logger  *slog.Logger
	now     func() time.Time
	hawk    *hawk.Server
	tokens  *aip.TokenCodec
	routes  *routeTable
	audit   *auditWriter
	lockout *ratelimit.Lockout
	metrics *Metrics

	// agentHawk authenticates agents: same nonce store, agent credentials.
	agentHawk *hawk.Server
	// ingestSlots is the semaphore of concurrent event batches.
	ingestSlots chan struct{}
	pipeline    *pipeline

	// touched throttles lastAuthenticatedAt writes to one a minute per user.
	touched sync.Map // user id → time.Time

	// background tracks invite mails still being sent at shutdown.
	background sync.WaitGroup
}

// New checks cfg and builds a Server. The audit writer starts at once.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("httpapi: Config.Store is required")
	case cfg.Keyring == nil:
		return nil, errors.New("httpapi: Config.Keyring is required")
	case cfg.Limiter == nil || cfg.Locks == nil:
		return nil, errors.New("httpapi: Config.Limiter and Config.Locks are required")
	case cfg.Nonces == nil:
		return nil, errors.New("httpapi: Config.Nonces is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Skew <= 0 {
		cfg.Skew = 60 * time.Second
	}
	if cfg.AgentOfflineAfter <= 0 {
		cfg.AgentOfflineAfter = 5 * time.Minute
	}
	if cfg.AgentMaxBodyBytes <= 0 {
		cfg.AgentMaxBodyBytes = 16 << 20
	}
	if cfg.MaxConcurrentIngests <= 0 {
		cfg.MaxConcurrentIngests = 2 * runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OrgLimit.Rate == 0 {
		cfg.OrgLimit = ratelimit.PerMinute(200)
	}
	if cfg.IPLimit.Rate == 0 {
		cfg.IPLimit = ratelimit.PerMinute(1000)
	}
	if cfg.AgentIPLimit.Rate == 0 {
		cfg.AgentIPLimit = ratelimit.PerMinute(60_000)
	}
	if cfg.IPLockout <= 0 {
		cfg.IPLockout = 15 * time.Minute
	}
	s := &Server{
		cfg:     cfg,
		logger:  cfg.Logger,
		now:     cfg.Now,
		tokens:  aip.NewTokenCodec(cfg.Keyring.TokenKey(), cfg.Now),
		metrics: cfg.Metrics,
		lockout: &ratelimit.Lockout{Limiter: cfg.Limiter, Locks: cfg.Locks, Duration: cfg.IPLockout, Now: cfg.Now},
	}
	s.hawk = &hawk.Server{Credentials: s.lookupCredentials, Nonces: cfg.Nonces, Skew: cfg.Skew, Now: cfg.Now}
	s.agentHawk = &hawk.Server{Credentials: s.lookupAgentCredentials, Nonces: cfg.Nonces, Skew: cfg.Skew, Now: cfg.Now}
	s.ingestSlots = make(chan struct{}, cfg.MaxConcurrentIngests)
	s.pipeline = newPipeline(cfg.Store, cfg.Logger)
	s.audit = newAuditWriter(cfg.Store, cfg.Logger)
	s.routes = s.newRouteTable()
	return s, nil
}

// onlineSince is the status cutoff: agents that reported at or after it
// are online.
func (s *Server) onlineSince() time.Time { return s.now().Add(-s.cfg.AgentOfflineAfter) }

// Close waits for pending invite mails and flushes the audit log. Call it
// after the HTTP server has stopped accepting requests.
func (s *Server) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.background.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return s.audit.Close(ctx)
}
