package webhook

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMemoryOutbox(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	newOutbox := func(t *testing.T) *MemoryOutbox {
		t.Helper()
		var m MemoryOutbox
		for _, d := range []Delivery{
			{ID: "c", CreatedAt: t0.Add(2 * time.Second)},
			{ID: "a", CreatedAt: t0},
			{ID: "b", CreatedAt: t0.Add(time.Second)},
			{ID: "later", CreatedAt: t0.Add(time.Hour)},
		} {
			if err := m.Enqueue(d); err != nil {
				t.Fatalf("Enqueue(%s) error = %v", d.ID, err)
			}
		}
		return &m
	}
	ids := func(ds []Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}

	t.Run("returns due deliveries oldest first up to limit", func(t *testing.T) {
		m := newOutbox(t)
		got, err := m.Due(ctx, t0.Add(time.Minute), 2)
		if err != nil {
			t.Fatalf("Due() error = %v", err)
		}
		if diff := cmp.Diff([]string{"a", "b"}, ids(got)); diff != "" {
			t.Errorf("Due() mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("orders by next attempt after a failure", func(t *testing.T) {
		m := newOutbox(t)
		if err := m.MarkFailed(ctx, "a", t0, 500, "boom", t0.Add(30*time.Second)); err != nil {
			t.Fatalf("MarkFailed() error = %v", err)
		}
		got, _ := m.Due(ctx, t0.Add(time.Minute), 10)
		if diff := cmp.Diff([]string{"b", "c", "a"}, ids(got)); diff != "" {
			t.Errorf("Due() mismatch (-want +got):\n%s", diff)
		}
		rec, _ := m.Get("a")
		want := Record{Delivery: Delivery{ID: "a", CreatedAt: t0, Attempts: 1}, State: StatePending,
			NextAt: t0.Add(30 * time.Second), LastAttemptAt: t0, LastStatus: 500, LastError: "boom"}
		if diff := cmp.Diff(want, rec); diff != "" {
			t.Errorf("Get() mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("drops settled deliveries from due", func(t *testing.T) {
		m := newOutbox(t)
		if err := m.MarkDelivered(ctx, "a", t0, 200); err != nil {
			t.Fatalf("MarkDelivered() error = %v", err)
		}
		if err := m.MarkAbandoned(ctx, "b", t0, 410, "gone"); err != nil {
			t.Fatalf("MarkAbandoned() error = %v", err)
		}
		got, _ := m.Due(ctx, t0.Add(time.Minute), 10)
		if diff := cmp.Diff([]string{"c"}, ids(got)); diff != "" {
			t.Errorf("Due() mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("rejects marking unknown or settled deliveries", func(t *testing.T) {
		m := newOutbox(t)
		_ = m.MarkDelivered(ctx, "a", t0, 200)
		for name, err := range map[string]error{
			"unknown":   m.MarkDelivered(ctx, "nope", t0, 200),
			"delivered": m.MarkFailed(ctx, "a", t0, 500, "x", t0),
		} {
			if !errors.Is(err, ErrUnknownDelivery) {
				t.Errorf("%s: error = %v, want ErrUnknownDelivery", name, err)
			}
		}
	})
	t.Run("rejects duplicate and empty ids", func(t *testing.T) {
		m := newOutbox(t)
		if err := m.Enqueue(Delivery{ID: "a"}); err == nil {
			t.Error("Enqueue(duplicate) succeeded")
		}
		if err := m.Enqueue(Delivery{}); err == nil {
			t.Error("Enqueue(empty id) succeeded")
		}
	})
	t.Run("isolates stored bytes from callers", func(t *testing.T) {
		var m MemoryOutbox
		body := []byte("original")
		_ = m.Enqueue(Delivery{ID: "x", Body: body, CreatedAt: t0})
		body[0] = 'X'
		got, _ := m.Due(ctx, t0, 1)
		got[0].Body[1] = 'X'
		rec, _ := m.Get("x")
		if string(rec.Body) != "original" {
			t.Errorf("stored body = %q, want %q", rec.Body, "original")
		}
	})
}
