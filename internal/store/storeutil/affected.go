package storeutil

import (
	"slices"
	"strings"

	"github.com/aipsec/aip"
)

// AffectedIndex is the package index of the advisory database in memory
// (some 150 bytes an entry: 30 MB for 200k advisories), so that matching a
// host is map lookups instead of tens of thousands of rows read from the
// database. A store rebuilds it when the database's generation moved.
type AffectedIndex struct {
	// Generation is the advisory database generation the index was built from.
	Generation int64
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

// AffectedRow is one row of advisory_packages, with ranges and versions
// in their compact form.
type AffectedRow struct {
	Ecosystem, Distro, Release, Name, AdvisoryID, Ranges, Versions string
}

// BuildAffectedIndex builds the index of generation from the rows that
// scan passes to add; the error of scan, which reads the rows in the
// store's dialect, is returned as is.
func BuildAffectedIndex(generation int64, scan func(add func(AffectedRow)) error) (*AffectedIndex, error) {
	idx := &AffectedIndex{Generation: generation, entries: make(map[[3]string]map[string][]affectedEntry)}
	// Equal strings share one copy: ids and names repeat across rows.
	intern := make(map[string]string)
	in := func(s string) string {
		if v, ok := intern[s]; ok {
			return v
		}
		intern[s] = s
		return s
	}
	err := scan(func(r AffectedRow) {
		k := [3]string{in(r.Ecosystem), in(r.Distro), in(r.Release)}
		byName := idx.entries[k]
		if byName == nil {
			byName = make(map[string][]affectedEntry)
			idx.entries[k] = byName
		}
		name := in(r.Name)
		byName[name] = append(byName[name], affectedEntry{advisoryID: in(r.AdvisoryID), release: k[2],
			ranges: DecodeRanges(r.Ranges), versions: DecodeList(r.Versions)})
	})
	if err != nil {
		return nil, err
	}
	return idx, nil
}

// AffectedFor returns, ordered by id, skeleton advisories (ID and the
// affected entries for keys, nothing else). The returned ranges and version
// lists are shared with the index and must not be modified.
func (idx *AffectedIndex) AffectedFor(keys []aip.PackageKey) []*aip.Advisory {
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
	return out
}
