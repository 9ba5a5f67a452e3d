package storeutil

import (
	"database/sql"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestScanWebhook(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		row  fakeRow
		want *aip.DeliveryStatus
	}{
		{"never delivered has no status",
			fakeRow{"w", "o", "https://h", []byte("s"), created.UnixMilli(), sql.NullString{}, sql.NullInt64{}, sql.NullInt64{}, sql.NullString{}},
			nil},
		{"keeps the last delivery",
			fakeRow{"w", "o", "https://h", []byte("s"), created.UnixMilli(), sql.NullString{String: "failed", Valid: true},
				sql.NullInt64{Int64: 500, Valid: true}, sql.NullInt64{Int64: created.UnixMilli() + 1, Valid: true}, sql.NullString{String: "boom", Valid: true}},
			&aip.DeliveryStatus{State: "failed", Status: 500, At: created.Add(time.Millisecond), Error: "boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScanWebhook(tt.row)
			if err != nil {
				t.Fatal(err)
			}
			want := &aip.Webhook{ID: "w", OrgID: "o", URL: "https://h", SecretSealed: []byte("s"), CreatedAt: created, LastDelivery: tt.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ScanWebhook (-want +got):\n%s", diff)
			}
		})
	}
}
