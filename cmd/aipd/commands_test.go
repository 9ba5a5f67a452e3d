package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/rules"
)

var (
	orgLine  = regexp.MustCompile(`^ORG_ID=[0-9a-f]{24}$`)
	userLine = regexp.MustCompile(`^USER_ID=[0-9a-f]{24}$`)
	keyLine  = regexp.MustCompile(`^API_KEY=[0-9A-Za-z]{40}$`)
)

// syncBuffer is a bytes.Buffer that a running command may write while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// aipd runs the command line args in-process and returns its output lines.
func aipd(t *testing.T, args ...string) ([]string, error) {
	t.Helper()
	return aipdContext(context.Background(), t, args...)
}

func aipdContext(ctx context.Context, t *testing.T, args ...string) ([]string, error) {
	t.Helper()
	var stdout, stderr syncBuffer
	root := newRootCommand(&stdout, &stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	out := strings.TrimSpace(stdout.String())
	if out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), err
}

// mustAipd is aipd for commands that must succeed.
func mustAipd(t *testing.T, args ...string) []string {
	t.Helper()
	lines, err := aipd(t, args...)
	if err != nil {
		t.Fatalf("aipd %s: %v", strings.Join(args, " "), err)
	}
	return lines
}

// value returns the value of KEY in KEY=value lines.
func value(t *testing.T, lines []string, key string) string {
	t.Helper()
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	t.Fatalf("no %s= line in %q", key, lines)
	return ""
}

// dataDir returns a data dir set up by a first start, and what it created.
func dataDir(t *testing.T) (string, *app.Bootstrap) {
	t.Helper()
	dir := t.TempDir()
	m := &app.Main{Config: app.Config{Addr: "127.0.0.1:0", DataDir: dir}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("first start: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close first start: %v", err)
	}
	return dir, m.Bootstrap
}

// openStore opens the data dir as a second process would, to check what
// the commands stored.
func openStore(t *testing.T, dir string) (aip.Store, *keyring.Keyring) {
	t.Helper()
	db, kr, err := app.OpenDataDir(context.Background(), app.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, kr
}

// storedKey decrypts the API key stored for userID.
func storedKey(t *testing.T, dir, userID, orgID string) (string, aip.Role) {
	t.Helper()
	db, kr := openStore(t, dir)
	c, err := db.FindCredentials(context.Background(), userID, orgID)
	if err != nil {
		t.Fatalf("find credentials of %s: %v", userID, err)
	}
	key, err := kr.Open(userID, c.EncryptedKey)
	if err != nil {
		t.Fatalf("open key of %s: %v", userID, err)
	}
	return key, c.Role
}

func TestAdminOrgCreate(t *testing.T) {
	dir, _ := dataDir(t)
	t.Run("prints the new organization id", func(t *testing.T) {
		lines := mustAipd(t, "admin", "--data", dir, "org", "create", "--name", "Blue Team")
		if len(lines) != 1 || !orgLine.MatchString(lines[0]) {
			t.Fatalf("output %q, want one ORG_ID=<24 hex> line", lines)
		}
		db, _ := openStore(t, dir)
		o, err := db.FindOrganizationByID(context.Background(), value(t, lines, "ORG_ID"))
		if err != nil || o.Name != "Blue Team" {
			t.Errorf("stored organization = %+v, %v; want Blue Team", o, err)
		}
		sets, err := db.ListRulesets(context.Background(), o.ID, "")
		if err != nil || len(sets) != 1 || sets[0].Name != rules.BaseRuleSetName || len(sets[0].Rules) != len(rules.BaseRules()) {
			t.Errorf("rulesets of the new organization = %+v, %v; want the Base Rule Set with %d rules", sets, err, len(rules.BaseRules()))
		}
	})
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"rejects a missing name", []string{"admin", "--data", dir, "org", "create"}},
		{"rejects a blank name", []string{"admin", "--data", dir, "org", "create", "--name", "  "}},
		{"rejects extra arguments", []string{"admin", "--data", dir, "org", "create", "--name", "x", "extra"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if lines, err := aipd(t, tt.args...); err == nil || len(lines) != 0 {
				t.Errorf("output %q, error %v; want an error and no output", lines, err)
			}
		})
	}
}

