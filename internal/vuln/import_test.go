package vuln_test

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/sqlite"
	"github.com/aipsec/aip/internal/vuln"
	"github.com/google/go-cmp/cmp"
)

const (
	webpRecord = `{"id":"DEBIAN-CVE-2023-4863","modified":"2024-01-15T10:00:00Z","upstream":["CVE-2023-4863"],
		"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"}],
		"affected":[{"package":{"ecosystem":"Debian:12","name":"libwebp"},
		"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"%FIXED%"}]}]}]}`
	opensslAlpine = `{"id":"ALPINE-CVE-2024-0727","modified":"2024-02-01T00:00:00Z",%WITHDRAWN%
		"affected":[{"package":{"ecosystem":"Alpine:v3.19","name":"openssl"},
		"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.1.4-r5"}]}]}]}`
	npmRecord = `{"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-9999"],
		"affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`
)

// importFixture is a store with three agents: a Debian 12 host with an
// old libwebp, an Alpine 3.19 host with an old openssl, and a Debian host
// without either.
type importFixture struct {
	db                      *sqlite.DB
	orgID                   string
	debian, alpine, bystand string
	dir                     string
}

func newImportFixture(t *testing.T) *importFixture {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "aip.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	org := &aip.Organization{Name: "acme"}
	if err := db.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	f := &importFixture{db: db, orgID: org.ID, dir: t.TempDir()}
	agent := func(inv *aip.Inventory) string {
		a := &aip.Agent{ID: aip.NewUUID(), OrgID: org.ID}
		if err := db.CreateAgent(ctx, a, []byte("sealed"), nil); err != nil {
			t.Fatal(err)
		}
		inv.OrgID, inv.AgentID = org.ID, a.ID
		if _, err := db.PutInventory(ctx, inv); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	f.debian = agent(&aip.Inventory{Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: "12", Packages: []aip.InstalledPackage{
		{Name: "libwebp7", Version: "1.2.4-0.2", Arch: "amd64", Source: "libwebp"}}})
	f.alpine = agent(&aip.Inventory{Ecosystem: aip.EcosystemAPK, Distro: "alpine", Release: "3.19", Packages: []aip.InstalledPackage{
		{Name: "openssl", Version: "3.1.4-r4", Arch: "x86_64"}}})
	f.bystand = agent(&aip.Inventory{Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: "12", Packages: []aip.InstalledPackage{
		{Name: "bash", Version: "5.2.15-2+b2", Arch: "amd64"}}})
	return f
}

func (f *importFixture) write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (f *importFixture) run(t *testing.T, paths ...string) (vuln.ImportReport, []string) {
	t.Helper()
	var problems []string
	rep, err := vuln.Import(t.Context(), f.db, paths, time.Now, func(p string) { problems = append(problems, p) })
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return rep, problems
}

// cves lists "agent-role CVE" of the org's vulnerabilities with status.
func (f *importFixture) cves(t *testing.T, status string) []string {
	t.Helper()
	vs, err := f.db.ListVulnerabilities(t.Context(), aip.VulnFilter{OrgID: f.orgID, Status: status, Limit: 100, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	role := map[string]string{f.debian: "debian", f.alpine: "alpine", f.bystand: "bystander"}
	out := []string{}
	for _, v := range vs {
		for _, a := range v.Agents {
			out = append(out, role[a.AgentID]+" "+v.CVENumber+" "+v.SystemPackage)
		}
	}
	return out
}

func TestImport(t *testing.T) {
	f := newImportFixture(t)
	webp := f.write(t, "osv/debian/DEBIAN-CVE-2023-4863.json", strings.Replace(webpRecord, "%FIXED%", "1.2.4-0.2+deb12u1", 1))
	alpine := f.write(t, "osv/alpine/ALPINE-CVE-2024-0727.json", strings.Replace(opensslAlpine, "%WITHDRAWN%", "", 1))
	f.write(t, "osv/npm/GHSA-aaaa-bbbb-cccc.json", npmRecord)
	f.write(t, "osv/broken/bad.json", `{"id": "X-1", "modified": `)
	dir := filepath.Join(f.dir, "osv")

	t.Run("imports a directory, reports what it skipped and matches the hosts", func(t *testing.T) {
		rep, problems := f.run(t, dir)
		want := vuln.ImportReport{AdvisoryImport: aip.AdvisoryImport{Added: 2}, Skipped: 1, UnsupportedEntries: 1, Invalid: 1, Rematched: 2}
		if diff := cmp.Diff(want, rep); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
		joined := strings.Join(problems, "\n")
		for _, wantText := range []string{"bad.json", "GHSA-aaaa-bbbb-cccc"} {
			if !strings.Contains(joined, wantText) {
				t.Errorf("problems %q do not name %q", problems, wantText)
			}
		}
		wantActive := []string{"debian CVE-2023-4863 libwebp7 1.2.4-0.2.amd64", "alpine CVE-2024-0727 openssl 3.1.4-r4.x86_64"}
		if diff := cmp.Diff(wantActive, f.cves(t, aip.VulnActive)); diff != "" {
			t.Errorf("active vulnerabilities (-want +got):\n%s", diff)
		}
	})
	t.Run("a re-import of the same data changes nothing", func(t *testing.T) {
		rep, _ := f.run(t, dir)
		want := vuln.ImportReport{AdvisoryImport: aip.AdvisoryImport{Unchanged: 2}, Skipped: 1, UnsupportedEntries: 1, Invalid: 1}
		if diff := cmp.Diff(want, rep); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
	})
	t.Run("the same records in a zip archive change nothing either", func(t *testing.T) {
		zipPath := filepath.Join(t.TempDir(), "all.zip")
		writeZip(t, zipPath, map[string]string{"a.json": mustRead(t, webp), "b.json": mustRead(t, alpine)})
		rep, _ := f.run(t, zipPath)
		if diff := cmp.Diff(vuln.ImportReport{AdvisoryImport: aip.AdvisoryImport{Unchanged: 2}}, rep); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
	})
	t.Run("an updated advisory re-matches only its hosts and resolves what it no longer covers", func(t *testing.T) {
		f.write(t, "osv/debian/DEBIAN-CVE-2023-4863.json", strings.Replace(webpRecord, "%FIXED%", "1.2.4-0.1", 1))
		rep, _ := f.run(t, webp)
		if diff := cmp.Diff(vuln.ImportReport{AdvisoryImport: aip.AdvisoryImport{Updated: 1}, Rematched: 1}, rep); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"debian CVE-2023-4863 libwebp7 1.2.4-0.2.amd64"}, f.cves(t, aip.VulnResolved)); diff != "" {
			t.Errorf("resolved vulnerabilities (-want +got):\n%s", diff)
		}
	})
	t.Run("a withdrawn advisory stops matching", func(t *testing.T) {
		f.write(t, "osv/alpine/ALPINE-CVE-2024-0727.json", strings.Replace(opensslAlpine, "%WITHDRAWN%", `"withdrawn":"2024-03-01T00:00:00Z",`, 1))
		rep, _ := f.run(t, alpine)
		if rep.Withdrawn != 1 || rep.Rematched != 1 {
			t.Errorf("report %+v, want 1 withdrawn and 1 agent re-matched", rep)
		}
		if got := f.cves(t, aip.VulnActive); len(got) != 0 {
			t.Errorf("active vulnerabilities after the withdrawal: %v, want none", got)
		}
	})
	t.Run("a range with an unorderable version is reported with its file and skipped", func(t *testing.T) {
		path := f.write(t, "bad-version/DEBIAN-CVE-2024-0001.json", `{"id":"DEBIAN-CVE-2024-0001","modified":"2024-01-01T00:00:00Z",
			"affected":[{"package":{"ecosystem":"Debian:12","name":"bash"},"ranges":[{"type":"ECOSYSTEM",
			"events":[{"introduced":"0"},{"fixed":"1:"}]},{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"5.2.15-3"}]}]}]}`)
		rep, problems := f.run(t, path)
		if rep.Added != 1 || rep.UnorderableVersions != 1 {
			t.Errorf("report %+v, want 1 added with 1 unorderable range", rep)
		}
		if len(problems) != 1 || !strings.Contains(problems[0], "DEBIAN-CVE-2024-0001.json") || !strings.Contains(problems[0], "DEBIAN-CVE-2024-0001:") {
			t.Errorf("problems %q, want one naming the file and the record", problems)
		}
		if diff := cmp.Diff([]string{"bystander CVE-2024-0001 bash 5.2.15-2+b2.amd64"}, f.cves(t, aip.VulnActive)); diff != "" {
			t.Errorf("the valid range still matches (-want +got):\n%s", diff)
		}
	})
	t.Run("a missing path fails the import", func(t *testing.T) {
		_, err := vuln.Import(context.Background(), f.db, []string{filepath.Join(f.dir, "nope")}, time.Now, func(string) {})
		if err == nil {
			t.Error("Import of a missing path succeeded")
		}
	})
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeZip(t *testing.T, path string, files map[string]string) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
