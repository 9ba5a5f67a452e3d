package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

// vulnFixture is one organization with two agents and known matches, its
// owner and reader, and a second organization's owner.
type vulnFixture struct {
	h                    *harness
	owner, reader, other account
	web, db              account
	otherAgent           account
}

// seedMatches makes matches the active vulnerabilities of an agent; each
// entry is "CVE package" and the first CVE of the list gets a notice.
func seedMatches(t testing.TB, h *harness, orgID, agentID string, entries ...string) {
	t.Helper()
	var ms []*aip.VulnMatch
	for _, e := range entries {
		cve, pkg, _ := strings.Cut(e, " ")
		m := &aip.VulnMatch{
			OrgID: orgID, AgentID: agentID, CVE: cve, AdvisoryID: cve, Package: pkg,
			ReportedPackage: pkg + " 1.0", SystemPackage: pkg + " 1.0-1.x86_64",
			Severity: "high", VectorType: "network",
		}
		if cve == "CVE-2024-0001" {
			m.SecurityNotices = []aip.SecurityNotice{{ID: "DSA-1", URL: "https://security.example.com/DSA-1"}}
		}
		ms = append(ms, m)
	}
	if err := h.store.ReplaceVulnMatches(context.Background(), orgID, agentID, ms, h.clock.Now()); err != nil {
		t.Fatalf("replace matches: %v", err)
	}
}

func newVulnFixture(t *testing.T) *vulnFixture {
	t.Helper()
	h := newHarness(t)
	orgA, keyA := h.newAgentOrg(t, "A")
	orgB, keyB := h.newAgentOrg(t, "B")
	f := &vulnFixture{
		h:      h,
		owner:  h.newAccount(t, orgA, "owner@a.example.com", aip.RoleOwner),
		reader: h.newAccount(t, orgA, "reader@a.example.com", aip.RoleReader),
		other:  h.newAccount(t, orgB, "owner@b.example.com", aip.RoleOwner),
		web:    h.enrollAgent(t, keyA, "web-1"),
		db:     h.enrollAgent(t, keyA, "db-1"),
	}
	f.otherAgent = h.enrollAgent(t, keyB, "web-1")
	seedMatches(t, h, orgA, f.web.UserID, "CVE-2024-0001 openssl", "CVE-2024-0002 curl")
	seedMatches(t, h, orgA, f.db.UserID, "CVE-2024-0001 openssl", "CVE-2024-0003 zlib")
	seedMatches(t, h, orgB, f.otherAgent.UserID, "CVE-2024-0009 bash")
	return f
}

// getJSON sends a signed GET as a, checks the status and decodes the body
// into v when the answer is 200.
func (f *vulnFixture) getJSON(t *testing.T, a account, target string, status int, v any) {
	t.Helper()
	r, _ := f.h.signedDo(t, a, http.MethodGet, target, nil)
	wantStatus(t, r, status, "")
	if status == http.StatusOK && v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			t.Fatalf("decode %s: %v", r.Body, err)
		}
	}
}

type vulnPage struct {
	CVEs  []*aip.Vulnerability `json:"cves"`
	Token *string              `json:"token"`
}

// keys renders vulnerabilities as "CVE package suppressed agents".
func keys(vs []*aip.Vulnerability) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%s %s %v %d", v.CVENumber, strings.Fields(v.SystemPackage)[0], v.IsSuppressed, len(v.Agents)))
	}
	return out
}