func TestAdminUserCreate(t *testing.T) {
	dir, b := dataDir(t)
	t.Run("prints the user id and its key", func(t *testing.T) {
		lines := mustAipd(t, "admin", "--data", dir, "user", "create", "--org", b.OrgID, "--email", "reader@example.test", "--role", "reader")
		if len(lines) != 2 || !userLine.MatchString(lines[0]) || !keyLine.MatchString(lines[1]) {
			t.Fatalf("output %q, want USER_ID= and API_KEY= lines", lines)
		}
		key, role := storedKey(t, dir, value(t, lines, "USER_ID"), b.OrgID)
		if key != value(t, lines, "API_KEY") || role != aip.RoleReader {
			t.Errorf("stored key matches: %v, role %q; want the printed key and reader", key == value(t, lines, "API_KEY"), role)
		}
	})
	for _, tt := range []struct {
		name string
		args []string
		want string // part of the error
	}{
		{"rejects an unknown role", []string{"--org", b.OrgID, "--email", "x1@example.test", "--role", "admin"}, "--role"},
		{"rejects an address that is no email", []string{"--org", b.OrgID, "--email", "nobody", "--role", "user"}, "--email"},
		{"rejects an address with a name", []string{"--org", b.OrgID, "--email", "Bob <bob@example.test>", "--role", "user"}, "--email"},
		{"rejects an address with a line break", []string{"--org", b.OrgID, "--email", "bob@example.test\r\nx", "--role", "user"}, "--email"},
		{"rejects an unknown organization", []string{"--org", aip.NewID24(), "--email", "x2@example.test"}, "organization"},
		{"rejects a missing organization", []string{"--email", "x3@example.test"}, "org"},
		{"rejects a missing email", []string{"--org", b.OrgID}, "email"},
		{"rejects a taken email", []string{"--org", b.OrgID, "--email", "owner@localhost"}, "owner@localhost"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := aipd(t, append([]string{"admin", "--data", dir, "user", "create"}, tt.args...)...)
			if err == nil || len(lines) != 0 {
				t.Fatalf("output %q, error %v; want an error and no output", lines, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestAdminMemberAdd(t *testing.T) {
	dir, b := dataDir(t)
	org2 := value(t, mustAipd(t, "admin", "--data", dir, "org", "create", "--name", "Red Team"), "ORG_ID")

	t.Run("adds the user with the role", func(t *testing.T) {
		lines := mustAipd(t, "admin", "--data", dir, "member", "add", "--org", org2, "--user", b.UserID, "--role", "reader")
		want := []string{"ORG_ID=" + org2, "USER_ID=" + b.UserID, "ROLE=reader"}
		if diff := cmp.Diff(want, lines); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
		db, _ := openStore(t, dir)
		m, err := db.FindMember(context.Background(), org2, b.UserID)
		if err != nil || m.Role != aip.RoleReader {
			t.Errorf("membership = %+v, %v; want reader", m, err)
		}
	})
	t.Run("changes the role of a member", func(t *testing.T) {
		mustAipd(t, "admin", "--data", dir, "member", "add", "--org", org2, "--user", b.UserID, "--role", "owner")
		db, _ := openStore(t, dir)
		m, err := db.FindMember(context.Background(), org2, b.UserID)
		if err != nil || m.Role != aip.RoleOwner {
			t.Errorf("membership = %+v, %v; want owner", m, err)
		}
	})
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"rejects an unknown role", []string{"--org", org2, "--user", b.UserID, "--role", "root"}},
		{"rejects an unknown user", []string{"--org", org2, "--user", aip.NewID24(), "--role", "user"}},
		{"rejects an unknown organization", []string{"--org", aip.NewID24(), "--user", b.UserID, "--role", "user"}},
		{"rejects a missing user", []string{"--org", org2, "--role", "user"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if lines, err := aipd(t, append([]string{"admin", "--data", dir, "member", "add"}, tt.args...)...); err == nil || len(lines) != 0 {
				t.Errorf("output %q, error %v; want an error and no output", lines, err)
			}
		})
	}
}

func TestAdminKeyRotate(t *testing.T) {
	dir, b := dataDir(t)
	t.Run("prints and stores a new key", func(t *testing.T) {
		lines := mustAipd(t, "admin", "--data", dir, "key", "rotate", "--user", b.UserID)
		if len(lines) != 1 || !keyLine.MatchString(lines[0]) {
			t.Fatalf("output %q, want one API_KEY= line", lines)
		}
		newKey := value(t, lines, "API_KEY")
		if newKey == b.APIKey {
			t.Fatal("the rotated key equals the old one")
		}
		if stored, _ := storedKey(t, dir, b.UserID, b.OrgID); stored != newKey {
			t.Error("the stored key is not the printed one")
		}
	})
	t.Run("rejects an unknown user", func(t *testing.T) {
		if lines, err := aipd(t, "admin", "--data", dir, "key", "rotate", "--user", aip.NewID24()); err == nil || len(lines) != 0 {
			t.Errorf("output %q, error %v; want an error and no output", lines, err)
		}
	})
	t.Run("rejects a missing user", func(t *testing.T) {
		if _, err := aipd(t, "admin", "--data", dir, "key", "rotate"); err == nil {
			t.Error("succeeded without --user")
		}
	})
}

func TestAdminRefusesDataDirWithoutDatabase(t *testing.T) {
	tests := []struct {
		name string
		dir  string
	}{
		{"rejects an empty data dir", t.TempDir()},
		{"rejects a data dir that does not exist", filepath.Join(t.TempDir(), "typo")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := aipd(t, "admin", "--data", tt.dir, "org", "create", "--name", "x")
			if err == nil || !strings.Contains(err.Error(), "no database") {
				t.Fatalf("error %v, want one saying there is no database", err)
			}
			entries, _ := os.ReadDir(tt.dir)
			if len(entries) != 0 {
				t.Errorf("the command created %d files in %s", len(entries), tt.dir)
			}
		})
	}
}

func TestGroupCommandsRejectUnknownSubcommands(t *testing.T) {
	dir, _ := dataDir(t)
	for _, args := range [][]string{
		{"admin"},
		{"admin", "--data", dir, "org"},
		{"admin", "--data", dir, "org", "delete", "--name", "x"},
		{"admin", "--data", dir, "orgs", "create"},
		{"admin", "--data", dir, "key", "revoke"},
	} {
		t.Run("rejects "+strings.Join(args, " "), func(t *testing.T) {
			if _, err := aipd(t, args...); err == nil {
				t.Error("succeeded, want an error")
			}
		})
	}
}

func TestAdminTakesDataDirFromEnvironment(t *testing.T) {
	dir, _ := dataDir(t)
	t.Setenv("AIP_DATA", dir)
	lines := mustAipd(t, "admin", "org", "create", "--name", "From Env")
	db, _ := openStore(t, dir)
	if _, err := db.FindOrganizationByID(context.Background(), value(t, lines, "ORG_ID")); err != nil {
		t.Errorf("organization not stored in $AIP_DATA: %v", err)
	}
}

func TestServeChecksEnvironment(t *testing.T) {
	tests := []struct {
		name, env, value string
		args             []string
		want             string
	}{
		{"rejects a rate limit that is no integer", "AIP_ORG_RATE_LIMIT", "lots", nil, "AIP_ORG_RATE_LIMIT"},
		{"rejects a lockout that is no duration", "AIP_IP_LOCKOUT", "15", nil, "AIP_IP_LOCKOUT"},
		{"rejects a shutdown timeout that is no duration", "AIP_SHUTDOWN_TIMEOUT", "soon", nil, "AIP_SHUTDOWN_TIMEOUT"},
		{"rejects an agent silence that is no duration", "AIP_AGENT_OFFLINE_AFTER", "5", nil, "AIP_AGENT_OFFLINE_AFTER"},
		{"rejects an event retention that is no duration", "AIP_EVENT_RETENTION", "3d", nil, "AIP_EVENT_RETENTION"},
		{"rejects a negative event retention", "AIP_EVENT_RETENTION", "-1h", nil, "--event-retention"},
		{"rejects a demo switch that is no boolean", "AIP_DEMO", "please", nil, "AIP_DEMO"},
		// The flag overrides the bad variable: the next check, the log
		// level, is the one that fails.
		{"ignores a bad variable whose flag is set", "AIP_ORG_RATE_LIMIT", "lots", []string{"--org-rate-limit", "5"}, "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			args := append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--log-level", "loud"}, tt.args...)
			_, err := aipd(t, args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestServeHelpHidesSMTPPassword(t *testing.T) {
	const secret = "hunter2-very-secret"
	t.Setenv("AIP_SMTP_PASSWORD", secret)
	var stdout, stderr syncBuffer
	root := newRootCommand(&stdout, &stderr)
	root.SetArgs([]string{"serve", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if out := stdout.String() + stderr.String(); !strings.Contains(out, "--smtp-password") || strings.Contains(out, secret) {
		t.Errorf("help shows the password or lacks the flag:\n%s", out)
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"accepts nothing", "", nil},
		{"accepts CIDRs", "10.0.0.0/8, 192.168.1.0/24", []string{"10.0.0.0/8", "192.168.1.0/24"}},
		{"masks host bits", "10.1.2.3/8", []string{"10.0.0.0/8"}},
		{"turns bare addresses into single hosts", "127.0.0.1,::1", []string{"127.0.0.1/32", "::1/128"}},
		{"accepts IPv6 CIDRs", "fd00::/8", []string{"fd00::/8"}},
		{"unmaps IPv4-mapped IPv6", "::ffff:10.0.0.1,::ffff:10.0.0.0/104", []string{"10.0.0.1/32", "10.0.0.0/8"}},
		{"skips empty parts", " ,10.0.0.1,, ", []string{"10.0.0.1/32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePrefixes(tt.in)
			if err != nil {
				t.Fatalf("parsePrefixes(%q): %v", tt.in, err)
			}
			var gotS []string
			for _, p := range got {
				gotS = append(gotS, p.String())
			}
			if diff := cmp.Diff(tt.want, gotS); diff != "" {
				t.Errorf("parsePrefixes(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
	for _, junk := range []string{"junk", "10.0.0.0/33", "10.0.0", "10.0.0.1/8/8", "fe80::1%eth0", "10.0.0.1 10.0.0.2", "example.com"} {
		t.Run("rejects "+junk, func(t *testing.T) {
			if got, err := parsePrefixes(junk); err == nil || !strings.Contains(err.Error(), "--trusted-proxies") {
				t.Errorf("parsePrefixes(%q) = %v, %v; want an error naming the flag", junk, got, err)
			}
		})
	}
	t.Run("serve rejects junk", func(t *testing.T) {
		_, err := aipd(t, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--trusted-proxies", "10.0.0.0/8,junk")
		if err == nil || !strings.Contains(err.Error(), `"junk"`) {
			t.Errorf("error %v, want one quoting the junk", err)
		}
	})
	// The parsed prefixes contain what an operator means by them.
	if ps, _ := parsePrefixes("::ffff:10.0.0.0/104"); len(ps) != 1 || !ps[0].Contains(netip.MustParseAddr("10.1.2.3")) {
		t.Errorf("the unmapped prefix %v does not contain 10.1.2.3", ps)
	}
}

func TestAdminDeployKeyCreate(t *testing.T) {
	dir, b := dataDir(t)
	t.Run("prints a key whose hash is stored for the organization", func(t *testing.T) {
		lines := mustAipd(t, "admin", "--data", dir, "deploykey", "create", "--org", b.OrgID)
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "DEPLOY_KEY=") {
			t.Fatalf("output %q, want one DEPLOY_KEY= line", lines)
		}
		key := value(t, lines, "DEPLOY_KEY")
		db, _ := openStore(t, dir)
		sum := sha256.Sum256([]byte(key))
		dk, err := db.FindDeployKey(context.Background(), sum[:])
		if err != nil {
			t.Fatalf("find deploy key: %v", err)
		}
		if dk.OrgID != b.OrgID {
			t.Errorf("deploy key of organization %s, want %s", dk.OrgID, b.OrgID)
		}
	})
	t.Run("rejects an unknown organization", func(t *testing.T) {
		if lines, err := aipd(t, "admin", "--data", dir, "deploykey", "create", "--org", aip.NewID24()); err == nil || len(lines) != 0 {
			t.Errorf("output %q, error %v; want an error and no output", lines, err)
		}
	})
	t.Run("rejects a missing organization", func(t *testing.T) {
		if _, err := aipd(t, "admin", "--data", dir, "deploykey", "create"); err == nil {
			t.Error("succeeded without --org")
		}
	})
}

func TestAdminAgentRevoke(t *testing.T) {
	dir, b := dataDir(t)
	ctx := context.Background()
	db, _ := openStore(t, dir)
	ag := &aip.Agent{ID: aip.NewUUID(), OrgID: b.OrgID, AgentHost: aip.AgentHost{Hostname: "web-1", AgentType: aip.AgentTypeMonitor}}
	if err := db.CreateAgent(ctx, ag, []byte("sealed"), nil); err != nil {
		t.Fatalf("create agent: %v", err)
	}
	t.Run("rejects an agent of another organization", func(t *testing.T) {
		if _, err := aipd(t, "admin", "--data", dir, "agent", "revoke", "--org", aip.NewID24(), "--agent", ag.ID); err == nil {
			t.Error("revoked through another organization")
		}
		if _, err := db.FindAgentCredentials(ctx, ag.ID); err != nil {
			t.Errorf("credentials gone after a refused revoke: %v", err)
		}
	})
	t.Run("stops the agent's key", func(t *testing.T) {
		lines := mustAipd(t, "admin", "--data", dir, "agent", "revoke", "--org", b.OrgID, "--agent", ag.ID)
		if got := value(t, lines, "AGENT_ID"); got != ag.ID {
			t.Errorf("AGENT_ID=%s, want %s", got, ag.ID)
		}
		if _, err := db.FindAgentCredentials(ctx, ag.ID); aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Errorf("credentials after revoke: %v, want ENOTFOUND", err)
		}
	})
	t.Run("rejects missing flags", func(t *testing.T) {
		if _, err := aipd(t, "admin", "--data", dir, "agent", "revoke", "--org", b.OrgID); err == nil {
			t.Error("succeeded without --agent")
		}
	})
}
