package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aipsec/aip"
)

// decodeJSON strictly decodes one JSON object from body into v: unknown
// fields, trailing data and empty bodies are 400s, so a typo in a client is
// reported instead of silently ignored.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return aip.Errorf(aip.EINVALID, "A JSON request body is required.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return aip.Errorf(aip.EINVALID, "Invalid JSON body: %s.", jsonErrorText(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return aip.Errorf(aip.EINVALID, "Invalid JSON body: unexpected data after the JSON value.")
	}
	return nil
}

// jsonErrorText turns encoding/json's errors into client-facing text
// without Go type names.
func jsonErrorText(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			return "field \"" + typeErr.Field + "\" has the wrong type (" + typeErr.Value + ")"
		}
		return "the body must be a JSON object"
	case errors.As(err, &syntaxErr):
		return strings.TrimPrefix(syntaxErr.Error(), "json: ")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of JSON input"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// listQuery is a parsed list request: its effective filters and where the
// page starts.
type listQuery struct {
	// Filters are the effective filter parameters (from the query, or from
	// the token when the query carries only a token).
	Filters url.Values
	// Upper is the frozen "now" of the listing's first page.
	Upper time.Time
	// After is the keyset position to continue after; nil on page one.
	After *aip.Cursor

	canonical string
	endpoint  string
}

// parseListQuery reads the filter keys of a list endpoint and its page
// token. A token alone continues the listing it came from; a token with
// filters must match them.
func (s *Server) parseListQuery(q url.Values, orgID, endpoint string, keys ...string) (*listQuery, error) {
	filters := url.Values{}
	for _, k := range keys {
		if v := q.Get(k); v != "" {
			filters.Set(k, v)
		}
	}
	lq := &listQuery{Filters: filters, canonical: filters.Encode(), endpoint: endpoint}
	raw := q.Get("token")
	if raw == "" {
		lq.Upper = s.now().UTC().Truncate(time.Millisecond).Add(time.Millisecond)
		return lq, nil
	}
	tok, err := s.tokens.Decode(raw, orgID, endpoint)
	if err != nil {
		return nil, err
	}
	if len(filters) > 0 && lq.canonical != tok.Filters {
		return nil, aip.Errorf(aip.EINVALID, "The page token does not match the query's filters; repeat the same query with the token, or send the token alone.")
	}
	if len(filters) == 0 {
		f, err := url.ParseQuery(tok.Filters)
		if err != nil {
			return nil, aip.Errorf(aip.EINVALID, "invalid page token")
		}
		lq.Filters, lq.canonical = f, tok.Filters
	}
	lq.Upper = tok.Upper
	after := tok.After
	lq.After = &after
	return lq, nil
}

// timeRange parses the listing's from/until and caps Until at the frozen
// upper bound, so items created while a client pages never shift its pages.
// A non-zero window applies a default window ending at that bound.
func (lq *listQuery) timeRange(window time.Duration) (aip.TimeRange, error) {
	rng, err := aip.ParseTimeRange(lq.Filters.Get("from"), lq.Filters.Get("until"))
	if err != nil {
		return rng, err
	}
	if window > 0 {
		rng = rng.WithDefaultWindow(lq.Upper, window)
	}
	if rng.Until.IsZero() || rng.Until.After(lq.Upper) {
		rng.Until = lq.Upper
	}
	return rng, nil
}

// cutPage trims items, fetched as size+1 to learn whether more follow, to
// one page, and returns the token of the next page (nil on the last one).
// The result is never nil, so an empty page encodes as [].
func cutPage[T any](s *Server, lq *listQuery, orgID string, items []T, size int, cursor func(T) aip.Cursor) ([]T, *string) {
	more := len(items) > size
	if more {
		items = items[:size]
	}
	var last aip.Cursor
	if len(items) > 0 {
		last = cursor(items[len(items)-1])
	}
	if items == nil {
		items = []T{}
	}
	return items, s.nextToken(lq, orgID, more, last)
}

// nextToken returns the token of the page after one ending at last, or nil
// (JSON null) when there is none.
func (s *Server) nextToken(lq *listQuery, orgID string, more bool, last aip.Cursor) *string {
	if !more {
		return nil
	}
	t := s.tokens.Encode(aip.PageToken{OrgID: orgID, Endpoint: lq.endpoint, Filters: lq.canonical, Upper: lq.Upper, After: last})
	return &t
}
