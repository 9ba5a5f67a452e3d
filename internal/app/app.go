// Package app wires aipd together: configuration in, a running server out.
// cmd/aipd is a thin shell around Main, and the end-to-end tests boot the
// very same Main on 127.0.0.1:0.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/mail"
	"github.com/aipsec/aip/internal/ratelimit"
	"github.com/aipsec/aip/internal/store/postgres"
	"github.com/aipsec/aip/internal/store/sqlite"
	"github.com/aipsec/aip/internal/webhook"
)

// Config is aipd's configuration, filled from flags and environment.
type Config struct {
	// Addr is the API listen address (127.0.0.1:8080 by default).
	Addr string
	// DataDir holds the SQLite database, the master key and credentials.env.
	DataDir string
	// MasterKeyFile overrides <DataDir>/master.key. Nodes sharing a
	// database must share the key.
	MasterKeyFile string
	// DatabaseURL (postgres://…) selects PostgreSQL instead of the SQLite
	// file in DataDir, for several nodes sharing one database.
	DatabaseURL string
	// RedisURL (redis://…) moves the rate limits, IP lockouts and Hawk
	// replay cache to Redis, shared by every node; empty keeps them in
	// this process's memory.
	RedisURL string
	// MetricsAddr, when set, serves Prometheus metrics on its own listener.
	MetricsAddr string

	OrgRateLimit   int // requests per minute per organization
	IPRateLimit    int // requests per minute per client IP
	IPLockout      time.Duration
	TrustedProxies []netip.Prefix
	PublicURL      string
	// AgentOfflineAfter is the silence after which an agent counts as
	// offline (5 minutes when zero).
	AgentOfflineAfter time.Duration
	// AgentMaxBodyBytes caps the body of an agent request, an event batch
	// mostly (413 beyond); httpapi's 16 MiB when zero.
	AgentMaxBodyBytes int64
	// MaxConcurrentIngests bounds the event batches processed at once,
	// beyond which ingest answers 503 with Retry-After; httpapi's twice
	// GOMAXPROCS when zero.
	MaxConcurrentIngests int

	SMTP mail.Config

	// ShutdownTimeout bounds the graceful drain of in-flight requests
	// (30 s when zero); the audit log then gets as long again to flush.
	ShutdownTimeout time.Duration

	// The HTTP server's limits, which cut off slow and stalled clients;
	// zero means the default in parentheses. They apply to the metrics
	// listener too.
	//
	// ReadHeaderTimeout (10 s) bounds the wait for a request's headers: a
	// connection that connects and stalls is closed after it.
	ReadHeaderTimeout time.Duration
	// ReadTimeout (30 s) bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout (60 s) bounds a request from the end of its headers to
	// the end of its response.
	WriteTimeout time.Duration
	// IdleTimeout (120 s) closes keep-alive connections without requests.
	IdleTimeout time.Duration
	// MaxHeaderBytes (64 KiB) caps request line plus headers (431 beyond).
	MaxHeaderBytes int

	// WebhookAllowPrivate lets alert webhook deliveries reach loopback,
	// private and link-local addresses. Webhook URLs are tenant input, so
	// leave it false unless every tenant is trusted (tests, a single-team
	// install delivering to a receiver on its own network).
	WebhookAllowPrivate bool
	// WebhookPollInterval is how often the webhook dispatcher looks for due
	// deliveries (1 s when zero).
	WebhookPollInterval time.Duration

	// EventRetention is how long events no alert links to are kept,
	// counted from their arrival; zero disables the deletion (the flag
	// defaults to DefaultEventRetention). Events linked to an alert are
	// kept as long as the alert.
	EventRetention time.Duration
	// RetentionInterval is how often expired events are swept
	// (DefaultRetentionInterval when zero).
	RetentionInterval time.Duration

	// ExportPollInterval is how often the S3 exporter looks for events to
	// export (1 s when zero); ExportFlushAfter the age of the oldest
	// unexported event that flushes a batch short of 10,000 (1 min when
	// zero).
	ExportPollInterval time.Duration
	ExportFlushAfter   time.Duration
}

// Defaults of the Config fields left zero.
const (
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
)

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	orDuration := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	orDuration(&c.ShutdownTimeout, DefaultShutdownTimeout)
	orDuration(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	orDuration(&c.ReadTimeout, DefaultReadTimeout)
	orDuration(&c.WriteTimeout, DefaultWriteTimeout)
	orDuration(&c.IdleTimeout, DefaultIdleTimeout)
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return c
}

