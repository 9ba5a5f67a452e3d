package osv

import (
	"archive/zip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func rng(intro, fixed, last string) aip.VersionRange {
	return aip.VersionRange{Introduced: intro, Fixed: fixed, LastAffected: last}
}

// wantAdvisories are the golden advisories of testdata, by id.
var wantAdvisories = map[string]*aip.Advisory{
	"DEBIAN-CVE-2023-4863": {
		ID: "DEBIAN-CVE-2023-4863", CVEs: []string{"CVE-2023-4863"}, Modified: day("2024-01-15T10:00:00Z"),
		SecurityNotices: []aip.SecurityNotice{},
		Affected: []aip.AffectedPackage{
			{Ecosystem: "deb", Distro: "debian", Release: "12", Name: "libwebp", Ranges: []aip.VersionRange{rng("0", "1.2.4-0.2+deb12u1", "")}},
			{Ecosystem: "deb", Distro: "debian", Release: "11", Name: "libwebp", Ranges: []aip.VersionRange{rng("0", "0.6.1-2.1+deb11u2", "")}},
			{Ecosystem: "deb", Distro: "debian", Release: "13", Name: "libwebp", Ranges: []aip.VersionRange{rng("0", "", "")}},
		},
	},
	"DSA-5496-1": {
		ID: "DSA-5496-1", CVEs: []string{"CVE-2023-4863"}, Modified: day("2023-09-13T08:00:00.123Z"),
		Summary: "firefox-esr - security update",
		SecurityNotices: []aip.SecurityNotice{
			{ID: "DSA-5496", URL: "https://www.debian.org/security/2023/dsa-5496"},
			{ID: "DSA-5496-1", URL: "https://security-tracker.debian.org/tracker/DSA-5496-1"},
		},
		Affected: []aip.AffectedPackage{{
			Ecosystem: "deb", Distro: "debian", Release: "12", Name: "firefox-esr",
			Ranges:   []aip.VersionRange{rng("0", "115.2.1esr-1~deb12u1", "")},
			Versions: []string{"115.2.0esr-1~deb12u1"},
		}},
	},
	"UBUNTU-CVE-2024-2511": {
		ID: "UBUNTU-CVE-2024-2511", CVEs: []string{"CVE-2024-2511"}, Modified: day("2024-05-01T12:00:00Z"),
		Summary: "openssl session cache growth", Severity: "high", VectorType: "network",
		SecurityNotices: []aip.SecurityNotice{{ID: "USN-6937-1", URL: "https://ubuntu.com/security/notices/USN-6937-1"}},
		Affected: []aip.AffectedPackage{
			{Ecosystem: "deb", Distro: "ubuntu", Release: "22.04", Name: "openssl", Ranges: []aip.VersionRange{rng("0", "3.0.2-0ubuntu1.15", "")}},
			{Ecosystem: "deb", Distro: "ubuntu", Release: "24.04", Name: "openssl", Ranges: []aip.VersionRange{rng("0", "3.0.13-0ubuntu3", "")}},
		},
	},
	"USN-6500-1": {
		ID: "USN-6500-1", CVEs: []string{"CVE-2023-42465"}, Modified: day("2023-11-21T08:30:00Z"),
		Summary: "sudo vulnerability", Severity: "medium",
		SecurityNotices: []aip.SecurityNotice{{ID: "USN-6500-1", URL: "https://ubuntu.com/security/notices/USN-6500-1"}},
		Affected: []aip.AffectedPackage{
			{Ecosystem: "deb", Distro: "ubuntu", Release: "18.04", Name: "sudo", Ranges: []aip.VersionRange{rng("0", "1.8.21p2-3ubuntu1.6+esm1", "")}},
			{Ecosystem: "deb", Distro: "ubuntu", Release: "22.04", Name: "sudo", Ranges: []aip.VersionRange{rng("0", "", "1.9.9-1ubuntu2.4")}},
		},
	},
	"ALPINE-CVE-2024-0727": {
		ID: "ALPINE-CVE-2024-0727", CVEs: []string{"CVE-2024-0727"}, Modified: day("2024-02-01T00:00:00Z"),
		SecurityNotices: []aip.SecurityNotice{},
		Affected: []aip.AffectedPackage{
			{Ecosystem: "apk", Distro: "alpine", Release: "3.19", Name: "openssl", Ranges: []aip.VersionRange{rng("0", "3.1.4-r5", "")}},
			{Ecosystem: "apk", Distro: "alpine", Release: "3.20", Name: "openssl", Ranges: []aip.VersionRange{rng("3.2.0", "3.3.0", "")}},
		},
	},
	"ALSA-2024:0123": {
		ID: "ALSA-2024:0123", CVEs: []string{"CVE-2024-1111", "CVE-2024-2222"}, Modified: day("2024-01-10T05:00:00Z"),
		Summary: "Important: curl security update", Severity: "high",
		SecurityNotices: []aip.SecurityNotice{{ID: "ALSA-2024:0123", URL: "https://errata.almalinux.org/9/ALSA-2024-0123.html"}},
		Affected: []aip.AffectedPackage{
			{Ecosystem: "rpm", Distro: "almalinux", Release: "9", Name: "curl", Ranges: []aip.VersionRange{rng("0", "7.76.1-26.el9_3.2", "")}},
			{Ecosystem: "rpm", Distro: "almalinux", Release: "9", Name: "libcurl", Ranges: []aip.VersionRange{rng("0", "7.76.1-26.el9_3.2", "")}},
		},
	},
	"RLSA-2024:1000": {
		ID: "RLSA-2024:1000", CVEs: []string{"CVE-2024-3333"}, Modified: day("2024-02-02T00:00:00Z"),
		Severity: "high", VectorType: "local",
		SecurityNotices: []aip.SecurityNotice{{ID: "RLSA-2024:1000", URL: "https://errata.rockylinux.org/RLSA-2024:1000"}},
		Affected: []aip.AffectedPackage{
			{Ecosystem: "rpm", Distro: "rocky", Release: "9", Name: "kernel", Ranges: []aip.VersionRange{rng("0", "5.14.0-362.24.1.el9_3", "")}},
		},
	},
}

