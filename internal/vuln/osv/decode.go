// Package osv decodes OSV vulnerability records
// (https://ossf.github.io/osv-schema/) into aip advisories, and reads them
// from single files, directory trees and the per-ecosystem zip archives
// OSV publishes.
//
// Only distribution ecosystems whose version order aip implements are
// kept (Debian, Ubuntu, Alpine, AlmaLinux, Rocky Linux, simple Red Hat
// Enterprise Linux ones); other affected entries are counted and
// dropped, and a record left with none is reported as skipped.
package osv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/vuln/cvss"
)

// MaxRecordSize caps one record's JSON: real OSV records are a few KiB,
// so anything larger is treated as malformed rather than buffered.
const MaxRecordSize = 4 << 20

// Record is the outcome of decoding one OSV record. Exactly one of
// Advisory, Withdrawn, Skipped or Err describes it.
type Record struct {
	// Source names where the record came from: a file path, "file[i]" for
	// the i-th element of a JSON array, "archive.zip!member" for a zip
	// member.
	Source string
	// ID is the record's id ("" when it could not be read).
	ID string
	// Advisory is the decoded advisory.
	Advisory *aip.Advisory
	// Withdrawn is set for a withdrawn record: an importer should delete
	// the advisory with this ID.
	Withdrawn bool
	// Skipped is set when no affected entry is in a supported ecosystem.
	Skipped bool
	// Unsupported counts the affected entries dropped: unknown
	// ecosystems, no package name, or no usable range or version list.
	Unsupported int
	// Err is set for a malformed record; it names Source.
	Err error
}

// ErrMalformed is wrapped by every error about a record's content.
var ErrMalformed = errors.New("malformed OSV record")

type osvRecord struct {
	ID               string         `json:"id"`
	Modified         string         `json:"modified"`
	Withdrawn        string         `json:"withdrawn"`
	Aliases          []string       `json:"aliases"`
	Upstream         []string       `json:"upstream"`
	Summary          string         `json:"summary"`
	Severity         []osvSeverity  `json:"severity"`
	Affected         []osvAffected  `json:"affected"`
	References       []osvReference `json:"references"`
	DatabaseSpecific map[string]any `json:"database_specific"`
}

type osvSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type osvAffected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Severity          []osvSeverity  `json:"severity"`
	Ranges            []osvRange     `json:"ranges"`
	Versions          []string       `json:"versions"`
	EcosystemSpecific map[string]any `json:"ecosystem_specific"`
	DatabaseSpecific  map[string]any `json:"database_specific"`
}

type osvRange struct {
	Type   string     `json:"type"`
	Events []osvEvent `json:"events"`
}

type osvEvent struct {
	Introduced   string `json:"introduced"`
	Fixed        string `json:"fixed"`
	LastAffected string `json:"last_affected"`
	Limit        string `json:"limit"`
}

type osvReference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Decode decodes one OSV record. Source, when the caller knows it, is
// filled by the caller; Err does not name it.
func Decode(data []byte) Record {
	if len(data) > MaxRecordSize {
		return Record{Err: fmt.Errorf("%w: record of %d bytes exceeds %d", ErrMalformed, len(data), MaxRecordSize)}
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return Record{Err: fmt.Errorf("%w: not a JSON object", ErrMalformed)}
	}
	var r osvRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return Record{Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
	}
	rec := Record{ID: r.ID}
	if strings.TrimSpace(r.ID) == "" {
		rec.Err = fmt.Errorf("%w: missing id", ErrMalformed)
		return rec
	}
	modified, err := time.Parse(time.RFC3339Nano, r.Modified)
	if err != nil {
		rec.Err = fmt.Errorf("%w: %s: bad modified time %q", ErrMalformed, r.ID, r.Modified)
		return rec
	}
	if r.Withdrawn != "" {
		rec.Withdrawn = true
		return rec
	}
	adv := &aip.Advisory{
		ID:              r.ID,
		Modified:        modified.UTC(),
		Summary:         r.Summary,
		SecurityNotices: []aip.SecurityNotice{},
	}
	for i := range r.Affected {
		ap, ok := convertAffected(&r.Affected[i])
		if !ok {
			rec.Unsupported++
			continue
		}
		adv.Affected = append(adv.Affected, ap)
	}
	if len(adv.Affected) == 0 {
		rec.Skipped = true
		return rec
	}
	adv.CVEs = cves(&r)
	adv.Severity, adv.VectorType = severity(&r)
	adv.SecurityNotices = notices(&r, adv.Affected)
	rec.Advisory = adv
	return rec
}

