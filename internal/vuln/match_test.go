package vuln

import (
	"fmt"
	"testing"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func debInventory(pkgs ...aip.InstalledPackage) *aip.Inventory {
	return &aip.Inventory{Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: "12", Packages: pkgs}
}

func advisory(id, severity string, cves []string, affected ...aip.AffectedPackage) *aip.Advisory {
	return &aip.Advisory{ID: id, CVEs: cves, Severity: severity, VectorType: "network",
		SecurityNotices: []aip.SecurityNotice{{ID: id, URL: "https://example.com/" + id}}, Affected: affected}
}

func debAffected(release, name string, ranges ...aip.VersionRange) aip.AffectedPackage {
	return aip.AffectedPackage{Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: release, Name: name, Ranges: ranges}
}

// summary is what a match test compares.
func summary(ms []*aip.VulnMatch) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s %s (%s) %s %s", m.CVE, m.SystemPackage, m.ReportedPackage, m.Severity, m.AdvisoryID))
	}
	return out
}

func TestMatch(t *testing.T) {
	openssl := aip.InstalledPackage{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"}
	curl := aip.InstalledPackage{Name: "curl", Version: "7.88.1-10+deb12u5", Arch: "amd64"}
	binnmu := aip.InstalledPackage{Name: "libfoo1", Version: "1.2-3+b1", Arch: "amd64", Source: "foo", SourceVersion: "1.2-3"}
	tests := []struct {
		name string
		inv  *aip.Inventory
		advs []*aip.Advisory
		want []string
	}{
		{
			name: "matches a binary package by its source name below the fixed version",
			inv:  debInventory(openssl, curl),
			advs: []*aip.Advisory{advisory("DSA-5532-1", "high", []string{"CVE-2023-5363"},
				debAffected("12", "openssl", aip.VersionRange{Introduced: "0", Fixed: "3.0.11-1~deb12u2+1"}))},
			want: []string{"CVE-2023-5363 libssl3 3.0.11-1~deb12u2.amd64 (libssl3 3.0.11) high DSA-5532-1"},
		},
		{
			name: "does not match at or after the fixed version",
			inv:  debInventory(openssl),
			advs: []*aip.Advisory{advisory("DSA-1", "high", []string{"CVE-2023-1"},
				debAffected("12", "openssl", aip.VersionRange{Introduced: "0", Fixed: "3.0.11-1~deb12u2"}))},
			want: []string{},
		},
		{
			name: "includes last_affected and excludes versions before introduced",
			inv:  debInventory(curl, aip.InstalledPackage{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Source: "zlib"}),
			advs: []*aip.Advisory{
				advisory("DEBIAN-CVE-2023-2", "medium", []string{"CVE-2023-2"},
					debAffected("", "curl", aip.VersionRange{Introduced: "7.80.0-1", LastAffected: "7.88.1-10+deb12u5"})),
				advisory("DEBIAN-CVE-2023-3", "low", []string{"CVE-2023-3"},
					debAffected("", "zlib", aip.VersionRange{Introduced: "1:1.3-1"})),
			},
			want: []string{"CVE-2023-2 curl 7.88.1-10+deb12u5.amd64 (curl 7.88.1) medium DEBIAN-CVE-2023-2"},
		},
		{
			name: "matches the explicit versions list",
			inv:  debInventory(curl),
			advs: []*aip.Advisory{advisory("X-1", "low", []string{"CVE-2023-4"},
				aip.AffectedPackage{Ecosystem: aip.EcosystemDeb, Distro: "debian", Name: "curl", Versions: []string{"7.88.1-10+deb12u5"}})},
			want: []string{"CVE-2023-4 curl 7.88.1-10+deb12u5.amd64 (curl 7.88.1) low X-1"},
		},
		{
			name: "ignores other releases and other distributions",
			inv:  debInventory(curl),
			advs: []*aip.Advisory{
				advisory("DSA-2", "high", []string{"CVE-2023-5"}, debAffected("11", "curl", aip.VersionRange{Introduced: "0"})),
				advisory("USN-1", "high", []string{"CVE-2023-6"}, aip.AffectedPackage{Ecosystem: aip.EcosystemDeb,
					Distro: "ubuntu", Release: "22.04", Name: "curl", Ranges: []aip.VersionRange{{Introduced: "0"}}}),
			},
			want: []string{},
		},
		{
			name: "compares a binNMU by its source version",
			inv:  debInventory(binnmu),
			advs: []*aip.Advisory{advisory("DSA-3", "medium", []string{"CVE-2023-7"},
				debAffected("12", "foo", aip.VersionRange{Introduced: "0", Fixed: "1.2-3+deb12u1"}))},
			want: []string{"CVE-2023-7 libfoo1 1.2-3+b1.amd64 (libfoo1 1.2) medium DSA-3"},
		},
		{
			name: "merges one CVE from two advisories at the highest severity",
			inv:  debInventory(curl),
			advs: []*aip.Advisory{
				advisory("DEBIAN-CVE-2023-8", "low", []string{"CVE-2023-8"}, debAffected("", "curl", aip.VersionRange{Introduced: "0"})),
				advisory("DSA-4", "critical", []string{"CVE-2023-8", "CVE-2023-9"}, debAffected("12", "curl", aip.VersionRange{Introduced: "0"})),
			},
			want: []string{
				"CVE-2023-8 curl 7.88.1-10+deb12u5.amd64 (curl 7.88.1) critical DSA-4",
				"CVE-2023-9 curl 7.88.1-10+deb12u5.amd64 (curl 7.88.1) critical DSA-4",
			},
		},
		{
			name: "orders rpm versions as rpm does",
			inv: &aip.Inventory{Ecosystem: aip.EcosystemRPM, Distro: "almalinux", Release: "9", Packages: []aip.InstalledPackage{
				{Name: "openssl-libs", Version: "1:3.0.7-24.el9", Arch: "x86_64"}}},
			advs: []*aip.Advisory{advisory("ALSA-2024:1", "high", []string{"CVE-2024-1"},
				aip.AffectedPackage{Ecosystem: aip.EcosystemRPM, Distro: "almalinux", Release: "9", Name: "openssl-libs",
					Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "1:3.0.7-25.el9_3"}}})},
			want: []string{"CVE-2024-1 openssl-libs 1:3.0.7-24.el9.x86_64 (openssl-libs 3.0.7) high ALSA-2024:1"},
		},
		{
			name: "orders apk versions as apk does",
			inv: &aip.Inventory{Ecosystem: aip.EcosystemAPK, Distro: "alpine", Release: "3.19", Packages: []aip.InstalledPackage{
				{Name: "busybox", Version: "1.36.1-r15", Arch: "x86_64"}, {Name: "musl", Version: "1.2.4_git20230717-r4"}}},
			advs: []*aip.Advisory{
				advisory("ALPINE-CVE-2023-10", "medium", []string{"CVE-2023-10"}, aip.AffectedPackage{Ecosystem: aip.EcosystemAPK,
					Distro: "alpine", Release: "3.19", Name: "busybox", Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "1.36.1-r16"}}}),
				advisory("ALPINE-CVE-2023-11", "medium", []string{"CVE-2023-11"}, aip.AffectedPackage{Ecosystem: aip.EcosystemAPK,
					Distro: "alpine", Release: "3.19", Name: "musl", Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "1.2.4-r0"}}}),
			},
			want: []string{"CVE-2023-10 busybox 1.36.1-r15.x86_64 (busybox 1.36.1) medium ALPINE-CVE-2023-10"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Match(tt.inv, tt.advs)
			if diff := cmp.Diff(tt.want, summary(res.Matches)); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatchCountsUnparsableVersionsAndGoesOn(t *testing.T) {
	inv := debInventory(aip.InstalledPackage{Name: "curl", Version: "7.88.1-1"}, aip.InstalledPackage{Name: "bash", Version: "5.2-1"})
	advs := []*aip.Advisory{
		advisory("A-1", "high", []string{"CVE-1"}, debAffected("", "curl", aip.VersionRange{Introduced: "0", Fixed: "1:"})),
		advisory("A-2", "high", []string{"CVE-2"}, debAffected("", "bash", aip.VersionRange{Introduced: "0", Fixed: "5.2-2"})),
	}
	res := Match(inv, advs)
	if diff := cmp.Diff([]string{"CVE-2 bash 5.2-1 (bash 5.2) high A-2"}, summary(res.Matches)); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}
	if res.VersionErrors != 1 {
		t.Errorf("VersionErrors = %d, want 1", res.VersionErrors)
	}
}

func TestNormalizeRelease(t *testing.T) {
	tests := []struct{ distro, release, want string }{
		{"alpine", "3.19.1", "3.19"}, {"alpine", "v3.19", "3.19"}, {"debian", "12.5", "12"}, {"debian", "12", "12"},
		{"AlmaLinux", "9.3", "9"}, {"rocky", "8.9", "8"}, {"ubuntu", "22.04", "22.04"}, {"amzn", "2023", "2023"},
	}
	for _, tt := range tests {
		if got := NormalizeRelease(tt.distro, tt.release); got != tt.want {
			t.Errorf("NormalizeRelease(%q, %q) = %q, want %q", tt.distro, tt.release, got, tt.want)
		}
	}
}
