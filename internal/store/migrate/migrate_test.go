package migrate_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/store/migrate"
	"github.com/aipsec/aip/internal/store/postgres"
	"github.com/aipsec/aip/internal/store/sqlite"
)

// targetURL returns the URL of a fresh, empty schema of the test database,
// dropped at cleanup; the tests skip without AIP_TEST_POSTGRES_URL.
func targetURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("AIP_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("AIP_TEST_POSTGRES_URL not set: PostgreSQL tests skipped")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "aipmigrate_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse AIP_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// fixture is what seed stored, for reading it back.
type fixture struct {
	org, other             *aip.Organization
	owner, reader, off     *aip.User
	agent                  *aip.Agent
	ruleset                *aip.Ruleset
	alert, dismissed       *aip.Alert
	inviteHash, deployHash []byte
	pkgs                   []aip.PackageKey
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// seed fills a SQLite database with one of every kind of record, through
// the store as aipd writes them.
func seed(t *testing.T, s aip.Store) *fixture {
	t.Helper()
	ctx := t.Context()
	f := &fixture{}
	var err error
	f.org, err = app.CreateOrganization(ctx, s, "acme")
	must(t, "CreateOrganization", err)
	f.other, err = app.CreateOrganization(ctx, s, "other")
	must(t, "CreateOrganization", err)

	f.owner = &aip.User{Email: "Owner@Example.com", DisplayName: "Owner", Enabled: true, MFAEnabled: true}
	must(t, "CreateUser", s.CreateUser(ctx, f.owner, []byte("sealed-owner-key")))
	f.reader = &aip.User{Email: "reader@example.com", DisplayName: "Reader", Enabled: true, SSOEnabled: true}
	must(t, "CreateUser", s.CreateUser(ctx, f.reader, []byte("sealed-reader-key")))
	f.off = &aip.User{Email: "off@example.com", DisplayName: "Disabled", Enabled: false}
	must(t, "CreateUser", s.CreateUser(ctx, f.off, nil))
	must(t, "TouchAuthenticated", s.TouchAuthenticated(ctx, f.owner.ID, base))
	must(t, "PutMember", s.PutMember(ctx, f.org.ID, f.owner.ID, aip.RoleOwner))
	must(t, "PutMember", s.PutMember(ctx, f.org.ID, f.reader.ID, aip.RoleReader))
	must(t, "PutMember", s.PutMember(ctx, f.org.ID, f.off.ID, aip.RoleUser))
	must(t, "PutMember", s.PutMember(ctx, f.other.ID, f.owner.ID, aip.RoleUser))

	f.inviteHash = []byte("invite-token-hash")
	must(t, "CreateInvite", s.CreateInvite(ctx, &aip.Invite{OrgID: f.org.ID, Email: "new@example.com", Role: aip.RoleUser,
		Status: aip.InviteStatusPending, InvitedBy: f.owner.ID, TokenHash: f.inviteHash, ExpiresAt: time.Now().Add(72 * time.Hour)}))
	var recs []*aip.AuditRecord
	for i := range 5 {
		recs = append(recs, &aip.AuditRecord{ID: aip.NewUUID(), OrganizationID: f.org.ID, UserID: f.owner.ID, UserEmail: f.owner.Email,
			Result: "success", CRUD: "c", Action: "CreateRule", Source: "api", Description: "created rule",
			EventTime: aip.Time{Time: base.Add(time.Duration(i) * time.Second)}, Context: json.RawMessage(`{"n":1}`)})
	}
	must(t, "CreateAuditRecords", s.CreateAuditRecords(ctx, recs))
	h := sha256.Sum256([]byte("deploy-key"))
	f.deployHash = h[:]
	must(t, "CreateDeployKey", s.CreateDeployKey(ctx, &aip.DeployKey{OrgID: f.org.ID, KeyHash: f.deployHash}))

	f.ruleset = &aip.Ruleset{OrgID: f.org.ID, Name: "custom", Description: "made for the migration"}
	must(t, "CreateRuleset", s.CreateRuleset(ctx, f.ruleset))
	// Several rules within one millisecond: only the creation order (seq
	// on PostgreSQL) tells them apart.
	for _, name := range []string{"zeta", "alpha", "mu", "beta"} {
		r := &aip.Rule{OrgID: f.org.ID, RulesetID: f.ruleset.ID, Name: name, Type: "Host", Title: name + ": {{exe}} run by {{user}}",
			SeverityOfAlerts: 2, AlertDescription: "d", AggregateFields: []string{"user", "exe"}, Enabled: name != "mu",
			Filter: `command = "` + name + `"`, Window: 600, Threshold: 2, Suppressions: []string{`user = "backup"`}}
		must(t, "CreateRule", s.CreateRule(ctx, r))
	}

	f.agent = &aip.Agent{ID: aip.NewUUID(), OrgID: f.org.ID, CreatedAt: aip.Time{Time: base}, AgentHost: aip.AgentHost{
		InstanceID: "i-0123", Version: "2.1.3c", Hostname: "web-1", AgentType: aip.AgentTypeInvestigate,
		OSVersion: "debian 12", Kernel: "6.1.0", IPAddresses: aip.IPAddresses{Private: []string{"10.0.0.1/8"}},
		Tags: []aip.Tag{{Source: "ec2", Key: "env", Value: "prod"}}, AgentModuleHealth: json.RawMessage(`{"isHealthy":true}`)}}
	must(t, "CreateAgent", s.CreateAgent(ctx, f.agent, []byte("sealed-agent"), []string{f.ruleset.ID}))

	var evs []*aip.Event
	for i := range 6 {
		at := base.Add(time.Duration(i) * time.Second)
		id := aip.NewUUID()
		evs = append(evs, &aip.Event{ID: id, AgentID: f.agent.ID, Type: "audit", Time: at,
			Raw: json.RawMessage(`{"_id":"` + id + `","event_type":"audit","command":"sudo"}`)})
	}
	_, err = s.InsertEvents(ctx, f.org.ID, evs[:4])
	must(t, "InsertEvents", err)

	must(t, "CreateWebhook", s.CreateWebhook(ctx, &aip.Webhook{OrgID: f.org.ID, URL: "https://hooks.example/a", SecretSealed: []byte("sealed-secret")}))
	f.alert = &aip.Alert{OrgID: f.org.ID, Title: "sudo run by root", DataSource: aip.DataSourceAgent,
		CreatedAt: aip.Time{Time: base.Add(time.Second)}, Severity: 2, AgentID: f.agent.ID, RuleID: "rule", RulesetID: f.ruleset.ID,
		Aggregates: []aip.Aggregate{{FieldName: "user", Value: "root"}}, ExpiresAt: aip.Time{Time: base.Add(time.Hour)}, Key: "k1"}
	must(t, "CreateAlert", s.CreateAlert(ctx, f.alert, evs[:3], []byte(`{"alerts":["a"]}`)))
	f.dismissed = &aip.Alert{OrgID: f.org.ID, Title: "other", DataSource: aip.DataSourceAgent,
		CreatedAt: aip.Time{Time: base.Add(2 * time.Second)}, Severity: 3, AgentID: f.agent.ID, RuleID: "rule2", RulesetID: f.ruleset.ID,
		ExpiresAt: aip.Time{Time: base.Add(time.Hour)}, Key: "k2"}
	must(t, "CreateAlert", s.CreateAlert(ctx, f.dismissed, evs[3:4], nil))
	_, err = s.DismissAlerts(ctx, f.org.ID, []string{f.dismissed.ID}, aip.Dismissal{Reason: "OTHER", Text: "test", By: f.owner.ID, At: base.Add(time.Minute)})
	must(t, "DismissAlerts", err)

	w := &aip.AlertWindow{Key: "r-a-1", AlertID: f.alert.ID, WindowStart: base, WindowEnd: base.Add(time.Hour), Count: 2,
		FirstEventAt: base, LastEventAt: base.Add(time.Minute), Alerting: true,
		Pending: []aip.EventRef{{ID: "e1", Time: base}}}
	_, err = s.IngestEvents(ctx, f.org.ID, evs[4:], func(context.Context, []*aip.Event, *aip.EvalState) (*aip.Evaluation, error) {
		return &aip.Evaluation{Windows: []*aip.AlertWindow{w}}, nil
	})
	must(t, "IngestEvents", err)

	_, err = s.PutInventory(ctx, &aip.Inventory{OrgID: f.org.ID, AgentID: f.agent.ID, Ecosystem: aip.EcosystemDeb, Distro: "debian",
		Release: "12", Packages: []aip.InstalledPackage{{Name: "openssl", Version: "1.0-1"}, {Name: "zlib", Version: "1.2"}}})
	must(t, "PutInventory", err)
	f.pkgs = []aip.PackageKey{{Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: "12", Name: "openssl"}}
	_, _, err = s.UpsertAdvisories(ctx, []*aip.Advisory{{ID: "DEBIAN-CVE-2024-1", CVEs: []string{"CVE-2024-1"}, Modified: base,
		Summary: "bad", Severity: "high", VectorType: "network",
		SecurityNotices: []aip.SecurityNotice{{ID: "DSA-1", URL: "https://example.com/DSA-1"}},
		Affected: []aip.AffectedPackage{{Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: "12", Name: "openssl",
			Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "1.2-3"}}}}}})
	must(t, "UpsertAdvisories", err)
	must(t, "ReplaceVulnMatches", s.ReplaceVulnMatches(ctx, f.org.ID, f.agent.ID, []*aip.VulnMatch{
		{CVE: "CVE-2024-1", AdvisoryID: "DEBIAN-CVE-2024-1", Package: "openssl", ReportedPackage: "openssl 1.0-1",
			SystemPackage: "openssl 1.0-1.amd64", Severity: "high", VectorType: "network",
			SecurityNotices: []aip.SecurityNotice{{ID: "DSA-1", URL: "https://example.com/DSA-1"}}},
		{CVE: "CVE-2024-2", AdvisoryID: "DEBIAN-CVE-2024-2", Package: "zlib", ReportedPackage: "zlib 1.2",
			SystemPackage: "zlib 1.2.amd64", Severity: "low", VectorType: "local"},
	}, base))
	pkg := "zlib"
	must(t, "CreateSuppression", s.CreateSuppression(ctx, &aip.Suppression{OrgID: f.org.ID, CVENumber: "CVE-2024-2", Package: &pkg,
		Reason: "not reachable", CreatedBy: f.owner.ID, CreatedAt: aip.Time{Time: base}}))
	_, err = s.PutEC2Instances(ctx, f.org.ID, []*aip.EC2Instance{
		{ID: "i-0123", KernelID: "k", InstanceType: "t3.micro", Region: "eu-west-1", LaunchTime: aip.Time{Time: base}},
		{ID: "i-0456", InstanceType: "m5.large", Region: "eu-west-1", LaunchTime: aip.Time{Time: base}},
	})
	must(t, "PutEC2Instances", err)
	return f
}

