package aip

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TimeRange bounds a listing in time. From is inclusive, Until exclusive;
// a zero value means unbounded on that side.
type TimeRange struct {
	From  time.Time
	Until time.Time
}

// acceptedTimeForms is quoted in every "unparsable from/until" message so a
// client learns the grammar from the error alone.
const acceptedTimeForms = "accepted forms are yyyy-mm-dd, yyyy-mm-ddThh, yyyy-mm-ddThh:mm, yyyy-mm-ddThh:mm:ss " +
	"(optional fractional seconds and Z or ±hh:mm; UTC when no zone)"

// ParseTime parses one from/until value. Accepted: yyyy-mm-dd, yyyy-mm-ddThh,
// yyyy-mm-ddThh:mm, yyyy-mm-ddThh:mm:ss, the last optionally with 1..9
// fractional digits after a '.', each optionally followed by Z or ±hh:mm (no
// zone means UTC). Years run 0001..9999, hours 00..23, minutes and seconds
// 00..59 (no leap second), offsets up to ±23:59; the date must exist.
//
// The separator T and the zone Z may also be written t and z: RFC 3339 §5.6
// allows both cases and some clients lower-case whole URLs. Anything else is
// rejected, in particular spaces (an unencoded '+' in a URL arrives as one),
// commas as decimal marks and offsets without a colon.
//
// It returns the start of the value and the exclusive end of its unit, both
// in UTC: a date lasts 24 h in its zone, an hour 1 h, a minute 1 min, a second
// 1 s, and a fractional second one unit of its last digit but never less than
// 1 ms. Timestamps are stored at millisecond precision, so digits beyond the
// third are dropped: "…:07.123456" names the millisecond 07.123, which is what
// both a from and an until of that value select.
func ParseTime(s string) (start, end time.Time, err error) {
	p := timeParser{s: s}
	year := p.number(4)
	p.expect('-')
	month := p.number(2)
	p.expect('-')
	day := p.number(2)
	var hour, minute, sec, nsec int
	unit := 24 * time.Hour
	if p.accept('T') || p.accept('t') {
		hour, unit = p.number(2), time.Hour
		if p.accept(':') {
			minute, unit = p.number(2), time.Minute
			if p.accept(':') {
				sec, unit = p.number(2), time.Second
				if p.accept('.') {
					nsec, unit = p.fraction()
				}
			}
		}
	}
	loc := p.zone()
	if p.err == nil && p.i < len(s) {
		p.fail("unexpected text after the value")
	}
	if p.err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("parse time %q: %w", s, p.err)
	}
	switch {
	case year < 1:
		p.fail("year out of range")
	case month < 1 || month > 12:
		p.fail("month out of range")
	case day < 1 || day > daysIn(time.Month(month), year):
		p.fail("day out of range")
	case hour > 23:
		p.fail("hour out of range")
	case minute > 59:
		p.fail("minute out of range")
	case sec > 59:
		p.fail("second out of range")
	}
	if p.err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("parse time %q: %w", s, p.err)
	}
	// Millisecond granularity: see the doc comment.
	nsec -= nsec % int(time.Millisecond)
	unit = max(unit, time.Millisecond)
	start = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if unit == 24*time.Hour {
		end = start.AddDate(0, 0, 1)
	} else {
		end = start.Add(unit)
	}
	return start.UTC(), end.UTC(), nil
}

// ParseTimeRange parses the from/until query values ("" = absent): From is
// the start of from, Until the end of until, so a partial until is inclusive
// to the end of its unit (until=2022-09-05 covers that whole day). An
// unparsable value, or an until that ends before from starts (Until <= From),
// is an EINVALID *Error naming the parameter.
func ParseTimeRange(from, until string) (TimeRange, error) {
	var r TimeRange
	if from != "" {
		start, _, err := ParseTime(from)
		if err != nil {
			return TimeRange{}, invalidTimeParam("from", from)
		}
		r.From = start
	}
	if until != "" {
		_, end, err := ParseTime(until)
		if err != nil {
			return TimeRange{}, invalidTimeParam("until", until)
		}
		r.Until = end
	}
	if !r.From.IsZero() && !r.Until.IsZero() && !r.Until.After(r.From) {
		return TimeRange{}, Errorf(EINVALID, "invalid \"until\" parameter %s: it is before \"from\" (%s)",
			quoteParam(until), quoteParam(from))
	}
	return r, nil
}