// httpServer is an http.Server for h with c's limits.
func (c Config) httpServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		// "OPTIONS *" would otherwise get net/http's bare 200, outside the
		// pipeline (no JSON, no rate-limit headers).
		DisableGeneralOptionsHandler: true,
	}
}

// MasterKeyPath is where the master key lives for cfg.
func (c Config) MasterKeyPath() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

// DatabasePath is the SQLite file inside the data dir.
func (c Config) DatabasePath() string { return filepath.Join(c.DataDir, "aip.db") }

// CredentialsPath is where the first start writes the owner's credentials.
func (c Config) CredentialsPath() string { return filepath.Join(c.DataDir, "credentials.env") }

// Main is a running aipd.
type Main struct {
	Config Config
	Logger *slog.Logger
	// Stdout receives the human-facing bootstrap message.
	Stdout io.Writer

	store      aip.Store
	api        *httpapi.Server
	server     *http.Server
	listener   net.Listener
	metricsSrv *http.Server
	metricsLn  net.Listener
	serveErr   chan error
	Bootstrap  *Bootstrap // set when this start bootstrapped the data dir

	// shared holds the limiter, lockout and replay cache (in memory, or
	// in Redis shared with other nodes).
	shared *sharedState

	// stopWebhooks cancels the webhook dispatcher; webhooksDone closes
	// once it has recorded its in-flight deliveries.
	stopWebhooks context.CancelFunc
	webhooksDone chan struct{}
	// stopRetention cancels the event retention job; retentionDone closes
	// once it has returned.
	stopRetention context.CancelFunc
	retentionDone chan struct{}
	// stopExport cancels the S3 exporter; exportDone closes once it
	// has returned.
	stopExport context.CancelFunc
	exportDone chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Open starts serving and returns once the listeners are bound. On error
// nothing is left running or open, and a first start that failed leaves no
// database behind, so the next start bootstraps again.
func (m *Main) Open(ctx context.Context) (err error) {
	if m.listener != nil {
		return errors.New("app: Open called twice")
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	cfg := m.Config.withDefaults()
	m.Config = cfg
	if cfg.DataDir == "" {
		return errors.New("app: a data dir is required")
	}
	var publicURL *url.URL
	if cfg.PublicURL != "" {
		publicURL, err = url.Parse(cfg.PublicURL)
		if err != nil || (publicURL.Scheme != "http" && publicURL.Scheme != "https") || publicURL.Host == "" {
			return fmt.Errorf("invalid public URL %q: want http(s)://host[:port]", cfg.PublicURL)
		}
	}
	var mailer httpapi.Mailer
	if cfg.SMTP.Host != "" {
		if mailer, err = mail.NewSMTP(cfg.SMTP); err != nil {
			return err
		}
	}

	// undo releases, newest first, what Open acquired when it fails later.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	var fresh bool
	var kr *keyring.Keyring
	if cfg.DatabaseURL == "" {
		_, statErr := os.Stat(cfg.DatabasePath())
		fresh = errors.Is(statErr, fs.ErrNotExist)
		if statErr != nil && !fresh {
			return fmt.Errorf("open database: %w", statErr)
		}
		if err := checkMasterKeyPresent(cfg, fresh); err != nil {
			return err
		}
		if kr, _, err = keyring.LoadOrCreate(cfg.MasterKeyPath()); err != nil {
			return fmt.Errorf("master key: %w", err)
		}
	}

	// Bind before touching the database, so that a busy port fails the
	// start without creating anything.
	m.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	undo = append(undo, func() { m.listener.Close(); m.listener = nil })
	if cfg.MetricsAddr != "" {
		m.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsAddr, err)
		}
		undo = append(undo, func() { m.metricsLn.Close(); m.metricsLn = nil })
	}
	endpoint := advertisedEndpoint(m.listener.Addr())
	if publicURL != nil {
		endpoint = publicURL.String()
	}

	if cfg.DatabaseURL == "" {
		if fresh {
			// Runs after the store is closed (undo runs newest first).
			undo = append(undo, func() { removeFreshData(cfg, m.Bootstrap != nil); m.Bootstrap = nil })
		}
		db, err := sqlite.Open(ctx, cfg.DatabasePath())
		if err != nil {
			return fmt.Errorf("open database: %w", err)
		}
		m.store = db
		undo = append(undo, func() { m.store.Close(); m.store = nil })
		if fresh {
			m.Bootstrap, err = bootstrap(ctx, m.store, kr, endpoint, cfg.CredentialsPath())
			if err != nil {
				return fmt.Errorf("bootstrap: %w", err)
			}
		}
	} else {
		db, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("open database: %w", err)
		}
		m.store = db
		undo = append(undo, func() { m.store.Close(); m.store = nil })
		if kr, err = m.bootstrapShared(ctx, db, endpoint); err != nil {
			return err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := httpapi.NewMetrics(reg)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	shared, err := m.sharedState(cfg, metrics)
	if err != nil {
		return err
	}
	undo = append(undo, func() { shared.close() })
	m.shared = shared
	m.api, err = httpapi.New(httpapi.Config{
		Store:             m.store,
		Keyring:           kr,
		Nonces:            shared.nonces,
		Limiter:           shared.limiter,
		Locks:             shared.locks,
		OrgLimit:          ratelimit.PerMinute(orDefault(cfg.OrgRateLimit, 200)),
		IPLimit:           ratelimit.PerMinute(orDefault(cfg.IPRateLimit, 1000)),
		IPLockout:         cfg.IPLockout,
		TrustedProxies:    cfg.TrustedProxies,
		PublicURL:         publicURL,
		Mailer:            mailer,
		Metrics:           metrics,
		AgentOfflineAfter: cfg.AgentOfflineAfter,
		AgentMaxBodyBytes: cfg.AgentMaxBodyBytes,
		Logger:            m.Logger,

		MaxConcurrentIngests: cfg.MaxConcurrentIngests,
	})
	if err != nil {
		return err
	}

	root, err := m.withConsole(m.api, kr, publicURL)
	if err != nil {
		return err
	}
	// Nothing can fail from here on.
	m.server = cfg.httpServer(root, m.Logger)
	m.serveErr = make(chan error, 2)
	go func() { m.serveErr <- m.server.Serve(m.listener) }()
	if m.metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		m.metricsSrv = cfg.httpServer(mux, m.Logger)
		go func() { m.serveErr <- m.metricsSrv.Serve(m.metricsLn) }()
	}
	m.startWebhooks(kr)
	m.startRetention()
	m.startExport(kr)
	if b := m.Bootstrap; b != nil {
		fmt.Fprintf(m.Stdout, "aipd: first start: created organization %s and owner user %s.\n", b.OrgID, b.UserID)
		fmt.Fprintf(m.Stdout, "aipd: credentials written to %s (keep it secret).\n", cfg.CredentialsPath())
		fmt.Fprintf(m.Stdout, "aipd: call the API with them, e.g.:  set -a; . %s; set +a; go run ./cmd/aip raw /help/hawk/self-test\n", cfg.CredentialsPath())
	}
	m.Logger.Info("aipd serving", slog.String("addr", m.listener.Addr().String()),
		slog.String("data_dir", cfg.DataDir), slog.String("metrics_addr", m.MetricsAddr()),
		slog.Bool("bootstrapped", m.Bootstrap != nil))
	return nil
}