func TestListVulnerabilities(t *testing.T) {
	f := newVulnFixture(t)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"lists active ones by default", "", []string{"CVE-2024-0001 openssl false 2", "CVE-2024-0002 curl false 1", "CVE-2024-0003 zlib false 1"}},
		{"filters by agent", "?agentId=" + f.db.UserID, []string{"CVE-2024-0001 openssl false 1", "CVE-2024-0003 zlib false 1"}},
		{"filters by security notices", "?hasSecurityNotices=true", []string{"CVE-2024-0001 openssl false 2"}},
		{"ignores hasSecurityNotices=false", "?hasSecurityNotices=false", []string{"CVE-2024-0001 openssl false 2", "CVE-2024-0002 curl false 1", "CVE-2024-0003 zlib false 1"}},
		{"reads legacy active=true", "?active=true&agentId=" + f.web.UserID, []string{"CVE-2024-0001 openssl false 1", "CVE-2024-0002 curl false 1"}},
		{"finds no suppressed ones", "?status=suppressed", []string{}},
		{"finds no resolved ones", "?status=resolved", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p vulnPage
			f.getJSON(t, f.reader, "/v2/vulnerabilities"+tt.query, http.StatusOK, &p)
			if diff := cmp.Diff(tt.want, keys(p.CVEs)); diff != "" {
				t.Errorf("cves (-want +got):\n%s", diff)
			}
			if p.Token != nil {
				t.Errorf("token = %q, want null", *p.Token)
			}
		})
	}
	t.Run("returns the wire shape", func(t *testing.T) {
		var p vulnPage
		f.getJSON(t, f.reader, "/v2/vulnerabilities?hasSecurityNotices=true&agentId="+f.web.UserID, http.StatusOK, &p)
		host := "web-1"
		want := []*aip.Vulnerability{{
			CVENumber: "CVE-2024-0001", ReportedPackage: "openssl 1.0", SystemPackage: "openssl 1.0-1.x86_64",
			VectorType: "network", Severity: "high",
			SecurityNotices: []aip.SecurityNotice{{ID: "DSA-1", URL: "https://security.example.com/DSA-1"}},
			Agents:          []aip.VulnAgent{{AgentID: f.web.UserID, Hostname: &host}},
		}}
		if diff := cmp.Diff(want, p.CVEs); diff != "" {
			t.Errorf("cves (-want +got):\n%s", diff)
		}
	})
	t.Run("shows resolved matches", func(t *testing.T) {
		seedMatches(t, f.h, f.owner.OrgID, f.db.UserID, "CVE-2024-0001 openssl")
		t.Cleanup(func() { seedMatches(t, f.h, f.owner.OrgID, f.db.UserID, "CVE-2024-0001 openssl", "CVE-2024-0003 zlib") })
		var p vulnPage
		f.getJSON(t, f.reader, "/v2/vulnerabilities?status=resolved", http.StatusOK, &p)
		if diff := cmp.Diff([]string{"CVE-2024-0003 zlib false 1"}, keys(p.CVEs)); diff != "" {
			t.Errorf("cves (-want +got):\n%s", diff)
		}
	})
	for _, q := range []string{"status=bogus", "active=maybe", "hasSecurityNotices=yes", "token=garbage"} {
		t.Run("rejects "+q, func(t *testing.T) {
			f.getJSON(t, f.reader, "/v2/vulnerabilities?"+q, http.StatusBadRequest, nil)
		})
	}
}

func TestListVulnerabilitiesPages(t *testing.T) {
	f := newVulnFixture(t)
	var entries []string
	for i := range 130 {
		entries = append(entries, fmt.Sprintf("CVE-2025-%04d pkg%d", i, i%3))
	}
	seedMatches(t, f.h, f.owner.OrgID, f.web.UserID, entries...)
	var first vulnPage
	f.getJSON(t, f.reader, "/v2/vulnerabilities?status=active&agentId="+f.web.UserID, http.StatusOK, &first)
	if len(first.CVEs) != 100 || first.Token == nil {
		t.Fatalf("first page: %d items, token %v; want 100 and a token", len(first.CVEs), first.Token)
	}
	// BL sends the token alone on later pages: it must keep the agent filter.
	var second vulnPage
	f.getJSON(t, f.reader, "/v2/vulnerabilities?token="+url.QueryEscape(*first.Token), http.StatusOK, &second)
	if second.Token != nil {
		t.Errorf("second page token = %q, want null", *second.Token)
	}
	var got []string
	for _, v := range append(first.CVEs, second.CVEs...) {
		got = append(got, v.CVENumber)
	}
	if !slices.Equal(got, slices.Sorted(slices.Values(entriesCVEs(entries)))) {
		t.Errorf("pages hold %d CVEs %v…, want the agent's 130 in order", len(got), got[:3])
	}
	t.Run("refuses another organization's token", func(t *testing.T) {
		f.getJSON(t, f.other, "/v2/vulnerabilities?token="+url.QueryEscape(*first.Token), http.StatusBadRequest, nil)
	})
}

