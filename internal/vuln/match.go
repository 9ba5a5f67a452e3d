// Package vuln matches host package inventories against the advisory
// database: which installed package versions fall into an advisory's
// affected ranges, in the version order of the package's ecosystem.
//
// Matching is pure (Match); Rematch and Import tie it to the store so that
// a new inventory re-matches its agent only, and an advisory import
// re-matches only the agents that hold a package it names.
package vuln

import (
	"cmp"
	"slices"
	"strings"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/vuln/version"
)

// NormalizeRelease returns the release advisories of distro are keyed by:
// Alpine by major.minor (3.19 for 3.19.1), the Enterprise Linux rebuilds
// and Debian by major (9 for 9.3, 12 for 12.5), Ubuntu as is (22.04).
func NormalizeRelease(distro, release string) string {
	distro, release = strings.ToLower(strings.TrimSpace(distro)), strings.TrimSpace(release)
	release = strings.TrimPrefix(release, "v")
	parts := strings.Split(release, ".")
	switch distro {
	case "alpine":
		if len(parts) > 2 {
			return parts[0] + "." + parts[1]
		}
	case "debian", "almalinux", "rocky", "rhel", "centos", "amzn", "ol", "fedora":
		if distro == "amzn" && parts[0] == "2018" {
			return release
		}
		return parts[0]
	}
	return release
}

// advisoryVersion is the version compared with advisory ranges: the
// source version for deb when it differs (binNMUs), else the version.
func advisoryVersion(ecosystem string, p aip.InstalledPackage) string {
	if ecosystem == aip.EcosystemDeb && p.SourceVersion != "" {
		return p.SourceVersion
	}
	return p.Version
}

// Keys returns the advisory lookup keys of inv's packages, one per
// distinct name.
func Keys(inv *aip.Inventory) []aip.PackageKey {
	seen := make(map[string]bool, len(inv.Packages))
	keys := make([]aip.PackageKey, 0, len(inv.Packages))
	for _, p := range inv.Packages {
		name := p.AdvisoryName(inv.Ecosystem)
		if seen[name] {
			continue
		}
		seen[name] = true
		keys = append(keys, aip.PackageKey{Ecosystem: inv.Ecosystem, Distro: inv.Distro, Release: inv.Release, Name: name})
	}
	return keys
}

// candidate is one affected entry of an advisory.
type candidate struct {
	adv *aip.Advisory
	aff *aip.AffectedPackage
}

// Result is the outcome of matching one inventory.
type Result struct {
	Matches []*aip.VulnMatch
	// VersionErrors counts comparisons skipped because a version did not
	// parse (an installed version or an advisory's range bound): never
	// fatal, reported so that bad data is visible.
	VersionErrors int
}

