package storeutil

import (
	"database/sql"
	"testing"
	"time"
)

func TestCeilMillis(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   time.Time
		want int64
	}{
		{name: "keeps a whole millisecond", in: base.Add(7 * time.Millisecond), want: base.UnixMilli() + 7},
		{name: "rounds a fraction up", in: base.Add(7*time.Millisecond + time.Nanosecond), want: base.UnixMilli() + 8},
		{name: "rounds a fraction before the epoch up", in: time.Unix(0, -1500000), want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CeilMillis(tt.in); got != tt.want {
				t.Errorf("CeilMillis(%v) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestMillis(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{name: "normalizes to UTC", in: time.Date(2026, 1, 2, 4, 0, 0, 0, loc), want: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)},
		{name: "truncates below a millisecond", in: time.Date(2026, 1, 2, 3, 0, 0, 1999999, time.UTC), want: time.Date(2026, 1, 2, 3, 0, 0, 1000000, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("Normalize = %v, want %v", got, tt.want)
			}
			if got := FromMillis(ToMillis(tt.in)); !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("FromMillis(ToMillis) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFromNullMillis(t *testing.T) {
	tests := []struct {
		name string
		in   sql.NullInt64
		want time.Time
	}{
		{name: "reads NULL as the zero time", in: sql.NullInt64{}, want: time.Time{}},
		{name: "reads a value as UTC", in: sql.NullInt64{Int64: 1500, Valid: true}, want: time.UnixMilli(1500).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromNullMillis(tt.in); got != tt.want {
				t.Errorf("FromNullMillis = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNowIsStoredPrecision(t *testing.T) {
	got := Now()
	if got.Location() != time.UTC || got.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("Now() = %v, want UTC whole milliseconds", got)
	}
}
