package storeutil

import (
	"database/sql"
	"time"
)

// Now is the store's clock and the creation time given to new rows: UTC,
// whole milliseconds, the stored precision, so that the caller's struct
// equals what a later read returns.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// ToMillis converts t to stored epoch milliseconds.
func ToMillis(t time.Time) int64 { return t.UnixMilli() }

// CeilMillis is the smallest epoch millisecond not before t, so that a
// stored ms value m satisfies m >= CeilMillis(t) exactly when m >= t.
func CeilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// FromMillis converts stored epoch milliseconds to a UTC time.
func FromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// FromNullMillis is FromMillis with NULL as the zero time.
func FromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return FromMillis(ms.Int64)
}

// Normalize returns t as it will be stored and read back: UTC, whole ms.
func Normalize(t time.Time) time.Time { return FromMillis(ToMillis(t)) }
