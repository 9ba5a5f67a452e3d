// Package agent is aip-agent: it enrolls a host with a deploy key, runs the
// collectors of package collect, keeps their events in a durable spool
// (package spool) and ships them to the server's agent API, with
// heartbeats, the host's package inventory and the File rules' watches it
// pulls from the server.
package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/agent/collect"
)

// maxAnswerBytes bounds what the client reads of an answer; the agent API
// answers small JSON objects.
const maxAnswerBytes = 1 << 20

// Client speaks the agent API (/agent/v1/…): enrollment with a deploy key,
// then Hawk-signed requests as the enrolled agent (id = agent id, key =
// agent key, no ext), every answer's Server-Authorization verified. It is
// safe for concurrent use.
type Client struct {
	base       *url.URL
	host, port string
	http       *http.Client
	creds      hawk.Credentials
	// offset is the server's clock minus ours (ns), learnt from a stale
	// timestamp answer, so that a host with a wrong clock still signs.
	offset atomic.Int64
}

// NewClient returns a client for the server at serverURL (http or https,
// optionally with a path prefix). hc may be nil for a default client with
// timeouts; redirects are never followed (a signed request replayed
// elsewhere would not verify).
func NewClient(serverURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid server URL %q: want http(s)://host[:port]", serverURL)
	}
	u.RawQuery, u.Fragment = "", ""
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{base: u, host: strings.ToLower(u.Hostname()), port: port, http: &cp}, nil
}

// WithCredentials returns a client signing as the enrolled agent.
func (c *Client) WithCredentials(agentID, agentKey string) *Client {
	n := &Client{base: c.base, host: c.host, port: c.port, http: c.http,
		creds: hawk.Credentials{ID: agentID, Key: []byte(agentKey)}}
	n.offset.Store(c.offset.Load())
	return n
}

// StatusError is an answer other than the one expected.
type StatusError struct {
	Path   string
	Status int
	Body   []byte
	// RetryAfter is the server's Retry-After (0 when it sent none).
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := strings.TrimSpace(string(e.Body))
	var env struct{ Errors []string }
	if json.Unmarshal(e.Body, &env) == nil && len(env.Errors) > 0 {
		msg = strings.Join(env.Errors, "; ")
	}
	return fmt.Sprintf("%s: server answered %d: %s", e.Path, e.Status, msg)
}

// Temporary reports whether the request may succeed later unchanged: the
// server is busy (429, 503) or failing (5xx).
func (e *StatusError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// Enrollment is what enrolling an agent returns; the key is shown once.
type Enrollment struct {
	AgentID  string `json:"agentId"`
	AgentKey string `json:"agentKey"`
}

// Enroll registers the host with a deploy key and the names of the
// rulesets it runs (none: the server's default, the "Base Rule Set").
func (c *Client) Enroll(ctx context.Context, deployKey string, host aip.AgentHost, rulesets []string) (*Enrollment, error) {
	body, err := json.Marshal(struct {
		DeployKey string   `json:"deployKey"`
		Rulesets  []string `json:"rulesets,omitempty"`
		aip.AgentHost
	}{deployKey, rulesets, host})
	if err != nil {
		return nil, fmt.Errorf("encode enrollment: %w", err)
	}
	const path = "/agent/v1/enroll"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath(path).String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(path, resp, got)
	}
	var e Enrollment
	if err := json.Unmarshal(got, &e); err != nil || e.AgentID == "" || e.AgentKey == "" {
		return nil, fmt.Errorf("enroll: unexpected answer %q", got)
	}
	return &e, nil
}

// Heartbeat reports the host's information; it keeps the agent online.
func (c *Client) Heartbeat(ctx context.Context, host aip.AgentHost) error {
	body, err := json.Marshal(host)
	if err != nil {
		return fmt.Errorf("encode heartbeat: %w", err)
	}
	_, err = c.do(ctx, http.MethodPost, "/agent/v1/heartbeat", "application/json", body, "", http.StatusOK)
	return err
}

// IngestResult is the 202 answer to a batch of events.
type IngestResult struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   []struct {
		Index int    `json:"index"`
		Error string `json:"error"`
	} `json:"rejected"`
}

