package storeutil

import (
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

// fakeRow scans its values into the destinations by reflection, as
// database/sql does for matching types.
type fakeRow []any

func (r fakeRow) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return fmt.Errorf("scan %d columns into %d destinations", len(r), len(dest))
	}
	for i, v := range r {
		reflect.ValueOf(dest[i]).Elem().Set(reflect.ValueOf(v))
	}
	return nil
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func TestScanS3Enrollment(t *testing.T) {
	enrolled := time.Date(2026, 2, 3, 4, 5, 6, 7000000, time.UTC)
	cols := []any{"org1", "bucket", "arn", "ext", "eu-west-1", "p/", enrolled.UnixMilli(), true,
		"https://s3", "AKIA", []byte("sealed"), true}
	base := aip.S3Enrollment{OrgID: "org1", S3Bucket: "bucket", IAMRoleArn: "arn", IAMRoleArnExternalID: "ext", Region: "eu-west-1",
		Prefix: "p/", EnrolledAt: aip.Time{Time: enrolled}, Enabled: true, Endpoint: "https://s3", AccessKeyID: "AKIA",
		SecretSealed: []byte("sealed"), PathStyle: true, LastError: "boom"}
	withExport := base
	withExport.LastExportedAt = aip.Time{Time: enrolled}
	withExport.Backlog = 5
	tests := []struct {
		name        string
		row         fakeRow
		withBacklog bool
		want        *aip.S3Enrollment
	}{
		{name: "reads a never exported enrollment", row: append(append(fakeRow{}, cols...), sql.NullInt64{}, "boom"), want: &base},
		{
			name:        "reads the last export and the backlog",
			row:         append(append(fakeRow{}, cols...), sql.NullInt64{Int64: enrolled.UnixMilli(), Valid: true}, "boom", int64(5)),
			withBacklog: true,
			want:        &withExport,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScanS3Enrollment(tt.row, tt.withBacklog)
			if err != nil {
				t.Fatalf("ScanS3Enrollment: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("enrollment (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanExportState(t *testing.T) {
	tests := []struct {
		name string
		row  fakeRow
		want *aip.ExportState
	}{
		{
			name: "reads no pending object for a NULL sequence",
			row:  fakeRow{int64(10), int64(3), sql.NullInt64{}, "", int64(0), int64(0), 0},
			want: &aip.ExportState{CursorSeq: 10, NextObject: 3},
		},
		{
			name: "reads the pending object",
			row:  fakeRow{int64(10), int64(3), sql.NullInt64{Int64: 3, Valid: true}, "k", int64(10), int64(20), 4},
			want: &aip.ExportState{CursorSeq: 10, NextObject: 3, Pending: &aip.ExportObject{Sequence: 3, Key: "k", AfterSeq: 10, LastSeq: 20, Events: 4}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScanExportState(tt.row)
			if err != nil {
				t.Fatalf("ScanExportState: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScansReturnErrorsAsIs(t *testing.T) {
	row := errRow{err: sql.ErrNoRows}
	if _, err := ScanS3Enrollment(row, false); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("ScanS3Enrollment err = %v, want sql.ErrNoRows", err)
	}
	if _, err := ScanExportState(row); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("ScanExportState err = %v, want sql.ErrNoRows", err)
	}
}
