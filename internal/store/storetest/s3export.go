package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// runS3Export runs the S3 export store's part of the suite.
func runS3Export(t *testing.T, open func(t *testing.T) aip.Store) {
	t.Run("s3 enrollments", func(t *testing.T) { testS3Enrollments(t, open) })
	t.Run("s3 enrollment isolation", func(t *testing.T) { testS3Isolation(t, open) })
	t.Run("events after", func(t *testing.T) { testEventsAfter(t, open) })
	t.Run("export state", func(t *testing.T) { testExportState(t, open) })
	t.Run("retention keeps unexported events", func(t *testing.T) { testS3Retention(t, open) })
}

func enrollment(orgID, bucket string, enabled bool) *aip.S3Enrollment {
	return &aip.S3Enrollment{
		OrgID: orgID, S3Bucket: bucket, IAMRoleArn: "arn:aws:iam::123456789012:role/" + bucket,
		IAMRoleArnExternalID: "ext-" + bucket, Region: "eu-west-1", Prefix: "aip", Enabled: enabled,
	}
}

func mustEnroll(t *testing.T, s aip.S3ExportStore, e *aip.S3Enrollment) {
	t.Helper()
	if err := s.PutS3Enrollment(t.Context(), e); err != nil {
		t.Fatalf("PutS3Enrollment(%s): %v", e.S3Bucket, err)
	}
}

// mustArrive inserts each event in its own batch, so that arrival order is
// the argument order in every store.
func mustArrive(t *testing.T, s aip.Store, orgID string, evs ...*aip.Event) {
	t.Helper()
	for _, e := range evs {
		mustEvents(t, s, orgID, e)
	}
}

func listBuckets(t *testing.T, s aip.S3ExportStore, orgID string) []*aip.S3Enrollment {
	t.Helper()
	got, err := s.ListS3Enrollments(t.Context(), orgID)
	if err != nil {
		t.Fatalf("ListS3Enrollments(%s): %v", orgID, err)
	}
	return got
}