// checkMasterKeyPresent refuses to start on an existing database whose
// master key file is missing: a new key could not open a single stored API
// key, so creating one would only hide the mistake (a wrong path, a lost
// backup) behind 401s.
func checkMasterKeyPresent(cfg Config, freshDatabase bool) error {
	if freshDatabase {
		return nil
	}
	_, err := os.Stat(cfg.MasterKeyPath())
	if errors.Is(err, fs.ErrNotExist) {
		db := "database " + cfg.DatabasePath() + " exists"
		if cfg.DatabaseURL != "" {
			db = "the database already holds organizations (another node, or an earlier start, set it up)"
		}
		return fmt.Errorf("master key file %s is missing but %s: restore the key from your backup "+
			"or point --master-key-file at it (a new key could not decrypt the stored API keys)",
			cfg.MasterKeyPath(), db)
	}
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	return nil
}

// removeFreshData deletes the database a failed first start created (and
// the credentials it wrote), so the next start bootstraps from scratch
// instead of finding an organization nobody has the key of.
func removeFreshData(cfg Config, credentials bool) {
	db := cfg.DatabasePath()
	for _, p := range []string{db, db + "-wal", db + "-shm", db + "-journal", db + "-credgen"} {
		_ = os.Remove(p)
	}
	if credentials {
		_ = os.Remove(cfg.CredentialsPath())
	}
}

