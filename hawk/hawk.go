package hawk

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"io"
	"strconv"
	"strings"
	"sync"
)

// Artifacts are the inputs of a MAC: the request line, the host and port the
// client signed, and the raw Hawk attributes. Values are used exactly as given
// except that Method is upper-cased, Host lower-cased and Ext escaped (§1.2).
type Artifacts struct {
	Method, Resource, Host, Port, TS, Nonce, Hash, Ext, App, Dlg string
}

// Error is a Hawk failure with the HTTP status and the WWW-Authenticate header
// value to send with it ("" means send none). Message is the reference
// implementation's message and is safe to show to clients.
type Error struct {
	Status          int
	Message         string
	WWWAuthenticate string
}

// Error implements the error interface.
func (e *Error) Error() string { return "hawk: " + e.Message }

// badRequest is a 400: the reference sends no WWW-Authenticate with it.
func badRequest(msg string) *Error { return &Error{Status: 400, Message: msg} }

// unauthorized is a 401 carrying the message as the error attribute, as Boom
// does in the reference.
func unauthorized(msg string) *Error {
	return &Error{Status: 401, Message: msg, WWWAuthenticate: `Hawk error="` + msg + `"`}
}

// macLen is the length of a base64-encoded HMAC-SHA256.
const macLen = 44

// bufPool recycles the buffers the normalized string is built in, so that
// computing a MAC allocates nothing.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledBuf keeps one huge resource from pinning memory in the pool.
const maxPooledBuf = 16 << 10

// MAC returns the base64 HMAC-SHA256 of the normalized string of kind
// "header", "response" or "bewit" (§1.2).
func MAC(key []byte, kind string, a *Artifacts) string {
	var out [macLen]byte
	return string(encodeMAC(&out, key, kind, a))
}

// encodeMAC writes the base64 MAC into out and returns it as a slice of out,
// so that the server can compare without allocating a string.
func encodeMAC(out *[macLen]byte, key []byte, kind string, a *Artifacts) []byte {
	bp := bufPool.Get().(*[]byte)
	// The first block is left for the HMAC inner pad (see hmacSHA256).
	b := appendNormalized(append((*bp)[:0], make([]byte, sha256.BlockSize)...), kind, a)
	sum := hmacSHA256(key, b)
	base64.StdEncoding.Encode(out[:], sum[:])
	if cap(b) <= maxPooledBuf {
		*bp = b[:0]
		bufPool.Put(bp)
	}
	return out[:]
}

// hmacSHA256 returns HMAC-SHA256 (RFC 2104) under key of buf[BlockSize:],
// overwriting buf[:BlockSize] with the inner pad. It uses sha256.Sum256 on
// contiguous input instead of crypto/hmac, whose five allocations per call
// were most of a request verification's cost; tests pin it to crypto/hmac.
func hmacSHA256(key, buf []byte) [sha256.Size]byte {
	if len(key) > sha256.BlockSize {
		k := sha256.Sum256(key)
		key = k[:]
	}
	pad := buf[:sha256.BlockSize]
	for i := range pad {
		pad[i] = 0x36
	}
	for i, c := range key {
		pad[i] ^= c
	}
	inner := sha256.Sum256(buf)
	clear(pad) // the pad is as secret as the key, and buf goes back to a pool
	var outer [sha256.BlockSize + sha256.Size]byte
	for i := 0; i < sha256.BlockSize; i++ {
		outer[i] = 0x5c
	}
	for i, c := range key {
		outer[i] ^= c
	}
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

// appendNormalized appends the normalized string of §1.2 to b.
func appendNormalized(b []byte, kind string, a *Artifacts) []byte {
	b = append(b, "hawk.1."...)
	b = append(b, kind...)
	b = append(b, '\n')
	b = append(b, a.TS...)
	b = append(b, '\n')
	b = append(b, a.Nonce...)
	b = append(b, '\n')
	b = appendUpper(b, a.Method)
	b = append(b, '\n')
	b = append(b, a.Resource...)
	b = append(b, '\n')
	b = appendLower(b, a.Host)
	b = append(b, '\n')
	b = append(b, a.Port...)
	b = append(b, '\n')
	b = append(b, a.Hash...)
	b = append(b, '\n')
	// The reference escapes ext so that it cannot forge extra lines; the
	// header grammar already forbids both characters, but a client may sign
	// anything.
	for i := 0; i < len(a.Ext); i++ {
		switch c := a.Ext[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	b = append(b, '\n')
	if a.App != "" {
		b = append(b, a.App...)
		b = append(b, '\n')
		b = append(b, a.Dlg...)
		b = append(b, '\n')
	}
	return b
}

// appendUpper appends s with ASCII letters upper-cased. Methods are HTTP
// tokens, so ASCII mapping gives the reference's (Unicode) result.
func appendUpper(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendLower appends s with ASCII letters lower-cased. Hosts are ASCII
// (SplitHostPort rejects anything else).
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// PayloadHash returns the base64 SHA-256 payload hash of §1.3. Only the media
// type of contentType counts: up to the first ';', trimmed, lower-cased.
func PayloadHash(contentType string, body []byte) string {
	return payloadHashWith(sha256.New(), contentType, body)
}

// payloadHashWith is PayloadHash for any hash function; tests use it to
// check the sha1 vectors of the reference.
func payloadHashWith(h hash.Hash, contentType string, body []byte) string {
	io.WriteString(h, "hawk.1.payload\n")
	io.WriteString(h, mediaType(contentType))
	io.WriteString(h, "\n")
	h.Write(body)
	io.WriteString(h, "\n")
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// mediaType reduces a Content-Type value the way the reference's
// parseContentType does.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// TimestampMAC returns the tsm that proves a server timestamp came from a
// holder of key: base64 HMAC-SHA256 of "hawk.1.ts\n<ts>\n" (§1.7).
func TimestampMAC(key []byte, ts int64) string {
	var b [sha256.BlockSize + 32]byte
	msg := append(b[:sha256.BlockSize], "hawk.1.ts\n"...)
	msg = strconv.AppendInt(msg, ts, 10)
	msg = append(msg, '\n')
	sum := hmacSHA256(key, msg)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// VerifyTimestampMAC reports, in constant time, whether tsm is the
// TimestampMAC of ts under key.
func VerifyTimestampMAC(key []byte, ts int64, tsm string) bool {
	return subtle.ConstantTimeCompare([]byte(TimestampMAC(key, ts)), []byte(tsm)) == 1
}
