package aip

import (
	"context"
	"time"
)

// AlertWindow is the persisted window of one aggregation key: the rule
// engine's state between batches. Keeping it in the store, written in the
// transaction that stores the events which changed it, is what makes
// detection survive a crash: after a restart the engine reloads the windows
// and carries on exactly where the last committed batch left it.
type AlertWindow struct {
	Key string
	// AlertID is the alert the window fired, "" while below the threshold.
	AlertID string
	// WindowStart and WindowEnd (exclusive) bound the window; the store
	// forgets a window some time after WindowEnd.
	WindowStart  time.Time
	WindowEnd    time.Time
	Count        int
	FirstEventAt time.Time
	LastEventAt  time.Time
	// Alerting: the window's alert fired and later matches increment it.
	Alerting bool
	// Dismissed: the window's alert was dismissed; the next match in the
	// window opens a new alert.
	Dismissed bool
	// Pending are the events counted before the threshold was reached,
	// linked to the alert when it fires.
	Pending []EventRef
}

// EventRef identifies a stored event inside its organization.
type EventRef struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
}

// NewAlert is an alert to create with the events that formed it and the
// webhook body to queue for it (nil for none).
type NewAlert struct {
	Alert       *Alert
	Events      []*Event
	WebhookBody []byte
}

// AlertLink adds events to an existing alert.
type AlertLink struct {
	AlertID     string
	Events      []*Event
	LastEventAt time.Time
}

// Evaluation is what evaluating one batch of fresh events changes: alerts
// to create, events to link to alerts (created earlier or in this batch),
// and the windows the batch touched. The store applies it in that order.
type Evaluation struct {
	Alerts  []NewAlert
	Links   []AlertLink
	Windows []*AlertWindow
}

// EvalState is an organization's shared evaluation state as the store's
// transaction sees it. Evaluations of one organization are serialized
// across processes and nodes (SQLite's single writer, a PostgreSQL
// advisory lock), so a node whose cache was built at Generation (and
// RulesGeneration) is current; any other node's commit in between moved
// the counter and tells it to reload.
type EvalState struct {
	// Generation counts the evaluations that changed something, committed
	// for the organization by any node.
	Generation int64
	// RulesGeneration moves with every change of the organization's rules
	// or rulesets.
	RulesGeneration int64
	// Windows reads the organization's windows ending after since, inside
	// the transaction.
	Windows func(since time.Time) ([]*AlertWindow, error)
}

// EvaluateFunc evaluates the events of a batch that were not stored before
// and returns what that changes (nil for nothing). It runs inside the
// store's transaction: a returned error rolls back the events too. A
// non-empty Evaluation moves st.Generation by one when it commits.
type EvaluateFunc func(ctx context.Context, fresh []*Event, st *EvalState) (*Evaluation, error)

// Empty reports whether ev changes nothing.
func (ev *Evaluation) Empty() bool {
	return ev == nil || len(ev.Alerts) == 0 && len(ev.Links) == 0 && len(ev.Windows) == 0
}

// EvaluationStore stores events and their effect on alerts atomically.
type EvaluationStore interface {
	// IngestEvents stores evs like InsertEvents and, in the same
	// transaction, calls evaluate (when not nil) with the events that were
	// new, in order, and the organization's EvalState, and applies the
	// Evaluation it returns. An event is
	// thus stored if and only if its effect on alerts and windows is: a
	// crash loses neither, and a re-sent event, never fresh again, is never
	// evaluated twice. When evaluate or the apply fails nothing is stored.
	IngestEvents(ctx context.Context, orgID string, evs []*Event, evaluate EvaluateFunc) (fresh []bool, err error)
	// ListAlertWindows returns the windows of orgID that end after since.
	ListAlertWindows(ctx context.Context, orgID string, since time.Time) ([]*AlertWindow, error)
	// DeleteExpiredAlertWindows deletes, in every organization, at most
	// limit windows that ended before cutoff and returns how many it
	// deleted; callers repeat until it returns less than limit.
	DeleteExpiredAlertWindows(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// AlertWindowRetention is how long the rule engine keeps a window after it
// ended, in memory and in the store: longer than any rule's window, so
// that a late event still finds the window it belongs to.
const AlertWindowRetention = 25 * time.Hour
