// Package aip holds the domain of the aip server: the v2 wire types, the
// storage interfaces the backends implement, the error type every layer
// returns, and the shared request primitives (time ranges, page tokens).
//
// It depends on nothing but the standard library so that every other package
// (stores, HTTP layer, client) can import it without pulling in the others.
package aip

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// NewID24 returns a new organization or user id: 24 lower-case hex
// characters, the shape the v2 API used (Mongo ObjectIds) and clients validate.
func NewID24() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	return hex.EncodeToString(b[:])
}

// NewUUID returns a random (version 4) UUID in its canonical lower-case form,
// the id shape of agents, rulesets, rules, alerts and events.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:16])
	return string(out[:])
}

var (
	id24Pattern = regexp.MustCompile(`^[0-9a-f]{24}$`)
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// IsID24 reports whether s has the shape of an organization or user id.
func IsID24(s string) bool { return id24Pattern.MatchString(s) }

// IsUUID reports whether s is a canonical lower-case UUID.
func IsUUID(s string) bool { return uuidPattern.MatchString(s) }

// TimeFormat is the layout of every timestamp string on the wire:
// UTC with exactly three fractional digits, e.g. 2020-07-27T20:41:29.454Z.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// FormatTime renders t the way the v2 API does (UTC, milliseconds, "Z").
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// Time is a time.Time that marshals to JSON in the v2 wire format.
type Time struct{ time.Time }

// MarshalJSON renders the wire format, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + FormatTime(t.Time) + `"`), nil
}

// UnmarshalJSON accepts RFC 3339 strings (the wire format is one) and null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(`"`+time.RFC3339Nano+`"`, string(b))
	if err != nil {
		return fmt.Errorf("parse time %s: %w", b, err)
	}
	t.Time = v
	return nil
}
