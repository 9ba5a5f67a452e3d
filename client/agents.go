package client

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"

	"github.com/aipsec/aip"
)

// AgentsService reads the organization's agents.
type AgentsService service

// AgentListOptions filters AgentsService.List. Empty fields are not sent.
type AgentListOptions struct {
	// Status is required by the server: "online" or "offline".
	Status string
	// Type is "monitor" or "investigate".
	Type       string
	Hostname   string
	InstanceID string
	// From and Until bound the enrollment time (see TimeParam, DateParam).
	From, Until string
	// Token continues a listing from a previous Response.NextToken.
	Token string
}

func (o *AgentListOptions) query() url.Values {
	if o == nil {
		return nil
	}
	return values("status", o.Status, "type", o.Type, "hostname", o.Hostname, "instanceId", o.InstanceID,
		"from", o.From, "until", o.Until, "token", o.Token)
}

// values builds a query from key, value pairs, leaving out empty values.
func values(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

// withQuery appends a non-empty query to path.
func withQuery(path string, q url.Values) string {
	if s := q.Encode(); s != "" {
		return path + "?" + s
	}
	return path
}

// List returns one page (at most 100 agents, newest enrolled first) of the
// organization's agents (GET /v2/agents). Response.NextToken is "" on the
// last page.
func (s *AgentsService) List(ctx context.Context, opts *AgentListOptions) ([]*aip.Agent, *Response, error) {
	var env struct {
		Agents []*aip.Agent `json:"agents"`
		Token  *string      `json:"token"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, withQuery("v2/agents", opts.query()), nil, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.NextToken = deref(env.Token)
	return env.Agents, resp, nil
}

// All iterates over every matching agent, fetching pages as needed. An
// error is yielded once, last.
func (s *AgentsService) All(ctx context.Context, opts *AgentListOptions) iter.Seq2[*aip.Agent, error] {
	var first AgentListOptions
	if opts != nil {
		first = *opts
	}
	return paginate("agents", first.Token, func(token string) ([]*aip.Agent, string, error) {
		page := AgentListOptions{Token: token}
		if token == first.Token {
			page = first
		}
		agents, resp, err := s.List(ctx, &page)
		if err != nil {
			return nil, "", err
		}
		return agents, resp.NextToken, nil
	})
}

// Get returns one agent (GET /v2/agents/{id}).
func (s *AgentsService) Get(ctx context.Context, id string) (*aip.Agent, *Response, error) {
	p, err := pathID("agent", id)
	if err != nil {
		return nil, nil, err
	}
	a := new(aip.Agent)
	resp, err := s.client.call(ctx, http.MethodGet, "v2/agents/"+p, nil, a)
	if err != nil {
		return nil, resp, err
	}
	return a, resp, nil
}

// paginate iterates over the items of a paged listing: fetch(token) returns
// one page and the next token ("" on the last page), starting with first.
// Later pages are fetched with the token alone, which carries the filters
// and the time window frozen at the first page. An error is yielded once,
// last.
func paginate[T any](what, first string, fetch func(token string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		token := first
		for {
			items, next, err := fetch(token)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if next == token {
				// A server repeating itself would otherwise loop forever.
				yield(zero, errors.New("client: "+what+": server returned the same page token twice"))
				return
			}
			token = next
		}
	}
}
