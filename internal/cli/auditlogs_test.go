package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

func TestAuditLogsCommands(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t)
	ctx := context.Background()
	// Some activity of each kind: two reads and a failed create.
	for range 2 {
		if _, _, err := c.Members.List(ctx, nil); err != nil {
			t.Fatalf("list members: %v", err)
		}
	}
	if _, _, err := c.Webhooks.Create(ctx, &client.WebhookRequest{URL: "https://hooks.example.com/x", Secret: "short"}); err == nil {
		t.Fatal("creating a webhook with a short secret succeeded, want a failure to audit")
	}
	// The audit writer is asynchronous: wait for the records.
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, _, err := c.AuditLogs.List(ctx, &client.AuditLogListOptions{Operation: "create"})
		if err != nil {
			t.Fatalf("list audit logs: %v", err)
		}
		if len(recs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no create audit record after 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	ownerID := ts.env[envUserID]

	records := func(t *testing.T, stdout string) []aip.AuditRecord {
		t.Helper()
		var got []aip.AuditRecord
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("decode %q: %v", stdout, err)
		}
		return got
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		check    func(t *testing.T, stdout string)
	}{
		{
			name: "json lists the member reads", args: []string{"auditlogs", "list", "--json"},
			check: func(t *testing.T, stdout string) {
				var n int
				for _, r := range records(t, stdout) {
					if r.Action == "read-members" {
						n++
					}
				}
				if n < 2 {
					t.Errorf("%d read-members records, want at least 2", n)
				}
			},
		},
		{
			name: "operation and limit keep one create record", args: []string{"auditlogs", "list", "--operation", "create", "--limit", "1", "--json"},
			check: func(t *testing.T, stdout string) {
				got := records(t, stdout)
				if len(got) != 1 || got[0].CRUD != "create" || got[0].Result != "failure" {
					t.Errorf("records = %+v, want one failed create", got)
				}
			},
		},
		{
			name: "by-user-id keeps the owner's records", args: []string{"auditlogs", "list", "--by-user-id", ownerID, "--json"},
			check: func(t *testing.T, stdout string) {
				got := records(t, stdout)
				if len(got) == 0 {
					t.Fatal("no records")
				}
				for _, r := range got {
					if r.UserID != ownerID {
						t.Errorf("record %s of user %s, want %s", r.ID, r.UserID, ownerID)
					}
				}
			},
		},
		{
			name: "by-user-email of nobody is empty", args: []string{"auditlogs", "list", "--by-user-email", "nobody@example.com", "--json"},
			check: func(t *testing.T, stdout string) {
				if got := records(t, stdout); len(got) != 0 {
					t.Errorf("got %d records, want none", len(got))
				}
			},
		},
		{
			name: "from tomorrow is empty", args: []string{"auditlogs", "list", "--from", tomorrow, "--until", tomorrow, "--json"},
			check: func(t *testing.T, stdout string) {
				if strings.TrimSpace(stdout) != "[]" {
					t.Errorf("stdout = %q, want []", stdout)
				}
			},
		},
		{
			name: "jsonl prints one record per line", args: []string{"auditlogs", "list", "--operation", "read", "--limit", "2", "--format", "jsonl"},
			check: func(t *testing.T, stdout string) {
				lines := strings.Split(strings.TrimSpace(stdout), "\n")
				if len(lines) != 2 {
					t.Fatalf("got %d lines, want 2: %q", len(lines), stdout)
				}
				for _, l := range lines {
					var r aip.AuditRecord
					if err := json.Unmarshal([]byte(l), &r); err != nil || r.CRUD != "read" {
						t.Errorf("line %q: crud %q, err %v; want a read record", l, r.CRUD, err)
					}
				}
			},
		},
		{
			name: "tsv rows have every column", args: []string{"auditlogs", "list", "--operation", "create"},
			check: func(t *testing.T, stdout string) {
				first, _, _ := strings.Cut(stdout, "\n")
				cols := strings.Split(first, "\t")
				if len(cols) != len(auditColumns()) || cols[3] != "create" || cols[5] != "failure" {
					t.Errorf("first row = %q, want %d columns with crud create, result failure", first, len(auditColumns()))
				}
			},
		},
		{name: "rejects an unknown operation before sending", args: []string{"auditlogs", "list", "--operation", "erase"}, wantCode: ExitUsage},
		{name: "rejects a negative limit", args: []string{"auditlogs", "list", "--limit", "-1"}, wantCode: ExitUsage},
		// The time is checked by the server: 400, exit code 1.
		{name: "server rejects a malformed time", args: []string{"auditlogs", "list", "--from", "yesterday"}, wantCode: ExitError},
		{name: "rejects arguments", args: []string{"auditlogs", "list", "extra"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := ts.run(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if tt.check != nil {
				tt.check(t, stdout)
			}
		})
	}
	t.Run("a wrong API key is refused", func(t *testing.T) {
		stdout, stderr, code := runCLI(t, withEnv(ts.env, envAPIKey, "wrong-key-"+randomHex(8)), "", "auditlogs", "list")
		if code != ExitAuth {
			t.Errorf("with a wrong key: exit code = %d, want %d; stdout %q stderr %q", code, ExitAuth, stdout, stderr)
		}
	})
}
