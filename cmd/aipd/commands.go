package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/mail"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/keyring"
)

// envOr returns the environment variable name, or def when it is unset, so
// every flag can also come from the environment.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// envErrors collects environment variables that do not parse, by the flag
// they set. A bad value is only an error when the flag is not given, which
// overrides it.
type envErrors map[string]error

func (e envErrors) int(flag, name string, def int) int {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e[flag] = fmt.Errorf("environment variable %s=%q is not an integer", name, v)
		return def
	}
	return n
}

func (e envErrors) bool(flag, name string, def bool) bool {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e[flag] = fmt.Errorf("environment variable %s=%q is not a boolean such as 1 or 0", name, v)
		return def
	}
	return b
}

func (e envErrors) duration(flag, name string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e[flag] = fmt.Errorf("environment variable %s=%q is not a duration such as 15m or 30s", name, v)
		return def
	}
	return d
}

// check returns the errors of the bad variables whose flags cmd did not set.
func (e envErrors) check(cmd *cobra.Command) error {
	flags := make([]string, 0, len(e))
	for f := range e {
		flags = append(flags, f)
	}
	slices.Sort(flags)
	var errs []error
	for _, f := range flags {
		if !cmd.Flags().Changed(f) {
			errs = append(errs, e[f])
		}
	}
	return errors.Join(errs...)
}

// groupCommand is a command that only holds subcommands. Without a RunE,
// cobra prints help and exits 0 for a mistyped subcommand, which a script
// would take for success.
func groupCommand(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("%s needs a subcommand; see %s --help", cmd.CommandPath(), cmd.CommandPath())
			}
			return fmt.Errorf("unknown command %q for %s; see %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())
		},
	}
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "aipd",
		Short:         "aipd serves the AIP v2 REST API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCommand(stdout, stderr), newAdminCommand(stdout, stderr))
	return root
}

// serveOptions are the serve flags, parsed into config by config.
type serveOptions struct {
	cfg            app.Config
	trustedProxies string
	logLevel       string
	agentMaxBody   string
	demoFleet      bool
	env            envErrors
}

func newServeCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API (bootstraps an organization on an empty data dir)",
		Args:  cobra.NoArgs,
	}
	o := addServeFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, level, err := o.config(cmd)
		if err != nil {
			return err
		}
		logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
		m := &app.Main{Config: cfg, Logger: logger, Stdout: stdout}
		if err := m.Open(cmd.Context()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "aipd: serving the API on http://%s (data in %s)\n", m.Addr(), cfg.DataDir)
		// The demo stops before Close, so that its requests are not cut
		// by the shutdown.
		demoCtx, stopDemo := context.WithCancel(cmd.Context())
		demoDone := make(chan struct{})
		if o.demoFleet {
			orgID, err := m.DemoOrgID(cmd.Context())
			if err != nil {
				stopDemo()
				return errors.Join(err, m.Close())
			}
			go func() {
				defer close(demoDone)
				if err := m.RunDemo(demoCtx, orgID); err != nil {
					logger.Error("demo stopped", slog.Any("error", err))
				}
			}()
			fmt.Fprintf(stdout, "aipd: demo: %d simulated agents are sending events to organization %s; alerts appear within seconds: "+
				"go run ./cmd/aip raw '/v2/alerts?status=active'\n", app.DemoAgents, orgID)
		} else {
			close(demoDone)
		}
		waitErr := m.Wait(cmd.Context())
		stopDemo()
		<-demoDone
		if waitErr != nil {
			logger.Error("aipd listener failed, shutting down", slog.Any("error", waitErr))
		} else {
			logger.Info("aipd shutting down", slog.Duration("timeout", m.Config.ShutdownTimeout))
		}
		return errors.Join(waitErr, m.Close())
	}
	return cmd
}

