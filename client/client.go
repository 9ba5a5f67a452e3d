// Package client is a Go client for the aip REST API, the self-hosted
// reimplementation of the Threat Stack v2 API.
//
// A Client signs every request with Hawk (id = user id, key = API key,
// ext = organization id), verifies the server's Server-Authorization header
// on the answer, and exposes the API through per-resource services:
//
//	c, err := client.NewFromEnv()
//	members, resp, err := c.Members.List(ctx, nil)
//	for rec, err := range c.AuditLogs.All(ctx, &client.AuditLogListOptions{Operation: "delete"}) { … }
//
// Non-2xx answers come back as *ErrorResponse, *AuthError (401) or
// *RateLimitError (429); each unwraps to its *ErrorResponse.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aipsec/aip/hawk"
)

// Environment variables read by NewFromEnv. They are the names the official
// Threat Stack tools use and the ones aipd writes into credentials.env.
const (
	EnvEndpoint = "TS_API_ENDPOINT"
	EnvUserID   = "TS_USER_ID"
	EnvAPIKey   = "TS_API_KEY"
	EnvOrgID    = "TS_ORGANIZATION_ID"
)

const (
	defaultUserAgent = "aip-client-go"
	mediaTypeJSON    = "application/json"
	// maxResponseBytes bounds how much of a response body is buffered; the
	// whole body must be in memory to check its Hawk hash.
	maxResponseBytes = 64 << 20
)

// ErrResponseNotAuthentic reports a response to a signed request whose
// Server-Authorization header is missing (on a 2xx) or does not verify (on
// any status): its content cannot be trusted to come from the server.
var ErrResponseNotAuthentic = errors.New("response not authentic")

// Client talks to one aip server as one user in one organization. It is safe
// for concurrent use; its exported fields must not change once requests run.
type Client struct {
	// BaseURL is the server root, always ending in "/"; request paths are
	// resolved against it, so a path prefix is kept.
	BaseURL *url.URL
	// UserID is the Hawk id.
	UserID string
	// OrgID is sent as the Hawk ext and selects the organization.
	OrgID string
	// UserAgent is sent with every request.
	UserAgent string

	// Help reaches /help (the Hawk self-test).
	Help *HelpService
	// Members reaches /v2/organizations/members.
	Members *MembersService
	// Invites reaches /v2/organizations/invites.
	Invites *InvitesService
	// AuditLogs reaches /v2/auditlogs.
	AuditLogs *AuditLogsService
	// Rulesets reaches /v2/rulesets.
	Rulesets *RulesetsService
	// Rules reaches /v2/rulesets/{rulesetId}/rules.
	Rules *RulesService
	// Tags reaches /v2/rules/{ruleId}/tags.
	Tags *TagsService
	// Agents reaches /v2/agents.
	Agents *AgentsService
	// Alerts reaches /v2/alerts.
	Alerts *AlertsService
	// Webhooks reaches /v2/integrations/webhooks.
	Webhooks *WebhooksService
	// S3Export reaches /v2/integrations/s3export.
	S3Export *S3ExportService
	// Vulnerabilities reaches /v2/vulnerabilities.
	Vulnerabilities *VulnerabilitiesService
	// Suppressions reaches /v2/vulnerabilities/suppressions.
	Suppressions *SuppressionsService
	// EC2 reaches /v2/aws/ec2.
	EC2 *EC2Service

	httpClient *http.Client
	// creds sits behind a pointer so that printing a Client value with fmt
	// shows an address, never the key.
	creds           *hawk.Credentials
	verifyResponses bool
	retryRateLimit  bool
	maxRateWait     time.Duration
	now             func() time.Time
	newNonce        func() string
	// offset is added to now() when stamping requests: the server's clock
	// minus ours, learnt from a stale-timestamp answer (nanoseconds).
	offset atomic.Int64
}

// service is the common shape of every resource service.
type service struct{ client *Client }

