package aip

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// utc is a terse time.Date in UTC for the tables below.
func utc(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

func TestParseTime(t *testing.T) {
	ms := int(time.Millisecond)
	tests := []struct {
		name      string
		in        string
		wantStart time.Time
		wantEnd   time.Time
	}{
		{"accepts a date as its whole day", "2022-09-05", utc(2022, 9, 5, 0, 0, 0, 0), utc(2022, 9, 6, 0, 0, 0, 0)},
		{"accepts a date in Z", "2022-09-05Z", utc(2022, 9, 5, 0, 0, 0, 0), utc(2022, 9, 6, 0, 0, 0, 0)},
		{"accepts a date with an offset as that zone's day", "2022-09-05+02:00", utc(2022, 9, 4, 22, 0, 0, 0), utc(2022, 9, 5, 22, 0, 0, 0)},
		{"accepts an hour", "2022-09-05T15", utc(2022, 9, 5, 15, 0, 0, 0), utc(2022, 9, 5, 16, 0, 0, 0)},
		{"accepts an hour with Z", "2022-09-05T15Z", utc(2022, 9, 5, 15, 0, 0, 0), utc(2022, 9, 5, 16, 0, 0, 0)},
		{"accepts an hour with a negative offset", "2022-09-05T15-05:30", utc(2022, 9, 5, 20, 30, 0, 0), utc(2022, 9, 5, 21, 30, 0, 0)},
		{"accepts a minute", "2022-09-05T15:04", utc(2022, 9, 5, 15, 4, 0, 0), utc(2022, 9, 5, 15, 5, 0, 0)},
		{"accepts a minute with an offset", "2022-09-05T15:04+01:00", utc(2022, 9, 5, 14, 4, 0, 0), utc(2022, 9, 5, 14, 5, 0, 0)},
		{"accepts a second", "2022-09-05T15:04:05", utc(2022, 9, 5, 15, 4, 5, 0), utc(2022, 9, 5, 15, 4, 6, 0)},
		{"accepts a ruby iso8601 second", "2017-12-04T16:00:00Z", utc(2017, 12, 4, 16, 0, 0, 0), utc(2017, 12, 4, 16, 0, 1, 0)},
		{"accepts a python isoformat offset", "2022-03-22T14:03:07+00:00", utc(2022, 3, 22, 14, 3, 7, 0), utc(2022, 3, 22, 14, 3, 8, 0)},
		{"accepts -00:00 as UTC", "2022-03-22T14:03:07-00:00", utc(2022, 3, 22, 14, 3, 7, 0), utc(2022, 3, 22, 14, 3, 8, 0)},
		{"accepts one fractional digit as a tenth", "2022-09-05T15:04:05.4", utc(2022, 9, 5, 15, 4, 5, 400*ms), utc(2022, 9, 5, 15, 4, 5, 500*ms)},
		{"accepts two fractional digits as a hundredth", "2022-09-05T15:04:05.45", utc(2022, 9, 5, 15, 4, 5, 450*ms), utc(2022, 9, 5, 15, 4, 5, 460*ms)},
		{"accepts milliseconds", "2020-07-27T20:41:29.454Z", utc(2020, 7, 27, 20, 41, 29, 454*ms), utc(2020, 7, 27, 20, 41, 29, 455*ms)},
		{"accepts python microseconds as their millisecond", "2022-03-22T14:03:07.123456", utc(2022, 3, 22, 14, 3, 7, 123*ms), utc(2022, 3, 22, 14, 3, 7, 124*ms)},
		{"accepts nanoseconds as their millisecond", "2022-03-22T14:03:07.999999999Z", utc(2022, 3, 22, 14, 3, 7, 999*ms), utc(2022, 3, 22, 14, 3, 8, 0)},
		{"accepts a fraction with an offset", "2022-03-22T14:03:07.5+05:45", utc(2022, 3, 22, 8, 18, 7, 500*ms), utc(2022, 3, 22, 8, 18, 7, 600*ms)},
		{"accepts lower-case t and z", "2022-09-05t15:04:05z", utc(2022, 9, 5, 15, 4, 5, 0), utc(2022, 9, 5, 15, 4, 6, 0)},
		{"accepts 29 February of a leap year", "2024-02-29", utc(2024, 2, 29, 0, 0, 0, 0), utc(2024, 3, 1, 0, 0, 0, 0)},
		{"accepts the last day of a year", "2022-12-31T23:59:59", utc(2022, 12, 31, 23, 59, 59, 0), utc(2023, 1, 1, 0, 0, 0, 0)},
		{"accepts year 0001", "0001-01-01", utc(1, 1, 1, 0, 0, 0, 0), utc(1, 1, 2, 0, 0, 0, 0)},
		{"accepts year 9999", "9999-12-31", utc(9999, 12, 31, 0, 0, 0, 0), utc(10000, 1, 1, 0, 0, 0, 0)},
		{"accepts the largest offsets", "2022-09-05T00:00+23:59", utc(2022, 9, 4, 0, 1, 0, 0), utc(2022, 9, 4, 0, 2, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotStart, gotEnd, err := ParseTime(tt.in)
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.wantStart, gotStart); diff != "" {
				t.Errorf("start (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEnd, gotEnd); diff != "" {
				t.Errorf("end (-want +got):\n%s", diff)
			}
			if gotStart.Location() != time.UTC || gotEnd.Location() != time.UTC {
				t.Errorf("locations = %v, %v; want UTC", gotStart.Location(), gotEnd.Location())
			}
		})
	}
}

func TestParseTimeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"rejects empty", ""},
		{"rejects words", "xyz"},
		{"rejects 30 February", "2022-02-30"},
		{"rejects 29 February of a common year", "2023-02-29"},
		{"rejects 31 April", "2022-04-31"},
		{"rejects day 0", "2022-09-00"},
		{"rejects month 0", "2022-00-05"},
		{"rejects month 13", "2022-13-05"},
		{"rejects year 0000", "0000-01-01"},
		{"rejects a five-digit year", "10000-01-01"},
		{"rejects a negative year", "-2022-01-01"},
		{"rejects a two-digit year", "22-09-05"},
		{"rejects one-digit month and day", "2022-9-5"},
		{"rejects hour 24", "2022-09-05T24"},
		{"rejects hour 24 with minutes", "2022-09-05T24:00"},
		{"rejects minute 60", "2022-09-05T15:60"},
		{"rejects second 60", "2022-09-05T15:04:60"},
		{"rejects a one-digit hour", "2022-09-05T5"},
		{"rejects a dangling T", "2022-09-05T"},
		{"rejects a dangling colon", "2022-09-05T15:"},
		{"rejects a dangling decimal point", "2022-09-05T15:04:05."},
		{"rejects ten fractional digits", "2022-09-05T15:04:05.1234567890"},
		{"rejects a fraction on minutes", "2022-09-05T15:04.5"},
		{"rejects a fraction on hours", "2022-09-05T15.5"},
		{"rejects a comma decimal mark", "2022-09-05T15:04:05,5"},
		{"rejects offset +25:00", "2022-09-05T15:04:05+25:00"},
		{"rejects offset minutes 60", "2022-09-05T15:04:05+01:60"},
		{"rejects an offset without colon", "2022-09-05T15:04:05+0200"},
		{"rejects an hour-only offset", "2022-09-05T15:04:05+02"},
		{"rejects offset seconds", "2022-09-05T15:04:05+02:00:00"},
		{"rejects Z followed by an offset", "2022-09-05T15:04:05Z+02:00"},
		{"rejects a space separator", "2022-09-05 15:04:05"},
		{"rejects a space for an unencoded plus", "2022-09-05T15:04:05 02:00"},
		{"rejects leading space", " 2022-09-05"},
		{"rejects trailing space", "2022-09-05 "},
		{"rejects trailing newline", "2022-09-05\n"},
		{"rejects a zone name", "2022-09-05T15:04:05UTC"},
		{"rejects slashes", "2022/09/05"},
		{"rejects a basic-format date", "20220905"},
		{"rejects epoch milliseconds", "1662336000000"},
		{"rejects non-ASCII digits", "２０２２-09-05"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, err := ParseTime(tt.in)
			if err == nil {
				t.Fatalf("ParseTime(%q) = %v, %v; want an error", tt.in, start, end)
			}
		})
	}
}

