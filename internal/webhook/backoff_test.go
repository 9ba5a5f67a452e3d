package webhook

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func fixedRand(v float64) func() float64 { return func() float64 { return v } }

func TestBackoffCeiling(t *testing.T) {
	var b Backoff
	var got []time.Duration
	for n := 1; n <= 12; n++ {
		got = append(got, b.Ceiling(n))
	}
	s := time.Second
	want := []time.Duration{10 * s, 20 * s, 40 * s, 80 * s, 160 * s, 320 * s, 640 * s, 1280 * s, 2560 * s, time.Hour, time.Hour, time.Hour}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ceilings mismatch (-want +got):\n%s", diff)
	}
	t.Run("is monotone and capped for any attempt count", func(t *testing.T) {
		prev := time.Duration(0)
		for _, n := range []int{-5, 0, 1, 2, 10, 62, 63, 64, 1000, 1 << 30} {
			c := b.Ceiling(n)
			if c < prev || c > time.Hour || c <= 0 {
				t.Fatalf("Ceiling(%d) = %s after %s", n, c, prev)
			}
			prev = c
		}
	})
}

func TestBackoffDelayJitterBounds(t *testing.T) {
	tests := []struct {
		name     string
		rand     float64
		failures int
		want     time.Duration
	}{
		{"floors a zero draw at 1s", 0, 1, time.Second},
		{"scales the ceiling by the draw", 0.5, 3, 20 * time.Second},
		{"stays under the ceiling for the top draw", 0.999, 1, 9990 * time.Millisecond},
		{"stays under the cap late", 0.999, 40, 3596400 * time.Millisecond},
		{"clamps a draw above 1", 7, 2, 20 * time.Second},
		{"clamps a negative draw", -3, 2, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Backoff{Rand: fixedRand(tt.rand)}.Delay(tt.failures)
			if got != tt.want {
				t.Errorf("Delay(%d) = %s, want %s", tt.failures, got, tt.want)
			}
		})
	}
}

func TestBackoffSpan(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seeded := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name         string
		rand         func() float64
		wantAttempts int // 0: not checked
	}{
		{"retries 24h with the smallest draws", fixedRand(0), 86401},
		{"retries 24h with the largest draws", fixedRand(0.9999999), 33},
		{"retries 24h with random draws", seeded.Float64, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Backoff{Rand: tt.rand}
			at, attempts := created, 1
			for {
				next, abandon := b.Next(created, at, attempts)
				if abandon {
					break
				}
				if d := next.Sub(at); d < time.Second || d > time.Hour {
					t.Fatalf("attempt %d: delay %s outside [1s, 1h]", attempts, d)
				}
				at, attempts = next, attempts+1
			}
			if span := at.Sub(created); span < 24*time.Hour {
				t.Errorf("abandoned after %s, want at least 24h", span)
			}
			if tt.wantAttempts != 0 && attempts != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", attempts, tt.wantAttempts)
			}
		})
	}
	t.Run("abandons a failure exactly at 24h", func(t *testing.T) {
		if _, abandon := (Backoff{}).Next(created, created.Add(24*time.Hour), 30); !abandon {
			t.Error("Next() kept retrying at 24h")
		}
	})
	t.Run("retries a failure just before 24h", func(t *testing.T) {
		if _, abandon := (Backoff{}).Next(created, created.Add(24*time.Hour-time.Nanosecond), 30); abandon {
			t.Error("Next() abandoned before 24h")
		}
	})
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"reads delay seconds", "120", 2 * time.Minute, true},
		{"reads an HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"raises zero to the floor", "0", time.Second, true},
		{"raises a past date to the floor", now.Add(-time.Hour).Format(http.TimeFormat), time.Second, true},
		{"caps a long delay", "86400", time.Hour, true},
		{"caps an absurd delay", "99999999999999999", time.Hour, true},
		{"ignores a negative delay", "-5", 0, false},
		{"ignores garbage", "soon", 0, false},
		{"ignores absence", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			got, ok := Backoff{}.retryAfter(h, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tt.value, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
