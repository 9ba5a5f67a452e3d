package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aipsec/aip"
)

// The compact form of an affected entry's ranges and versions: matching
// reads tens of thousands of entries per host, and splitting a string is
// an order of magnitude cheaper than decoding JSON. Items are separated by
// itemSep, a range's three bounds by fieldSep; no version of dpkg, rpm or
// apk contains either control character, and bounds that do are dropped
// (as are bounds holding NUL, which a PostgreSQL TEXT value cannot hold).
const (
	itemSep  = "\x1e"
	fieldSep = "\x1f"
)

func hasSeparator(s string) bool { return strings.ContainsAny(s, itemSep+fieldSep+"\x00") }

// encodeRanges returns the compact form of rs.
func encodeRanges(rs []aip.VersionRange) string {
	var b strings.Builder
	for _, r := range rs {
		if hasSeparator(r.Introduced) || hasSeparator(r.Fixed) || hasSeparator(r.LastAffected) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(itemSep)
		}
		b.WriteString(r.Introduced)
		b.WriteString(fieldSep)
		b.WriteString(r.Fixed)
		b.WriteString(fieldSep)
		b.WriteString(r.LastAffected)
	}
	return b.String()
}

// decodeRanges is the inverse of encodeRanges.
func decodeRanges(s string) []aip.VersionRange {
	if s == "" {
		return nil
	}
	items := strings.Split(s, itemSep)
	out := make([]aip.VersionRange, 0, len(items))
	for _, it := range items {
		f := strings.SplitN(it, fieldSep, 3)
		if len(f) != 3 {
			continue
		}
		out = append(out, aip.VersionRange{Introduced: f[0], Fixed: f[1], LastAffected: f[2]})
	}
	return out
}

// encodeList returns the compact form of versions.
func encodeList(vs []string) string {
	kept := make([]string, 0, len(vs))
	for _, v := range vs {
		if !hasSeparator(v) {
			kept = append(kept, v)
		}
	}
	return strings.Join(kept, itemSep)
}

func decodeList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, itemSep)
}

// mergeAffected folds the entries of one advisory that share a package key
// (an advisory may list one package twice, with different ranges) into
// one, since the index holds one row per key.
func mergeAffected(affs []aip.AffectedPackage) []aip.AffectedPackage {
	out := make([]aip.AffectedPackage, 0, len(affs))
	at := make(map[aip.PackageKey]int, len(affs))
	for _, a := range affs {
		k := aip.PackageKey{Ecosystem: a.Ecosystem, Distro: a.Distro, Release: a.Release, Name: a.Name}
		if i, ok := at[k]; ok {
			out[i].Ranges = append(out[i].Ranges, a.Ranges...)
			out[i].Versions = append(out[i].Versions, a.Versions...)
			continue
		}
		at[k] = len(out)
		a.Ranges = append([]aip.VersionRange(nil), a.Ranges...)
		a.Versions = append([]string(nil), a.Versions...)
		out = append(out, a)
	}
	return out
}

// affectedCache holds a node's copy of the advisory package index; the
// mutex makes concurrent requests share one rebuild.
type affectedCache struct {
	mu  sync.Mutex
	idx *affectedIndex
}

// affectedIndex is the package index of the advisory database in memory
// (some 150 bytes an entry: 30 MB for 200k advisories), so that matching a
// host is map lookups instead of tens of thousands of rows read from the
// database. Every node keeps its own copy and rebuilds it when the
// database's generation moved, so that an import through any node (or
// `aipd admin vulndb import`) is seen by all of them at their next call.
type affectedIndex struct {
	generation int64
	// entries maps (ecosystem, distro, release) to name to entries;
	// release "" holds the entries for every release.
	entries map[[3]string]map[string][]affectedEntry
}

type affectedEntry struct {
	advisoryID string
	release    string
	ranges     []aip.VersionRange
	versions   []string
}

// advisoryGeneration reads the advisory database's generation.
func (db *DB) advisoryGeneration(ctx context.Context) (int64, error) {
	var g int64
	if err := db.sql.QueryRowContext(ctx, `SELECT generation FROM vulndb_state WHERE id = 1`).Scan(&g); err != nil {
		return 0, fmt.Errorf("read advisory generation: %w", err)
	}
	return g, nil
}

// affected returns the current in-memory package index, rebuilding it
// when an import (on any node) changed the database since it was built.
func (db *DB) affected(ctx context.Context) (*affectedIndex, error) {
	g, err := db.advisoryGeneration(ctx)
	if err != nil {
		return nil, err
	}
	db.aff.mu.Lock()
	defer db.aff.mu.Unlock()
	if db.aff.idx != nil && db.aff.idx.generation == g {
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
	idx := &affectedIndex{generation: g, entries: make(map[[3]string]map[string][]affectedEntry)}
	// Equal strings share one copy: ids and names repeat across rows.
	intern := make(map[string]string)
	in := func(s string) string {
		if v, ok := intern[s]; ok {
			return v
		}
		intern[s] = s
		return s
	}
	for rows.Next() {
		var eco, distro, release, name, id, ranges, versions string
		if err := rows.Scan(&eco, &distro, &release, &name, &id, &ranges, &versions); err != nil {
			return nil, fmt.Errorf("load advisory index: %w", err)
		}
		k := [3]string{in(eco), in(distro), in(release)}
		byName := idx.entries[k]
		if byName == nil {
			byName = make(map[string][]affectedEntry)
			idx.entries[k] = byName
		}
		name = in(name)
		byName[name] = append(byName[name], affectedEntry{advisoryID: in(id), release: k[2],
			ranges: decodeRanges(ranges), versions: decodeList(versions)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load advisory index: %w", err)
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
	byID := make(map[string]*aip.Advisory)
	seen := make(map[aip.PackageKey]bool, len(keys))
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		for _, rel := range []string{k.Release, ""} {
			for _, e := range idx.entries[[3]string{k.Ecosystem, k.Distro, rel}][k.Name] {
				adv := byID[e.advisoryID]
				if adv == nil {
					adv = &aip.Advisory{ID: e.advisoryID}
					byID[e.advisoryID] = adv
				}
				adv.Affected = append(adv.Affected, aip.AffectedPackage{Ecosystem: k.Ecosystem, Distro: k.Distro,
					Release: e.release, Name: k.Name, Ranges: e.ranges, Versions: e.versions})
			}
			if k.Release == "" {
				break
			}
		}
	}
	out := make([]*aip.Advisory, 0, len(byID))
	for _, a := range byID {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *aip.Advisory) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
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
