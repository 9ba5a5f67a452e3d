package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aipsec/aip"
)

// agentPageSize is how many agents one page of the agents list holds.
const agentPageSize = 50

// agentAlertLimit is how many recent open alerts the agent page shows.
const agentAlertLimit = 20

// agentVulnLimit bounds the vulnerabilities the agent page lists; the
// vulnerabilities page filtered by the agent has them all.
const agentVulnLimit = 100

// agentsView is the data of the agents list.
type agentsView struct {
	Status   string // online or offline
	Hostname string
	Agents   []*aip.Agent
	// OnlineURL and OfflineURL are the tabs, keeping the hostname filter.
	OnlineURL, OfflineURL string
	// NextURL continues the listing after the last agent shown; "" on the
	// last page. FirstURL goes back to the start when paging.
	NextURL, FirstURL string
}

// agentView is the data of one agent's page.
type agentView struct {
	Agent    *aip.Agent
	Rulesets []*aip.Ruleset
	Alerts   []*aip.Alert
	Vulns    []*aip.Vulnerability
	// MoreVulns says the agent has more vulnerabilities than listed.
	MoreVulns bool
}

// agentOnlineSince is the cutoff of agent status at the handler's clock.
func (h *Handler) agentOnlineSince() time.Time { return h.now().Add(-h.cfg.AgentOfflineAfter) }

// storeFailure logs err and renders the generic 500 page.
func (h *Handler) storeFailure(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.cfg.Logger.Error("web: "+what, slog.Any("error", err))
	h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
}

// agents is the agents list: an online and an offline tab, a hostname
// filter and keyset paging on (created, id) like GET /v2/agents. The
// cursor is plain in the URL: the store scopes every query to the
// session's organization, so a forged one can only skip rows.
func (h *Handler) agents(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	v := agentsView{Status: q.Get("status"), Hostname: q.Get("hostname")}
	switch v.Status {
	case "":
		v.Status = aip.AgentOnline
	case aip.AgentOnline, aip.AgentOffline:
	default:
		h.renderError(w, r, http.StatusBadRequest, "The status must be online or offline.")
		return
	}
	f := aip.AgentFilter{OrgID: s.OrgID, Status: v.Status, OnlineSince: h.agentOnlineSince(), Hostname: v.Hostname, Limit: agentPageSize + 1}
	if ms, id := q.Get("after"), q.Get("afterId"); ms != "" || id != "" {
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil || !aip.IsUUID(id) {
			h.renderError(w, r, http.StatusBadRequest, "This page link is not valid; go back to the first page.")
			return
		}
		f.After = &aip.Cursor{Time: time.UnixMilli(n).UTC(), ID: id}
	}
	list, err := h.cfg.Store.ListAgents(r.Context(), f)
	if err != nil {
		h.storeFailure(w, r, "list agents", err)
		return
	}
	link := func(status string, extra url.Values) string {
		u := url.Values{"status": {status}}
		if v.Hostname != "" {
			u.Set("hostname", v.Hostname)
		}
		for k, vs := range extra {
			u[k] = vs
		}
		return Prefix + "agents?" + u.Encode()
	}
	v.OnlineURL, v.OfflineURL = link(aip.AgentOnline, nil), link(aip.AgentOffline, nil)
	if len(list) > agentPageSize {
		list = list[:agentPageSize]
		last := list[len(list)-1]
		v.NextURL = link(v.Status, url.Values{"after": {strconv.FormatInt(last.CreatedAt.UnixMilli(), 10)}, "afterId": {last.ID}})
	}
	if f.After != nil {
		v.FirstURL = link(v.Status, nil)
	}
	v.Agents = list
	h.renderPage(w, r, s, "agents", v)
}

// agent is one agent's page: host information, the rulesets it runs, its
// recent open alerts and its active vulnerabilities. Another
// organization's agent is a 404 like an unknown one.
func (h *Handler) agent(w http.ResponseWriter, r *http.Request, s *Session) {
	id := r.PathValue("id")
	if !aip.IsUUID(id) {
		h.renderError(w, r, http.StatusNotFound, "There is no such agent in this organization.")
		return
	}
	ctx := r.Context()
	a, err := h.cfg.Store.FindAgent(ctx, s.OrgID, id, h.agentOnlineSince())
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		h.renderError(w, r, http.StatusNotFound, "There is no such agent in this organization.")
		return
	} else if err != nil {
		h.storeFailure(w, r, "find agent", err)
		return
	}
	v := agentView{Agent: a}
	if v.Rulesets, err = h.cfg.Store.ListRulesets(ctx, s.OrgID, a.ID); err != nil {
		h.storeFailure(w, r, "list agent rulesets", err)
		return
	}
	if v.Alerts, err = h.cfg.Store.ListAlerts(ctx, aip.AlertFilter{OrgID: s.OrgID, AgentID: a.ID, Status: aip.AlertActive, Limit: agentAlertLimit}); err != nil {
		h.storeFailure(w, r, "list agent alerts", err)
		return
	}
	vulns, err := h.cfg.Store.ListVulnerabilities(ctx, aip.VulnFilter{OrgID: s.OrgID, AgentID: a.ID, Status: aip.VulnActive, Limit: agentVulnLimit + 1, Now: h.now()})
	if err != nil {
		h.storeFailure(w, r, "list agent vulnerabilities", err)
		return
	}
	if len(vulns) > agentVulnLimit {
		vulns, v.MoreVulns = vulns[:agentVulnLimit], true
	}
	v.Vulns = vulns
	h.renderPage(w, r, s, "agent", v)
}
