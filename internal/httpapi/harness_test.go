package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/api"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/openapitest"
	"github.com/aipsec/aip/internal/ratelimit"
	"github.com/aipsec/aip/internal/store/sqlite"
)

// epoch is where every fake clock starts: a fixed instant keeps audit times,
// page tokens and Hawk timestamps reproducible.
var epoch = time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)

// fakeClock is the injectable clock of the server, its limiters and the
// clients: it only moves when a test says so.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sentMail is one mail the recording mailer was asked to send.
type sentMail struct{ To, Subject, Body string }

// recordingMailer keeps every mail instead of sending it.
type recordingMailer struct{ sent chan sentMail }

func newRecordingMailer() *recordingMailer { return &recordingMailer{sent: make(chan sentMail, 64)} }

// Send records the mail.
func (m *recordingMailer) Send(_ context.Context, to, subject, body string) error {
	m.sent <- sentMail{To: to, Subject: subject, Body: body}
	return nil
}

// next waits for the next mail: invites are mailed in the background.
func (m *recordingMailer) next(t testing.TB) sentMail {
	t.Helper()
	select {
	case ml := <-m.sent:
		return ml
	case <-time.After(10 * time.Second):
		t.Fatal("no mail was sent")
		return sentMail{}
	}
}

// logRecord is one captured slog record with its attributes flattened.
type logRecord struct {
	Level   slog.Level
	Message string
	Attrs   map[string]string
}

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []logRecord
}

// recHandler feeds a logRecorder, carrying attributes added with WithAttrs.
type recHandler struct {
	rec   *logRecorder
	attrs []slog.Attr
}

