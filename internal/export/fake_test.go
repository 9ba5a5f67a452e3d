package export

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aipsec/aip"
)

// fakeStore is an in-memory aip.S3ExportStore following the interface's
// contract, for the engine's unit tests.
type fakeStore struct {
	mu          sync.Mutex
	events      map[string][]*aip.ExportEvent // by org, in seq order
	seq         int64
	enrollments map[enrollmentKey]*aip.S3Enrollment
	states      map[enrollmentKey]*aip.ExportState
	// failComplete makes the next CompleteExportObject calls fail, as a
	// crash between upload and confirmation would leave things.
	failComplete int
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		events:      map[string][]*aip.ExportEvent{},
		enrollments: map[enrollmentKey]*aip.S3Enrollment{},
		states:      map[enrollmentKey]*aip.ExportState{},
	}
}

// add appends n events of org received at at, with ids prefix-i.
func (s *fakeStore) add(org string, n int, at time.Time, prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range n {
		s.seq++
		id := fmt.Sprintf("%s-%d", prefix, i)
		ev := &aip.Event{ID: id, OrgID: org, Time: at.Add(-time.Second), ReceivedAt: at,
			Raw: []byte(fmt.Sprintf(`{"_id":%q,"n":%d}`, id, i))}
		s.events[org] = append(s.events[org], &aip.ExportEvent{Seq: s.seq, ReceivedAt: at, Event: ev})
	}
}

func (s *fakeStore) PutS3Enrollment(_ context.Context, e *aip.S3Enrollment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := enrollmentKey{e.OrgID, e.S3Bucket}
	c := *e
	s.enrollments[k] = &c
	if s.states[k] == nil {
		s.states[k] = &aip.ExportState{}
	}
	return nil
}

func (s *fakeStore) ListS3Enrollments(_ context.Context, orgID string) ([]*aip.S3Enrollment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*aip.S3Enrollment
	for k, e := range s.enrollments {
		if k.org == orgID {
			c := *e
			out = append(out, &c)
		}
	}
	return out, nil
}

func (s *fakeStore) DeleteS3Enrollment(_ context.Context, orgID, bucket string) (*aip.S3Enrollment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := enrollmentKey{orgID, bucket}
	e := s.enrollments[k]
	if e == nil {
		return nil, &aip.Error{Code: aip.ENOTFOUND, Message: "no such enrollment"}
	}
	delete(s.enrollments, k)
	delete(s.states, k)
	return e, nil
}

func (s *fakeStore) EnabledS3Enrollments(context.Context) ([]*aip.S3Enrollment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*aip.S3Enrollment
	for _, e := range s.enrollments {
		if e.Enabled {
			c := *e
			out = append(out, &c)
		}
	}
	return out, nil
}

func (s *fakeStore) ExportState(_ context.Context, orgID, bucket string) (*aip.ExportState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.states[enrollmentKey{orgID, bucket}]
	if st == nil {
		return nil, &aip.Error{Code: aip.ENOTFOUND, Message: "no such enrollment"}
	}
	c := *st
	if st.Pending != nil {
		p := *st.Pending
		c.Pending = &p
	}
	return &c, nil
}

func (s *fakeStore) EventsAfter(_ context.Context, orgID string, afterSeq int64, limit int) ([]*aip.ExportEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*aip.ExportEvent
	for _, ev := range s.events[orgID] {
		if ev.Seq > afterSeq && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (s *fakeStore) PlanExportObject(_ context.Context, orgID, bucket string, o *aip.ExportObject) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.states[enrollmentKey{orgID, bucket}]
	if st == nil {
		return &aip.Error{Code: aip.ENOTFOUND, Message: "no such enrollment"}
	}
	if st.Pending != nil || o.Sequence != st.NextObject {
		return &aip.Error{Code: aip.ECONFLICT, Message: "an object is pending"}
	}
	p := *o
	st.Pending = &p
	return nil
}

func (s *fakeStore) CompleteExportObject(_ context.Context, orgID, bucket string, sequence int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failComplete > 0 {
		s.failComplete--
		return fmt.Errorf("crashed before completing")
	}
	k := enrollmentKey{orgID, bucket}
	st := s.states[k]
	if st == nil || st.Pending == nil || st.Pending.Sequence != sequence {
		return &aip.Error{Code: aip.ECONFLICT, Message: "no such pending object"}
	}
	st.CursorSeq = st.Pending.LastSeq
	st.NextObject = sequence + 1
	st.Pending = nil
	e := s.enrollments[k]
	e.LastExportedAt = aip.Time{Time: at}
	e.LastError = ""
	return nil
}

func (s *fakeStore) RecordExportError(_ context.Context, orgID, bucket, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.enrollments[enrollmentKey{orgID, bucket}]
	if e == nil {
		return &aip.Error{Code: aip.ENOTFOUND, Message: "no such enrollment"}
	}
	e.LastError = msg
	return nil
}

func (s *fakeStore) state(org, bucket string) aip.ExportState {
	st, err := s.ExportState(context.Background(), org, bucket)
	if err != nil {
		panic(err)
	}
	return *st
}

func (s *fakeStore) enrollment(org, bucket string) aip.S3Enrollment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.enrollments[enrollmentKey{org, bucket}]
}

var _ aip.S3ExportStore = (*fakeStore)(nil)

// put is one PutObject call.
type put struct {
	Key  string
	Body []byte
}

// fakeUploader records uploads; fail returns the error of the nth call
// (0-based), nil to succeed.
type fakeUploader struct {
	mu   sync.Mutex
	puts []put
	fail func(n int) error
}

func (u *fakeUploader) PutObject(_ context.Context, key string, body []byte) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := len(u.puts)
	u.puts = append(u.puts, put{key, append([]byte(nil), body...)})
	if u.fail != nil {
		return u.fail(n)
	}
	return nil
}

func (u *fakeUploader) calls() []put {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]put(nil), u.puts...)
}

// clock is a settable fake time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