// config checks the parsed flags and the environment variables standing in
// for the flags not given, and returns the server's configuration and log
// level.
func (o *serveOptions) config(cmd *cobra.Command) (app.Config, slog.Level, error) {
	var level slog.Level
	if err := o.env.check(cmd); err != nil {
		return app.Config{}, level, err
	}
	cfg := o.cfg
	// URLs may carry passwords: their env values are read here rather than
	// shown as flag defaults in --help.
	if !cmd.Flags().Changed("database-url") {
		cfg.DatabaseURL = os.Getenv("AIP_DATABASE_URL")
	}
	if !cmd.Flags().Changed("redis-url") {
		cfg.RedisURL = os.Getenv("AIP_REDIS_URL")
	}
	if !cmd.Flags().Changed("smtp-password") {
		cfg.SMTP.Password = os.Getenv("AIP_SMTP_PASSWORD")
	}
	if cfg.EventRetention < 0 {
		return app.Config{}, level, fmt.Errorf("--event-retention %v: want a positive duration, or 0 to keep events forever", cfg.EventRetention)
	}
	var err error
	if cfg.AgentMaxBodyBytes, err = parseBytes(o.agentMaxBody); err != nil || cfg.AgentMaxBodyBytes <= 0 {
		name := "--agent-max-body"
		if !cmd.Flags().Changed("agent-max-body") {
			name = "--agent-max-body (or env AIP_AGENT_MAX_BODY)"
		}
		return app.Config{}, level, fmt.Errorf("%s %q: want a positive size in bytes such as 16777216 or 16MiB", name, o.agentMaxBody)
	}
	if cfg.MaxConcurrentIngests < 0 {
		return app.Config{}, level, fmt.Errorf("--max-concurrent-ingests %d: want a positive number, or 0 for twice GOMAXPROCS", cfg.MaxConcurrentIngests)
	}
	if cfg.TrustedProxies, err = parsePrefixes(o.trustedProxies); err != nil {
		return app.Config{}, level, err
	}
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return app.Config{}, level, fmt.Errorf("--log-level: %w", err)
	}
	return cfg, level, nil
}

