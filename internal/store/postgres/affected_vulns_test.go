package postgres

import (
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

// openSecond opens another *DB on db's schema, as a second aipd node
// sharing the database does.
func openSecond(t *testing.T, db *DB) *DB {
	t.Helper()
	var schema string
	if err := db.sql.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	other, err := Open(t.Context(), u.String())
	if err != nil {
		t.Fatalf("Open second node: %v", err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// TestAffectedIndexFollowsOtherNodes imports through a second node on the
// same database: the first node's cached index must see the new advisory
// at once.
func TestAffectedIndexFollowsOtherNodes(t *testing.T) {
	server := openSchema(t)
	admin := openSecond(t, server)
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
		t.Errorf("AffectedFor after another node imported (-want +got):\n%s", diff)
	}
}

// TestConcurrentAdvisoryImports runs the same import on two nodes at once:
// both succeed, and together they add each advisory exactly once.
func TestConcurrentAdvisoryImports(t *testing.T) {
	first := openSchema(t)
	nodes := []*DB{first, openSecond(t, first)}
	var advs []*aip.Advisory
	for i := range 500 {
		advs = append(advs, &aip.Advisory{ID: fmt.Sprintf("DSA-%04d", i), CVEs: []string{fmt.Sprintf("CVE-2024-%d", i)},
			Affected: []aip.AffectedPackage{{Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: "12",
				Name: fmt.Sprintf("pkg%d", i), Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "1.0-1"}}}}})
	}
	imps := make([]aip.AdvisoryImport, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { imps[i], _, errs[i] = n.UpsertAdvisories(t.Context(), advs) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: UpsertAdvisories: %v", i, err)
		}
	}
	got := aip.AdvisoryImport{Added: imps[0].Added + imps[1].Added, Unchanged: imps[0].Unchanged + imps[1].Unchanged}
	want := aip.AdvisoryImport{Added: len(advs), Unchanged: len(advs)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("imports of both nodes together (-want +got):\n%s", diff)
	}
}
