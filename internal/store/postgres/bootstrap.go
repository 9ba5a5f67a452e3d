package postgres

import (
	"context"
	"fmt"
)

// bootstrapLockKey is the advisory lock id of WithBootstrapLock (any fixed
// number distinct from goose's and the per-organization locks, which are
// hashtext values of prefixed strings).
const bootstrapLockKey = 0x61697062 // "aipb"

// WithBootstrapLock runs fn while holding a cluster-wide lock, so that
// several nodes starting on an empty database agree on which one creates
// the first organization: the others wait, then find it there.
func (db *DB) WithBootstrapLock(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, bootstrapLockKey); err != nil {
		return fmt.Errorf("bootstrap lock: %w", err)
	}
	defer func() {
		// Unlock on a fresh context: ctx may be done, and a lock left held
		// would block every other node's start until this connection dies.
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, bootstrapLockKey); uerr != nil && err == nil {
			err = fmt.Errorf("bootstrap unlock: %w", uerr)
		}
	}()
	return fn(ctx)
}