func TestParseTimeRange(t *testing.T) {
	tests := []struct {
		name        string
		from, until string
		want        TimeRange
	}{
		{"leaves both bounds open when absent", "", "", TimeRange{}},
		{"sets only From", "2022-09-01", "", TimeRange{From: utc(2022, 9, 1, 0, 0, 0, 0)}},
		{"covers the whole until day", "", "2022-09-05", TimeRange{Until: utc(2022, 9, 6, 0, 0, 0, 0)}},
		{"ends an until hour at the next hour", "", "2022-09-05T15", TimeRange{Until: utc(2022, 9, 5, 16, 0, 0, 0)}},
		{"ends an until minute at the next minute", "", "2022-09-05T15:04", TimeRange{Until: utc(2022, 9, 5, 15, 5, 0, 0)}},
		{"ends an until second at the next second", "", "2022-09-05T15:04:05", TimeRange{Until: utc(2022, 9, 5, 15, 4, 6, 0)}},
		{"ends an until millisecond at the next millisecond", "", "2022-09-05T15:04:05.250Z", TimeRange{Until: utc(2022, 9, 5, 15, 4, 5, 251*int(time.Millisecond))}},
		{"ends an offset until day at that zone's midnight", "", "2022-09-05-04:00", TimeRange{Until: utc(2022, 9, 6, 4, 0, 0, 0)}},
		{"ends an offset until hour an hour later", "", "2022-09-05T15+02:00", TimeRange{Until: utc(2022, 9, 5, 14, 0, 0, 0)}},
		{"accepts the upstream sample", "2018-11-01", "2018-11-05", TimeRange{From: utc(2018, 11, 1, 0, 0, 0, 0), Until: utc(2018, 11, 6, 0, 0, 0, 0)}},
		{"accepts a single day as from and until", "2022-09-05", "2022-09-05", TimeRange{From: utc(2022, 9, 5, 0, 0, 0, 0), Until: utc(2022, 9, 6, 0, 0, 0, 0)}},
		{"accepts a single second as from and until", "2022-09-05T15:04:05", "2022-09-05T15:04:05", TimeRange{From: utc(2022, 9, 5, 15, 4, 5, 0), Until: utc(2022, 9, 5, 15, 4, 6, 0)}},
		{"accepts a single microsecond value as its millisecond", "2022-09-05T15:04:05.123456", "2022-09-05T15:04:05.123456", TimeRange{From: utc(2022, 9, 5, 15, 4, 5, 123*int(time.Millisecond)), Until: utc(2022, 9, 5, 15, 4, 5, 124*int(time.Millisecond))}},
		{"accepts until inside the from day", "2022-09-05", "2022-09-05T00", TimeRange{From: utc(2022, 9, 5, 0, 0, 0, 0), Until: utc(2022, 9, 5, 1, 0, 0, 0)}},
		{"compares across offsets", "2022-09-05T10:00+02:00", "2022-09-05T08:30Z", TimeRange{From: utc(2022, 9, 5, 8, 0, 0, 0), Until: utc(2022, 9, 5, 8, 31, 0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimeRange(tt.from, tt.until)
			if err != nil {
				t.Fatalf("ParseTimeRange(%q, %q): %v", tt.from, tt.until, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("range (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTimeRangeRejects(t *testing.T) {
	tests := []struct {
		name        string
		from, until string
		wantMessage string
	}{
		{
			name: "rejects an unparsable from", from: "xyz",
			wantMessage: `invalid "from" parameter "xyz": accepted forms are yyyy-mm-dd, yyyy-mm-ddThh, yyyy-mm-ddThh:mm, yyyy-mm-ddThh:mm:ss (optional fractional seconds and Z or ±hh:mm; UTC when no zone)`,
		},
		{
			name: "rejects an unparsable until", from: "2022-09-01", until: "2022-02-30",
			wantMessage: `invalid "until" parameter "2022-02-30": accepted forms are yyyy-mm-dd, yyyy-mm-ddThh, yyyy-mm-ddThh:mm, yyyy-mm-ddThh:mm:ss (optional fractional seconds and Z or ±hh:mm; UTC when no zone)`,
		},
		{
			name: "hints at an unencoded plus", from: "2022-09-05T15:04:05 02:00",
			wantMessage: `invalid "from" parameter "2022-09-05T15:04:05 02:00": accepted forms are yyyy-mm-dd, yyyy-mm-ddThh, yyyy-mm-ddThh:mm, yyyy-mm-ddThh:mm:ss (optional fractional seconds and Z or ±hh:mm; UTC when no zone) (a "+" in a URL must be sent as %2B)`,
		},
		{
			name: "rejects until before from", from: "2022-09-05", until: "2022-09-04",
			wantMessage: `invalid "until" parameter "2022-09-04": it is before "from" ("2022-09-05")`,
		},
		{
			name: "rejects until ending where from starts", from: "2022-09-05T16", until: "2022-09-05T15",
			wantMessage: `invalid "until" parameter "2022-09-05T15": it is before "from" ("2022-09-05T16")`,
		},
		{
			name: "rejects until before from across offsets", from: "2022-09-05T10:00Z", until: "2022-09-05T11:00+02:00",
			wantMessage: `invalid "until" parameter "2022-09-05T11:00+02:00": it is before "from" ("2022-09-05T10:00Z")`,
		},
		{
			name: "cuts a huge value short in the message", from: strings.Repeat("9", 100),
			wantMessage: `invalid "from" parameter "` + strings.Repeat("9", 64) + `"…: accepted forms are yyyy-mm-dd, yyyy-mm-ddThh, yyyy-mm-ddThh:mm, yyyy-mm-ddThh:mm:ss (optional fractional seconds and Z or ±hh:mm; UTC when no zone)`,
		},
		{
			name: "never cuts a character in half", from: strings.Repeat("9", 63) + "é",
			wantMessage: `invalid "from" parameter "` + strings.Repeat("9", 63) + `"…: accepted forms are yyyy-mm-dd, yyyy-mm-ddThh, yyyy-mm-ddThh:mm, yyyy-mm-ddThh:mm:ss (optional fractional seconds and Z or ±hh:mm; UTC when no zone)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimeRange(tt.from, tt.until)
			var aerr *Error
			if !errors.As(err, &aerr) {
				t.Fatalf("ParseTimeRange(%q, %q) = %v, %v; want an *Error", tt.from, tt.until, got, err)
			}
			if diff := cmp.Diff(&Error{Code: EINVALID, Message: tt.wantMessage}, aerr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithDefaultWindow(t *testing.T) {
	now := utc(2022, 9, 30, 12, 0, 0, 0)
	window := 30 * 24 * time.Hour
	from, until := utc(2022, 9, 1, 0, 0, 0, 0), utc(2022, 9, 10, 0, 0, 0, 0)
	tests := []struct {
		name string
		in   TimeRange
		want TimeRange
	}{
		{"uses the window before now when neither is set", TimeRange{}, TimeRange{From: now.Add(-window), Until: now}},
		{"runs from until now when only from is set", TimeRange{From: from}, TimeRange{From: from, Until: now}},
		{"runs a window up to until when only until is set", TimeRange{Until: until}, TimeRange{From: until.Add(-window), Until: until}},
		{"keeps both bounds when both are set", TimeRange{From: from, Until: until}, TimeRange{From: from, Until: until}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.WithDefaultWindow(now, window)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("range (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTimeRangeContains(t *testing.T) {
	from, until := utc(2022, 9, 5, 0, 0, 0, 0), utc(2022, 9, 6, 0, 0, 0, 0)
	tests := []struct {
		name string
		r    TimeRange
		t    time.Time
		want bool
	}{
		{"includes From", TimeRange{From: from, Until: until}, from, true},
		{"includes the last millisecond", TimeRange{From: from, Until: until}, until.Add(-time.Millisecond), true},
		{"excludes Until", TimeRange{From: from, Until: until}, until, false},
		{"excludes just before From", TimeRange{From: from, Until: until}, from.Add(-time.Millisecond), false},
		{"includes the far past when From is open", TimeRange{Until: until}, utc(1, 1, 1, 0, 0, 0, 0), true},
		{"includes the far future when Until is open", TimeRange{From: from}, utc(9999, 1, 1, 0, 0, 0, 0), true},
		{"includes anything when unbounded", TimeRange{}, from, true},
		{"compares instants, not zones", TimeRange{From: from, Until: until}, from.In(time.FixedZone("", -3600)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Contains(tt.t); got != tt.want {
				t.Errorf("%+v.Contains(%v) = %v; want %v", tt.r, tt.t, got, tt.want)
			}
		})
	}
}

func FuzzParseTimeRange(f *testing.F) {
	for _, seed := range [][2]string{
		{"", ""},
		{"2022-09-05", "2022-09-05"},
		{"2022-09-05T15", "2022-09-05T15:04"},
		{"2022-03-22T14:03:07.123456", "2022-03-22T14:03:07.123456+05:30"},
		{"2017-12-04T16:00:00Z", "2017-12-04t16:00:00z"},
		{"0001-01-01T00:00+23:59", "9999-12-31T23:59:59.999999999-23:59"},
		{"2022-02-30", "2022-09-05T24"},
		{"xyz", "2022-09-05 15:04:05"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, from, until string) {
		r, err := ParseTimeRange(from, until)
		if err != nil {
			var aerr *Error
			if !errors.As(err, &aerr) || aerr.Code != EINVALID {
				t.Fatalf("ParseTimeRange(%q, %q) error = %v; want an EINVALID *Error", from, until, err)
			}
			return
		}
		if !r.From.IsZero() && !r.Until.IsZero() && !r.From.Before(r.Until) {
			t.Fatalf("ParseTimeRange(%q, %q) = %+v; want From < Until", from, until, r)
		}
		for _, v := range []string{from, until} {
			if v == "" {
				continue
			}
			start, end, err := ParseTime(v)
			if err != nil {
				t.Fatalf("ParseTime(%q) failed after ParseTimeRange accepted it: %v", v, err)
			}
			if end.Sub(start) < time.Millisecond || start.Nanosecond()%int(time.Millisecond) != 0 {
				t.Fatalf("ParseTime(%q) = %v, %v; want millisecond-aligned, at least 1 ms apart", v, start, end)
			}
		}
	})
}
