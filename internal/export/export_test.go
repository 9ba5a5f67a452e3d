package export

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/keyring"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// rig is an exporter on a fake store, a fake uploader and a fake clock,
// with one enabled enrollment org-1/bucket-1.
type rig struct {
	store *fakeStore
	up    *fakeUploader
	clock *clock
	x     *Exporter
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{store: newFakeStore(), up: &fakeUploader{}, clock: &clock{t: t0}}
	r.x = r.exporter()
	r.enroll(t, "org-1", "bucket-1", "logs", true)
	return r
}

// exporter is a fresh exporter on the rig's store, as after a restart.
func (r *rig) exporter() *Exporter {
	return &Exporter{
		Store:       r.store,
		NewUploader: func(context.Context, *aip.S3Enrollment, string) (Uploader, error) { return r.up, nil },
		Now:         r.clock.Now,
		MaxBackoff:  8 * time.Second,
	}
}

func (r *rig) enroll(t *testing.T, org, bucket, prefix string, enabled bool) {
	t.Helper()
	err := r.store.PutS3Enrollment(context.Background(), &aip.S3Enrollment{OrgID: org, S3Bucket: bucket, Prefix: prefix, Enabled: enabled})
	if err != nil {
		t.Fatal(err)
	}
}

func (r *rig) pass(t *testing.T) {
	t.Helper()
	if err := r.x.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// lines gunzips an object into its lines.
func lines(t *testing.T, body []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("object content does not end with a newline: %q", b)
	}
	return strings.Split(string(b[:len(b)-1]), "\n")
}

func TestExportBatches(t *testing.T) {
	t.Run("flushes full batches of MaxEvents at once and the rest after a minute", func(t *testing.T) {
		r := newRig(t)
		r.store.add("org-1", 25000, t0, "ev")
		r.pass(t)
		got := r.up.calls()
		if len(got) != 2 {
			t.Fatalf("got %d uploads, want the 2 full batches", len(got))
		}
		for i, p := range got {
			if n := len(lines(t, p.Body)); n != 10000 {
				t.Errorf("object %d has %d events, want 10000", i, n)
			}
		}
		if st := r.store.state("org-1", "bucket-1"); st.CursorSeq != 20000 || st.NextObject != 2 {
			t.Errorf("state after the full batches = %+v, want cursor 20000, next object 2", st)
		}
		r.clock.Advance(time.Minute)
		r.pass(t)
		got = r.up.calls()
		if len(got) != 3 {
			t.Fatalf("got %d uploads after a minute, want 3", len(got))
		}
		if n := len(lines(t, got[2].Body)); n != 5000 {
			t.Errorf("last object has %d events, want 5000", n)
		}
		if st := r.store.state("org-1", "bucket-1"); st.CursorSeq != 25000 || st.Pending != nil {
			t.Errorf("final state = %+v, want cursor 25000 and nothing pending", st)
		}
	})
	t.Run("holds a small batch until its oldest event is a minute old", func(t *testing.T) {
		r := newRig(t)
		r.store.add("org-1", 3, t0, "a")
		r.clock.Advance(30 * time.Second)
		r.store.add("org-1", 2, t0.Add(30*time.Second), "b")
		r.pass(t)
		r.clock.Advance(29*time.Second + 999*time.Millisecond)
		r.pass(t)
		if got := len(r.up.calls()); got != 0 {
			t.Fatalf("got %d uploads before a minute, want none", got)
		}
		r.clock.Advance(time.Millisecond)
		r.pass(t)
		got := r.up.calls()
		if len(got) != 1 {
			t.Fatalf("got %d uploads at a minute, want 1", len(got))
		}
		want := []string{`{"_id":"a-0","n":0}`, `{"_id":"a-1","n":1}`, `{"_id":"a-2","n":2}`, `{"_id":"b-0","n":0}`, `{"_id":"b-1","n":1}`}
		if diff := cmp.Diff(want, lines(t, got[0].Body)); diff != "" {
			t.Errorf("object content (-want +got):\n%s", diff)
		}
		if e := r.store.enrollment("org-1", "bucket-1"); !e.LastExportedAt.Time.Equal(r.clock.Now()) {
			t.Errorf("lastExportedAt = %v, want %v", e.LastExportedAt.Time, r.clock.Now())
		}
	})
}

