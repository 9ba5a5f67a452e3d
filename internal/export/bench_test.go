package export_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aipsec/aip/internal/app"
)

// BenchmarkS3Export measures the export throughput of app.Main's exporter to
// the S3-compatible server: each iteration enrolls a new bucket on the
// same stored events and waits for its cursor to reach the last one.
func BenchmarkS3Export(b *testing.B) {
	tg := newS3Target(b)
	const events = 50000
	m, kr := boot(b, app.Config{ExportPollInterval: 5 * time.Millisecond})
	org := m.Bootstrap.OrgID
	insert(b, m.Store(), org, makeEvents(org, "b", events))
	ctx := context.Background()
	last, err := m.Store().EventsAfter(ctx, org, 0, events)
	if err != nil || len(last) != events {
		b.Fatalf("events after 0: %d, %v", len(last), err)
	}
	lastSeq := last[len(last)-1].Seq
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		bucket := tg.bucket(b)
		b.StartTimer()
		start := time.Now()
		tg.enroll(b, m.Store(), kr, org, bucket, "")
		for {
			st, err := m.Store().ExportState(ctx, org, bucket)
			if err != nil {
				b.Fatal(err)
			}
			if st.CursorSeq == lastSeq {
				break
			}
			time.Sleep(time.Millisecond)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		if _, err := m.Store().DeleteS3Enrollment(ctx, org, bucket); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*events)/elapsed.Seconds(), "events/s")
}

// BenchmarkIngestWithExport measures ingest (IngestEvents, 100 events a
// batch) without and with an enrollment exporting the same organization,
// to show what the export costs ingest.
func BenchmarkIngestWithExport(b *testing.B) {
	tg := newS3Target(b)
	for _, enrolled := range []bool{false, true} {
		b.Run(fmt.Sprintf("enrolled=%v", enrolled), func(b *testing.B) {
			m, kr := boot(b, app.Config{ExportPollInterval: 50 * time.Millisecond, ExportFlushAfter: 200 * time.Millisecond})
			org := m.Bootstrap.OrgID
			if enrolled {
				tg.enroll(b, m.Store(), kr, org, tg.bucket(b), "")
			}
			const batch = 100
			evs := makeEvents(org, "i", b.N*batch)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for chunk := range slices.Chunk(evs, batch) {
				if _, err := m.Store().IngestEvents(ctx, org, chunk, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(evs))/time.Since(start).Seconds(), "events/s")
			if enrolled {
				b.StopTimer()
				es, err := m.Store().ListS3Enrollments(ctx, org)
				if err != nil || len(es) != 1 || es[0].LastError != "" {
					b.Fatalf("enrollment after the run: %+v, %v", es, err)
				}
			}
		})
	}
}