// Option configures a Client in New or NewFromEnv.
type Option func(*Client)

// WithHTTPClient sends requests through hc instead of a private client that
// refuses redirects (a signed request replayed elsewhere would not verify).
// A nil hc is ignored.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithUserAgent replaces the User-Agent header value.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.UserAgent = ua }
}

// WithoutResponseVerification accepts responses without checking their
// Server-Authorization header, for servers that do not sign responses.
func WithoutResponseVerification() Option {
	return func(c *Client) { c.verifyResponses = false }
}

// WithClock replaces the wall clock used for Hawk timestamps. A nil now is
// ignored.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// WithRetryOnRateLimit makes the client wait out one 429 and retry once, when
// the server asks for a wait (Retry-After, else X-Rate-Limit-Reset) of at most
// maxWait. Longer waits, such as an IP lockout, still return *RateLimitError.
func WithRetryOnRateLimit(maxWait time.Duration) Option {
	return func(c *Client) {
		c.retryRateLimit = true
		c.maxRateWait = maxWait
	}
}

// New returns a client for the server at baseURL (http or https, optionally
// with a path prefix) acting as userID with apiKey inside orgID.
func New(baseURL, userID, apiKey, orgID string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: parse base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("client: base URL %q: scheme must be http or https", baseURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q has no host", baseURL)
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	if err := checkAttribute("user id", userID); err != nil {
		return nil, err
	}
	if err := checkAttribute("organization id", orgID); err != nil {
		return nil, err
	}
	if apiKey == "" {
		return nil, errors.New("client: API key is empty")
	}
	c := &Client{
		BaseURL:   u,
		UserID:    userID,
		OrgID:     orgID,
		UserAgent: defaultUserAgent,
		httpClient: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		creds:           &hawk.Credentials{ID: userID, Key: []byte(apiKey)},
		verifyResponses: true,
		now:             time.Now,
		newNonce:        hawk.NewNonce,
	}
	c.Help = &HelpService{client: c}
	c.Members = &MembersService{client: c}
	c.Invites = &InvitesService{client: c}
	c.AuditLogs = &AuditLogsService{client: c}
	c.Rulesets = &RulesetsService{client: c}
	c.Rules = &RulesService{client: c}
	c.Tags = &TagsService{client: c}
	c.Agents = &AgentsService{client: c}
	c.Alerts = &AlertsService{client: c}
	c.Webhooks = &WebhooksService{client: c}
	c.S3Export = &S3ExportService{client: c}
	c.Vulnerabilities = &VulnerabilitiesService{client: c}
	c.Suppressions = &SuppressionsService{client: c}
	c.EC2 = &EC2Service{client: c}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// checkAttribute rejects values that cannot travel as a Hawk header
// attribute: empty, or outside printable ASCII, or holding '"' or '\'.
func checkAttribute(name, v string) error {
	if v == "" {
		return fmt.Errorf("client: %s is empty", name)
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b > 0x7e || b == '"' || b == '\\' {
			return fmt.Errorf("client: %s %q has a character Hawk cannot carry", name, v)
		}
	}
	return nil
}

// NewFromEnv builds a client from TS_API_ENDPOINT, TS_USER_ID, TS_API_KEY
// and TS_ORGANIZATION_ID, all required.
func NewFromEnv(opts ...Option) (*Client, error) {
	return newFromLookup(os.Getenv, opts...)
}

func newFromLookup(getenv func(string) string, opts ...Option) (*Client, error) {
	var missing []string
	vals := make(map[string]string, 4)
	for _, name := range []string{EnvEndpoint, EnvUserID, EnvAPIKey, EnvOrgID} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			missing = append(missing, name)
		}
		vals[name] = v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("client: environment variables not set: %s", strings.Join(missing, ", "))
	}
	return New(vals[EnvEndpoint], vals[EnvUserID], vals[EnvAPIKey], vals[EnvOrgID], opts...)
}