func TestObjectKey(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name   string
		prefix string
		ev     *aip.Event
		seq    int64
		want   string
	}{
		{"puts the prefix first", "logs", &aip.Event{Time: t0}, 7,
			fmt.Sprintf("logs/org-1/2026/03/04/05/%d-0000000007.jsonl.gz", t0.UnixMilli())},
		{"starts with the organization without a prefix", "", &aip.Event{Time: t0}, 0,
			fmt.Sprintf("org-1/2026/03/04/05/%d-0000000000.jsonl.gz", t0.UnixMilli())},
		{"drops a prefix's trailing slash", "a/b/", &aip.Event{Time: t0}, 12345678901,
			fmt.Sprintf("a/b/org-1/2026/03/04/05/%d-12345678901.jsonl.gz", t0.UnixMilli())},
		{"uses UTC for the time path", "p", &aip.Event{Time: time.Date(2026, 1, 1, 0, 30, 0, 0, paris)}, 1,
			fmt.Sprintf("p/org-1/2025/12/31/23/%d-0000000001.jsonl.gz", time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC).UnixMilli())},
		{"falls back to the arrival time without an event time", "p", &aip.Event{ReceivedAt: t0.Add(time.Hour)}, 2,
			fmt.Sprintf("p/org-1/2026/03/04/06/%d-0000000002.jsonl.gz", t0.Add(time.Hour).UnixMilli())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ObjectKey(tt.prefix, "org-1", tt.ev, tt.seq); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	evs := []*aip.ExportEvent{
		{Seq: 1, Event: &aip.Event{ID: "a", Raw: []byte(`{"_id":"a"}`)}},
		{Seq: 2, Event: &aip.Event{ID: "b", Raw: []byte("{\n  \"_id\": \"b\"\n}")}},
	}
	t.Run("gives the same bytes for the same events", func(t *testing.T) {
		first, err := Encode(evs)
		if err != nil {
			t.Fatal(err)
		}
		second, err := Encode(evs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Error("two encodings of the same events differ")
		}
	})
	t.Run("writes one line per event with an empty gzip header", func(t *testing.T) {
		body, err := Encode(evs)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if zr.Name != "" || !zr.ModTime.IsZero() {
			t.Errorf("gzip header has name %q, time %v; want neither", zr.Name, zr.ModTime)
		}
		want := []string{`{"_id":"a"}`, `{"_id":"b"}`}
		if diff := cmp.Diff(want, lines(t, body)); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
	})
}

func TestExportFailures(t *testing.T) {
	t.Run("retries the same key with the same bytes and keeps the cursor until an upload succeeds", func(t *testing.T) {
		r := newRig(t)
		r.store.add("org-1", 10, t0, "ev")
		failures := 3
		r.up.fail = func(n int) error {
			if n < failures {
				return errors.New("connection refused")
			}
			return nil
		}
		r.clock.Advance(time.Minute)
		for range failures {
			r.pass(t)
			if st := r.store.state("org-1", "bucket-1"); st.CursorSeq != 0 || st.Pending == nil {
				t.Fatalf("state after a failed upload = %+v, want cursor 0 and the object pending", st)
			}
			if e := r.store.enrollment("org-1", "bucket-1"); !strings.Contains(e.LastError, "connection refused") {
				t.Errorf("lastError = %q, want the upload's failure", e.LastError)
			}
			r.store.add("org-1", 1, r.clock.Now(), "late") // must not join the planned object
			r.clock.Advance(time.Minute)
		}
		r.pass(t)
		got := r.up.calls()
		if len(got) < failures+1 {
			t.Fatalf("got %d uploads, want at least %d", len(got), failures+1)
		}
		for i := 1; i <= failures; i++ {
			if got[i].Key != got[0].Key || !bytes.Equal(got[i].Body, got[0].Body) {
				t.Errorf("attempt %d put %q (%d bytes), want %q with the first attempt's bytes", i, got[i].Key, len(got[i].Body), got[0].Key)
			}
		}
		if n := len(lines(t, got[0].Body)); n != 10 {
			t.Errorf("retried object has %d events, want the 10 it was planned with", n)
		}
		e := r.store.enrollment("org-1", "bucket-1")
		if e.LastError != "" {
			t.Errorf("lastError after a success = %q, want none", e.LastError)
		}
		if st := r.store.state("org-1", "bucket-1"); st.CursorSeq != 10+int64(failures) || st.Pending != nil {
			t.Errorf("final state = %+v, want every event exported", st)
		}
	})
	t.Run("uploads the planned object again after a crash, then continues", func(t *testing.T) {
		r := newRig(t)
		r.store.add("org-1", 5, t0, "ev")
		r.clock.Advance(time.Minute)
		r.store.failComplete = 1
		r.pass(t) // uploaded, but the process "died" before completing
		r.store.add("org-1", 4, r.clock.Now(), "after")
		r.x = r.exporter() // restart on the same store
		r.clock.Advance(time.Minute)
		r.pass(t)
		got := r.up.calls()
		if len(got) != 3 {
			t.Fatalf("got %d uploads, want the object twice then the next one", len(got))
		}
		if got[1].Key != got[0].Key || !bytes.Equal(got[1].Body, got[0].Body) {
			t.Errorf("re-upload put %q, want %q with the same bytes", got[1].Key, got[0].Key)
		}
		if got[2].Key == got[0].Key {
			t.Errorf("next object reuses key %q", got[2].Key)
		}
		var ids []string
		for _, p := range got[1:] {
			ids = append(ids, lines(t, p.Body)...)
		}
		if len(ids) != 9 {
			t.Errorf("objects after the restart hold %d events, want each of the 9 once: %v", len(ids), ids)
		}
		if st := r.store.state("org-1", "bucket-1"); st.CursorSeq != 9 || st.NextObject != 2 {
			t.Errorf("final state = %+v, want cursor 9, next object 2", st)
		}
	})
	t.Run("backs off exponentially up to MaxBackoff while other enrollments continue", func(t *testing.T) {
		r := newRig(t)
		good := &fakeUploader{}
		r.x.NewUploader = func(_ context.Context, e *aip.S3Enrollment, _ string) (Uploader, error) {
			if e.S3Bucket == "good" {
				return good, nil
			}
			return r.up, nil
		}
		r.enroll(t, "org-1", "good", "", true)
		r.up.fail = func(int) error { return errors.New("unreachable") }
		r.store.add("org-1", 1, t0.Add(-time.Hour), "ev")
		var attempts []time.Duration
		for step := time.Duration(0); step <= 40*time.Second; step += 100 * time.Millisecond {
			before := len(r.up.calls())
			r.pass(t)
			if len(r.up.calls()) > before {
				attempts = append(attempts, r.clock.Now().Sub(t0))
			}
			r.clock.Advance(100 * time.Millisecond)
		}
		want := []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second, 23 * time.Second, 31 * time.Second, 39 * time.Second}
		if diff := cmp.Diff(want, attempts); diff != "" {
			t.Errorf("attempt times (-want +got):\n%s", diff)
		}
		if got := len(good.calls()); got != 1 {
			t.Errorf("the healthy enrollment got %d uploads, want 1", got)
		}
	})
}

