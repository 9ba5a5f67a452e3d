package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/aipsec/aip"
)

// ec2PageSize is how many servers one page of GET /v2/aws/ec2 holds.
const ec2PageSize = 100

// ec2AgentBatch is how many agents one store read returns while the
// organization's agents are matched to instances.
const ec2AgentBatch = 1000

// listEC2 is GET /v2/aws/ec2 (and /v2/aws/ec2/): the imported instances
// plus the instances known only from an agent's instance id, by id, 100 a
// page. An instance is monitored when a non-revoked agent of the
// organization runs on it. monitored (isMonitored, its RB spelling)
// filters; verbose=true embeds the agents and the AWS profile.
func (s *Server) listEC2(w http.ResponseWriter, r *http.Request, p *principal) {
	lq, err := s.parseListQuery(r.URL.Query(), p.OrgID, "ec2", "monitored", "isMonitored", "verbose")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fl := lq.Filters
	monSet, monitored, err := queryBool("monitored", fl.Get("monitored"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	isSet, isMonitored, err := queryBool("isMonitored", fl.Get("isMonitored"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if monSet && isSet && monitored != isMonitored {
		s.writeError(w, r, aip.Errorf(aip.EINVALID, `"monitored" and "isMonitored" disagree.`))
		return
	}
	if isSet {
		monSet, monitored = true, isMonitored
	}
	_, verbose, err := queryBool("verbose", fl.Get("verbose"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	servers, err := s.ec2Servers(r.Context(), p.OrgID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page := make([]*aip.EC2Instance, 0, ec2PageSize+1)
	for _, in := range servers {
		if lq.After != nil && in.ID <= lq.After.ID {
			continue
		}
		if monSet && in.Monitored != monitored {
			continue
		}
		if !verbose {
			in.Agents, in.AWSProfile = nil, nil
		}
		page = append(page, in)
		if len(page) > ec2PageSize {
			break
		}
	}
	page, token := cutPage(s, lq, p.OrgID, page, ec2PageSize, func(in *aip.EC2Instance) aip.Cursor {
		return aip.Cursor{ID: in.ID}
	})
	writeOK(w, struct {
		Servers []*aip.EC2Instance `json:"servers"`
		Token   *string            `json:"token"`
	}{page, token})
}

// ec2Servers merges the organization's imported instances with its agents'
// instance ids, sorted by instance id, with Monitored and Agents filled.
func (s *Server) ec2Servers(ctx context.Context, orgID string) ([]*aip.EC2Instance, error) {
	imported, err := s.cfg.Store.ListEC2Instances(ctx, orgID)
	if err != nil {
		return nil, err
	}
	byInstance, order, err := s.agentsByInstance(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]*aip.EC2Instance, 0, len(imported)+len(order))
	seen := make(map[string]bool, len(imported))
	for _, in := range imported {
		seen[in.ID] = true
		in.Agents = byInstance[in.ID]
		in.Monitored = len(in.Agents) > 0
		out = append(out, wireEC2(in))
	}
	for _, id := range order {
		if seen[id] {
			continue
		}
		agents := byInstance[id]
		in := &aip.EC2Instance{ID: id, OrgID: orgID, Monitored: true, State: "running", Agents: agents}
		if priv := agents[0].IPAddresses.Private; len(priv) > 0 {
			in.PrivateIPAddress = priv[0]
		}
		out = append(out, wireEC2(in))
	}
	slices.SortFunc(out, func(a, b *aip.EC2Instance) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// agentsByInstance groups the organization's non-revoked agents running on
// EC2 (instance id i-…) by instance id; order lists the ids once each.
func (s *Server) agentsByInstance(ctx context.Context, orgID string) (map[string][]*aip.Agent, []string, error) {
	byInstance := map[string][]*aip.Agent{}
	var order []string
	f := aip.AgentFilter{OrgID: orgID, OnlineSince: s.onlineSince(), Limit: ec2AgentBatch}
	for {
		agents, err := s.cfg.Store.ListAgents(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range agents {
			if !a.RevokedAt.IsZero() || !strings.HasPrefix(a.InstanceID, "i-") {
				continue
			}
			if byInstance[a.InstanceID] == nil {
				order = append(order, a.InstanceID)
			}
			byInstance[a.InstanceID] = append(byInstance[a.InstanceID], wireAgent(a))
		}
		if len(agents) < ec2AgentBatch {
			return byInstance, order, nil
		}
		last := agents[len(agents)-1]
		f.After = &aip.Cursor{Time: last.CreatedAt.Time, ID: last.ID}
	}
}

// wireEC2 makes the lists of in non-nil so that they encode as [].
func wireEC2(in *aip.EC2Instance) *aip.EC2Instance {
	if in.Groups == nil {
		in.Groups = []aip.EC2Group{}
	}
	if in.Tags == nil {
		in.Tags = []aip.Tag{}
	}
	return in
}