// addServeFlags defines the serve flags on cmd, with their defaults taken
// from the AIP_* environment variables.
func addServeFlags(cmd *cobra.Command) *serveOptions {
	o := &serveOptions{env: envErrors{}}
	cfg, env := &o.cfg, o.env
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", envOr("AIP_ADDR", "127.0.0.1:8080"), "API listen address (env AIP_ADDR)")
	f.StringVar(&cfg.DataDir, "data", envOr("AIP_DATA", "./aip-data"), "data directory (env AIP_DATA)")
	f.StringVar(&cfg.MasterKeyFile, "master-key-file", envOr("AIP_MASTER_KEY_FILE", ""), "master key file (default <data>/master.key; env AIP_MASTER_KEY_FILE)")
	f.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL database (postgres://…) shared by several nodes, instead of SQLite in the data dir (prefer env AIP_DATABASE_URL)")
	f.StringVar(&cfg.RedisURL, "redis-url", "", "Redis (redis://host:port/db) for limits, lockouts and the replay cache shared by several nodes (prefer env AIP_REDIS_URL)")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", envOr("AIP_METRICS_ADDR", ""), "serve Prometheus metrics on this address (env AIP_METRICS_ADDR)")
	f.IntVar(&cfg.OrgRateLimit, "org-rate-limit", env.int("org-rate-limit", "AIP_ORG_RATE_LIMIT", 200), "requests per minute per organization (env AIP_ORG_RATE_LIMIT)")
	f.IntVar(&cfg.IPRateLimit, "ip-rate-limit", env.int("ip-rate-limit", "AIP_IP_RATE_LIMIT", 1000), "requests per minute per client IP (env AIP_IP_RATE_LIMIT)")
	f.DurationVar(&cfg.IPLockout, "ip-lockout", env.duration("ip-lockout", "AIP_IP_LOCKOUT", 15*time.Minute), "lockout of an IP over its limit (env AIP_IP_LOCKOUT)")
	f.StringVar(&o.trustedProxies, "trusted-proxies", envOr("AIP_TRUSTED_PROXIES", ""), "CIDRs whose X-Forwarded-For/-Proto are believed, comma separated (env AIP_TRUSTED_PROXIES)")
	f.StringVar(&cfg.PublicURL, "public-url", envOr("AIP_PUBLIC_URL", ""), "URL clients call, fixing the Hawk host and port (env AIP_PUBLIC_URL)")
	f.DurationVar(&cfg.AgentOfflineAfter, "agent-offline-after", env.duration("agent-offline-after", "AIP_AGENT_OFFLINE_AFTER", 5*time.Minute), "silence after which an agent counts as offline (env AIP_AGENT_OFFLINE_AFTER)")
	f.DurationVar(&cfg.EventRetention, "event-retention", env.duration("event-retention", "AIP_EVENT_RETENTION", app.DefaultEventRetention), "how long events no alert links to are kept; 0 keeps them forever (env AIP_EVENT_RETENTION)")
	f.StringVar(&o.agentMaxBody, "agent-max-body", envOr("AIP_AGENT_MAX_BODY", "16MiB"), "largest agent request body (an event batch) in bytes, or with a KiB, MiB or GiB suffix; 413 beyond (env AIP_AGENT_MAX_BODY)")
	f.IntVar(&cfg.MaxConcurrentIngests, "max-concurrent-ingests", env.int("max-concurrent-ingests", "AIP_MAX_CONCURRENT_INGESTS", 0), "event batches processed at once, beyond which agents get 503 and retry; 0 means twice GOMAXPROCS (env AIP_MAX_CONCURRENT_INGESTS)")
	f.StringVar(&cfg.SMTP.Host, "smtp-host", envOr("AIP_SMTP_HOST", ""), "SMTP server for invites; unset: invite links are logged (env AIP_SMTP_HOST)")
	f.IntVar(&cfg.SMTP.Port, "smtp-port", env.int("smtp-port", "AIP_SMTP_PORT", 587), "SMTP port (env AIP_SMTP_PORT)")
	f.StringVar(&cfg.SMTP.Username, "smtp-username", envOr("AIP_SMTP_USERNAME", ""), "SMTP user (env AIP_SMTP_USERNAME)")
	// No env default here: help output prints defaults, and it must not print the password.
	f.StringVar(&cfg.SMTP.Password, "smtp-password", "", "SMTP password (prefer env AIP_SMTP_PASSWORD, which ps does not show)")
	f.StringVar(&cfg.SMTP.From, "smtp-from", envOr("AIP_SMTP_FROM", ""), "sender address of invite mails (env AIP_SMTP_FROM)")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", env.duration("shutdown-timeout", "AIP_SHUTDOWN_TIMEOUT", 30*time.Second), "how long in-flight requests may take to finish on SIGTERM (env AIP_SHUTDOWN_TIMEOUT)")
	f.StringVar(&o.logLevel, "log-level", envOr("AIP_LOG_LEVEL", "info"), "debug, info, warn or error (env AIP_LOG_LEVEL)")
	f.BoolVar(&cfg.WebhookAllowPrivate, "webhook-allow-private", env.bool("webhook-allow-private", "AIP_WEBHOOK_ALLOW_PRIVATE", false), "let alert webhooks reach loopback, private and link-local addresses (env AIP_WEBHOOK_ALLOW_PRIVATE)")
	f.BoolVar(&o.demoFleet, "demo", env.bool("demo", "AIP_DEMO", false), fmt.Sprintf("run %d simulated agents that send events through the ingest API, so alerts appear within seconds (env AIP_DEMO=1)", app.DemoAgents))
	return o
}

// parseBytes reads a size in bytes: a plain integer, or one with a KiB,
// MiB or GiB suffix (case-insensitive, spaces allowed before it).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(strings.ToLower(s), u.suffix) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse size: %w", err)
	}
	if n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return 0, fmt.Errorf("parse size: %s overflows", s)
	}
	return n * mult, nil
}

