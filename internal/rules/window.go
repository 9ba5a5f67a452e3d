package rules

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// MaxFutureSkew is how far in the future (milliseconds) an event's
// timestamp may be before the event counts at its arrival time instead.
const MaxFutureSkew = 5 * 60 * 1000

// EffectiveTime is the time (epoch ms) an event counts at in windows: its
// own timestamp, unless that lies more than MaxFutureSkew after its
// arrival, in which case the arrival time (DECISIONS.md, "Alerts" time).
func EffectiveTime(eventTime, arrival int64) int64 {
	if eventTime > arrival+MaxFutureSkew {
		return arrival
	}
	return eventTime
}

// AppendKey appends the alert key of the match for agentID to dst:
// "<ruleId>-<agentId>-<32 hex>", the hex being a digest of the aggregate
// values in order (the shape of the v1 alert key). Events that share rule,
// agent and aggregate values share the key. CloudTrail events have no
// agent; callers pass the account or organization instead.
func (m Match) AppendKey(dst []byte, agentID string) []byte {
	var scratch [256]byte
	b := scratch[:0]
	for i := range m.cr.aggs {
		start := len(b)
		b = m.Event.appendRender(b, &m.cr.aggs[i])
		// A length after each value keeps ("ab","c") and ("a","bc") apart.
		b = binary.LittleEndian.AppendUint32(b, uint32(len(b)-start))
	}
	sum := sha256.Sum256(b)
	dst = append(dst, m.Rule.ID...)
	dst = append(dst, '-')
	dst = append(dst, agentID...)
	dst = append(dst, '-')
	return hex.AppendEncode(dst, sum[:16])
}

// Key returns the alert key of the match for agentID (see AppendKey).
func (m Match) Key(agentID string) string { return string(m.AppendKey(nil, agentID)) }

// DecisionKind says what an observed match does to alerts.
type DecisionKind uint8

// Decision kinds.
const (
	// Pending: the match counted in its key's window, below the threshold.
	Pending DecisionKind = iota + 1
	// NewAlert: the match made the count reach the threshold, or opened a
	// new alert after a dismissal.
	NewAlert
	// Increment: the match belongs to the key's existing alert.
	Increment
)

// MaxPendingEventIDs bounds the event ids a window keeps before its alert
// fires; with a larger threshold, NewAlert lists the first ones and the
// firing one.
const MaxPendingEventIDs = 1000

// Decision is the outcome of one observed match. Times are epoch ms.
type Decision struct {
	Kind         DecisionKind
	Key          string
	Time         int64 // the effective time of this match
	CreatedAt    int64 // the alert's creation time (NewAlert, Increment)
	ExpiresAt    int64 // CreatedAt + window (NewAlert, Increment)
	Count        int   // matches counted in the window: the alert's event count
	FirstEventAt int64
	LastEventAt  int64
	// NewAlert only.
	Title      string      // rendered from the firing event
	Aggregates []Aggregate // from the firing event
	EventIDs   []string    // the counted events (see MaxPendingEventIDs), the firing one last
}

// WindowState is the window of one key, exposed so that a caller can
// persist it (Snapshot) and reload it after a restart (Restore).
type WindowState struct {
	WindowStart  int64 // anchor: the first match, then the alert's CreatedAt
	WindowEnd    int64 // exclusive: WindowStart + window
	Count        int
	FirstEventAt int64
	LastEventAt  int64
	// Alerting: an alert fired in this window (CreatedAt = WindowStart).
	Alerting bool
	// Dismissed: the window's alert was dismissed, so the next match
	// inside the window opens a new alert at once.
	Dismissed       bool
	PendingEventIDs []string // counted before the threshold was reached
}

// Aggregator turns matches into alert decisions with fixed windows and
// thresholds (DECISIONS.md, "Rules, rulesets, filter language"): a window
// opens at the first match of a key and lasts the rule's window; the alert
// fires when the count reaches the threshold inside it, anchored at the
// firing match; later matches until CreatedAt + window increment it; the
// first match after that opens a new window. Matches should come in
// event-time order per key; a late match (before the window's anchor) is
// counted in the current window.
//
// It is pure state: no clock, no I/O. Call Expire as time passes to drop
// ended windows. It is not safe for concurrent use.
type Aggregator struct {
	states map[string]*keyState
	heap   []expiry // min-heap on end; stale entries are skipped on pop
	keybuf []byte
}

// keyState is a key's window with the key itself, so that decisions on an
// existing key reuse its string instead of allocating one.
type keyState struct {
	key string
	WindowState
}

type expiry struct {
	end int64
	key string
}

// NewAggregator returns an empty Aggregator.
func NewAggregator() *Aggregator {
	return &Aggregator{states: make(map[string]*keyState)}
}

// Len returns the number of keys with state.
func (a *Aggregator) Len() int { return len(a.states) }

// Observe records match m of agentID's event that arrived at arrival
// (epoch ms). The event's own timestamp decides its window (EffectiveTime;
// no timestamp counts as arrival).
func (a *Aggregator) Observe(m Match, agentID string, arrival int64) Decision {
	t := arrival
	if ts, ok := m.Event.Timestamp(); ok {
		t = EffectiveTime(ts, arrival)
	}
	a.keybuf = m.AppendKey(a.keybuf[:0], agentID)
	d := a.observe(a.keybuf, m.Rule.Window, m.Rule.Threshold, t, m.Event.ID())
	if d.Kind == NewAlert {
		d.Title = m.Title()
		d.Aggregates = m.Aggregates()
	}
	return d
}