// advertisedEndpoint is the URL written to credentials.env for a listener
// on addr. A wildcard address is no place to connect to: 127.0.0.1 stands
// in for 0.0.0.0, and localhost for [::], which may or may not take IPv4.
func advertisedEndpoint(addr net.Addr) string {
	ap, err := netip.ParseAddrPort(addr.String())
	switch {
	case err != nil:
		return "http://" + addr.String()
	case ap.Addr().IsUnspecified() && ap.Addr().Is4():
		return "http://" + netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port()).String()
	case ap.Addr().IsUnspecified():
		return "http://" + net.JoinHostPort("localhost", strconv.Itoa(int(ap.Port())))
	}
	return "http://" + ap.String()
}

// Addr is the bound API address (useful with port 0), "" before Open.
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// MetricsAddr is the bound metrics address, "" when disabled.
func (m *Main) MetricsAddr() string {
	if m.metricsLn == nil {
		return ""
	}
	return m.metricsLn.Addr().String()
}

// Store exposes the open store to tests and the admin commands.
func (m *Main) Store() aip.Store { return m.store }

// Wait blocks until ctx is done or a listener fails.
func (m *Main) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-m.serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	}
}

// Close stops accepting connections, lets in-flight requests finish (up to
// ShutdownTimeout, after which the remaining connections are cut), flushes
// the audit log and closes the database. Later calls return the first
// call's result; Close after a failed or missing Open does nothing.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	if m.server == nil {
		return nil
	}
	timeout := m.Config.ShutdownTimeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// shutdown drains srv; connections still busy at the deadline are cut,
	// so that a stuck client cannot keep the process alive.
	shutdown := func(name string, srv *http.Server) error {
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
			return fmt.Errorf("shutdown %s: %w", name, err)
		}
		return nil
	}
	metricsDone := make(chan error, 1)
	if m.metricsSrv != nil {
		go func() { metricsDone <- shutdown("metrics", m.metricsSrv) }()
	} else {
		metricsDone <- nil
	}
	var errs []error
	if err := shutdown("api", m.server); err != nil {
		errs = append(errs, err)
	}
	if err := <-metricsDone; err != nil {
		errs = append(errs, err)
	}
	// After the API stopped, so that no alert of an in-flight request is
	// left for the next start; before the store closes, since the
	// dispatcher records the attempts it aborts.
	m.stopWebhooks()
	<-m.webhooksDone
	// Before the store closes: a sweep in progress is cancelled, not cut.
	m.stopRetention()
	<-m.retentionDone
	m.closeExport() // before the store closes
	// The audit log gets its own budget: a slow drain must not cost records.
	flushCtx, flushCancel := context.WithTimeout(context.Background(), timeout)
	defer flushCancel()
	if err := m.api.Close(flushCtx); err != nil {
		errs = append(errs, fmt.Errorf("flush audit log: %w", err))
	}
	if err := m.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	if err := m.shared.close(); err != nil {
		errs = append(errs, fmt.Errorf("close redis: %w", err))
	}
	err := errors.Join(errs...)
	if err != nil {
		m.Logger.Error("aipd stopped with errors", slog.Any("error", err))
	} else {
		m.Logger.Info("aipd stopped")
	}
	return err
}

// startWebhooks runs the alert webhook dispatcher over the store's
// durable outbox until Close.
func (m *Main) startWebhooks(kr *keyring.Keyring) {
	d := &webhook.Dispatcher{
		Outbox:       &httpapi.Outbox{Store: m.store, Keyring: kr, Lease: 2 * webhook.DefaultTimeout, Logger: m.Logger},
		AllowPrivate: m.Config.WebhookAllowPrivate,
		Logger:       m.Logger,
		PollInterval: m.Config.WebhookPollInterval,
		Timeout:      webhook.DefaultTimeout,
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stopWebhooks = cancel
	m.webhooksDone = make(chan struct{})
	go func() {
		defer close(m.webhooksDone)
		if err := d.Run(ctx); err != nil {
			m.Logger.Error("webhook dispatcher stopped", slog.Any("error", err))
		}
	}()
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
