package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/agent"
	"github.com/aipsec/aip/internal/agent/spool"
)

// fileConfig is the optional YAML configuration file (--config).
type fileConfig struct {
	// Hostname overrides the host's name.
	Hostname string `yaml:"hostname"`
	// Tags are reported in heartbeats, e.g. {env: production, role: web}.
	Tags map[string]string `yaml:"tags"`
	// AuthLog overrides /var/log/auth.log or /var/log/secure.
	AuthLog string `yaml:"authLog"`
	// Disable lists collectors not to run: process, login, file, network, packages.
	Disable []string `yaml:"disable"`
	// SpoolMaxBytes bounds the on-disk spool (default 256 MiB); beyond it the
	// oldest events are dropped and counted in heartbeats.
	SpoolMaxBytes int64 `yaml:"spoolMaxBytes"`
	// ProcessScanInterval and NetworkInterval tune the polling collectors.
	ProcessScanInterval time.Duration `yaml:"processScanInterval"`
	NetworkInterval     time.Duration `yaml:"networkInterval"`
}

func loadFileConfig(path string) (*fileConfig, error) {
	cfg := &fileConfig{}
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && err != io.EOF {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	for _, d := range cfg.Disable {
		if !slices.Contains([]string{"process", "login", "file", "network", "packages"}, d) {
			return nil, fmt.Errorf("config %s: unknown collector %q in disable (process, login, file, network, packages)", path, d)
		}
	}
	return cfg, nil
}

// tags turns the config's tag map into heartbeat tags, sorted by key.
func (c *fileConfig) tags() []aip.Tag {
	keys := make([]string, 0, len(c.Tags))
	for k := range c.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]aip.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, aip.Tag{Source: "agent", Key: k, Value: c.Tags[k]})
	}
	return out
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	var stateDir, configPath, logLevel string
	root := &cobra.Command{
		Use:           "aip-agent",
		Short:         "The aip host agent",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&stateDir, "state-dir", envOr("AIP_AGENT_STATE_DIR", agent.DefaultStateDir), "identity and spool directory (env AIP_AGENT_STATE_DIR)")
	pf.StringVar(&configPath, "config", envOr("AIP_AGENT_CONFIG", ""), "YAML configuration file: hostname, tags, authLog, disable, spoolMaxBytes (env AIP_AGENT_CONFIG)")
	pf.StringVar(&logLevel, "log-level", envOr("AIP_AGENT_LOG_LEVEL", "info"), "debug, info, warn or error")
	logger := func() (*slog.Logger, error) {
		var level slog.Level
		if err := level.UnmarshalText([]byte(logLevel)); err != nil {
			return nil, fmt.Errorf("invalid --log-level %q", logLevel)
		}
		return slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})), nil
	}

	var server, deployKey, rulesets, hostname string
	setup := &cobra.Command{
		Use:   "setup --server URL --deploy-key KEY",
		Short: "Enroll this host once and store the agent's identity (0600) in the state dir",
		Example: "  aip-agent setup --server https://aip.example.com --deploy-key \"$DEPLOY_KEY\"\n" +
			"  aip-agent setup --server http://10.0.0.5:8080 --deploy-key \"$DEPLOY_KEY\" --ruleset \"Base Rule Set,Web\" --hostname web-1",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadFileConfig(configPath)
			if err != nil {
				return err
			}
			if deployKey == "" {
				deployKey = os.Getenv("AIP_DEPLOY_KEY")
			}
			if server == "" || deployKey == "" {
				return fmt.Errorf("--server and --deploy-key (or env AIP_DEPLOY_KEY) are required")
			}
			var names []string
			for _, n := range strings.Split(rulesets, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
			if hostname == "" {
				hostname = cfg.Hostname
			}
			id, err := agent.Setup(cmd.Context(), agent.SetupOptions{Server: server, DeployKey: deployKey, Rulesets: names,
				Hostname: hostname, Tags: cfg.tags(), StateDir: stateDir})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "AGENT_ID=%s\nSTATE_DIR=%s\n", id.AgentID, stateDir)
			return nil
		},
	}
	setup.Flags().StringVar(&server, "server", envOr("AIP_SERVER", ""), "server URL, e.g. https://aip.example.com (env AIP_SERVER)")
	setup.Flags().StringVar(&deployKey, "deploy-key", "", "deploy key from `aipd admin deploykey create` (prefer env AIP_DEPLOY_KEY)")
	setup.Flags().StringVar(&rulesets, "ruleset", "", "rulesets to run, comma separated (default: the server's Base Rule Set)")
	setup.Flags().StringVar(&hostname, "hostname", "", "host name to report (default: the system's)")

	run := &cobra.Command{
		Use:     "run",
		Short:   "Run the agent in the foreground (SIGTERM or Ctrl-C stops it; unsent events stay spooled)",
		Example: "  aip-agent run\n  aip-agent run --state-dir /var/lib/aip-agent --config /etc/aip-agent/config.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadFileConfig(configPath)
			if err != nil {
				return err
			}
			log, err := logger()
			if err != nil {
				return err
			}
			cols, files, pkgs := agent.DefaultCollectors(stateDir, agent.CollectorConfig{
				ProcessScanInterval: cfg.ProcessScanInterval, NetworkInterval: cfg.NetworkInterval,
				AuthLog: cfg.AuthLog, Disable: cfg.Disable,
			}, log)
			return agent.Run(cmd.Context(), agent.Options{
				StateDir: stateDir, Hostname: cfg.Hostname, Tags: cfg.tags(),
				Collectors: cols, Files: files, Packages: pkgs,
				Spool:  spool.Options{MaxBytes: cfg.SpoolMaxBytes},
				Logger: log,
			})
		},
	}
	version := &cobra.Command{
		Use:   "version",
		Short: "Print the agent's version",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(stdout, "aip-agent", agent.Version) },
	}
	root.AddCommand(setup, run, version)
	return root
}
