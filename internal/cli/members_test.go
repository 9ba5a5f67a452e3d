package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	aipd "github.com/aipsec/aip/internal/app"
)

// lockedBuffer is a bytes.Buffer the server may log into from several
// goroutines while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newLoggingTestServer is newTestServer with the server's JSON log kept:
// without SMTP the server logs invite tokens, which is the only way a test
// can learn one.
func newLoggingTestServer(t *testing.T) (*testServer, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	m := &aipd.Main{
		Config: aipd.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0"},
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Stdout: io.Discard,
	}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open server: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	env, err := readEnvFile(m.Config.CredentialsPath())
	if err != nil {
		t.Fatalf("read credentials: %v", err)
	}
	return &testServer{main: m, env: env}, logs
}

// inviteToken returns the token of the last invite logged for email.
func inviteToken(t *testing.T, logs *lockedBuffer, email string) string {
	t.Helper()
	var token string
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		if tok, ok := rec["invite_token"].(string); ok && strings.Contains(sc.Text(), email) {
			token = tok
		}
	}
	if token == "" {
		t.Fatalf("no invite token for %s in the server log", email)
	}
	return token
}

// TestMembersAndInvitesCommands walks one story in order: the owner
// invites a reader, who accepts and gets credentials, is refused adding
// members, is removed and added back by the owner.
func TestMembersAndInvitesCommands(t *testing.T) {
	ts, logs := newLoggingTestServer(t)
	const email = "bob@example.com"
	// bob is filled by the accept step with the TS_* lines it prints.
	bob := map[string]string{}
	owner := ts.env
	unknownUser := "0123456789abcdef01234567"

	members := func(t *testing.T, stdout string) []aip.Member {
		t.Helper()
		var got []aip.Member
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("decode %q: %v", stdout, err)
		}
		return got
	}
	roleOf := func(ms []aip.Member, id string) aip.Role {
		for _, m := range ms {
			if m.ID == id {
				return m.Role
			}
		}
		return ""
	}

	steps := []struct {
		name     string
		env      map[string]string
		args     func() []string
		wantCode int
		check    func(t *testing.T, stdout, stderr string)
	}{
		{
			name: "owner invites bob as reader and prints the answer",
			env:  owner, wantCode: ExitOK,
			args: func() []string { return []string{"invites", "send", email, "--role", "reader", "--json"} },
			check: func(t *testing.T, stdout, _ string) {
				var got map[string]string
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatalf("decode %q: %v", stdout, err)
				}
				want := map[string]string{"sentToEmail": email, "role": "reader", "status": "pending"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("invite (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "invite with a bad role is a usage error",
			env:  owner, wantCode: ExitUsage,
			args: func() []string { return []string{"invites", "send", email, "--role", "admin"} },
		},
		{
			name: "accept without a name is a usage error",
			env:  map[string]string{envEndpoint: owner[envEndpoint]}, wantCode: ExitUsage,
			args: func() []string { return []string{"invites", "accept", "sometoken"} },
		},
		{
			name: "bob accepts with only the endpoint and gets TS_* lines",
			env:  map[string]string{envEndpoint: owner[envEndpoint]}, wantCode: ExitOK,
			args: func() []string {
				return []string{"invites", "accept", inviteToken(t, logs, email), "--name", "Bob"}
			},
			check: func(t *testing.T, stdout, _ string) {
				var keys []string
				for line := range strings.Lines(stdout) {
					k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
					keys = append(keys, k)
					bob[k] = v
				}
				want := []string{envEndpoint, envUserID, envAPIKey, envOrgID}
				if diff := cmp.Diff(want, keys); diff != "" {
					t.Errorf("printed keys (-want +got):\n%s", diff)
				}
				if bob[envOrgID] != owner[envOrgID] || bob[envEndpoint] != owner[envEndpoint] || bob[envAPIKey] == "" {
					t.Errorf("credentials %v do not match the owner's organization and endpoint", bob)
				}
			},
		},
		{
			name: "a used invite token is not found",
			env:  map[string]string{envEndpoint: owner[envEndpoint]}, wantCode: ExitNotFound,
			args: func() []string {
				return []string{"invites", "accept", inviteToken(t, logs, email), "--name", "Bob"}
			},
		},
		{
			name: "bob's credentials work and list him as reader",
			env:  bob, wantCode: ExitOK,
			args: func() []string { return []string{"members", "list", "--json"} },
			check: func(t *testing.T, stdout, _ string) {
				ms := members(t, stdout)
				if got := roleOf(ms, bob[envUserID]); got != aip.RoleReader {
					t.Errorf("bob's role = %q, want reader", got)
				}
				if got := roleOf(ms, owner[envUserID]); got != aip.RoleOwner {
					t.Errorf("owner's role = %q, want owner", got)
				}
			},
		},
		{
			name: "enabled-only tsv lists both members without header",
			env:  owner, wantCode: ExitOK,
			args: func() []string { return []string{"members", "list", "--enabled-only"} },
			check: func(t *testing.T, stdout, _ string) {
				lines := strings.Split(strings.TrimSpace(stdout), "\n")
				if len(lines) != 2 || !strings.Contains(stdout, email+"\treader\ttrue") {
					t.Errorf("tsv = %q, want 2 rows with bob as enabled reader", stdout)
				}
			},
		},
		{
			name: "a reader cannot add members",
			env:  bob, wantCode: ExitAuth,
			args: func() []string { return []string{"members", "add", unknownUser, "--role", "reader"} },
		},
		{
			name: "a reader cannot remove members",
			env:  bob, wantCode: ExitAuth,
			args: func() []string { return []string{"members", "remove", owner[envUserID]} },
		},
		{
			name: "adding an existing member conflicts",
			env:  owner, wantCode: ExitError,
			args: func() []string { return []string{"members", "add", bob[envUserID], "--role", "user"} },
		},
		{
			name: "owner removes bob silently",
			env:  owner, wantCode: ExitOK,
			args: func() []string { return []string{"members", "remove", bob[envUserID]} },
			check: func(t *testing.T, stdout, _ string) {
				if stdout != "" {
					t.Errorf("stdout = %q, want nothing", stdout)
				}
			},
		},
		{
			name: "removed bob is refused",
			env:  bob, wantCode: ExitAuth,
			args: func() []string { return []string{"members", "list"} },
		},
		{
			name: "removing a non-member is not found",
			env:  owner, wantCode: ExitNotFound,
			args: func() []string { return []string{"members", "remove", bob[envUserID]} },
		},
		{
			name: "owner adds bob back as user",
			env:  owner, wantCode: ExitOK,
			args: func() []string { return []string{"members", "add", bob[envUserID], "--role", "user", "--json"} },
			check: func(t *testing.T, stdout, _ string) {
				var got aip.Member
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatalf("decode %q: %v", stdout, err)
				}
				if got.ID != bob[envUserID] || got.Role != aip.RoleUser {
					t.Errorf("added member = %s %s, want %s user", got.ID, got.Role, bob[envUserID])
				}
			},
		},
		{
			name: "adding an unknown user is not found",
			env:  owner, wantCode: ExitNotFound,
			args: func() []string { return []string{"members", "add", unknownUser, "--role", "reader"} },
		},
		{
			// The role is checked before any request: exit 2, not the
			// server's 400 (exit 1).
			name: "a bad role is a usage error",
			env:  owner, wantCode: ExitUsage,
			args: func() []string { return []string{"members", "add", bob[envUserID], "--role", "admin"} },
		},
		{
			name: "a missing role is a usage error",
			env:  owner, wantCode: ExitUsage,
			args: func() []string { return []string{"members", "add", bob[envUserID]} },
		},
		{
			name: "csv has a header",
			env:  owner, wantCode: ExitOK,
			args: func() []string { return []string{"members", "list", "--format", "csv"} },
			check: func(t *testing.T, stdout, _ string) {
				if !strings.HasPrefix(stdout, "ID,NAME,EMAIL,ROLE,ENABLED,") {
					t.Errorf("csv = %q, want the header first", stdout)
				}
			},
		},
		{
			name: "jq selects emails",
			env:  owner, wantCode: ExitOK,
			args: func() []string { return []string{"members", "list", "--jq", `.[] | select(.role == "user") | .email`} },
			check: func(t *testing.T, stdout, _ string) {
				if stdout != email+"\n" {
					t.Errorf("jq output = %q, want %q", stdout, email+"\n")
				}
			},
		},
	}
	for _, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, s.env, "", s.args()...)
			if code != s.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr: %s", code, s.wantCode, stderr)
			}
			if s.check != nil {
				s.check(t, stdout, stderr)
			}
		})
		if !ok {
			// Later steps depend on this one's state.
			t.FailNow()
		}
	}
}
