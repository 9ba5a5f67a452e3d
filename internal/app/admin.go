package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/store/postgres"
	"github.com/aipsec/aip/internal/store/sqlite"
)

// OpenDataDir opens the database and master key of an installation that a
// first start already set up, for the admin commands: the SQLite file of
// the data dir, or the PostgreSQL database of cfg.DatabaseURL. Unlike Open
// it never creates anything: a mistyped --data must not yield a new, empty
// data dir (with a new master key) in which the command then "succeeds".
func OpenDataDir(ctx context.Context, cfg Config) (aip.Store, *keyring.Keyring, error) {
	if cfg.DatabaseURL == "" {
		if _, err := os.Stat(cfg.DatabasePath()); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("no database at %s: check --data, or run `aipd serve --data %s` once to set the data dir up",
				cfg.DatabasePath(), cfg.DataDir)
		} else if err != nil {
			return nil, nil, fmt.Errorf("open database: %w", err)
		}
	}
	if err := checkMasterKeyPresent(cfg, false); err != nil {
		return nil, nil, err
	}
	kr, _, err := keyring.LoadOrCreate(cfg.MasterKeyPath())
	if err != nil {
		return nil, nil, fmt.Errorf("master key: %w", err)
	}
	var db aip.Store
	if cfg.DatabaseURL != "" {
		db, err = postgres.Open(ctx, cfg.DatabaseURL)
	} else {
		db, err = sqlite.Open(ctx, cfg.DatabasePath())
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	return db, kr, nil
}

// CreateDeployKey creates a deploy key for orgID and returns it in clear,
// the only time it is ever shown: the store keeps its SHA-256 alone, which
// is enough to recognize it at enrollment since the key is 256 random bits.
func CreateDeployKey(ctx context.Context, store aip.Store, orgID string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate deploy key: %w", err)
	}
	key := "aipdk_" + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(key))
	if err := store.CreateDeployKey(ctx, &aip.DeployKey{OrgID: orgID, KeyHash: sum[:]}); err != nil {
		return "", fmt.Errorf("create deploy key for organization %q: %w", orgID, err)
	}
	return key, nil
}
