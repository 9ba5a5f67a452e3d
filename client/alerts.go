package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aipsec/aip"
)

// AlertsService reads and dismisses the organization's alerts.
type AlertsService service

// AlertListOptions filters AlertsService.List. Empty fields are not sent.
type AlertListOptions struct {
	// Status is required by the server: "active" or "dismissed".
	Status string
	// Severity is 1, 2 or 3; 0 for any.
	Severity  int
	AgentID   string
	RuleID    string
	RulesetID string
	// From and Until bound the creation time (see TimeParam, DateParam).
	From, Until string
	// Token continues a listing from a previous Response.NextToken.
	Token string
}

func (o *AlertListOptions) query() url.Values {
	if o == nil {
		return nil
	}
	sev := ""
	if o.Severity != 0 {
		sev = strconv.Itoa(o.Severity)
	}
	return values("status", o.Status, "severity", sev, "agentId", o.AgentID, "ruleId", o.RuleID,
		"rulesetId", o.RulesetID, "from", o.From, "until", o.Until, "token", o.Token)
}

// SeverityCountOptions selects what AlertsService.SeverityCounts counts.
type SeverityCountOptions struct {
	// From and Until bound the creation time.
	From, Until string
	// Status is "active" (the server's default) or "dismissed".
	Status string
}

// DismissRequest is the body of AlertsService.Dismiss: either IDs, or From
// and Until with optional Severity, RuleID and AgentID.
type DismissRequest struct {
	IDs []string `json:"ids,omitempty"`
	// DismissReason is BUSINESS_OP, COMPANY_POLICY, MAINTENANCE or OTHER;
	// OTHER requires DismissReasonText.
	DismissReason     string `json:"dismissReason"`
	DismissReasonText string `json:"dismissReasonText,omitempty"`
	From              string `json:"from,omitempty"`
	Until             string `json:"until,omitempty"`
	Severity          int    `json:"severity,omitempty"`
	RuleID            string `json:"ruleId,omitempty"`
	AgentID           string `json:"agentId,omitempty"`
}

// List returns one page (at most 100 alerts, newest first) of the
// organization's alerts (GET /v2/alerts). Response.NextToken is "" on the
// last page.
func (s *AlertsService) List(ctx context.Context, opts *AlertListOptions) ([]*aip.Alert, *Response, error) {
	var env struct {
		Alerts []*aip.Alert `json:"alerts"`
		Token  *string      `json:"token"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, withQuery("v2/alerts", opts.query()), nil, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.NextToken = deref(env.Token)
	return env.Alerts, resp, nil
}

// All iterates over every matching alert, fetching pages as needed. An
// error is yielded once, last.
func (s *AlertsService) All(ctx context.Context, opts *AlertListOptions) iter.Seq2[*aip.Alert, error] {
	var first AlertListOptions
	if opts != nil {
		first = *opts
	}
	return paginate("alerts", first.Token, func(token string) ([]*aip.Alert, string, error) {
		page := AlertListOptions{Token: token}
		if token == first.Token {
			page = first
		}
		alerts, resp, err := s.List(ctx, &page)
		if err != nil {
			return nil, "", err
		}
		return alerts, resp.NextToken, nil
	})
}

// Get returns one alert (GET /v2/alerts/{id}).
func (s *AlertsService) Get(ctx context.Context, id string) (*aip.Alert, *Response, error) {
	p, err := pathID("alert", id)
	if err != nil {
		return nil, nil, err
	}
	a := new(aip.Alert)
	resp, err := s.client.call(ctx, http.MethodGet, "v2/alerts/"+p, nil, a)
	if err != nil {
		return nil, resp, err
	}
	return a, resp, nil
}

// Events returns one page (at most 100, newest first) of the events of an
// alert (GET /v2/alerts/{id}/events), from token ("" for the first page).
// Each event keeps its raw JSON in Raw; ID, Type and Time are read from its
// _id, event_type and timestamp.
func (s *AlertsService) Events(ctx context.Context, alertID, token string) ([]*aip.Event, *Response, error) {
	p, err := pathID("alert", alertID)
	if err != nil {
		return nil, nil, err
	}
	var env struct {
		Events []json.RawMessage `json:"events"`
		Token  *string           `json:"token"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, withQuery("v2/alerts/"+p+"/events", values("token", token)), nil, &env)
	if err != nil {
		return nil, resp, err
	}
	evs := make([]*aip.Event, 0, len(env.Events))
	for i, raw := range env.Events {
		ev, err := decodeEvent(raw)
		if err != nil {
			return nil, resp, fmt.Errorf("client: event %d of alert %s: %w", i, alertID, err)
		}
		evs = append(evs, ev)
	}
	resp.NextToken = deref(env.Token)
	return evs, resp, nil
}

// AllEvents iterates over every event of an alert, fetching pages as
// needed. An error is yielded once, last.
func (s *AlertsService) AllEvents(ctx context.Context, alertID string) iter.Seq2[*aip.Event, error] {
	return paginate("alert events", "", func(token string) ([]*aip.Event, string, error) {
		evs, resp, err := s.Events(ctx, alertID, token)
		if err != nil {
			return nil, "", err
		}
		return evs, resp.NextToken, nil
	})
}

// decodeEvent reads the indexed fields of a raw event and keeps the rest
// verbatim.
func decodeEvent(raw json.RawMessage) (*aip.Event, error) {
	var head struct {
		ID        string      `json:"_id"`
		Type      string      `json:"event_type"`
		Timestamp json.Number `json:"timestamp"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, err
	}
	ev := &aip.Event{ID: head.ID, Type: head.Type, Raw: append(json.RawMessage(nil), raw...)}
	if ms, err := head.Timestamp.Int64(); err == nil {
		ev.Time = time.UnixMilli(ms).UTC()
	}
	return ev, nil
}

// SeverityCounts counts alerts per severity (GET
// /v2/alerts/severity-counts): severities 1, 2 and 3, in that order.
func (s *AlertsService) SeverityCounts(ctx context.Context, opts *SeverityCountOptions) ([]aip.SeverityCount, *Response, error) {
	var q url.Values
	if opts != nil {
		q = values("from", opts.From, "until", opts.Until, "status", opts.Status)
	}
	var env struct {
		SeverityCounts []aip.SeverityCount `json:"severityCounts"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, withQuery("v2/alerts/severity-counts", q), nil, &env)
	if err != nil {
		return nil, resp, err
	}
	return env.SeverityCounts, resp, nil
}

// Dismiss dismisses alerts (POST /v2/alerts/dismiss) and returns how many
// this request dismissed.
func (s *AlertsService) Dismiss(ctx context.Context, r *DismissRequest) (int, *Response, error) {
	var out struct {
		DismissedCount int `json:"dismissedCount"`
	}
	resp, err := s.client.call(ctx, http.MethodPost, "v2/alerts/dismiss", r, &out)
	if err != nil {
		return 0, resp, err
	}
	return out.DismissedCount, resp, nil
}
