package demo

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/vuln"
)

func TestInventory(t *testing.T) {
	hosts := NewFleet(7, 4).Hosts() // web-1, bastion, db-1, web-2
	tests := []struct {
		host                       Host
		ecosystem, distro, release string
		minPackages                int
		has, lacks                 []string
	}{
		{hosts[0], aip.EcosystemDeb, "ubuntu", "22.04", 60, []string{"nginx", "libssl3", "openssh-server", "php8.1-fpm"}, []string{"fail2ban"}},
		{hosts[1], aip.EcosystemDeb, "ubuntu", "22.04", 60, []string{"fail2ban", "sudo"}, []string{"nginx"}},
		{hosts[2], aip.EcosystemRPM, "almalinux", "9", 40, []string{"postgresql-server", "openssl-libs", "kernel"}, []string{"nginx", "libssl3"}},
		{hosts[3], aip.EcosystemDeb, "ubuntu", "22.04", 60, []string{"nginx"}, nil},
	}
	for _, tt := range tests {
		t.Run("describes "+tt.host.Hostname, func(t *testing.T) {
			got := tt.host.Inventory()
			if got.Ecosystem != tt.ecosystem || got.Distro != tt.distro || got.Release != tt.release {
				t.Errorf("inventory is %s/%s/%s, want %s/%s/%s", got.Ecosystem, got.Distro, got.Release, tt.ecosystem, tt.distro, tt.release)
			}
			if len(got.Packages) < tt.minPackages {
				t.Errorf("%d packages, want at least %d", len(got.Packages), tt.minPackages)
			}
			var names []string
			for _, p := range got.Packages {
				names = append(names, p.Name)
			}
			if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
				t.Errorf("package names are not sorted and distinct: %q", names)
			}
			for _, n := range tt.has {
				if !slices.Contains(names, n) {
					t.Errorf("lacks package %s", n)
				}
			}
			for _, n := range tt.lacks {
				if slices.Contains(names, n) {
					t.Errorf("has package %s, want it absent", n)
				}
			}
			if diff := cmp.Diff(got, tt.host.Inventory()); diff != "" {
				t.Errorf("a second call differs (-first +second):\n%s", diff)
			}
		})
		t.Run("passes the agent API's checks for "+tt.host.Hostname, func(t *testing.T) {
			inv := tt.host.Inventory()
			body, err := json.Marshal(inv)
			if err != nil {
				t.Fatal(err)
			}
			got, rejected, err := vuln.DecodeInventory(body)
			if err != nil {
				t.Fatalf("DecodeInventory: %v", err)
			}
			if len(rejected) != 0 {
				t.Errorf("rejected packages: %+v", rejected)
			}
			if diff := cmp.Diff(inv, *got); diff != "" {
				t.Errorf("decoded inventory differs (-sent +decoded):\n%s", diff)
			}
		})
	}
	t.Run("keeps the Ubuntu source version of binaries with their own epoch", func(t *testing.T) {
		inv := hosts[0].Inventory()
		i := slices.IndexFunc(inv.Packages, func(p aip.InstalledPackage) bool { return p.Name == "bsdutils" })
		if i < 0 {
			t.Fatal("no bsdutils")
		}
		want := aip.InstalledPackage{Name: "bsdutils", Version: "1:2.37.2-4ubuntu3", Arch: "amd64", Source: "util-linux", SourceVersion: "2.37.2-4ubuntu3"}
		if diff := cmp.Diff(want, inv.Packages[i]); diff != "" {
			t.Errorf("bsdutils (-want +got):\n%s", diff)
		}
	})
}

func TestAdvisories(t *testing.T) {
	advs, err := Advisories()
	if err != nil {
		t.Fatalf("Advisories: %v", err)
	}
	files, err := advisoryFiles.ReadDir("advisories")
	if err != nil {
		t.Fatal(err)
	}
	if len(advs) != len(files) || len(advs) < 10 || len(advs) > 20 {
		t.Errorf("%d advisories from %d files, want one per file and 10 to 20", len(advs), len(files))
	}
	for _, a := range advs {
		if len(a.CVEs) == 0 || a.Severity == "" || a.Summary == "" || len(a.Affected) == 0 {
			t.Errorf("advisory %s lacks CVEs, severity, summary or affected packages: %+v", a.ID, a)
		}
	}
}

func TestAdvisoriesMatchTheFleet(t *testing.T) {
	advs, err := Advisories()
	if err != nil {
		t.Fatalf("Advisories: %v", err)
	}
	hosts := NewFleet(7, 3).Hosts()
	tests := []struct {
		host       Host
		minMatches int
		has, lacks []string // CVEs
	}{
		// CVE-2023-22809 (sudoedit) is fixed below the installed sudo on
		// every host: it must not match.
		{hosts[0], 5, []string{"CVE-2023-38545", "CVE-2023-44487", "CVE-2023-48795"}, []string{"CVE-2023-22809"}},
		{hosts[1], 5, []string{"CVE-2023-38545", "CVE-2023-6246"}, []string{"CVE-2023-22809", "CVE-2023-44487"}},
		{hosts[2], 3, []string{"CVE-2024-0985", "CVE-2023-6246", "CVE-2023-48795"}, []string{"CVE-2023-22809", "CVE-2023-38545"}},
	}
	for _, tt := range tests {
		t.Run("finds vulnerabilities on "+tt.host.Hostname, func(t *testing.T) {
			inv := tt.host.Inventory()
			res := vuln.Match(&inv, advs)
			if res.VersionErrors != 0 {
				t.Errorf("%d version comparisons failed", res.VersionErrors)
			}
			if len(res.Matches) < tt.minMatches {
				t.Errorf("%d matches, want at least %d", len(res.Matches), tt.minMatches)
			}
			var cves []string
			severe := false
			for _, m := range res.Matches {
				cves = append(cves, m.CVE)
				severe = severe || m.Severity == "high" || m.Severity == "critical"
			}
			if !severe {
				t.Error("no high or critical match")
			}
			for _, c := range tt.has {
				if !slices.Contains(cves, c) {
					t.Errorf("no match of %s among %q", c, cves)
				}
			}
			for _, c := range tt.lacks {
				if slices.Contains(cves, c) {
					t.Errorf("%s matches, want it not to", c)
				}
			}
		})
	}
}
