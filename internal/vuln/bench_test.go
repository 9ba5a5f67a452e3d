package vuln_test

import (
	"archive/zip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/sqlite"
	"github.com/aipsec/aip/internal/vuln"
)

// The targets: importing 200k advisories in ≤ 60 s with ≤ 500 MB,
// and matching a 2,000-package host against them in ≤ 100 ms.
//
//	go test -run='^$' -bench=Advisories200k -benchtime=1x ./internal/vuln/
const (
	benchAdvisories = 200_000
	// benchNames source packages carry the advisories, ten each on
	// average, skewed like real data (a few packages, the kernel say,
	// have hundreds).
	benchNames    = 20_000
	benchPackages = 2_000
)

func benchName(i int) string { return fmt.Sprintf("pkg%05d", i) }

// writeAdvisoryZip writes n synthetic Ubuntu 22.04 OSV records into an
// all.zip like OSV publishes and returns its path.
func writeAdvisoryZip(b *testing.B, dir string, n int) string {
	b.Helper()
	path := filepath.Join(dir, "all.zip")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := zip.NewWriter(f)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		// Squaring a uniform draw skews toward low indexes.
		u := r.Float64()
		name := benchName(int(u * u * benchNames))
		id := fmt.Sprintf("UBUNTU-CVE-%d-%05d", 2000+i/100_000, i%100_000)
		rec := fmt.Sprintf(`{"id":%q,"modified":"2026-01-02T03:04:05Z","upstream":["CVE-%d-%05d"],"summary":"synthetic",`+
			`"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],`+
			`"affected":[{"package":{"ecosystem":"Ubuntu:22.04:LTS","name":%q},"ranges":[{"type":"ECOSYSTEM",`+
			`"events":[{"introduced":"0"},{"fixed":"1.%d-0ubuntu1"}]}]}],`+
			`"references":[{"type":"ADVISORY","url":"https://ubuntu.com/security/notices/USN-%d-1"}]}`,
			id, 2000+i/100_000, i%100_000, name, r.IntN(100), 1000+i)
		w, err := zw.Create(id + ".json")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write([]byte(rec)); err != nil {
			b.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// peakHeap samples the heap in use until stop is called and returns the
// peak in MiB.
func peakHeap() (stop func() float64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak.Load()) / (1 << 20)
	}
}

func BenchmarkAdvisories200k(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	zipPath := writeAdvisoryZip(b, dir, benchAdvisories)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "aip.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	org := &aip.Organization{Name: "bench"}
	if err := db.CreateOrganization(ctx, org); err != nil {
		b.Fatal(err)
	}
	agent := &aip.Agent{ID: aip.NewUUID(), OrgID: org.ID, Name: "host"}
	agent.Hostname = "host"
	if err := db.CreateAgent(ctx, agent, []byte("sealed"), nil); err != nil {
		b.Fatal(err)
	}

	runtime.GC()
	stop := peakHeap()
	start := time.Now()
	rep, err := vuln.Import(ctx, db, []string{zipPath}, time.Now, func(msg string) { b.Errorf("import problem: %s", msg) })
	importTime := time.Since(start)
	peak := stop()
	if err != nil {
		b.Fatal(err)
	}
	if rep.Added != benchAdvisories {
		b.Fatalf("imported %+v, want %d added", rep, benchAdvisories)
	}

	// A host with 2,000 of the names at version 1.95: a well-patched host,
	// where about 4 in 100 candidate advisories are not fixed yet.
	inv := &aip.Inventory{OrgID: org.ID, AgentID: agent.ID, Ecosystem: aip.EcosystemDeb, Distro: "ubuntu", Release: "22.04"}
	r := rand.New(rand.NewPCG(3, 4))
	for _, i := range r.Perm(benchNames)[:benchPackages] {
		inv.Packages = append(inv.Packages, aip.InstalledPackage{Name: benchName(i), Version: "1.95-0ubuntu1", Arch: "amd64"})
	}
	if _, err := db.PutInventory(ctx, inv); err != nil {
		b.Fatal(err)
	}
	var matches int
	// The first lookup after an import builds the in-memory index.
	buildStart := time.Now()
	skeletons, err := db.AffectedFor(ctx, vuln.Keys(inv))
	indexBuild := time.Since(buildStart)
	if err != nil {
		b.Fatal(err)
	}
	candidates := len(skeletons)
	b.ResetTimer()
	for b.Loop() {
		res, err := vuln.Rematch(ctx, db, org.ID, agent.ID, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		matches = len(res.Matches)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/rematch")
	b.ReportMetric(float64(matches), "matches")
	b.ReportMetric(float64(candidates), "candidates")
	b.ReportMetric(importTime.Seconds(), "import-s")
	b.ReportMetric(float64(indexBuild.Milliseconds()), "index-build-ms")
	b.ReportMetric(peak, "import-peak-heap-MiB")
	if rss, ok := peakRSS(); ok {
		// The whole process: import, generator and the rematch loop.
		b.ReportMetric(rss, "peak-RSS-MiB")
	}
	b.ReportMetric(0, "ns/op")
}

// peakRSS reads the process's peak resident set size (Linux VmHWM).
func peakRSS() (float64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb); err == nil {
				return kb / 1024, true
			}
		}
	}
	return 0, false
}