// SendEvents posts one batch of events, body being a JSON array (or
// NDJSON with contentType application/x-ndjson). Only a 202 means the
// events are stored; a *StatusError that is Temporary means "send the same
// batch again later" (after RetryAfter when set).
func (c *Client) SendEvents(ctx context.Context, body []byte, contentType string) (*IngestResult, error) {
	got, err := c.do(ctx, http.MethodPost, "/agent/v1/events", contentType, body, "", http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	var res IngestResult
	if err := json.Unmarshal(got.body, &res); err != nil {
		return nil, fmt.Errorf("events: unexpected answer %q", got.body)
	}
	return &res, nil
}

// PackagesResult is the answer to an inventory.
type PackagesResult struct {
	Packages int `json:"packages"`
	Rejected []struct {
		Index int    `json:"index"`
		Error string `json:"error"`
	} `json:"rejected"`
	Changed         bool `json:"changed"`
	Vulnerabilities int  `json:"vulnerabilities"`
}

// PutPackages sends the host's full package inventory.
func (c *Client) PutPackages(ctx context.Context, inv *aip.Inventory) (*PackagesResult, error) {
	body, err := json.Marshal(inv)
	if err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	got, err := c.do(ctx, http.MethodPut, "/agent/v1/packages", "application/json", body, "", http.StatusOK)
	if err != nil {
		return nil, err
	}
	var res PackagesResult
	if err := json.Unmarshal(got.body, &res); err != nil {
		return nil, fmt.Errorf("packages: unexpected answer %q", got.body)
	}
	return &res, nil
}

// RemoteConfig is what the server wants the agent to watch.
type RemoteConfig struct {
	// Version changes whenever the configuration does.
	Version     string              `json:"version"`
	FileWatches []collect.FileWatch `json:"fileWatches"`
}

// Config fetches the agent's configuration. With the version the agent
// has, an unchanged configuration is (nil, nil): nothing to do.
func (c *Client) Config(ctx context.Context, version string) (*RemoteConfig, error) {
	ifNoneMatch := ""
	if version != "" {
		ifNoneMatch = strconv.Quote(version)
	}
	got, err := c.do(ctx, http.MethodGet, "/agent/v1/config", "", nil, ifNoneMatch, http.StatusOK)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotModified {
			return nil, nil
		}
		return nil, err
	}
	var rc RemoteConfig
	if err := json.Unmarshal(got.body, &rc); err != nil {
		return nil, fmt.Errorf("config: unexpected answer %q", got.body)
	}
	return &rc, nil
}

// answer is a verified answer.
type answer struct {
	status int
	body   []byte
}

// do sends one signed request, retrying once when the server says our
// clock is off, and checks the status and the server's signature.
func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte, ifNoneMatch string, want int) (*answer, error) {
	for attempt := 0; ; attempt++ {
		a, resp, err := c.once(ctx, method, path, contentType, body, ifNoneMatch)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized && attempt == 0 && c.adoptServerTime(a.www) {
			continue
		}
		if resp.status != want {
			return nil, a.err
		}
		return resp, nil
	}
}

// attempt carries what do needs of one exchange besides the answer.
type attempt struct {
	www string
	err error
}

func (c *Client) once(ctx context.Context, method, path, contentType string, body []byte, ifNoneMatch string) (*attempt, *answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base.JoinPath(path).String(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	art := &hawk.Artifacts{
		// The request's own URI: JoinPath on a base without a path drops
		// the leading slash that the server's MAC covers.
		Method: method, Resource: req.URL.RequestURI(), Host: c.host, Port: c.port,
		TS: strconv.FormatInt(time.Now().Add(time.Duration(c.offset.Load())).Unix(), 10),
	}
	if len(body) > 0 {
		art.Hash = hawk.PayloadHash(contentType, body)
		req.Header.Set("Content-Type", contentType)
	}
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	req.Header.Set("Authorization", c.creds.RequestHeader(art))
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	a := &attempt{www: resp.Header.Get("WWW-Authenticate")}
	// Answers to an authenticated request are signed, 304 and 401 aside
	// (and a 429 of the per-IP limit, which comes before authentication).
	signed := resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusNotModified &&
		resp.Header.Get("Server-Authorization") != ""
	if signed {
		if err := hawk.VerifyResponse(c.creds.Key, art, resp.Header.Get("Server-Authorization"), resp.Header.Get("Content-Type"), got); err != nil {
			return nil, nil, fmt.Errorf("%s: answer not authentic: %w", path, err)
		}
	} else if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil, nil, fmt.Errorf("%s: answer %d without Server-Authorization", path, resp.StatusCode)
	}
	a.err = statusError(path, resp, got)
	return a, &answer{status: resp.StatusCode, body: got}, nil
}

// adoptServerTime learns the server's clock from a stale-timestamp 401,
// whose timestamp the server signed with our key.
func (c *Client) adoptServerTime(www string) bool {
	if www == "" {
		return false
	}
	ts, tsm, _, err := hawk.ParseWWWAuthenticate(www)
	if err != nil || ts == 0 || tsm == "" || !hawk.VerifyTimestampMAC(c.creds.Key, ts, tsm) {
		return false
	}
	c.offset.Store(int64(time.Until(time.Unix(ts, 0))))
	return true
}

func statusError(path string, resp *http.Response, body []byte) *StatusError {
	e := &StatusError{Path: path, Status: resp.StatusCode, Body: body}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return e
}
