package storeutil

import (
	"strings"

	"github.com/aipsec/aip"
)

// The helpers below extend a query with SQLite-style ? placeholders, the
// style both stores write their queries in (the PostgreSQL store rebinds
// the finished text to $n).

// AppendNewestFirst appends to q the time bounds and keyset position of a
// newest-first listing on (col, idCol), then its ORDER BY and LIMIT, and
// returns args extended with their values; idCol breaks ties of col. The
// upper bound is one row value, the tighter of Until and the cursor, so
// that either database seeks the (col, idCol) index from a single bound
// and every page costs the same.
func AppendNewestFirst(q *strings.Builder, args []any, col, idCol string, r aip.TimeRange, after *aip.Cursor, limit int) []any {
	if !r.From.IsZero() {
		q.WriteString(` AND ` + col + ` >= ?`)
		args = append(args, CeilMillis(r.From))
	}
	switch {
	case after != nil:
		ms, id := ToMillis(after.Time), after.ID
		if !r.Until.IsZero() {
			if u := CeilMillis(r.Until); u < ms || (u == ms && id > "") {
				ms, id = u, ""
			}
		}
		q.WriteString(` AND (` + col + `, ` + idCol + `) < (?, ?)`)
		args = append(args, ms, id)
	case !r.Until.IsZero():
		q.WriteString(` AND ` + col + ` < ?`)
		args = append(args, CeilMillis(r.Until))
	}
	q.WriteString(` ORDER BY ` + col + ` DESC, ` + idCol + ` DESC LIMIT ?`)
	return append(args, limit)
}

// AppendRange appends the bounds of r on col (From inclusive, Until
// exclusive) for queries that are not paged.
func AppendRange(q *strings.Builder, args []any, col string, r aip.TimeRange) []any {
	if !r.From.IsZero() {
		q.WriteString(` AND ` + col + ` >= ?`)
		args = append(args, CeilMillis(r.From))
	}
	if !r.Until.IsZero() {
		q.WriteString(` AND ` + col + ` < ?`)
		args = append(args, CeilMillis(r.Until))
	}
	return args
}