func TestExportSkipsDisabled(t *testing.T) {
	t.Run("leaves a disabled enrollment and its state untouched", func(t *testing.T) {
		r := newRig(t)
		r.store.add("org-1", 20000, t0, "ev")
		r.pass(t)
		want := r.store.state("org-1", "bucket-1")
		r.enroll(t, "org-1", "bucket-1", "logs", false)
		r.store.add("org-1", 20000, t0, "more")
		r.clock.Advance(time.Hour)
		r.pass(t)
		if got := len(r.up.calls()); got != 2 {
			t.Errorf("got %d uploads, want only the 2 made while enabled", got)
		}
		if diff := cmp.Diff(want, r.store.state("org-1", "bucket-1")); diff != "" {
			t.Errorf("state changed while disabled (-want +got):\n%s", diff)
		}
	})
}

func TestExportSecret(t *testing.T) {
	kr, err := keyring.New(bytes.Repeat([]byte{7}, keyring.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-access-key-value"
	sealed, err := kr.Seal(SecretOwner("org-1", "bucket-1"), secret)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("opens the secret for the uploader and keeps it out of lastError", func(t *testing.T) {
		r := newRig(t)
		if err := r.store.PutS3Enrollment(context.Background(), &aip.S3Enrollment{OrgID: "org-1", S3Bucket: "bucket-1",
			Enabled: true, AccessKeyID: "AKID", SecretSealed: sealed}); err != nil {
			t.Fatal(err)
		}
		var gotSecret string
		r.x.Keyring = kr
		r.x.NewUploader = func(_ context.Context, _ *aip.S3Enrollment, s string) (Uploader, error) {
			gotSecret = s
			return r.up, nil
		}
		r.up.fail = func(int) error { return fmt.Errorf("signature mismatch for %s", secret) }
		r.store.add("org-1", 1, t0.Add(-time.Hour), "ev")
		r.pass(t)
		if gotSecret != secret {
			t.Errorf("uploader got secret %q, want the opened one", gotSecret)
		}
		e := r.store.enrollment("org-1", "bucket-1")
		if strings.Contains(e.LastError, secret) || !strings.Contains(e.LastError, "signature mismatch") {
			t.Errorf("lastError = %q, want the failure without the secret", e.LastError)
		}
	})
	t.Run("records an error when the secret does not open", func(t *testing.T) {
		r := newRig(t)
		if err := r.store.PutS3Enrollment(context.Background(), &aip.S3Enrollment{OrgID: "org-1", S3Bucket: "other",
			Enabled: true, AccessKeyID: "AKID", SecretSealed: sealed}); err != nil {
			t.Fatal(err)
		}
		r.x.Keyring = kr
		r.store.add("org-1", 1, t0.Add(-time.Hour), "ev")
		r.pass(t)
		if e := r.store.enrollment("org-1", "other"); !strings.Contains(e.LastError, "secret") {
			t.Errorf("lastError = %q, want the secret's failure", e.LastError)
		}
	})
}
