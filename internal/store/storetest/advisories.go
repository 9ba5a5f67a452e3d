package storetest

import (
	"testing"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func testAffectedFor(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	twoRanges := affected("deb", "debian", "12", "openssl")
	twoRanges.Ranges = append(twoRanges.Ranges, aip.VersionRange{Introduced: "2.0-1", LastAffected: "2.0-5"})
	twoRanges.Versions = []string{"1.9-9"}
	a1 := advisory("DSA-1", "CVE-2024-0101", twoRanges, affected("deb", "debian", "11", "openssl"))
	a2 := advisory("DEBIAN-CVE-2024-0102", "CVE-2024-0102", affected("deb", "debian", "", "openssl"), affected("deb", "debian", "", "curl"))
	a3 := advisory("ALSA-2024:0103", "CVE-2024-0103", affected("rpm", "almalinux", "9", "openssl"))
	if _, _, err := s.UpsertAdvisories(ctx, []*aip.Advisory{a1, a2, a3}); err != nil {
		t.Fatal(err)
	}
	skeleton := func(id string, affs ...aip.AffectedPackage) *aip.Advisory {
		return &aip.Advisory{ID: id, Affected: affs}
	}
	affectedFor := func(t *testing.T, keys ...aip.PackageKey) []*aip.Advisory {
		t.Helper()
		got, err := s.AffectedFor(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("returns skeletons with only the entries for the keys, by id", func(t *testing.T) {
		got := affectedFor(t, pkey("deb", "debian", "12", "openssl"))
		want := []*aip.Advisory{skeleton(a2.ID, a2.Affected[0]), skeleton(a1.ID, twoRanges)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("AffectedFor mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("returns nothing for unknown packages or no keys", func(t *testing.T) {
		if got := affectedFor(t, pkey("apk", "alpine", "3.19", "openssl")); len(got) != 0 {
			t.Errorf("AffectedFor = %v, want none", got)
		}
		if got := affectedFor(t); len(got) != 0 {
			t.Errorf("AffectedFor() = %v, want none", got)
		}
	})
	t.Run("sees an update at once", func(t *testing.T) {
		a3changed := advisory(a3.ID, "CVE-2024-0103", affected("rpm", "almalinux", "9", "openssl-libs"))
		if _, _, err := s.UpsertAdvisories(ctx, []*aip.Advisory{a3changed}); err != nil {
			t.Fatal(err)
		}
		if got := affectedFor(t, pkey("rpm", "almalinux", "9", "openssl")); len(got) != 0 {
			t.Errorf("replaced entry still found: %v", got)
		}
		got := affectedFor(t, pkey("rpm", "almalinux", "9", "openssl-libs"))
		if diff := cmp.Diff([]*aip.Advisory{skeleton(a3.ID, a3changed.Affected[0])}, got); diff != "" {
			t.Errorf("AffectedFor mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("advisories by id are whole, by id, unknown ones left out", func(t *testing.T) {
		got, err := s.AdvisoriesByID(ctx, []string{a1.ID, "NOPE-1", a2.ID})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*aip.Advisory{a2, a1}, got, timeOpts); diff != "" {
			t.Errorf("AdvisoriesByID mismatch (-want +got):\n%s", diff)
		}
	})
}
