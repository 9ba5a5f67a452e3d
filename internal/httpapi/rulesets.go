package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/aipsec/aip"
)

// rulesetRequest is the body of POST and PUT /v2/rulesets: clients send the
// rule ids as ruleIds (any case) or, re-posting a ruleset they read, as
// rules. The read-only fields of a Ruleset are accepted and ignored.
type rulesetRequest struct {
	Name        *string  `json:"name"`
	Description *string  `json:"description"`
	RuleIDs     []string `json:"ruleIds"`
	Rules       []string `json:"rules"`

	ID        json.RawMessage `json:"id"`
	CreatedAt json.RawMessage `json:"createdAt"`
	UpdatedAt json.RawMessage `json:"updatedAt"`
	Agents    json.RawMessage `json:"agents"`
}

// ruleset validates the request and returns the ruleset it describes.
// Rules stays nil when the body names no rule list, which leaves the rules
// of an updated ruleset where they are.
func (req *rulesetRequest) ruleset(orgID string) (*aip.Ruleset, error) {
	if req.Name == nil || utf8.RuneCountInString(*req.Name) < 1 || utf8.RuneCountInString(*req.Name) > 200 {
		return nil, aip.Errorf(aip.EINVALID, "Validation failed: body has invalid name value.  Must be between 1 and 200 characters long.")
	}
	rs := &aip.Ruleset{OrgID: orgID, Name: *req.Name}
	if req.Description != nil {
		rs.Description = *req.Description
	}
	ids := req.RuleIDs
	if ids == nil {
		ids = req.Rules
	}
	if ids != nil {
		rs.Rules = []string{}
		seen := map[string]bool{}
		for _, id := range ids {
			if !aip.IsUUID(id) {
				return nil, aip.Errorf(aip.ENOTFOUND, "Rule %q not found.", id)
			}
			if !seen[id] {
				seen[id] = true
				rs.Rules = append(rs.Rules, id)
			}
		}
	}
	return rs, nil
}

// rulesetNotFound is the 404 of a ruleset id that is malformed or belongs
// to no ruleset of the caller's organization.
func rulesetNotFound(id string) error {
	return aip.Errorf(aip.ENOTFOUND, "Ruleset %s not found.", id)
}

// wireRuleset makes the lists of rs non-nil so that they encode as [].
func wireRuleset(rs *aip.Ruleset) *aip.Ruleset {
	if rs.Rules == nil {
		rs.Rules = []string{}
	}
	if rs.Agents == nil {
		rs.Agents = []string{}
	}
	return rs
}

// listRulesets is GET /v2/rulesets[?agentId=]: the whole list, token null.
func (s *Server) listRulesets(w http.ResponseWriter, r *http.Request, p *principal) {
	agentID := r.URL.Query().Get("agentId")
	if agentID != "" && !aip.IsUUID(agentID) {
		s.writeError(w, r, aip.Errorf(aip.EINVALID, `"agentId" must be a 36 character UUID.`))
		return
	}
	sets, err := s.cfg.Store.ListRulesets(r.Context(), p.OrgID, agentID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]*aip.Ruleset, 0, len(sets))
	for _, rs := range sets {
		out = append(out, wireRuleset(rs))
	}
	writeOK(w, struct {
		Rulesets []*aip.Ruleset `json:"rulesets"`
		Token    *string        `json:"token"`
	}{out, nil})
}

// createRuleset is POST /v2/rulesets; the named rules move into it.
func (s *Server) createRuleset(w http.ResponseWriter, r *http.Request, p *principal) {
	var req rulesetRequest
	if err := decodeJSON(p.Body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rs, err := req.ruleset(p.OrgID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.CreateRuleset(r.Context(), rs); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeRuleset(w, r, p.OrgID, rs.ID)
}

// getRuleset is GET /v2/rulesets/{rulesetId}.
func (s *Server) getRuleset(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("rulesetId")
	if !aip.IsUUID(id) {
		s.writeError(w, r, rulesetNotFound(id))
		return
	}
	s.writeRuleset(w, r, p.OrgID, id)
}

// updateRuleset is PUT /v2/rulesets/{rulesetId}: name and description are
// replaced; a rule list moves the named rules into the ruleset.
func (s *Server) updateRuleset(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("rulesetId")
	if !aip.IsUUID(id) {
		s.writeError(w, r, rulesetNotFound(id))
		return
	}
	var req rulesetRequest
	if err := decodeJSON(p.Body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rs, err := req.ruleset(p.OrgID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rs.ID = id
	if err := s.cfg.Store.UpdateRuleset(r.Context(), rs); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeRuleset(w, r, p.OrgID, id)
}

// deleteRuleset is DELETE /v2/rulesets/{rulesetId} → 200 {"server_ids":[…]}
// with the agents that ran it. Clients may send {"server_ids":[]}, which
// says nothing the server needs.
func (s *Server) deleteRuleset(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("rulesetId")
	if len(bytes.TrimSpace(p.Body)) > 0 {
		var req struct {
			ServerIDs []string `json:"server_ids"`
		}
		if err := decodeJSON(p.Body, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if !aip.IsUUID(id) {
		s.writeError(w, r, rulesetNotFound(id))
		return
	}
	agents, err := s.cfg.Store.DeleteRuleset(r.Context(), p.OrgID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if agents == nil {
		agents = []string{}
	}
	writeOK(w, struct {
		ServerIDs []string `json:"server_ids"`
	}{agents})
}

// writeRuleset answers the stored ruleset id, so that every write answers
// exactly what a later GET shows.
func (s *Server) writeRuleset(w http.ResponseWriter, r *http.Request, orgID, id string) {
	rs, err := s.cfg.Store.FindRuleset(r.Context(), orgID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, wireRuleset(rs))
}
