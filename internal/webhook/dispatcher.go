package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Dispatcher defaults.
const (
	DefaultConcurrency  = 4
	DefaultPollInterval = time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultMaxResponse  = 64 << 10
)

// outboxTimeout bounds each Mark* call, which must still run after Run's context is cancelled.
const outboxTimeout = 5 * time.Second

// maxErrMsg bounds the error text stored per attempt (it is shown in the webhook's GET).
const maxErrMsg = 512

// Dispatcher drains an Outbox, POSTing each due delivery signed with its webhook's secret.
//
// Outcomes: 2xx is delivered. 410 Gone abandons at once (the receiver says it is gone for
// good). A refused destination (see AllowPrivate) or a URL that is not http(s) also abandons
// at once: retrying cannot change the answer. Everything else — network errors, timeouts,
// 3xx (never followed), 408, 429, other 4xx (receivers are often misconfigured for a while,
// e.g. a rotated secret or a redeploy) and 5xx — is retried per Backoff until the 24 h
// window is over. 429 and 503 honour Retry-After, clamped to [Backoff.Floor, Backoff.Cap].
//
// Only Outbox is required; the other fields have working zero values.
type Dispatcher struct {
	// Outbox supplies due deliveries and records their outcomes.
	Outbox Outbox
	// Client sends the requests. Nil means NewClient(AllowPrivate). A caller-supplied client
	// is used with redirects disabled; its transport is responsible for address filtering.
	Client *http.Client
	// AllowPrivate lets the default client reach loopback, private and link-local addresses.
	// Leave it false in production: webhook URLs are tenant input.
	AllowPrivate bool
	// Now is the clock (default time.Now); it stamps signatures and schedules retries.
	Now func() time.Time
	// Logger receives one line per attempt (default: discard).
	Logger *slog.Logger
	// Concurrency caps simultaneous requests (default 4).
	Concurrency int
	// PollInterval is how often Run asks the outbox for due deliveries (default 1 s); Run
	// also polls as soon as a request finishes, to keep a backlog moving.
	PollInterval time.Duration
	// Timeout bounds each request, response headers and capped body included (default 10 s).
	Timeout time.Duration
	// MaxResponseBody is how much of a response body is read, then discarded (default 64 KiB).
	MaxResponseBody int64
	// Backoff is the retry schedule (zero value: the documented defaults).
	Backoff Backoff
}

// Run sends due deliveries until ctx is cancelled. On cancellation the requests in flight are
// aborted and recorded as failed attempts due again immediately, so the next Run resends them
// (receivers deduplicate on X-AIP-Delivery); Run returns once they are recorded. Outbox errors
// are logged and retried at the next poll. Run returns an error only for a misconfiguration.
func (d *Dispatcher) Run(ctx context.Context) error {
	r, err := d.newRunner(false)
	if err != nil {
		return err
	}
	defer r.wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-r.wake:
		}
		if _, err := r.poll(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("webhook outbox poll failed", "err", err)
		}
		timer.Reset(r.pollInterval)
	}
}

// RunOnce sends every delivery due now, at most Concurrency at a time, and returns when all
// are recorded, with how many were attempted. A delivery is attempted at most once per call,
// so a failure due again at once cannot loop. It suits tests with a fake clock and cron-like
// callers.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	r, err := d.newRunner(true)
	if err != nil {
		return 0, err
	}
	defer r.wg.Wait()
	total := 0
	for {
		n, err := r.poll(ctx)
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 && r.active() == 0 {
			return total, nil
		}
		if n == 0 {
			select {
			case <-r.wake:
			case <-ctx.Done():
				return total, nil
			}
		}
	}
}

type runner struct {
	d            *Dispatcher
	client       *http.Client
	now          func() time.Time
	log          *slog.Logger
	concurrency  int
	pollInterval time.Duration
	timeout      time.Duration
	maxBody      int64
	backoff      Backoff
	// keepSeen makes skip remember finished deliveries too (RunOnce's once-per-call rule).
	keepSeen bool

	mu       sync.Mutex
	skip     map[string]struct{}
	inflight int
	wg       sync.WaitGroup
	wake     chan struct{}
}

func (d *Dispatcher) newRunner(keepSeen bool) (*runner, error) {
	if d.Outbox == nil {
		return nil, errors.New("webhook dispatcher: nil Outbox")
	}
	r := &runner{
		d:            d,
		client:       d.Client,
		now:          d.Now,
		log:          d.Logger,
		concurrency:  d.Concurrency,
		pollInterval: d.PollInterval,
		timeout:      d.Timeout,
		maxBody:      d.MaxResponseBody,
		backoff:      d.Backoff.withDefaults(),
		keepSeen:     keepSeen,
		skip:         make(map[string]struct{}),
		wake:         make(chan struct{}, 1),
	}
	if r.client == nil {
		r.client = NewClient(d.AllowPrivate)
	} else {
		c := *r.client
		c.CheckRedirect = noRedirect
		r.client = &c
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.concurrency <= 0 {
		r.concurrency = DefaultConcurrency
	}
	if r.pollInterval <= 0 {
		r.pollInterval = DefaultPollInterval
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.maxBody <= 0 {
		r.maxBody = DefaultMaxResponse
	}
	return r, nil
}

func (r *runner) active() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inflight
}

// poll starts as many due deliveries as free slots allow and reports how many it started.
func (r *runner) poll(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, nil
	}
	r.mu.Lock()
	free, skipped := r.concurrency-r.inflight, len(r.skip)
	r.mu.Unlock()
	if free <= 0 {
		return 0, nil
	}
	// Ask for enough to fill the free slots even if every skipped delivery comes back.
	due, err := r.d.Outbox.Due(ctx, r.now(), free+skipped)
	if err != nil {
		return 0, fmt.Errorf("webhook dispatcher: due: %w", err)
	}
	started := 0
	for _, del := range due {
		if started == free {
			break
		}
		r.mu.Lock()
		if _, busy := r.skip[del.ID]; busy {
			r.mu.Unlock()
			continue
		}
		r.skip[del.ID] = struct{}{}
		r.inflight++
		r.mu.Unlock()
		started++
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.deliver(ctx, del)
			r.mu.Lock()
			r.inflight--
			if !r.keepSeen {
				delete(r.skip, del.ID)
			}
			r.mu.Unlock()
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}()
	}
	return started, nil
}

