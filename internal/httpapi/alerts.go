package httpapi

import (
	"net/http"
	"strconv"

	"github.com/aipsec/aip"
)

// alertPageSize is how many alerts, or events of an alert, one page holds.
const alertPageSize = 100

// alertNotFound is the 404 of an alert id that is malformed or belongs to
// no alert of the caller's organization.
func alertNotFound(id string) error {
	return aip.Errorf(aip.ENOTFOUND, "Alert %s not found.", id)
}

// wireAlert makes the aggregates of a non-nil so that they encode as [].
func wireAlert(a *aip.Alert) *aip.Alert {
	if a.Aggregates == nil {
		a.Aggregates = []aip.Aggregate{}
	}
	return a
}

// parseSeverity reads an optional severity filter: "" means any.
func parseSeverity(v string) (int, error) {
	switch v {
	case "":
		return 0, nil
	case "1", "2", "3":
		n, _ := strconv.Atoi(v)
		return n, nil
	}
	return 0, aip.Errorf(aip.EINVALID, `"severity" must be 1, 2 or 3.`)
}

// alertStatus checks a status filter; def stands in for a missing one, and
// a missing one with no default is a 400.
func alertStatus(v, def string) (string, error) {
	if v == "" {
		v = def
	}
	switch v {
	case aip.AlertActive, aip.AlertDismissed:
		return v, nil
	case "":
		return "", aip.Errorf(aip.EINVALID, `"status" is required: active or dismissed.`)
	}
	return "", aip.Errorf(aip.EINVALID, `"status" must be active or dismissed.`)
}

// listAlerts is GET /v2/alerts: status is required; newest first, 100 a
// page, filtered by severity, agent, rule, ruleset and creation time.
// ruleId and rulesetId work with either status: a client asking for the
// dismissed alerts of a rule (the official scripts do) gets them.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, p *principal) {
	lq, err := s.parseListQuery(r.URL.Query(), p.OrgID, "alerts", "status", "severity", "agentId", "ruleId", "rulesetId", "from", "until")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := lq.Filters
	status, err := alertStatus(f.Get("status"), "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sev, err := parseSeverity(f.Get("severity"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rng, err := lq.timeRange(0)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	alerts, err := s.cfg.Store.ListAlerts(r.Context(), aip.AlertFilter{
		OrgID:     p.OrgID,
		Status:    status,
		Severity:  sev,
		AgentID:   f.Get("agentId"),
		RuleID:    f.Get("ruleId"),
		RulesetID: f.Get("rulesetId"),
		Range:     rng,
		After:     lq.After,
		Limit:     alertPageSize + 1,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	alerts, token := cutPage(s, lq, p.OrgID, alerts, alertPageSize, func(a *aip.Alert) aip.Cursor {
		return aip.Cursor{Time: a.CreatedAt.Time, ID: a.ID}
	})
	out := make([]*aip.Alert, 0, len(alerts))
	for _, a := range alerts {
		out = append(out, wireAlert(a))
	}
	writeOK(w, struct {
		Alerts []*aip.Alert `json:"alerts"`
		Token  *string      `json:"token"`
	}{out, token})
}

// getAlert is GET /v2/alerts/{alertId}: the bare alert.
func (s *Server) getAlert(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("alertId")
	if !aip.IsUUID(id) {
		s.writeError(w, r, alertNotFound(id))
		return
	}
	a, err := s.cfg.Store.FindAlert(r.Context(), p.OrgID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, wireAlert(a))
}