// ObserveKey records a match for key directly, for callers that keep keys
// themselves (replays, tests). window is in seconds.
func (a *Aggregator) ObserveKey(key string, window, threshold int, t int64, eventID string) Decision {
	return a.observe([]byte(key), window, threshold, t, eventID)
}

func (a *Aggregator) observe(key []byte, window, threshold int, t int64, eventID string) Decision {
	w := int64(window) * 1000
	if threshold < 1 {
		threshold = 1
	}
	ks, ok := a.states[string(key)]
	if !ok {
		ks = &keyState{key: string(key)}
		a.states[ks.key] = ks
	}
	k, st := ks.key, &ks.WindowState
	if !ok || t >= st.WindowEnd {
		*st = WindowState{WindowStart: t, WindowEnd: t + w, FirstEventAt: t, LastEventAt: t}
		a.push(st.WindowEnd, k)
	} else if st.Dismissed {
		// The dismissed alert stays closed; this match opens the next one.
		*st = WindowState{WindowStart: t, WindowEnd: t + w, FirstEventAt: t, LastEventAt: t}
		threshold = 1
		a.push(st.WindowEnd, k)
	}
	st.Count++
	st.FirstEventAt = min(st.FirstEventAt, t)
	st.LastEventAt = max(st.LastEventAt, t)
	d := Decision{Key: k, Time: t, Count: st.Count, FirstEventAt: st.FirstEventAt, LastEventAt: st.LastEventAt}
	switch {
	case st.Alerting:
		d.Kind = Increment
		d.CreatedAt, d.ExpiresAt = st.WindowStart, st.WindowEnd
	case st.Count >= threshold:
		d.Kind = NewAlert
		st.Alerting = true
		if st.WindowStart != t || st.WindowEnd != t+w {
			st.WindowStart, st.WindowEnd = t, t+w
			a.push(st.WindowEnd, k)
		}
		d.CreatedAt, d.ExpiresAt = st.WindowStart, st.WindowEnd
		d.EventIDs = append(st.PendingEventIDs, strings.Clone(eventID))
		st.PendingEventIDs = nil
	default:
		d.Kind = Pending
		if len(st.PendingEventIDs) < MaxPendingEventIDs {
			st.PendingEventIDs = append(st.PendingEventIDs, strings.Clone(eventID))
		}
	}
	return d
}

// Dismiss records that the alert of key was dismissed: the next match
// inside its window opens a new alert at once instead of incrementing it
// (DECISIONS.md, "Alerts"). It reports whether key had a firing alert.
func (a *Aggregator) Dismiss(key string) bool {
	ks, ok := a.states[key]
	if !ok || !ks.Alerting {
		return false
	}
	ks.Alerting, ks.Dismissed = false, true
	return true
}

// State returns a copy of key's window state.
func (a *Aggregator) State(key string) (WindowState, bool) {
	ks, ok := a.states[key]
	if !ok {
		return WindowState{}, false
	}
	cp := ks.WindowState
	cp.PendingEventIDs = append([]string(nil), ks.PendingEventIDs...)
	return cp, true
}

// Restore sets key's window state, e.g. from a snapshot or from the active
// alerts stored before a restart.
func (a *Aggregator) Restore(key string, st WindowState) {
	ks := &keyState{key: key, WindowState: st}
	ks.PendingEventIDs = append([]string(nil), st.PendingEventIDs...)
	a.states[key] = ks
	a.push(ks.WindowEnd, key)
}

// Snapshot calls fn with every key and a copy of its state.
func (a *Aggregator) Snapshot(fn func(key string, st WindowState)) {
	for k := range a.states {
		st, _ := a.State(k)
		fn(k, st)
	}
}

// Expire drops the state of every key whose window ended at or before now
// (epoch ms) and returns how many it dropped. Callers pass a time no later
// than the earliest event time still expected, or late events open fresh
// windows.
func (a *Aggregator) Expire(now int64) int {
	n := 0
	for len(a.heap) > 0 && a.heap[0].end <= now {
		e := a.pop()
		if ks, ok := a.states[e.key]; ok && ks.WindowEnd == e.end {
			delete(a.states, e.key)
			n++
		}
	}
	return n
}

func (a *Aggregator) push(end int64, key string) {
	a.heap = append(a.heap, expiry{end: end, key: key})
	i := len(a.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a.heap[p].end <= a.heap[i].end {
			break
		}
		a.heap[p], a.heap[i] = a.heap[i], a.heap[p]
		i = p
	}
}

func (a *Aggregator) pop() expiry {
	top := a.heap[0]
	last := len(a.heap) - 1
	a.heap[0] = a.heap[last]
	a.heap = a.heap[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && a.heap[l].end < a.heap[m].end {
			m = l
		}
		if r < last && a.heap[r].end < a.heap[m].end {
			m = r
		}
		if m == i {
			break
		}
		a.heap[i], a.heap[m] = a.heap[m], a.heap[i]
		i = m
	}
	return top
}