func testS3Enrollments(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	t.Run("put creates with EnrolledAt and a zero state", func(t *testing.T) {
		st := open(t)
		s := aip.S3ExportStore(st)
		org := mustOrg(t, st, "acme")
		e := enrollment(org.ID, "logs", true)
		e.Endpoint, e.AccessKeyID, e.SecretSealed, e.PathStyle = "https://minio.example:9000", "AKID", []byte("sealed-1"), true
		mustEnroll(t, s, e)
		checkStoredTime(t, "EnrolledAt", e.EnrolledAt.Time)
		want := *e
		if diff := cmp.Diff([]*aip.S3Enrollment{&want}, listBuckets(t, s, org.ID), timeOpts); diff != "" {
			t.Errorf("ListS3Enrollments mismatch (-want +got):\n%s", diff)
		}
		got, err := s.ExportState(ctx, org.ID, "logs")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&aip.ExportState{}, got); diff != "" {
			t.Errorf("ExportState mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("put again updates fields and keeps EnrolledAt, state and secret", func(t *testing.T) {
		st := open(t)
		s := aip.S3ExportStore(st)
		org := mustOrg(t, st, "acme")
		first := enrollment(org.ID, "logs", true)
		first.SecretSealed = []byte("sealed-1")
		mustEnroll(t, s, first)
		ev := newEvent("ag", base)
		mustArrive(t, st, org.ID, ev)
		evs, err := s.EventsAfter(ctx, org.ID, 0, 10)
		if err != nil || len(evs) != 1 {
			t.Fatalf("EventsAfter = %d events, %v; want 1", len(evs), err)
		}
		obj := &aip.ExportObject{Sequence: 0, Key: "k0", AfterSeq: 0, LastSeq: evs[0].Seq, Events: 1}
		if err := s.PlanExportObject(ctx, org.ID, "logs", obj); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteExportObject(ctx, org.ID, "logs", 0, base); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // a new EnrolledAt would differ

		for _, tt := range []struct {
			name       string
			secret     []byte
			wantSecret []byte
		}{
			{"keeps the secret when the update has none", nil, []byte("sealed-1")},
			{"replaces the secret when the update has one", []byte("sealed-2"), []byte("sealed-2")},
		} {
			t.Run(tt.name, func(t *testing.T) {
				upd := &aip.S3Enrollment{
					OrgID: org.ID, S3Bucket: "logs", IAMRoleArn: "arn:new", IAMRoleArnExternalID: "ext-new",
					Region: "us-east-1", Prefix: "p2", Enabled: false, Endpoint: "http://s3.local", AccessKeyID: "AK2",
					SecretSealed: tt.secret, PathStyle: true,
				}
				mustEnroll(t, s, upd)
				if !upd.EnrolledAt.Equal(first.EnrolledAt.Time) {
					t.Errorf("EnrolledAt = %v, want the first put's %v", upd.EnrolledAt, first.EnrolledAt)
				}
				want := *upd
				want.EnrolledAt = first.EnrolledAt
				want.SecretSealed = tt.wantSecret
				want.LastExportedAt = aip.Time{Time: normalized(base)}
				if diff := cmp.Diff([]*aip.S3Enrollment{&want}, listBuckets(t, s, org.ID), timeOpts); diff != "" {
					t.Errorf("ListS3Enrollments mismatch (-want +got):\n%s", diff)
				}
				got, err := s.ExportState(ctx, org.ID, "logs")
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(&aip.ExportState{CursorSeq: evs[0].Seq, NextObject: 1}, got); diff != "" {
					t.Errorf("ExportState mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})
	t.Run("at most MaxS3Enrollments buckets, replacing one still works", func(t *testing.T) {
		st := open(t)
		s := aip.S3ExportStore(st)
		org := mustOrg(t, st, "acme")
		for i := range aip.MaxS3Enrollments {
			mustEnroll(t, s, enrollment(org.ID, fmt.Sprintf("b%02d", i), true))
		}
		wantCode(t, s.PutS3Enrollment(ctx, enrollment(org.ID, "one-too-many", true)), aip.EINVALID)
		mustEnroll(t, s, enrollment(org.ID, "b03", false))
		if got := len(listBuckets(t, s, org.ID)); got != aip.MaxS3Enrollments {
			t.Errorf("enrollments = %d, want %d", got, aip.MaxS3Enrollments)
		}
	})
	t.Run("rejects bad puts", func(t *testing.T) {
		st := open(t)
		s := aip.S3ExportStore(st)
		org := mustOrg(t, st, "acme")
		for _, tt := range []struct {
			name string
			e    *aip.S3Enrollment
			want string
		}{
			{"unknown organization is not found", enrollment("0123456789abcdef01234567", "logs", true), aip.ENOTFOUND},
			{"empty bucket is invalid", enrollment(org.ID, "", true), aip.EINVALID},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, s.PutS3Enrollment(ctx, tt.e), tt.want)
			})
		}
		_, err := s.ListS3Enrollments(ctx, "0123456789abcdef01234567")
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("lists by bucket with the backlog", func(t *testing.T) {
		st := open(t)
		s := aip.S3ExportStore(st)
		org := mustOrg(t, st, "acme")
		other := mustOrg(t, st, "other")
		for _, b := range []string{"zeta", "alpha", "mid"} {
			mustEnroll(t, s, enrollment(org.ID, b, true))
		}
		mustArrive(t, st, org.ID, newEvent("ag", base), newEvent("ag", base.Add(time.Second)), newEvent("ag", base.Add(2*time.Second)))
		mustArrive(t, st, other.ID, newEvent("ag", base))
		evs, err := s.EventsAfter(ctx, org.ID, 0, 10)
		if err != nil || len(evs) != 3 {
			t.Fatalf("EventsAfter = %d events, %v; want 3", len(evs), err)
		}
		// alpha exported the first event: two remain for it.
		if err := s.PlanExportObject(ctx, org.ID, "alpha", &aip.ExportObject{Key: "k", LastSeq: evs[0].Seq, Events: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteExportObject(ctx, org.ID, "alpha", 0, base); err != nil {
			t.Fatal(err)
		}
		type row struct {
			Bucket  string
			Backlog int64
		}
		var got []row
		for _, e := range listBuckets(t, s, org.ID) {
			got = append(got, row{e.S3Bucket, e.Backlog})
		}
		want := []row{{"alpha", 2}, {"mid", 3}, {"zeta", 3}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListS3Enrollments mismatch (-want +got):\n%s", diff)
		}
		if got := listBuckets(t, s, other.ID); len(got) != 0 {
			t.Errorf("other organization lists %d enrollments, want none", len(got))
		}
	})
	t.Run("delete returns the enrollment, then is not found", func(t *testing.T) {
		st := open(t)
		s := aip.S3ExportStore(st)
		org := mustOrg(t, st, "acme")
		e := enrollment(org.ID, "logs", true)
		e.SecretSealed = []byte("sealed")
		mustEnroll(t, s, e)
		mustEnroll(t, s, enrollment(org.ID, "keep", true))
		mustArrive(t, st, org.ID, newEvent("ag", base))
		got, err := s.DeleteS3Enrollment(ctx, org.ID, "logs")
		if err != nil {
			t.Fatal(err)
		}
		want := *e
		want.Backlog = 1
		if diff := cmp.Diff(&want, got, timeOpts); diff != "" {
			t.Errorf("DeleteS3Enrollment mismatch (-want +got):\n%s", diff)
		}
		_, err = s.DeleteS3Enrollment(ctx, org.ID, "logs")
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.ExportState(ctx, org.ID, "logs")
		wantCode(t, err, aip.ENOTFOUND)
		var buckets []string
		for _, e := range listBuckets(t, s, org.ID) {
			buckets = append(buckets, e.S3Bucket)
		}
		if diff := cmp.Diff([]string{"keep"}, buckets); diff != "" {
			t.Errorf("remaining buckets mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("enabled enrollments span organizations and skip disabled ones", func(t *testing.T) {
		st := open(t)
		s := aip.S3ExportStore(st)
		a := mustOrg(t, st, "a")
		b := mustOrg(t, st, "b")
		mustEnroll(t, s, enrollment(a.ID, "on", true))
		mustEnroll(t, s, enrollment(a.ID, "off", false))
		mustEnroll(t, s, enrollment(b.ID, "on", true))
		got, err := s.EnabledS3Enrollments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		type key struct{ Org, Bucket string }
		var keys []key
		for _, e := range got {
			keys = append(keys, key{e.OrgID, e.S3Bucket})
		}
		want := []key{{a.ID, "on"}, {b.ID, "on"}}
		less := func(x, y key) bool { return x.Org+"/"+x.Bucket < y.Org+"/"+y.Bucket }
		if diff := cmp.Diff(want, keys, cmpopts.SortSlices(less)); diff != "" {
			t.Errorf("EnabledS3Enrollments mismatch (-want +got):\n%s", diff)
		}
	})
}

func testS3Isolation(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	st := open(t)
	s := aip.S3ExportStore(st)
	a := mustOrg(t, st, "a")
	b := mustOrg(t, st, "b")
	mustEnroll(t, s, enrollment(a.ID, "logs", true))
	mustArrive(t, st, a.ID, newEvent("ag", base))
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"state", func() error { _, err := s.ExportState(ctx, b.ID, "logs"); return err }},
		{"delete", func() error { _, err := s.DeleteS3Enrollment(ctx, b.ID, "logs"); return err }},
		{"plan", func() error {
			return s.PlanExportObject(ctx, b.ID, "logs", &aip.ExportObject{Key: "k", LastSeq: 1 << 40, Events: 1})
		}},
		{"complete", func() error { return s.CompleteExportObject(ctx, b.ID, "logs", 0, base) }},
		{"record error", func() error { return s.RecordExportError(ctx, b.ID, "logs", "boom") }},
	} {
		t.Run("other organization's "+tt.name+" is not found", func(t *testing.T) {
			wantCode(t, tt.call(), aip.ENOTFOUND)
		})
	}
	t.Run("other organization lists and reads nothing of it", func(t *testing.T) {
		if got := listBuckets(t, s, b.ID); len(got) != 0 {
			t.Errorf("ListS3Enrollments(b) = %d enrollments, want none", len(got))
		}
		got, err := s.EventsAfter(ctx, b.ID, 0, 10)
		if err != nil || len(got) != 0 {
			t.Errorf("EventsAfter(b) = %d events, %v; want none", len(got), err)
		}
	})
	t.Run("owner's enrollment is unchanged", func(t *testing.T) {
		got := listBuckets(t, s, a.ID)
		if len(got) != 1 || got[0].LastError != "" || got[0].Backlog != 1 {
			t.Fatalf("ListS3Enrollments(a) = %+v, want logs untouched with a backlog of 1", got)
		}
		st, err := s.ExportState(ctx, a.ID, "logs")
		if err != nil || st.Pending != nil {
			t.Errorf("ExportState(a) = %+v, %v; want nothing pending", st, err)
		}
	})
}

func testEventsAfter(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	st := open(t)
	s := aip.S3ExportStore(st)
	org := mustOrg(t, st, "acme")
	other := mustOrg(t, st, "other")
	// Event times out of order: arrival order is not event-time order.
	var evs []*aip.Event
	for i, d := range []int{5, 1, 4, 2, 3} {
		e := newEvent("ag", base.Add(time.Duration(d)*time.Minute))
		e.ReceivedAt = base.Add(time.Duration(i)*time.Second + 456*time.Microsecond)
		evs = append(evs, e)
	}
	mustArrive(t, st, org.ID, evs[0], evs[1])
	mustArrive(t, st, other.ID, newEvent("ag", base))
	mustArrive(t, st, org.ID, evs[2], evs[3], evs[4])

	all, err := s.EventsAfter(ctx, org.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("returns the organization's events in arrival order with their fields", func(t *testing.T) {
		var want []*aip.Event
		for _, e := range evs {
			w := *e
			w.OrgID = org.ID
			w.Time = normalized(e.Time)
			w.ReceivedAt = normalized(e.ReceivedAt)
			want = append(want, &w)
		}
		var got []*aip.Event
		for _, x := range all {
			got = append(got, x.Event)
			if !x.ReceivedAt.Equal(x.Event.ReceivedAt) {
				t.Errorf("event %s ReceivedAt = %v, want its event's %v", x.Event.ID, x.ReceivedAt, x.Event.ReceivedAt)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("EventsAfter mismatch (-want +got):\n%s", diff)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Seq <= all[i-1].Seq {
				t.Errorf("Seq %d = %d, not above the previous %d", i, all[i].Seq, all[i-1].Seq)
			}
		}
	})
	if len(all) != len(evs) {
		t.Fatalf("EventsAfter = %d events, want %d", len(all), len(evs))
	}
	for _, tt := range []struct {
		name  string
		after int64
		limit int
		want  []string
	}{
		{"limit stops early", 0, 2, []string{evs[0].ID, evs[1].ID}},
		{"after a seq starts past it", all[1].Seq, 100, []string{evs[2].ID, evs[3].ID, evs[4].ID}},
		{"after and limit combine", all[1].Seq, 1, []string{evs[2].ID}},
		{"after the last is empty", all[4].Seq, 100, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.EventsAfter(ctx, org.ID, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, x := range got {
				ids = append(ids, x.Event.ID)
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("EventsAfter(%d, %d) mismatch (-want +got):\n%s", tt.after, tt.limit, diff)
			}
		})
	}
	t.Run("rejects a non-positive limit", func(t *testing.T) {
		_, err := s.EventsAfter(ctx, org.ID, 0, 0)
		wantCode(t, err, aip.EINVALID)
	})
}

func testExportState(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	st := open(t)
	s := aip.S3ExportStore(st)
	org := mustOrg(t, st, "acme")
	mustEnroll(t, s, enrollment(org.ID, "logs", true))
	mustArrive(t, st, org.ID, newEvent("ag", base), newEvent("ag", base), newEvent("ag", base))
	evs, err := s.EventsAfter(ctx, org.ID, 0, 10)
	if err != nil || len(evs) != 3 {
		t.Fatalf("EventsAfter = %d events, %v; want 3", len(evs), err)
	}
	state := func(t *testing.T) *aip.ExportState {
		t.Helper()
		got, err := s.ExportState(ctx, org.ID, "logs")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := &aip.ExportObject{Sequence: 0, Key: "aip/o/0.jsonl.gz", AfterSeq: 0, LastSeq: evs[1].Seq, Events: 2}

	t.Run("plan shows pending", func(t *testing.T) {
		if err := s.PlanExportObject(ctx, org.ID, "logs", first); err != nil {
			t.Fatal(err)
		}
		want := &aip.ExportState{Pending: first}
		if diff := cmp.Diff(want, state(t)); diff != "" {
			t.Errorf("ExportState mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("rejects plans that do not fit", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			o    aip.ExportObject
			want string
		}{
			{"second plan while pending conflicts", aip.ExportObject{Sequence: 1, Key: "k", AfterSeq: evs[1].Seq, LastSeq: evs[2].Seq, Events: 1}, aip.ECONFLICT},
			{"same plan again conflicts", *first, aip.ECONFLICT},
			{"missing key is invalid", aip.ExportObject{Sequence: 0, LastSeq: evs[1].Seq, Events: 2}, aip.EINVALID},
			{"empty range is invalid", aip.ExportObject{Sequence: 0, Key: "k", AfterSeq: 5, LastSeq: 5}, aip.EINVALID},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, s.PlanExportObject(ctx, org.ID, "logs", &tt.o), tt.want)
			})
		}
	})
	t.Run("record error shows in the list", func(t *testing.T) {
		if err := s.RecordExportError(ctx, org.ID, "logs", "upload: access denied"); err != nil {
			t.Fatal(err)
		}
		got := listBuckets(t, s, org.ID)
		if len(got) != 1 || got[0].LastError != "upload: access denied" {
			t.Errorf("ListS3Enrollments = %+v, want LastError %q", got, "upload: access denied")
		}
	})
	t.Run("completing a sequence that is not pending conflicts", func(t *testing.T) {
		wantCode(t, s.CompleteExportObject(ctx, org.ID, "logs", 1, base), aip.ECONFLICT)
		wantCode(t, s.CompleteExportObject(ctx, org.ID, "nope", 0, base), aip.ENOTFOUND)
	})
	at := base.Add(time.Hour)
	t.Run("complete moves the cursor and clears pending and the error", func(t *testing.T) {
		if err := s.CompleteExportObject(ctx, org.ID, "logs", 0, at); err != nil {
			t.Fatal(err)
		}
		want := &aip.ExportState{CursorSeq: evs[1].Seq, NextObject: 1}
		if diff := cmp.Diff(want, state(t)); diff != "" {
			t.Errorf("ExportState mismatch (-want +got):\n%s", diff)
		}
		got := listBuckets(t, s, org.ID)
		if len(got) != 1 || got[0].LastError != "" || !got[0].LastExportedAt.Equal(normalized(at)) || got[0].Backlog != 1 {
			t.Errorf("ListS3Enrollments = %+v, want no error, LastExportedAt %v and a backlog of 1", got, normalized(at))
		}
	})
	t.Run("completing the completed object again changes nothing", func(t *testing.T) {
		if err := s.CompleteExportObject(ctx, org.ID, "logs", 0, at.Add(time.Hour)); err != nil {
			t.Fatalf("re-complete: %v, want nil", err)
		}
		want := &aip.ExportState{CursorSeq: evs[1].Seq, NextObject: 1}
		if diff := cmp.Diff(want, state(t)); diff != "" {
			t.Errorf("ExportState mismatch (-want +got):\n%s", diff)
		}
		if got := listBuckets(t, s, org.ID); !got[0].LastExportedAt.Equal(normalized(at)) {
			t.Errorf("LastExportedAt = %v, want still %v", got[0].LastExportedAt, normalized(at))
		}
	})
	t.Run("plans with a stale sequence or cursor conflict", func(t *testing.T) {
		for _, o := range []aip.ExportObject{
			{Sequence: 0, Key: "k", AfterSeq: evs[1].Seq, LastSeq: evs[2].Seq, Events: 1},
			{Sequence: 2, Key: "k", AfterSeq: evs[1].Seq, LastSeq: evs[2].Seq, Events: 1},
			{Sequence: 1, Key: "k", AfterSeq: 0, LastSeq: evs[2].Seq, Events: 3},
		} {
			wantCode(t, s.PlanExportObject(ctx, org.ID, "logs", &o), aip.ECONFLICT)
		}
	})
	t.Run("next object plans and completes", func(t *testing.T) {
		next := &aip.ExportObject{Sequence: 1, Key: "aip/o/1.jsonl.gz", AfterSeq: evs[1].Seq, LastSeq: evs[2].Seq, Events: 1}
		if err := s.PlanExportObject(ctx, org.ID, "logs", next); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteExportObject(ctx, org.ID, "logs", 1, at); err != nil {
			t.Fatal(err)
		}
		want := &aip.ExportState{CursorSeq: evs[2].Seq, NextObject: 2}
		if diff := cmp.Diff(want, state(t)); diff != "" {
			t.Errorf("ExportState mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("unknown enrollment is not found", func(t *testing.T) {
		_, err := s.ExportState(ctx, org.ID, "nope")
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.PlanExportObject(ctx, org.ID, "nope", &aip.ExportObject{Key: "k", LastSeq: 1, Events: 1}), aip.ENOTFOUND)
		wantCode(t, s.RecordExportError(ctx, org.ID, "nope", "x"), aip.ENOTFOUND)
	})
}

func testS3Retention(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	old := base.Add(-100 * time.Hour)
	cutoff := base.Add(-72 * time.Hour)
	oldEvents := func(n int) []*aip.Event {
		var out []*aip.Event
		for i := range n {
			e := newEvent("ag", old)
			e.ReceivedAt = old.Add(time.Duration(i) * time.Second)
			out = append(out, e)
		}
		return out
	}
	remaining := func(t *testing.T, s aip.S3ExportStore, orgID string) []string {
		t.Helper()
		got, err := s.EventsAfter(ctx, orgID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range got {
			ids = append(ids, x.Event.ID)
		}
		return ids
	}
	purge := func(t *testing.T, st aip.Store) {
		t.Helper()
		for {
			n, err := st.DeleteExpiredEvents(ctx, cutoff, 2)
			if err != nil {
				t.Fatal(err)
			}
			if n < 2 {
				return
			}
		}
	}
	ids := func(evs ...*aip.Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}

	st := open(t)
	s := aip.S3ExportStore(st)
	org := mustOrg(t, st, "acme")
	off := mustOrg(t, st, "disabled")
	none := mustOrg(t, st, "none")
	evs := oldEvents(4)
	mustArrive(t, st, org.ID, evs...)
	offEvs := oldEvents(2)
	mustArrive(t, st, off.ID, offEvs...)
	noneEvs := oldEvents(2)
	mustArrive(t, st, none.ID, noneEvs...)
	mustEnroll(t, s, enrollment(org.ID, "on", true))
	mustEnroll(t, s, enrollment(org.ID, "paused", false))
	mustEnroll(t, s, enrollment(off.ID, "paused", false))

	t.Run("nothing of an organization with an unexported enabled enrollment goes", func(t *testing.T) {
		purge(t, st)
		if diff := cmp.Diff(ids(evs...), remaining(t, s, org.ID)); diff != "" {
			t.Errorf("remaining events mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("disabled enrollments and other organizations do not hold events", func(t *testing.T) {
		if got := remaining(t, s, off.ID); len(got) != 0 {
			t.Errorf("disabled enrollment's organization kept %v, want none", got)
		}
		if got := remaining(t, s, none.ID); len(got) != 0 {
			t.Errorf("organization without enrollments kept %v, want none", got)
		}
	})
	t.Run("events go once the cursor passes them", func(t *testing.T) {
		all, err := s.EventsAfter(ctx, org.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		o := &aip.ExportObject{Key: "k", LastSeq: all[2].Seq, Events: 3}
		if err := s.PlanExportObject(ctx, org.ID, "on", o); err != nil {
			t.Fatal(err)
		}
		purge(t, st)
		if diff := cmp.Diff(ids(evs...), remaining(t, s, org.ID)); diff != "" {
			t.Errorf("planned but not uploaded: remaining events mismatch (-want +got):\n%s", diff)
		}
		if err := s.CompleteExportObject(ctx, org.ID, "on", 0, base); err != nil {
			t.Fatal(err)
		}
		purge(t, st)
		// The first two are gone; the cursor's own event may stay (SQLite
		// keeps it so that rowids never fall back below the cursor), the
		// unexported last one must.
		got := remaining(t, s, org.ID)
		if !cmp.Equal(ids(evs[3]), got) && !cmp.Equal(ids(evs[2], evs[3]), got) {
			t.Errorf("remaining events = %v, want %v, or %v with the cursor's event", got, ids(evs[3]), ids(evs[2], evs[3]))
		}
	})
	t.Run("a paused enrollment keeps the events of its planned object", func(t *testing.T) {
		o := mustOrg(t, st, "paused with a plan")
		pevs := oldEvents(3)
		mustArrive(t, st, o.ID, pevs...)
		mustEnroll(t, s, enrollment(o.ID, "b", true))
		all, err := s.EventsAfter(ctx, o.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PlanExportObject(ctx, o.ID, "b", &aip.ExportObject{Key: "k", LastSeq: all[1].Seq, Events: 2}); err != nil {
			t.Fatal(err)
		}
		paused := enrollment(o.ID, "b", false)
		mustEnroll(t, s, paused)
		purge(t, st)
		// The planned object must be rebuilt byte for byte when the
		// enrollment resumes; the events after it may go.
		got := remaining(t, s, o.ID)
		if len(got) < 2 || !cmp.Equal(ids(pevs[0], pevs[1]), got[:2]) {
			t.Errorf("remaining events = %v, want the planned %v kept", got, ids(pevs[0], pevs[1]))
		}
	})
}
