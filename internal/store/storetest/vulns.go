package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

// runVulns runs the suites of vulnerability management.
func runVulns(t *testing.T, open func(t *testing.T) aip.Store) {
	t.Run("inventories", func(t *testing.T) { testInventories(t, open) })
	t.Run("advisories", func(t *testing.T) { testAdvisories(t, open) })
	t.Run("affected entries and advisories by id", func(t *testing.T) { testAffectedFor(t, open) })
	t.Run("agents affected by advisories", func(t *testing.T) { testAgentsAffectedBy(t, open) })
	t.Run("vuln matches", func(t *testing.T) { testVulnMatches(t, open) })
	t.Run("vulnerability listing", func(t *testing.T) { testVulnListing(t, open) })
	t.Run("suppressions", func(t *testing.T) { testSuppressions(t, open) })
	t.Run("ec2 instances", func(t *testing.T) { testEC2Instances(t, open) })
	t.Run("vulnerability isolation", func(t *testing.T) { testVulnIsolation(t, open) })
}

func debInventory(orgID, agentID, release string, pkgs ...aip.InstalledPackage) *aip.Inventory {
	return &aip.Inventory{OrgID: orgID, AgentID: agentID, Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: release, Packages: pkgs}
}

func mustInventory(t *testing.T, s aip.Store, inv *aip.Inventory) {
	t.Helper()
	if _, err := s.PutInventory(t.Context(), inv); err != nil {
		t.Fatalf("PutInventory(%s): %v", inv.AgentID, err)
	}
}

func advisory(id, cve string, affected ...aip.AffectedPackage) *aip.Advisory {
	return &aip.Advisory{
		ID: id, CVEs: []string{cve}, Modified: normalized(base), Summary: "summary of " + id, Severity: "high", VectorType: "network",
		SecurityNotices: []aip.SecurityNotice{{ID: "DSA-" + id, URL: "https://example.com/" + id}},
		Affected:        affected,
	}
}

func affected(eco, distro, release, name string) aip.AffectedPackage {
	return aip.AffectedPackage{Ecosystem: eco, Distro: distro, Release: release, Name: name,
		Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "1.2-3"}}}
}

func pkey(eco, distro, release, name string) aip.PackageKey {
	return aip.PackageKey{Ecosystem: eco, Distro: distro, Release: release, Name: name}
}

func advisoryIDs(advs []*aip.Advisory) []string {
	out := []string{}
	for _, a := range advs {
		out = append(out, a.ID)
	}
	slices.Sort(out)
	return out
}

