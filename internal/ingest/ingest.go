package ingest

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/rules"
)

// Limits bound what Decode accepts. A zero or negative field takes its
// DefaultLimits value, so that a forgotten field never means "unlimited".
type Limits struct {
	// MaxBodyBytes caps the body as sent (compressed, for gzip).
	MaxBodyBytes int64
	// MaxDecodedBytes caps the body after decompression; it is what stops
	// a gzip bomb. Without compression the smaller of the two applies.
	MaxDecodedBytes int64
	// MaxEventBytes caps one event in its compact form (what is stored).
	// Larger events are rejected one by one. Values above
	// rules.MaxEventBytes are lowered to it.
	MaxEventBytes int64
	// MaxEvents caps the records of a batch, kept and rejected together.
	MaxEvents int
	// MaxDepth caps the nesting of objects and arrays in one event, the
	// event object itself counting as 1. Deeper events are rejected one by
	// one. Values above rules.MaxEventDepth are lowered to it.
	MaxDepth int
}

// DefaultLimits returns the limits of an aipd that was not told otherwise:
// a 16 MiB body, 32 MiB decompressed, 64 KiB events, 10,000 events a batch
// and rules.MaxEventDepth levels of nesting.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes:    16 << 20,
		MaxDecodedBytes: 32 << 20,
		MaxEventBytes:   64 << 10,
		MaxEvents:       10000,
		MaxDepth:        rules.MaxEventDepth,
	}
}

// withDefaults fills unset fields and clamps the per-event limits to what
// the rule engine can decode.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = d.MaxDecodedBytes
	}
	if l.MaxEventBytes <= 0 {
		l.MaxEventBytes = d.MaxEventBytes
	}
	l.MaxEventBytes = min(l.MaxEventBytes, rules.MaxEventBytes)
	if l.MaxEvents <= 0 {
		l.MaxEvents = d.MaxEvents
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	l.MaxDepth = min(l.MaxDepth, rules.MaxEventDepth)
	return l
}

// Event is one kept event of a batch.
type Event struct {
	// Index is the event's position in the body (see the package doc).
	Index int
	// ID is the event's "_id", a lower-case UUID.
	ID string
	// Type is the event's "event_type".
	Type string
	// Timestamp is the event's "timestamp" in epoch milliseconds, 0 when
	// absent or null.
	Timestamp int64
	// Raw is the event as compact JSON, its "_id" lower-cased. It shares
	// storage with other events of the batch: treat it as read-only.
	Raw []byte
}

// Rejection is one record of a batch that was not kept: its index in the
// body and why, in words meant for the agent's author.
type Rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// Batch is a decoded body: the kept events and the rejected records, each
// in body order.
type Batch struct {
	Events   []Event
	Rejected []Rejection
}

// Decode reads an events body from r, sent with the given Content-Type and
// Content-Encoding header values, and returns its kept and rejected events.
// Problems with single events go into Batch.Rejected. Problems with the
// body as a whole are errors: *aip.Error EINVALID for an unsupported type
// or encoding, bad gzip, an empty body, a body that is neither a JSON array
// nor NDJSON, or a syntax error in an array; ETOOLARGE when a limit of lim
// other than the per-event ones is exceeded. Failures of r itself come back
// wrapped, except http.MaxBytesError (ETOOLARGE) and io.ErrUnexpectedEOF
// (EINVALID, a truncated body).
func Decode(r io.Reader, contentType, contentEncoding string, lim Limits) (*Batch, error) {
	lim = lim.withDefaults()
	if err := checkContentType(contentType); err != nil {
		return nil, err
	}
	gz, err := isGzip(contentEncoding)
	if err != nil {
		return nil, err
	}
	var src io.Reader
	body := &limitReader{r: r}
	if gz {
		body.left, body.tooLarge = lim.MaxBodyBytes, aip.Errorf(aip.ETOOLARGE, "the body is larger than %d bytes", lim.MaxBodyBytes)
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, readError(err, body, true)
		}
		src = &limitReader{r: zr, left: lim.MaxDecodedBytes, tooLarge: aip.Errorf(aip.ETOOLARGE,
			"the decompressed body is larger than %d bytes", lim.MaxDecodedBytes)}
	} else {
		n := min(lim.MaxBodyBytes, lim.MaxDecodedBytes)
		body.left, body.tooLarge = n, aip.Errorf(aip.ETOOLARGE, "the body is larger than %d bytes", n)
		src = body
	}
	s := newScanner(src, lim)
	b, err := s.decode()
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return nil, aip.Errorf(aip.EINVALID, "invalid JSON at byte %d of the body: %s", se.off, se.msg)
		}
		return nil, readError(err, body, gz)
	}
	return b, nil
}

// checkContentType accepts the JSON and NDJSON media types, or none.
func checkContentType(ct string) error {
	if strings.TrimSpace(ct) == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return aip.Errorf(aip.EINVALID, "invalid Content-Type %q", ct)
	}
	switch mt {
	case "application/json", "application/x-ndjson", "application/ndjson":
	default:
		return aip.Errorf(aip.EINVALID, "unsupported Content-Type %q: send application/json or application/x-ndjson", mt)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return aip.Errorf(aip.EINVALID, "unsupported charset %q: events must be UTF-8", cs)
	}
	return nil
}

// isGzip reports whether the Content-Encoding asks for gzip; anything but
// gzip and identity is refused.
func isGzip(ce string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(ce)) {
	case "", "identity":
		return false, nil
	case "gzip", "x-gzip":
		return true, nil
	}
	return false, aip.Errorf(aip.EINVALID, "unsupported Content-Encoding %q: send gzip or no encoding", ce)
}

// readError turns a failure to read the body into the error Decode
// returns. body tells whether the failure came from the caller's reader;
// any other failure below the gzip layer is bad gzip data.
func readError(err error, body *limitReader, gz bool) error {
	var ae *aip.Error
	if errors.As(err, &ae) {
		return ae
	}
	if body.srcErr != nil && errors.Is(err, body.srcErr) {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(body.srcErr, &mbe):
			return aip.Errorf(aip.ETOOLARGE, "the body is larger than %d bytes", mbe.Limit)
		case errors.Is(body.srcErr, io.ErrUnexpectedEOF):
			return aip.Errorf(aip.EINVALID, "the body ended early")
		}
		return fmt.Errorf("read events body: %w", err)
	}
	if gz {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return aip.Errorf(aip.EINVALID, "invalid gzip body: unexpected end of data")
		}
		return aip.Errorf(aip.EINVALID, "invalid gzip body: %s", strings.TrimPrefix(err.Error(), "gzip: "))
	}
	return fmt.Errorf("read events body: %w", err)
}

// limitReader passes at most left bytes through and fails with tooLarge as
// soon as the source has more. It reads one byte past the limit at most,
// so a body exactly at the limit passes.
type limitReader struct {
	r        io.Reader
	left     int64
	tooLarge error
	srcErr   error // the last non-EOF error of r
	failed   bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.failed {
		return 0, l.tooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		l.failed = true
		return 0, l.tooLarge
	}
	l.left -= int64(n)
	if err != nil && err != io.EOF {
		l.srcErr = err
	}
	return n, err
}