// outcome summarizes a Record for comparison.
func outcome(r Record) string {
	switch {
	case r.Err != nil:
		return "error"
	case r.Withdrawn:
		return "withdrawn " + r.ID
	case r.Skipped:
		return "skipped " + r.ID
	}
	return "advisory " + r.ID
}

// wantOutcomes are the records of testdata by source relative to it.
var wantOutcomes = map[string]string{
	"almalinux/ALSA-2024-0123.json":    "advisory ALSA-2024:0123",
	"alpine/ALPINE-CVE-2024-0727.json": "advisory ALPINE-CVE-2024-0727",
	"debian/DEBIAN-CVE-2023-4863.json": "advisory DEBIAN-CVE-2023-4863",
	"debian/DSA-0001-1.json":           "withdrawn DSA-0001-1",
	"debian/DSA-5496-1.json":           "advisory DSA-5496-1",
	"malformed/array.json[0]":          "advisory RLSA-2024:1000",
	"malformed/array.json[1]":          "error",
	"malformed/array.json[2]":          "error",
	"malformed/badtime.json":           "error",
	"malformed/noid.json":              "error",
	"malformed/syntax.json":            "error",
	"npm/GHSA-aaaa-bbbb-cccc.json":     "skipped GHSA-aaaa-bbbb-cccc",
	"ubuntu/UBUNTU-CVE-2024-2511.json": "advisory UBUNTU-CVE-2024-2511",
	"ubuntu/USN-6500-1.json":           "advisory USN-6500-1",
}

