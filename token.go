package aip

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// PageToken is what a page token carries: enough to continue a listing with
// nothing but the token, and to refuse it anywhere else.
type PageToken struct {
	OrgID    string
	Endpoint string
	// Filters is the listing's normalized filter string (see the endpoint).
	Filters string
	// Upper is the frozen upper bound (exclusive) of the first page, so that
	// items created while a client pages do not shift the pages.
	Upper time.Time
	// After is the keyset position of the last item of the previous page.
	After Cursor
	// IssuedAt lets tokens expire (24 h).
	IssuedAt time.Time
}

// Page token wire format (version 1), before base64url without padding:
//
//	payload = version(1) flags(1) OrgID:str Endpoint:str Filters:str
//	          [Upper:ms] [After.Time:ms] After.ID:str IssuedAt:ms
//	token   = payload || HMAC-SHA256(key, payload)[:16]
//
// ms is a zigzag varint of Unix milliseconds, present for Upper and
// After.Time only when their flag bit says the time is non-zero. str is a
// kind byte then either a uvarint length and the bytes (kind 0), 12 bytes
// for a 24-hex-char id (kind 1) or 16 bytes for a canonical UUID (kind 2);
// the compact kinds keep a typical token near 200 characters. A binary
// payload also keeps the token opaque: clients cannot read or edit filters.
const (
	tokenVersion = 1
	tokenTagLen  = 16 // HMAC-SHA256 truncated to 128 bits (RFC 2104 §5).
	// maxTokenLen bounds the work done on a hostile token before the MAC
	// check; real tokens stay far below it even with long filters.
	maxTokenLen = 8192

	flagUpper     = 1 << 0
	flagAfterTime = 1 << 1

	strRaw   = 0
	strID24  = 1
	strUUID  = 2
	tokenTTL = 24 * time.Hour
	// tokenSkew tolerates clocks of several server instances disagreeing
	// about "now" when one issues a token and another checks it.
	tokenSkew = 5 * time.Minute
)

// minTokenMs and maxTokenMs bound decoded times to years 0001..9999 so that
// every accepted time converts back to the same milliseconds.
var (
	minTokenMs = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxTokenMs = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
)

// Client-visible Decode failures. They say nothing about which check failed
// so that a forger learns nothing from them. Each call builds a new *Error
// so that no caller can alter another's.
func errTokenInvalid() *Error { return Errorf(EINVALID, "invalid page token") }
func errTokenExpired() *Error { return Errorf(EINVALID, "expired page token") }
func errTokenForeign() *Error { return Errorf(EINVALID, "page token belongs to another listing") }

// TokenCodec signs and verifies page tokens with an HMAC-SHA256 key derived
// from the master key (keyring.TokenKey). Tokens are opaque, URL-safe
// (base64url without padding), self-contained and expire after 24 h. It is
// safe for concurrent use.
type TokenCodec struct {
	key  []byte
	now  func() time.Time
	ttl  time.Duration
	skew time.Duration
}

// NewTokenCodec returns a codec signing with key, which should be 32 random
// bytes (keyring.TokenKey). now is the clock; nil means time.Now. An empty
// key is a configuration bug, never client input, and panics.
func NewTokenCodec(key []byte, now func() time.Time) *TokenCodec {
	if len(key) == 0 {
		panic("aip: NewTokenCodec with an empty key")
	}
	if now == nil {
		now = time.Now
	}
	return &TokenCodec{key: append([]byte(nil), key...), now: now, ttl: tokenTTL, skew: tokenSkew}
}

