package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var testSecret = []byte("whsec_dispatch")

// setup returns an outbox holding one delivery per URL (ids d0, d1, …), a dispatcher on a
// fake clock at t0 with draws fixed at 0.5 (first retry 5 s later), allowed to reach httptest.
func setup(t *testing.T, urls ...string) (*MemoryOutbox, *Dispatcher, *fakeClock) {
	t.Helper()
	var ob MemoryOutbox
	for i, u := range urls {
		d := Delivery{ID: "d" + string(rune('0'+i)), WebhookID: "wh1", OrgID: "org1", URL: u,
			Secret: testSecret, Body: []byte(`{"alerts":[{"id":"a1","created_at":1}]}`), CreatedAt: t0}
		if err := ob.Enqueue(d); err != nil {
			t.Fatalf("Enqueue() error = %v", err)
		}
	}
	clock := &fakeClock{now: t0}
	d := &Dispatcher{Outbox: &ob, AllowPrivate: true, Now: clock.Now, Backoff: Backoff{Rand: fixedRand(0.5)}}
	return &ob, d, clock
}

func runOnce(t *testing.T, d *Dispatcher, want int) {
	t.Helper()
	n, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce() error = %v", err)
	}
	if n != want {
		t.Fatalf("RunOnce() attempted %d, want %d", n, want)
	}
}

func record(t *testing.T, ob *MemoryOutbox, id string) Record {
	t.Helper()
	r, ok := ob.Get(id)
	if !ok {
		t.Fatalf("delivery %s missing", id)
	}
	return r
}

func TestDispatcherDeliversSignedRequest(t *testing.T) {
	type seen struct {
		method, contentType, userAgent, delivery string
		verifyErr                                error
		body                                     string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), r.Header.Get(DeliveryHeader),
			Verify(testSecret, r.Header.Get(SignatureHeader), body, t0, time.Minute), string(body)}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	ob, d, _ := setup(t, srv.URL)

	runOnce(t, d, 1)

	want := seen{"POST", "application/json", "aip-webhook/1", "d0", nil, `{"alerts":[{"id":"a1","created_at":1}]}`}
	if diff := cmp.Diff(want, <-got, cmp.AllowUnexported(seen{}), cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("request mismatch (-want +got):\n%s", diff)
	}
	rec := record(t, ob, "d0")
	if rec.State != StateDelivered || rec.LastStatus != 204 || rec.Attempts != 1 || !rec.LastAttemptAt.Equal(t0) {
		t.Errorf("record = %+v, want delivered with 204 after 1 attempt at t0", rec)
	}
}

func TestDispatcherRetriesAtComputedTime(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	ob, d, clock := setup(t, srv.URL)

	runOnce(t, d, 1)
	rec := record(t, ob, "d0")
	if want := t0.Add(5 * time.Second); rec.State != StatePending || rec.LastStatus != 500 || !rec.NextAt.Equal(want) {
		t.Fatalf("after 500: record = %+v, want pending with 500 due at %s", rec, want)
	}

	clock.Advance(5*time.Second - time.Millisecond)
	runOnce(t, d, 0)

	clock.Advance(time.Millisecond)
	runOnce(t, d, 1)
	rec = record(t, ob, "d0")
	if rec.State != StateDelivered || rec.Attempts != 2 || hits.Load() != 2 {
		t.Errorf("record = %+v after %d hits, want delivered after 2 attempts", rec, hits.Load())
	}
}

func TestDispatcherStatusOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantState  State
		wantNext   time.Time // checked for pending deliveries
	}{
		{"delivers on 200", 200, "", StateDelivered, time.Time{}},
		{"delivers on 202", 202, "", StateDelivered, time.Time{}},
		{"abandons on 410", 410, "", StateAbandoned, time.Time{}},
		{"retries 404 with backoff", 404, "", StatePending, t0.Add(5 * time.Second)},
		{"retries 401 with backoff", 401, "", StatePending, t0.Add(5 * time.Second)},
		{"retries 408 with backoff", 408, "", StatePending, t0.Add(5 * time.Second)},
		{"retries 500 with backoff", 500, "", StatePending, t0.Add(5 * time.Second)},
		{"honours Retry-After on 429", 429, "120", StatePending, t0.Add(2 * time.Minute)},
		{"honours Retry-After on 503", 503, "30", StatePending, t0.Add(30 * time.Second)},
		{"uses backoff on 429 without Retry-After", 429, "", StatePending, t0.Add(5 * time.Second)},
		{"ignores Retry-After on 500", 500, "120", StatePending, t0.Add(5 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			ob, d, _ := setup(t, srv.URL)

			runOnce(t, d, 1)

			rec := record(t, ob, "d0")
			if rec.State != tt.wantState || rec.LastStatus != tt.status || rec.Attempts != 1 {
				t.Fatalf("record = %+v, want %s with status %d", rec, tt.wantState, tt.status)
			}
			if tt.wantState == StatePending && !rec.NextAt.Equal(tt.wantNext) {
				t.Errorf("NextAt = %s, want %s", rec.NextAt, tt.wantNext)
			}
		})
	}
}

func TestDispatcherAbandonsAfterRetryWindow(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	ob, d, clock := setup(t, srv.URL)
	clock.Advance(24 * time.Hour)

	runOnce(t, d, 1)

	rec := record(t, ob, "d0")
	if rec.State != StateAbandoned || rec.LastStatus != 502 || !strings.Contains(rec.LastError, "gave up") {
		t.Errorf("record = %+v, want abandoned with 502 and a give-up message", rec)
	}
}

func TestDispatcherTimeout(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	// Cleanups run last-registered first: drop connections before Close
	// waits for them, so a handler still blocked in a body read cannot hang it.
	t.Cleanup(srv.CloseClientConnections)
	ob, d, _ := setup(t, srv.URL)
	d.Timeout = 50 * time.Millisecond

	runOnce(t, d, 1)

	rec := record(t, ob, "d0")
	if rec.State != StatePending || rec.LastStatus != 0 || !strings.Contains(rec.LastError, "timeout") ||
		!rec.NextAt.Equal(t0.Add(5*time.Second)) {
		t.Errorf("record = %+v, want pending after a timeout, due in 5s", rec)
	}
}

func TestDispatcherDoesNotFollowRedirects(t *testing.T) {
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targetHits.Add(1)
	}))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	for _, name := range []string{"default client", "caller client"} {
		t.Run("refuses redirect with "+name, func(t *testing.T) {
			ob, d, _ := setup(t, srv.URL)
			if name == "caller client" {
				d.Client = &http.Client{} // follows redirects unless the dispatcher overrides it
			}
			runOnce(t, d, 1)
			rec := record(t, ob, "d0")
			if rec.State != StatePending || rec.LastStatus != 307 || targetHits.Load() != 0 {
				t.Errorf("record = %+v, target hits %d; want pending with 307 and no hit", rec, targetHits.Load())
			}
		})
	}
}

// countingTransport counts response body bytes the dispatcher reads.
type countingTransport struct {
	base http.RoundTripper
	read *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	read *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func TestDispatcherCapsResponseBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for range 256 { // 8 MiB, far beyond the cap
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ob, d, _ := setup(t, srv.URL)
	var read atomic.Int64
	d.Client = &http.Client{Transport: countingTransport{http.DefaultTransport.(*http.Transport).Clone(), &read}}

	runOnce(t, d, 1)

	if rec := record(t, ob, "d0"); rec.State != StateDelivered {
		t.Errorf("record = %+v, want delivered", rec)
	}
	if got := read.Load(); got > DefaultMaxResponse {
		t.Errorf("read %d body bytes, want at most %d", got, DefaultMaxResponse)
	}
}

func TestDispatcherRespectsConcurrency(t *testing.T) {
	var (
		mu             sync.Mutex
		active, peak   int
		arrive         = make(chan struct{}, 16)
		release        = make(chan struct{}, 16)
		urls           []string
		deliveredCount int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		active++
		peak = max(peak, active)
		mu.Unlock()
		arrive <- struct{}{}
		<-release
		mu.Lock()
		active--
		mu.Unlock()
	}))
	defer srv.Close()
	for range 6 {
		urls = append(urls, srv.URL)
	}
	ob, d, _ := setup(t, urls...)
	d.Concurrency = 2

	done := make(chan error, 1)
	go func() {
		_, err := d.RunOnce(context.Background())
		done <- err
	}()
	// Release requests two at a time, only once two are held: a third concurrent request
	// would raise the peak above 2.
	for range 3 {
		<-arrive
		<-arrive
		release <- struct{}{}
		release <- struct{}{}
	}
	if err := <-done; err != nil {
		t.Fatalf("RunOnce() error = %v", err)
	}
	for i := range 6 {
		if record(t, ob, "d"+string(rune('0'+i))).State == StateDelivered {
			deliveredCount++
		}
	}
	if peak != 2 || deliveredCount != 6 {
		t.Errorf("peak concurrency %d with %d delivered, want 2 with 6", peak, deliveredCount)
	}
}

