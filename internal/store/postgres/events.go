package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aipsec/aip"
)

// eventColumns is the number of values one events row takes.
const eventColumns = 7

// eventChunk is the most rows one INSERT carries (64*7 parameters, far
// below PostgreSQL's 65535): one statement per chunk instead of one per
// event.
const eventChunk = 64

// eventInsertSQL returns the INSERT of n events that skips stored ones and
// returns the keys of those it did store.
func eventInsertSQL(n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO events (org_id, id, agent_id, event_type, event_time, received_at, body) VALUES `)
	p := 0
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for c := range eventColumns {
			if c > 0 {
				q.WriteByte(',')
			}
			p++
			q.WriteByte('$')
			q.WriteString(strconv.Itoa(p))
		}
		q.WriteByte(')')
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
//
// Two nodes may store the same re-sent event at once: the unique index
// makes the second INSERT wait for the first transaction and then skip the
// row (or store it, if the first rolled back), so an event is fresh, and
// evaluated, in exactly one committed transaction.
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
		// Before the inserts: a batch waiting for the lock holds no event
		// row another batch (of the same events) could wait for. Taken
		// without evaluation too: the organization's batches then draw
		// their seqs and commit one at a time, so seq order is commit
		// order within the organization, which EventsAfter relies on.
		if err := lockEvaluation(ctx, tx, orgID); err != nil {
			return err
		}
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
//
// Only the first event of each key is sent, and in key order: concurrent
// batches that share events then take the unique index's locks in the same
// order and cannot deadlock on each other.
func insertEvents(ctx context.Context, tx *sql.Tx, orgID string, evs []*aip.Event, pos map[eventKey]int, fresh []bool) error {
	order := make([]*aip.Event, 0, len(pos))
	for i, e := range evs {
		if pos[eventKey{e.ID, toMillis(e.Time)}] == i {
			order = append(order, e)
		}
	}
	slices.SortFunc(order, func(a, b *aip.Event) int {
		return cmp.Or(cmp.Compare(toMillis(a.Time), toMillis(b.Time)), strings.Compare(a.ID, b.ID))
	})
	args := make([]any, 0, eventColumns*eventChunk)
	var fullSQL string
	for rest := order; len(rest) > 0; {
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
// organization has still to export (seq above its cursor), oldest first.
// A cursor only moves up, so the first statement's snapshot keeps at
// least what a fresher one would; the DELETE checks again.
//
// Unlike SQLite's single writer, a node may link an event to an alert
// while another deletes it. linkEvents locks the event row (FOR KEY
// SHARE) while it links; here the candidates are first locked FOR UPDATE,
// skipping rows being linked, and only then checked for links by a second
// statement, whose fresh snapshot sees every link committed before the
// locks were taken. A link started later waits for this transaction and
// finds the event gone.
func (db *DB) DeleteExpiredEvents(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, aip.Errorf(aip.EINVALID, "Invalid limit %d: must be positive.", limit)
	}
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT e.seq FROM events e
			WHERE e.received_at < $1
			  AND NOT EXISTS (SELECT 1 FROM alert_events l WHERE l.org_id = e.org_id AND l.event_id = e.id)
			  AND NOT EXISTS (SELECT 1 FROM s3_enrollments s WHERE s.org_id = e.org_id AND ((s.enabled AND e.seq > s.cursor_seq)
			                  OR (s.pending_sequence IS NOT NULL AND e.seq > s.pending_after AND e.seq <= s.pending_last)))
			ORDER BY e.received_at, e.seq LIMIT $2
			FOR UPDATE SKIP LOCKED`, ceilMillis(cutoff), limit)
		if err != nil {
			return err
		}
		var seqs []int64
		for rows.Next() {
			var s int64
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			seqs = append(seqs, s)
		}
		err = rows.Err()
		rows.Close()
		if err != nil || len(seqs) == 0 {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			DELETE FROM events e WHERE e.seq = ANY($1)
			  AND NOT EXISTS (SELECT 1 FROM alert_events l WHERE l.org_id = e.org_id AND l.event_id = e.id)
			  AND NOT EXISTS (SELECT 1 FROM s3_enrollments s WHERE s.org_id = e.org_id AND ((s.enabled AND e.seq > s.cursor_seq)
			                  OR (s.pending_sequence IS NOT NULL AND e.seq > s.pending_after AND e.seq <= s.pending_last)))`, seqs)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete events received before %v: %w", cutoff, err)
	}
	return int(n), nil
}
