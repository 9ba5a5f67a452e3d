package storeutil

import (
	"strings"

	"github.com/aipsec/aip"
)

// The compact form of an affected entry's ranges and versions: matching
// reads tens of thousands of entries per host, and splitting a string is
// an order of magnitude cheaper than decoding JSON. Items are separated by
// itemSep, a range's three bounds by fieldSep; no version of dpkg, rpm or
// apk contains either control character, and bounds that do are dropped,
// as are bounds holding any of the caller's unstorable characters (NUL for
// PostgreSQL, whose TEXT values cannot hold it).
const (
	itemSep  = "\x1e"
	fieldSep = "\x1f"
)

func dropped(s, unstorable string) bool { return strings.ContainsAny(s, itemSep+fieldSep+unstorable) }

// EncodeRanges returns the compact form of rs, leaving out the ranges with
// a bound that holds a separator or a character of unstorable.
func EncodeRanges(rs []aip.VersionRange, unstorable string) string {
	var b strings.Builder
	for _, r := range rs {
		if dropped(r.Introduced, unstorable) || dropped(r.Fixed, unstorable) || dropped(r.LastAffected, unstorable) {
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

// DecodeRanges is the inverse of EncodeRanges.
func DecodeRanges(s string) []aip.VersionRange {
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

// EncodeList returns the compact form of versions, leaving out those that
// hold a separator or a character of unstorable.
func EncodeList(vs []string, unstorable string) string {
	kept := make([]string, 0, len(vs))
	for _, v := range vs {
		if !dropped(v, unstorable) {
			kept = append(kept, v)
		}
	}
	return strings.Join(kept, itemSep)
}

// DecodeList is the inverse of EncodeList.
func DecodeList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, itemSep)
}

// MergeAffected folds the entries of one advisory that share a package key
// (an advisory may list one package twice, with different ranges) into
// one, since the index holds one row per key.
func MergeAffected(affs []aip.AffectedPackage) []aip.AffectedPackage {
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