// distro maps an OSV ecosystem ("Debian:12", "Ubuntu:Pro:18.04:LTS",
// "Alpine:v3.19", "AlmaLinux:9", "Rocky Linux:9",
// "Red Hat:enterprise_linux:9::appstream") to aip's ecosystem, distro and
// release.
func distro(ecosystem string) (eco, name, release string, ok bool) {
	base, rest, _ := strings.Cut(ecosystem, ":")
	switch strings.ToLower(base) {
	case "debian":
		if rest == "" || isNumeric(rest) {
			return aip.EcosystemDeb, "debian", rest, true
		}
	case "ubuntu":
		// Ubuntu:22.04:LTS, Ubuntu:Pro:18.04:LTS, Ubuntu:24.04,
		// Ubuntu:Pro:FIPS:20.04:LTS: the release is the x.y part.
		for p := range strings.SplitSeq(rest, ":") {
			if a, b, dot := strings.Cut(p, "."); dot && isNumeric(a) && isNumeric(b) {
				return aip.EcosystemDeb, "ubuntu", p, true
			}
		}
		if rest == "" {
			return aip.EcosystemDeb, "ubuntu", "", true
		}
	case "alpine":
		rel := strings.TrimPrefix(rest, "v")
		if a, b, dot := strings.Cut(rel, "."); rel == "" || dot && isNumeric(a) && isNumeric(b) {
			return aip.EcosystemAPK, "alpine", rel, true
		}
	case "almalinux":
		if rest == "" || isNumeric(rest) {
			return aip.EcosystemRPM, "almalinux", rest, true
		}
	case "rocky linux":
		if rest == "" || isNumeric(rest) {
			return aip.EcosystemRPM, "rocky", rest, true
		}
	case "red hat":
		// Only plain RHEL streams: "Red Hat:enterprise_linux:9[::…]".
		parts := strings.Split(rest, ":")
		if len(parts) >= 2 && parts[0] == "enterprise_linux" && isNumeric(parts[1]) {
			return aip.EcosystemRPM, "rhel", parts[1], true
		}
	}
	return "", "", "", false
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func convertAffected(a *osvAffected) (aip.AffectedPackage, bool) {
	eco, name, release, ok := distro(a.Package.Ecosystem)
	if !ok || a.Package.Name == "" {
		return aip.AffectedPackage{}, false
	}
	ap := aip.AffectedPackage{Ecosystem: eco, Distro: name, Release: release, Name: a.Package.Name}
	for _, r := range a.Ranges {
		if r.Type != "ECOSYSTEM" && r.Type != "SEMVER" {
			continue // GIT ranges name commits, not package versions
		}
		ap.Ranges = append(ap.Ranges, intervals(r.Events)...)
	}
	for _, v := range a.Versions {
		if v != "" {
			ap.Versions = append(ap.Versions, v)
		}
	}
	if len(ap.Ranges) == 0 && len(ap.Versions) == 0 {
		return aip.AffectedPackage{}, false
	}
	return ap, true
}

// intervals turns OSV events into intervals. An "introduced" while an
// interval is open is redundant and ignored; a "fixed" or
// "last_affected" with nothing open closes an interval starting at "0".
// "limit" caps only an interval still open at the end (as Fixed): OSV
// uses it for git branches, and distribution data does not carry it.
func intervals(events []osvEvent) []aip.VersionRange {
	var out []aip.VersionRange
	var cur *aip.VersionRange
	var limit string
	for _, e := range events {
		switch {
		case e.Introduced != "":
			if cur == nil {
				cur = &aip.VersionRange{Introduced: e.Introduced}
			}
		case e.Fixed != "", e.LastAffected != "":
			if cur == nil {
				cur = &aip.VersionRange{Introduced: "0"}
			}
			cur.Fixed, cur.LastAffected = e.Fixed, e.LastAffected
			out = append(out, *cur)
			cur = nil
		case e.Limit != "":
			limit = e.Limit
		}
	}
	if cur != nil {
		cur.Fixed = limit
		out = append(out, *cur)
	}
	return out
}

var cveRE = regexp.MustCompile(`(?:^|-)(CVE-\d{4}-\d{4,})$`)

// cveOf returns the CVE an id names: itself, or the CVE suffix of a
// distribution id (DEBIAN-CVE-2023-1234, UBUNTU-CVE-…, ALPINE-CVE-…).
func cveOf(id string) string {
	m := cveRE.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(id)))
	if m == nil {
		return ""
	}
	return m[1]
}

