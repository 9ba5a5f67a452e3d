package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/httpapi"
)

// agentPut is agentPost for PUT: a Hawk-signed agent request whose
// authenticated answers must carry a valid Server-Authorization.
func (h *harness) agentPut(t testing.TB, ctx context.Context, a account, path string, body []byte) reply {
	t.Helper()
	req := h.rawRequest(ctx, t, http.MethodPut, path, body)
	req.Header.Set("Content-Type", "application/json")
	art := h.sign(t, req, a, body, nil)
	r := h.do(t, req)
	if r.Status != http.StatusUnauthorized && r.Status != http.StatusRequestEntityTooLarge {
		verifySigned(t, a, art, r)
	}
	return r
}

// packagesAnswer is the 200 body of PUT /agent/v1/packages.
type packagesAnswer struct {
	Packages int `json:"packages"`
	Rejected []struct {
		Index int    `json:"index"`
		Error string `json:"error"`
	} `json:"rejected"`
	Changed         bool `json:"changed"`
	Vulnerabilities int  `json:"vulnerabilities"`
}

// putInventory sends inv as the agent's snapshot and decodes the 200.
func (h *harness) putInventory(t testing.TB, a account, inv any) packagesAnswer {
	t.Helper()
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	r := h.agentPut(t, h.ctx(t), a, "/agent/v1/packages", b)
	if r.Status != http.StatusOK {
		t.Fatalf("put packages: %d %s", r.Status, r.Body)
	}
	var ans packagesAnswer
	if err := json.Unmarshal(r.Body, &ans); err != nil {
		t.Fatalf("packages answer: %v", err)
	}
	return ans
}

// seedDebianAdvisories stores two Debian 12 advisories: one on the
// openssl source package (CVE-2024-1000, high) and one on curl
// (CVE-2024-2000, critical), both fixed in a later revision.
func seedDebianAdvisories(t testing.TB, h *harness) {
	t.Helper()
	advs := []*aip.Advisory{
		{
			ID: "DEBIAN-CVE-2024-1000", CVEs: []string{"CVE-2024-1000"}, Modified: epoch,
			Severity: "high", VectorType: "network", SecurityNotices: []aip.SecurityNotice{},
			Affected: []aip.AffectedPackage{{Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: "12", Name: "openssl",
				Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "3.0.11-1~deb12u2"}}}},
		},
		{
			ID: "DEBIAN-CVE-2024-2000", CVEs: []string{"CVE-2024-2000"}, Modified: epoch,
			Severity: "critical", VectorType: "network", SecurityNotices: []aip.SecurityNotice{},
			Affected: []aip.AffectedPackage{{Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: "12", Name: "curl",
				Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "7.88.1-10+deb12u5"}}}},
		},
	}
	if _, _, err := h.store.UpsertAdvisories(context.Background(), advs); err != nil {
		t.Fatalf("upsert advisories: %v", err)
	}
}

// debInventory is a Debian 12 snapshot; libssl3 is built from openssl.
func debInventory(sslVersion, curlVersion string) map[string]any {
	return map[string]any{
		"ecosystem": "deb", "distro": "debian", "release": "12",
		"packages": []map[string]any{
			{"name": "libssl3", "version": sslVersion, "arch": "amd64", "source": "openssl"},
			{"name": "curl", "version": curlVersion, "arch": "amd64"},
			{"name": "bash", "version": "5.2.15-2+b2", "arch": "amd64"},
		},
	}
}

// vulnSummaries lists the vulnerabilities of c in status as comparable
// values, ordered as the server orders them.
func vulnSummaries(t testing.TB, ctx context.Context, c *client.Client, status string) []aip.Vulnerability {
	t.Helper()
	var out []aip.Vulnerability
	for v, err := range c.Vulnerabilities.All(ctx, &client.VulnListOptions{Status: status}) {
		if err != nil {
			t.Fatalf("list vulnerabilities (%s): %v", status, err)
		}
		out = append(out, aip.Vulnerability{CVENumber: v.CVENumber, ReportedPackage: v.ReportedPackage,
			SystemPackage: v.SystemPackage, Severity: v.Severity, VectorType: v.VectorType, Agents: v.Agents})
	}
	return out
}

func strp(s string) *string { return &s }

