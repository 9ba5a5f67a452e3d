// Package export ships every ingested event of an organization, in arrival
// order, to the S3 buckets it enrolled (issue 8), as gzip-compressed JSON
// Lines objects.
//
// Exactly once as seen from the bucket rests on a durable plan: an object
// (its key and the arrival range of its events) is recorded before it is
// uploaded, and the cursor moves past it only once the upload succeeded.
// After a crash or a failed upload the planned object is rebuilt from the
// same events into the same bytes and uploaded again under the same key, so
// a retry can only overwrite an object with identical content.
package export

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aipsec/aip"
)

// Defaults of the Exporter fields left zero.
const (
	DefaultPollInterval  = time.Second
	DefaultFlushAfter    = time.Minute
	DefaultMaxEvents     = 10000
	DefaultMaxBackoff    = 5 * time.Minute
	DefaultUploadTimeout = 2 * time.Minute
	DefaultWorkers       = 4

	// minBackoff is the first wait after a failure; it doubles up to
	// MaxBackoff.
	minBackoff = time.Second
	// maxErrorLen bounds the message stored with an enrollment.
	maxErrorLen = 1000
)

// Uploader writes one object to an enrollment's bucket. PutObject must
// replace an existing object of the same key: a retried upload is the same
// object again.
type Uploader interface {
	PutObject(ctx context.Context, key string, body []byte) error
}

// UploaderFactory builds the Uploader of an enrollment; secret is its opened
// static secret ("" when it has none).
type UploaderFactory func(ctx context.Context, e *aip.S3Enrollment, secret string) (Uploader, error)

// SecretOpener opens an enrollment's sealed secret; *keyring.Keyring is one.
type SecretOpener interface {
	Open(owner string, sealed []byte) (string, error)
}

// SecretOwner is the keyring owner an enrollment's secret is sealed for, so
// that a sealed secret cannot be replayed on another enrollment.
func SecretOwner(orgID, bucket string) string { return "s3export:" + orgID + ":" + bucket }

// Exporter runs the export of every enabled enrollment. The zero values of
// the tuning fields mean their defaults.
type Exporter struct {
	Store   aip.S3ExportStore
	Keyring SecretOpener
	// NewUploader builds an enrollment's uploader (NewS3Uploader when nil).
	NewUploader UploaderFactory
	Logger      *slog.Logger
	// Now is the clock that ages batches and times backoffs (time.Now
	// when nil); tests drive it.
	Now func() time.Time

	// PollInterval is the pause between passes over the enrollments.
	PollInterval time.Duration
	// FlushAfter is the age of the oldest unexported event (by arrival)
	// that flushes a batch smaller than MaxEvents.
	FlushAfter time.Duration
	// MaxEvents is the most events one object holds; that many waiting
	// flush at once.
	MaxEvents int
	// MaxBackoff caps the wait after consecutive failures of an enrollment.
	MaxBackoff time.Duration
	// UploadTimeout bounds one PutObject.
	UploadTimeout time.Duration
	// Workers bounds the enrollments exported at once.
	Workers int

	mu    sync.Mutex
	state map[enrollmentKey]*enrollmentState
}

type enrollmentKey struct{ org, bucket string }

// enrollmentState is what the exporter keeps in memory per enrollment: its
// backoff and a cached uploader, rebuilt when the enrollment changes.
type enrollmentState struct {
	backoff     time.Duration
	retryAt     time.Time
	fingerprint string
	uploader    Uploader
	secret      string
	// buf holds the events after the cursor bufAfter read so far, while
	// they wait for the batch to fill or age.
	buf      []*aip.ExportEvent
	bufAfter int64
}

