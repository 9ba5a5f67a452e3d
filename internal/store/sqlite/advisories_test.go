package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func TestEncodeRanges(t *testing.T) {
	tests := []struct {
		name string
		in   []aip.VersionRange
		want []aip.VersionRange
	}{
		{"keeps every bound", []aip.VersionRange{{Introduced: "0", Fixed: "1:2.3-4"}, {Introduced: "3", LastAffected: "3.5~rc1"}},
			[]aip.VersionRange{{Introduced: "0", Fixed: "1:2.3-4"}, {Introduced: "3", LastAffected: "3.5~rc1"}}},
		{"keeps an open range", []aip.VersionRange{{}}, []aip.VersionRange{{}}},
		{"drops bounds holding a separator", []aip.VersionRange{{Fixed: "1\x1e2"}, {Fixed: "2"}}, []aip.VersionRange{{Fixed: "2"}}},
		{"nothing stays nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, decodeRanges(encodeRanges(tt.in))); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAffectedIndexFollowsOtherProcesses imports through a second handle
// on the same file, as `aipd admin vulndb import` does beside a running
// server: the server's cached index must see the new advisory at once.
func TestAffectedIndexFollowsOtherProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aip.db")
	server, admin := openAt(t, path), openAt(t, path)
	key := aip.PackageKey{Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: "12", Name: "openssl"}
	if got, err := server.AffectedFor(t.Context(), []aip.PackageKey{key}); err != nil || len(got) != 0 {
		t.Fatalf("AffectedFor before the import = %v, %v; want none", got, err)
	}
	adv := &aip.Advisory{ID: "DSA-1", CVEs: []string{"CVE-2024-1"}, Affected: []aip.AffectedPackage{{
		Ecosystem: key.Ecosystem, Distro: key.Distro, Release: key.Release, Name: key.Name,
		Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "3.0.11-1"}}}}}
	if _, _, err := admin.UpsertAdvisories(t.Context(), []*aip.Advisory{adv}); err != nil {
		t.Fatal(err)
	}
	got, err := server.AffectedFor(t.Context(), []aip.PackageKey{key})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*aip.Advisory{{ID: adv.ID, Affected: adv.Affected}}, got); diff != "" {
		t.Errorf("AffectedFor after another handle imported (-want +got):\n%s", diff)
	}
}
