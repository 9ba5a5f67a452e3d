package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

// vm is an active match of cve in package pkg (version 1.0-1, amd64).
func vm(cve, pkg, severity string, notices bool) *aip.VulnMatch {
	m := &aip.VulnMatch{CVE: cve, AdvisoryID: cve, Package: pkg, ReportedPackage: pkg + " 1.0",
		SystemPackage: pkg + " 1.0-1.amd64", Severity: severity, VectorType: "network"}
	if notices {
		m.SecurityNotices = []aip.SecurityNotice{{ID: "DSA-" + cve[4:], URL: "https://security.example.test/" + cve}}
	}
	return m
}

// matches makes ms the active vulnerabilities of an agent.
func (e *env) matches(t *testing.T, orgID, agentID string, ms ...*aip.VulnMatch) {
	t.Helper()
	for _, m := range ms {
		m.OrgID, m.AgentID = orgID, agentID
	}
	if err := e.store.ReplaceVulnMatches(t.Context(), orgID, agentID, ms, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

var vulnRowRe = regexp.MustCompile(`<tr data-cve="([^"]+)" data-package="([^"]+)">`)

// vulnRows are the "CVE package" rows listed on p, in order.
func vulnRows(p page) []string {
	out := []string{}
	for _, m := range vulnRowRe.FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1]+" "+m[2])
	}
	return out
}

// vulnEnv is org A with two hosts and org B with one, all vulnerable.
type vulnEnv struct {
	*env
	web, db, bHost *aip.Agent
}

func newVulnEnv(t *testing.T) *vulnEnv {
	e := &vulnEnv{env: newEnv(t, nil)}
	e.web = e.agent(t, e.orgA.ID, "web-1", true)
	e.db = e.agent(t, e.orgA.ID, "db-1", true)
	e.bHost = e.agent(t, e.orgB.ID, "b-host", true)
	e.matches(t, e.orgA.ID, e.web.ID, vm("CVE-2024-0001", "openssl", "high", true), vm("CVE-2024-0002", "curl", "low", false))
	e.matches(t, e.orgA.ID, e.db.ID, vm("CVE-2024-0001", "openssl", "high", true), vm("CVE-2024-0003", "zlib", "critical", false))
	e.matches(t, e.orgB.ID, e.bHost.ID, vm("CVE-2099-9999", "secret", "critical", true))
	return e
}

