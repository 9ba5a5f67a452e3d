package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aipsec/aip/client"
)

// The credential variables, the names the official Threat Stack tools read.
const (
	envEndpoint = client.EnvEndpoint
	envUserID   = client.EnvUserID
	envAPIKey   = client.EnvAPIKey
	envOrgID    = client.EnvOrgID
)

// maxRateLimitWait caps how long one request waits out a 429 before the
// command fails with ExitRateLimited.
const maxRateLimitWait = 60 * time.Second

// credentialsHelp explains where credentials come from (root help).
const credentialsHelp = `Credentials: each of endpoint, user id, API key and organization id is taken
from the first of:
  1. the flags --endpoint, --user-id, --api-key, --org-id
  2. the profile named by --profile in the config file
  3. the variables TS_API_ENDPOINT, TS_USER_ID, TS_API_KEY, TS_ORGANIZATION_ID
  4. the current profile of the config file (aip config use)
  5. the credentials.env of a local aipd: $AIP_CREDENTIALS, else
     $AIP_DATA/credentials.env, else ./aip-data/credentials.env (the aipd
     defaults), when the file exists
The config file is $AIP_CONFIG, else <user config dir>/aip/config.yaml.
"set -a; source credentials.env; set +a" of a fresh aipd is enough to start
(plain "source" does not export the variables, but step 5 finds the file
when aip runs beside the data dir or AIP_DATA points to it).`

// credentials are the four values a client needs.
type credentials struct {
	Endpoint, UserID, APIKey, OrgID string
}

// credentialSource names one credential for error messages and picks it
// from each source.
type credentialSource struct {
	key, env, flag string
	fromFlag       func(globalFlags) string
	field          func(*credentials) *string
}

// credentialSources lists the credentials in the order errors name them.
func credentialSources() []credentialSource {
	return []credentialSource{
		{keyEndpoint, envEndpoint, "--endpoint", func(f globalFlags) string { return f.endpoint }, func(c *credentials) *string { return &c.Endpoint }},
		{keyUserID, envUserID, "--user-id", func(f globalFlags) string { return f.userID }, func(c *credentials) *string { return &c.UserID }},
		{keyAPIKey, envAPIKey, "--api-key", func(f globalFlags) string { return f.apiKey }, func(c *credentials) *string { return &c.APIKey }},
		{keyOrgID, envOrgID, "--org-id", func(f globalFlags) string { return f.orgID }, func(c *credentials) *string { return &c.OrgID }},
	}
}

// credentials resolves the credentials by the precedence of
// credentialsHelp. A missing one is a usage error naming where to set it.
func (a *app) credentials() (credentials, error) {
	cfg, err := loadConfig(a.configPath())
	if err != nil {
		return credentials{}, err
	}
	var explicit, current profile
	if a.flags.profile != "" {
		p, ok := cfg.Profiles[a.flags.profile]
		if !ok {
			return credentials{}, usageErrorf("profile %q is not in %s (see aip config list)", a.flags.profile, a.configPath())
		}
		explicit = p
	}
	if cfg.Current != "" {
		current = cfg.Profiles[cfg.Current]
	}
	local, err := a.localCredentials()
	if err != nil {
		return credentials{}, err
	}
	var c credentials
	var missing []string
	for _, s := range credentialSources() {
		v := firstNonEmpty(s.fromFlag(a.flags), explicit[s.key], a.env.Getenv(s.env), current[s.key], local[s.key])
		*s.field(&c) = v
		if v == "" {
			missing = append(missing, fmt.Sprintf("%s (set %s, pass %s or run aip config set %s)", s.key, s.env, s.flag, s.key))
		}
	}
	if len(missing) > 0 {
		return c, usageErrorf("missing credentials: %s", strings.Join(missing, "; "))
	}
	return c, nil
}

// localCredentials reads the credentials.env of a local aipd (step 5 of
// credentialsHelp): nil when there is none. A file named by
// $AIP_CREDENTIALS must exist.
func (a *app) localCredentials() (profile, error) {
	path, required := a.env.Getenv("AIP_CREDENTIALS"), true
	if path == "" {
		required = false
		path = filepath.Join("aip-data", "credentials.env")
		if dir := a.env.Getenv("AIP_DATA"); dir != "" {
			path = filepath.Join(dir, "credentials.env")
		}
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil, nil
	} else if err != nil {
		return nil, usageErrorf("credentials file: %v", err)
	}
	defer f.Close()
	kv, err := parseEnvFile(f)
	if err != nil {
		return nil, usageErrorf("credentials file %s: %v", path, err)
	}
	return profile(kv), nil
}

// client returns an API client for the resolved credentials that waits out
// short rate limits (up to maxRateLimitWait) by itself.
func (a *app) client() (*client.Client, error) {
	c, err := a.credentials()
	if err != nil {
		return nil, err
	}
	cl, err := client.New(c.Endpoint, c.UserID, c.APIKey, c.OrgID,
		client.WithRetryOnRateLimit(maxRateLimitWait),
		client.WithUserAgent("aip-cli/"+a.env.Version))
	if err != nil {
		return nil, &usageError{fmt.Errorf("credentials: %w", err)}
	}
	return cl, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
