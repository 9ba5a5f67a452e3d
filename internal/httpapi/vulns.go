package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aipsec/aip"
)

// vulnPageSize is how many vulnerabilities, or affected servers, one page
// holds.
const vulnPageSize = 100

// vulnBatch is how many groups the unpaginated listings (one CVE, one
// package, one agent, one host) read from the store at a time.
const vulnBatch = 1000

// maxSuppressionReason bounds a suppression's reason, in characters.
const maxSuppressionReason = 1000

// advisoryIDPattern accepts CVE numbers and the other advisory ids a
// suppression may name (GHSA-…, DSA-…, ALSA-2024:1234…).
var advisoryIDPattern = regexp.MustCompile(`^[A-Z][A-Z0-9._:-]{2,63}$`)

// cveNotFound is the 404 of a CVE the organization has no match of.
func cveNotFound(cve string) error {
	return aip.Errorf(aip.ENOTFOUND, "Vulnerability %s not found.", cve)
}

// vulnStatus checks a status filter; def stands in for a missing one.
func vulnStatus(v, def string) (string, error) {
	if v == "" {
		v = def
	}
	switch v {
	case aip.VulnActive, aip.VulnSuppressed, aip.VulnResolved, aip.VulnAll:
		return v, nil
	}
	return "", aip.Errorf(aip.EINVALID, `"status" must be active, suppressed, resolved or all.`)
}

// queryBool reads an optional true|false query parameter.
func queryBool(name, v string) (set, value bool, err error) {
	switch v {
	case "":
		return false, false, nil
	case "true":
		return true, true, nil
	case "false":
		return true, false, nil
	}
	return false, false, aip.Errorf(aip.EINVALID, "%q must be true or false.", name)
}

// wireVuln makes the lists of v non-nil so that they encode as [].
func wireVuln(v *aip.Vulnerability) *aip.Vulnerability {
	if v.SecurityNotices == nil {
		v.SecurityNotices = []aip.SecurityNotice{}
	}
	if v.Agents == nil {
		v.Agents = []aip.VulnAgent{}
	}
	return v
}

// vulnCursor encodes the (CVE, SystemPackage) keyset position in the ID of
// a page token's cursor; neither part can hold a newline.
func vulnCursor(v *aip.Vulnerability) aip.Cursor {
	return aip.Cursor{ID: v.CVENumber + "\n" + v.SystemPackage}
}