func testInventories(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")
	a := mustAgent(t, s, newAgent(org.ID, "web1", base))
	b := mustAgent(t, s, newAgent(other.ID, "theirs", base))
	pkgs := []aip.InstalledPackage{
		{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"},
		{Name: "curl", Version: "7.88.1-10+deb12u5", Arch: "amd64"},
	}

	t.Run("unknown agent has no inventory", func(t *testing.T) {
		_, err := s.FindInventory(ctx, org.ID, a.ID)
		wantCode(t, err, aip.ENOTFOUND)
	})
	steps := []struct {
		name        string
		inv         *aip.Inventory
		wantChanged bool
	}{
		{"first snapshot is a change", debInventory(org.ID, a.ID, "12", pkgs...), true},
		{"identical snapshot is no change", debInventory(org.ID, a.ID, "12", pkgs...), false},
		{"another package list is a change", debInventory(org.ID, a.ID, "12", pkgs[0]), true},
		{"another release is a change", debInventory(org.ID, a.ID, "13", pkgs[0]), true},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.inv.UpdatedAt = base.Add(time.Duration(i) * time.Minute)
			changed, err := s.PutInventory(ctx, st.inv)
			if err != nil {
				t.Fatal(err)
			}
			if changed != st.wantChanged {
				t.Errorf("changed = %v, want %v", changed, st.wantChanged)
			}
			got, err := s.FindInventory(ctx, org.ID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *st.inv
			if !st.wantChanged {
				want.UpdatedAt = steps[i-1].inv.UpdatedAt
			}
			want.UpdatedAt = normalized(want.UpdatedAt)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("FindInventory mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("unknown agent is not found", func(t *testing.T) {
		_, err := s.PutInventory(ctx, debInventory(org.ID, aip.NewUUID(), "12", pkgs...))
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("another org's agent is not found", func(t *testing.T) {
		_, err := s.PutInventory(ctx, debInventory(org.ID, b.ID, "12", pkgs...))
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.FindInventory(ctx, other.ID, b.ID)
		wantCode(t, err, aip.ENOTFOUND)
	})
}

func testAdvisories(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	a1 := advisory("DEBIAN-CVE-2024-0001", "CVE-2024-0001", affected("deb", "debian", "12", "openssl"))
	a2 := advisory("DEBIAN-CVE-2024-0002", "CVE-2024-0002", affected("deb", "debian", "", "curl"))
	a3 := advisory("ALSA-2024:0003", "CVE-2024-0003", affected("rpm", "almalinux", "9", "openssl"), affected("rpm", "almalinux", "8", "openssl"))
	a2changed := advisory("DEBIAN-CVE-2024-0002", "CVE-2024-0002", affected("deb", "debian", "11", "libcurl"))
	a2changed.Severity = "critical"

	steps := []struct {
		name    string
		advs    []*aip.Advisory
		want    aip.AdvisoryImport
		wantIDs []string
	}{
		{"new advisories are added", []*aip.Advisory{a1, a2}, aip.AdvisoryImport{Added: 2}, []string{a1.ID, a2.ID}},
		{"re-import changes nothing", []*aip.Advisory{a1, a2}, aip.AdvisoryImport{Unchanged: 2}, nil},
		{"changed and new ones are reported", []*aip.Advisory{a1, a2changed, a3}, aip.AdvisoryImport{Added: 1, Updated: 1, Unchanged: 1}, []string{a2.ID, a3.ID}},
		{"re-import of the changed data changes nothing", []*aip.Advisory{a3, a2changed, a1}, aip.AdvisoryImport{Unchanged: 3}, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got, ids, err := s.UpsertAdvisories(ctx, st.advs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(st.want, got); diff != "" {
				t.Errorf("counts mismatch (-want +got):\n%s", diff)
			}
			slices.Sort(ids)
			want := slices.Clone(st.wantIDs)
			slices.Sort(want)
			if diff := cmp.Diff(want, ids, timeOpts); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("advisories for package keys", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			keys []aip.PackageKey
			want []string
		}{
			{"release-specific entry matches its release", []aip.PackageKey{pkey("deb", "debian", "12", "openssl")}, []string{a1.ID}},
			{"release-specific entry misses another release", []aip.PackageKey{pkey("deb", "debian", "11", "openssl")}, []string{}},
			{"replaced entries no longer match", []aip.PackageKey{pkey("deb", "debian", "12", "curl")}, []string{}},
			{"updated entry matches", []aip.PackageKey{pkey("deb", "debian", "11", "libcurl")}, []string{a2.ID}},
			{"other ecosystem", []aip.PackageKey{pkey("rpm", "almalinux", "9", "openssl")}, []string{a3.ID}},
			{"each advisory once", []aip.PackageKey{pkey("rpm", "almalinux", "9", "openssl"), pkey("rpm", "almalinux", "8", "openssl"), pkey("deb", "debian", "12", "openssl")}, []string{a3.ID, a1.ID}},
			{"no keys", nil, []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.AdvisoriesFor(ctx, tc.keys)
				if err != nil {
					t.Fatal(err)
				}
				want := slices.Clone(tc.want)
				slices.Sort(want)
				if diff := cmp.Diff(want, advisoryIDs(got)); diff != "" {
					t.Errorf("AdvisoriesFor mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})
	t.Run("any-release entry matches every release", func(t *testing.T) {
		a4 := advisory("DEBIAN-CVE-2024-0004", "CVE-2024-0004", affected("deb", "debian", "", "zlib"))
		if _, _, err := s.UpsertAdvisories(ctx, []*aip.Advisory{a4}); err != nil {
			t.Fatal(err)
		}
		for _, rel := range []string{"11", "12"} {
			got, err := s.AdvisoriesFor(ctx, []aip.PackageKey{pkey("deb", "debian", rel, "zlib")})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]*aip.Advisory{a4}, got, timeOpts); diff != "" {
				t.Errorf("release %s: AdvisoriesFor mismatch (-want +got):\n%s", rel, diff)
			}
		}
	})
	t.Run("returns the stored content", func(t *testing.T) {
		got, err := s.AdvisoriesFor(ctx, []aip.PackageKey{pkey("deb", "debian", "11", "libcurl")})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*aip.Advisory{a2changed}, got, timeOpts); diff != "" {
			t.Errorf("AdvisoriesFor mismatch (-want +got):\n%s", diff)
		}
	})
}

func testAgentsAffectedBy(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	orgA := mustOrg(t, s, "a")
	orgB := mustOrg(t, s, "b")
	bookworm := mustAgent(t, s, newAgent(orgA.ID, "bookworm", base))
	bullseye := mustAgent(t, s, newAgent(orgA.ID, "bullseye", base))
	theirs := mustAgent(t, s, newAgent(orgB.ID, "theirs", base))
	idle := mustAgent(t, s, newAgent(orgB.ID, "idle", base))
	mustInventory(t, s, debInventory(orgA.ID, bookworm.ID, "12",
		aip.InstalledPackage{Name: "libssl3", Version: "3.0.11-1", Source: "openssl"},
		aip.InstalledPackage{Name: "openssl", Version: "3.0.11-1"}))
	mustInventory(t, s, debInventory(orgA.ID, bullseye.ID, "11", aip.InstalledPackage{Name: "curl", Version: "7.74.0-1"}))
	mustInventory(t, s, debInventory(orgB.ID, theirs.ID, "12", aip.InstalledPackage{Name: "libssl3", Version: "3.0.11-1", Source: "openssl"}))
	mustInventory(t, s, &aip.Inventory{OrgID: orgB.ID, AgentID: idle.ID, Ecosystem: aip.EcosystemRPM, Distro: "almalinux", Release: "9",
		Packages: []aip.InstalledPackage{{Name: "libssl3", Version: "3.0.7-1", Source: "openssl"}}})
	advs := []*aip.Advisory{
		advisory("A-openssl-12", "CVE-1", affected("deb", "debian", "12", "openssl")),
		advisory("A-curl-any", "CVE-2", affected("deb", "debian", "", "curl")),
		advisory("A-ubuntu", "CVE-3", affected("deb", "ubuntu", "", "openssl")),
		advisory("A-libssl3-binary", "CVE-4", affected("deb", "debian", "12", "libssl3")),
		advisory("A-alma-libssl3", "CVE-5", affected("rpm", "almalinux", "9", "libssl3")),
	}
	if _, _, err := s.UpsertAdvisories(ctx, advs); err != nil {
		t.Fatal(err)
	}
	ref := func(o *aip.Organization, a *aip.Agent) aip.AgentRef { return aip.AgentRef{OrgID: o.ID, AgentID: a.ID} }
	for _, tc := range []struct {
		name string
		ids  []string
		want []aip.AgentRef
	}{
		{"source name matches deb agents of every org", []string{"A-openssl-12"}, []aip.AgentRef{ref(orgA, bookworm), ref(orgB, theirs)}},
		{"any-release entry", []string{"A-curl-any"}, []aip.AgentRef{ref(orgA, bullseye)}},
		{"other distro matches nobody", []string{"A-ubuntu"}, nil},
		{"deb binary name of a source package matches nobody", []string{"A-libssl3-binary"}, nil},
		{"rpm matches by binary name", []string{"A-alma-libssl3"}, []aip.AgentRef{ref(orgB, idle)}},
		{"each agent once", []string{"A-openssl-12", "A-curl-any", "A-openssl-12", "unknown"}, []aip.AgentRef{ref(orgA, bookworm), ref(orgA, bullseye), ref(orgB, theirs)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.AgentsAffectedBy(ctx, tc.ids)
			if err != nil {
				t.Fatal(err)
			}
			cmpRef := func(a, b aip.AgentRef) int { return strings.Compare(a.OrgID+a.AgentID, b.OrgID+b.AgentID) }
			slices.SortFunc(got, cmpRef)
			want := slices.Clone(tc.want)
			slices.SortFunc(want, cmpRef)
			if diff := cmp.Diff(want, got, timeOpts); diff != "" {
				t.Errorf("AgentsAffectedBy mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("agents with an active match of the advisory, whatever it names now", func(t *testing.T) {
		m := &aip.VulnMatch{CVE: "CVE-6", AdvisoryID: "A-renamed", Package: "curl", ReportedPackage: "curl 7.74.0",
			SystemPackage: "curl 7.74.0-1.amd64", Severity: "high"}
		if err := s.ReplaceVulnMatches(ctx, orgA.ID, bullseye.ID, []*aip.VulnMatch{m}, base); err != nil {
			t.Fatal(err)
		}
		renamed := advisory("A-renamed", "CVE-6", affected("deb", "debian", "", "curl-ng"))
		if _, _, err := s.UpsertAdvisories(ctx, []*aip.Advisory{renamed}); err != nil {
			t.Fatal(err)
		}
		got, err := s.AgentsAffectedBy(ctx, []string{"A-renamed"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]aip.AgentRef{ref(orgA, bullseye)}, got); diff != "" {
			t.Errorf("AgentsAffectedBy mismatch (-want +got):\n%s", diff)
		}
		if err := s.ReplaceVulnMatches(ctx, orgA.ID, bullseye.ID, nil, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AgentsAffectedBy(ctx, []string{"A-renamed"}); err != nil || len(got) != 0 {
			t.Errorf("after the match resolved: %v, %v; want none", got, err)
		}
	})
}

func vmatch(cve, pkg, version, severity string, notices ...string) *aip.VulnMatch {
	m := &aip.VulnMatch{
		CVE: cve, AdvisoryID: "DEBIAN-" + cve, Package: pkg,
		ReportedPackage: pkg + " " + version, SystemPackage: pkg + " " + version + ".amd64",
		Severity: severity, VectorType: "network",
	}
	for _, n := range notices {
		m.SecurityNotices = append(m.SecurityNotices, aip.SecurityNotice{ID: n, URL: "https://example.com/" + n})
	}
	return m
}

func mustMatches(t *testing.T, s aip.Store, orgID, agentID string, at time.Time, ms ...*aip.VulnMatch) {
	t.Helper()
	if err := s.ReplaceVulnMatches(t.Context(), orgID, agentID, ms, at); err != nil {
		t.Fatalf("ReplaceVulnMatches(%s): %v", agentID, err)
	}
}

// vulnSummary is "CVE systemPackage agent,agent [suppressed]".
func vulnSummary(vs []*aip.Vulnerability) []string {
	out := []string{}
	for _, v := range vs {
		var agents []string
		for _, a := range v.Agents {
			agents = append(agents, a.AgentID)
		}
		s := v.CVENumber + " " + v.SystemPackage + " " + strings.Join(agents, ",")
		if v.IsSuppressed {
			s += " suppressed"
		}
		out = append(out, s)
	}
	return out
}

func listVulns(t *testing.T, s aip.Store, f aip.VulnFilter) []*aip.Vulnerability {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Now.IsZero() {
		f.Now = base.Add(time.Hour)
	}
	got, err := s.ListVulnerabilities(t.Context(), f)
	if err != nil {
		t.Fatalf("ListVulnerabilities(%+v): %v", f, err)
	}
	return got
}

func testVulnMatches(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	a := mustAgent(t, s, newAgent(org.ID, "web1", base))
	m1 := vmatch("CVE-2024-0001", "openssl", "3.0.11-1", "high")
	m2 := vmatch("CVE-2024-0002", "curl", "7.88.1-10", "medium")
	sum := func(m *aip.VulnMatch, suppressed bool) string {
		return vulnSummary([]*aip.Vulnerability{{CVENumber: m.CVE, SystemPackage: m.SystemPackage, Agents: []aip.VulnAgent{{AgentID: a.ID}}, IsSuppressed: suppressed}})[0]
	}
	for _, st := range []struct {
		name         string
		matches      []*aip.VulnMatch
		wantActive   []string
		wantResolved []string
	}{
		{"new matches are active", []*aip.VulnMatch{m1, m2}, []string{sum(m1, false), sum(m2, false)}, []string{}},
		{"a missing match is resolved", []*aip.VulnMatch{m1}, []string{sum(m1, false)}, []string{sum(m2, false)}},
		{"a resolved match that matches again is active again", []*aip.VulnMatch{m2, m1}, []string{sum(m1, false), sum(m2, false)}, []string{}},
		{"no matches resolves everything", nil, []string{}, []string{sum(m1, false), sum(m2, false)}},
	} {
		t.Run(st.name, func(t *testing.T) {
			mustMatches(t, s, org.ID, a.ID, base, st.matches...)
			got := vulnSummary(listVulns(t, s, aip.VulnFilter{OrgID: org.ID, Status: aip.VulnActive}))
			if diff := cmp.Diff(st.wantActive, got); diff != "" {
				t.Errorf("active mismatch (-want +got):\n%s", diff)
			}
			got = vulnSummary(listVulns(t, s, aip.VulnFilter{OrgID: org.ID, Status: aip.VulnResolved}))
			if diff := cmp.Diff(st.wantResolved, got); diff != "" {
				t.Errorf("resolved mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("unknown agent is not found", func(t *testing.T) {
		wantCode(t, s.ReplaceVulnMatches(ctx, org.ID, aip.NewUUID(), []*aip.VulnMatch{m1}, base), aip.ENOTFOUND)
	})
	t.Run("invalid filters are rejected", func(t *testing.T) {
		_, err := s.ListVulnerabilities(ctx, aip.VulnFilter{OrgID: org.ID, Status: "bogus", Limit: 10})
		wantCode(t, err, aip.EINVALID)
		_, err = s.ListVulnerabilities(ctx, aip.VulnFilter{OrgID: org.ID, Status: aip.VulnAll})
		wantCode(t, err, aip.EINVALID)
	})
}

// vulnFixture is an organization with two agents sharing one CVE in one
// system package, and one agent-specific CVE each.
type vulnFixture struct {
	org          *aip.Organization
	first, secnd *aip.Agent // first.ID < secnd.ID
	shared       *aip.VulnMatch
	onFirst      *aip.VulnMatch
	onSecond     *aip.VulnMatch
}

func newVulnFixture(t *testing.T, s aip.Store, name string) *vulnFixture {
	t.Helper()
	f := &vulnFixture{org: mustOrg(t, s, name)}
	x := mustAgent(t, s, newAgent(f.org.ID, "web1", base))
	y := mustAgent(t, s, newAgent(f.org.ID, "db1", base))
	if x.ID > y.ID {
		x, y = y, x
	}
	f.first, f.secnd = x, y
	f.shared = vmatch("CVE-2024-0001", "openssl", "3.0.11-1", "high", "DSA-1")
	onSecondShared := vmatch("CVE-2024-0001", "openssl", "3.0.11-1", "critical", "DSA-1")
	f.onFirst = vmatch("CVE-2024-0002", "curl", "7.88.1-10", "medium", "DSA-2")
	f.onSecond = vmatch("CVE-2024-0003", "zlib", "1.2.13", "low")
	mustMatches(t, s, f.org.ID, x.ID, base, f.shared, f.onFirst)
	mustMatches(t, s, f.org.ID, y.ID, base, onSecondShared, f.onSecond)
	return f
}

func (f *vulnFixture) sum(m *aip.VulnMatch, suppressed bool, agents ...*aip.Agent) string {
	v := &aip.Vulnerability{CVENumber: m.CVE, SystemPackage: m.SystemPackage, IsSuppressed: suppressed}
	for _, a := range agents {
		v.Agents = append(v.Agents, aip.VulnAgent{AgentID: a.ID})
	}
	return vulnSummary([]*aip.Vulnerability{v})[0]
}

func testVulnListing(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	f := newVulnFixture(t, s, "acme")
	x, y := f.first, f.secnd

	t.Run("groups agents of one CVE and package", func(t *testing.T) {
		got := listVulns(t, s, aip.VulnFilter{OrgID: f.org.ID, Status: aip.VulnActive})
		host := func(a *aip.Agent) *string { h := a.Hostname; return &h }
		want := []*aip.Vulnerability{
			{CVENumber: "CVE-2024-0001", ReportedPackage: "openssl 3.0.11-1", SystemPackage: "openssl 3.0.11-1.amd64",
				VectorType: "network", Severity: "critical",
				SecurityNotices: []aip.SecurityNotice{{ID: "DSA-1", URL: "https://example.com/DSA-1"}},
				Agents:          []aip.VulnAgent{{AgentID: x.ID, Hostname: host(x)}, {AgentID: y.ID, Hostname: host(y)}}},
			{CVENumber: "CVE-2024-0002", ReportedPackage: "curl 7.88.1-10", SystemPackage: "curl 7.88.1-10.amd64",
				VectorType: "network", Severity: "medium",
				SecurityNotices: []aip.SecurityNotice{{ID: "DSA-2", URL: "https://example.com/DSA-2"}},
				Agents:          []aip.VulnAgent{{AgentID: x.ID, Hostname: host(x)}}},
			{CVENumber: "CVE-2024-0003", ReportedPackage: "zlib 1.2.13", SystemPackage: "zlib 1.2.13.amd64",
				VectorType: "network", Severity: "low", SecurityNotices: []aip.SecurityNotice{},
				Agents: []aip.VulnAgent{{AgentID: y.ID, Hostname: host(y)}}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListVulnerabilities mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    aip.VulnFilter
			want []string
		}{
			{"by agent", aip.VulnFilter{AgentID: y.ID}, []string{f.sum(f.shared, false, y), f.sum(f.onSecond, false, y)}},
			{"by hostname", aip.VulnFilter{Hostname: x.Hostname}, []string{f.sum(f.shared, false, x), f.sum(f.onFirst, false, x)}},
			{"by package", aip.VulnFilter{Package: "curl"}, []string{f.sum(f.onFirst, false, x)}},
			{"by CVE", aip.VulnFilter{CVE: "CVE-2024-0003"}, []string{f.sum(f.onSecond, false, y)}},
			{"with security notices", aip.VulnFilter{HasSecurityNotices: true}, []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, false, x)}},
			{"unknown agent", aip.VulnFilter{AgentID: aip.NewUUID()}, []string{}},
			{"after a position", aip.VulnFilter{After: &aip.VulnCursor{CVE: f.shared.CVE, SystemPackage: f.shared.SystemPackage}}, []string{f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.f.OrgID, tc.f.Status = f.org.ID, aip.VulnActive
				got := vulnSummary(listVulns(t, s, tc.f))
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})
	t.Run("pages by group", func(t *testing.T) {
		var got []string
		fl := aip.VulnFilter{OrgID: f.org.ID, Status: aip.VulnActive, Limit: 1}
		for range 10 {
			page := listVulns(t, s, fl)
			if len(page) == 0 {
				break
			}
			if len(page) > 1 {
				t.Fatalf("page of %d items, want at most 1", len(page))
			}
			got = append(got, vulnSummary(page)...)
			last := page[len(page)-1]
			fl.After = &aip.VulnCursor{CVE: last.CVENumber, SystemPackage: last.SystemPackage}
		}
		want := []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pages mismatch (-want +got):\n%s", diff)
		}
	})

	now := base.Add(time.Hour)
	pkg := func(s string) *string { return &s }
	for _, tc := range []struct {
		name           string
		sup            aip.Suppression
		wantActive     []string
		wantSuppressed []string
		wantAll        []string
	}{
		{
			name:           "org-wide suppression moves the CVE to suppressed",
			sup:            aip.Suppression{CVENumber: f.shared.CVE},
			wantActive:     []string{f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)},
			wantSuppressed: []string{f.sum(f.shared, true, x, y)},
			wantAll:        []string{f.sum(f.shared, true, x, y), f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)},
		},
		{
			name:           "package suppression covers that package",
			sup:            aip.Suppression{CVENumber: f.onSecond.CVE, Package: pkg("zlib")},
			wantActive:     []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, false, x)},
			wantSuppressed: []string{f.sum(f.onSecond, true, y)},
			wantAll:        []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, false, x), f.sum(f.onSecond, true, y)},
		},
		{
			name:           "package suppression of another package does nothing",
			sup:            aip.Suppression{CVENumber: f.onSecond.CVE, Package: pkg("openssl")},
			wantActive:     []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)},
			wantSuppressed: []string{},
			wantAll:        []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)},
		},
		{
			name:           "agent suppression splits a group; all keeps it whole and unsuppressed",
			sup:            aip.Suppression{CVENumber: f.shared.CVE, AgentID: &x.ID},
			wantActive:     []string{f.sum(f.shared, false, y), f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)},
			wantSuppressed: []string{f.sum(f.shared, true, x)},
			wantAll:        []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)},
		},
		{
			name:           "agent and package suppression",
			sup:            aip.Suppression{CVENumber: f.shared.CVE, AgentID: &y.ID, Package: pkg("openssl")},
			wantActive:     []string{f.sum(f.shared, false, x), f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)},
			wantSuppressed: []string{f.sum(f.shared, true, y)},
			wantAll:        []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)},
		},
		{
			name:           "expired suppression is ignored",
			sup:            aip.Suppression{CVENumber: f.shared.CVE, CreatedAt: aip.Time{Time: base}, ExpiresAt: aip.Time{Time: now.Add(-time.Minute)}},
			wantActive:     []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)},
			wantSuppressed: []string{},
			wantAll:        []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, false, x), f.sum(f.onSecond, false, y)},
		},
		{
			name:           "unexpired suppression applies",
			sup:            aip.Suppression{CVENumber: f.onFirst.CVE, CreatedAt: aip.Time{Time: base}, ExpiresAt: aip.Time{Time: now.Add(time.Minute)}},
			wantActive:     []string{f.sum(f.shared, false, x, y), f.sum(f.onSecond, false, y)},
			wantSuppressed: []string{f.sum(f.onFirst, true, x)},
			wantAll:        []string{f.sum(f.shared, false, x, y), f.sum(f.onFirst, true, x), f.sum(f.onSecond, false, y)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sup := tc.sup
			sup.OrgID, sup.Reason, sup.CreatedBy = f.org.ID, "accepted risk", "user-1"
			if err := s.CreateSuppression(ctx, &sup); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				status string
				want   []string
			}{{aip.VulnActive, tc.wantActive}, {aip.VulnSuppressed, tc.wantSuppressed}, {aip.VulnAll, tc.wantAll}} {
				got := vulnSummary(listVulns(t, s, aip.VulnFilter{OrgID: f.org.ID, Status: c.status, Now: now}))
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("status %s mismatch (-want +got):\n%s", c.status, diff)
				}
			}
			if err := s.DeleteSuppression(ctx, f.org.ID, sup.ID); err != nil {
				t.Fatal(err)
			}
			got := vulnSummary(listVulns(t, s, aip.VulnFilter{OrgID: f.org.ID, Status: aip.VulnSuppressed, Now: now}))
			if diff := cmp.Diff([]string{}, got); diff != "" {
				t.Errorf("suppressed after delete mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("servers of a CVE", func(t *testing.T) {
		mustMatches(t, s, f.org.ID, x.ID, base.Add(time.Minute), f.onFirst) // resolves the shared CVE on x
		for _, tc := range []struct {
			name, cve, after string
			limit            int
			want             []string
		}{
			{"only active matches", f.shared.CVE, "", 10, []string{y.ID}},
			{"resolved everywhere", "CVE-none", "", 10, nil},
			{"by agent id", f.onFirst.CVE, "", 10, []string{x.ID}},
			{"after an agent", f.onFirst.CVE, x.ID, 10, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListVulnServers(ctx, f.org.ID, tc.cve, tc.after, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, a := range got {
					ids = append(ids, a.AgentID)
				}
				if diff := cmp.Diff(tc.want, ids); diff != "" {
					t.Errorf("ListVulnServers mismatch (-want +got):\n%s", diff)
				}
			})
		}
		mustMatches(t, s, f.org.ID, x.ID, base.Add(2*time.Minute), f.shared, f.onFirst)
		got, err := s.ListVulnServers(ctx, f.org.ID, f.shared.CVE, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].AgentID != x.ID || got[0].Hostname == nil || *got[0].Hostname != x.Hostname {
			t.Errorf("ListVulnServers(limit 1) = %+v, want only %s (%s)", got, x.ID, x.Hostname)
		}
	})
}

