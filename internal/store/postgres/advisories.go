package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// unstorable is what a version in the compact form may not hold beyond
// the separators: NUL, which a PostgreSQL TEXT value cannot hold.
const unstorable = "\x00"

// affectedCache holds a node's copy of the advisory package index; the
// mutex makes concurrent requests share one rebuild.
type affectedCache struct {
	mu  sync.Mutex
	idx *storeutil.AffectedIndex
}

// affected returns the current in-memory package index, rebuilding it
// when an import (on any node) changed the database since it was built.
func (db *DB) affected(ctx context.Context) (*storeutil.AffectedIndex, error) {
	g, err := db.AdvisoryGeneration(ctx)
	if err != nil {
		return nil, err
	}
	db.aff.mu.Lock()
	defer db.aff.mu.Unlock()
	if db.aff.idx != nil && db.aff.idx.Generation == g {
		return db.aff.idx, nil
	}
	// Read the rows and the generation from one snapshot (REPEATABLE
	// READ: READ COMMITTED would take one per statement), so that the
	// index is exactly that generation's.
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("load advisory index: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT generation FROM vulndb_state WHERE id = 1`).Scan(&g); err != nil {
		return nil, fmt.Errorf("load advisory index: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT ecosystem, distro, release, name, advisory_id, ranges, versions FROM advisory_packages`)
	if err != nil {
		return nil, fmt.Errorf("load advisory index: %w", err)
	}
	defer rows.Close()
	idx, err := storeutil.BuildAffectedIndex(g, func(add func(storeutil.AffectedRow)) error {
		for rows.Next() {
			var r storeutil.AffectedRow
			if err := rows.Scan(&r.Ecosystem, &r.Distro, &r.Release, &r.Name, &r.AdvisoryID, &r.Ranges, &r.Versions); err != nil {
				return fmt.Errorf("load advisory index: %w", err)
			}
			add(r)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load advisory index: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	db.aff.idx = idx
	return idx, nil
}

// AffectedFor returns, ordered by id, skeleton advisories (ID and the
// affected entries for keys, nothing else), from the in-memory package
// index. The returned ranges and version lists are shared with the index
// and must not be modified.
func (db *DB) AffectedFor(ctx context.Context, keys []aip.PackageKey) ([]*aip.Advisory, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	idx, err := db.affected(ctx)
	if err != nil {
		return nil, err
	}
	return idx.AffectedFor(keys), nil
}

// AdvisoriesByID returns the advisories with the given ids, ordered by id;
// unknown ids are left out.
func (db *DB) AdvisoriesByID(ctx context.Context, ids []string) ([]*aip.Advisory, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := db.sql.QueryContext(ctx, `
		SELECT body FROM advisories WHERE id = ANY ($1::text[]) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("advisories by id: %w", err)
	}
	defer rows.Close()
	var out []*aip.Advisory
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("scan advisory: %w", err)
		}
		a := new(aip.Advisory)
		if err := json.Unmarshal(body, a); err != nil {
			return nil, fmt.Errorf("decode advisory: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("advisories by id: %w", err)
	}
	return out, nil
}