// view is everything the test reads back from a store, to compare the
// source with the target.
type view struct {
	Org                  *aip.Organization
	OwnerCreds           *aip.Credentials
	ReaderCreds          *aip.Credentials
	Disabled             *aip.User
	Members              []*aip.Member
	Invite               *aip.Invite
	Audit                []*aip.AuditRecord
	DeployKey            *aip.DeployKey
	Agents               []*aip.Agent
	Rulesets             []*aip.Ruleset
	BaseRules, Rules     []*aip.Rule
	Active, Dismissed    []*aip.Alert
	AlertEvents          []*aip.Event
	Windows              []*aip.AlertWindow
	Webhooks             []*aip.Webhook
	Inventory            *aip.Inventory
	Advisories           []*aip.Advisory
	Vulns, AllVulns      []*aip.Vulnerability
	Suppressions         []*aip.Suppression
	EC2                  []*aip.EC2Instance
	Generations          [2]int64 // EvalState.Generation, RulesGeneration
	Organizations, Owner int
}

func read(t *testing.T, s aip.Store, f *fixture) view {
	t.Helper()
	ctx := t.Context()
	var v view
	var err error
	v.Org, err = s.FindOrganizationByID(ctx, f.org.ID)
	must(t, "FindOrganizationByID", err)
	v.Organizations, err = s.CountOrganizations(ctx)
	must(t, "CountOrganizations", err)
	v.OwnerCreds, err = s.FindCredentials(ctx, f.owner.ID, f.org.ID)
	must(t, "FindCredentials", err)
	v.ReaderCreds, err = s.FindCredentials(ctx, f.reader.ID, f.org.ID)
	must(t, "FindCredentials", err)
	v.Disabled, err = s.FindUserByEmail(ctx, "OFF@example.com")
	must(t, "FindUserByEmail", err)
	v.Members, err = s.ListMembers(ctx, f.org.ID, false)
	must(t, "ListMembers", err)
	v.Owner, err = s.CountOwners(ctx, f.org.ID)
	must(t, "CountOwners", err)
	v.Invite, err = s.FindPendingInvite(ctx, f.inviteHash)
	must(t, "FindPendingInvite", err)
	v.Audit, err = s.ListAuditRecords(ctx, aip.AuditFilter{OrgID: f.org.ID, Limit: 100})
	must(t, "ListAuditRecords", err)
	v.DeployKey, err = s.FindDeployKey(ctx, f.deployHash)
	must(t, "FindDeployKey", err)
	v.Agents, err = s.ListAgents(ctx, aip.AgentFilter{OrgID: f.org.ID, Limit: 100})
	must(t, "ListAgents", err)
	v.Rulesets, err = s.ListRulesets(ctx, f.org.ID, "")
	must(t, "ListRulesets", err)
	for _, rs := range v.Rulesets {
		if rs.ID != f.ruleset.ID {
			v.BaseRules, err = s.ListRules(ctx, f.org.ID, rs.ID)
			must(t, "ListRules", err)
		}
	}
	v.Rules, err = s.ListRules(ctx, f.org.ID, f.ruleset.ID)
	must(t, "ListRules", err)
	v.Active, err = s.ListAlerts(ctx, aip.AlertFilter{OrgID: f.org.ID, Status: aip.AlertActive, Limit: 100})
	must(t, "ListAlerts", err)
	v.Dismissed, err = s.ListAlerts(ctx, aip.AlertFilter{OrgID: f.org.ID, Status: aip.AlertDismissed, Limit: 100})
	must(t, "ListAlerts", err)
	v.AlertEvents, err = s.ListAlertEvents(ctx, f.org.ID, f.alert.ID, nil, 100)
	must(t, "ListAlertEvents", err)
	v.Windows, err = s.ListAlertWindows(ctx, f.org.ID, base.Add(-time.Hour))
	must(t, "ListAlertWindows", err)
	v.Webhooks, err = s.ListWebhooks(ctx, f.org.ID)
	must(t, "ListWebhooks", err)
	v.Inventory, err = s.FindInventory(ctx, f.org.ID, f.agent.ID)
	must(t, "FindInventory", err)
	v.Advisories, err = s.AffectedFor(ctx, f.pkgs)
	must(t, "AffectedFor", err)
	now := base.Add(time.Hour)
	v.Vulns, err = s.ListVulnerabilities(ctx, aip.VulnFilter{OrgID: f.org.ID, Status: aip.VulnActive, Limit: 100, Now: now})
	must(t, "ListVulnerabilities", err)
	v.AllVulns, err = s.ListVulnerabilities(ctx, aip.VulnFilter{OrgID: f.org.ID, Status: aip.VulnSuppressed, Limit: 100, Now: now})
	must(t, "ListVulnerabilities", err)
	v.Suppressions, err = s.ListSuppressions(ctx, f.org.ID)
	must(t, "ListSuppressions", err)
	v.EC2, err = s.ListEC2Instances(ctx, f.org.ID)
	must(t, "ListEC2Instances", err)
	// The evaluation state as IngestEvents hands it over: its generations
	// must survive the copy, not be bumped by the target's triggers.
	_, err = s.IngestEvents(ctx, f.org.ID, []*aip.Event{{ID: "probe-" + aip.NewUUID(), AgentID: f.agent.ID, Type: "audit",
		Time: base.Add(-48 * time.Hour), Raw: json.RawMessage(`{}`)}},
		func(_ context.Context, _ []*aip.Event, st *aip.EvalState) (*aip.Evaluation, error) {
			v.Generations = [2]int64{st.Generation, st.RulesGeneration}
			return nil, errors.New("probe only")
		})
	if err == nil {
		t.Fatal("IngestEvents probe committed")
	}
	return v
}

