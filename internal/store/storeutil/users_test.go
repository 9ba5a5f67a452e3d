package storeutil

import (
	"database/sql"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestScanUser(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var role string
	got, err := ScanUser(fakeRow{"u", "a@example.com", "A", true, false, true, created.UnixMilli(), sql.NullInt64{}, "admin"}, &role)
	if err != nil {
		t.Fatal(err)
	}
	want := &aip.User{ID: "u", Email: "a@example.com", DisplayName: "A", Enabled: true, MFAEnabled: true, CreatedAt: created}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ScanUser (-want +got):\n%s", diff)
	}
	if role != "admin" {
		t.Errorf("extra destination = %q, want admin", role)
	}
}

func TestScanMember(t *testing.T) {
	tests := []struct {
		name     string
		lastAuth sql.NullInt64
		want     int64
	}{
		{"never authenticated is 0", sql.NullInt64{}, 0},
		{"keeps epoch milliseconds", sql.NullInt64{Int64: 1767225600000, Valid: true}, 1767225600000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScanMember(fakeRow{"u", "A", "a@example.com", tt.lastAuth, "user", true, false, true})
			if err != nil {
				t.Fatal(err)
			}
			want := &aip.Member{ID: "u", DisplayName: "A", Email: "a@example.com", LastAuthenticatedAt: tt.want,
				Role: aip.Role("user"), SSOEnabled: true, UserEnabled: true}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ScanMember (-want +got):\n%s", diff)
			}
		})
	}
}
