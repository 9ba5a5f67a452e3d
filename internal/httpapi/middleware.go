package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/ratelimit"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxClientIP
)

// requestID returns the id the pipeline gave the request ("" outside it).
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

// clientIPFrom returns the client address the pipeline resolved.
func clientIPFrom(ctx context.Context) netip.Addr {
	ip, _ := ctx.Value(ctxClientIP).(netip.Addr)
	return ip
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter remembers the status a handler wrote, for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP runs the outer pipeline shared by every route: request id,
// panic recovery, client IP, the per-IP limit, then the route table. The
// per-route part (Hawk, org limit, signing) is in auth.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	id := newRequestID()
	ip := clientIP(r, s.cfg.TrustedProxies)
	ctx := context.WithValue(r.Context(), ctxRequestID, id)
	ctx = context.WithValue(ctx, ctxClientIP, ip)
	r = r.WithContext(ctx)
	sw := &statusWriter{ResponseWriter: w}
	sw.Header().Set("X-Request-Id", id)

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logPanic(r, v)
			if sw.status == 0 {
				writeErrorMessage(sw, http.StatusInternalServerError, "An internal error has occurred.")
			}
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		s.metrics.observeRequest(route, r.Method, sw.status, s.now().Sub(start))
		if s.logger.Enabled(ctx, slog.LevelInfo) {
			s.logger.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("request_id", id), slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.Int("status", sw.status),
				slog.String("client_ip", ip.String()),
				slog.Duration("duration", s.now().Sub(start)))
		}
	}()

	if r.URL.Path != "/healthz" && !s.allowIP(sw, r, ip) {
		// Count the refusal under the route it was aimed at, not as unmatched.
		_, r.Pattern = s.routes.mux.Handler(r)
		return
	}
	if !isCleanPath(r.URL.Path) {
		// The mux would answer an HTML redirect to the cleaned path, which
		// a signed request cannot follow (the MAC covers the path) and
		// which breaks the JSON-only error contract.
		writeErrorMessage(sw, http.StatusNotFound, "The resource was not found.")
		return
	}
	s.routes.mux.ServeHTTP(sw, r)
}

// logPanic logs a recovered panic with the request id, so that the generic
// 500 a client sees can be matched with its cause.
func (s *Server) logPanic(r *http.Request, v any) {
	ctx := r.Context()
	s.logger.ErrorContext(ctx, "panic serving request",
		slog.String("request_id", requestID(ctx)), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Any("panic", v))
}

// isCleanPath reports whether p is absolute and free of empty, "." and
// ".." segments: the paths http.ServeMux serves without redirecting.
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c == p
}

// unmatched (the catch-all "/" route) answers a request no route took: 405 with Allow when the path
// exists under another method, 404 otherwise, both as JSON.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.routes.mux.Handler(probe); p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeErrorMessage(w, http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed on "+r.URL.Path+".")
		return
	}
	writeErrorMessage(w, http.StatusNotFound, "The resource was not found.")
}

// allowIP charges the per-IP limit, sets the rate-limit headers and answers
// 429 when the IP is over its limit or locked out. The agent API has its
// own bucket and limit per IP (Config.AgentIPLimit).
func (s *Server) allowIP(w http.ResponseWriter, r *http.Request, ip netip.Addr) bool {
	key, lim := "ip:"+ip.String(), s.cfg.IPLimit
	if strings.HasPrefix(r.URL.Path, "/agent/") {
		key, lim = "agent-ip:"+ip.String(), s.cfg.AgentIPLimit
	}
	res, err := s.lockout.Allow(r.Context(), key, lim)
	if err != nil {
		// A broken limiter must not take the API down with it; log and let
		// the request through (the org limit still applies after auth).
		s.logger.ErrorContext(r.Context(), "ip rate limiter failed", slog.Any("error", err))
		return true
	}
	setRateHeaders(w.Header(), res)
	if res.Allowed == 0 {
		s.metrics.rateLimited("ip")
		writeErrorMessage(w, http.StatusTooManyRequests, "Rate limit exceeded for this IP address; retry after "+w.Header().Get("Retry-After")+" seconds.")
		return false
	}
	return true
}