// Run exports until ctx is done, one pass right away and then one every
// PollInterval. It returns nil once ctx is cancelled: failures are per
// enrollment, recorded with it and retried with backoff.
func (x *Exporter) Run(ctx context.Context) error {
	if x.Store == nil {
		return errors.New("export: no store")
	}
	ticker := time.NewTicker(x.pollInterval())
	defer ticker.Stop()
	for {
		if err := x.pass(ctx); err != nil && ctx.Err() == nil {
			x.logger().Error("s3 export pass failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// pass exports what is due for every enabled enrollment not backing off.
func (x *Exporter) pass(ctx context.Context) error {
	enrollments, err := x.Store.EnabledS3Enrollments(ctx)
	if err != nil {
		return fmt.Errorf("list enabled s3 enrollments: %w", err)
	}
	now := x.now()
	x.mu.Lock()
	if x.state == nil {
		x.state = make(map[enrollmentKey]*enrollmentState)
	}
	live := make(map[enrollmentKey]bool, len(enrollments))
	type job struct {
		e  *aip.S3Enrollment
		st *enrollmentState
	}
	var jobs []job
	for _, e := range enrollments {
		k := enrollmentKey{e.OrgID, e.S3Bucket}
		live[k] = true
		st := x.state[k]
		if st == nil {
			st = &enrollmentState{}
			x.state[k] = st
		}
		if now.Before(st.retryAt) {
			continue
		}
		jobs = append(jobs, job{e, st})
	}
	// Forget deleted and disabled enrollments: re-enabling one starts
	// without a stale backoff.
	for k := range x.state {
		if !live[k] {
			delete(x.state, k)
		}
	}
	x.mu.Unlock()

	sem := make(chan struct{}, x.workers())
	var wg sync.WaitGroup
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			x.runEnrollment(ctx, j.e, j.st)
		}()
	}
	wg.Wait()
	return nil
}

// runEnrollment exports what is due for e and records the outcome: a
// failure is stored with the enrollment and backs it off.
func (x *Exporter) runEnrollment(ctx context.Context, e *aip.S3Enrollment, st *enrollmentState) {
	err := x.exportEnrollment(ctx, e, st)
	if err != nil {
		st.buf = nil // read again from the store's cursor
	}
	if err == nil {
		st.backoff, st.retryAt = 0, time.Time{}
		return
	}
	if ctx.Err() != nil {
		return // shutting down: not the store's fault
	}
	if st.backoff == 0 {
		st.backoff = minBackoff
	} else {
		st.backoff = min(2*st.backoff, x.maxBackoff())
	}
	st.retryAt = x.now().Add(st.backoff)
	msg := redact(err.Error(), st.secret)
	x.logger().Warn("s3 export failed", slog.String("organization_id", e.OrgID),
		slog.String("bucket", e.S3Bucket), slog.String("error", msg), slog.Duration("retry_in", st.backoff))
	if rerr := x.Store.RecordExportError(ctx, e.OrgID, e.S3Bucket, msg); rerr != nil && ctx.Err() == nil {
		x.logger().Error("record s3 export error", slog.String("organization_id", e.OrgID),
			slog.String("bucket", e.S3Bucket), slog.Any("error", rerr))
	}
}

// exportEnrollment uploads e's pending object if any, then every object
// due, until what is left is a batch too small and too young to flush.
func (x *Exporter) exportEnrollment(ctx context.Context, e *aip.S3Enrollment, st *enrollmentState) error {
	up, err := x.uploader(ctx, e, st)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		state, err := x.Store.ExportState(ctx, e.OrgID, e.S3Bucket)
		if err != nil {
			return fmt.Errorf("read export state: %w", err)
		}
		if p := state.Pending; p != nil {
			// A plan left by a crash or a failed upload: the same bytes
			// again under the same key, never a different object.
			evs, err := x.pendingEvents(ctx, e.OrgID, p)
			if err != nil {
				return err
			}
			if err := x.upload(ctx, e, up, p, evs); err != nil {
				return err
			}
			continue
		}
		evs, err := x.batch(ctx, e.OrgID, state.CursorSeq, st)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		if len(evs) < x.maxEvents() && x.now().Sub(receivedAt(evs[0])) < x.flushAfter() {
			return nil // wait for more, or for the oldest to age
		}
		o := &aip.ExportObject{
			Sequence: state.NextObject,
			Key:      ObjectKey(e.Prefix, e.OrgID, evs[0].Event, state.NextObject),
			AfterSeq: state.CursorSeq,
			LastSeq:  evs[len(evs)-1].Seq,
			Events:   len(evs),
		}
		st.buf = nil // the next batch starts after this one
		if err := x.Store.PlanExportObject(ctx, e.OrgID, e.S3Bucket, o); err != nil {
			return fmt.Errorf("plan object %s: %w", o.Key, err)
		}
		if err := x.upload(ctx, e, up, o, evs); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// batch returns the next events after cursor, at most MaxEvents. The
// events of a batch too young to flush stay in st, so that each poll reads
// only what arrived since instead of the whole batch again.
func (x *Exporter) batch(ctx context.Context, orgID string, cursor int64, st *enrollmentState) ([]*aip.ExportEvent, error) {
	if st.bufAfter != cursor {
		// Another node moved the cursor, or the buffer was dropped.
		st.buf, st.bufAfter = nil, cursor
	}
	after := cursor
	if len(st.buf) > 0 {
		after = st.buf[len(st.buf)-1].Seq
	}
	if need := x.maxEvents() - len(st.buf); need > 0 {
		more, err := x.Store.EventsAfter(ctx, orgID, after, need)
		if err != nil {
			st.buf = nil
			return nil, fmt.Errorf("read events after %d: %w", after, err)
		}
		st.buf = append(st.buf, more...)
	}
	return st.buf, nil
}

// pendingEvents reads back the events of the planned object p. The store
// never commits an event below a sequence it has returned, so they are the
// events the plan was made from, unless some were deleted since.
func (x *Exporter) pendingEvents(ctx context.Context, orgID string, p *aip.ExportObject) ([]*aip.ExportEvent, error) {
	evs, err := x.Store.EventsAfter(ctx, orgID, p.AfterSeq, p.Events)
	if err != nil {
		return nil, fmt.Errorf("read events of pending object %s: %w", p.Key, err)
	}
	n := 0
	for n < len(evs) && evs[n].Seq <= p.LastSeq {
		n++
	}
	evs = evs[:n]
	if len(evs) == 0 || len(evs) != p.Events || evs[len(evs)-1].Seq != p.LastSeq {
		return nil, fmt.Errorf("pending object %s: %d of its %d events (%d, %d] are left, it cannot be rebuilt",
			p.Key, len(evs), p.Events, p.AfterSeq, p.LastSeq)
	}
	return evs, nil
}

// upload writes the planned object o of evs and confirms it.
func (x *Exporter) upload(ctx context.Context, e *aip.S3Enrollment, up Uploader, o *aip.ExportObject, evs []*aip.ExportEvent) error {
	body, err := Encode(evs)
	if err != nil {
		return fmt.Errorf("encode object %s: %w", o.Key, err)
	}
	upCtx, cancel := context.WithTimeout(ctx, x.uploadTimeout())
	err = up.PutObject(upCtx, o.Key, body)
	cancel()
	if err != nil {
		return fmt.Errorf("upload %s to bucket %s: %w", o.Key, e.S3Bucket, err)
	}
	if err := x.Store.CompleteExportObject(ctx, e.OrgID, e.S3Bucket, o.Sequence, x.now()); err != nil {
		return fmt.Errorf("complete object %s: %w", o.Key, err)
	}
	x.logger().Debug("s3 object exported", slog.String("organization_id", e.OrgID),
		slog.String("bucket", e.S3Bucket), slog.String("key", o.Key), slog.Int("events", o.Events))
	return nil
}

// uploader returns e's cached uploader, rebuilt when the enrollment's
// destination or credentials changed since.
func (x *Exporter) uploader(ctx context.Context, e *aip.S3Enrollment, st *enrollmentState) (Uploader, error) {
	fp := fingerprint(e)
	if st.uploader != nil && st.fingerprint == fp {
		return st.uploader, nil
	}
	secret := ""
	if len(e.SecretSealed) > 0 {
		if x.Keyring == nil {
			return nil, errors.New("open the secret access key: no keyring")
		}
		s, err := x.Keyring.Open(SecretOwner(e.OrgID, e.S3Bucket), e.SecretSealed)
		if err != nil {
			return nil, fmt.Errorf("open the secret access key: %w", err)
		}
		secret = s
	}
	newUploader := x.NewUploader
	if newUploader == nil {
		newUploader = NewS3Uploader
	}
	up, err := newUploader(ctx, e, secret)
	if err != nil {
		return nil, fmt.Errorf("s3 client for bucket %s: %w", e.S3Bucket, err)
	}
	st.uploader, st.fingerprint, st.secret = up, fp, secret
	return up, nil
}

// fingerprint identifies what an uploader is built from.
func fingerprint(e *aip.S3Enrollment) string {
	return strings.Join([]string{e.S3Bucket, e.Region, e.Endpoint, e.AccessKeyID, fmt.Sprint(e.PathStyle),
		e.IAMRoleArn, e.IAMRoleArnExternalID, fmt.Sprintf("%x", e.SecretSealed)}, "\x00")
}

// ObjectKey is the key of an object whose first event is first:
// <prefix>/<organization_id>/<yyyy>/<mm>/<dd>/<hh>/<first-event-time>-<sequence>.jsonl.gz,
// in UTC, the time being the event's own (its arrival when it has none),
// the sequence zero-padded so that keys sort in export order within an hour.
func ObjectKey(prefix, orgID string, first *aip.Event, sequence int64) string {
	t := first.Time
	if t.IsZero() {
		t = first.ReceivedAt
	}
	t = t.UTC()
	key := fmt.Sprintf("%s/%04d/%02d/%02d/%02d/%d-%010d.jsonl.gz",
		orgID, t.Year(), int(t.Month()), t.Day(), t.Hour(), t.UnixMilli(), sequence)
	if p := strings.TrimRight(prefix, "/"); p != "" {
		key = p + "/" + key
	}
	return key
}

// Encode renders evs as an object: one event per line as it was stored,
// gzip-compressed with an empty header (no name, no time), so that the
// same events always give the same bytes.
func Encode(evs []*aip.ExportEvent) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf) // the zero Header: no name, ModTime 0
	var line bytes.Buffer
	for _, ev := range evs {
		raw := []byte(ev.Event.Raw)
		if len(raw) == 0 {
			raw = []byte("{}")
		}
		if bytes.ContainsAny(raw, "\r\n") {
			// JSON Lines needs one line per event.
			line.Reset()
			if err := json.Compact(&line, raw); err != nil {
				return nil, fmt.Errorf("event %s: %w", ev.Event.ID, err)
			}
			raw = line.Bytes()
		}
		if _, err := zw.Write(raw); err != nil {
			return nil, err
		}
		if _, err := zw.Write([]byte{'\n'}); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// receivedAt is an event's arrival time, which ages the batch.
func receivedAt(ev *aip.ExportEvent) time.Time {
	if !ev.ReceivedAt.IsZero() {
		return ev.ReceivedAt
	}
	return ev.Event.ReceivedAt
}

// redact removes secret from msg and bounds its length: the message is
// shown to the organization and logged.
func redact(msg, secret string) string {
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "[redacted]")
	}
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	return msg
}

func (x *Exporter) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

func (x *Exporter) logger() *slog.Logger {
	if x.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return x.Logger
}

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func (x *Exporter) pollInterval() time.Duration {
	return orDuration(x.PollInterval, DefaultPollInterval)
}
func (x *Exporter) flushAfter() time.Duration { return orDuration(x.FlushAfter, DefaultFlushAfter) }
func (x *Exporter) maxBackoff() time.Duration { return orDuration(x.MaxBackoff, DefaultMaxBackoff) }
func (x *Exporter) uploadTimeout() time.Duration {
	return orDuration(x.UploadTimeout, DefaultUploadTimeout)
}

func (x *Exporter) maxEvents() int {
	if x.MaxEvents <= 0 {
		return DefaultMaxEvents
	}
	return x.MaxEvents
}

func (x *Exporter) workers() int {
	if x.Workers <= 0 {
		return DefaultWorkers
	}
	return x.Workers
}