func entriesCVEs(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i], _, _ = strings.Cut(e, " ")
	}
	return out
}

func TestVulnerabilityLookups(t *testing.T) {
	f := newVulnFixture(t)
	cveList := func(t *testing.T, a account, target string, status int) []string {
		t.Helper()
		var p struct {
			CVEs []string `json:"cves"`
		}
		f.getJSON(t, a, target, status, &p)
		return p.CVEs
	}
	t.Run("gets every package of a CVE", func(t *testing.T) {
		var p vulnPage
		f.getJSON(t, f.reader, "/v2/vulnerabilities/CVE-2024-0001", http.StatusOK, &p)
		if diff := cmp.Diff([]string{"CVE-2024-0001 openssl false 2"}, keys(p.CVEs)); diff != "" {
			t.Errorf("cves (-want +got):\n%s", diff)
		}
	})
	t.Run("gets an empty list for a status without the CVE", func(t *testing.T) {
		var p vulnPage
		f.getJSON(t, f.reader, "/v2/vulnerabilities/CVE-2024-0001?status=suppressed", http.StatusOK, &p)
		if len(p.CVEs) != 0 {
			t.Errorf("cves = %v, want none", keys(p.CVEs))
		}
	})
	t.Run("rejects a bad status of a CVE", func(t *testing.T) {
		f.getJSON(t, f.reader, "/v2/vulnerabilities/CVE-2024-0001?status=gone", http.StatusBadRequest, nil)
	})
	t.Run("lists the servers of a CVE by agent id", func(t *testing.T) {
		var p struct {
			Servers []aip.VulnAgent `json:"servers"`
			Token   *string         `json:"token"`
		}
		f.getJSON(t, f.reader, "/v2/vulnerabilities/CVE-2024-0001/servers", http.StatusOK, &p)
		want := []string{f.web.UserID, f.db.UserID}
		slices.Sort(want)
		var got []string
		for _, s := range p.Servers {
			got = append(got, s.AgentID)
		}
		if diff := cmp.Diff(want, got); diff != "" || p.Token != nil {
			t.Errorf("servers (-want +got):\n%s token %v", diff, p.Token)
		}
	})
	t.Run("lists a package's vulnerabilities", func(t *testing.T) {
		var p struct {
			Packages []*aip.Vulnerability `json:"packages"`
		}
		f.getJSON(t, f.reader, "/v2/vulnerabilities/package/zlib", http.StatusOK, &p)
		if diff := cmp.Diff([]string{"CVE-2024-0003 zlib false 1"}, keys(p.Packages)); diff != "" {
			t.Errorf("packages (-want +got):\n%s", diff)
		}
	})
	t.Run("lists an agent's CVEs", func(t *testing.T) {
		got := cveList(t, f.reader, "/v2/vulnerabilities/agent/"+f.web.UserID, http.StatusOK)
		if diff := cmp.Diff([]string{"CVE-2024-0001", "CVE-2024-0002"}, got); diff != "" {
			t.Errorf("cves (-want +got):\n%s", diff)
		}
	})
	t.Run("lists a host's CVEs", func(t *testing.T) {
		got := cveList(t, f.reader, "/v2/vulnerabilities/server/db-1", http.StatusOK)
		if diff := cmp.Diff([]string{"CVE-2024-0001", "CVE-2024-0003"}, got); diff != "" {
			t.Errorf("cves (-want +got):\n%s", diff)
		}
	})
	for _, target := range []string{
		"/v2/vulnerabilities/CVE-1999-0001",
		"/v2/vulnerabilities/CVE-1999-0001/servers",
		"/v2/vulnerabilities/CVE-2024-0001/elsewhere",
		"/v2/vulnerabilities/agent/" + aip.NewUUID(),
		"/v2/vulnerabilities/agent/not-an-id",
		"/v2/vulnerabilities/agent/" + aip.NewUUID() + "/suppressed",
		"/v2/vulnerabilities/server/nowhere",
		"/v2/vulnerabilities/server/nowhere/suppressed",
	} {
		t.Run("answers 404 for "+target, func(t *testing.T) {
			f.getJSON(t, f.reader, target, http.StatusNotFound, nil)
		})
	}
	t.Run("pages the servers of a CVE", func(t *testing.T) {
		h := f.h
		orgC, key := h.newAgentOrg(t, "C")
		user := h.newAccount(t, orgC, "reader@c.example.com", aip.RoleReader)
		var want []string
		for i := range 101 {
			ag := h.enrollAgent(t, key, fmt.Sprintf("h%d", i))
			seedMatches(t, h, orgC, ag.UserID, "CVE-2024-0100 sudo")
			want = append(want, ag.UserID)
		}
		slices.Sort(want)
		type page struct {
			Servers []aip.VulnAgent `json:"servers"`
			Token   *string         `json:"token"`
		}
		var p1, p2 page
		f.getJSON(t, user, "/v2/vulnerabilities/CVE-2024-0100/servers", http.StatusOK, &p1)
		if len(p1.Servers) != 100 || p1.Token == nil {
			t.Fatalf("first page: %d servers, token %v; want 100 and a token", len(p1.Servers), p1.Token)
		}
		f.getJSON(t, user, "/v2/vulnerabilities/CVE-2024-0100/servers?token="+url.QueryEscape(*p1.Token), http.StatusOK, &p2)
		var got []string
		for _, s := range append(p1.Servers, p2.Servers...) {
			got = append(got, s.AgentID)
		}
		if diff := cmp.Diff(want, got); diff != "" || p2.Token != nil {
			t.Errorf("servers (-want +got):\n%s last token %v", diff, p2.Token)
		}
	})
}

