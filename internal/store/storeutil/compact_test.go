package storeutil

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestEncodeRanges(t *testing.T) {
	tests := []struct {
		name       string
		in         []aip.VersionRange
		unstorable string
		want       []aip.VersionRange
	}{
		{name: "round-trips empty as nil", in: nil, want: nil},
		{
			name: "round-trips bounds with empty fields",
			in:   []aip.VersionRange{{Introduced: "0", Fixed: "1.2-3"}, {LastAffected: "2:4.5"}},
			want: []aip.VersionRange{{Introduced: "0", Fixed: "1.2-3"}, {LastAffected: "2:4.5"}},
		},
		{
			name: "drops a range with a separator",
			in:   []aip.VersionRange{{Introduced: "1\x1e2"}, {Fixed: "3\x1f"}, {Fixed: "4"}},
			want: []aip.VersionRange{{Fixed: "4"}},
		},
		{
			name: "keeps NUL when storable",
			in:   []aip.VersionRange{{Fixed: "1\x00"}},
			want: []aip.VersionRange{{Fixed: "1\x00"}},
		},
		{
			name:       "drops a range with an unstorable character",
			in:         []aip.VersionRange{{Fixed: "1\x00"}, {Fixed: "2"}},
			unstorable: "\x00",
			want:       []aip.VersionRange{{Fixed: "2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeRanges(EncodeRanges(tt.in, tt.unstorable))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ranges (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRangesSkipsMalformedItems(t *testing.T) {
	got := DecodeRanges("1\x1f2\x1e3\x1f4\x1f5")
	want := []aip.VersionRange{{Introduced: "3", Fixed: "4", LastAffected: "5"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ranges (-want +got):\n%s", diff)
	}
}

func TestEncodeList(t *testing.T) {
	tests := []struct {
		name       string
		in         []string
		unstorable string
		want       []string
	}{
		{name: "round-trips empty as nil", in: []string{}, want: nil},
		{name: "round-trips versions", in: []string{"1.0", "1.1-r2"}, want: []string{"1.0", "1.1-r2"}},
		{name: "drops versions with a separator", in: []string{"a\x1eb", "c\x1f", "d"}, want: []string{"d"}},
		{name: "drops unstorable versions", in: []string{"a\x00", "b"}, unstorable: "\x00", want: []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeList(EncodeList(tt.in, tt.unstorable))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeAffected(t *testing.T) {
	tests := []struct {
		name string
		in   []aip.AffectedPackage
		want []aip.AffectedPackage
	}{
		{name: "returns none for none", in: nil, want: []aip.AffectedPackage{}},
		{
			name: "folds entries of one key in order",
			in: []aip.AffectedPackage{
				{Ecosystem: "deb", Distro: "debian", Release: "12", Name: "a", Ranges: []aip.VersionRange{{Fixed: "1"}}},
				{Ecosystem: "deb", Distro: "debian", Release: "11", Name: "a", Versions: []string{"0.9"}},
				{Ecosystem: "deb", Distro: "debian", Release: "12", Name: "a", Ranges: []aip.VersionRange{{Fixed: "2"}}, Versions: []string{"1.5"}},
			},
			want: []aip.AffectedPackage{
				{Ecosystem: "deb", Distro: "debian", Release: "12", Name: "a", Ranges: []aip.VersionRange{{Fixed: "1"}, {Fixed: "2"}}, Versions: []string{"1.5"}},
				{Ecosystem: "deb", Distro: "debian", Release: "11", Name: "a", Versions: []string{"0.9"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MergeAffected(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("merged (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeAffectedLeavesInputAlone(t *testing.T) {
	in := []aip.AffectedPackage{
		{Name: "a", Ranges: make([]aip.VersionRange, 1, 4)},
		{Name: "a", Ranges: []aip.VersionRange{{Fixed: "2"}}},
	}
	MergeAffected(in)
	if diff := cmp.Diff([]aip.VersionRange{{}}, in[0].Ranges); diff != "" {
		t.Errorf("first input's ranges changed (-want +got):\n%s", diff)
	}
	if got := in[0].Ranges[:2][1]; got != (aip.VersionRange{}) {
		t.Errorf("first input's spare capacity written: %+v", got)
	}
}