// String describes the client without its API key.
func (c *Client) String() string {
	return fmt.Sprintf("client.Client{BaseURL: %q, UserID: %q, OrgID: %q}", c.BaseURL.Redacted(), c.UserID, c.OrgID)
}

// GoString is String, so that %#v cannot print the key either.
func (c *Client) GoString() string { return c.String() }

// ClockOffset is the correction applied to the local clock when stamping
// requests, learnt from the server's last stale-timestamp answer.
func (c *Client) ClockOffset() time.Duration { return time.Duration(c.offset.Load()) }

// NewRequest builds a request for path, which is relative to BaseURL (a
// leading "/" is allowed) and may carry a query, sent exactly as written.
// A non-nil body is encoded as JSON.
func (c *Client) NewRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	u, err := c.BaseURL.Parse(strings.TrimLeft(path, "/"))
	if err != nil {
		return nil, fmt.Errorf("client: parse path %q: %w", path, err)
	}
	if u.Scheme != c.BaseURL.Scheme || u.Host != c.BaseURL.Host {
		return nil, fmt.Errorf("client: path %q leaves the server %s", path, c.BaseURL.Host)
	}
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("client: encode %s %s body: %w", method, path, err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("client: new request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", mediaTypeJSON)
	}
	req.Header.Set("Accept", mediaTypeJSON)
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	return req, nil
}

// Do signs req with Hawk, sends it, checks the response's Server-Authorization
// and decodes a 2xx JSON body into v (or copies it into v if v is an
// io.Writer; v may be nil). Non-2xx answers return *ErrorResponse,
// *AuthError or *RateLimitError along with the Response. A stale-timestamp
// 401 whose tsm verifies makes Do adopt the server's clock and retry once.
//
// The request body is read up front so that retries can replay it.
func (c *Client) Do(req *http.Request, v any) (*Response, error) {
	return c.do(req, v, true)
}

func (c *Client) do(req *http.Request, v any, signed bool) (*Response, error) {
	payload, err := readRequestBody(req)
	if err != nil {
		return nil, err
	}
	var hash string
	if signed && len(payload) > 0 {
		hash = hawk.PayloadHash(req.Header.Get("Content-Type"), payload)
	}
	ctx := req.Context()
	staleRetried, rateRetried := false, false
	for {
		r := req.Clone(ctx)
		if len(payload) > 0 {
			r.Body = io.NopCloser(bytes.NewReader(payload))
			r.ContentLength = int64(len(payload))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
		} else if req.Body != nil {
			// Nothing to send: say so rather than make the transport probe.
			r.Body, r.ContentLength, r.GetBody = http.NoBody, 0, nil
		}
		var art *hawk.Artifacts
		if signed {
			art = c.sign(r, hash)
		}
		resp, body, err := c.send(r)
		if err != nil {
			return nil, err
		}
		response := &Response{Response: resp, Rate: parseRate(resp.Header)}
		if signed && c.verifyResponses {
			if err := c.checkAuthentic(r, resp, art, body); err != nil {
				return response, err
			}
		}
		err = checkResponse(resp, body, c.now().Add(c.ClockOffset()))
		if err == nil {
			if err := decodeBody(body, v); err != nil {
				return response, fmt.Errorf("client: decode %s %s response: %w", r.Method, r.URL.Redacted(), err)
			}
			return response, nil
		}
		var ae *AuthError
		if signed && !staleRetried && errors.As(err, &ae) && c.adoptServerTime(ae) {
			staleRetried = true
			continue
		}
		var rle *RateLimitError
		if c.retryRateLimit && !rateRetried && errors.As(err, &rle) {
			wait := rle.RetryAfter
			if wait == 0 {
				wait = rle.Rate.Reset
			}
			if wait <= c.maxRateWait {
				if err := sleep(ctx, wait); err != nil {
					return response, err
				}
				rateRetried = true
				continue
			}
		}
		return response, err
	}
}

