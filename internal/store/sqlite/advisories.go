package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// unstorable is what a version in the compact form may not hold beyond
// the separators: nothing, SQLite text holds any byte.
const unstorable = ""

// encodeRanges is the compact form of rs as SQLite stores it.
func encodeRanges(rs []aip.VersionRange) string { return storeutil.EncodeRanges(rs, unstorable) }

// decodeRanges is the inverse of encodeRanges.
func decodeRanges(s string) []aip.VersionRange { return storeutil.DecodeRanges(s) }

// affected returns the current in-memory package index, rebuilding it
// when an import (in any process) changed the database since it was built.
func (db *DB) affected(ctx context.Context) (*storeutil.AffectedIndex, error) {
	g, err := db.AdvisoryGeneration(ctx)
	if err != nil {
		return nil, err
	}
	db.affMu.Lock()
	defer db.affMu.Unlock()
	if db.aff != nil && db.aff.Generation == g {
		return db.aff, nil
	}
	// Read the rows and the generation in one transaction, so that the
	// index is exactly that generation's.
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
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
	db.aff = idx
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
	arg, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("encode advisory ids: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT body FROM advisories WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`, string(arg))
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
