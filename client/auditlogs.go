package client

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/aipsec/aip"
)

// AuditLogsService reads the organization's audit log.
type AuditLogsService service

// AuditLogListOptions filters AuditLogsService.List. Empty fields are not
// sent. Without From and Until the server returns the last 30 days.
type AuditLogListOptions struct {
	// From and Until bound the event time, in any form the API accepts
	// (yyyy-mm-dd up to full timestamps; see TimeParam and DateParam). A
	// partial Until covers its whole unit.
	From, Until string
	// Operation matches the record's crud value, e.g. "delete".
	Operation string
	UserEmail string
	UserID    string
	// Token continues a listing from a previous Response.NextToken.
	Token string
}

// TimeParam renders t for a from/until parameter in the API's own timestamp
// format (UTC, milliseconds).
func TimeParam(t time.Time) string { return aip.FormatTime(t) }

// DateParam renders t's UTC date for a from/until parameter; as an until it
// covers the whole day.
func DateParam(t time.Time) string { return t.UTC().Format("2006-01-02") }

func (o *AuditLogListOptions) query() string {
	if o == nil {
		return ""
	}
	v := url.Values{}
	for _, p := range []struct{ key, val string }{
		{"from", o.From}, {"until", o.Until}, {"operation", o.Operation},
		{"userEmail", o.UserEmail}, {"userId", o.UserID}, {"token", o.Token},
	} {
		if p.val != "" {
			v.Set(p.key, p.val)
		}
	}
	return v.Encode()
}

// List returns one page (at most 50 records, newest first) of the audit log
// (GET /v2/auditlogs). Response.NextToken is "" on the last page.
func (s *AuditLogsService) List(ctx context.Context, opts *AuditLogListOptions) ([]*aip.AuditRecord, *Response, error) {
	path := "v2/auditlogs"
	if q := opts.query(); q != "" {
		path += "?" + q
	}
	req, err := s.client.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, nil, err
	}
	var env struct {
		Recs  []*aip.AuditRecord `json:"recs"`
		Token *string            `json:"token"`
	}
	resp, err := s.client.Do(req, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.NextToken = deref(env.Token)
	return env.Recs, resp, nil
}

// All iterates over every matching record, fetching pages as needed. Later
// pages are requested with the token alone, which carries the filters and
// the time window frozen at the first page. An error is yielded once, last.
func (s *AuditLogsService) All(ctx context.Context, opts *AuditLogListOptions) iter.Seq2[*aip.AuditRecord, error] {
	return func(yield func(*aip.AuditRecord, error) bool) {
		var page AuditLogListOptions
		if opts != nil {
			page = *opts
		}
		for {
			recs, resp, err := s.List(ctx, &page)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, r := range recs {
				if !yield(r, nil) {
					return
				}
			}
			if resp.NextToken == "" {
				return
			}
			if resp.NextToken == page.Token {
				// A server repeating itself would otherwise loop forever.
				yield(nil, errors.New("client: audit logs: server returned the same page token twice"))
				return
			}
			page = AuditLogListOptions{Token: resp.NextToken}
		}
	}
}
