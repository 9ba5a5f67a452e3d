package storeutil

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestAffectedIndex(t *testing.T) {
	rows := []AffectedRow{
		{Ecosystem: "deb", Distro: "debian", Release: "12", Name: "openssl", AdvisoryID: "CVE-2", Ranges: "\x1f3.0.1\x1f"},
		{Ecosystem: "deb", Distro: "debian", Release: "", Name: "openssl", AdvisoryID: "CVE-1", Versions: "1.0\x1e1.1"},
		{Ecosystem: "deb", Distro: "debian", Release: "11", Name: "openssl", AdvisoryID: "CVE-3", Ranges: "\x1f1.1\x1f"},
		{Ecosystem: "rpm", Distro: "rhel", Release: "9", Name: "openssl", AdvisoryID: "CVE-4"},
	}
	idx, err := BuildAffectedIndex(7, func(add func(AffectedRow)) error {
		for _, r := range rows {
			add(r)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("BuildAffectedIndex: %v", err)
	}
	if idx.Generation != 7 {
		t.Errorf("Generation = %d, want 7", idx.Generation)
	}
	debian12 := aip.PackageKey{Ecosystem: "deb", Distro: "debian", Release: "12", Name: "openssl"}
	tests := []struct {
		name string
		keys []aip.PackageKey
		want []*aip.Advisory
	}{
		{name: "finds none for no keys", keys: nil, want: []*aip.Advisory{}},
		{name: "finds none for an unknown package", keys: []aip.PackageKey{{Ecosystem: "deb", Distro: "debian", Release: "12", Name: "zlib"}}, want: []*aip.Advisory{}},
		{
			name: "finds the release's and every release's entries ordered by id",
			keys: []aip.PackageKey{debian12, debian12},
			want: []*aip.Advisory{
				{ID: "CVE-1", Affected: []aip.AffectedPackage{{Ecosystem: "deb", Distro: "debian", Name: "openssl", Versions: []string{"1.0", "1.1"}}}},
				{ID: "CVE-2", Affected: []aip.AffectedPackage{{Ecosystem: "deb", Distro: "debian", Release: "12", Name: "openssl", Ranges: []aip.VersionRange{{Fixed: "3.0.1"}}}}},
			},
		},
		{
			name: "finds only every release's entries for a key without release",
			keys: []aip.PackageKey{{Ecosystem: "deb", Distro: "debian", Name: "openssl"}},
			want: []*aip.Advisory{
				{ID: "CVE-1", Affected: []aip.AffectedPackage{{Ecosystem: "deb", Distro: "debian", Name: "openssl", Versions: []string{"1.0", "1.1"}}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := idx.AffectedFor(tt.keys)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AffectedFor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildAffectedIndexReturnsScanError(t *testing.T) {
	want := errors.New("scan failed")
	_, err := BuildAffectedIndex(1, func(add func(AffectedRow)) error { return want })
	if !errors.Is(err, want) {
		t.Errorf("err = %v, want %v", err, want)
	}
}