func TestCopy(t *testing.T) {
	target := targetURL(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "aip.db")
	src, err := sqlite.Open(ctx, path)
	must(t, "sqlite.Open", err)
	f := seed(t, src)
	want := read(t, src, f)
	must(t, "close source", src.Close())

	var progress []string
	rep, err := migrate.Copy(ctx, path, target, func(table string, rows int64) { progress = append(progress, table) })
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}

	t.Run("reports every table in order with its rows", func(t *testing.T) {
		if diff := cmp.Diff(migrate.Order, progress); diff != "" {
			t.Errorf("progress tables mismatch (-want +got):\n%s", diff)
		}
		got := map[string]int64{}
		for _, tc := range rep.Tables {
			got[tc.Table] = tc.Rows
		}
		for table, n := range map[string]int64{"organizations": 2, "users": 3, "memberships": 4, "invites": 1,
			"audit_records": 5, "deploy_keys": 1, "agents": 1, "rules": 2*int64(len(want.BaseRules)) + 4, "events": 6,
			"alerts": 2, "alert_events": 4, "webhooks": 1, "webhook_deliveries": 1, "alert_windows": 1,
			"inventories": 1, "inventory_packages": 2, "advisories": 1, "vuln_matches": 2, "vuln_suppressions": 1,
			"ec2_instances": 2, "vulndb_state": 1} {
			if got[table] != n {
				t.Errorf("%s: copied %d rows, want %d", table, got[table], n)
			}
		}
	})

	t.Run("target reads back what the source held", func(t *testing.T) {
		dst, err := postgres.Open(ctx, target)
		must(t, "postgres.Open", err)
		defer dst.Close()
		got := read(t, dst, f)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(view{})); diff != "" {
			t.Errorf("target differs from source (-source +target):\n%s", diff)
		}
		if len(got.Rules) != 4 || len(got.BaseRules) == 0 || len(got.AlertEvents) != 3 || len(got.Vulns) != 1 || got.OwnerCreds.Role != aip.RoleOwner {
			t.Errorf("fixture not read back in full: %d rules, %d base rules, %d alert events, %d vulns, role %q",
				len(got.Rules), len(got.BaseRules), len(got.AlertEvents), len(got.Vulns), got.OwnerCreds.Role)
		}
	})

	t.Run("refuses a target that holds data", func(t *testing.T) {
		_, err := migrate.Copy(ctx, path, target, nil)
		if !errors.Is(err, migrate.ErrTargetNotEmpty) {
			t.Fatalf("second Copy: err = %v, want ErrTargetNotEmpty", err)
		}
	})
}

func TestCopyRejectsMissingSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aip.db")
	_, err := migrate.Copy(t.Context(), path, "postgres://127.0.0.1:1/none", nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Copy: err = %v, want ErrNotExist", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("Copy created the missing source database: stat err = %v", statErr)
	}
}

// TestOrderCoversSchema fails when a migration adds a table that Order
// does not place: it would otherwise be refused at migration time.
func TestOrderCoversSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aip.db")
	s, err := sqlite.Open(t.Context(), path)
	must(t, "sqlite.Open", err)
	must(t, "close", s.Close())
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	must(t, "open", err)
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name != 'goose_db_version' ORDER BY name`)
	must(t, "list tables", err)
	defer rows.Close()
	var got []string
	for rows.Next() {
		var n string
		must(t, "scan", rows.Scan(&n))
		got = append(got, n)
	}
	must(t, "rows", rows.Err())
	want := slices.Sorted(slices.Values(migrate.Order))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("migrate.Order does not match the SQLite tables (-order +schema):\n%s", diff)
	}
}

func TestCopyFailureLeavesTargetEmpty(t *testing.T) {
	target := targetURL(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "aip.db")
	src, err := sqlite.Open(ctx, path)
	must(t, "sqlite.Open", err)
	seed(t, src)
	must(t, "close source", src.Close())
	// A NUL character is valid SQLite text but not PostgreSQL text: the
	// copy fails at events, after organizations and rules went in.
	raw, err := sql.Open("sqlite", "file:"+path)
	must(t, "open source", err)
	_, err = raw.ExecContext(ctx, `UPDATE events SET body = 'a' || char(0) || 'b' WHERE rowid = (SELECT min(rowid) FROM events)`)
	must(t, "corrupt an event", err)
	must(t, "close raw source", raw.Close())

	if _, err := migrate.Copy(ctx, path, target, nil); err == nil || !strings.Contains(err.Error(), "copy events") {
		t.Fatalf("Copy: err = %v, want a failure copying events", err)
	}
	dst, err := postgres.Open(ctx, target)
	must(t, "postgres.Open", err)
	defer dst.Close()
	n, err := dst.CountOrganizations(ctx)
	must(t, "CountOrganizations", err)
	if n != 0 {
		t.Errorf("target holds %d organizations after a failed copy, want 0", n)
	}
}
