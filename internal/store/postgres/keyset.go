package postgres

import (
	"strings"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// Shared keyset helpers for the ported listings. They write SQLite-style ?
// placeholders, like the query text they extend, so callers pass the
// finished query through rebind before running it.

// appendNewestFirst appends to q the time bounds and keyset position of a
// newest-first listing on (col, idCol), then its ORDER BY and LIMIT, and
// returns args extended with their values; idCol breaks ties of col. The
// upper bound is one row value, the tighter of Until and the cursor, so
// that PostgreSQL scans the (col, idCol) index from a single bound and
// every page costs the same.
func appendNewestFirst(q *strings.Builder, args []any, col, idCol string, r aip.TimeRange, after *aip.Cursor, limit int) []any {
	if !r.From.IsZero() {
		q.WriteString(` AND ` + col + ` >= ?`)
		args = append(args, ceilMillis(r.From))
	}
	switch {
	case after != nil:
		ms, id := toMillis(after.Time), after.ID
		if !r.Until.IsZero() {
			if u := ceilMillis(r.Until); u < ms || (u == ms && id > "") {
				ms, id = u, ""
			}
		}
		q.WriteString(` AND (` + col + `, ` + idCol + `) < (?, ?)`)
		args = append(args, ms, id)
	case !r.Until.IsZero():
		q.WriteString(` AND ` + col + ` < ?`)
		args = append(args, ceilMillis(r.Until))
	}
	q.WriteString(` ORDER BY ` + col + ` DESC, ` + idCol + ` DESC LIMIT ?`)
	return append(args, limit)
}

// appendRange appends the bounds of r on col (From inclusive, Until
// exclusive) for queries that are not paged.
func appendRange(q *strings.Builder, args []any, col string, r aip.TimeRange) []any {
	if !r.From.IsZero() {
		q.WriteString(` AND ` + col + ` >= ?`)
		args = append(args, ceilMillis(r.From))
	}
	if !r.Until.IsZero() {
		q.WriteString(` AND ` + col + ` < ?`)
		args = append(args, ceilMillis(r.Until))
	}
	return args
}

// nonNil is storeutil.NonNil under the short name the call sites use.
func nonNil[T any](s []T) []T { return storeutil.NonNil(s) }
