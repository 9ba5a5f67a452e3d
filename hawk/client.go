package hawk

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// VerifyResponse's failures.
var (
	errMissingServerAuth = errors.New("hawk: missing Server-Authorization header")
	errMissingRespMAC    = errors.New("hawk: Server-Authorization has no mac")
	errMissingRespHash   = errors.New("hawk: missing response hash attribute")
	errBadRespMAC        = errors.New("hawk: bad response mac")
	errBadRespHash       = errors.New("hawk: bad response payload hash")
)

// RequestHeader signs a with c and returns the Authorization value
// `Hawk id="…", ts="…", nonce="…"[, hash="…"][, ext="…"], mac="…"[, app="…"[, dlg="…"]]`
// in the reference client's order. An empty a.TS is set to the current time
// and an empty a.Nonce to NewNonce(), in a itself, because the same artifacts
// are needed to verify the response. ext is escaped like the reference
// client does, but servers reject '"' and '\' in it: avoid them.
func (c Credentials) RequestHeader(a *Artifacts) string {
	if a.TS == "" {
		a.TS = strconv.FormatInt(time.Now().Unix(), 10)
	}
	if a.Nonce == "" {
		a.Nonce = NewNonce()
	}
	h := Header{ID: c.ID, TS: a.TS, Nonce: a.Nonce, Hash: a.Hash, Ext: escapeAttr(a.Ext), MAC: MAC(c.Key, "header", a), App: a.App}
	if a.App != "" {
		h.Dlg = a.Dlg
	}
	return h.String()
}

// NewNonce returns 8 random URL-safe characters (48 bits).
func NewNonce() string {
	var b [6]byte
	rand.Read(b[:]) // never fails since Go 1.24: it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// VerifyResponse checks a Server-Authorization header against the artifacts
// of the request it answers and the response body as received: both the mac
// and the payload hash, which is required.
func VerifyResponse(key []byte, req *Artifacts, header, contentType string, body []byte) error {
	if header == "" {
		return errMissingServerAuth
	}
	var v [3]string // mac, ext, hash
	if err := parseAttributes(header, responseKeys, v[:]); err != nil {
		return fmt.Errorf("hawk: parse Server-Authorization: %w", err)
	}
	mac, ext, hash := v[0], v[1], v[2]
	if mac == "" {
		return errMissingRespMAC
	}
	a := *req
	a.Hash, a.Ext = hash, ext
	var buf [macLen]byte
	if !equalString(encodeMAC(&buf, key, "response", &a), mac) {
		return errBadRespMAC
	}
	if hash == "" {
		return errMissingRespHash
	}
	if !equalString([]byte(PayloadHash(contentType, body)), hash) {
		return errBadRespHash
	}
	return nil
}

// ParseWWWAuthenticate reads a Hawk WWW-Authenticate value: the server time
// and its tsm of a stale-timestamp answer (0 and "" when absent) and the error
// attribute. A bare "Hawk" is valid and yields zero values. Check tsm with
// VerifyTimestampMAC before trusting ts.
func ParseWWWAuthenticate(header string) (ts int64, tsm, errMsg string, err error) {
	if strings.EqualFold(strings.TrimSpace(header), "hawk") {
		return 0, "", "", nil
	}
	var v [3]string // ts, tsm, error
	if perr := parseAttributes(header, wwwAuthKeys, v[:]); perr != nil {
		return 0, "", "", fmt.Errorf("hawk: parse WWW-Authenticate: %w", perr)
	}
	if v[0] != "" {
		if len(v[0]) > 15 || !allDigits(v[0]) {
			return 0, "", "", errors.New("hawk: parse WWW-Authenticate: bad ts")
		}
		ts, _ = strconv.ParseInt(v[0], 10, 64)
	}
	return ts, v[1], v[2], nil
}
