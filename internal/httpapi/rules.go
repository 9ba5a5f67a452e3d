package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/rules"
)

// flexInt is an integer that clients may also send as a quoted number
// ("1"), as some mocks of severityOfAlerts do.
type flexInt struct {
	N   int
	Set bool
}

// UnmarshalJSON accepts 3 and "3"; null leaves the value unset.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) >= 2 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("expected an integer, got %s", b)
	}
	f.N, f.Set = n, true
	return nil
}

// ruleRequest is the body of POST and PUT rule: a whole Rule. The read-only
// fields are accepted and ignored, since clients re-post rules they read.
type ruleRequest struct {
	Name               *string                 `json:"name"`
	Type               *string                 `json:"type"`
	Title              *string                 `json:"title"`
	SeverityOfAlerts   flexInt                 `json:"severityOfAlerts"`
	AlertDescription   *string                 `json:"alertDescription"`
	AggregateFields    []string                `json:"aggregateFields"`
	Filter             string                  `json:"filter"`
	Window             flexInt                 `json:"window"`
	Threshold          flexInt                 `json:"threshold"`
	Suppressions       []string                `json:"suppressions"`
	Enabled            *bool                   `json:"enabled"`
	FileIntegrityPaths []aip.FileIntegrityPath `json:"fileIntegrityPaths"`
	IgnoreFiles        []string                `json:"ignoreFiles"`
	EventsToMonitor    []string                `json:"eventsToMonitor"`

	ID        json.RawMessage `json:"id"`
	RulesetID json.RawMessage `json:"rulesetId"`
	CreatedAt json.RawMessage `json:"createdAt"`
	UpdatedAt json.RawMessage `json:"updatedAt"`
}

// invalidValue is the v2 validation message, two spaces included.
func invalidValue(field, must string) error {
	return aip.Errorf(aip.EINVALID, "Validation failed: body has invalid %s value.  %s", field, must)
}

// rule validates the request and returns the rule it describes, in
// canonical form: type spelled canonically, aggregate fields effective, no
// File fields on other types. The filter language is checked by the engine.
func (req *ruleRequest) rule(orgID, rulesetID string) (*aip.Rule, error) {
	// Absent fields first: the shared checks see values, not JSON nulls.
	switch {
	case req.Name == nil:
		return nil, invalidValue("name", "Must be between 1 and 200 characters long.")
	case req.Type == nil:
		return nil, invalidValue("type", "Must be one of "+rules.RuleTypeList()+".")
	case req.Title == nil:
		return nil, invalidValue("title", "Must be between 1 and 1000 characters long.")
	case !req.SeverityOfAlerts.Set:
		return nil, invalidValue("severityOfAlerts", "Must be 1, 2 or 3.")
	case req.AlertDescription == nil:
		return nil, invalidValue("alertDescription", "Must be between 1 and 300 characters long.")
	case req.Enabled == nil:
		return nil, invalidValue("enabled", "Must be true or false.")
	}
	t, _ := rules.ParseRuleType(*req.Type)
	r := &aip.Rule{
		OrgID: orgID, RulesetID: rulesetID, Name: *req.Name, Type: *req.Type, Title: *req.Title,
		SeverityOfAlerts: req.SeverityOfAlerts.N, AlertDescription: *req.AlertDescription,
		Filter: req.Filter, Window: req.Window.N, Threshold: req.Threshold.N,
		Suppressions: req.Suppressions, Enabled: *req.Enabled,
	}
	if t == rules.TypeFile {
		r.FileIntegrityPaths, r.EventsToMonitor, r.IgnoreFiles = req.FileIntegrityPaths, req.EventsToMonitor, req.IgnoreFiles
	}
	if problems := rules.CheckFields(r); len(problems) > 0 {
		return nil, invalidValue(problems[0].Field, problems[0].Must)
	}
	// Canonical form: the type spelled canonically, aggregate fields
	// effective, no File fields on other types.
	r.Type = string(t)
	r.AggregateFields = rules.EffectiveAggregateFields(t, req.AggregateFields)
	if r.Suppressions == nil {
		r.Suppressions = []string{}
	}
	if err := rules.ValidateRule(rules.FromAPI(r).Rule); err != nil {
		return nil, aip.Errorf(aip.EINVALID, "Validation failed: %s", aip.ErrorMessage(err))
	}
	return r, nil
}

// ruleNotFound is the 404 of a rule id that is malformed or belongs to no
// rule of the caller's organization (or of the ruleset in the path).
func ruleNotFound(id string) error {
	return aip.Errorf(aip.ENOTFOUND, "Rule %s not found.", id)
}

// wireRule makes the lists of r non-nil so that they encode as [].
func wireRule(r *aip.Rule) *aip.Rule {
	if r.AggregateFields == nil {
		r.AggregateFields = []string{}
	}
	if r.Suppressions == nil {
		r.Suppressions = []string{}
	}
	return r
}

// rulePath reads and checks the ruleset id and, with rule, the rule id of
// the path.
func rulePath(r *http.Request, rule bool) (rulesetID, ruleID string, err error) {
	rulesetID = r.PathValue("rulesetId")
	if !aip.IsUUID(rulesetID) {
		return "", "", rulesetNotFound(rulesetID)
	}
	if rule {
		ruleID = r.PathValue("ruleId")
		if !aip.IsUUID(ruleID) {
			return "", "", ruleNotFound(ruleID)
		}
	}
	return rulesetID, ruleID, nil
}