// listVulnerabilities is GET /v2/vulnerabilities: one item per (CVE,
// system package), 100 a page. status defaults to active; the legacy
// active=true|false stands for status active|all when status is absent.
func (s *Server) listVulnerabilities(w http.ResponseWriter, r *http.Request, p *principal) {
	lq, err := s.parseListQuery(r.URL.Query(), p.OrgID, "vulnerabilities", "status", "active", "agentId", "hasSecurityNotices")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fl := lq.Filters
	def := aip.VulnActive
	if set, active, err := queryBool("active", fl.Get("active")); err != nil {
		s.writeError(w, r, err)
		return
	} else if set && !active {
		def = aip.VulnAll
	}
	status, err := vulnStatus(fl.Get("status"), def)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	_, notices, err := queryBool("hasSecurityNotices", fl.Get("hasSecurityNotices"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := aip.VulnFilter{
		OrgID:              p.OrgID,
		Status:             status,
		AgentID:            fl.Get("agentId"),
		HasSecurityNotices: notices,
		Limit:              vulnPageSize + 1,
		Now:                s.now(),
	}
	if lq.After != nil {
		cve, pkg, ok := strings.Cut(lq.After.ID, "\n")
		if !ok {
			s.writeError(w, r, aip.Errorf(aip.EINVALID, "invalid page token"))
			return
		}
		f.After = &aip.VulnCursor{CVE: cve, SystemPackage: pkg}
	}
	vulns, err := s.cfg.Store.ListVulnerabilities(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	vulns, token := cutPage(s, lq, p.OrgID, vulns, vulnPageSize, vulnCursor)
	for _, v := range vulns {
		wireVuln(v)
	}
	writeOK(w, struct {
		CVEs  []*aip.Vulnerability `json:"cves"`
		Token *string              `json:"token"`
	}{vulns, token})
}

// allVulns reads every group of f, batch by batch.
func (s *Server) allVulns(ctx context.Context, f aip.VulnFilter) ([]*aip.Vulnerability, error) {
	out := []*aip.Vulnerability{}
	f.Limit = vulnBatch
	f.Now = s.now()
	for {
		page, err := s.cfg.Store.ListVulnerabilities(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, v := range page {
			out = append(out, wireVuln(v))
		}
		if len(page) < vulnBatch {
			return out, nil
		}
		last := page[len(page)-1]
		f.After = &aip.VulnCursor{CVE: last.CVENumber, SystemPackage: last.SystemPackage}
	}
}

// cveKnown reports whether the organization has a match of cve in any
// status.
func (s *Server) cveKnown(ctx context.Context, orgID, cve string) (bool, error) {
	vs, err := s.cfg.Store.ListVulnerabilities(ctx, aip.VulnFilter{OrgID: orgID, Status: aip.VulnAll, CVE: cve, Limit: 1, Now: s.now()})
	return len(vs) > 0, err
}

// getVulnerability is GET /v2/vulnerabilities/{cveNumber}: every system
// package the CVE was found in, status all unless the query narrows it; 404
// when the organization never had the CVE.
func (s *Server) getVulnerability(w http.ResponseWriter, r *http.Request, p *principal) {
	cve := r.PathValue("cveNumber")
	status, err := vulnStatus(r.URL.Query().Get("status"), aip.VulnAll)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	vulns, err := s.allVulns(r.Context(), aip.VulnFilter{OrgID: p.OrgID, Status: status, CVE: cve})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(vulns) == 0 {
		known, err := s.cveKnown(r.Context(), p.OrgID, cve)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !known {
			s.writeError(w, r, cveNotFound(cve))
			return
		}
	}
	writeOK(w, struct {
		CVEs []*aip.Vulnerability `json:"cves"`
	}{vulns})
}

// vulnSubresource serves GET /v2/vulnerabilities/{cveNumber}/{sub}: the
// mux cannot hold {cveNumber}/servers next to package/{package} (a path
// like package/servers matches both and neither is more specific), so the
// wildcard pattern is registered and only "servers" answers.
func (s *Server) vulnSubresource(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.PathValue("sub") != "servers" {
		s.writeError(w, r, aip.Errorf(aip.ENOTFOUND, "Not found."))
		return
	}
	s.listVulnServers(w, r, p)
}

// listVulnServers is GET /v2/vulnerabilities/{cveNumber}/servers: the
// agents with an active match of the CVE, by agent id, 100 a page; 404 when
// the organization never had the CVE (J1 reads that as no servers).
func (s *Server) listVulnServers(w http.ResponseWriter, r *http.Request, p *principal) {
	cve := r.PathValue("cveNumber")
	lq, err := s.parseListQuery(r.URL.Query(), p.OrgID, "vulnerability-servers:"+cve)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	known, err := s.cveKnown(r.Context(), p.OrgID, cve)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !known {
		s.writeError(w, r, cveNotFound(cve))
		return
	}
	after := ""
	if lq.After != nil {
		after = lq.After.ID
	}
	servers, err := s.cfg.Store.ListVulnServers(r.Context(), p.OrgID, cve, after, vulnPageSize+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	servers, token := cutPage(s, lq, p.OrgID, servers, vulnPageSize, func(a aip.VulnAgent) aip.Cursor {
		return aip.Cursor{ID: a.AgentID}
	})
	writeOK(w, struct {
		Servers []aip.VulnAgent `json:"servers"`
		Token   *string         `json:"token"`
	}{servers, token})
}

// listPackageVulns is GET /v2/vulnerabilities/package/{package}: the
// vulnerabilities of an installed package, active unless ?status= says
// otherwise (the Python client sends it).
func (s *Server) listPackageVulns(w http.ResponseWriter, r *http.Request, p *principal) {
	status, err := vulnStatus(r.URL.Query().Get("status"), aip.VulnActive)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writePackageVulns(w, r, p, status)
}

// listPackageSuppressed is GET
// /v2/vulnerabilities/package/{package}/suppressed.
func (s *Server) listPackageSuppressed(w http.ResponseWriter, r *http.Request, p *principal) {
	s.writePackageVulns(w, r, p, aip.VulnSuppressed)
}

func (s *Server) writePackageVulns(w http.ResponseWriter, r *http.Request, p *principal, status string) {
	vulns, err := s.allVulns(r.Context(), aip.VulnFilter{OrgID: p.OrgID, Status: status, Package: r.PathValue("package")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, struct {
		Packages []*aip.Vulnerability `json:"packages"`
	}{vulns})
}

// cveNumbers are the distinct CVE numbers of vulns, sorted.
func cveNumbers(vulns []*aip.Vulnerability) []string {
	out := make([]string, 0, len(vulns))
	for _, v := range vulns {
		out = append(out, v.CVENumber)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// writeCVEList writes {"cves":[…]}: the CVE numbers of f.
func (s *Server) writeCVEList(w http.ResponseWriter, r *http.Request, f aip.VulnFilter) {
	vulns, err := s.allVulns(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, struct {
		CVEs []string `json:"cves"`
	}{cveNumbers(vulns)})
}

// listAgentCVEs is GET /v2/vulnerabilities/agent/{agentId}: the active
// CVEs of an agent of the organization.
func (s *Server) listAgentCVEs(w http.ResponseWriter, r *http.Request, p *principal) {
	s.agentCVEs(w, r, p, aip.VulnActive)
}

// listAgentSuppressedCVEs is GET
// /v2/vulnerabilities/agent/{agentId}/suppressed.
func (s *Server) listAgentSuppressedCVEs(w http.ResponseWriter, r *http.Request, p *principal) {
	s.agentCVEs(w, r, p, aip.VulnSuppressed)
}

func (s *Server) agentCVEs(w http.ResponseWriter, r *http.Request, p *principal, status string) {
	id := r.PathValue("agentId")
	if err := s.checkAgent(r.Context(), p.OrgID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeCVEList(w, r, aip.VulnFilter{OrgID: p.OrgID, Status: status, AgentID: id})
}

// checkAgent returns ENOTFOUND unless id is an agent of orgID.
func (s *Server) checkAgent(ctx context.Context, orgID, id string) error {
	if !aip.IsUUID(id) {
		return agentNotFound(id)
	}
	_, err := s.cfg.Store.FindAgent(ctx, orgID, id, s.onlineSince())
	return err
}

// listServerCVEs is GET /v2/vulnerabilities/server/{hostname}: the active
// CVEs of the organization's agents with that hostname; 404 when none has
// it, so a typo is not mistaken for a clean host.
func (s *Server) listServerCVEs(w http.ResponseWriter, r *http.Request, p *principal) {
	s.serverCVEs(w, r, p, aip.VulnActive)
}

// listServerSuppressedCVEs is GET
// /v2/vulnerabilities/server/{hostname}/suppressed.
func (s *Server) listServerSuppressedCVEs(w http.ResponseWriter, r *http.Request, p *principal) {
	s.serverCVEs(w, r, p, aip.VulnSuppressed)
}

func (s *Server) serverCVEs(w http.ResponseWriter, r *http.Request, p *principal, status string) {
	host := r.PathValue("hostname")
	agents, err := s.cfg.Store.ListAgents(r.Context(), aip.AgentFilter{OrgID: p.OrgID, Hostname: host, OnlineSince: s.onlineSince(), Limit: 1})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(agents) == 0 {
		s.writeError(w, r, aip.Errorf(aip.ENOTFOUND, "No agent has the hostname %s.", host))
		return
	}
	s.writeCVEList(w, r, aip.VulnFilter{OrgID: p.OrgID, Status: status, Hostname: host})
}

// listSuppressions is GET /v2/vulnerabilities/suppressions, newest first.
func (s *Server) listSuppressions(w http.ResponseWriter, r *http.Request, p *principal) {
	sups, err := s.cfg.Store.ListSuppressions(r.Context(), p.OrgID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if sups == nil {
		sups = []*aip.Suppression{}
	}
	writeOK(w, struct {
		Suppressions []*aip.Suppression `json:"suppressions"`
	}{sups})
}

// suppressionRequest is the body of POST /v2/vulnerabilities/suppressions.
type suppressionRequest struct {
	CVENumber string  `json:"cveNumber"`
	Package   *string `json:"package"`
	AgentID   *string `json:"agentId"`
	Reason    string  `json:"reason"`
	ExpiresAt *string `json:"expiresAt"`
}

// createSuppression is POST /v2/vulnerabilities/suppressions → 200 the
// stored suppression. An agentId must name an agent of the organization;
// expiresAt, when given, must be in the future.
func (s *Server) createSuppression(w http.ResponseWriter, r *http.Request, p *principal) {
	var req suppressionRequest
	if err := decodeJSON(p.Body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	sup, err := s.checkSuppression(r.Context(), p, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.CreateSuppression(r.Context(), sup); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, sup)
}

// checkSuppression validates req and turns it into a suppression.
func (s *Server) checkSuppression(ctx context.Context, p *principal, req *suppressionRequest) (*aip.Suppression, error) {
	// CreatedAt is the server's clock, the one expiry is judged by.
	sup := &aip.Suppression{OrgID: p.OrgID, CVENumber: req.CVENumber, CreatedBy: p.User.ID, CreatedAt: aip.Time{Time: s.now().UTC().Truncate(time.Millisecond)}}
	if !advisoryIDPattern.MatchString(req.CVENumber) {
		return nil, aip.Errorf(aip.EINVALID, `"cveNumber" is required: a CVE number such as CVE-2024-1234 or another advisory id.`)
	}
	if req.Package != nil {
		pkg := strings.TrimSpace(*req.Package)
		if pkg == "" || len(pkg) > 255 {
			return nil, aip.Errorf(aip.EINVALID, `"package" must be a package name of 1 to 255 characters.`)
		}
		sup.Package = &pkg
	}
	if req.AgentID != nil {
		if !aip.IsUUID(*req.AgentID) {
			return nil, aip.Errorf(aip.EINVALID, `"agentId" must be an agent id.`)
		}
		if err := s.checkAgent(ctx, p.OrgID, *req.AgentID); err != nil {
			return nil, err
		}
		id := *req.AgentID
		sup.AgentID = &id
	}
	sup.Reason = strings.TrimSpace(req.Reason)
	switch {
	case sup.Reason == "":
		return nil, aip.Errorf(aip.EINVALID, `"reason" is required.`)
	case utf8.RuneCountInString(sup.Reason) > maxSuppressionReason:
		return nil, aip.Errorf(aip.EINVALID, `"reason" may be at most %d characters.`, maxSuppressionReason)
	}
	if req.ExpiresAt != nil {
		at, _, err := aip.ParseTime(*req.ExpiresAt)
		if err != nil {
			return nil, aip.Errorf(aip.EINVALID, `"expiresAt" must be a time such as 2025-12-31T23:59:59Z.`)
		}
		if !at.After(s.now()) {
			return nil, aip.Errorf(aip.EINVALID, `"expiresAt" must be in the future.`)
		}
		sup.ExpiresAt = aip.Time{Time: at}
	}
	return sup, nil
}

// deleteSuppression is DELETE
// /v2/vulnerabilities/suppressions/{suppressionId} → 204.
func (s *Server) deleteSuppression(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("suppressionId")
	if err := s.cfg.Store.DeleteSuppression(r.Context(), p.OrgID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}
