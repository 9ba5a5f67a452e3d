package main

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

// OSV records for the import tests: a Debian 12 advisory on openssl, an
// Alpine one, an npm one (no supported ecosystem) and a malformed file.
const (
	osvDebian = `{"id":"DEBIAN-CVE-2024-1000","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.11-1~deb12u2"}]}]}]}`
	osvAlpine = `{"id":"ALPINE-CVE-2024-3000","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-3000"],"affected":[{"package":{"ecosystem":"Alpine:v3.19","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.1.4-r1"}]}]}]}`
	osvNPM    = `{"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.3.0"}]}]}]}`
	osvBroken = `{"id":"DEBIAN-CVE-2024-9999","modified":`
)

// aipdErr runs the command line args in-process and returns stdout lines
// and stderr.
func aipdErr(t *testing.T, args ...string) ([]string, string, error) {
	t.Helper()
	var stdout, stderr syncBuffer
	root := newRootCommand(&stdout, &stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	out := strings.TrimSpace(stdout.String())
	if out == "" {
		return nil, stderr.String(), err
	}
	return strings.Split(out, "\n"), stderr.String(), err
}

// writeFile writes content to name under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeZip writes a zip archive of files (name → content) and returns its
// path.
func writeZip(t *testing.T, path string, files map[string]string) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
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
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// counts returns the named KEY=value lines of an import's output.
func counts(t *testing.T, lines []string, keys ...string) map[string]string {
	t.Helper()
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = value(t, lines, k)
	}
	return out
}

var importKeys = []string{"ADDED", "UPDATED", "UNCHANGED", "WITHDRAWN", "INVALID", "SKIPPED", "AGENTS_REMATCHED", "REMATCH_ERRORS"}

func TestAdminVulnDBImport(t *testing.T) {
	dir, _ := dataDir(t)
	src := t.TempDir()
	paths := []string{
		writeFile(t, src, "debian.json", osvDebian),
		writeFile(t, src, "alpine.json", osvAlpine),
		writeFile(t, src, "npm.json", osvNPM),
		writeFile(t, src, "broken.json", osvBroken),
	}
	args := append([]string{"admin", "--data", dir, "vulndb", "import"}, paths...)

	t.Run("imports the supported records and reports the malformed file", func(t *testing.T) {
		lines, stderr, err := aipdErr(t, args...)
		if err != nil {
			t.Fatalf("import: %v (stderr %q)", err, stderr)
		}
		want := map[string]string{"ADDED": "2", "UPDATED": "0", "UNCHANGED": "0", "WITHDRAWN": "0", "INVALID": "1",
			"SKIPPED": "1", "AGENTS_REMATCHED": "0", "REMATCH_ERRORS": "0"}
		if diff := cmp.Diff(want, counts(t, lines, importKeys...)); diff != "" {
			t.Errorf("counts (-want +got):\n%s", diff)
		}
		if !strings.Contains(stderr, "broken.json") {
			t.Errorf("stderr %q does not name broken.json", stderr)
		}
		if !strings.Contains(stderr, "GHSA-aaaa-bbbb-cccc") {
			t.Errorf("stderr %q does not name the skipped npm record", stderr)
		}
		db, _ := openStore(t, dir)
		advs, err := db.AdvisoriesByID(context.Background(), []string{"DEBIAN-CVE-2024-1000", "ALPINE-CVE-2024-3000"})
		if err != nil || len(advs) != 2 {
			t.Errorf("stored advisories %d (%v), want 2", len(advs), err)
		}
	})

	t.Run("a second import of the same paths changes nothing", func(t *testing.T) {
		lines, stderr, err := aipdErr(t, args...)
		if err != nil {
			t.Fatalf("import: %v (stderr %q)", err, stderr)
		}
		got := counts(t, lines, "ADDED", "UPDATED", "UNCHANGED")
		if diff := cmp.Diff(map[string]string{"ADDED": "0", "UPDATED": "0", "UNCHANGED": "2"}, got); diff != "" {
			t.Errorf("counts (-want +got):\n%s", diff)
		}
	})

	t.Run("an edited record is updated", func(t *testing.T) {
		edited := strings.Replace(osvAlpine, `"fixed":"3.1.4-r1"`, `"fixed":"3.1.4-r2"`, 1)
		edited = strings.Replace(edited, "2024-01-01", "2024-01-05", 1)
		p := writeFile(t, t.TempDir(), "alpine.json", edited)
		lines, stderr, err := aipdErr(t, "admin", "--data", dir, "vulndb", "import", p)
		if err != nil {
			t.Fatalf("import: %v (stderr %q)", err, stderr)
		}
		got := counts(t, lines, "ADDED", "UPDATED", "UNCHANGED")
		if diff := cmp.Diff(map[string]string{"ADDED": "0", "UPDATED": "1", "UNCHANGED": "0"}, got); diff != "" {
			t.Errorf("counts (-want +got):\n%s", diff)
		}
	})

	t.Run("fails on a path that does not exist", func(t *testing.T) {
		if _, _, err := aipdErr(t, "admin", "--data", dir, "vulndb", "import", filepath.Join(src, "missing.json")); err == nil {
			t.Error("import of a missing path succeeded")
		}
	})
}