// listRules is GET /v2/rulesets/{rulesetId}/rules: the whole list, token null.
func (s *Server) listRules(w http.ResponseWriter, r *http.Request, p *principal) {
	rsID, _, err := rulePath(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.cfg.Store.ListRules(r.Context(), p.OrgID, rsID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]*aip.Rule, 0, len(list))
	for _, rl := range list {
		out = append(out, wireRule(rl))
	}
	writeOK(w, struct {
		Rules []*aip.Rule `json:"rules"`
		Token *string     `json:"token"`
	}{out, nil})
}

// createRule is POST /v2/rulesets/{rulesetId}/rules.
func (s *Server) createRule(w http.ResponseWriter, r *http.Request, p *principal) {
	rsID, _, err := rulePath(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// An unknown ruleset is a 404 whatever the body holds.
	if _, err := s.cfg.Store.FindRuleset(r.Context(), p.OrgID, rsID); err != nil {
		s.writeError(w, r, err)
		return
	}
	rl, err := decodeRule(p, rsID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.CreateRule(r.Context(), rl); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeRule(w, r, p.OrgID, rsID, rl.ID)
}

// getRule is GET /v2/rulesets/{rulesetId}/rules/{ruleId}.
func (s *Server) getRule(w http.ResponseWriter, r *http.Request, p *principal) {
	rsID, id, err := rulePath(r, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeRule(w, r, p.OrgID, rsID, id)
}

// updateRule is PUT /v2/rulesets/{rulesetId}/rules/{ruleId}: the body
// replaces every writable field.
func (s *Server) updateRule(w http.ResponseWriter, r *http.Request, p *principal) {
	rsID, id, err := rulePath(r, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.cfg.Store.FindRule(r.Context(), p.OrgID, rsID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	rl, err := decodeRule(p, rsID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rl.ID = id
	if err := s.cfg.Store.UpdateRule(r.Context(), rl); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeRule(w, r, p.OrgID, rsID, id)
}

// deleteRule is DELETE /v2/rulesets/{rulesetId}/rules/{ruleId} → 200 {}.
func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request, p *principal) {
	rsID, id, err := rulePath(r, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.DeleteRule(r.Context(), p.OrgID, rsID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, struct{}{})
}

// decodeRule decodes and validates the rule of a request body.
func decodeRule(p *principal, rulesetID string) (*aip.Rule, error) {
	var req ruleRequest
	if err := decodeJSON(p.Body, &req); err != nil {
		return nil, err
	}
	return req.rule(p.OrgID, rulesetID)
}

// writeRule answers the stored rule, as a later GET shows it.
func (s *Server) writeRule(w http.ResponseWriter, r *http.Request, orgID, rulesetID, id string) {
	rl, err := s.cfg.Store.FindRule(r.Context(), orgID, rulesetID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, wireRule(rl))
}

// tagSetRequest is the body of POST /v2/rules/{ruleId}/tags; null lists
// mean empty ones.
type tagSetRequest struct {
	Inclusion []aip.Tag `json:"inclusion"`
	Exclusion []aip.Tag `json:"exclusion"`
}

// normalizeTags checks tags and fills the default source "ec2".
func normalizeTags(list []aip.Tag, field string) ([]aip.Tag, error) {
	out := make([]aip.Tag, 0, len(list))
	for i, t := range list {
		if t.Key == "" {
			return nil, aip.Errorf(aip.EINVALID, "Validation failed: %s[%d] has no key.", field, i)
		}
		if t.Source == "" {
			t.Source = "ec2"
		}
		out = append(out, t)
	}
	return out, nil
}

// ruleTagsID reads and checks the rule id of a tags path.
func ruleTagsID(r *http.Request) (string, error) {
	id := r.PathValue("ruleId")
	if !aip.IsUUID(id) {
		return "", ruleNotFound(id)
	}
	return id, nil
}

// getRuleTags is GET /v2/rules/{ruleId}/tags: empty lists when none are set.
func (s *Server) getRuleTags(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := ruleTagsID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tags, err := s.cfg.Store.FindRuleTags(r.Context(), p.OrgID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, wireTags(tags))
}

// setRuleTags is POST /v2/rules/{ruleId}/tags: it replaces the tag filter
// and answers the stored one.
func (s *Server) setRuleTags(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := ruleTagsID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req tagSetRequest
	if err := decodeJSON(p.Body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var tags aip.TagSet
	if tags.Inclusion, err = normalizeTags(req.Inclusion, "inclusion"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if tags.Exclusion, err = normalizeTags(req.Exclusion, "exclusion"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.SetRuleTags(r.Context(), p.OrgID, id, tags); err != nil {
		s.writeError(w, r, err)
		return
	}
	stored, err := s.cfg.Store.FindRuleTags(r.Context(), p.OrgID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, wireTags(stored))
}

// wireTags makes both lists non-nil so that they encode as [].
func wireTags(t *aip.TagSet) *aip.TagSet {
	if t.Inclusion == nil {
		t.Inclusion = []aip.Tag{}
	}
	if t.Exclusion == nil {
		t.Exclusion = []aip.Tag{}
	}
	return t
}