func TestVulnerabilitiesList(t *testing.T) {
	e := newVulnEnv(t)
	b := e.signedIn(t, "alice@example.test", e.orgA.ID, aip.RoleReader)
	const (
		ssl  = "CVE-2024-0001 openssl 1.0-1.amd64"
		curl = "CVE-2024-0002 curl 1.0-1.amd64"
		zlib = "CVE-2024-0003 zlib 1.0-1.amd64"
	)
	for _, tt := range []struct {
		name, path string
		want       []string
	}{
		{"lists active vulnerabilities by CVE", "/console/vulnerabilities", []string{ssl, curl, zlib}},
		{"keeps those with security notices", "/console/vulnerabilities?notices=true", []string{ssl}},
		{"views one package", "/console/vulnerabilities?package=zlib", []string{zlib}},
		{"views one host by hostname", "/console/vulnerabilities?hostname=web-1", []string{ssl, curl}},
		{"views one host by agent", "/console/vulnerabilities?agent=" + e.db.ID, []string{ssl, zlib}},
		{"views one CVE", "/console/vulnerabilities?status=all&cve=CVE-2024-0002", []string{curl}},
		{"lists no suppressed ones when none is", "/console/vulnerabilities?status=suppressed", []string{}},
		{"never lists another organization's", "/console/vulnerabilities?status=all&cve=CVE-2099-9999", []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get(tt.path)
			if p.status != http.StatusOK {
				t.Fatalf("status %d, want 200", p.status)
			}
			if diff := cmp.Diff(tt.want, vulnRows(p)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("shows hosts, severity and notices with links", func(t *testing.T) {
		p := b.get("/console/vulnerabilities?package=openssl")
		for _, want := range []string{
			`<a href="/console/agents/` + e.web.ID + `">web-1</a>`, `<a href="/console/agents/` + e.db.ID + `">db-1</a>`,
			`class="vsev vsev-high">high<`, `href="https://security.example.test/CVE-2024-0001"`,
			`href="/console/vulnerabilities?package=openssl"`,
		} {
			if !strings.Contains(p.body, want) {
				t.Errorf("list lacks %q", want)
			}
		}
		if strings.Contains(p.body, "b-host") {
			t.Errorf("list shows the other organization's host")
		}
	})
	t.Run("answers 404 for another organization's agent", func(t *testing.T) {
		if p := b.get("/console/vulnerabilities?agent=" + e.bHost.ID); p.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", p.status)
		}
	})
	t.Run("refuses an unknown status", func(t *testing.T) {
		if p := b.get("/console/vulnerabilities?status=maybe"); p.status != http.StatusBadRequest {
			t.Errorf("status %d, want 400", p.status)
		}
	})
}

func TestVulnerabilitiesPaging(t *testing.T) {
	e := newEnv(t, nil)
	a := e.agent(t, e.orgA.ID, "web-1", true)
	var ms []*aip.VulnMatch
	var want []string
	for i := range 52 {
		cve := fmt.Sprintf("CVE-2024-%04d", i+1000)
		ms = append(ms, vm(cve, "pkg", "low", false))
		want = append(want, cve+" pkg 1.0-1.amd64")
	}
	e.matches(t, e.orgA.ID, a.ID, ms...)
	b := e.signedIn(t, "alice@example.test", e.orgA.ID, aip.RoleReader)
	first := b.get("/console/vulnerabilities")
	next := nextLink(first)
	if next == "" {
		t.Fatal("first page has no next link")
	}
	second := b.get(next)
	if nextLink(second) != "" {
		t.Errorf("second page has a next link")
	}
	if diff := cmp.Diff(want, append(vulnRows(first), vulnRows(second)...)); diff != "" {
		t.Errorf("rows over both pages (-want +got):\n%s", diff)
	}
}

// suppressionIDs are the suppressions listed on p.
func suppressionIDs(p page) []string {
	out := []string{}
	for _, m := range regexp.MustCompile(`data-suppression="([^"]+)"`).FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestSuppress(t *testing.T) {
	e := newVulnEnv(t)
	u := e.user(t, "writer@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleUser})
	b := e.browser(t)
	b.signIn("writer@example.test", password)

	list := b.get("/console/vulnerabilities")
	if !strings.Contains(list.body, `href="/console/vulnerabilities/suppress?cve=CVE-2024-0003&amp;package=zlib"`) {
		t.Fatalf("list has no suppress link for CVE-2024-0003:\n%s", list.body)
	}
	form := b.get("/console/vulnerabilities/suppress?cve=CVE-2024-0003&package=zlib")
	if form.status != http.StatusOK || !strings.Contains(form.body, `name="cve" value="CVE-2024-0003"`) {
		t.Fatalf("suppress form: status %d, not prefilled:\n%s", form.status, form.body)
	}
	token := csrf(t, form)

	t.Run("refuses a form with mistakes", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			form url.Values
			want string
		}{
			{"no reason", url.Values{"cve": {"CVE-2024-0003"}}, "Give a reason"},
			{"a bad CVE", url.Values{"cve": {"not a cve"}, "reason": {"x"}}, "Enter a CVE number"},
			{"a past expiry", url.Values{"cve": {"CVE-2024-0003"}, "reason": {"x"}, "expires": {"2001-01-01T00:00"}}, "in the future"},
			{"another organization's agent", url.Values{"cve": {"CVE-2024-0003"}, "reason": {"x"}, "agent": {e.bHost.ID}}, "agent id of this organization"},
		} {
			tt.form.Set("csrf", token)
			p := b.post("/console/vulnerabilities/suppress", tt.form)
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, tt.want) {
				t.Errorf("%s: status %d, want 422 with %q", tt.name, p.status, tt.want)
			}
		}
		if sups, _ := e.store.ListSuppressions(t.Context(), e.orgA.ID); len(sups) != 0 {
			t.Errorf("refused forms stored %d suppressions", len(sups))
		}
	})

	var supID string
	t.Run("moves the CVE from active to suppressed", func(t *testing.T) {
		expires := e.clock.Now().Add(48 * time.Hour).Format("2006-01-02T15:04")
		p := b.post("/console/vulnerabilities/suppress", url.Values{"csrf": {token}, "cve": {"CVE-2024-0003"},
			"package": {"zlib"}, "agent": {e.db.ID}, "reason": {"not exposed"}, "expires": {expires}})
		if p.status != http.StatusOK || p.path != "/console/vulnerabilities/suppressions" {
			t.Fatalf("landed on %s with %d, want the suppressions list", p.path, p.status)
		}
		ids := suppressionIDs(p)
		if len(ids) != 1 {
			t.Fatalf("suppressions listed: %v, want one", ids)
		}
		supID = ids[0]
		sups, err := e.store.ListSuppressions(t.Context(), e.orgA.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{sups[0].CVENumber, *sups[0].Package, *sups[0].AgentID, sups[0].Reason, sups[0].CreatedBy}
		if diff := cmp.Diff([]string{"CVE-2024-0003", "zlib", e.db.ID, "not exposed", u.ID}, got); diff != "" {
			t.Errorf("stored suppression (-want +got):\n%s", diff)
		}
		if sups[0].ExpiresAt.IsZero() {
			t.Errorf("expiry not stored")
		}
		if rows := vulnRows(b.get("/console/vulnerabilities")); slices.Contains(rows, "CVE-2024-0003 zlib 1.0-1.amd64") {
			t.Errorf("active list still has the suppressed CVE: %v", rows)
		}
		if diff := cmp.Diff([]string{"CVE-2024-0003 zlib 1.0-1.amd64"}, vulnRows(b.get("/console/vulnerabilities?status=suppressed"))); diff != "" {
			t.Errorf("suppressed list (-want +got):\n%s", diff)
		}
	})
	t.Run("another organization cannot unsuppress it", func(t *testing.T) {
		other := e.signedIn(t, "bob@example.test", e.orgB.ID, aip.RoleOwner)
		p := other.get("/console/vulnerabilities/suppressions")
		if ids := suppressionIDs(p); len(ids) != 0 {
			t.Errorf("org B lists org A's suppressions %v", ids)
		}
		if p := other.post("/console/vulnerabilities/unsuppress", url.Values{"csrf": {csrf(t, p)}, "id": {supID}}); p.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", p.status)
		}
		if sups, _ := e.store.ListSuppressions(t.Context(), e.orgA.ID); len(sups) != 1 {
			t.Errorf("org A has %d suppressions, want 1", len(sups))
		}
	})
	t.Run("unsuppress moves it back to active", func(t *testing.T) {
		p := b.post("/console/vulnerabilities/unsuppress", url.Values{"csrf": {token}, "id": {supID}})
		if p.status != http.StatusOK || p.path != "/console/vulnerabilities/suppressions" {
			t.Fatalf("landed on %s with %d", p.path, p.status)
		}
		if ids := suppressionIDs(p); len(ids) != 0 {
			t.Errorf("suppressions still listed: %v", ids)
		}
		if rows := vulnRows(b.get("/console/vulnerabilities")); !slices.Contains(rows, "CVE-2024-0003 zlib 1.0-1.amd64") {
			t.Errorf("active list lacks the unsuppressed CVE: %v", rows)
		}
	})
	t.Run("audits both actions with source web", func(t *testing.T) {
		recs, err := e.store.ListAuditRecords(context.Background(), aip.AuditFilter{OrgID: e.orgA.ID, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, r := range recs {
			if r.Source == "web" && r.UserID == u.ID {
				got[r.Action+" "+r.Result]++
			}
		}
		want := map[string]int{"web-sign-in success": 1, "suppress-vulnerability failure": 4,
			"suppress-vulnerability success": 1, "unsuppress-vulnerability success": 1}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("audit records (-want +got):\n%s", diff)
		}
	})
}

func TestSuppressForbidden(t *testing.T) {
	e := newVulnEnv(t)
	sup := &aip.Suppression{OrgID: e.orgA.ID, CVENumber: "CVE-2024-0002", Reason: "accepted", CreatedBy: "someone"}
	if err := e.store.CreateSuppression(t.Context(), sup); err != nil {
		t.Fatal(err)
	}
	reader := e.signedIn(t, "reader@example.test", e.orgA.ID, aip.RoleReader)
	writer := e.signedIn(t, "writer@example.test", e.orgA.ID, aip.RoleOwner)

	t.Run("readers see no forms", func(t *testing.T) {
		for _, path := range []string{"/console/vulnerabilities", "/console/vulnerabilities/suppressions", "/console/agents/" + e.web.ID} {
			p := reader.get(path)
			if p.status != http.StatusOK {
				t.Fatalf("%s: status %d", path, p.status)
			}
			for _, bad := range []string{"/console/vulnerabilities/suppress?", "/console/vulnerabilities/unsuppress"} {
				if strings.Contains(p.body, bad) {
					t.Errorf("%s shows a reader %q", path, bad)
				}
			}
		}
	})
	t.Run("writers see them", func(t *testing.T) {
		if p := writer.get("/console/vulnerabilities/suppressions"); !strings.Contains(p.body, `action="/console/vulnerabilities/unsuppress"`) {
			t.Errorf("the owner has no unsuppress form")
		}
	})
	token := csrf(t, reader.get("/console/vulnerabilities"))
	for _, tt := range []struct {
		name   string
		b      *browser
		method string
		path   string
		form   url.Values
	}{
		{"refuses the suppress form to a reader", reader, http.MethodGet, "/console/vulnerabilities/suppress?cve=CVE-2024-0001", nil},
		{"refuses a reader's suppress", reader, http.MethodPost, "/console/vulnerabilities/suppress",
			url.Values{"csrf": {token}, "cve": {"CVE-2024-0001"}, "reason": {"x"}}},
		{"refuses a reader's unsuppress", reader, http.MethodPost, "/console/vulnerabilities/unsuppress",
			url.Values{"csrf": {token}, "id": {sup.ID}}},
		{"refuses a suppress without CSRF token", writer, http.MethodPost, "/console/vulnerabilities/suppress",
			url.Values{"cve": {"CVE-2024-0001"}, "reason": {"x"}}},
		{"refuses an unsuppress with another session's token", writer, http.MethodPost, "/console/vulnerabilities/unsuppress",
			url.Values{"csrf": {token}, "id": {sup.ID}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var p page
			if tt.method == http.MethodGet {
				p = tt.b.get(tt.path)
			} else {
				p = tt.b.post(tt.path, tt.form)
			}
			if p.status != http.StatusForbidden {
				t.Errorf("status %d, want 403", p.status)
			}
		})
	}
	sups, err := e.store.ListSuppressions(t.Context(), e.orgA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sups) != 1 || sups[0].ID != sup.ID {
		t.Errorf("suppressions after refused posts: %d, want only the seeded one", len(sups))
	}
}