func TestPutPackagesEndToEnd(t *testing.T) {
	h := newHarness(t)
	seedDebianAdvisories(t, h)
	orgA, keyA := h.newAgentOrg(t, "A")
	orgB, keyB := h.newAgentOrg(t, "B")
	ca := h.client(t, h.newAccount(t, orgA, "a@example.com", aip.RoleOwner))
	cb := h.client(t, h.newAccount(t, orgB, "b@example.com", aip.RoleOwner))
	agent := h.enrollAgent(t, keyA, "web-1")
	other := h.enrollAgent(t, keyB, "db-1")

	vulnerable := debInventory("3.0.11-1~deb12u1", "7.88.1-10+deb12u4")
	wantA := []aip.Vulnerability{
		{CVENumber: "CVE-2024-1000", ReportedPackage: "libssl3 3.0.11", SystemPackage: "libssl3 3.0.11-1~deb12u1.amd64",
			Severity: "high", VectorType: "network", Agents: []aip.VulnAgent{{AgentID: agent.UserID, Hostname: strp("web-1")}}},
		{CVENumber: "CVE-2024-2000", ReportedPackage: "curl 7.88.1", SystemPackage: "curl 7.88.1-10+deb12u4.amd64",
			Severity: "critical", VectorType: "network", Agents: []aip.VulnAgent{{AgentID: agent.UserID, Hostname: strp("web-1")}}},
	}

	t.Run("a vulnerable snapshot is matched, through the source package too", func(t *testing.T) {
		got := h.putInventory(t, agent, vulnerable)
		if got.Packages != 3 || len(got.Rejected) != 0 || !got.Changed || got.Vulnerabilities != 2 {
			t.Errorf("answer %+v, want 3 packages, none rejected, changed, 2 vulnerabilities", got)
		}
		if diff := cmp.Diff(wantA, vulnSummaries(t, h.ctx(t), ca, aip.VulnActive)); diff != "" {
			t.Errorf("active vulnerabilities (-want +got):\n%s", diff)
		}
	})

	t.Run("another organization's agent never changes the listing", func(t *testing.T) {
		got := h.putInventory(t, other, vulnerable)
		if got.Vulnerabilities != 2 {
			t.Errorf("org B answer %+v, want 2 vulnerabilities", got)
		}
		if diff := cmp.Diff(wantA, vulnSummaries(t, h.ctx(t), ca, aip.VulnActive)); diff != "" {
			t.Errorf("org A after org B's snapshot (-want +got):\n%s", diff)
		}
		for _, v := range vulnSummaries(t, h.ctx(t), cb, aip.VulnAll) {
			for _, a := range v.Agents {
				if a.AgentID != other.UserID {
					t.Errorf("org B sees agent %s in %s, want only its own %s", a.AgentID, v.CVENumber, other.UserID)
				}
			}
		}
		for _, v := range vulnSummaries(t, h.ctx(t), ca, aip.VulnAll) {
			for _, a := range v.Agents {
				if a.AgentID == other.UserID {
					t.Errorf("org A sees org B's agent in %s", v.CVENumber)
				}
			}
		}
	})

	t.Run("the same snapshot again is not a change", func(t *testing.T) {
		got := h.putInventory(t, agent, vulnerable)
		if got.Changed || got.Vulnerabilities != 2 {
			t.Errorf("answer %+v, want unchanged with 2 vulnerabilities", got)
		}
	})

	t.Run("upgraded packages resolve their vulnerabilities", func(t *testing.T) {
		got := h.putInventory(t, agent, debInventory("3.0.11-1~deb12u2", "7.88.1-10+deb12u5"))
		if !got.Changed || got.Vulnerabilities != 0 {
			t.Errorf("answer %+v, want changed with 0 vulnerabilities", got)
		}
		if active := vulnSummaries(t, h.ctx(t), ca, aip.VulnActive); len(active) != 0 {
			t.Errorf("active after upgrade: %+v, want none", active)
		}
		if diff := cmp.Diff(wantA, vulnSummaries(t, h.ctx(t), ca, aip.VulnResolved)); diff != "" {
			t.Errorf("resolved vulnerabilities (-want +got):\n%s", diff)
		}
		if n := len(vulnSummaries(t, h.ctx(t), cb, aip.VulnActive)); n != 2 {
			t.Errorf("org B has %d active vulnerabilities after org A's upgrade, want 2", n)
		}
	})
}

