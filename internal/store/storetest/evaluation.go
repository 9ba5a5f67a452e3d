package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func testIngestEvents(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")

	t.Run("evaluate sees only fresh events, in order", func(t *testing.T) {
		old := newEvent("ag", base)
		mustEvents(t, s, org.ID, old)
		e1, e2 := newEvent("ag", base.Add(time.Second)), newEvent("ag", base.Add(2*time.Second))
		var got []string
		fresh, err := s.IngestEvents(ctx, org.ID, []*aip.Event{e1, old, e2, e1}, func(_ context.Context, evs []*aip.Event, _ *aip.EvalState) (*aip.Evaluation, error) {
			got = eventIDs(evs)
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{e1.ID, e2.ID}, got); diff != "" {
			t.Errorf("evaluated events mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]bool{true, false, true, false}, fresh); diff != "" {
			t.Errorf("fresh mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("evaluate is not called when nothing is fresh", func(t *testing.T) {
		e := newEvent("ag", base.Add(3*time.Second))
		mustEvents(t, s, org.ID, e)
		called := false
		if _, err := s.IngestEvents(ctx, org.ID, []*aip.Event{e}, func(context.Context, []*aip.Event, *aip.EvalState) (*aip.Evaluation, error) {
			called = true
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		if called {
			t.Error("evaluate called for a batch of re-sent events")
		}
	})
	t.Run("alerts, links and windows commit with the events", func(t *testing.T) {
		e1, e2, e3 := newEvent("ag", base.Add(10*time.Second)), newEvent("ag", base.Add(11*time.Second)), newEvent("ag", base.Add(12*time.Second))
		a := newAlert(org.ID, base.Add(11*time.Second), 2, "ag", "rule", "rs")
		a.ID = aip.NewUUID()
		w := &aip.AlertWindow{Key: a.Key, AlertID: a.ID, WindowStart: base.Add(11 * time.Second), WindowEnd: base.Add(time.Hour),
			Count: 3, FirstEventAt: base.Add(10 * time.Second), LastEventAt: base.Add(12 * time.Second), Alerting: true}
		_, err := s.IngestEvents(ctx, org.ID, []*aip.Event{e1, e2, e3}, func(context.Context, []*aip.Event, *aip.EvalState) (*aip.Evaluation, error) {
			return &aip.Evaluation{
				Alerts:  []aip.NewAlert{{Alert: a, Events: []*aip.Event{e1, e2}}},
				Links:   []aip.AlertLink{{AlertID: a.ID, Events: []*aip.Event{e3, e2}, LastEventAt: e3.Time}},
				Windows: []*aip.AlertWindow{w},
			}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.FindAlert(ctx, org.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.EventCount != 3 || !got.LastEventAt.Equal(normalized(e3.Time)) {
			t.Errorf("EventCount, LastEventAt = %d, %v; want 3, %v", got.EventCount, got.LastEventAt, e3.Time)
		}
		ws, err := s.ListAlertWindows(ctx, org.ID, base)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*aip.AlertWindow{normalizedWindow(w)}, ws); diff != "" {
			t.Errorf("windows mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("a failing evaluation stores nothing", func(t *testing.T) {
		e := newEvent("ag", base.Add(20*time.Second))
		boom := errors.New("boom")
		_, err := s.IngestEvents(ctx, org.ID, []*aip.Event{e}, func(context.Context, []*aip.Event, *aip.EvalState) (*aip.Evaluation, error) {
			return nil, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("IngestEvents error = %v, want boom", err)
		}
		fresh, err := s.InsertEvents(ctx, org.ID, []*aip.Event{e})
		if err != nil || !fresh[0] {
			t.Errorf("after a failed evaluation the event is fresh = %v (err %v), want true", fresh, err)
		}
	})
	t.Run("a failing apply stores nothing", func(t *testing.T) {
		e := newEvent("ag", base.Add(30*time.Second))
		_, err := s.IngestEvents(ctx, org.ID, []*aip.Event{e}, func(context.Context, []*aip.Event, *aip.EvalState) (*aip.Evaluation, error) {
			return &aip.Evaluation{
				Windows: []*aip.AlertWindow{{Key: "k", WindowStart: base, WindowEnd: base.Add(time.Hour), Count: 1}},
				Links:   []aip.AlertLink{{AlertID: aip.NewUUID(), Events: []*aip.Event{e}, LastEventAt: e.Time}},
			}, nil
		})
		wantCode(t, err, aip.ENOTFOUND)
		fresh, err := s.InsertEvents(ctx, org.ID, []*aip.Event{e})
		if err != nil || !fresh[0] {
			t.Errorf("after a failed apply the event is fresh = %v (err %v), want true", fresh, err)
		}
		if ws, _ := s.ListAlertWindows(ctx, org.ID, base); len(ws) != 1 {
			t.Errorf("windows after a failed apply = %d, want the 1 stored before", len(ws))
		}
	})
	t.Run("cannot link another org's alert", func(t *testing.T) {
		e := newEvent("ag", base.Add(40*time.Second))
		theirs := newEvent("ag", base.Add(40*time.Second))
		mustEvents(t, s, other.ID, theirs)
		a := mustAlert(t, s, newAlert(other.ID, base, 1, "ag", "rule", "rs"), theirs)
		_, err := s.IngestEvents(ctx, org.ID, []*aip.Event{e}, func(context.Context, []*aip.Event, *aip.EvalState) (*aip.Evaluation, error) {
			return &aip.Evaluation{Links: []aip.AlertLink{{AlertID: a.ID, Events: []*aip.Event{e}, LastEventAt: e.Time}}}, nil
		})
		wantCode(t, err, aip.ENOTFOUND)
		if got, _ := s.FindAlert(ctx, other.ID, a.ID); got.EventCount != 1 {
			t.Errorf("other org's alert EventCount = %d, want 1", got.EventCount)
		}
	})
}

func normalized(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

func normalizedWindow(w *aip.AlertWindow) *aip.AlertWindow {
	cp := *w
	cp.WindowStart, cp.WindowEnd = normalized(w.WindowStart), normalized(w.WindowEnd)
	cp.FirstEventAt, cp.LastEventAt = normalized(w.FirstEventAt), normalized(w.LastEventAt)
	cp.Pending = nil
	for _, p := range w.Pending {
		cp.Pending = append(cp.Pending, aip.EventRef{ID: p.ID, Time: normalized(p.Time)})
	}
	return &cp
}

func testAlertWindows(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")
	put := func(t *testing.T, orgID string, ws ...*aip.AlertWindow) {
		t.Helper()
		e := newEvent("ag", base.Add(time.Duration(len(ws))*time.Millisecond))
		e.ID = aip.NewUUID()
		_, err := s.IngestEvents(ctx, orgID, []*aip.Event{e}, func(context.Context, []*aip.Event, *aip.EvalState) (*aip.Evaluation, error) {
			return &aip.Evaluation{Windows: ws}, nil
		})
		if err != nil {
			t.Fatalf("IngestEvents: %v", err)
		}
	}
	pending := &aip.AlertWindow{Key: "r-a-1", WindowStart: base, WindowEnd: base.Add(time.Hour), Count: 2,
		FirstEventAt: base, LastEventAt: base.Add(time.Minute),
		Pending: []aip.EventRef{{ID: "e1", Time: base}, {ID: "e2", Time: base.Add(time.Minute)}}}
	ended := &aip.AlertWindow{Key: "r-a-2", AlertID: aip.NewUUID(), WindowStart: base.Add(-2 * time.Hour),
		WindowEnd: base.Add(-time.Hour), Count: 9, FirstEventAt: base.Add(-2 * time.Hour), LastEventAt: base.Add(-90 * time.Minute),
		Alerting: false, Dismissed: true}
	put(t, org.ID, pending, ended)
	put(t, other.ID, &aip.AlertWindow{Key: "r-a-1", WindowStart: base, WindowEnd: base.Add(time.Hour), Count: 1})

	t.Run("round-trips every field and lists by end", func(t *testing.T) {
		got, err := s.ListAlertWindows(ctx, org.ID, base.Add(-3*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string]*aip.AlertWindow{}
		for _, w := range got {
			byKey[w.Key] = w
		}
		want := map[string]*aip.AlertWindow{pending.Key: normalizedWindow(pending), ended.Key: normalizedWindow(ended)}
		if diff := cmp.Diff(want, byKey); diff != "" {
			t.Errorf("windows mismatch (-want +got):\n%s", diff)
		}
		recent, err := s.ListAlertWindows(ctx, org.ID, base)
		if err != nil {
			t.Fatal(err)
		}
		if len(recent) != 1 || recent[0].Key != pending.Key {
			t.Errorf("windows ending after base = %v, want only %s", recent, pending.Key)
		}
	})
	t.Run("a later write replaces the window", func(t *testing.T) {
		next := *pending
		next.Count, next.Pending, next.Alerting, next.AlertID = 3, nil, true, aip.NewUUID()
		put(t, org.ID, &next)
		got, err := s.ListAlertWindows(ctx, org.ID, base)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*aip.AlertWindow{normalizedWindow(&next)}, got); diff != "" {
			t.Errorf("windows mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("expired windows are deleted in every org, recent ones kept", func(t *testing.T) {
		n, err := s.DeleteExpiredAlertWindows(ctx, base, 10)
		if err != nil || n != 1 {
			t.Fatalf("DeleteExpiredAlertWindows = %d, %v; want 1, nil", n, err)
		}
		got, err := s.ListAlertWindows(ctx, org.ID, time.Time{})
		if err != nil || len(got) != 1 || got[0].Key != pending.Key {
			t.Errorf("left = %v, %v; want only %s", got, err, pending.Key)
		}
		theirs, err := s.ListAlertWindows(ctx, other.ID, time.Time{})
		if err != nil || len(theirs) != 1 {
			t.Errorf("other org's windows = %v, %v; want 1", theirs, err)
		}
	})
	t.Run("rejects a non-positive limit", func(t *testing.T) {
		_, err := s.DeleteExpiredAlertWindows(ctx, base, 0)
		wantCode(t, err, aip.EINVALID)
	})
}