func cves(r *osvRecord) []string {
	var out []string
	add := func(id string) {
		if c := cveOf(id); c != "" {
			out = append(out, c)
		}
	}
	add(r.ID)
	for _, a := range r.Aliases {
		add(a)
	}
	for _, u := range r.Upstream {
		add(u)
	}
	if len(out) == 0 {
		return []string{r.ID}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// severity picks the severity and vector type: from a CVSS vector
// (v3.x first, then v4.0, then v2; record-level before affected-level),
// else from the distribution's own rating (an OSV "Ubuntu" severity, or
// the priority/urgency/severity fields of ecosystem_specific and
// database_specific), taking the highest. A v4.0 vector gives only its
// vector type, since its score is not computed; so does a v3 vector
// rated "none". Unknown ratings give "".
func severity(r *osvRecord) (sev, vectorType string) {
	var all []osvSeverity
	all = append(all, r.Severity...)
	for i := range r.Affected {
		all = append(all, r.Affected[i].Severity...)
	}
	var v3, v4, v2 *cvss.Vector
	var named []string
	for _, s := range all {
		switch strings.ToUpper(s.Type) {
		case "CVSS_V3", "CVSS_V4", "CVSS_V2":
			v, err := cvss.Parse(s.Score)
			if err != nil {
				continue
			}
			switch v.Version {
			case cvss.V30, cvss.V31:
				if v3 == nil {
					v3 = v
				}
			case cvss.V40:
				if v4 == nil {
					v4 = v
				}
			case cvss.V2:
				if v2 == nil {
					v2 = v
				}
			}
		default:
			named = append(named, s.Score)
		}
	}
	// The vector type comes with the severity from the same vector when
	// one rates it, else from the first vector parsed.
	for _, v := range []*cvss.Vector{v3, v4, v2} {
		if v == nil {
			continue
		}
		if v.Severity != "" && v.Severity != cvss.SeverityNone {
			return v.Severity, v.VectorType
		}
		if vectorType == "" {
			vectorType = v.VectorType
		}
	}
	named = appendRatings(named, r.DatabaseSpecific)
	for i := range r.Affected {
		named = appendRatings(named, r.Affected[i].EcosystemSpecific)
		named = appendRatings(named, r.Affected[i].DatabaseSpecific)
	}
	for _, n := range named {
		if s := normalizeRating(n); rank(s) > rank(sev) {
			sev = s
		}
	}
	return sev, vectorType
}

func appendRatings(dst []string, m map[string]any) []string {
	for _, k := range []string{"severity", "priority", "urgency"} {
		if s, ok := m[k].(string); ok {
			dst = append(dst, s)
		}
	}
	return dst
}

// normalizeRating maps distribution ratings (Ubuntu priority, Debian
// urgency, Red Hat/AlmaLinux/Rocky severity, GHSA severity) to aip's.
func normalizeRating(s string) string {
	switch strings.ToLower(strings.TrimRight(strings.TrimSpace(s), "*")) {
	case "critical":
		return cvss.SeverityCritical
	case "high", "important":
		return cvss.SeverityHigh
	case "medium", "moderate":
		return cvss.SeverityMedium
	case "low", "negligible", "unimportant":
		return cvss.SeverityLow
	}
	return ""
}

func rank(sev string) int {
	return slices.Index([]string{"", cvss.SeverityLow, cvss.SeverityMedium, cvss.SeverityHigh, cvss.SeverityCritical}, sev)
}

// advisoryPrefixes are the id prefixes of distribution advisories.
var advisoryPrefixes = []string{"DSA-", "DLA-", "DTSA-", "USN-", "LSN-", "ALSA-", "RLSA-", "RHSA-", "ALAS"}

func isAdvisoryID(id string) bool {
	id = strings.ToUpper(id)
	for _, p := range advisoryPrefixes {
		if strings.HasPrefix(id, p) && len(id) > len(p) {
			return true
		}
	}
	return false
}

// noticeKey makes "ALSA-2023:1234" and "ALSA-2023-1234" (its errata file
// name) the same notice.
func noticeKey(id string) string {
	return strings.ReplaceAll(strings.ToUpper(id), ":", "-")
}

// notices collects the distribution advisories a record points to: the
// record itself when its id is one, and ADVISORY or WEB references whose
// last path segment is an advisory id (debian.org/security/2023/dsa-5555,
// ubuntu.com/security/notices/USN-6000-1,
// errata.almalinux.org/9/ALSA-2023-1234.html). Other references (NVD,
// bug trackers, CVE pages) are not security notices. Sorted by id.
func notices(r *osvRecord, affected []aip.AffectedPackage) []aip.SecurityNotice {
	byKey := map[string]aip.SecurityNotice{}
	for _, ref := range r.References {
		if ref.Type != "ADVISORY" && ref.Type != "WEB" {
			continue
		}
		id := lastSegment(ref.URL)
		if !isAdvisoryID(id) {
			continue
		}
		id = strings.ToUpper(id)
		if _, dup := byKey[noticeKey(id)]; !dup {
			byKey[noticeKey(id)] = aip.SecurityNotice{ID: id, URL: ref.URL}
		}
	}
	if isAdvisoryID(r.ID) {
		n := aip.SecurityNotice{ID: r.ID, URL: noticeURL(r.ID, affected)}
		if known, ok := byKey[noticeKey(r.ID)]; ok {
			n.URL = known.URL
		}
		byKey[noticeKey(r.ID)] = n
	}
	out := make([]aip.SecurityNotice, 0, len(byKey))
	for _, n := range byKey {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b aip.SecurityNotice) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func lastSegment(url string) string {
	url, _, _ = strings.Cut(url, "?")
	url, _, _ = strings.Cut(url, "#")
	url = strings.TrimRight(url, "/")
	seg := url[strings.LastIndexByte(url, '/')+1:]
	return strings.TrimSuffix(seg, ".html")
}

// noticeURL is the public page of an advisory the record only names by
// id ("" when there is no stable address for it).
func noticeURL(id string, affected []aip.AffectedPackage) string {
	up := strings.ToUpper(id)
	switch {
	case strings.HasPrefix(up, "DSA-"), strings.HasPrefix(up, "DLA-"), strings.HasPrefix(up, "DTSA-"):
		return "https://security-tracker.debian.org/tracker/" + id
	case strings.HasPrefix(up, "USN-"):
		return "https://ubuntu.com/security/notices/" + id
	case strings.HasPrefix(up, "RLSA-"):
		return "https://errata.rockylinux.org/" + id
	case strings.HasPrefix(up, "RHSA-"):
		return "https://access.redhat.com/errata/" + id
	case strings.HasPrefix(up, "ALSA-"):
		for _, a := range affected {
			if a.Distro == "almalinux" && a.Release != "" {
				return "https://errata.almalinux.org/" + a.Release + "/" + strings.ReplaceAll(id, ":", "-") + ".html"
			}
		}
	}
	return ""
}
