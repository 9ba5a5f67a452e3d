package storeutil

import "bytes"

// NonNil returns s, or an empty slice for nil, so that lists encode as []
// rather than null in API responses.
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// LooksLikeObject reports whether b, once known to be well-formed JSON, is
// an object: whether its first non-space byte opens one. A raw NUL, never
// valid JSON and not storable in a TEXT column (SQLite reads text only up
// to it, PostgreSQL refuses it), makes it false.
func LooksLikeObject(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}
