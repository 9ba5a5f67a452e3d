package storeutil

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestWindowState(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	end := t0.Add(time.Hour)
	tests := []struct {
		name      string
		in        *aip.AlertWindow
		wantState string
	}{
		{
			name:      "round-trips a window below the threshold",
			in:        &aip.AlertWindow{Key: "k", WindowStart: t0, WindowEnd: end, Count: 2, FirstEventAt: t0, LastEventAt: t0.Add(time.Minute), Pending: []aip.EventRef{{ID: "e1", Time: t0}, {ID: "e2", Time: t0.Add(time.Minute)}}},
			wantState: `{"start":1772359200000,"count":2,"first":1772359200000,"last":1772359260000,"pending":[{"id":"e1","t":1772359200000},{"id":"e2","t":1772359260000}]}`,
		},
		{
			name:      "round-trips an alerting dismissed window",
			in:        &aip.AlertWindow{Key: "k", AlertID: "a1", WindowStart: t0, WindowEnd: end, Count: 9, FirstEventAt: t0, LastEventAt: t0, Alerting: true, Dismissed: true},
			wantState: `{"alertId":"a1","start":1772359200000,"count":9,"first":1772359200000,"last":1772359200000,"alerting":true,"dismissed":true}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, err := EncodeWindowState(tt.in)
			if err != nil {
				t.Fatalf("EncodeWindowState: %v", err)
			}
			if got := string(state); got != tt.wantState {
				t.Errorf("state = %s, want %s", got, tt.wantState)
			}
			got, err := DecodeWindowState(tt.in.Key, tt.in.WindowEnd, state)
			if err != nil {
				t.Fatalf("DecodeWindowState: %v", err)
			}
			if diff := cmp.Diff(tt.in, got); diff != "" {
				t.Errorf("window (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeWindowStateRejectsMalformedJSON(t *testing.T) {
	if _, err := DecodeWindowState("k", time.Time{}, []byte(`{"count":`)); err == nil {
		t.Error("DecodeWindowState accepted truncated JSON")
	}
}
