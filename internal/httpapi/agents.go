package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/aipsec/aip"
)

// agentPageSize is how many agents one page of GET /v2/agents holds.
const agentPageSize = 100

// agentNotFound is the 404 of an agent id that is malformed or belongs to
// no agent of the caller's organization.
func agentNotFound(id string) error {
	return aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", id)
}

// wireAgent makes the lists of a non-nil so that they encode as [], as
// clients iterate over them without a null check.
func wireAgent(a *aip.Agent) *aip.Agent {
	if a.Tags == nil {
		a.Tags = []aip.Tag{}
	}
	ip := &a.IPAddresses
	for _, l := range []*[]string{&ip.Private, &ip.LinkLocal, &ip.Public} {
		if *l == nil {
			*l = []string{}
		}
	}
	if len(a.AgentModuleHealth) == 0 {
		a.AgentModuleHealth = json.RawMessage("null")
	}
	return a
}

// listAgents is GET /v2/agents: status is required; newest first, 100 a
// page, filtered by type, hostname, instanceId and creation time.
func (s *Server) listAgents(w http.ResponseWriter, r *http.Request, p *principal) {
	lq, err := s.parseListQuery(r.URL.Query(), p.OrgID, "agents", "status", "type", "hostname", "instanceId", "from", "until")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := lq.Filters
	switch f.Get("status") {
	case aip.AgentOnline, aip.AgentOffline:
	case "":
		s.writeError(w, r, aip.Errorf(aip.EINVALID, `"status" is required: online or offline.`))
		return
	default:
		s.writeError(w, r, aip.Errorf(aip.EINVALID, `"status" must be online or offline.`))
		return
	}
	switch f.Get("type") {
	case "", aip.AgentTypeMonitor, aip.AgentTypeInvestigate:
	default:
		s.writeError(w, r, aip.Errorf(aip.EINVALID, `"type" must be monitor or investigate.`))
		return
	}
	rng, err := lq.timeRange(0)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	agents, err := s.cfg.Store.ListAgents(r.Context(), aip.AgentFilter{
		OrgID:       p.OrgID,
		Status:      f.Get("status"),
		OnlineSince: s.onlineSince(),
		Type:        f.Get("type"),
		Hostname:    f.Get("hostname"),
		InstanceID:  f.Get("instanceId"),
		Range:       rng,
		After:       lq.After,
		Limit:       agentPageSize + 1,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	agents, token := cutPage(s, lq, p.OrgID, agents, agentPageSize, func(a *aip.Agent) aip.Cursor {
		return aip.Cursor{Time: a.CreatedAt.Time, ID: a.ID}
	})
	out := make([]*aip.Agent, 0, len(agents))
	for _, a := range agents {
		out = append(out, wireAgent(a))
	}
	writeOK(w, struct {
		Agents []*aip.Agent `json:"agents"`
		Token  *string      `json:"token"`
	}{out, token})
}

// getAgent is GET /v2/agents/{agentId}: the bare agent.
func (s *Server) getAgent(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("agentId")
	if !aip.IsUUID(id) {
		s.writeError(w, r, agentNotFound(id))
		return
	}
	a, err := s.cfg.Store.FindAgent(r.Context(), p.OrgID, id, s.onlineSince())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, wireAgent(a))
}
