package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/ingest"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/rules"
	"github.com/aipsec/aip/internal/vuln"
)

// The agent ingest API (/agent/v1/...) is aip's own: agents enroll with an
// organization's deploy key and then sign every request with Hawk, id = the
// agent id and key = the agent key. Agent requests carry no ext (the agent
// record names the organization), are not written to the user audit log and
// are not charged to the organization's API rate limit, which is meant for
// people and scripts: a fleet would exhaust it in seconds. The per-IP limit
// still applies to them.

// agentPrincipal is the authenticated agent of one request.
type agentPrincipal struct {
	AgentID, OrgID string
	// Body is the request body as sent (Hawk hashes those bytes, before
	// any gzip decoding).
	Body []byte
}

// agentHandler is a handler behind agent Hawk authentication.
type agentHandler func(w http.ResponseWriter, r *http.Request, a *agentPrincipal)

// lookupAgentCredentials finds a working agent's key for Hawk. Agent ids
// are UUIDs, so they can never be taken for a user id.
func (s *Server) lookupAgentCredentials(ctx context.Context, h *hawk.Header) (*hawk.Credentials, error) {
	if !aip.IsUUID(h.ID) {
		return nil, nil
	}
	c, err := s.cfg.Store.FindAgentCredentials(ctx, h.ID)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	key, err := s.cfg.Keyring.Open(c.AgentID, c.SealedKey)
	if err != nil {
		return nil, err
	}
	return &hawk.Credentials{ID: c.AgentID, Key: []byte(key), Subject: c}, nil
}

// agentAuth wraps an agent handler: it reads the body (up to
// AgentMaxBodyBytes), verifies the agent's Hawk header and signs whatever
// the handler answers. There is no audit record and no org rate limit.
func (s *Server) agentAuth(h agentHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, body := s.verify(w, r, s.agentHawk, s.cfg.AgentMaxBodyBytes)
		if res == nil {
			return
		}
		c := res.Credentials.Subject.(*aip.AgentCredentials)
		a := &agentPrincipal{AgentID: c.AgentID, OrgID: c.OrgID, Body: body}
		bw := &bufferedWriter{header: w.Header()}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logPanic(r, v)
				bw.status = 0
				bw.body.Reset()
				writeErrorMessage(bw, http.StatusInternalServerError, "An internal error has occurred.")
			}
			s.sign(w, bw, res)
		}()
		h(bw, r, a)
	})
}

// enrollRequest is the body of POST /agent/v1/enroll: the deploy key, the
// host information and the names of the rulesets the agent runs.
type enrollRequest struct {
	DeployKey string `json:"deployKey"`
	aip.AgentHost
	Rulesets []string `json:"rulesets"`
}

// enrollResponse carries the agent's credentials, shown this once.
type enrollResponse struct {
	AgentID  string `json:"agentId"`
	AgentKey string `json:"agentKey"`
}

// checkHost validates and normalizes host information: a hostname is
// required, the agent type defaults to monitor and lists are never null.
func checkHost(h *aip.AgentHost) error {
	if strings.TrimSpace(h.Hostname) == "" {
		return aip.Errorf(aip.EINVALID, "hostname is required.")
	}
	switch h.AgentType {
	case "":
		h.AgentType = aip.AgentTypeMonitor
	case aip.AgentTypeMonitor, aip.AgentTypeInvestigate:
	default:
		return aip.Errorf(aip.EINVALID, "agentType must be monitor or investigate.")
	}
	if h.IPAddresses.Private == nil {
		h.IPAddresses.Private = []string{}
	}
	if h.IPAddresses.Public == nil {
		h.IPAddresses.Public = []string{}
	}
	if h.IPAddresses.LinkLocal == nil {
		h.IPAddresses.LinkLocal = []string{}
	}
	if h.Tags == nil {
		h.Tags = []aip.Tag{}
	}
	if bytes.Equal(bytes.TrimSpace(h.AgentModuleHealth), []byte("null")) {
		h.AgentModuleHealth = nil
	}
	return nil
}