// readRequestBody returns the whole body of req (nil when it has none),
// preferring GetBody so that req itself stays unread.
func readRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	rc := req.Body
	if req.GetBody != nil {
		var err error
		if rc, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("client: reopen request body: %w", err)
		}
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("client: read request body: %w", err)
	}
	return b, nil
}

// sign stamps r with a fresh Hawk Authorization header and returns the
// artifacts the response must be verified against.
func (c *Client) sign(r *http.Request, hash string) *hawk.Artifacts {
	host, port := hostPort(r)
	art := &hawk.Artifacts{
		Method:   strings.ToUpper(r.Method),
		Resource: r.URL.RequestURI(),
		Host:     host,
		Port:     port,
		TS:       fmt.Sprint(c.now().Add(c.ClockOffset()).Unix()),
		Nonce:    c.newNonce(),
		Hash:     hash,
		Ext:      c.OrgID,
	}
	r.Header.Set("Authorization", c.creds.RequestHeader(art))
	return art
}

// hostPort returns what the server will see in the Host header: the lower-
// cased host name and the explicit port, else the scheme's default.
func hostPort(r *http.Request) (host, port string) {
	h := r.Host
	if h == "" {
		h = r.URL.Host
	}
	u := url.URL{Host: h}
	host, port = strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = "80"
		if r.URL.Scheme == "https" {
			port = "443"
		}
	}
	return host, port
}

// send performs r and buffers the whole response body, leaving a re-readable
// copy in resp.Body.
func (c *Client) send(r *http.Request) (*http.Response, []byte, error) {
	resp, err := c.httpClient.Do(r)
	if err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return nil, nil, fmt.Errorf("client: %s %s: %w", r.Method, r.URL.Redacted(), ctxErr)
		}
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("client: read %s %s response: %w", r.Method, r.URL.Redacted(), err)
	}
	if len(body) > maxResponseBytes {
		return nil, nil, fmt.Errorf("client: %s %s: response body over %d bytes", r.Method, r.URL.Redacted(), maxResponseBytes)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.Request == nil {
		resp.Request = r // custom transports may leave it unset; errors name it
	}
	return resp, body, nil
}

// checkAuthentic verifies the Server-Authorization header against the
// request artifacts. Error answers may lack it, because the server only signs
// once the request's own signature verified (a 401, a pre-auth 429 or a
// malformed header cannot be signed); a present header must always verify.
func (c *Client) checkAuthentic(r *http.Request, resp *http.Response, art *hawk.Artifacts, body []byte) error {
	h := resp.Header.Get("Server-Authorization")
	if h == "" {
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return fmt.Errorf("%w: %s %s: %d answer without Server-Authorization",
				ErrResponseNotAuthentic, art.Method, r.URL.Redacted(), resp.StatusCode)
		}
		return nil
	}
	if err := hawk.VerifyResponse(c.creds.Key, art, h, resp.Header.Get("Content-Type"), body); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrResponseNotAuthentic, art.Method, r.URL.Redacted(), err)
	}
	return nil
}

// adoptServerTime takes the server clock from a stale-timestamp answer when
// its tsm proves it came from a holder of our key, and reports whether it did.
func (c *Client) adoptServerTime(ae *AuthError) bool {
	if ae.WWWAuthenticate == "" {
		return false
	}
	ts, tsm, _, err := hawk.ParseWWWAuthenticate(ae.WWWAuthenticate)
	if err != nil || ts == 0 || tsm == "" || !hawk.VerifyTimestampMAC(c.creds.Key, ts, tsm) {
		return false
	}
	// The offset replaces the old one: it is measured against the raw clock.
	c.offset.Store(int64(time.Unix(ts, 0).Sub(c.now())))
	return true
}

func decodeBody(body []byte, v any) error {
	if v == nil || len(body) == 0 {
		return nil
	}
	if w, ok := v.(io.Writer); ok {
		_, err := w.Write(body)
		return err
	}
	return json.Unmarshal(body, v)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("client: wait for rate limit: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}
