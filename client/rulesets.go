package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/aipsec/aip"
)

// RulesetsService manages the organization's rulesets.
type RulesetsService service

// RulesService manages the rules of a ruleset.
type RulesService service

// TagsService manages the EC2 tag filters of rules.
type TagsService service

// RulesetListOptions filters RulesetsService.List.
type RulesetListOptions struct {
	// AgentID lists only the rulesets this agent runs.
	AgentID string
}

// RulesetRequest is the body of RulesetsService.Create and Update.
type RulesetRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// RuleIDs are rules to move into the ruleset. On Update, nil leaves the
	// rules where they are.
	RuleIDs []string `json:"ruleIds,omitempty"`
}

// pathID escapes one id for a path, refusing an empty one: it would
// address another route.
func pathID(what, id string) (string, error) {
	if id == "" {
		return "", errors.New("client: empty " + what + " id")
	}
	return url.PathEscape(id), nil
}

// List returns the organization's rulesets (GET /v2/rulesets), whole.
func (s *RulesetsService) List(ctx context.Context, opts *RulesetListOptions) ([]*aip.Ruleset, *Response, error) {
	path := "v2/rulesets"
	if opts != nil && opts.AgentID != "" {
		path += "?agentId=" + url.QueryEscape(opts.AgentID)
	}
	var env struct {
		Rulesets []*aip.Ruleset `json:"rulesets"`
		Token    *string        `json:"token"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, path, nil, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.NextToken = deref(env.Token)
	return env.Rulesets, resp, nil
}

// Get returns one ruleset (GET /v2/rulesets/{id}).
func (s *RulesetsService) Get(ctx context.Context, id string) (*aip.Ruleset, *Response, error) {
	p, err := pathID("ruleset", id)
	if err != nil {
		return nil, nil, err
	}
	rs := new(aip.Ruleset)
	resp, err := s.client.call(ctx, http.MethodGet, "v2/rulesets/"+p, nil, rs)
	if err != nil {
		return nil, resp, err
	}
	return rs, resp, nil
}

// Create creates a ruleset (POST /v2/rulesets).
func (s *RulesetsService) Create(ctx context.Context, r *RulesetRequest) (*aip.Ruleset, *Response, error) {
	rs := new(aip.Ruleset)
	resp, err := s.client.call(ctx, http.MethodPost, "v2/rulesets", r, rs)
	if err != nil {
		return nil, resp, err
	}
	return rs, resp, nil
}

// Update replaces a ruleset's name and description and moves the rules of
// r.RuleIDs into it (PUT /v2/rulesets/{id}).
func (s *RulesetsService) Update(ctx context.Context, id string, r *RulesetRequest) (*aip.Ruleset, *Response, error) {
	p, err := pathID("ruleset", id)
	if err != nil {
		return nil, nil, err
	}
	rs := new(aip.Ruleset)
	resp, err := s.client.call(ctx, http.MethodPut, "v2/rulesets/"+p, r, rs)
	if err != nil {
		return nil, resp, err
	}
	return rs, resp, nil
}

// Delete deletes a ruleset with its rules (DELETE /v2/rulesets/{id}) and
// returns the ids of the agents that ran it.
func (s *RulesetsService) Delete(ctx context.Context, id string) ([]string, *Response, error) {
	p, err := pathID("ruleset", id)
	if err != nil {
		return nil, nil, err
	}
	var out struct {
		ServerIDs []string `json:"server_ids"`
	}
	resp, err := s.client.call(ctx, http.MethodDelete, "v2/rulesets/"+p, nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return out.ServerIDs, resp, nil
}

// rulePath is the path of a ruleset's rules, or of one of them.
func rulePath(rulesetID, ruleID string, one bool) (string, error) {
	rs, err := pathID("ruleset", rulesetID)
	if err != nil {
		return "", err
	}
	path := "v2/rulesets/" + rs + "/rules"
	if one {
		r, err := pathID("rule", ruleID)
		if err != nil {
			return "", err
		}
		path += "/" + r
	}
	return path, nil
}

// List returns the rules of a ruleset (GET /v2/rulesets/{id}/rules), whole.
func (s *RulesService) List(ctx context.Context, rulesetID string) ([]*aip.Rule, *Response, error) {
	path, err := rulePath(rulesetID, "", false)
	if err != nil {
		return nil, nil, err
	}
	var env struct {
		Rules []*aip.Rule `json:"rules"`
		Token *string     `json:"token"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, path, nil, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.NextToken = deref(env.Token)
	return env.Rules, resp, nil
}

// Get returns one rule of a ruleset.
func (s *RulesService) Get(ctx context.Context, rulesetID, ruleID string) (*aip.Rule, *Response, error) {
	return s.send(ctx, http.MethodGet, rulesetID, ruleID, true, nil)
}

// Create creates r in a ruleset (POST /v2/rulesets/{id}/rules); the read-only
// fields of r are ignored by the server.
func (s *RulesService) Create(ctx context.Context, rulesetID string, r *aip.Rule) (*aip.Rule, *Response, error) {
	return s.send(ctx, http.MethodPost, rulesetID, "", false, r)
}

// Update replaces every writable field of a rule with those of r.
func (s *RulesService) Update(ctx context.Context, rulesetID, ruleID string, r *aip.Rule) (*aip.Rule, *Response, error) {
	return s.send(ctx, http.MethodPut, rulesetID, ruleID, true, r)
}

// Delete deletes a rule and its tags.
func (s *RulesService) Delete(ctx context.Context, rulesetID, ruleID string) (*Response, error) {
	path, err := rulePath(rulesetID, ruleID, true)
	if err != nil {
		return nil, err
	}
	return s.client.call(ctx, http.MethodDelete, path, nil, nil)
}

func (s *RulesService) send(ctx context.Context, method, rulesetID, ruleID string, one bool, body *aip.Rule) (*aip.Rule, *Response, error) {
	path, err := rulePath(rulesetID, ruleID, one)
	if err != nil {
		return nil, nil, err
	}
	var in any
	if body != nil {
		in = body
	}
	out := new(aip.Rule)
	resp, err := s.client.call(ctx, method, path, in, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// Get returns a rule's tag filter (GET /v2/rules/{id}/tags); both lists are
// empty when none was set.
func (s *TagsService) Get(ctx context.Context, ruleID string) (*aip.TagSet, *Response, error) {
	return s.send(ctx, http.MethodGet, ruleID, nil)
}

// Set replaces a rule's tag filter (POST /v2/rules/{id}/tags) and returns
// the stored one.
func (s *TagsService) Set(ctx context.Context, ruleID string, tags aip.TagSet) (*aip.TagSet, *Response, error) {
	return s.send(ctx, http.MethodPost, ruleID, &tags)
}

func (s *TagsService) send(ctx context.Context, method, ruleID string, body *aip.TagSet) (*aip.TagSet, *Response, error) {
	p, err := pathID("rule", ruleID)
	if err != nil {
		return nil, nil, err
	}
	var in any
	if body != nil {
		in = body
	}
	out := new(aip.TagSet)
	resp, err := s.client.call(ctx, method, "v2/rules/"+p+"/tags", in, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// call builds, sends and decodes one request; body nil sends none.
func (c *Client) call(ctx context.Context, method, path string, body, v any) (*Response, error) {
	req, err := c.NewRequest(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	return c.Do(req, v)
}
