package ratelimit_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip/internal/ratelimit"
)

func TestLimitConstructors(t *testing.T) {
	tests := []struct {
		name string
		got  ratelimit.Limit
		want ratelimit.Limit
	}{
		{"per second", ratelimit.PerSecond(5), ratelimit.Limit{Rate: 5, Period: time.Second, Burst: 5}},
		{"per minute", ratelimit.PerMinute(200), ratelimit.Limit{Rate: 200, Period: time.Minute, Burst: 200}},
		{"per hour", ratelimit.PerHour(3), ratelimit.Limit{Rate: 3, Period: time.Hour, Burst: 3}},
	}
	for _, tc := range tests {
		t.Run("builds "+tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("limit mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLimitString(t *testing.T) {
	tests := []struct {
		name string
		l    ratelimit.Limit
		want string
	}{
		{"names minutes", ratelimit.PerMinute(200), "200 req/m (burst 200)"},
		{"names seconds", ratelimit.PerSecond(10), "10 req/s (burst 10)"},
		{"names hours", ratelimit.PerHour(1), "1 req/h (burst 1)"},
		{"spells other periods", ratelimit.Limit{Rate: 3, Period: 1500 * time.Millisecond, Burst: 1}, "3 req/1.5s (burst 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLimitIsZero(t *testing.T) {
	if !(ratelimit.Limit{}).IsZero() {
		t.Error("zero Limit: IsZero() = false, want true")
	}
	if ratelimit.PerMinute(1).IsZero() {
		t.Error("PerMinute(1): IsZero() = true, want false")
	}
}

func TestLimitValidate(t *testing.T) {
	tests := []struct {
		name    string
		l       ratelimit.Limit
		wantErr bool
	}{
		{"accepts the org limit", ratelimit.PerMinute(200), false},
		{"accepts the IP limit", ratelimit.PerMinute(1000), false},
		{"accepts a burst above the rate", ratelimit.Limit{Rate: 1, Period: time.Second, Burst: 100}, false},
		{"accepts one request per nanosecond", ratelimit.Limit{Rate: 1, Period: 1, Burst: 1}, false},
		{"rejects the zero limit", ratelimit.Limit{}, true},
		{"rejects a zero rate", ratelimit.Limit{Rate: 0, Period: time.Second, Burst: 1}, true},
		{"rejects a negative rate", ratelimit.Limit{Rate: -5, Period: time.Second, Burst: 1}, true},
		{"rejects a zero period", ratelimit.Limit{Rate: 1, Burst: 1}, true},
		{"rejects a negative period", ratelimit.Limit{Rate: 1, Period: -time.Minute, Burst: 1}, true},
		{"rejects a zero burst", ratelimit.Limit{Rate: 1, Period: time.Second}, true},
		{"rejects a negative burst", ratelimit.Limit{Rate: 1, Period: time.Second, Burst: -1}, true},
		{"rejects more than one request per nanosecond", ratelimit.Limit{Rate: 2, Period: 1, Burst: 1}, true},
		{"rejects a burst window that overflows", ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: math.MaxInt}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.l.Validate()
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Errorf("Validate(%v) = %v, want error: %t", tc.l, err, tc.wantErr)
			}
		})
	}
}

func TestResultHeaders(t *testing.T) {
	type headers struct{ Limit, Remaining, ResetMs, RetryAfterSec string }
	org := ratelimit.PerMinute(200)
	tests := []struct {
		name string
		r    ratelimit.Result
		want headers
	}{
		{
			"reports no wait when allowed",
			ratelimit.Result{Limit: org, Allowed: 1, Remaining: 199, RetryAfter: -1, ResetAfter: 300 * time.Millisecond},
			headers{"200", "199", "0", "0"},
		},
		{
			"reports no wait when allowed with nothing left",
			ratelimit.Result{Limit: org, Allowed: 1, Remaining: 0, RetryAfter: -1, ResetAfter: time.Minute},
			headers{"200", "0", "0", "0"},
		},
		{
			"reports the wait in milliseconds when denied",
			ratelimit.Result{Limit: org, Allowed: 0, Remaining: 0, RetryAfter: 300 * time.Millisecond, ResetAfter: time.Minute},
			headers{"200", "0", "300", "1"},
		},
		{
			"rounds partial milliseconds and seconds up",
			ratelimit.Result{Limit: org, RetryAfter: 1500*time.Millisecond + time.Microsecond, ResetAfter: time.Minute},
			headers{"200", "0", "1501", "2"},
		},
		{
			"keeps whole seconds exact",
			ratelimit.Result{Limit: org, RetryAfter: 2 * time.Second, ResetAfter: time.Minute},
			headers{"200", "0", "2000", "2"},
		},
		{
			"asks for at least one second and millisecond",
			ratelimit.Result{Limit: org, RetryAfter: time.Nanosecond, ResetAfter: time.Nanosecond},
			headers{"200", "0", "1", "1"},
		},
		{
			"reports a lockout",
			ratelimit.Result{Limit: ratelimit.PerMinute(1000), RetryAfter: 15 * time.Minute, ResetAfter: 15 * time.Minute},
			headers{"1000", "0", "900000", "900"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got headers
			got.Limit, got.Remaining, got.ResetMs, got.RetryAfterSec = tc.r.Headers()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Headers() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
