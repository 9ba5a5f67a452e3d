package hawk

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultSkew is the accepted clock difference when Server.Skew is zero.
const DefaultSkew = 60 * time.Second

// Credentials found for a Hawk id. Subject is opaque data the caller's lookup
// attaches (e.g. the user record) and gets back in the Result.
type Credentials struct {
	ID      string
	Key     []byte
	Subject any
}

// CredentialsFunc looks up the credentials of the Hawk id h.ID. It gets the
// whole parsed header so that a caller can resolve what ext names (the
// organization, for aip) in the same lookup. It returns (nil, nil) for an
// unknown id, which Authenticate answers 401 "Unknown credentials"; any other
// error is returned by Authenticate unchanged.
type CredentialsFunc func(ctx context.Context, h *Header) (*Credentials, error)

// Request is what the server needs from an HTTP request. The HTTP layer fills
// it: Host and Port already resolved (see SplitHostPort), RequestURI raw as
// on the wire, Body already read and size-limited.
type Request struct {
	Method, RequestURI, Host, Port, Authorization, ContentType string
	Body                                                       []byte
}

// Server verifies Hawk request headers (§1.6). It is safe for concurrent use
// as long as its fields are not changed.
type Server struct {
	Credentials CredentialsFunc
	Nonces      NonceStore       // nil = no replay protection
	Skew        time.Duration    // accepted clock difference; DefaultSkew when <= 0
	Now         func() time.Time // time.Now when nil
}

// Result of a successful authentication. Artifacts are needed later to sign
// the response (ResponseHeader).
type Result struct {
	Credentials *Credentials
	Artifacts   Artifacts
	Header      Header
}

// Authenticate verifies r's Authorization header. A rejection is an *Error
// carrying the status and WWW-Authenticate value to answer with. Any other
// error comes from the credentials lookup (returned unchanged) or from the
// nonce store (wrapped; a full MemoryNonceStore gives ErrNonceStoreFull) and
// deserves a 5xx.
//
// The steps follow the reference's order with our deviations: the payload
// hash is always checked when present and required when there is a body,
// and the nonce is recorded only once the MAC verified and ts is fresh.
func (s *Server) Authenticate(ctx context.Context, r *Request) (*Result, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	// Captured first so that a slow lookup cannot push a request out of skew.
	nowMs := now().UnixMilli()
	skew := s.Skew
	if skew <= 0 {
		skew = DefaultSkew
	}

	if r.Host == "" || r.Port == "" {
		return nil, errInvalidHost()
	}
	h, err := ParseHeader(r.Authorization)
	if err != nil {
		return nil, err
	}

	if s.Credentials == nil {
		return nil, errors.New("hawk: Server.Credentials is not set")
	}
	creds, err := s.Credentials(ctx, &h)
	if err != nil {
		return nil, err
	}
	if creds == nil {
		return nil, unauthorized("Unknown credentials")
	}
	if len(creds.Key) == 0 {
		return nil, fmt.Errorf("hawk: credentials of id %q have no key", h.ID)
	}

	a := Artifacts{
		Method:   r.Method,
		Resource: resource(r.RequestURI),
		Host:     r.Host,
		Port:     r.Port,
		TS:       h.TS,
		Nonce:    h.Nonce,
		Hash:     h.Hash,
		Ext:      h.Ext,
		App:      h.App,
		Dlg:      h.Dlg,
	}
	var buf [macLen]byte
	if !equalString(encodeMAC(&buf, creds.Key, "header", &a), h.MAC) {
		return nil, unauthorized("Bad mac")
	}

	if h.Hash != "" {
		if !equalString([]byte(PayloadHash(r.ContentType, r.Body)), h.Hash) {
			return nil, unauthorized("Bad payload hash")
		}
	} else if len(r.Body) > 0 {
		return nil, unauthorized("Missing required payload hash")
	}

	ts, _ := strconv.ParseInt(h.TS, 10, 64) // ParseHeader admits 1 to 15 digits only
	if d := ts*1000 - nowMs; d > skew.Milliseconds() || -d > skew.Milliseconds() {
		return nil, staleTimestamp(creds.Key, nowMs)
	}

	if s.Nonces != nil {
		fresh, err := s.Nonces.Use(ctx, h.ID, h.TS, h.Nonce, 2*skew)
		if err != nil {
			return nil, fmt.Errorf("hawk: check nonce: %w", err)
		}
		if !fresh {
			return nil, unauthorized("Invalid nonce")
		}
	}
	return &Result{Credentials: creds, Artifacts: a, Header: h}, nil
}

// staleTimestamp tells the client the server's time, with a tsm proving it
// came from a holder of the key (§1.7). The attribute order is the
// reference's.
func staleTimestamp(key []byte, nowMs int64) *Error {
	sec := nowMs / 1000
	if nowMs < 0 && nowMs%1000 != 0 {
		sec-- // floor, like Math.floor in the reference
	}
	return &Error{
		Status:  401,
		Message: "Stale timestamp",
		WWWAuthenticate: `Hawk ts="` + strconv.FormatInt(sec, 10) + `", tsm="` + TimestampMAC(key, sec) +
			`", error="Stale timestamp"`,
	}
}

// resource is the MAC resource for a raw request-target: origin-form as is,
// absolute-form reduced to its path and query (mozilla/hawk#117).
func resource(uri string) string {
	if uri == "" || uri[0] == '/' || uri == "*" {
		if uri == "" {
			return "/"
		}
		return uri
	}
	i := strings.Index(uri, "://")
	if i < 0 {
		return uri
	}
	rest := uri[i+3:]
	j := strings.IndexAny(rest, "/?#")
	if j < 0 {
		return "/"
	}
	rest = rest[j:]
	if k := strings.IndexByte(rest, '#'); k >= 0 {
		rest = rest[:k]
	}
	if rest == "" || rest[0] != '/' {
		rest = "/" + rest
	}
	return rest
}

// equalString compares in constant time for a given length; lengths are
// public (a MAC and a hash are always 44 characters).
func equalString(want []byte, got string) bool {
	if len(want) != len(got) {
		return false
	}
	var v byte
	for i := 0; i < len(want); i++ {
		v |= want[i] ^ got[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// ResponseHeader builds the Server-Authorization value for a response to the
// request req was verified for: the "response" MAC over the request
// artifacts with the response's payload hash and no ext, as
// `Hawk mac="…", hash="…"` (§1.9). Every client that validates responses
// requires the hash, so it is always present.
func ResponseHeader(key []byte, req *Artifacts, contentType string, body []byte) string {
	return responseHeader(key, req, PayloadHash(contentType, body), "")
}

// responseHeader is ResponseHeader for a given hash and ext, as the
// reference's server.header builds it.
func responseHeader(key []byte, req *Artifacts, hash, ext string) string {
	a := *req
	a.Hash, a.Ext = hash, ext
	s := `Hawk mac="` + MAC(key, "response", &a) + `", hash="` + hash + `"`
	if ext != "" {
		s += `, ext="` + escapeAttr(ext) + `"`
	}
	return s
}

// escapeAttr escapes '\' and '"' the way the reference client writes ext.
func escapeAttr(s string) string {
	if !strings.ContainsAny(s, `\"`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