// collect walks path and returns outcomes by source (with prefix
// trimmed) and the advisories by id, checking the invariants of every
// record on the way.
func collect(t *testing.T, path, prefix string) (map[string]string, map[string]*aip.Advisory) {
	t.Helper()
	outcomes := map[string]string{}
	advs := map[string]*aip.Advisory{}
	err := Walk(path, func(r Record) error {
		src := strings.TrimPrefix(filepath.ToSlash(r.Source), prefix)
		if _, dup := outcomes[src]; dup {
			t.Errorf("source %s reported twice", src)
		}
		outcomes[src] = outcome(r)
		if r.Err != nil {
			if !strings.Contains(r.Err.Error(), r.Source) {
				t.Errorf("error %q does not name its source %s", r.Err, r.Source)
			}
			if !errors.Is(r.Err, ErrMalformed) {
				t.Errorf("error %q does not wrap ErrMalformed", r.Err)
			}
		}
		if r.Advisory != nil {
			advs[r.Advisory.ID] = r.Advisory
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Walk(%s): %v", path, err)
	}
	return outcomes, advs
}

func TestWalkDirectory(t *testing.T) {
	outcomes, advs := collect(t, "testdata", "testdata/")
	if diff := cmp.Diff(wantOutcomes, outcomes); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAdvisories, advs); diff != "" {
		t.Errorf("advisories (-want +got):\n%s", diff)
	}
}

// writeZip packs every testdata file flat into a zip, as OSV's all.zip
// holds one record per member.
func writeZip(t *testing.T) (string, map[string]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "all.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	want := map[string]string{}
	written := map[string]bool{}
	for src, out := range wantOutcomes {
		file, _, _ := strings.Cut(src, "[")
		name := filepath.Base(file)
		want[strings.Replace(src, file, name, 1)] = out
		if written[name] {
			continue
		}
		written[name] = true
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := zw.Create("README.txt"); err != nil { // not a record: ignored
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, want
}

func TestWalkZip(t *testing.T) {
	path, want := writeZip(t)
	outcomes, advs := collect(t, path, path+"!")
	if diff := cmp.Diff(want, outcomes); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAdvisories, advs); diff != "" {
		t.Errorf("advisories (-want +got):\n%s", diff)
	}
}

func TestWalkSingleFile(t *testing.T) {
	t.Run("reads one record", func(t *testing.T) {
		var got []Record
		if err := Walk("testdata/ubuntu/USN-6500-1.json", func(r Record) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Source != "testdata/ubuntu/USN-6500-1.json" {
			t.Fatalf("got %+v", got)
		}
		if diff := cmp.Diff(wantAdvisories["USN-6500-1"], got[0].Advisory); diff != "" {
			t.Errorf("advisory (-want +got):\n%s", diff)
		}
	})
	t.Run("stops with the callback's error", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := Walk("testdata", func(Record) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("err = %v after %d records, want stop after 1", err, n)
		}
	})
	t.Run("fails on a missing path", func(t *testing.T) {
		if err := Walk("testdata/nope.json", func(Record) error { return nil }); err == nil {
			t.Error("err = nil")
		}
	})
	t.Run("rejects an oversized record", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "big.json")
		big := `{"id":"BIG-1","modified":"2024-01-01T00:00:00Z","summary":"` + strings.Repeat("x", MaxRecordSize) + `"}`
		if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
			t.Fatal(err)
		}
		var got []Record
		if err := Walk(path, func(r Record) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !errors.Is(got[0].Err, ErrMalformed) {
			t.Errorf("got %+v, want one malformed record", got)
		}
	})
}

func TestDecodeCounts(t *testing.T) {
	tests := []struct {
		name, file  string
		unsupported int
	}{
		{"counts unknown ecosystem entries", "almalinux/ALSA-2024-0123.json", 1},
		{"counts the npm entry of a skipped record", "npm/GHSA-aaaa-bbbb-cccc.json", 1},
		{"counts nothing when all are supported", "debian/DSA-5496-1.json", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := Decode(data).Unsupported; got != tt.unsupported {
				t.Errorf("Unsupported = %d, want %d", got, tt.unsupported)
			}
		})
	}
}