func TestDispatcherRunStopsGracefully(t *testing.T) {
	arrived := make(chan struct{}, 1)
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	ob, d, _ := setup(t, srv.URL)
	d.PollInterval = 10 * time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-arrived
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() error = %v", err)
	}

	rec := record(t, ob, "d0")
	if rec.State != StatePending || rec.Attempts != 1 || !rec.NextAt.Equal(t0) || !strings.Contains(rec.LastError, "stopped") {
		t.Errorf("record = %+v, want pending, due again at t0, marked stopped", rec)
	}
}

func TestDispatcherRunDeliversBacklog(t *testing.T) {
	var hits atomic.Int32
	allDone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 5 {
			close(allDone)
		}
	}))
	defer srv.Close()
	ob, d, _ := setup(t, srv.URL, srv.URL, srv.URL, srv.URL, srv.URL)
	d.Concurrency = 2
	d.PollInterval = time.Hour // later batches must start from completion wake-ups, not polls

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-allDone
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	for i := range 5 {
		id := "d" + string(rune('0'+i))
		// A delivery answered just before cancel may have been recorded as delivered or, if
		// the cancel won the race with reading the response, as stopped; never lost.
		if rec := record(t, ob, id); rec.Attempts != 1 {
			t.Errorf("%s: record = %+v, want exactly one recorded attempt", id, rec)
		}
	}
}

func TestDispatcherRefusesPrivateDestination(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()
	ob, d, _ := setup(t, srv.URL, "ftp://example.com/hook")
	d.AllowPrivate = false

	runOnce(t, d, 2)

	tests := []struct {
		id, wantErr string
	}{
		{"d0", ErrForbiddenDestination.Error()},
		{"d1", "invalid webhook URL"},
	}
	for _, tt := range tests {
		rec := record(t, ob, tt.id)
		if rec.State != StateAbandoned || rec.LastStatus != 0 || !strings.Contains(rec.LastError, tt.wantErr) {
			t.Errorf("%s: record = %+v, want abandoned with %q", tt.id, rec, tt.wantErr)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("server got %d requests, want 0", hits.Load())
	}
}

type failingOutbox struct{ MemoryOutbox }

func (*failingOutbox) Due(context.Context, time.Time, int) ([]Delivery, error) {
	return nil, errors.New("database is locked")
}

func TestDispatcherErrors(t *testing.T) {
	t.Run("rejects missing outbox", func(t *testing.T) {
		if err := (&Dispatcher{}).Run(context.Background()); err == nil {
			t.Error("Run() without Outbox succeeded")
		}
	})
	t.Run("reports outbox failure from RunOnce", func(t *testing.T) {
		_, err := (&Dispatcher{Outbox: &failingOutbox{}}).RunOnce(context.Background())
		if err == nil || !strings.Contains(err.Error(), "database is locked") {
			t.Errorf("RunOnce() error = %v, want the outbox error", err)
		}
	})
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name, in string
		wantLen  int
	}{
		{"keeps a short message", "receiver answered 500", 21},
		{"cuts a long message to the cap", strings.Repeat("a", 2*maxErrMsg), maxErrMsg},
		{"drops a rune split by the cut", strings.Repeat("a", maxErrMsg-1) + "é", maxErrMsg - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := truncate(tt.in); len(got) != tt.wantLen {
				t.Errorf("len(truncate()) = %d, want %d", len(got), tt.wantLen)
			}
		})
	}
}