// Encode signs t, with IssuedAt set to now, and returns the token. Times
// are kept at millisecond precision, the precision of stored timestamps.
func (c *TokenCodec) Encode(t PageToken) string {
	t.IssuedAt = c.now()
	b := appendTokenPayload(make([]byte, 0, 96+len(t.Endpoint)+len(t.Filters)), t)
	b = append(b, c.tag(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode verifies s and returns its token if it is authentic, fresh (issued
// at most 24 h ago and not more than 5 min in the future) and was issued
// for orgID and endpoint. Every failure is an EINVALID *Error whose message
// is one of "invalid page token", "expired page token" or "page token
// belongs to another listing". Comparing the token's Filters with the
// request's is left to the caller, which knows how to normalize them.
func (c *TokenCodec) Decode(s, orgID, endpoint string) (PageToken, error) {
	// The decoder ignores CR and LF; refusing them keeps one token, one string.
	if len(s) > maxTokenLen || strings.ContainsAny(s, "\r\n") {
		return PageToken{}, errTokenInvalid()
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) <= tokenTagLen {
		return PageToken{}, errTokenInvalid()
	}
	payload, tag := raw[:len(raw)-tokenTagLen], raw[len(raw)-tokenTagLen:]
	if !hmac.Equal(tag, c.tag(payload)) {
		return PageToken{}, errTokenInvalid()
	}
	t, err := parseTokenPayload(payload)
	if err != nil {
		return PageToken{}, errTokenInvalid()
	}
	now := c.now()
	if t.IssuedAt.Sub(now) > c.skew {
		return PageToken{}, errTokenInvalid()
	}
	if now.Sub(t.IssuedAt) > c.ttl {
		return PageToken{}, errTokenExpired()
	}
	if t.OrgID != orgID || t.Endpoint != endpoint {
		return PageToken{}, errTokenForeign()
	}
	return t, nil
}

// tag returns the truncated MAC of payload.
func (c *TokenCodec) tag(payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(payload)
	return m.Sum(nil)[:tokenTagLen]
}

// appendTokenPayload appends the unsigned wire form of t to b.
func appendTokenPayload(b []byte, t PageToken) []byte {
	var flags byte
	if !t.Upper.IsZero() {
		flags |= flagUpper
	}
	if !t.After.Time.IsZero() {
		flags |= flagAfterTime
	}
	b = append(b, tokenVersion, flags)
	b = appendTokenString(b, t.OrgID)
	b = appendRawString(b, t.Endpoint)
	b = appendRawString(b, t.Filters)
	if flags&flagUpper != 0 {
		b = binary.AppendVarint(b, t.Upper.UnixMilli())
	}
	if flags&flagAfterTime != 0 {
		b = binary.AppendVarint(b, t.After.Time.UnixMilli())
	}
	b = appendTokenString(b, t.After.ID)
	return binary.AppendVarint(b, t.IssuedAt.UnixMilli())
}

// appendTokenString appends s in its most compact kind.
func appendTokenString(b []byte, s string) []byte {
	switch {
	case IsID24(s):
		// The patterns guarantee valid hex, so decoding cannot fail.
		b, _ = hex.AppendDecode(append(b, strID24), []byte(s))
		return b
	case IsUUID(s):
		b, _ = hex.AppendDecode(append(b, strUUID), []byte(strings.ReplaceAll(s, "-", "")))
		return b
	}
	return appendRawString(append(b, strRaw), s)
}

func appendRawString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errTokenPayload is the internal cause of every payload parse failure; the
// client only ever sees "invalid page token".
var errTokenPayload = errors.New("malformed page token payload")

// tokenReader consumes a payload; the first failure sticks in err.
type tokenReader struct {
	b   []byte
	err error
}

func (r *tokenReader) readByte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errTokenPayload
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *tokenReader) readBytes(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errTokenPayload
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *tokenReader) readRawString() string {
	if r.err != nil {
		return ""
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = errTokenPayload
		return ""
	}
	r.b = r.b[k:]
	return string(r.readBytes(n))
}

func (r *tokenReader) readString() string {
	switch r.readByte() {
	case strRaw:
		return r.readRawString()
	case strID24:
		return hex.EncodeToString(r.readBytes(12))
	case strUUID:
		b := r.readBytes(16)
		if r.err != nil {
			return ""
		}
		h := hex.EncodeToString(b)
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	}
	r.err = errTokenPayload
	return ""
}

func (r *tokenReader) readTime() time.Time {
	if r.err != nil {
		return time.Time{}
	}
	ms, k := binary.Varint(r.b)
	if k <= 0 || ms < minTokenMs || ms > maxTokenMs {
		r.err = errTokenPayload
		return time.Time{}
	}
	r.b = r.b[k:]
	return time.UnixMilli(ms).UTC()
}

// parseTokenPayload is the inverse of appendTokenPayload. It runs only on
// payloads whose MAC verified, but is strict anyway: unknown versions, flags
// or kinds and trailing bytes are errors.
func parseTokenPayload(b []byte) (PageToken, error) {
	r := tokenReader{b: b}
	if r.readByte() != tokenVersion {
		return PageToken{}, errTokenPayload
	}
	flags := r.readByte()
	if flags&^(flagUpper|flagAfterTime) != 0 {
		return PageToken{}, errTokenPayload
	}
	var t PageToken
	t.OrgID = r.readString()
	t.Endpoint = r.readRawString()
	t.Filters = r.readRawString()
	if flags&flagUpper != 0 {
		t.Upper = r.readTime()
	}
	if flags&flagAfterTime != 0 {
		t.After.Time = r.readTime()
	}
	t.After.ID = r.readString()
	t.IssuedAt = r.readTime()
	if r.err != nil {
		return PageToken{}, r.err
	}
	if len(r.b) != 0 {
		return PageToken{}, errTokenPayload
	}
	return t, nil
}