// attempt is the outcome of one HTTP attempt.
type attempt struct {
	status     int
	err        error
	permanent  bool // abandon without retrying
	stopped    bool // aborted because the dispatcher is stopping
	retryAfter time.Duration
}

func (r *runner) deliver(ctx context.Context, del Delivery) {
	a := r.send(ctx, del)
	at := r.now()
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outboxTimeout)
	defer cancel()
	log := r.log.With("delivery", del.ID, "webhook", del.WebhookID, "org", del.OrgID, "attempt", del.Attempts+1)
	var err error
	switch {
	case a.err == nil && a.status >= 200 && a.status < 300:
		log.Debug("webhook delivered", "status", a.status)
		err = r.d.Outbox.MarkDelivered(octx, del.ID, at, a.status)
	case a.stopped:
		log.Info("webhook attempt aborted by shutdown; due again at once")
		err = r.d.Outbox.MarkFailed(octx, del.ID, at, a.status, errText(a), at)
	case a.permanent:
		log.Warn("webhook abandoned", "status", a.status, "err", errText(a))
		err = r.d.Outbox.MarkAbandoned(octx, del.ID, at, a.status, errText(a))
	default:
		next, abandon := r.backoff.Next(del.CreatedAt, at, del.Attempts+1)
		if abandon {
			msg := truncate(fmt.Sprintf("gave up after %d attempts over %s: %s", del.Attempts+1, r.backoff.MaxAge, errText(a)))
			log.Warn("webhook abandoned", "status", a.status, "err", msg)
			err = r.d.Outbox.MarkAbandoned(octx, del.ID, at, a.status, msg)
			break
		}
		if a.retryAfter > 0 {
			next = at.Add(a.retryAfter)
		}
		log.Info("webhook attempt failed", "status", a.status, "err", errText(a), "next", next)
		err = r.d.Outbox.MarkFailed(octx, del.ID, at, a.status, errText(a), next)
	}
	if err != nil {
		log.Error("webhook outcome not recorded", "err", err)
	}
}

func (r *runner) send(ctx context.Context, del Delivery) attempt {
	u, err := url.Parse(del.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return attempt{err: fmt.Errorf("invalid webhook URL %q: want an absolute http(s) URL", del.URL), permanent: true}
	}
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u.String(), bytes.NewReader(del.Body))
	if err != nil {
		return attempt{err: fmt.Errorf("build request: %w", err), permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(DeliveryHeader, del.ID)
	req.Header.Set(SignatureHeader, Sign(del.Secret, r.now(), del.Body))
	resp, err := r.client.Do(req)
	if err != nil {
		return r.transportFailure(ctx, rctx, err)
	}
	defer resp.Body.Close()
	// Read a bounded prefix so the connection can be reused for small answers; a larger
	// answer is cut off by closing the body, which drops the connection. The status alone
	// decides the outcome, so a failed read does not matter.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, r.maxBody))
	a := attempt{status: resp.StatusCode}
	switch {
	case a.status >= 200 && a.status < 300:
	case a.status == http.StatusGone:
		a.err, a.permanent = errors.New("receiver answered 410 Gone"), true
	case a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable:
		a.err = fmt.Errorf("receiver answered %d", a.status)
		a.retryAfter, _ = r.backoff.retryAfter(resp.Header, r.now())
	case a.status >= 300 && a.status < 400:
		a.err = fmt.Errorf("receiver answered %d redirect (not followed)", a.status)
	default:
		a.err = fmt.Errorf("receiver answered %d", a.status)
	}
	return a
}

func (r *runner) transportFailure(ctx, rctx context.Context, err error) attempt {
	switch {
	case errors.Is(err, ErrForbiddenDestination):
		return attempt{err: fmt.Errorf("refused: %w", err), permanent: true}
	case ctx.Err() != nil:
		return attempt{err: errors.New("dispatcher stopped before the receiver answered"), stopped: true}
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		return attempt{err: fmt.Errorf("timeout: no answer within %s", r.timeout)}
	}
	return attempt{err: fmt.Errorf("send: %w", err)}
}

func errText(a attempt) string {
	if a.err == nil {
		return ""
	}
	return truncate(a.err.Error())
}

// truncate bounds s, keeping it valid UTF-8 for the database and JSON views.
func truncate(s string) string {
	if len(s) > maxErrMsg {
		s = s[:maxErrMsg]
	}
	return strings.ToValidUTF8(s, "")
}
