// Package webhook delivers alert webhooks: it builds the v2 webhook payload, signs it, and sends
// it from a durable outbox with retries, independent of the database behind the outbox.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names and the User-Agent sent with every delivery.
const (
	// SignatureHeader carries Sign's output so receivers can authenticate the body.
	SignatureHeader = "X-AIP-Signature"
	// DeliveryHeader carries the delivery id, stable across retries, so receivers can
	// drop duplicates (a retry after a lost response is indistinguishable from a new send).
	DeliveryHeader = "X-AIP-Delivery"
	// UserAgent identifies the sender and its payload version.
	UserAgent = "aip-webhook/1"
)

// maxSignatureHeader bounds the work Verify does on attacker-controlled input.
const maxSignatureHeader = 4096

// Errors returned by Verify; callers can tell a malformed header from a forged or replayed one.
var (
	ErrMalformedSignature = errors.New("webhook: malformed signature header")
	ErrStaleSignature     = errors.New("webhook: signature timestamp outside tolerance")
	ErrSignatureMismatch  = errors.New("webhook: signature does not match")
)

// Sign returns the X-AIP-Signature value for body sent at timestamp:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>.<body>")>". Binding the
// timestamp into the MAC lets receivers reject replays by checking t.
func Sign(secret []byte, timestamp time.Time, body []byte) string {
	ts := strconv.FormatInt(timestamp.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a signature header produced by Sign against body. It accepts several v1
// entries (a sender rotating secrets may send one per secret) and ignores unknown keys so
// future schemes can be added; t must appear exactly once and lie within tolerance of now,
// in either direction.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(header) > maxSignatureHeader {
		return fmt.Errorf("%w: longer than %d bytes", ErrMalformedSignature, maxSignatureHeader)
	}
	var (
		ts     string
		tsSeen bool
		sigs   [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: element %q is not key=value", ErrMalformedSignature, part)
		}
		switch key {
		case "t":
			if tsSeen {
				return fmt.Errorf("%w: t given twice", ErrMalformedSignature)
			}
			ts, tsSeen = value, true
		case "v1":
			sig, err := hex.DecodeString(value)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: v1 is not a hex SHA-256 MAC", ErrMalformedSignature)
			}
			sigs = append(sigs, sig)
		}
	}
	if !tsSeen {
		return fmt.Errorf("%w: no t", ErrMalformedSignature)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1", ErrMalformedSignature)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	// Only the canonical decimal form is signed, so "+5" or "05" cannot name the same instant.
	if err != nil || strconv.FormatInt(unix, 10) != ts {
		return fmt.Errorf("%w: t %q is not a unix time", ErrMalformedSignature, ts)
	}
	// time.Sub saturates, so absurd t values cannot overflow into the window.
	skew := now.Sub(time.Unix(unix, 0))
	if skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: t is %s away from now", ErrStaleSignature, skew.Truncate(time.Second))
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return ErrSignatureMismatch
}