// setRateHeaders writes the three X-Rate-Limit headers, and Retry-After when denied.
func setRateHeaders(h http.Header, res ratelimit.Result) {
	limit, remaining, reset, retry := res.Headers()
	h.Set("X-Rate-Limit-Limit", limit)
	h.Set("X-Rate-Limit-Remaining", remaining)
	h.Set("X-Rate-Limit-Reset", reset)
	if res.Allowed == 0 {
		h.Set("Retry-After", retry)
	} else {
		h.Del("Retry-After")
	}
}

// clientIP is the request's peer, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For address that is not itself a trusted proxy.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a
		}
		peer = a
	}
	return peer
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// principal is the authenticated caller of one request.
type principal struct {
	User  *aip.User
	OrgID string
	Role  aip.Role
	// Body is the request body, already read (Hawk hashes it).
	Body []byte
}

// authedHandler is a handler behind Hawk.
type authedHandler func(w http.ResponseWriter, r *http.Request, p *principal)

// credentialSubject is what lookupCredentials hands back through Hawk.
type credentialSubject struct {
	user *aip.User
	role aip.Role
}

// lookupCredentials finds the user named by the Hawk id together with its
// role in the organization named by ext, in one store query.
func (s *Server) lookupCredentials(ctx context.Context, h *hawk.Header) (*hawk.Credentials, error) {
	if !aip.IsID24(h.ID) {
		return nil, nil
	}
	c, err := s.cfg.Store.FindCredentials(ctx, h.ID, h.Ext)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	key, err := s.cfg.Keyring.Open(h.ID, c.EncryptedKey)
	if err != nil {
		return nil, err
	}
	return &hawk.Credentials{ID: h.ID, Key: []byte(key), Subject: credentialSubject{user: c.User, role: c.Role}}, nil
}

// bufferedWriter holds a response until it can be signed.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// verify reads the body (up to max bytes), resolves the host and port the
// client signed and runs hs over the request. On failure it has answered
// and returns a nil result.
func (s *Server) verify(w http.ResponseWriter, r *http.Request, hs *hawk.Server, max int64) (*hawk.Result, []byte) {
	// Without any Authorization the answer is 401 whatever the body
	// holds: do not buffer up to max bytes for it.
	var body []byte
	if r.Header.Get("Authorization") != "" {
		var err error
		if body, err = readBody(w, r, max); err != nil {
			s.writeError(w, r, err)
			return nil, nil
		}
	}
	host, port, err := s.hostPort(r)
	if err != nil {
		s.metrics.authFailure("Invalid Host header")
		writeErrorMessage(w, http.StatusBadRequest, "Invalid Host header")
		return nil, nil
	}
	res, err := hs.Authenticate(r.Context(), &hawk.Request{
		Method: r.Method, RequestURI: r.RequestURI, Host: host, Port: port,
		Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Body: body,
	})
	if err != nil {
		s.writeHawkError(w, r, err)
		return nil, nil
	}
	return res, body
}

// auth wraps an authenticated handler: it reads the body, verifies Hawk,
// checks the organization in ext, charges the organization's limit, runs
// the handler, records the audit entry and signs the response.
func (s *Server) auth(crud, action string, h authedHandler) http.Handler {
	write := crud != "read"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, body := s.verify(w, r, s.hawk, s.cfg.MaxBodyBytes)
		if res == nil {
			return
		}
		subj := res.Credentials.Subject.(credentialSubject)
		p := &principal{User: subj.user, OrgID: res.Header.Ext, Role: subj.role, Body: body}

		// From here on the caller proved who it is: sign whatever we answer.
		bw := &bufferedWriter{header: w.Header()}
		// auditPending is set while a request into the organization has
		// yet to be recorded, so that a panic still leaves its audit record.
		auditPending := false
		defer func() {
			// A panic must not leave the deferred signing to send what the
			// handler buffered so far (often nothing, as a 200): answer a
			// signed 500 instead, and audit it like any other failure.
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logPanic(r, v)
				bw.status = 0
				bw.body.Reset()
				writeErrorMessage(bw, http.StatusInternalServerError, "An internal error has occurred.")
				if auditPending {
					s.record(r, p, crud, action, bw.status)
				}
			}
			s.sign(w, bw, res)
		}()

		switch {
		case p.OrgID == "":
			s.metrics.authFailure("missing organization")
			writeErrorMessage(bw, http.StatusForbidden, "The Hawk ext attribute must name your organization id.")
			return
		case p.Role == "":
			s.metrics.authFailure("not a member")
			writeErrorMessage(bw, http.StatusForbidden, "The user is not a member of organization "+p.OrgID+".")
			return
		case !p.User.Enabled:
			s.metrics.authFailure("user disabled")
			writeErrorMessage(bw, http.StatusForbidden, "The user is disabled.")
			return
		}
		s.touch(r.Context(), p.User.ID)
		auditPending = true

		lim, err := s.cfg.Limiter.Allow(r.Context(), "org:"+p.OrgID, s.cfg.OrgLimit)
		if err != nil {
			s.logger.ErrorContext(r.Context(), "org rate limiter failed", slog.Any("error", err))
		} else {
			setRateHeaders(bw.header, lim)
		}
		if err == nil && lim.Allowed == 0 {
			s.metrics.rateLimited("org")
			writeErrorMessage(bw, http.StatusTooManyRequests, "Rate limit exceeded for this organization; retry after "+bw.header.Get("Retry-After")+" seconds.")
		} else if write && !p.Role.CanWrite() {
			writeErrorMessage(bw, http.StatusForbidden, "The user is not allowed to perform this action (role "+string(p.Role)+" is read-only).")
		} else {
			h(bw, r, p)
		}
		auditPending = false
		s.record(r, p, crud, action, bw.status)
	})
}

