package storeutil

import (
	"testing"

	"github.com/aipsec/aip"
)

func TestCheckExportObject(t *testing.T) {
	tests := []struct {
		name    string
		o       aip.ExportObject
		wantErr bool
	}{
		{"accepts events after the cursor", aip.ExportObject{Key: "k", AfterSeq: 3, LastSeq: 5, Events: 2}, false},
		{"rejects no key", aip.ExportObject{AfterSeq: 3, LastSeq: 5, Events: 2}, true},
		{"rejects an empty range", aip.ExportObject{Key: "k", AfterSeq: 5, LastSeq: 5, Events: 1}, true},
		{"rejects no events", aip.ExportObject{Key: "k", AfterSeq: 3, LastSeq: 5}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckExportObject(&tt.o)
			if tt.wantErr && aip.ErrorCode(err) != aip.EINVALID {
				t.Errorf("CheckExportObject = %v, want an EINVALID error", err)
			}
			if !tt.wantErr && err != nil {
				t.Errorf("CheckExportObject = %v, want nil", err)
			}
		})
	}
}

func TestPlanConflict(t *testing.T) {
	pending := &aip.ExportObject{Sequence: 4}
	tests := []struct {
		name string
		st   aip.ExportState
		o    aip.ExportObject
		want string
	}{
		{"names the pending object", aip.ExportState{NextObject: 4, Pending: pending}, aip.ExportObject{Sequence: 4}, "Export object 4 is pending."},
		{"names the next sequence", aip.ExportState{NextObject: 5}, aip.ExportObject{Sequence: 7}, "The next export object is 5, not 7."},
		{"names the cursor", aip.ExportState{NextObject: 5, CursorSeq: 10}, aip.ExportObject{Sequence: 5, AfterSeq: 8}, "The export cursor is at 10, not 8."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := PlanConflict(&tt.st, &tt.o)
			if aip.ErrorCode(err) != aip.ECONFLICT || aip.ErrorMessage(err) != tt.want {
				t.Errorf("PlanConflict = %v, want ECONFLICT %q", err, tt.want)
			}
		})
	}
}

func TestCompleteConflict(t *testing.T) {
	st := &aip.ExportState{NextObject: 5}
	t.Run("accepts an object completed already", func(t *testing.T) {
		if err := CompleteConflict(st, 4); err != nil {
			t.Errorf("CompleteConflict = %v, want nil", err)
		}
	})
	t.Run("refuses an object never planned", func(t *testing.T) {
		if err := CompleteConflict(st, 5); aip.ErrorCode(err) != aip.ECONFLICT {
			t.Errorf("CompleteConflict = %v, want ECONFLICT", err)
		}
	})
}
