package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"

	"github.com/aipsec/aip"
)

// VulnerabilitiesService reads the CVEs found in the organization's
// installed packages.
type VulnerabilitiesService service

// VulnListOptions filters VulnerabilitiesService.List. Empty fields are
// not sent.
type VulnListOptions struct {
	// Status is active (the server's default), suppressed, resolved or all.
	Status  string
	AgentID string
	// HasSecurityNotices keeps only CVEs with a distribution notice.
	HasSecurityNotices bool
	// Token continues a listing from a previous Response.NextToken; the
	// server remembers the filters of the first page.
	Token string
}

func (o *VulnListOptions) query() url.Values {
	if o == nil {
		return nil
	}
	notices := ""
	if o.HasSecurityNotices {
		notices = "true"
	}
	return values("status", o.Status, "agentId", o.AgentID, "hasSecurityNotices", notices, "token", o.Token)
}

// List returns one page (at most 100, by CVE then system package) of the
// organization's vulnerabilities (GET /v2/vulnerabilities).
func (s *VulnerabilitiesService) List(ctx context.Context, opts *VulnListOptions) ([]*aip.Vulnerability, *Response, error) {
	var env struct {
		CVEs  []*aip.Vulnerability `json:"cves"`
		Token *string              `json:"token"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, withQuery("v2/vulnerabilities", opts.query()), nil, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.NextToken = deref(env.Token)
	return env.CVEs, resp, nil
}

// All iterates over every matching vulnerability, fetching pages as
// needed. An error is yielded once, last.
func (s *VulnerabilitiesService) All(ctx context.Context, opts *VulnListOptions) iter.Seq2[*aip.Vulnerability, error] {
	var first VulnListOptions
	if opts != nil {
		first = *opts
	}
	return paginate("vulnerabilities", first.Token, func(token string) ([]*aip.Vulnerability, string, error) {
		page := VulnListOptions{Token: token}
		if token == first.Token {
			page = first
		}
		vs, resp, err := s.List(ctx, &page)
		if err != nil {
			return nil, "", err
		}
		return vs, resp.NextToken, nil
	})
}

// Get returns every system package a CVE was found in, in any status
// (GET /v2/vulnerabilities/{cve}); a 404 when the organization never had it.
func (s *VulnerabilitiesService) Get(ctx context.Context, cve string) ([]*aip.Vulnerability, *Response, error) {
	p, err := pathID("CVE", cve)
	if err != nil {
		return nil, nil, err
	}
	var env struct {
		CVEs []*aip.Vulnerability `json:"cves"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, "v2/vulnerabilities/"+p, nil, &env)
	if err != nil {
		return nil, resp, err
	}
	return env.CVEs, resp, nil
}

// Servers returns one page of the agents with an active match of cve
// (GET /v2/vulnerabilities/{cve}/servers), from token ("" for the first).
func (s *VulnerabilitiesService) Servers(ctx context.Context, cve, token string) ([]aip.VulnAgent, *Response, error) {
	p, err := pathID("CVE", cve)
	if err != nil {
		return nil, nil, err
	}
	var env struct {
		Servers []aip.VulnAgent `json:"servers"`
		Token   *string         `json:"token"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, withQuery("v2/vulnerabilities/"+p+"/servers", values("token", token)), nil, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.NextToken = deref(env.Token)
	return env.Servers, resp, nil
}

// AllServers iterates over every agent affected by cve.
func (s *VulnerabilitiesService) AllServers(ctx context.Context, cve string) iter.Seq2[aip.VulnAgent, error] {
	return paginate("vulnerability servers", "", func(token string) ([]aip.VulnAgent, string, error) {
		srv, resp, err := s.Servers(ctx, cve, token)
		if err != nil {
			return nil, "", err
		}
		return srv, resp.NextToken, nil
	})
}

// ByPackage returns the vulnerabilities of the installed packages named pkg
// (GET /v2/vulnerabilities/package/{pkg}), the suppressed ones when
// suppressed is true.
func (s *VulnerabilitiesService) ByPackage(ctx context.Context, pkg string, suppressed bool) ([]*aip.Vulnerability, *Response, error) {
	p, err := pathID("package", pkg)
	if err != nil {
		return nil, nil, err
	}
	var env struct {
		Packages []*aip.Vulnerability `json:"packages"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, "v2/vulnerabilities/package/"+p+suffix(suppressed), nil, &env)
	if err != nil {
		return nil, resp, err
	}
	return env.Packages, resp, nil
}

// ByAgent returns the CVE numbers active (or suppressed) on an agent
// (GET /v2/vulnerabilities/agent/{id}).
func (s *VulnerabilitiesService) ByAgent(ctx context.Context, agentID string, suppressed bool) ([]string, *Response, error) {
	return s.cveList(ctx, "agent", agentID, suppressed)
}

// ByServer returns the CVE numbers active (or suppressed) on the agents
// with a hostname (GET /v2/vulnerabilities/server/{hostname}).
func (s *VulnerabilitiesService) ByServer(ctx context.Context, hostname string, suppressed bool) ([]string, *Response, error) {
	return s.cveList(ctx, "server", hostname, suppressed)
}

func (s *VulnerabilitiesService) cveList(ctx context.Context, kind, key string, suppressed bool) ([]string, *Response, error) {
	p, err := pathID(kind, key)
	if err != nil {
		return nil, nil, err
	}
	var env struct {
		CVEs []string `json:"cves"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, "v2/vulnerabilities/"+kind+"/"+p+suffix(suppressed), nil, &env)
	if err != nil {
		return nil, resp, err
	}
	return env.CVEs, resp, nil
}

// suffix selects the /suppressed variant of a listing.
func suffix(suppressed bool) string {
	if suppressed {
		return "/suppressed"
	}
	return ""
}

// SuppressionsService manages the vulnerability suppressions.
type SuppressionsService service

// SuppressionRequest is the body of SuppressionsService.Create: CVENumber
// and Reason are required; Package and AgentID narrow the scope.
type SuppressionRequest struct {
	CVENumber string `json:"cveNumber"`
	Package   string `json:"package,omitempty"`
	AgentID   string `json:"agentId,omitempty"`
	Reason    string `json:"reason"`
	// ExpiresAt is a future time (see TimeParam); "" never expires.
	ExpiresAt string `json:"expiresAt,omitempty"`
}

// List returns the organization's suppressions, newest first (GET
// /v2/vulnerabilities/suppressions).
func (s *SuppressionsService) List(ctx context.Context) ([]*aip.Suppression, *Response, error) {
	var env struct {
		Suppressions []*aip.Suppression `json:"suppressions"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, "v2/vulnerabilities/suppressions", nil, &env)
	if err != nil {
		return nil, resp, err
	}
	return env.Suppressions, resp, nil
}

// Create stores a suppression and returns it (POST
// /v2/vulnerabilities/suppressions).
func (s *SuppressionsService) Create(ctx context.Context, req *SuppressionRequest) (*aip.Suppression, *Response, error) {
	sup := new(aip.Suppression)
	resp, err := s.client.call(ctx, http.MethodPost, "v2/vulnerabilities/suppressions", req, sup)
	if err != nil {
		return nil, resp, err
	}
	return sup, resp, nil
}

// Delete removes a suppression (DELETE
// /v2/vulnerabilities/suppressions/{id}).
func (s *SuppressionsService) Delete(ctx context.Context, id string) (*Response, error) {
	p, err := pathID("suppression", id)
	if err != nil {
		return nil, err
	}
	return s.client.call(ctx, http.MethodDelete, "v2/vulnerabilities/suppressions/"+p, nil, nil)
}