// Match returns the vulnerabilities of inv among advs: one match per CVE
// and installed package whose version an advisory's affected entry for
// the inventory's distribution and release covers. Matches of the same CVE
// and package from several advisories are merged (highest severity, all
// notices). OrgID, AgentID and times are left to the caller.
func Match(inv *aip.Inventory, advs []*aip.Advisory) Result {
	byName := make(map[string][]candidate)
	for _, a := range advs {
		for i := range a.Affected {
			aff := &a.Affected[i]
			if aff.Ecosystem != inv.Ecosystem || aff.Distro != inv.Distro || (aff.Release != "" && aff.Release != inv.Release) {
				continue
			}
			byName[aff.Name] = append(byName[aff.Name], candidate{a, aff})
		}
	}
	var res Result
	merged := make(map[[2]string]*aip.VulnMatch)
	for _, p := range inv.Packages {
		cands := byName[p.AdvisoryName(inv.Ecosystem)]
		if len(cands) == 0 {
			continue
		}
		v := advisoryVersion(inv.Ecosystem, p)
		system := p.Name + " " + p.Version
		if p.Arch != "" {
			system += "." + p.Arch
		}
		reported := p.Name + " " + version.Upstream(inv.Ecosystem, p.Version)
		for _, c := range cands {
			hit, errs := affects(inv.Ecosystem, c.aff, v)
			res.VersionErrors += errs
			if !hit {
				continue
			}
			for _, cve := range c.adv.CVEs {
				k := [2]string{cve, system}
				m := merged[k]
				if m == nil {
					m = &aip.VulnMatch{CVE: cve, AdvisoryID: c.adv.ID, Package: p.Name, ReportedPackage: reported,
						SystemPackage: system, Severity: c.adv.Severity, VectorType: c.adv.VectorType}
					merged[k] = m
					res.Matches = append(res.Matches, m)
				} else if severityRank(c.adv.Severity) > severityRank(m.Severity) {
					m.Severity, m.AdvisoryID = c.adv.Severity, c.adv.ID
					if c.adv.VectorType != "" {
						m.VectorType = c.adv.VectorType
					}
				}
				m.SecurityNotices = mergeNotices(m.SecurityNotices, c.adv.SecurityNotices)
			}
		}
	}
	slices.SortFunc(res.Matches, func(a, b *aip.VulnMatch) int {
		return cmp.Or(strings.Compare(a.CVE, b.CVE), strings.Compare(a.SystemPackage, b.SystemPackage))
	})
	return res
}

// Hits returns the ids of the advisories among advs (only their ID and
// Affected are read) with an affected entry covering a package of inv,
// sorted, and how many version comparisons failed to parse.
func Hits(inv *aip.Inventory, advs []*aip.Advisory) ([]string, int) {
	skeletons := make([]*aip.Advisory, len(advs))
	for i, a := range advs {
		skeletons[i] = &aip.Advisory{ID: a.ID, CVEs: []string{a.ID}, Affected: a.Affected}
	}
	res := Match(inv, skeletons)
	var ids []string
	for _, m := range res.Matches {
		ids = append(ids, m.AdvisoryID)
	}
	slices.Sort(ids)
	return slices.Compact(ids), res.VersionErrors
}

// affects reports whether version v is in aff (its explicit versions or
// one of its ranges), and how many comparisons failed to parse.
func affects(ecosystem string, aff *aip.AffectedPackage, v string) (bool, int) {
	if slices.Contains(aff.Versions, v) {
		return true, 0
	}
	errs := 0
	for _, r := range aff.Ranges {
		in, err := inRange(ecosystem, r, v)
		if err != nil {
			errs++
			continue
		}
		if in {
			return true, errs
		}
	}
	return false, errs
}

func inRange(ecosystem string, r aip.VersionRange, v string) (bool, error) {
	if r.Introduced != "" && r.Introduced != "0" {
		c, err := version.Compare(ecosystem, v, r.Introduced)
		if err != nil || c < 0 {
			return false, err
		}
	}
	if r.Fixed != "" {
		c, err := version.Compare(ecosystem, v, r.Fixed)
		if err != nil || c >= 0 {
			return false, err
		}
	}
	if r.LastAffected != "" {
		c, err := version.Compare(ecosystem, v, r.LastAffected)
		if err != nil || c > 0 {
			return false, err
		}
	}
	return true, nil
}

// severityRank orders severities; unknown ones rank lowest.
func severityRank(s string) int {
	switch s {
	case "critical":
		return 4
	case "high":
		return 3
	case "medium":
		return 2
	case "low":
		return 1
	}
	return 0
}

// mergeNotices adds the notices of add missing from have, sorted by id.
func mergeNotices(have, add []aip.SecurityNotice) []aip.SecurityNotice {
	for _, n := range add {
		if !slices.ContainsFunc(have, func(h aip.SecurityNotice) bool { return h.ID == n.ID }) {
			have = append(have, n)
		}
	}
	slices.SortFunc(have, func(a, b aip.SecurityNotice) int { return strings.Compare(a.ID, b.ID) })
	return have
}