func testSuppressions(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	t.Run("rejects invalid suppressions", func(t *testing.T) {
		for _, sup := range []aip.Suppression{
			{CVENumber: "", Reason: "r"},
			{CVENumber: "CVE-1", Reason: ""},
			{CVENumber: "CVE-1", Reason: "r", CreatedAt: aip.Time{Time: base}, ExpiresAt: aip.Time{Time: base}},
			{CVENumber: "CVE-1", Reason: "r", CreatedAt: aip.Time{Time: base}, ExpiresAt: aip.Time{Time: base.Add(-time.Hour)}},
		} {
			sup.OrgID = org.ID
			wantCode(t, s.CreateSuppression(ctx, &sup), aip.EINVALID)
		}
	})
	var created []*aip.Suppression
	for i := range 3 {
		sup := &aip.Suppression{OrgID: org.ID, CVENumber: fmt.Sprintf("CVE-2024-%04d", i), Reason: "false positive",
			CreatedBy: "user-1", CreatedAt: aip.Time{Time: base.Add(time.Duration(i) * time.Minute)}}
		if i == 1 {
			p := "openssl"
			sup.Package = &p
			sup.ExpiresAt = aip.Time{Time: base.Add(24 * time.Hour)}
		}
		if err := s.CreateSuppression(ctx, sup); err != nil {
			t.Fatal(err)
		}
		if sup.ID == "" {
			t.Fatal("CreateSuppression left ID empty")
		}
		checkStoredTime(t, "CreatedAt", sup.CreatedAt.Time)
		created = append(created, sup)
	}
	t.Run("fills CreatedAt when zero", func(t *testing.T) {
		sup := &aip.Suppression{OrgID: org.ID, CVENumber: "CVE-9", Reason: "r"}
		if err := s.CreateSuppression(ctx, sup); err != nil {
			t.Fatal(err)
		}
		checkStoredTime(t, "CreatedAt", sup.CreatedAt.Time)
		wantCode(t, s.CreateSuppression(ctx, &aip.Suppression{OrgID: aip.NewID24(), CVENumber: "CVE-9", Reason: "r"}), aip.ENOTFOUND)
		if err := s.DeleteSuppression(ctx, org.ID, sup.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("lists newest first", func(t *testing.T) {
		got, err := s.ListSuppressions(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []*aip.Suppression{created[2], created[1], created[0]}
		if diff := cmp.Diff(want, got, timeOpts); diff != "" {
			t.Errorf("ListSuppressions mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("deletes", func(t *testing.T) {
		if err := s.DeleteSuppression(ctx, org.ID, created[1].ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteSuppression(ctx, org.ID, created[1].ID), aip.ENOTFOUND)
		got, err := s.ListSuppressions(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*aip.Suppression{created[2], created[0]}, got, timeOpts); diff != "" {
			t.Errorf("ListSuppressions mismatch (-want +got):\n%s", diff)
		}
	})
}

func testEC2Instances(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	inst := func(id, state string) *aip.EC2Instance {
		return &aip.EC2Instance{ID: id, OrgID: org.ID, InstanceType: "t3.micro", PrivateIPAddress: "10.0.0.1",
			Groups: []aip.EC2Group{{ID: "sg-1", Name: "web"}}, Region: "eu-west-1", LaunchTime: aip.Time{Time: base.Truncate(time.Millisecond)},
			AWSProfile: &aip.AWSProfile{ID: "123456789012", OrgName: "acme"}, Tags: []aip.Tag{{Key: "Name", Value: id}},
			State: state, StateCode: 16}
	}
	n, err := s.PutEC2Instances(ctx, org.ID, []*aip.EC2Instance{inst("i-b", "running"), inst("i-a", "running")})
	if err != nil || n != 2 {
		t.Fatalf("PutEC2Instances = %d, %v; want 2, nil", n, err)
	}
	replaced := inst("i-b", "stopped")
	replaced.Monitored = true
	replaced.Agents = []*aip.Agent{{ID: "not stored"}}
	if n, err := s.PutEC2Instances(ctx, org.ID, []*aip.EC2Instance{replaced}); err != nil || n != 1 {
		t.Fatalf("PutEC2Instances = %d, %v; want 1, nil", n, err)
	}
	got, err := s.ListEC2Instances(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []*aip.EC2Instance{inst("i-a", "running"), inst("i-b", "stopped")}
	if diff := cmp.Diff(want, got, timeOpts); diff != "" {
		t.Errorf("ListEC2Instances mismatch (-want +got):\n%s", diff)
	}
	t.Run("rejects an instance without id", func(t *testing.T) {
		_, err := s.PutEC2Instances(ctx, org.ID, []*aip.EC2Instance{{}})
		wantCode(t, err, aip.EINVALID)
	})
}

func testVulnIsolation(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	mine := newVulnFixture(t, s, "mine")
	theirs := mustOrg(t, s, "theirs")
	their := mustAgent(t, s, newAgent(theirs.ID, "web1", base))
	mustInventory(t, s, debInventory(mine.org.ID, mine.first.ID, "12", aip.InstalledPackage{Name: "openssl", Version: "3.0.11-1"}))
	sup := &aip.Suppression{OrgID: mine.org.ID, CVENumber: mine.onFirst.CVE, Reason: "r"}
	if err := s.CreateSuppression(ctx, sup); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutEC2Instances(ctx, mine.org.ID, []*aip.EC2Instance{{ID: "i-mine"}}); err != nil {
		t.Fatal(err)
	}

	t.Run("another org sees none of it", func(t *testing.T) {
		for _, status := range []string{aip.VulnActive, aip.VulnSuppressed, aip.VulnResolved, aip.VulnAll} {
			for _, f := range []aip.VulnFilter{{}, {AgentID: mine.first.ID}, {Hostname: "web1"}, {CVE: mine.shared.CVE}} {
				f.OrgID, f.Status = theirs.ID, status
				if got := listVulns(t, s, f); len(got) != 0 {
					t.Errorf("ListVulnerabilities(%+v) = %v, want none", f, vulnSummary(got))
				}
			}
		}
		servers, err := s.ListVulnServers(ctx, theirs.ID, mine.shared.CVE, "", 10)
		if err != nil || len(servers) != 0 {
			t.Errorf("ListVulnServers = %v, %v; want none", servers, err)
		}
		sups, err := s.ListSuppressions(ctx, theirs.ID)
		if err != nil || len(sups) != 0 {
			t.Errorf("ListSuppressions = %v, %v; want none", sups, err)
		}
		wantCode(t, s.DeleteSuppression(ctx, theirs.ID, sup.ID), aip.ENOTFOUND)
		_, err = s.FindInventory(ctx, theirs.ID, mine.first.ID)
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.ReplaceVulnMatches(ctx, theirs.ID, mine.first.ID, nil, base), aip.ENOTFOUND)
		insts, err := s.ListEC2Instances(ctx, theirs.ID)
		if err != nil || len(insts) != 0 {
			t.Errorf("ListEC2Instances = %v, %v; want none", insts, err)
		}
	})
	t.Run("another org's suppression and matches do not apply", func(t *testing.T) {
		if err := s.CreateSuppression(ctx, &aip.Suppression{OrgID: theirs.ID, CVENumber: mine.shared.CVE, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
		mustMatches(t, s, theirs.ID, their.ID, base, vmatch("CVE-2024-0001", "openssl", "3.0.11-1", "high"))
		got := vulnSummary(listVulns(t, s, aip.VulnFilter{OrgID: mine.org.ID, Status: aip.VulnAll}))
		want := []string{mine.sum(mine.shared, false, mine.first, mine.secnd), mine.sum(mine.onFirst, true, mine.first), mine.sum(mine.onSecond, false, mine.secnd)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListVulnerabilities mismatch (-want +got):\n%s", diff)
		}
		got = vulnSummary(listVulns(t, s, aip.VulnFilter{OrgID: theirs.ID, Status: aip.VulnSuppressed}))
		if diff := cmp.Diff([]string{mine.sum(mine.shared, true, their)}, got); diff != "" {
			t.Errorf("their suppressed mismatch (-want +got):\n%s", diff)
		}
	})
}