// parsePrefixes reads --trusted-proxies: CIDRs and bare addresses (a /32
// or /128), comma separated. IPv4-mapped IPv6 forms are turned into IPv4,
// as the server sees IPv4 peers.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("--trusted-proxies: %q is not a CIDR or IP address", part)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// adminEnv is what every admin command opens: the store and the keyring.
type adminEnv struct {
	dataDir, masterKeyFile, databaseURL string
}

func (e *adminEnv) open(ctx context.Context) (aip.Store, *keyring.Keyring, error) {
	if e.databaseURL == "" {
		e.databaseURL = os.Getenv("AIP_DATABASE_URL")
	}
	return app.OpenDataDir(ctx, app.Config{DataDir: e.dataDir, MasterKeyFile: e.masterKeyFile, DatabaseURL: e.databaseURL})
}

func newAdminCommand(stdout, stderr io.Writer) *cobra.Command {
	env := &adminEnv{}
	admin := groupCommand("admin", "Manage organizations, users, members and keys on the data dir (also while aipd runs)")
	admin.PersistentFlags().StringVar(&env.dataDir, "data", envOr("AIP_DATA", "./aip-data"), "data directory (env AIP_DATA)")
	admin.PersistentFlags().StringVar(&env.masterKeyFile, "master-key-file", envOr("AIP_MASTER_KEY_FILE", ""), "master key file (default <data>/master.key)")
	admin.PersistentFlags().StringVar(&env.databaseURL, "database-url", "",
		"PostgreSQL database (postgres://…) instead of the SQLite file in the data dir (prefer env AIP_DATABASE_URL)")

	// run opens the store, runs fn and prints its KEY=value lines.
	run := func(fn func(ctx context.Context, db aip.Store, kr *keyring.Keyring) ([]string, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			db, kr, err := env.open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			lines, err := fn(cmd.Context(), db, kr)
			if err != nil {
				return err
			}
			for _, l := range lines {
				fmt.Fprintln(stdout, l)
			}
			return nil
		}
	}

	var orgName string
	orgCreate := &cobra.Command{Use: "create", Short: "Create an organization", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, db aip.Store, _ *keyring.Keyring) ([]string, error) {
			if strings.TrimSpace(orgName) == "" {
				return nil, fmt.Errorf("--name is required")
			}
			o, err := app.CreateOrganization(ctx, db, orgName)
			if err != nil {
				return nil, err
			}
			return []string{"ORG_ID=" + o.ID}, nil
		})}
	orgCreate.Flags().StringVar(&orgName, "name", "", "organization name")
	mustRequire(orgCreate, "name")
	org := groupCommand("org", "Organizations")
	org.AddCommand(orgCreate)

	var userOrg, userEmail, userRole, userName string
	userCreate := &cobra.Command{Use: "create", Short: "Create a user with an API key, as a member of an organization", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, db aip.Store, kr *keyring.Keyring) ([]string, error) {
			role := aip.Role(userRole)
			if !role.Valid() {
				return nil, fmt.Errorf("--role must be owner, user or reader")
			}
			if _, err := db.FindOrganizationByID(ctx, userOrg); err != nil {
				return nil, fmt.Errorf("organization %q: %s", userOrg, aip.ErrorMessage(err))
			}
			if _, err := mail.ParseAddress(userEmail); err != nil || !strings.Contains(userEmail, "@") || strings.ContainsAny(userEmail, "<> ") {
				return nil, fmt.Errorf("--email must be a plain email address")
			}
			if userName == "" {
				userName = userEmail
			}
			u, key, err := app.CreateUser(ctx, db, kr, userEmail, userName)
			if err != nil {
				return nil, err
			}
			if err := db.PutMember(ctx, userOrg, u.ID, role); err != nil {
				return nil, err
			}
			return []string{"USER_ID=" + u.ID, "API_KEY=" + key}, nil
		})}
	userCreate.Flags().StringVar(&userOrg, "org", "", "organization id")
	userCreate.Flags().StringVar(&userEmail, "email", "", "email address")
	userCreate.Flags().StringVar(&userRole, "role", "user", "owner, user or reader")
	userCreate.Flags().StringVar(&userName, "name", "", "display name (default: the email)")
	mustRequire(userCreate, "org", "email")
	user := groupCommand("user", "Users")
	user.AddCommand(userCreate, newUserPasswdCommand(env, stdout, stderr))

	var memOrg, memUser, memRole string
	memberAdd := &cobra.Command{Use: "add", Short: "Add a user to an organization, or change its role", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, db aip.Store, _ *keyring.Keyring) ([]string, error) {
			role := aip.Role(memRole)
			if !role.Valid() {
				return nil, fmt.Errorf("--role must be owner, user or reader")
			}
			if err := db.PutMember(ctx, memOrg, memUser, role); err != nil {
				return nil, fmt.Errorf("add member: %s", aip.ErrorMessage(err))
			}
			return []string{"ORG_ID=" + memOrg, "USER_ID=" + memUser, "ROLE=" + memRole}, nil
		})}
	memberAdd.Flags().StringVar(&memOrg, "org", "", "organization id")
	memberAdd.Flags().StringVar(&memUser, "user", "", "user id")
	memberAdd.Flags().StringVar(&memRole, "role", "user", "owner, user or reader")
	mustRequire(memberAdd, "org", "user")
	member := groupCommand("member", "Memberships")
	member.AddCommand(memberAdd)

	var keyUser string
	keyRotate := &cobra.Command{Use: "rotate", Short: "Give a user a new API key; the old one stops working at once", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, db aip.Store, kr *keyring.Keyring) ([]string, error) {
			key, err := app.RotateKey(ctx, db, kr, keyUser)
			if err != nil {
				return nil, err
			}
			return []string{"API_KEY=" + key}, nil
		})}
	keyRotate.Flags().StringVar(&keyUser, "user", "", "user id")
	mustRequire(keyRotate, "user")
	key := groupCommand("key", "API keys")
	key.AddCommand(keyRotate)

	var dkOrg string
	deployKeyCreate := &cobra.Command{Use: "create", Short: "Create a deploy key with which agents enroll into an organization", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, db aip.Store, _ *keyring.Keyring) ([]string, error) {
			key, err := app.CreateDeployKey(ctx, db, dkOrg)
			if err != nil {
				return nil, err
			}
			return []string{"DEPLOY_KEY=" + key}, nil
		})}
	deployKeyCreate.Flags().StringVar(&dkOrg, "org", "", "organization id")
	mustRequire(deployKeyCreate, "org")
	deployKey := groupCommand("deploykey", "Agent deploy keys (only their SHA-256 is stored)")
	deployKey.AddCommand(deployKeyCreate)

	var revOrg, revAgent string
	agentRevoke := &cobra.Command{Use: "revoke", Short: "Revoke an agent: its key stops working at once; it stays listed, offline", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, db aip.Store, _ *keyring.Keyring) ([]string, error) {
			if err := db.RevokeAgent(ctx, revOrg, revAgent); err != nil {
				return nil, fmt.Errorf("revoke agent: %s", aip.ErrorMessage(err))
			}
			return []string{"AGENT_ID=" + revAgent, "REVOKED=true"}, nil
		})}
	agentRevoke.Flags().StringVar(&revOrg, "org", "", "organization id")
	agentRevoke.Flags().StringVar(&revAgent, "agent", "", "agent id")
	mustRequire(agentRevoke, "org")
	mustRequire(agentRevoke, "agent")
	agent := groupCommand("agent", "Agents")
	agent.AddCommand(agentRevoke)

	admin.AddCommand(org, user, member, key, deployKey, agent, newVulnDBCommand(env, stdout, stderr), newEC2Command(env, stdout), newMigrateDataCommand(stdout, stderr))
	return admin
}

// mustRequire marks flags of cmd as required; the names are this file's own,
// so a failure is a programming error caught by any test.
func mustRequire(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if err := cmd.MarkFlagRequired(n); err != nil {
			panic(err)
		}
	}
}