// suppress posts a suppression as a and returns the answer.
func (f *vulnFixture) suppress(t *testing.T, a account, body string) reply {
	t.Helper()
	r, _ := f.h.signedDo(t, a, http.MethodPost, "/v2/vulnerabilities/suppressions", []byte(body))
	return r
}

// agentCVEs returns the active (or suppressed) CVEs of an agent.
func (f *vulnFixture) agentCVEs(t *testing.T, agentID string, suppressed bool) []string {
	t.Helper()
	target := "/v2/vulnerabilities/agent/" + agentID
	if suppressed {
		target += "/suppressed"
	}
	var p struct {
		CVEs []string `json:"cves"`
	}
	f.getJSON(t, f.reader, target, http.StatusOK, &p)
	return p.CVEs
}

func TestSuppressions(t *testing.T) {
	tests := []struct {
		name string
		body func(f *vulnFixture) string
		// wantWeb and wantDB are the active CVEs of each agent once the
		// suppression exists.
		wantWeb, wantDB []string
	}{
		{
			name:    "suppresses a CVE everywhere",
			body:    func(*vulnFixture) string { return `{"cveNumber":"CVE-2024-0001","reason":"accepted risk"}` },
			wantWeb: []string{"CVE-2024-0002"}, wantDB: []string{"CVE-2024-0003"},
		},
		{
			name: "suppresses a CVE in one package",
			body: func(*vulnFixture) string {
				return `{"cveNumber":"CVE-2024-0003","package":"zlib","reason":"not loaded"}`
			},
			wantWeb: []string{"CVE-2024-0001", "CVE-2024-0002"}, wantDB: []string{"CVE-2024-0001"},
		},
		{
			name: "suppresses a CVE on one agent",
			body: func(f *vulnFixture) string {
				return `{"cveNumber":"CVE-2024-0001","agentId":"` + f.web.UserID + `","reason":"isolated host"}`
			},
			wantWeb: []string{"CVE-2024-0002"}, wantDB: []string{"CVE-2024-0001", "CVE-2024-0003"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newVulnFixture(t)
			r := f.suppress(t, f.owner, tt.body(f))
			wantStatus(t, r, http.StatusOK, "")
			var sup aip.Suppression
			if err := json.Unmarshal(r.Body, &sup); err != nil {
				t.Fatal(err)
			}
			if sup.ID == "" || sup.CreatedBy != f.owner.UserID || sup.CreatedAt.IsZero() {
				t.Errorf("suppression = %+v, want an id, createdBy the caller and createdAt", sup)
			}
			if diff := cmp.Diff(tt.wantWeb, f.agentCVEs(t, f.web.UserID, false)); diff != "" {
				t.Errorf("web active CVEs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDB, f.agentCVEs(t, f.db.UserID, false)); diff != "" {
				t.Errorf("db active CVEs (-want +got):\n%s", diff)
			}
			var suppressed vulnPage
			f.getJSON(t, f.reader, "/v2/vulnerabilities?status=suppressed", http.StatusOK, &suppressed)
			if len(suppressed.CVEs) == 0 {
				t.Fatal("status=suppressed lists nothing")
			}
			for _, v := range suppressed.CVEs {
				if !v.IsSuppressed || v.CVENumber != sup.CVENumber {
					t.Errorf("suppressed listing holds %s suppressed=%v", v.CVENumber, v.IsSuppressed)
				}
			}
			var list struct {
				Suppressions []*aip.Suppression `json:"suppressions"`
			}
			f.getJSON(t, f.reader, "/v2/vulnerabilities/suppressions", http.StatusOK, &list)
			if len(list.Suppressions) != 1 || list.Suppressions[0].ID != sup.ID {
				t.Errorf("suppressions = %v, want only %s", list.Suppressions, sup.ID)
			}

			del, _ := f.h.signedDo(t, f.owner, http.MethodDelete, "/v2/vulnerabilities/suppressions/"+sup.ID, nil)
			wantStatus(t, del, http.StatusNoContent, "")
			var active vulnPage
			f.getJSON(t, f.reader, "/v2/vulnerabilities", http.StatusOK, &active)
			if diff := cmp.Diff([]string{"CVE-2024-0001 openssl false 2", "CVE-2024-0002 curl false 1", "CVE-2024-0003 zlib false 1"}, keys(active.CVEs)); diff != "" {
				t.Errorf("active after delete (-want +got):\n%s", diff)
			}
			again, _ := f.h.signedDo(t, f.owner, http.MethodDelete, "/v2/vulnerabilities/suppressions/"+sup.ID, nil)
			wantStatus(t, again, http.StatusNotFound, "")
		})
	}
}

func TestSuppressionExpires(t *testing.T) {
	f := newVulnFixture(t)
	expires := aip.FormatTime(f.h.clock.Now().Add(time.Hour))
	r := f.suppress(t, f.owner, `{"cveNumber":"CVE-2024-0002","reason":"patch window","expiresAt":"`+expires+`"}`)
	wantStatus(t, r, http.StatusOK, "")
	if diff := cmp.Diff([]string{"CVE-2024-0002"}, f.agentCVEs(t, f.web.UserID, true)); diff != "" {
		t.Errorf("suppressed before expiry (-want +got):\n%s", diff)
	}
	f.h.clock.Advance(2 * time.Hour)
	if diff := cmp.Diff([]string{"CVE-2024-0001", "CVE-2024-0002"}, f.agentCVEs(t, f.web.UserID, false)); diff != "" {
		t.Errorf("active after expiry (-want +got):\n%s", diff)
	}
	var p struct {
		CVEs []string `json:"cves"`
	}
	f.getJSON(t, f.reader, "/v2/vulnerabilities/server/web-1/suppressed", http.StatusOK, &p)
	if len(p.CVEs) != 0 {
		t.Errorf("suppressed after expiry = %v, want none", p.CVEs)
	}
}

func TestCreateSuppressionRejects(t *testing.T) {
	f := newVulnFixture(t)
	past := aip.FormatTime(f.h.clock.Now().Add(-time.Hour))
	tests := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"an empty body", ``, http.StatusBadRequest, "body is required"},
		{"a missing cve", `{"reason":"r"}`, http.StatusBadRequest, "cveNumber"},
		{"a malformed cve", `{"cveNumber":"cve 1","reason":"r"}`, http.StatusBadRequest, "cveNumber"},
		{"a missing reason", `{"cveNumber":"CVE-2024-0001"}`, http.StatusBadRequest, "reason"},
		{"a blank reason", `{"cveNumber":"CVE-2024-0001","reason":"  "}`, http.StatusBadRequest, "reason"},
		{"a long reason", `{"cveNumber":"CVE-2024-0001","reason":"` + strings.Repeat("x", 1001) + `"}`, http.StatusBadRequest, "at most 1000"},
		{"an empty package", `{"cveNumber":"CVE-2024-0001","package":"","reason":"r"}`, http.StatusBadRequest, "package"},
		{"a malformed agent id", `{"cveNumber":"CVE-2024-0001","agentId":"web-1","reason":"r"}`, http.StatusBadRequest, "agentId"},
		{"an unknown agent", `{"cveNumber":"CVE-2024-0001","agentId":"` + aip.NewUUID() + `","reason":"r"}`, http.StatusNotFound, "not found"},
		{"another organization's agent", `{"cveNumber":"CVE-2024-0001","agentId":"` + f.otherAgent.UserID + `","reason":"r"}`, http.StatusNotFound, "not found"},
		{"a past expiry", `{"cveNumber":"CVE-2024-0001","reason":"r","expiresAt":"` + past + `"}`, http.StatusBadRequest, "future"},
		{"a malformed expiry", `{"cveNumber":"CVE-2024-0001","reason":"r","expiresAt":"tomorrow"}`, http.StatusBadRequest, "expiresAt"},
		{"an unknown field", `{"cveNumber":"CVE-2024-0001","reason":"r","scope":"all"}`, http.StatusBadRequest, "unknown field"},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			wantStatus(t, f.suppress(t, f.owner, tt.body), tt.status, tt.msg)
		})
	}
	t.Run("refuses readers", func(t *testing.T) {
		wantStatus(t, f.suppress(t, f.reader, `{"cveNumber":"CVE-2024-0001","reason":"r"}`), http.StatusForbidden, "")
		r := f.suppress(t, f.owner, `{"cveNumber":"CVE-2024-0001","reason":"r"}`)
		wantStatus(t, r, http.StatusOK, "")
		var sup aip.Suppression
		if err := json.Unmarshal(r.Body, &sup); err != nil {
			t.Fatal(err)
		}
		del, _ := f.h.signedDo(t, f.reader, http.MethodDelete, "/v2/vulnerabilities/suppressions/"+sup.ID, nil)
		wantStatus(t, del, http.StatusForbidden, "")
	})
	t.Run("accepts upper-case advisory ids only", func(t *testing.T) {
		wantStatus(t, f.suppress(t, f.owner, `{"cveNumber":"GHSA-abcd","reason":"r"}`), http.StatusBadRequest, "cveNumber")
		wantStatus(t, f.suppress(t, f.owner, `{"cveNumber":"ALSA-2024:1234","reason":"r"}`), http.StatusOK, "")
	})
}