func (h recHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recHandler) Handle(_ context.Context, r slog.Record) error {
	lr := logRecord{Level: r.Level, Message: r.Message, Attrs: map[string]string{}}
	for _, a := range h.attrs {
		lr.Attrs[a.Key] = a.Value.Resolve().String()
	}
	r.Attrs(func(a slog.Attr) bool {
		lr.Attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	h.rec.mu.Lock()
	h.rec.recs = append(h.rec.recs, lr)
	h.rec.mu.Unlock()
	return nil
}

func (h recHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return recHandler{rec: h.rec, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h recHandler) WithGroup(string) slog.Handler { return h }

// records returns a copy of what was logged so far.
func (l *logRecorder) records() []logRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logRecord(nil), l.recs...)
}

// find returns the records with message msg.
func (l *logRecorder) find(msg string) []logRecord {
	var out []logRecord
	for _, r := range l.records() {
		if r.Message == msg {
			out = append(out, r)
		}
	}
	return out
}

// account is a user of one organization, with its API key.
type account struct {
	OrgID, UserID, APIKey, Email string
	Role                         aip.Role
}

// harness is one API server on a real SQLite store behind httptest, with
// every dependency under the test's control.
type harness struct {
	t       testing.TB
	clock   *fakeClock
	store   *sqlite.DB
	keys    *keyring.Keyring
	srv     *httpapi.Server
	ts      *httptest.Server
	mailer  *recordingMailer
	logs    *logRecorder
	reg     *prometheus.Registry
	http    *http.Client
	limiter *ratelimit.Memory
	// cfg is what the server was built with, for restart.
	cfg httpapi.Config
	// dbPath is the store's file, for a second node on the same database.
	dbPath string
}

// masterKey is fixed so that sealed keys and page tokens are reproducible.
var masterKey = bytes.Repeat([]byte{0x5a}, keyring.KeySize)

// newHarness starts a server. Limits default to values no test reaches by
// accident; opts adjust the configuration before the server is built.
func newHarness(t testing.TB, opts ...func(*httpapi.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "aip.db")
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	kr, err := keyring.New(masterKey)
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	h := &harness{
		t: t, clock: newFakeClock(epoch), store: st, keys: kr, dbPath: dbPath,
		mailer: newRecordingMailer(), logs: &logRecorder{}, reg: prometheus.NewRegistry(),
	}
	metrics, err := httpapi.NewMetrics(h.reg)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	h.limiter = ratelimit.NewMemory(h.clock.Now)
	cfg := httpapi.Config{
		Store:     st,
		Keyring:   kr,
		Nonces:    hawk.NewMemoryNonceStore(0),
		Limiter:   h.limiter,
		Locks:     ratelimit.NewMemoryLockStore(h.clock.Now),
		OrgLimit:  ratelimit.PerMinute(1_000_000),
		IPLimit:   ratelimit.PerMinute(1_000_000),
		IPLockout: 15 * time.Minute,
		Mailer:    h.mailer,
		Metrics:   metrics,
		Logger:    slog.New(recHandler{rec: h.logs}),
		Now:       h.clock.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	h.cfg = cfg
	h.srv, err = httpapi.New(cfg)
	if err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	h.ts = httptest.NewServer(h.srv)
	ops, err := api.Operations()
	if err != nil {
		t.Fatalf("api.Operations: %v", err)
	}
	h.http = &http.Client{
		Transport: &specTransport{base: h.ts.Client().Transport, v: openapitest.New(t), ops: ops, t: t},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	t.Cleanup(func() {
		h.ts.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.srv.Close(cctx); err != nil {
			t.Errorf("close server: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return h
}

// ctxKey marks values the spec-checking transport reads from a request.
type ctxKey int

const (
	ctxTest ctxKey = iota
	ctxAllow5xx
)

// ctx returns a context that makes the transport report on t, so that a
// failing check names the subtest that sent the request.
func (h *harness) ctx(t testing.TB) context.Context {
	return context.WithValue(context.Background(), ctxTest, t)
}

// allow5xx marks requests whose 5xx answer is the point of the test.
func allow5xx(ctx context.Context) context.Context { return context.WithValue(ctx, ctxAllow5xx, true) }

// specTransport checks every answer: invariants that hold for every route
// (JSON errors, rate-limit headers, no 5xx) and, for routes of
// api/openapi.yaml, conformance to the document.
type specTransport struct {
	base http.RoundTripper
	v    *openapitest.Validator
	ops  []api.Operation
	t    testing.TB
}

func (s *specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	t := s.t
	if ct, ok := req.Context().Value(ctxTest).(testing.TB); ok {
		t = ct
	}
	path := requestPath(req)
	checkInvariants(t, req, path, resp, body)
	if inSpec(s.ops, req.Method, path) {
		// The validator routes on a plain URL; the raw target may be
		// opaque or percent-encoded in ways its router does not decode.
		norm := req.Clone(context.Background())
		norm.URL = &url.URL{Path: path, RawQuery: req.URL.RawQuery}
		s.v.Check(t, norm, resp.StatusCode, resp.Header, body)
	}
	return resp, nil
}

// requestPath is the decoded path the server routes req on.
func requestPath(req *http.Request) string {
	if req.URL.Opaque == "" {
		return req.URL.Path
	}
	p, err := url.PathUnescape(req.URL.Opaque)
	if err != nil {
		return req.URL.Opaque
	}
	return p
}

// inSpec reports whether the document has an operation for method and path.
func inSpec(ops []api.Operation, method, path string) bool {
	for _, op := range ops {
		if op.Method == method && matchTemplate(op.Path, path) {
			return true
		}
	}
	return false
}

// matchTemplate matches an OpenAPI path template segment by segment.
func matchTemplate(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// checkInvariants reports what must hold for every answer of the server.
func checkInvariants(t testing.TB, req *http.Request, path string, resp *http.Response, body []byte) {
	t.Helper()
	name := req.Method + " " + req.URL.RequestURI()
	if resp.StatusCode >= 500 && req.Context().Value(ctxAllow5xx) == nil {
		t.Errorf("%s: answered %d: %s", name, resp.StatusCode, body)
	}
	if resp.StatusCode >= 400 {
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
			t.Errorf("%s: %d answer has Content-Type %q, want application/json", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if req.Method != http.MethodHead {
			if _, err := decodeErrors(body); err != nil {
				t.Errorf("%s: %d answer: %v", name, resp.StatusCode, err)
			}
		}
	}
	if path != "/healthz" {
		for _, k := range []string{"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"} {
			if _, err := strconv.ParseUint(resp.Header.Get(k), 10, 63); err != nil {
				t.Errorf("%s: %d answer: header %s = %q, want a non-negative integer", name, resp.StatusCode, k, resp.Header.Get(k))
			}
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("%s: 429 with Retry-After %q, want whole seconds >= 1", name, resp.Header.Get("Retry-After"))
		}
	}
	// Enrollment is authenticated by a deploy key, not Hawk.
	if resp.StatusCode == http.StatusUnauthorized && path != "/agent/v1/enroll" && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Hawk") {
		t.Errorf("%s: 401 with WWW-Authenticate %q", name, resp.Header.Get("WWW-Authenticate"))
	}
}

// decodeErrors strictly decodes the v2 error body and returns its messages.
func decodeErrors(body []byte) ([]string, error) {
	var e struct {
		Errors []string `json:"errors"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, errors.New("error body is not {\"errors\":[…]}: " + err.Error() + ": " + string(body))
	}
	if len(e.Errors) == 0 {
		return nil, errors.New("error body has no messages: " + string(body))
	}
	for _, m := range e.Errors {
		if m == "" {
			return nil, errors.New("error body has an empty message: " + string(body))
		}
	}
	return e.Errors, nil
}

// newOrg creates an organization in the store.
func (h *harness) newOrg(t testing.TB, name string) string {
	t.Helper()
	o := &aip.Organization{ID: aip.NewID24(), Name: name}
	if err := h.store.CreateOrganization(context.Background(), o); err != nil {
		t.Fatalf("create organization: %v", err)
	}
	return o.ID
}

// newUser creates a user with a fresh API key in the store.
func (h *harness) newUser(t testing.TB, email string, enabled bool) (userID, apiKey string) {
	t.Helper()
	key := keyring.NewAPIKey()
	u := &aip.User{ID: aip.NewID24(), Email: email, DisplayName: "User " + email, Enabled: enabled}
	sealed, err := h.keys.Seal(u.ID, key)
	if err != nil {
		t.Fatalf("seal key: %v", err)
	}
	if err := h.store.CreateUser(context.Background(), u, sealed); err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u.ID, key
}

// addMember puts a user into an organization directly through the store.
func (h *harness) addMember(t testing.TB, orgID, userID string, role aip.Role) {
	t.Helper()
	if err := h.store.PutMember(context.Background(), orgID, userID, role); err != nil {
		t.Fatalf("put member: %v", err)
	}
}

// newAccount creates an enabled user and makes it a member of orgID.
func (h *harness) newAccount(t testing.TB, orgID, email string, role aip.Role) account {
	t.Helper()
	id, key := h.newUser(t, email, true)
	h.addMember(t, orgID, id, role)
	return account{OrgID: orgID, UserID: id, APIKey: key, Email: email, Role: role}
}

// client returns the real Go client acting as a, on the fake clock and the
// spec-checking transport.
func (h *harness) client(t testing.TB, a account) *client.Client {
	t.Helper()
	c, err := client.New(h.ts.URL, a.UserID, a.APIKey, a.OrgID,
		client.WithHTTPClient(h.http), client.WithClock(h.clock.Now))
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

// rawRequest builds a request for the exact request-target target (path and
// query sent byte for byte as given).
func (h *harness) rawRequest(ctx context.Context, t testing.TB, method, target string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.ts.URL, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	path, query, hasQuery := strings.Cut(target, "?")
	req.URL.Opaque, req.URL.RawQuery, req.URL.ForceQuery = path, query, hasQuery && query == ""
	return req
}

// sign adds a Hawk header for a to req, over body as sent, and returns the
// artifacts to check the answer with. mod may alter the artifacts before
// the MAC is computed, to sign something else than what is sent.
func (h *harness) sign(t testing.TB, req *http.Request, a account, body []byte, mod func(*hawk.Artifacts)) *hawk.Artifacts {
	t.Helper()
	host, port, err := net.SplitHostPort(req.URL.Host)
	if err != nil {
		t.Fatalf("split %q: %v", req.URL.Host, err)
	}
	art := &hawk.Artifacts{
		Method: req.Method, Resource: req.URL.RequestURI(), Host: host, Port: port,
		TS: strconv.FormatInt(h.clock.Now().Unix(), 10), Nonce: hawk.NewNonce(), Ext: a.OrgID,
	}
	if len(body) > 0 {
		art.Hash = hawk.PayloadHash(req.Header.Get("Content-Type"), body)
	}
	if mod != nil {
		mod(art)
	}
	req.Header.Set("Authorization", hawk.Credentials{ID: a.UserID, Key: []byte(a.APIKey)}.RequestHeader(art))
	return art
}

// reply is a whole answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends req through the spec-checking client and reads the answer.
func (h *harness) do(t testing.TB, req *http.Request) reply {
	t.Helper()
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.RequestURI(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// signedDo sends a signed request as a with an optional JSON body.
func (h *harness) signedDo(t testing.TB, a account, method, target string, body []byte) (reply, *hawk.Artifacts) {
	t.Helper()
	req := h.rawRequest(h.ctx(t), t, method, target, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	art := h.sign(t, req, a, body, nil)
	return h.do(t, req), art
}

// errorsOf returns the messages of an error answer.
func errorsOf(t testing.TB, r reply) []string {
	t.Helper()
	msgs, err := decodeErrors(r.Body)
	if err != nil {
		t.Fatalf("%d answer: %v", r.Status, err)
	}
	return msgs
}

// verifySigned checks the Server-Authorization of an answer to art.
func verifySigned(t testing.TB, a account, art *hawk.Artifacts, r reply) {
	t.Helper()
	sa := r.Header.Get("Server-Authorization")
	if sa == "" {
		t.Fatalf("%d answer has no Server-Authorization", r.Status)
	}
	if err := hawk.VerifyResponse([]byte(a.APIKey), art, sa, r.Header.Get("Content-Type"), r.Body); err != nil {
		t.Errorf("%d answer: Server-Authorization %q does not verify: %v", r.Status, sa, err)
	}
}

// flushAudit waits until every audit record queued so far is stored.
func (h *harness) flushAudit(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := httpapi.FlushAudit(ctx, h.srv); err != nil {
		t.Fatalf("flush audit log: %v", err)
	}
}

// counter reads one counter of the harness registry; 0 when the series does
// not exist.
func (h *harness) counter(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m.GetLabel(), labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, lp := range got {
		if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}
