package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// Config keys, as `aip config set` takes them and the file stores them.
const (
	keyEndpoint = "endpoint"
	keyUserID   = "user-id"
	keyAPIKey   = "api-key"
	keyOrgID    = "organization-id"
)

// configKeys are the valid keys, in display order.
var configKeys = []string{keyEndpoint, keyUserID, keyAPIKey, keyOrgID}

// profile maps config keys to values.
type profile map[string]string

// config is the config file: named profiles and the current one.
type config struct {
	Current  string             `yaml:"current,omitempty"`
	Profiles map[string]profile `yaml:"profiles,omitempty"`
}

// configPath is $AIP_CONFIG, else <user config dir>/aip/config.yaml.
func (a *app) configPath() string {
	if p := a.env.Getenv("AIP_CONFIG"); p != "" {
		return p
	}
	dir, err := a.env.UserConfigDir()
	if err != nil {
		// No home: a relative path still works and says where it went.
		dir = "."
	}
	return filepath.Join(dir, "aip", "config.yaml")
}

// loadConfig reads the config file; a missing file is an empty config.
func loadConfig(path string) (*config, error) {
	cfg := &config{Profiles: map[string]profile{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if err := yaml.Unmarshal(b, cfg); err != nil {
		return nil, &usageError{fmt.Errorf("config file %s: %w", path, err)}
	}
	if cfg.Profiles == nil {
		cfg.Profiles = map[string]profile{}
	}
	return cfg, nil
}

// save writes cfg to path (mode 0600, directory 0700) through a temporary
// file, so that a crash never leaves half a file of secrets.
func (cfg *config) save(path string) error {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// targetProfile is the profile config commands change: --profile, else
// the current one, else "default".
func (a *app) targetProfile(cfg *config) string {
	return firstNonEmpty(a.flags.profile, cfg.Current, "default")
}

func checkKey(key string) error {
	if !slices.Contains(configKeys, key) {
		return usageErrorf("unknown config key %q (want one of %s)", key, strings.Join(configKeys, ", "))
	}
	return nil
}

// maskSecret shows only the last 4 characters of a secret.
func maskSecret(s string) string {
	if len(s) <= 8 {
		return strings.Repeat("*", len(s))
	}
	return "****" + s[len(s)-4:]
}

// newConfigCommand is `aip config …`.
func newConfigCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Manage credential profiles in the config file",
		Long: `Manage named credential profiles in the config file.

` + credentialsHelp + `

Commands that change a profile act on --profile, else the current profile,
else "default". The first profile written becomes the current one.`,
		Example: `  aip config import-env --profile prod /var/lib/aipd/credentials.env
  aip config set endpoint https://aip.example.com --profile prod
  aip config use prod
  aip config list`,
		Args: noArgs,
	}
	cmd.AddCommand(newConfigSetCommand(a), newConfigGetCommand(a), newConfigListCommand(a),
		newConfigUseCommand(a), newConfigImportEnvCommand(a))
	return cmd
}

func init() { register(newConfigCommand) }

// update loads the config, applies change and saves it.
func (a *app) updateConfig(change func(*config) error) error {
	path := a.configPath()
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	if err := change(cfg); err != nil {
		return err
	}
	return cfg.save(path)
}

// setValues writes kv into the target profile, making it current when the
// file had none.
func (a *app) setValues(cfg *config, kv map[string]string) string {
	name := a.targetProfile(cfg)
	p := cfg.Profiles[name]
	if p == nil {
		p = profile{}
		cfg.Profiles[name] = p
	}
	for k, v := range kv {
		p[k] = v
	}
	if cfg.Current == "" {
		cfg.Current = name
	}
	return name
}

func newConfigSetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Set a value in a profile",
		Long:  "Set KEY (" + strings.Join(configKeys, ", ") + ") to VALUE in a profile.",
		Example: `  aip config set endpoint http://127.0.0.1:8080
  aip config set api-key "$KEY" --profile staging`,
		ValidArgs: configKeys,
		Args:      exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkKey(args[0]); err != nil {
				return err
			}
			return a.updateConfig(func(cfg *config) error {
				a.setValues(cfg, map[string]string{args[0]: args[1]})
				return nil
			})
		},
	}
}

func newConfigGetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:       "get KEY",
		Short:     "Print a value of a profile",
		Example:   `  aip config get endpoint --profile prod`,
		ValidArgs: configKeys,
		Args:      exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkKey(args[0]); err != nil {
				return err
			}
			cfg, err := loadConfig(a.configPath())
			if err != nil {
				return err
			}
			name := a.targetProfile(cfg)
			v, ok := cfg.Profiles[name][args[0]]
			if !ok {
				return usageErrorf("%s is not set in profile %q", args[0], name)
			}
			_, err = fmt.Fprintln(a.env.Stdout, v)
			return err
		},
	}
}

// profileRow is one line of `aip config list`; the API key is masked.
type profileRow struct {
	Name           string `json:"name"`
	Current        bool   `json:"current"`
	Endpoint       string `json:"endpoint"`
	UserID         string `json:"userId"`
	APIKey         string `json:"apiKey"`
	OrganizationID string `json:"organizationId"`
}

func newConfigListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the profiles (API keys masked)",
		Example: "  aip config list\n  aip config list --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(a.configPath())
			if err != nil {
				return err
			}
			var rows []profileRow
			for _, name := range slices.Sorted(maps.Keys(cfg.Profiles)) {
				p := cfg.Profiles[name]
				rows = append(rows, profileRow{name, name == cfg.Current, p[keyEndpoint], p[keyUserID], maskSecret(p[keyAPIKey]), p[keyOrgID]})
			}
			return writeSlice(a, rows, []column[profileRow]{
				{"PROFILE", func(r profileRow) string { return r.Name }},
				{"CURRENT", func(r profileRow) string { return map[bool]string{true: "*"}[r.Current] }},
				{"ENDPOINT", func(r profileRow) string { return r.Endpoint }},
				{"USER ID", func(r profileRow) string { return r.UserID }},
				{"API KEY", func(r profileRow) string { return r.APIKey }},
				{"ORGANIZATION ID", func(r profileRow) string { return r.OrganizationID }},
			})
		},
	}
}

func newConfigUseCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "use PROFILE",
		Short:   "Make a profile the current one",
		Example: "  aip config use prod",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.updateConfig(func(cfg *config) error {
				if _, ok := cfg.Profiles[args[0]]; !ok {
					return usageErrorf("no profile %q in %s", args[0], a.configPath())
				}
				cfg.Current = args[0]
				return nil
			})
		},
	}
}

// envKeys maps the credentials.env variables to config keys.
var envKeys = map[string]string{envEndpoint: keyEndpoint, envUserID: keyUserID, envAPIKey: keyAPIKey, envOrgID: keyOrgID}

// parseEnvFile reads KEY=VALUE lines as aipd writes them (also accepting
// "export ", quotes, blank lines and comments) and returns the TS_* ones
// as config keys.
func parseEnvFile(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, usageErrorf("line %d: want NAME=VALUE", n)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		if key, ok := envKeys[strings.TrimSpace(name)]; ok {
			out[key] = value
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	if len(out) == 0 {
		return nil, usageErrorf("no TS_* variables found")
	}
	return out, nil
}

func newConfigImportEnvCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "import-env FILE",
		Short: "Import a credentials.env file into a profile",
		Long: `Read the TS_API_ENDPOINT, TS_USER_ID, TS_API_KEY and TS_ORGANIZATION_ID lines of
FILE ("-" for stdin), as aipd writes them to <data dir>/credentials.env, into a
profile.`,
		Example: `  aip config import-env /var/lib/aipd/credentials.env
  ssh aip-host cat /var/lib/aipd/credentials.env | aip config import-env --profile prod -`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = a.env.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return &usageError{fmt.Errorf("import-env: %w", err)}
				}
				defer f.Close()
				r = f
			}
			kv, err := parseEnvFile(r)
			if err != nil {
				return fmt.Errorf("import-env %s: %w", args[0], err)
			}
			return a.updateConfig(func(cfg *config) error {
				name := a.setValues(cfg, kv)
				fmt.Fprintf(a.env.Stderr, "imported %d values into profile %q\n", len(kv), name)
				return nil
			})
		},
	}
}
