package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/store/sqlite"
)

// OpenDataDir opens the database and master key of a data dir that a first
// start already set up, for the admin commands. Unlike Open it never
// creates anything: a mistyped --data must not yield a new, empty data dir
// (with a new master key) in which the command then "succeeds".
func OpenDataDir(ctx context.Context, cfg Config) (*sqlite.DB, *keyring.Keyring, error) {
	if _, err := os.Stat(cfg.DatabasePath()); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no database at %s: check --data, or run `aipd serve --data %s` once to set the data dir up",
			cfg.DatabasePath(), cfg.DataDir)
	} else if err != nil {
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	if err := checkMasterKeyPresent(cfg, false); err != nil {
		return nil, nil, err
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
