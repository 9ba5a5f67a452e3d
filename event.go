package aip

import (
	"context"
	"encoding/json"
	"time"
)

// Event is one event sent by an agent. Its wire shape is the raw JSON object
// the agent sent (snake_case: _id, event_type, ...), kept verbatim; the other
// fields are what the store indexes.
type Event struct {
	ID      string // the event's _id
	OrgID   string
	AgentID string
	Type    string // event_type
	// Time is the event's own timestamp (epoch ms on the wire), or zero
	// when it has none; never the arrival time, since (ID, Time) is the
	// event's identity: a re-sent event must carry the same pair.
	Time time.Time
	// ReceivedAt is when the server accepted it; retention counts from it.
	ReceivedAt time.Time
	Raw        json.RawMessage
}

// MarshalJSON renders the event as it was received.
func (e Event) MarshalJSON() ([]byte, error) {
	if len(e.Raw) == 0 {
		return []byte("{}"), nil
	}
	return e.Raw, nil
}

// EventStore persists events.
type EventStore interface {
	// InsertEvents stores the events of orgID in one transaction. An event
	// whose (ID, Time) is already stored for orgID (or repeats one earlier
	// in evs) is accepted and skipped; fresh[i] reports whether evs[i] was new.
	// ReceivedAt defaults to now. ENOTFOUND for an unknown organization.
	InsertEvents(ctx context.Context, orgID string, evs []*Event) (fresh []bool, err error)
	// DeleteExpiredEvents deletes, in every organization, at most limit
	// events received before cutoff, linked to no alert and not waiting
	// for an enabled S3 enrollment of their organization to export them
	// (arrival sequence above its cursor), and returns how many it
	// deleted; callers repeat until it returns less than limit. (The
	// SQLite store also keeps the event at each enrollment's cursor, so
	// that rowids never fall back below it.)
	DeleteExpiredEvents(ctx context.Context, cutoff time.Time, limit int) (int, error)
}
