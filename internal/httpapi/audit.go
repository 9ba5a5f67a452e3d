package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aipsec/aip"
)

// auditWriter batches audit records into the store in the background, so a
// request never waits on an audit write. The queue is bounded: when it is
// full, requests wait for room instead of dropping records.
type auditWriter struct {
	store  aip.AuditStore
	logger *slog.Logger
	queue  chan *aip.AuditRecord
	done   chan struct{}
	// flushes asks the writer to store everything queued so far; the
	// writer closes the channel it receives once that is done.
	flushes chan chan struct{}

	// mu guards closed so that no enqueue can race the channel's close.
	mu     sync.RWMutex
	closed bool
}

const (
	auditQueueSize  = 8192
	auditBatchSize  = 500
	auditFlushEvery = 100 * time.Millisecond
)

func newAuditWriter(store aip.AuditStore, logger *slog.Logger) *auditWriter {
	a := &auditWriter{
		store: store, logger: logger, queue: make(chan *aip.AuditRecord, auditQueueSize),
		done: make(chan struct{}), flushes: make(chan chan struct{}),
	}
	go a.run()
	return a
}

// enqueue hands rec to the writer, waiting while the queue is full. After
// Close the record is written directly, so none is ever lost.
func (a *auditWriter) enqueue(ctx context.Context, rec *aip.AuditRecord) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.closed {
		a.queue <- rec
		return
	}
	if err := a.store.CreateAuditRecords(context.WithoutCancel(ctx), []*aip.AuditRecord{rec}); err != nil {
		a.logger.Error("write audit record", slog.Any("error", err))
	}
}

func (a *auditWriter) run() {
	defer close(a.done)
	batch := make([]*aip.AuditRecord, 0, auditBatchSize)
	tick := time.NewTicker(auditFlushEvery)
	defer tick.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for attempt := 0; ; attempt++ {
			err := a.store.CreateAuditRecords(ctx, batch)
			if err == nil {
				break
			}
			a.logger.Error("write audit records", slog.Int("count", len(batch)), slog.Int("attempt", attempt), slog.Any("error", err))
			if attempt == 4 {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
		}
		batch = batch[:0]
	}
	for {
		select {
		case rec, ok := <-a.queue:
			if !ok {
				flush()
				return
			}
			batch = append(batch, rec)
			if len(batch) == auditBatchSize {
				flush()
			}
		case <-tick.C:
			flush()
		case reply := <-a.flushes:
			// Every record enqueued before the flush request is already in
			// the channel's buffer: drain it without waiting for more.
			for drained := false; !drained; {
				select {
				case rec, ok := <-a.queue:
					if !ok {
						flush()
						close(reply)
						return
					}
					batch = append(batch, rec)
					if len(batch) == auditBatchSize {
						flush()
					}
				default:
					drained = true
				}
			}
			flush()
			close(reply)
		}
	}
}

// Flush waits until every record enqueued before the call is stored (or
// its write failed and was logged). After Close there is nothing to wait
// for: records are then written as they come.
func (a *auditWriter) Flush(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case a.flushes <- reply:
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting records and waits until every queued one is written.
func (a *auditWriter) Close(ctx context.Context) error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
	a.mu.Unlock()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// requestContext is the context object of an API request's audit record.
type requestContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Status    int    `json:"status"`
	RequestID string `json:"requestId"`
	ClientIP  string `json:"clientIp"`
	UserAgent string `json:"userAgent"`
}

// record queues the audit entry of one authenticated request.
func (s *Server) record(r *http.Request, p *principal, crud, action string, status int) {
	result := "success"
	if status >= 400 {
		result = "failure"
	}
	ctx := r.Context()
	// Encoding a struct of strings and an int cannot fail. It is encoded
	// here, once, so the store writes the bytes as they are.
	details, _ := json.Marshal(requestContext{
		Method:    r.Method,
		Path:      r.URL.Path,
		Query:     r.URL.RawQuery,
		Status:    status,
		RequestID: requestID(ctx),
		ClientIP:  clientIPFrom(ctx).String(),
		UserAgent: r.UserAgent(),
	})
	s.audit.enqueue(ctx, &aip.AuditRecord{
		ID:             aip.NewUUID(),
		UserEmail:      p.User.Email,
		UserID:         p.User.ID,
		OrganizationID: p.OrgID,
		Result:         result,
		CRUD:           crud,
		Action:         action,
		Source:         "api",
		Description:    p.User.ID + ": " + r.Method + " : " + r.URL.Path,
		EventTime:      aip.Time{Time: s.now().UTC().Truncate(time.Millisecond)},
		Context:        details,
	})
}