func TestPutPackagesRejections(t *testing.T) {
	h := newHarness(t)
	seedDebianAdvisories(t, h)
	org, key := h.newAgentOrg(t, "A")
	c := h.client(t, h.newAccount(t, org, "a@example.com", aip.RoleOwner))
	agent := h.enrollAgent(t, key, "web-1")

	t.Run("rejects a package with an unparsable version by index and keeps the rest", func(t *testing.T) {
		inv := debInventory("3.0.11-1~deb12u1", "7.88.1 beta")
		got := h.putInventory(t, agent, inv)
		if got.Packages != 2 || got.Vulnerabilities != 1 || len(got.Rejected) != 1 || got.Rejected[0].Index != 1 {
			t.Fatalf("answer %+v, want 2 packages kept, 1 vulnerability, index 1 rejected", got)
		}
		if !strings.Contains(got.Rejected[0].Error, "7.88.1 beta") {
			t.Errorf("rejection %q does not name the version", got.Rejected[0].Error)
		}
		vs := vulnSummaries(t, h.ctx(t), c, aip.VulnActive)
		if len(vs) != 1 || vs[0].CVENumber != "CVE-2024-1000" {
			t.Errorf("active vulnerabilities %+v, want CVE-2024-1000 only", vs)
		}
	})

	for _, tc := range []struct {
		name, body string
	}{
		{"rejects an unknown ecosystem", `{"ecosystem":"npm","distro":"debian","release":"12","packages":[]}`},
		{"rejects a missing distro", `{"ecosystem":"deb","release":"12","packages":[]}`},
		{"rejects a missing packages array", `{"ecosystem":"deb","distro":"debian","release":"12"}`},
		{"rejects an unknown field", `{"ecosystem":"deb","distro":"debian","release":"12","packages":[],"extra":1}`},
		{"rejects a body that is not JSON", `ecosystem=deb`},
		{"rejects data after the object", `{"ecosystem":"deb","distro":"debian","release":"12","packages":[]} {}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.agentPut(t, h.ctx(t), agent, "/agent/v1/packages", []byte(tc.body))
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d %s, want 400", r.Status, r.Body)
			}
			if msgs := errorsOf(t, r); len(msgs) == 0 {
				t.Errorf("400 without an error message")
			}
		})
	}

	t.Run("a rejected snapshot keeps the stored one", func(t *testing.T) {
		vs := vulnSummaries(t, h.ctx(t), c, aip.VulnActive)
		if len(vs) != 1 || vs[0].CVENumber != "CVE-2024-1000" {
			t.Errorf("active vulnerabilities %+v, want CVE-2024-1000 still", vs)
		}
	})

	t.Run("answers 401 to a revoked agent", func(t *testing.T) {
		gone := h.enrollAgent(t, key, "web-2")
		if err := h.store.RevokeAgent(context.Background(), org, gone.UserID); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		b, _ := json.Marshal(debInventory("3.0.11-1~deb12u1", "7.88.1-10+deb12u4"))
		r := h.agentPut(t, h.ctx(t), gone, "/agent/v1/packages", b)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("status %d %s, want 401", r.Status, r.Body)
		}
		for _, v := range vulnSummaries(t, h.ctx(t), c, aip.VulnAll) {
			for _, a := range v.Agents {
				if a.AgentID == gone.UserID {
					t.Errorf("revoked agent's snapshot was matched: %s", v.CVENumber)
				}
			}
		}
	})
}

func TestPutPackagesBodyLimit(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) { c.AgentMaxBodyBytes = 1024 })
	_, key := h.newAgentOrg(t, "A")
	agent := h.enrollAgent(t, key, "web-1")
	pkgs := make([]map[string]any, 0, 50)
	for range 50 {
		pkgs = append(pkgs, map[string]any{"name": "libexample", "version": "1.0-1", "arch": "amd64"})
	}
	b, err := json.Marshal(map[string]any{"ecosystem": "deb", "distro": "debian", "release": "12", "packages": pkgs})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("answers 413 beyond the agent body limit", func(t *testing.T) {
		r := h.agentPut(t, h.ctx(t), agent, "/agent/v1/packages", b)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", r.Status)
		}
	})
	t.Run("accepts a snapshot under the limit", func(t *testing.T) {
		h.clock.Advance(time.Second)
		got := h.putInventory(t, agent, map[string]any{"ecosystem": "deb", "distro": "debian", "release": "12", "packages": pkgs[:2]})
		if got.Packages != 2 {
			t.Errorf("answer %+v, want 2 packages", got)
		}
	})
}