func TestDistro(t *testing.T) {
	tests := []struct {
		in                 string
		eco, name, release string
		ok                 bool
	}{
		{"Debian", "deb", "debian", "", true},
		{"Debian:11", "deb", "debian", "11", true},
		{"Ubuntu:22.04:LTS", "deb", "ubuntu", "22.04", true},
		{"Ubuntu:Pro:18.04:LTS", "deb", "ubuntu", "18.04", true},
		{"Ubuntu:Pro:FIPS:20.04:LTS", "deb", "ubuntu", "20.04", true},
		{"Ubuntu:24.04", "deb", "ubuntu", "24.04", true},
		{"Alpine:v3.19", "apk", "alpine", "3.19", true},
		{"AlmaLinux:8", "rpm", "almalinux", "8", true},
		{"Rocky Linux:9", "rpm", "rocky", "9", true},
		{"Red Hat:enterprise_linux:9::appstream", "rpm", "rhel", "9", true},
		{"Red Hat:rhel_aus:8.4::appstream", "", "", "", false},
		{"Debian:bookworm", "", "", "", false},
		{"npm", "", "", "", false},
		{"PyPI", "", "", "", false},
		{"openSUSE:Leap 15.5", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			eco, name, release, ok := distro(tt.in)
			if eco != tt.eco || name != tt.name || release != tt.release || ok != tt.ok {
				t.Errorf("distro(%q) = %q %q %q %v, want %q %q %q %v", tt.in, eco, name, release, ok, tt.eco, tt.name, tt.release, tt.ok)
			}
		})
	}
}

func TestIntervals(t *testing.T) {
	tests := []struct {
		name   string
		events []osvEvent
		want   []aip.VersionRange
	}{
		{"closes with fixed", []osvEvent{{Introduced: "0"}, {Fixed: "2"}}, []aip.VersionRange{rng("0", "2", "")}},
		{"keeps several intervals", []osvEvent{{Introduced: "1"}, {Fixed: "2"}, {Introduced: "3"}, {LastAffected: "4"}},
			[]aip.VersionRange{rng("1", "2", ""), rng("3", "", "4")}},
		{"leaves the last open", []osvEvent{{Introduced: "1"}, {Fixed: "2"}, {Introduced: "5"}},
			[]aip.VersionRange{rng("1", "2", ""), rng("5", "", "")}},
		{"caps an open interval with limit", []osvEvent{{Introduced: "5"}, {Limit: "9"}}, []aip.VersionRange{rng("5", "9", "")}},
		{"starts at 0 without introduced", []osvEvent{{Fixed: "2"}}, []aip.VersionRange{rng("0", "2", "")}},
		{"ignores a redundant introduced", []osvEvent{{Introduced: "1"}, {Introduced: "2"}, {Fixed: "3"}}, []aip.VersionRange{rng("1", "3", "")}},
		{"yields nothing without events", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, intervals(tt.events)); diff != "" {
				t.Errorf("intervals (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob("testdata/*/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"limit":"1"},{"fixed":"2"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Decode(data)
		n := 0
		for _, b := range []bool{r.Advisory != nil, r.Withdrawn, r.Skipped, r.Err != nil} {
			if b {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("record %+v is not exactly one of advisory, withdrawn, skipped, error", r)
		}
		if a := r.Advisory; a != nil {
			if a.ID == "" || len(a.CVEs) == 0 || len(a.Affected) == 0 || a.Modified.IsZero() {
				t.Fatalf("incomplete advisory %+v", a)
			}
			for _, ap := range a.Affected {
				if ap.Name == "" || len(ap.Ranges)+len(ap.Versions) == 0 {
					t.Fatalf("incomplete affected entry %+v", ap)
				}
			}
		}
	})
}
