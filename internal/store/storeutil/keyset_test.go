package storeutil

import (
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func TestAppendNewestFirst(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ms := func(t time.Time) int64 { return t.UnixMilli() }
	tests := []struct {
		name     string
		r        aip.TimeRange
		after    *aip.Cursor
		wantSQL  string
		wantArgs []any
	}{
		{
			name:     "no bounds",
			wantSQL:  " ORDER BY t DESC, id DESC LIMIT ?",
			wantArgs: []any{10},
		},
		{
			name:     "range alone",
			r:        aip.TimeRange{From: t0, Until: t0.Add(time.Hour)},
			wantSQL:  " AND t >= ? AND t < ? ORDER BY t DESC, id DESC LIMIT ?",
			wantArgs: []any{ms(t0), ms(t0.Add(time.Hour)), 10},
		},
		{
			name:     "cursor below until wins",
			r:        aip.TimeRange{Until: t0.Add(time.Hour)},
			after:    &aip.Cursor{Time: t0, ID: "b"},
			wantSQL:  " AND (t, id) < (?, ?) ORDER BY t DESC, id DESC LIMIT ?",
			wantArgs: []any{ms(t0), "b", 10},
		},
		{
			name:     "until below cursor wins as (until, empty id)",
			r:        aip.TimeRange{Until: t0},
			after:    &aip.Cursor{Time: t0.Add(time.Hour), ID: "b"},
			wantSQL:  " AND (t, id) < (?, ?) ORDER BY t DESC, id DESC LIMIT ?",
			wantArgs: []any{ms(t0), "", 10},
		},
		{
			name:     "until equal to cursor time excludes that millisecond",
			r:        aip.TimeRange{Until: t0},
			after:    &aip.Cursor{Time: t0, ID: "b"},
			wantSQL:  " AND (t, id) < (?, ?) ORDER BY t DESC, id DESC LIMIT ?",
			wantArgs: []any{ms(t0), "", 10},
		},
		{
			name:     "sub-millisecond until rounds up",
			r:        aip.TimeRange{Until: t0.Add(time.Microsecond)},
			wantSQL:  " AND t < ? ORDER BY t DESC, id DESC LIMIT ?",
			wantArgs: []any{ms(t0) + 1, 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q strings.Builder
			args := AppendNewestFirst(&q, nil, "t", "id", tt.r, tt.after, 10)
			if got := q.String(); got != tt.wantSQL {
				t.Errorf("SQL = %q, want %q", got, tt.wantSQL)
			}
			if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendRange(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var q strings.Builder
	args := AppendRange(&q, []any{"org"}, "t", aip.TimeRange{From: t0, Until: t0.Add(time.Second)})
	if got, want := q.String(), " AND t >= ? AND t < ?"; got != want {
		t.Errorf("SQL = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]any{"org", t0.UnixMilli(), t0.UnixMilli() + 1000}, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}
