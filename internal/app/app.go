// Package app wires aipd together: configuration in, a running server out.
// cmd/aipd is a thin shell around Main, and the end-to-end tests boot the
// very same Main on 127.0.0.1:0.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/mail"
	"github.com/aipsec/aip/internal/ratelimit"
	"github.com/aipsec/aip/internal/store/sqlite"
)

// Config is aipd's configuration, filled from flags and environment.
type Config struct {
	// Addr is the API listen address (127.0.0.1:8080 by default).
	Addr string
	// DataDir holds the SQLite database, the master key and credentials.env.
	DataDir string
	// MasterKeyFile overrides <DataDir>/master.key.
	MasterKeyFile string
	// MetricsAddr, when set, serves Prometheus metrics on its own listener.
	MetricsAddr string

	OrgRateLimit   int // requests per minute per organization
	IPRateLimit    int // requests per minute per client IP
	IPLockout      time.Duration
	TrustedProxies []netip.Prefix
	PublicURL      string

	SMTP mail.Config

	// ShutdownTimeout bounds the graceful drain of in-flight requests.
	ShutdownTimeout time.Duration
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

	store       *sqlite.DB
	api         *httpapi.Server
	server      *http.Server
	listener    net.Listener
	metricsSrv  *http.Server
	metricsLn   net.Listener
	serveErr    chan error
	Bootstrap   *Bootstrap // set when this start bootstrapped the data dir
	credentials string
}

// Open starts serving and returns once the listeners are bound.
func (m *Main) Open(ctx context.Context) (err error) {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	cfg := m.Config
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	m.Config = cfg
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	kr, _, err := keyring.LoadOrCreate(cfg.MasterKeyPath())
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	_, statErr := os.Stat(cfg.DatabasePath())
	fresh := errors.Is(statErr, os.ErrNotExist)
	m.store, err = sqlite.Open(ctx, cfg.DatabasePath())
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer func() {
		if err != nil {
			m.store.Close()
		}
	}()

	var publicURL *url.URL
	if cfg.PublicURL != "" {
		if publicURL, err = url.Parse(cfg.PublicURL); err != nil || publicURL.Host == "" {
			return fmt.Errorf("invalid public URL %q: want scheme://host[:port]", cfg.PublicURL)
		}
	}
	m.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer func() {
		if err != nil {
			m.listener.Close()
		}
	}()

	if fresh {
		endpoint := "http://" + m.listener.Addr().String()
		if publicURL != nil {
			endpoint = publicURL.String()
		}
		m.Bootstrap, err = bootstrap(ctx, m.store, kr, endpoint, cfg.CredentialsPath())
		if err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		fmt.Fprintf(m.Stdout, "aipd: first start: created organization %s and owner user %s.\n", m.Bootstrap.OrgID, m.Bootstrap.UserID)
		fmt.Fprintf(m.Stdout, "aipd: credentials written to %s (keep it secret).\n", cfg.CredentialsPath())
		fmt.Fprintf(m.Stdout, "aipd: call the API with them, e.g.:  set -a; . %s; set +a; go run ./cmd/aip raw /help/hawk/self-test\n", cfg.CredentialsPath())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := httpapi.NewMetrics(reg)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	var mailer httpapi.Mailer
	if cfg.SMTP.Host != "" {
		if mailer, err = mail.NewSMTP(cfg.SMTP); err != nil {
			return err
		}
	}
	limiter := ratelimit.NewMemory(nil)
	m.api, err = httpapi.New(httpapi.Config{
		Store:          m.store,
		Keyring:        kr,
		Nonces:         hawk.NewMemoryNonceStore(1 << 20),
		Limiter:        limiter,
		Locks:          ratelimit.NewMemoryLockStore(nil),
		OrgLimit:       ratelimit.PerMinute(orDefault(cfg.OrgRateLimit, 200)),
		IPLimit:        ratelimit.PerMinute(orDefault(cfg.IPRateLimit, 1000)),
		IPLockout:      cfg.IPLockout,
		TrustedProxies: cfg.TrustedProxies,
		PublicURL:      publicURL,
		Mailer:         mailer,
		Metrics:        metrics,
		Logger:         m.Logger,
	})
	if err != nil {
		return err
	}
	m.server = &http.Server{
		Handler:           m.api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.serveErr = make(chan error, 2)
	go func() { m.serveErr <- m.server.Serve(m.listener) }()

	if cfg.MetricsAddr != "" {
		m.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		m.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { m.serveErr <- m.metricsSrv.Serve(m.metricsLn) }()
	}
	m.Logger.Info("aipd serving", slog.String("addr", m.listener.Addr().String()),
		slog.String("data_dir", cfg.DataDir), slog.String("metrics_addr", cfg.MetricsAddr))
	return nil
}

// Addr is the bound API address (useful with port 0).
func (m *Main) Addr() string { return m.listener.Addr().String() }

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
// ShutdownTimeout), flushes the audit log and closes the database.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	var errs []error
	if m.server != nil {
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown api: %w", err))
		}
	}
	if m.metricsSrv != nil {
		if err := m.metricsSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown metrics: %w", err))
		}
	}
	if m.api != nil {
		if err := m.api.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush audit log: %w", err))
		}
	}
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
	}
	return errors.Join(errs...)
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
