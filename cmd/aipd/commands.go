package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/store/sqlite"
)

// envOr returns the environment variable name, or def when it is unset, so
// every flag can also come from the environment.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "aipd",
		Short:         "aipd serves the AIP v2 REST API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCommand(stdout, stderr), newAdminCommand(stdout))
	return root
}

func newServeCommand(stdout, stderr io.Writer) *cobra.Command {
	var (
		cfg            app.Config
		trustedProxies string
		logLevel       string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API (bootstraps an organization on an empty data dir)",
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if cfg.TrustedProxies, err = parsePrefixes(trustedProxies); err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
			m := &app.Main{Config: cfg, Logger: logger, Stdout: stdout}
			if err := m.Open(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "aipd: serving the API on http://%s (data in %s)\n", m.Addr(), cfg.DataDir)
			waitErr := m.Wait(cmd.Context())
			logger.Info("aipd shutting down")
			if err := m.Close(); err != nil {
				return err
			}
			return waitErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", envOr("AIP_ADDR", "127.0.0.1:8080"), "API listen address (env AIP_ADDR)")
	f.StringVar(&cfg.DataDir, "data", envOr("AIP_DATA", "./aip-data"), "data directory (env AIP_DATA)")
	f.StringVar(&cfg.MasterKeyFile, "master-key-file", envOr("AIP_MASTER_KEY_FILE", ""), "master key file (default <data>/master.key; env AIP_MASTER_KEY_FILE)")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", envOr("AIP_METRICS_ADDR", ""), "serve Prometheus metrics on this address (env AIP_METRICS_ADDR)")
	f.IntVar(&cfg.OrgRateLimit, "org-rate-limit", envInt("AIP_ORG_RATE_LIMIT", 200), "requests per minute per organization (env AIP_ORG_RATE_LIMIT)")
	f.IntVar(&cfg.IPRateLimit, "ip-rate-limit", envInt("AIP_IP_RATE_LIMIT", 1000), "requests per minute per client IP (env AIP_IP_RATE_LIMIT)")
	f.DurationVar(&cfg.IPLockout, "ip-lockout", envDuration("AIP_IP_LOCKOUT", 15*time.Minute), "lockout of an IP over its limit (env AIP_IP_LOCKOUT)")
	f.StringVar(&trustedProxies, "trusted-proxies", envOr("AIP_TRUSTED_PROXIES", ""), "CIDRs whose X-Forwarded-For/-Proto are believed, comma separated (env AIP_TRUSTED_PROXIES)")
	f.StringVar(&cfg.PublicURL, "public-url", envOr("AIP_PUBLIC_URL", ""), "URL clients call, fixing the Hawk host and port (env AIP_PUBLIC_URL)")
	f.StringVar(&cfg.SMTP.Host, "smtp-host", envOr("AIP_SMTP_HOST", ""), "SMTP server for invites; unset: invite links are logged (env AIP_SMTP_HOST)")
	f.IntVar(&cfg.SMTP.Port, "smtp-port", envInt("AIP_SMTP_PORT", 587), "SMTP port (env AIP_SMTP_PORT)")
	f.StringVar(&cfg.SMTP.Username, "smtp-username", envOr("AIP_SMTP_USERNAME", ""), "SMTP user (env AIP_SMTP_USERNAME)")
	f.StringVar(&cfg.SMTP.Password, "smtp-password", envOr("AIP_SMTP_PASSWORD", ""), "SMTP password (prefer env AIP_SMTP_PASSWORD)")
	f.StringVar(&cfg.SMTP.From, "smtp-from", envOr("AIP_SMTP_FROM", ""), "sender address of invite mails (env AIP_SMTP_FROM)")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", envDuration("AIP_SHUTDOWN_TIMEOUT", 30*time.Second), "how long in-flight requests may take to finish on SIGTERM")
	f.StringVar(&logLevel, "log-level", envOr("AIP_LOG_LEVEL", "info"), "debug, info, warn or error (env AIP_LOG_LEVEL)")
	return cmd
}

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
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is not a CIDR or address", part)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// adminEnv is what every admin command opens: the store and the keyring.
type adminEnv struct {
	dataDir, masterKeyFile string
}

func (e *adminEnv) open(ctx context.Context) (*sqlite.DB, *keyring.Keyring, error) {
	cfg := app.Config{DataDir: e.dataDir, MasterKeyFile: e.masterKeyFile}
	if err := os.MkdirAll(e.dataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create data dir: %w", err)
	}
	kr, _, err := keyring.LoadOrCreate(cfg.MasterKeyPath())
	if err != nil {
		return nil, nil, fmt.Errorf("master key: %w", err)
	}
	db, err := sqlite.Open(ctx, cfg.DatabasePath())
	if err != nil {
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	return db, kr, nil
}

func newAdminCommand(stdout io.Writer) *cobra.Command {
	env := &adminEnv{}
	admin := &cobra.Command{
		Use:   "admin",
		Short: "Manage organizations, users, members and keys on the data dir (also while aipd runs)",
	}
	admin.PersistentFlags().StringVar(&env.dataDir, "data", envOr("AIP_DATA", "./aip-data"), "data directory (env AIP_DATA)")
	admin.PersistentFlags().StringVar(&env.masterKeyFile, "master-key-file", envOr("AIP_MASTER_KEY_FILE", ""), "master key file (default <data>/master.key)")

	// run opens the store, runs fn and prints its KEY=value lines.
	run := func(fn func(ctx context.Context, db *sqlite.DB, kr *keyring.Keyring) ([]string, error)) func(*cobra.Command, []string) error {
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
		RunE: run(func(ctx context.Context, db *sqlite.DB, _ *keyring.Keyring) ([]string, error) {
			if strings.TrimSpace(orgName) == "" {
				return nil, fmt.Errorf("--name is required")
			}
			o := &aip.Organization{Name: orgName}
			if err := db.CreateOrganization(ctx, o); err != nil {
				return nil, err
			}
			return []string{"ORG_ID=" + o.ID}, nil
		})}
	orgCreate.Flags().StringVar(&orgName, "name", "", "organization name")
	org := &cobra.Command{Use: "org", Short: "Organizations"}
	org.AddCommand(orgCreate)

	var userOrg, userEmail, userRole, userName string
	userCreate := &cobra.Command{Use: "create", Short: "Create a user with an API key, as a member of an organization", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, db *sqlite.DB, kr *keyring.Keyring) ([]string, error) {
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
	user := &cobra.Command{Use: "user", Short: "Users"}
	user.AddCommand(userCreate)

	var memOrg, memUser, memRole string
	memberAdd := &cobra.Command{Use: "add", Short: "Add a user to an organization, or change its role", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, db *sqlite.DB, _ *keyring.Keyring) ([]string, error) {
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
	member := &cobra.Command{Use: "member", Short: "Memberships"}
	member.AddCommand(memberAdd)

	var keyUser string
	keyRotate := &cobra.Command{Use: "rotate", Short: "Give a user a new API key; the old one stops working at once", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, db *sqlite.DB, kr *keyring.Keyring) ([]string, error) {
			key, err := app.RotateKey(ctx, db, kr, keyUser)
			if err != nil {
				return nil, err
			}
			return []string{"API_KEY=" + key}, nil
		})}
	keyRotate.Flags().StringVar(&keyUser, "user", "", "user id")
	key := &cobra.Command{Use: "key", Short: "API keys"}
	key.AddCommand(keyRotate)

	admin.AddCommand(org, user, member, key)
	return admin
}