// listAlertEvents is GET /v2/alerts/{alertId}/events: the events linked to
// an alert, newest first, 100 a page. Each alert is its own listing, so a
// token of one alert's events is refused for another's.
func (s *Server) listAlertEvents(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("alertId")
	if !aip.IsUUID(id) {
		s.writeError(w, r, alertNotFound(id))
		return
	}
	lq, err := s.parseListQuery(r.URL.Query(), p.OrgID, "alert-events:"+id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	evs, err := s.cfg.Store.ListAlertEvents(r.Context(), p.OrgID, id, lq.After, alertPageSize+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	evs, token := cutPage(s, lq, p.OrgID, evs, alertPageSize, func(e *aip.Event) aip.Cursor {
		return aip.Cursor{Time: e.Time, ID: e.ID}
	})
	writeOK(w, struct {
		Events []*aip.Event `json:"events"`
		Token  *string      `json:"token"`
	}{evs, token})
}

// alertSeverityCounts is GET /v2/alerts/severity-counts: alerts created in
// from..until per severity, 1, 2 and 3 always; active ones unless status
// says dismissed.
func (s *Server) alertSeverityCounts(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	status, err := alertStatus(q.Get("status"), aip.AlertActive)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rng, err := aip.ParseTimeRange(q.Get("from"), q.Get("until"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	counts, err := s.cfg.Store.CountAlertsBySeverity(r.Context(), p.OrgID, status, rng)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, struct {
		SeverityCounts []aip.SeverityCount `json:"severityCounts"`
	}{counts})
}

// dismissRequest is the body of POST /v2/alerts/dismiss in either form:
// by ids, or by query (from, until and optional severity, rule and agent).
// The query form's ID-suffixed keys are those of the official CLI; every
// other v2 input spells them ruleId and agentId, so both are accepted.
type dismissRequest struct {
	IDs               []string `json:"ids"`
	DismissReason     string   `json:"dismissReason"`
	DismissReasonText string   `json:"dismissReasonText"`

	From     *string `json:"from"`
	Until    *string `json:"until"`
	Severity *int    `json:"severity"`
	RuleID   string  `json:"ruleID"`
	RuleID2  string  `json:"ruleId"`
	AgentID  string  `json:"agentID"`
	AgentID2 string  `json:"agentId"`
}

// dismissAlerts is POST /v2/alerts/dismiss → 200 {"dismissedCount":N}. A
// body with ids dismisses those alerts; one without dismisses every active
// alert matching its query. Alerts already dismissed are not counted.
func (s *Server) dismissAlerts(w http.ResponseWriter, r *http.Request, p *principal) {
	var req dismissRequest
	if err := decodeJSON(p.Body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	d := aip.Dismissal{Reason: req.DismissReason, Text: req.DismissReasonText, By: p.User.ID, At: s.now()}
	if err := d.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	var (
		n   int
		err error
	)
	if req.IDs != nil {
		n, err = s.dismissByIDs(r, p.OrgID, &req, d)
	} else {
		n, err = s.dismissByQuery(r, p.OrgID, &req, d)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, struct {
		DismissedCount int `json:"dismissedCount"`
	}{n})
}

// dismissByIDs serves the ids form; ids of no alert of the organization
// are skipped, as are alerts already dismissed.
func (s *Server) dismissByIDs(r *http.Request, orgID string, req *dismissRequest, d aip.Dismissal) (int, error) {
	switch {
	case req.From != nil || req.Until != nil || req.Severity != nil || req.RuleID != "" || req.RuleID2 != "" || req.AgentID != "" || req.AgentID2 != "":
		return 0, aip.Errorf(aip.EINVALID, `"ids" cannot be combined with from, until, severity, ruleId or agentId.`)
	case len(req.IDs) == 0:
		return 0, aip.Errorf(aip.EINVALID, `"ids" must name at least one alert.`)
	case len(req.IDs) > aip.MaxDismissIDs:
		return 0, aip.Errorf(aip.EINVALID, `"ids" may name at most %d alerts.`, aip.MaxDismissIDs)
	}
	ids := make([]string, 0, len(req.IDs))
	seen := make(map[string]bool, len(req.IDs))
	for _, id := range req.IDs {
		// A malformed id names no alert; it is skipped like an unknown one.
		if aip.IsUUID(id) && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	return s.cfg.Store.DismissAlerts(r.Context(), orgID, ids, d)
}

// dismissByQuery serves the query form: from and until are required so
// that no request dismisses an organization's whole history by accident.
func (s *Server) dismissByQuery(r *http.Request, orgID string, req *dismissRequest, d aip.Dismissal) (int, error) {
	if req.From == nil || *req.From == "" || req.Until == nil || *req.Until == "" {
		return 0, aip.Errorf(aip.EINVALID, `Either "ids", or "from" and "until" are required.`)
	}
	rng, err := aip.ParseTimeRange(*req.From, *req.Until)
	if err != nil {
		return 0, err
	}
	f := aip.AlertFilter{OrgID: orgID, Range: rng, RuleID: req.RuleID, AgentID: req.AgentID}
	if req.Severity != nil && *req.Severity != 0 {
		if *req.Severity < 1 || *req.Severity > 3 {
			return 0, aip.Errorf(aip.EINVALID, `"severity" must be 1, 2 or 3.`)
		}
		f.Severity = *req.Severity
	}
	for _, alias := range []struct {
		name, camel string
		dst         *string
	}{{"ruleID", req.RuleID2, &f.RuleID}, {"agentID", req.AgentID2, &f.AgentID}} {
		switch {
		case alias.camel == "":
		case *alias.dst == "":
			*alias.dst = alias.camel
		case *alias.dst != alias.camel:
			return 0, aip.Errorf(aip.EINVALID, "%q and its other spelling name different ids.", alias.name)
		}
	}
	return s.cfg.Store.DismissAlertsMatching(r.Context(), f, d)
}