// enrollAgent answers POST /agent/v1/enroll, which needs no Hawk: the deploy
// key is the credential. The agent key is returned once; only its sealed
// form is stored.
func (s *Server) enrollAgent(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req enrollRequest
	if err := decodeJSON(body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.DeployKey == "" {
		w.Header().Set("WWW-Authenticate", "DeployKey")
		writeErrorMessage(w, http.StatusUnauthorized, "A deployKey is required.")
		return
	}
	sum := sha256.Sum256([]byte(req.DeployKey))
	dk, err := s.cfg.Store.FindDeployKey(r.Context(), sum[:])
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		s.metrics.authFailure("unknown deploy key")
		w.Header().Set("WWW-Authenticate", "DeployKey")
		writeErrorMessage(w, http.StatusUnauthorized, "Unknown deploy key.")
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkHost(&req.AgentHost); err != nil {
		s.writeError(w, r, err)
		return
	}
	rulesetIDs, err := s.rulesetIDsByName(r.Context(), dk.OrgID, req.Rulesets)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Enrollment counts as the first report, on the server's clock.
	now := aip.Time{Time: s.now().UTC()}
	a := &aip.Agent{ID: aip.NewUUID(), OrgID: dk.OrgID, AgentHost: req.AgentHost, CreatedAt: now, LastReportedAt: now}
	key := keyring.NewAPIKey()
	sealed, err := s.cfg.Keyring.Seal(a.ID, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.CreateAgent(r.Context(), a, sealed, rulesetIDs); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.logger.InfoContext(r.Context(), "agent enrolled", slog.String("org_id", a.OrgID),
		slog.String("agent_id", a.ID), slog.String("hostname", a.Hostname))
	writeOK(w, enrollResponse{AgentID: a.ID, AgentKey: key})
}

// rulesetIDsByName resolves ruleset names of orgID; no names means the
// Base Rule Set when the organization still has it, else none.
func (s *Server) rulesetIDsByName(ctx context.Context, orgID string, names []string) ([]string, error) {
	if len(names) == 0 {
		rs, err := s.cfg.Store.FindRulesetByName(ctx, orgID, rules.BaseRuleSetName)
		if aip.ErrorCode(err) == aip.ENOTFOUND {
			return []string{}, nil
		} else if err != nil {
			return nil, err
		}
		return []string{rs.ID}, nil
	}
	ids := make([]string, 0, len(names))
	for _, n := range names {
		rs, err := s.cfg.Store.FindRulesetByName(ctx, orgID, n)
		if aip.ErrorCode(err) == aip.ENOTFOUND {
			return nil, aip.Errorf(aip.EINVALID, "Unknown ruleset %q.", n)
		} else if err != nil {
			return nil, err
		}
		ids = append(ids, rs.ID)
	}
	return ids, nil
}

// agentHeartbeat answers POST /agent/v1/heartbeat: it replaces the agent's
// host information and marks it as reporting now.
func (s *Server) agentHeartbeat(w http.ResponseWriter, r *http.Request, a *agentPrincipal) {
	var h aip.AgentHost
	if err := decodeJSON(a.Body, &h); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkHost(&h); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := s.cfg.Store.RecordHeartbeat(r.Context(), a.OrgID, a.AgentID, h, s.now())
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		// Revoked between authentication and now.
		writeErrorMessage(w, http.StatusUnauthorized, "The agent was revoked.")
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, struct{}{})
}

// ingestResult is the 202 answer of POST /agent/v1/events. Accepted counts
// every valid event, duplicates included; Duplicates those already stored.
type ingestResult struct {
	Accepted   int                `json:"accepted"`
	Duplicates int                `json:"duplicates"`
	Rejected   []ingest.Rejection `json:"rejected"`
}

// ingestEvents answers POST /agent/v1/events. The 202 comes only after the
// events are committed together with their evaluation (pipeline.ingest), so
// that a busy rule engine slows agents down rather than piling up work in
// memory, and an acknowledged event has had its effect on alerts.
func (s *Server) ingestEvents(w http.ResponseWriter, r *http.Request, a *agentPrincipal) {
	select {
	case s.ingestSlots <- struct{}{}:
		defer func() { <-s.ingestSlots }()
	default:
		// Saturated: never drop silently, tell the agent to come back.
		s.metrics.rateLimited("ingest")
		w.Header().Set("Retry-After", "1")
		writeErrorMessage(w, http.StatusServiceUnavailable, "The ingest pipeline is saturated; retry after 1 second.")
		return
	}
	batch, err := ingest.Decode(bytes.NewReader(a.Body), r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"),
		ingest.Limits{MaxBodyBytes: s.cfg.AgentMaxBodyBytes})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	evs := make([]*aip.Event, len(batch.Events))
	for i, e := range batch.Events {
		ev := &aip.Event{ID: e.ID, OrgID: a.OrgID, AgentID: a.AgentID, Type: e.Type, ReceivedAt: now, Raw: e.Raw}
		if e.Timestamp != 0 {
			ev.Time = time.UnixMilli(e.Timestamp).UTC()
		}
		evs[i] = ev
	}
	res := ingestResult{Accepted: len(evs), Rejected: batch.Rejected}
	if res.Rejected == nil {
		res.Rejected = []ingest.Rejection{}
	}
	if len(evs) > 0 {
		// An agent hanging up must not cut a batch in the middle of its
		// evaluation; the transaction makes it all or nothing anyway.
		fresh, err := s.pipeline.ingest(context.WithoutCancel(r.Context()), a.OrgID, a.AgentID, evs, now)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, f := range fresh {
			if !f {
				res.Duplicates++
			}
		}
	}
	writeJSON(w, http.StatusAccepted, res)
}

// packagesResult is the answer of PUT /agent/v1/packages.
type packagesResult struct {
	// Packages counts the packages kept; Rejected lists the others.
	Packages int              `json:"packages"`
	Rejected []vuln.Rejection `json:"rejected"`
	// Changed says whether the snapshot differed from the stored one.
	Changed bool `json:"changed"`
	// Vulnerabilities counts the active matches after re-matching.
	Vulnerabilities int `json:"vulnerabilities"`
}

// putPackages answers PUT /agent/v1/packages: the host's full package
// snapshot replaces the previous one and the agent, this agent only, is
// re-matched against the advisory database before the answer. Re-matching
// runs on every snapshot, changed or not, so that a failed re-match is
// repaired by the agent's next send.
func (s *Server) putPackages(w http.ResponseWriter, r *http.Request, a *agentPrincipal) {
	inv, rejected, err := vuln.DecodeInventory(a.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	inv.OrgID, inv.AgentID, inv.UpdatedAt = a.OrgID, a.AgentID, s.now()
	ctx := context.WithoutCancel(r.Context())
	changed, err := s.cfg.Store.PutInventory(ctx, inv)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		writeErrorMessage(w, http.StatusUnauthorized, "The agent was revoked.")
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := vuln.Rematch(ctx, s.cfg.Store, a.OrgID, a.AgentID, s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if rejected == nil {
		rejected = []vuln.Rejection{}
	}
	writeOK(w, packagesResult{Packages: len(inv.Packages), Rejected: rejected, Changed: changed, Vulnerabilities: len(res.Matches)})
}
