package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// State is where a delivery stands in an outbox.
type State string

// Delivery states.
const (
	StatePending   State = "pending"
	StateDelivered State = "delivered"
	StateAbandoned State = "abandoned"
)

// ErrUnknownDelivery is returned when marking a delivery the outbox does not hold as pending.
var ErrUnknownDelivery = errors.New("webhook: unknown or settled delivery")

// Record is a delivery with its outbox bookkeeping, as MemoryOutbox reports it.
type Record struct {
	Delivery
	// State is pending until delivered or abandoned.
	State State
	// NextAt is when a pending delivery becomes due.
	NextAt time.Time
	// LastAttemptAt, LastStatus (0: no HTTP answer) and LastError describe the latest attempt.
	LastAttemptAt time.Time
	LastStatus    int
	LastError     string
}

// MemoryOutbox is an Outbox held in memory, for tests and single-process demos; it is safe
// for concurrent use. The zero value is ready to use.
type MemoryOutbox struct {
	mu      sync.Mutex
	records map[string]*Record
}

// Enqueue adds a pending delivery due at its CreatedAt. The delivery's slices are copied.
func (m *MemoryOutbox) Enqueue(d Delivery) error {
	if d.ID == "" {
		return errors.New("memory outbox: enqueue: empty delivery id")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.records == nil {
		m.records = make(map[string]*Record)
	}
	if _, ok := m.records[d.ID]; ok {
		return fmt.Errorf("memory outbox: enqueue %s: duplicate delivery id", d.ID)
	}
	m.records[d.ID] = &Record{Delivery: cloneDelivery(d), State: StatePending, NextAt: d.CreatedAt}
	return nil
}

// Get returns a copy of the record of delivery id.
func (m *MemoryOutbox) Get(id string) (Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[id]
	if !ok {
		return Record{}, false
	}
	c := *r
	c.Delivery = cloneDelivery(r.Delivery)
	return c, true
}

// Due implements Outbox.
func (m *MemoryOutbox) Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory outbox: due: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []*Record
	for _, r := range m.records {
		if r.State == StatePending && !r.NextAt.After(now) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b *Record) int {
		return cmp.Or(a.NextAt.Compare(b.NextAt), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	out := make([]Delivery, 0, min(len(due), max(limit, 0)))
	for _, r := range due[:min(len(due), max(limit, 0))] {
		out = append(out, cloneDelivery(r.Delivery))
	}
	return out, nil
}

// MarkDelivered implements Outbox.
func (m *MemoryOutbox) MarkDelivered(ctx context.Context, id string, at time.Time, status int) error {
	return m.mark(ctx, id, func(r *Record) {
		r.State = StateDelivered
		r.LastAttemptAt, r.LastStatus, r.LastError = at, status, ""
	})
}

// MarkFailed implements Outbox.
func (m *MemoryOutbox) MarkFailed(ctx context.Context, id string, at time.Time, status int, errMsg string, next time.Time) error {
	return m.mark(ctx, id, func(r *Record) {
		r.NextAt = next
		r.LastAttemptAt, r.LastStatus, r.LastError = at, status, errMsg
	})
}

// MarkAbandoned implements Outbox.
func (m *MemoryOutbox) MarkAbandoned(ctx context.Context, id string, at time.Time, status int, errMsg string) error {
	return m.mark(ctx, id, func(r *Record) {
		r.State = StateAbandoned
		r.LastAttemptAt, r.LastStatus, r.LastError = at, status, errMsg
	})
}

func (m *MemoryOutbox) mark(ctx context.Context, id string, apply func(*Record)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory outbox: mark %s: %w", id, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[id]
	if !ok || r.State != StatePending {
		return fmt.Errorf("memory outbox: mark %s: %w", id, ErrUnknownDelivery)
	}
	r.Attempts++
	apply(r)
	return nil
}

func cloneDelivery(d Delivery) Delivery {
	d.Secret = bytes.Clone(d.Secret)
	d.Body = bytes.Clone(d.Body)
	return d
}
