package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aipsec/aip"
)

// benchAdvisories returns n advisories shaped like a Debian OSV import:
// two releases and one any-release entry, a range each, one notice.
func benchAdvisories(first, n int) []*aip.Advisory {
	out := make([]*aip.Advisory, n)
	for i := range out {
		id := fmt.Sprintf("DEBIAN-CVE-2024-%07d", first+i)
		name := fmt.Sprintf("pkg%d", (first+i)%5000)
		out[i] = &aip.Advisory{
			ID: id, CVEs: []string{id[len("DEBIAN-"):]}, Modified: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
			Summary:  "A buffer overflow in " + name + " allows remote attackers to execute arbitrary code.",
			Severity: "high", VectorType: "network",
			SecurityNotices: []aip.SecurityNotice{{ID: "DSA-" + id[len(id)-5:], URL: "https://security-tracker.debian.org/tracker/" + id}},
			Affected: []aip.AffectedPackage{
				{Ecosystem: "deb", Distro: "debian", Release: "11", Name: name, Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "1.2.3-1+deb11u1"}}},
				{Ecosystem: "deb", Distro: "debian", Release: "12", Name: name, Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "1.2.3-2+deb12u1"}}},
				{Ecosystem: "deb", Distro: "debian", Name: name, Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "1.2.4-1"}}},
			},
		}
	}
	return out
}

// BenchmarkUpsertAdvisories imports new advisories in batches of 1000, as
// the importer does, and re-imports unchanged ones.
func BenchmarkUpsertAdvisories(b *testing.B) {
	const batch = 1000
	b.Run("new", func(b *testing.B) {
		ctx := context.Background()
		db := openTemp(b)
		n := 0
		for b.Loop() {
			b.StopTimer()
			advs := benchAdvisories(n, batch)
			b.StartTimer()
			imp, _, err := db.UpsertAdvisories(ctx, advs)
			if err != nil {
				b.Fatal(err)
			}
			if imp.Added != batch {
				b.Fatalf("added %d, want %d", imp.Added, batch)
			}
			n += batch
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "advisories/s")
	})
	b.Run("unchanged", func(b *testing.B) {
		ctx := context.Background()
		db := openTemp(b)
		const stored = 20 * batch
		for i := 0; i < stored; i += batch {
			if _, _, err := db.UpsertAdvisories(ctx, benchAdvisories(i, batch)); err != nil {
				b.Fatal(err)
			}
		}
		n := 0
		for b.Loop() {
			b.StopTimer()
			advs := benchAdvisories(n%stored, batch)
			b.StartTimer()
			imp, _, err := db.UpsertAdvisories(ctx, advs)
			if err != nil {
				b.Fatal(err)
			}
			if imp.Unchanged != batch {
				b.Fatalf("unchanged %d, want %d", imp.Unchanged, batch)
			}
			n += batch
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "advisories/s")
	})
}

// BenchmarkImport200kAdvisories imports 200k advisories in batches of
// 1000 per iteration (the budget is 60 s), then times looking up
// the advisories of a 2,000-package host.
func BenchmarkImport200kAdvisories(b *testing.B) {
	const total, batch = 200_000, 1000
	ctx := context.Background()
	var db *DB
	for b.Loop() {
		b.StopTimer()
		db = openTemp(b)
		b.StartTimer()
		for i := 0; i < total; i += batch {
			b.StopTimer()
			advs := benchAdvisories(i, batch)
			b.StartTimer()
			if _, _, err := db.UpsertAdvisories(ctx, advs); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "advisories/s")

	keys := make([]aip.PackageKey, 2000)
	for i := range keys {
		keys[i] = aip.PackageKey{Ecosystem: "deb", Distro: "debian", Release: "12", Name: fmt.Sprintf("pkg%d", i*7)}
	}
	start := time.Now()
	got, err := db.AdvisoriesFor(ctx, keys)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/2000-package-lookup")
	b.ReportMetric(float64(len(got)), "advisories-found")
}