func TestVulnerabilityIsolation(t *testing.T) {
	f := newVulnFixture(t)
	r := f.suppress(t, f.owner, `{"cveNumber":"CVE-2024-0001","reason":"r"}`)
	wantStatus(t, r, http.StatusOK, "")
	var sup aip.Suppression
	if err := json.Unmarshal(r.Body, &sup); err != nil {
		t.Fatal(err)
	}
	t.Run("org B lists only its own vulnerabilities", func(t *testing.T) {
		var p vulnPage
		f.getJSON(t, f.other, "/v2/vulnerabilities?status=all", http.StatusOK, &p)
		if diff := cmp.Diff([]string{"CVE-2024-0009 bash false 1"}, keys(p.CVEs)); diff != "" {
			t.Errorf("cves (-want +got):\n%s", diff)
		}
	})
	for _, target := range []string{
		"/v2/vulnerabilities/CVE-2024-0002",
		"/v2/vulnerabilities/CVE-2024-0002/servers",
		"/v2/vulnerabilities/agent/" + f.web.UserID,
		"/v2/vulnerabilities/agent/" + f.web.UserID + "/suppressed",
		"/v2/vulnerabilities/server/db-1",
	} {
		t.Run("org B gets 404 for "+target, func(t *testing.T) {
			f.getJSON(t, f.other, target, http.StatusNotFound, nil)
		})
	}
	t.Run("org B sees its own host, not A's CVEs on the same hostname", func(t *testing.T) {
		var p struct {
			CVEs []string `json:"cves"`
		}
		f.getJSON(t, f.other, "/v2/vulnerabilities/server/web-1", http.StatusOK, &p)
		if diff := cmp.Diff([]string{"CVE-2024-0009"}, p.CVEs); diff != "" {
			t.Errorf("cves (-want +got):\n%s", diff)
		}
	})
	t.Run("org B sees no package of A", func(t *testing.T) {
		var p struct {
			Packages []*aip.Vulnerability `json:"packages"`
		}
		f.getJSON(t, f.other, "/v2/vulnerabilities/package/openssl/suppressed", http.StatusOK, &p)
		if len(p.Packages) != 0 {
			t.Errorf("packages = %v, want none", keys(p.Packages))
		}
	})
	t.Run("org B neither lists nor deletes A's suppressions", func(t *testing.T) {
		var list struct {
			Suppressions []*aip.Suppression `json:"suppressions"`
		}
		f.getJSON(t, f.other, "/v2/vulnerabilities/suppressions", http.StatusOK, &list)
		if len(list.Suppressions) != 0 {
			t.Errorf("suppressions = %v, want none", list.Suppressions)
		}
		del, _ := f.h.signedDo(t, f.other, http.MethodDelete, "/v2/vulnerabilities/suppressions/"+sup.ID, nil)
		wantStatus(t, del, http.StatusNotFound, "")
		if got := f.agentCVEs(t, f.web.UserID, true); !slices.Contains(got, "CVE-2024-0001") {
			t.Errorf("A's suppressed CVEs = %v after B's delete, want CVE-2024-0001 still suppressed", got)
		}
	})
	t.Run("org A's suppression does not hide B's CVE", func(t *testing.T) {
		wantStatus(t, f.suppress(t, f.owner, `{"cveNumber":"CVE-2024-0009","reason":"r"}`), http.StatusOK, "")
		var p vulnPage
		f.getJSON(t, f.other, "/v2/vulnerabilities", http.StatusOK, &p)
		if diff := cmp.Diff([]string{"CVE-2024-0009 bash false 1"}, keys(p.CVEs)); diff != "" {
			t.Errorf("cves (-want +got):\n%s", diff)
		}
	})
}
