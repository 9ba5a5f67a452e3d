package osv

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// syntheticRecord is a typical distribution record: a few releases, one
// range each, a CVSS vector, aliases and references.
func syntheticRecord(i int) []byte {
	return fmt.Appendf(nil, `{
  "schema_version": "1.6.0",
  "id": "UBUNTU-CVE-2024-%[1]d",
  "modified": "2024-05-01T12:00:00Z",
  "published": "2024-04-01T12:00:00Z",
  "upstream": ["CVE-2024-%[1]d"],
  "aliases": ["GHSA-aaaa-%[1]d"],
  "summary": "synthetic vulnerability %[1]d",
  "details": "A synthetic record written for the decoding benchmark; real records carry a paragraph or two of text here, so this one does too, to keep the size realistic for the import target.",
  "severity": [{"type": "Ubuntu", "score": "medium"}, {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],
  "affected": [
    {"package": {"ecosystem": "Ubuntu:20.04:LTS", "name": "pkg%[1]d", "purl": "pkg:deb/ubuntu/pkg%[1]d@1.0?distro=focal"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.%[1]d-0ubuntu0.20.04.1"}]}],
     "versions": ["1.0-1", "1.1-1", "1.2-1"],
     "ecosystem_specific": {"binaries": [{"binary_name": "lib%[1]d", "binary_version": "1.2.%[1]d"}], "availability": "No subscription required"}},
    {"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "pkg%[1]d"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.%[1]d-0ubuntu0.22.04.1"}]}]},
    {"package": {"ecosystem": "Ubuntu:24.04:LTS", "name": "pkg%[1]d"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.%[1]d-0ubuntu0.24.04.1"}]}]}
  ],
  "references": [
    {"type": "ADVISORY", "url": "https://ubuntu.com/security/notices/USN-%[1]d-1"},
    {"type": "REPORT", "url": "https://bugs.launchpad.net/bugs/%[1]d"},
    {"type": "WEB", "url": "https://www.cve.org/CVERecord?id=CVE-2024-%[1]d"}
  ]
}`, i)
}

func BenchmarkDecode(b *testing.B) {
	data := syntheticRecord(12345)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if r := Decode(data); r.Advisory == nil {
			b.Fatalf("not an advisory: %+v", r)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkWalkZip reads a 20k-record all.zip and reports the rate and
// the peak heap in use while streaming it.
func BenchmarkWalkZip(b *testing.B) {
	const n = 20000
	path := filepath.Join(b.TempDir(), "all.zip")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for i := range n {
		w, err := zw.Create(fmt.Sprintf("UBUNTU-CVE-2024-%d.json", i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(syntheticRecord(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	var peak uint64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		count := 0
		err := Walk(path, func(r Record) error {
			if r.Advisory == nil {
				return fmt.Errorf("%s: not an advisory: %v", r.Source, r.Err)
			}
			count++
			if count%1000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("read %d records, want %d", count, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
