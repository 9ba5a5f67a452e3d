package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/aipsec/aip"
)

// eventColumns is the number of values one events row takes.
const eventColumns = 7

// eventChunk is the most rows one INSERT carries (64*7 parameters): one
// statement per chunk instead of one per event.
const eventChunk = 64

// eventInsertSQL returns the INSERT of n events that skips stored ones and
// returns the keys of those it did store.
func eventInsertSQL(n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO events (org_id, id, agent_id, event_type, event_time, received_at, body) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?,?,?)")
	}
	q.WriteString(` ON CONFLICT (org_id, event_time, id) DO NOTHING RETURNING id, event_time`)
	return q.String()
}

// eventKey is the identity of an event inside its organization.
type eventKey struct {
	id string
	ms int64
}

// InsertEvents stores the events of orgID in one transaction, skipping
// events already stored. Raw must be the event's JSON object as received (the
// ingest path has validated it); ID must be set.
func (db *DB) InsertEvents(ctx context.Context, orgID string, evs []*aip.Event) ([]bool, error) {
	return db.IngestEvents(ctx, orgID, evs, nil)
}

// IngestEvents is InsertEvents plus, in the same transaction, the
// evaluation of the fresh events and its effect on alerts and windows.
func (db *DB) IngestEvents(ctx context.Context, orgID string, evs []*aip.Event, evaluate aip.EvaluateFunc) ([]bool, error) {
	fresh := make([]bool, len(evs))
	if len(evs) == 0 {
		return fresh, nil
	}
	received := now()
	for i, e := range evs {
		switch {
		case e.ID == "":
			return nil, aip.Errorf(aip.EINVALID, "Event %d has no _id.", i)
		case len(e.Raw) == 0:
			return nil, aip.Errorf(aip.EINVALID, "Event %s has no body.", e.ID)
		}
		e.OrgID = orgID
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = received
		}
		e.ReceivedAt, e.Time = normalize(e.ReceivedAt), normalize(e.Time)
	}
	// Several events of one batch may share a key: the first one is stored.
	pos := make(map[eventKey]int, len(evs))
	for i := len(evs) - 1; i >= 0; i-- {
		pos[eventKey{evs[i].ID, toMillis(evs[i].Time)}] = i
	}
	var applyErr error
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertEvents(ctx, tx, orgID, evs, pos, fresh); err != nil {
			return err
		}
		if evaluate == nil {
			return nil
		}
		todo := make([]*aip.Event, 0, len(evs))
		for i, f := range fresh {
			if f {
				todo = append(todo, evs[i])
			}
		}
		if len(todo) == 0 {
			return nil
		}
		st, err := evalState(ctx, tx, orgID)
		if err != nil {
			return err
		}
		ev, err := evaluate(ctx, todo, st)
		if err == nil && !ev.Empty() {
			if err = applyEvaluation(ctx, tx, orgID, ev); err == nil {
				err = bumpEvalGeneration(ctx, tx, orgID)
			}
		}
		applyErr = err
		return err
	})
	if applyErr != nil {
		return nil, applyErr
	}
	if isForeignKey(err) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", orgID)
	} else if err != nil {
		return nil, fmt.Errorf("insert %d events of organization %s: %w", len(evs), orgID, err)
	}
	return fresh, nil
}

// insertEvents inserts evs in chunks inside tx and sets fresh[i] for every
// event it stored; pos maps an event key to its first index in evs.
func insertEvents(ctx context.Context, tx *sql.Tx, orgID string, evs []*aip.Event, pos map[eventKey]int, fresh []bool) error {
	args := make([]any, 0, eventColumns*eventChunk)
	var fullSQL string
	for rest := evs; len(rest) > 0; {
		n := min(len(rest), eventChunk)
		chunk := rest[:n]
		rest = rest[n:]
		q := fullSQL
		if n < eventChunk {
			q = eventInsertSQL(n)
		} else if q == "" {
			fullSQL = eventInsertSQL(n)
			q = fullSQL
		}
		args = args[:0]
		for _, e := range chunk {
			args = append(args, orgID, e.ID, e.AgentID, e.Type, toMillis(e.Time), toMillis(e.ReceivedAt), string(e.Raw))
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k eventKey
			if err := rows.Scan(&k.id, &k.ms); err != nil {
				rows.Close()
				return err
			}
			fresh[pos[k]] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// DeleteExpiredEvents deletes at most limit events received before cutoff
// that no alert links to and no enabled S3 enrollment of their
// organization has still to export (rowid above its cursor), oldest first.
//
// It also keeps the event at any enrollment's cursor: SQLite gives a new
// row the largest rowid plus one, so were every event from the cursor up
// deleted, new events would take rowids at or below the cursor and the
// export would skip them.
func (db *DB) DeleteExpiredEvents(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, aip.Errorf(aip.EINVALID, "Invalid limit %d: must be positive.", limit)
	}
	res, err := db.write.ExecContext(ctx, `
		DELETE FROM events WHERE rowid IN (
			SELECT e.rowid FROM events e
			WHERE e.received_at < ?
			  AND NOT EXISTS (SELECT 1 FROM alert_events l WHERE l.org_id = e.org_id AND l.event_id = e.id)
			  AND NOT EXISTS (SELECT 1 FROM s3_enrollments s WHERE s.org_id = e.org_id
			                  AND (e.rowid = s.cursor_seq OR (s.enabled AND e.rowid > s.cursor_seq)
			                       OR (s.pending_sequence IS NOT NULL AND e.rowid > s.pending_after AND e.rowid <= s.pending_last)))
			ORDER BY e.received_at LIMIT ?)`, ceilMillis(cutoff), limit)
	if err != nil {
		return 0, fmt.Errorf("delete events received before %v: %w", cutoff, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete events received before %v: %w", cutoff, err)
	}
	return int(n), nil
}
