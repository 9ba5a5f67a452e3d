package cli

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWebhooksCommands(t *testing.T) {
	ts := newTestServer(t)
	const givenSecret = "a-secret-of-enough-length"
	// ids collects the created webhooks' ids by URL.
	ids := map[string]string{}

	tests := []struct {
		name     string
		args     func() []string
		wantCode int
		check    func(t *testing.T, stdout string)
	}{
		{
			name: "create generates and prints a secret once", args: func() []string {
				return []string{"webhooks", "create", "--url", "https://hooks.example.com/a"}
			},
			check: func(t *testing.T, stdout string) {
				lines := strings.Split(strings.TrimSpace(stdout), "\n")
				if len(lines) != 2 {
					t.Fatalf("got %q, want a row and a SECRET line", stdout)
				}
				row := strings.Split(lines[0], "\t")
				if len(row) != len(webhookColumns()) || row[1] != "https://hooks.example.com/a" {
					t.Errorf("row = %q, want the webhook with its URL", lines[0])
				}
				ids["a"] = row[0]
				secret, ok := strings.CutPrefix(lines[1], "SECRET\t")
				if _, err := hex.DecodeString(secret); !ok || err != nil || len(secret) != 64 {
					t.Errorf("secret line = %q, want SECRET and 64 hex digits", lines[1])
				}
			},
		},
		{
			name: "create with a given secret prints it in json", args: func() []string {
				return []string{"webhooks", "create", "--url", "https://hooks.example.com/b", "--secret", givenSecret, "--json"}
			},
			check: func(t *testing.T, stdout string) {
				var got struct{ ID, URL, Secret string }
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatalf("decode %q: %v", stdout, err)
				}
				if got.ID == "" || got.URL != "https://hooks.example.com/b" || got.Secret != givenSecret {
					t.Errorf("created = %+v, want an id, URL b and the given secret", got)
				}
				ids["b"] = got.ID
			},
		},
		{
			name: "list json shows both without secrets", args: func() []string { return []string{"webhooks", "list", "--json"} },
			check: func(t *testing.T, stdout string) {
				if strings.Contains(stdout, givenSecret) {
					t.Errorf("list shows the secret: %s", stdout)
				}
				var got []struct{ ID, URL string }
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatalf("decode %q: %v", stdout, err)
				}
				gotIDs := map[string]string{}
				for _, w := range got {
					gotIDs[w.URL] = w.ID
				}
				want := map[string]string{"https://hooks.example.com/a": ids["a"], "https://hooks.example.com/b": ids["b"]}
				if diff := cmp.Diff(want, gotIDs); diff != "" {
					t.Errorf("webhooks by URL (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "delete prints nothing", args: func() []string { return []string{"webhooks", "delete", ids["a"]} },
			check: func(t *testing.T, stdout string) {
				if stdout != "" {
					t.Errorf("stdout = %q, want nothing", stdout)
				}
			},
		},
		{name: "deleting it again is not found", args: func() []string { return []string{"webhooks", "delete", ids["a"]} }, wantCode: ExitNotFound},
		{
			name: "jq lists the one left", args: func() []string { return []string{"webhooks", "list", "--jq", ".[].id"} },
			check: func(t *testing.T, stdout string) {
				if stdout != ids["b"]+"\n" {
					t.Errorf("ids = %q, want %q", stdout, ids["b"]+"\n")
				}
			},
		},
		{name: "rejects a missing url", args: func() []string { return []string{"webhooks", "create"} }, wantCode: ExitUsage},
		{
			name: "rejects a short secret before sending", wantCode: ExitUsage,
			args: func() []string {
				return []string{"webhooks", "create", "--url", "https://x.example.com", "--secret", "short"}
			},
		},
		{
			// URL checks are the server's: 400, exit code 1.
			name: "server rejects a non-http url", wantCode: ExitError,
			args: func() []string { return []string{"webhooks", "create", "--url", "ftp://x.example.com/hook"} },
		},
		{name: "delete wants an id", args: func() []string { return []string{"webhooks", "delete"} }, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		ok := t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := ts.run(t, tt.args()...)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if tt.check != nil {
				tt.check(t, stdout)
			}
		})
		if !ok {
			// Later steps use the ids of earlier ones.
			t.FailNow()
		}
	}
}