// invalidTimeParam builds the 400 for an unparsable from/until value.
func invalidTimeParam(name, value string) *Error {
	hint := ""
	if strings.Contains(value, " ") {
		// The most common way to get here: a client put "+02:00" in a URL
		// without percent-encoding it, and the query decoder made it a space.
		hint = ` (a "+" in a URL must be sent as %2B)`
	}
	return Errorf(EINVALID, "invalid %q parameter %s: %s%s", name, quoteParam(value), acceptedTimeForms, hint)
}

// quoteParam quotes a client-supplied value for an error message, cut short
// so that a huge parameter cannot make a huge response.
func quoteParam(v string) string {
	const maxLen = 64
	if len(v) > maxLen {
		cut := maxLen
		for cut > 0 && !isRuneStart(v[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", v[:cut])
	}
	return fmt.Sprintf("%q", v)
}

// isRuneStart reports whether b can begin a UTF-8 sequence, so a cut never
// splits a character.
func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// WithDefaultWindow fills the absent bounds of r with a default window (audit
// logs: 30 days, api-v2.md AU1): only From → From..now; only Until →
// Until-window..Until; neither → now-window..now; both → r unchanged. A From
// in the future yields an empty range rather than an error, as the upstream
// API only rejects an until before from.
func (r TimeRange) WithDefaultWindow(now time.Time, window time.Duration) TimeRange {
	switch {
	case r.From.IsZero() && r.Until.IsZero():
		return TimeRange{From: now.Add(-window), Until: now}
	case r.Until.IsZero():
		return TimeRange{From: r.From, Until: now}
	case r.From.IsZero():
		return TimeRange{From: r.Until.Add(-window), Until: r.Until}
	}
	return r
}

// Contains reports whether t is inside the range: not before From (when
// set) and before Until (when set).
func (r TimeRange) Contains(t time.Time) bool {
	return (r.From.IsZero() || !t.Before(r.From)) && (r.Until.IsZero() || t.Before(r.Until))
}

// timeParser is a cursor over a from/until value. The first failure sticks
// in err and makes every later step a no-op, so ParseTime reads linearly.
type timeParser struct {
	s   string
	i   int
	err error
}

func (p *timeParser) fail(msg string) {
	if p.err == nil {
		p.err = errors.New(msg)
	}
}

// number reads exactly n ASCII digits.
func (p *timeParser) number(n int) int {
	if p.err != nil {
		return 0
	}
	v := 0
	for range n {
		if p.i >= len(p.s) || p.s[p.i] < '0' || p.s[p.i] > '9' {
			p.fail(fmt.Sprintf("expected a digit at offset %d", p.i))
			return 0
		}
		v = v*10 + int(p.s[p.i]-'0')
		p.i++
	}
	return v
}

// fraction reads 1..9 digits after the decimal point and returns their
// value in nanoseconds and the length of one unit of the last digit.
func (p *timeParser) fraction() (int, time.Duration) {
	if p.err != nil {
		return 0, 0
	}
	nsec, unit, n := 0, time.Second, 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		if n == 9 {
			p.fail("more than 9 fractional digits")
			return 0, 0
		}
		unit /= 10
		nsec += int(p.s[p.i]-'0') * int(unit)
		p.i++
		n++
	}
	if n == 0 {
		p.fail(fmt.Sprintf("expected a digit at offset %d", p.i))
	}
	return nsec, unit
}

func (p *timeParser) expect(c byte) {
	if p.err == nil && !p.accept(c) {
		p.fail(fmt.Sprintf("expected %q at offset %d", c, p.i))
	}
}

func (p *timeParser) accept(c byte) bool {
	if p.err == nil && p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// zone reads an optional Z or ±hh:mm; no zone is UTC.
func (p *timeParser) zone() *time.Location {
	if p.err != nil || p.i == len(p.s) || p.accept('Z') || p.accept('z') {
		return time.UTC
	}
	sign := 1
	switch {
	case p.accept('+'):
	case p.accept('-'):
		sign = -1
	default:
		p.fail(fmt.Sprintf("unexpected %q at offset %d", p.s[p.i], p.i))
		return time.UTC
	}
	hh := p.number(2)
	p.expect(':')
	mm := p.number(2)
	if p.err == nil && (hh > 23 || mm > 59) {
		p.fail("zone offset out of range")
	}
	if p.err != nil {
		return time.UTC
	}
	return time.FixedZone("", sign*(hh*3600+mm*60))
}

// daysIn returns the number of days of month m in year y (proleptic Gregorian).
func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