func TestAdminVulnDBImportZip(t *testing.T) {
	dir, _ := dataDir(t)
	archive := writeZip(t, filepath.Join(t.TempDir(), "all.zip"), map[string]string{
		"DEBIAN-CVE-2024-1000.json": osvDebian, "ALPINE-CVE-2024-3000.json": osvAlpine, "broken.json": osvBroken,
	})
	lines, stderr, err := aipdErr(t, "admin", "--data", dir, "vulndb", "import", archive)
	if err != nil {
		t.Fatalf("import: %v (stderr %q)", err, stderr)
	}
	got := counts(t, lines, "ADDED", "INVALID")
	if diff := cmp.Diff(map[string]string{"ADDED": "2", "INVALID": "1"}, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, "broken.json") {
		t.Errorf("stderr %q does not name the malformed member", stderr)
	}
}

func TestAdminVulnDBImportRematches(t *testing.T) {
	dir, b := dataDir(t)
	ctx := context.Background()
	db, _ := openStore(t, dir)
	ag := &aip.Agent{ID: aip.NewUUID(), OrgID: b.OrgID, AgentHost: aip.AgentHost{Hostname: "web-1", AgentType: aip.AgentTypeMonitor}}
	if err := db.CreateAgent(ctx, ag, []byte("sealed"), nil); err != nil {
		t.Fatalf("create agent: %v", err)
	}
	inv := &aip.Inventory{OrgID: b.OrgID, AgentID: ag.ID, Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: "12",
		UpdatedAt: time.Now(), Packages: []aip.InstalledPackage{
			{Name: "libssl3", Version: "3.0.11-1~deb12u1", Arch: "amd64", Source: "openssl"},
			{Name: "bash", Version: "5.2.15-2+b2", Arch: "amd64"},
		}}
	if _, err := db.PutInventory(ctx, inv); err != nil {
		t.Fatalf("put inventory: %v", err)
	}
	list := func(t *testing.T, status string) []string {
		t.Helper()
		vs, err := db.ListVulnerabilities(ctx, aip.VulnFilter{OrgID: b.OrgID, Status: status, Limit: 100, Now: time.Now()})
		if err != nil {
			t.Fatalf("list vulnerabilities: %v", err)
		}
		var out []string
		for _, v := range vs {
			out = append(out, v.CVENumber+" "+v.SystemPackage)
		}
		return out
	}
	src := t.TempDir()

	t.Run("an import re-matches the agents holding a named package", func(t *testing.T) {
		p := writeFile(t, src, "debian.json", osvDebian)
		lines, stderr, err := aipdErr(t, "admin", "--data", dir, "vulndb", "import", p)
		if err != nil {
			t.Fatalf("import: %v (stderr %q)", err, stderr)
		}
		got := counts(t, lines, "ADDED", "AGENTS_REMATCHED", "REMATCH_ERRORS")
		if diff := cmp.Diff(map[string]string{"ADDED": "1", "AGENTS_REMATCHED": "1", "REMATCH_ERRORS": "0"}, got); diff != "" {
			t.Errorf("counts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"CVE-2024-1000 libssl3 3.0.11-1~deb12u1.amd64"}, list(t, aip.VulnActive)); diff != "" {
			t.Errorf("active vulnerabilities (-want +got):\n%s", diff)
		}
	})

	t.Run("an advisory on packages the agent lacks re-matches nobody", func(t *testing.T) {
		p := writeFile(t, src, "alpine.json", osvAlpine)
		lines, stderr, err := aipdErr(t, "admin", "--data", dir, "vulndb", "import", p)
		if err != nil {
			t.Fatalf("import: %v (stderr %q)", err, stderr)
		}
		if got := value(t, lines, "AGENTS_REMATCHED"); got != "0" {
			t.Errorf("AGENTS_REMATCHED=%s, want 0", got)
		}
	})

	t.Run("a withdrawn record resolves its matches", func(t *testing.T) {
		withdrawn := strings.Replace(osvDebian, `"modified":"2024-01-01T00:00:00Z"`,
			`"modified":"2024-02-01T00:00:00Z","withdrawn":"2024-02-01T00:00:00Z"`, 1)
		p := writeFile(t, t.TempDir(), "debian.json", withdrawn)
		lines, stderr, err := aipdErr(t, "admin", "--data", dir, "vulndb", "import", p)
		if err != nil {
			t.Fatalf("import: %v (stderr %q)", err, stderr)
		}
		got := counts(t, lines, "WITHDRAWN", "UPDATED", "AGENTS_REMATCHED")
		if diff := cmp.Diff(map[string]string{"WITHDRAWN": "1", "UPDATED": "1", "AGENTS_REMATCHED": "1"}, got); diff != "" {
			t.Errorf("counts (-want +got):\n%s", diff)
		}
		if active := list(t, aip.VulnActive); len(active) != 0 {
			t.Errorf("active after withdrawal: %q, want none", active)
		}
		if diff := cmp.Diff([]string{"CVE-2024-1000 libssl3 3.0.11-1~deb12u1.amd64"}, list(t, aip.VulnResolved)); diff != "" {
			t.Errorf("resolved vulnerabilities (-want +got):\n%s", diff)
		}
	})
}

const describeInstancesJSON = `{"Reservations":[
 {"OwnerId":"123456789012","Instances":[
  {"InstanceId":"i-0abc","ImageId":"ami-1","InstanceType":"t3.micro","LaunchTime":"2024-01-02T03:04:05+00:00",
   "Placement":{"AvailabilityZone":"eu-west-1a"},"State":{"Code":16,"Name":"running"},
   "PrivateIpAddress":"10.0.0.5","SecurityGroups":[{"GroupId":"sg-1","GroupName":"web"}],
   "Tags":[{"Key":"Name","Value":"web-1"}]},
  {"InstanceId":"i-0def","InstanceType":"t3.small","State":{"Code":80,"Name":"stopped"},
   "Placement":{"AvailabilityZone":"us-east-1b"}}]}]}`

func TestAdminEC2Import(t *testing.T) {
	dir, b := dataDir(t)
	src := t.TempDir()
	good := writeFile(t, src, "instances.json", describeInstancesJSON)

	t.Run("stores the instances of the file", func(t *testing.T) {
		lines := mustAipd(t, "admin", "--data", dir, "ec2", "import", "--org", b.OrgID, good)
		if got := value(t, lines, "INSTANCES"); got != "2" {
			t.Errorf("INSTANCES=%s, want 2", got)
		}
		db, _ := openStore(t, dir)
		insts, err := db.ListEC2Instances(context.Background(), b.OrgID)
		if err != nil {
			t.Fatalf("list instances: %v", err)
		}
		var got []string
		for _, in := range insts {
			got = append(got, in.ID+" "+in.Region+" "+in.State)
		}
		if diff := cmp.Diff([]string{"i-0abc eu-west-1 running", "i-0def us-east-1 stopped"}, got); diff != "" {
			t.Errorf("instances (-want +got):\n%s", diff)
		}
	})

	t.Run("rejects an unknown organization", func(t *testing.T) {
		other := aip.NewID24()
		if _, _, err := aipdErr(t, "admin", "--data", dir, "ec2", "import", "--org", other, good); err == nil {
			t.Error("import into an unknown organization succeeded")
		}
		db, _ := openStore(t, dir)
		if insts, err := db.ListEC2Instances(context.Background(), other); err != nil || len(insts) != 0 {
			t.Errorf("unknown organization has %d instances (%v), want none", len(insts), err)
		}
	})

	t.Run("rejects a malformed instance by its position", func(t *testing.T) {
		bad := strings.Replace(describeInstancesJSON, `"InstanceId":"i-0def"`, `"InstanceId":"0def"`, 1)
		p := writeFile(t, src, "bad.json", bad)
		_, _, err := aipdErr(t, "admin", "--data", dir, "ec2", "import", "--org", b.OrgID, p)
		if err == nil || !strings.Contains(err.Error(), "Reservations[0].Instances[1]") {
			t.Errorf("error %v, want one naming Reservations[0].Instances[1]", err)
		}
	})

	t.Run("rejects a file that is not JSON", func(t *testing.T) {
		p := writeFile(t, src, "text.json", "not json")
		if _, _, err := aipdErr(t, "admin", "--data", dir, "ec2", "import", "--org", b.OrgID, p); err == nil {
			t.Error("import of a non-JSON file succeeded")
		}
	})
}