// sign writes the buffered response with its Server-Authorization header.
func (s *Server) sign(w http.ResponseWriter, bw *bufferedWriter, res *hawk.Result) {
	if bw.status == 0 {
		bw.status = http.StatusOK
	}
	ct := bw.header.Get("Content-Type")
	w.Header().Set("Server-Authorization", hawk.ResponseHeader(res.Credentials.Key, &res.Artifacts, ct, bw.body.Bytes()))
	if bw.status != http.StatusNoContent {
		w.Header().Set("Content-Length", strconv.Itoa(bw.body.Len()))
	}
	w.WriteHeader(bw.status)
	_, _ = w.Write(bw.body.Bytes())
}

// writeHawkError answers a failed authentication.
func (s *Server) writeHawkError(w http.ResponseWriter, r *http.Request, err error) {
	var he *hawk.Error
	if errors.As(err, &he) {
		s.metrics.authFailure(he.Message)
		if he.WWWAuthenticate != "" {
			w.Header().Set("WWW-Authenticate", he.WWWAuthenticate)
		}
		writeErrorMessage(w, he.Status, he.Message)
		return
	}
	if errors.Is(err, hawk.ErrNonceStoreFull) {
		s.metrics.authFailure("replay cache full")
		w.Header().Set("Retry-After", "1")
		writeErrorMessage(w, http.StatusServiceUnavailable, "The server is overloaded; retry shortly.")
		return
	}
	s.writeError(w, r, err)
}

// hostPort resolves the host and port the client signed: the configured
// public URL when set, else the Host header with the scheme's default port.
func (s *Server) hostPort(r *http.Request) (string, string, error) {
	if u := s.cfg.PublicURL; u != nil {
		port := u.Port()
		if port == "" {
			port = "80"
			if u.Scheme == "https" {
				port = "443"
			}
		}
		return strings.ToLower(u.Hostname()), port, nil
	}
	def := "80"
	if s.isHTTPS(r) {
		def = "443"
	}
	return hawk.SplitHostPort(r.Host, def)
}

// isHTTPS reports whether the client reached us over TLS, directly or
// through a trusted proxy that says so.
func (s *Server) isHTTPS(r *http.Request) bool {
	return r.TLS != nil || (isTrusted(peerAddr(r), s.cfg.TrustedProxies) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// readBody reads the whole request body up to max bytes: 413 beyond.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, aip.Errorf(aip.ETOOLARGE, "The request body exceeds %d bytes.", max)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, aip.Errorf(aip.ETOOLARGE, "The request body exceeds %d bytes.", max)
	} else if err != nil {
		return nil, aip.Errorf(aip.EINVALID, "The request body could not be read.")
	}
	return b, nil
}

// touch records the authentication time at most once a minute per user, so
// lastAuthenticatedAt stays useful without a write on every request.
func (s *Server) touch(ctx context.Context, userID string) {
	now := s.now()
	if last, ok := s.touched.Load(userID); ok && now.Sub(last.(time.Time)) < time.Minute {
		return
	}
	s.touched.Store(userID, now)
	if err := s.cfg.Store.TouchAuthenticated(ctx, userID, now); err != nil {
		s.logger.WarnContext(ctx, "record last authentication", slog.String("user_id", userID), slog.Any("error", err))
	}
}
