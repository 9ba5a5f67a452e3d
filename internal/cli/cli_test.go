package cli

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

func TestExitCodes(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"succeeds with server credentials", ts.env, []string{"agents", "list"}, ExitOK},
		{"refuses a bad API key with 3", withEnv(ts.env, envAPIKey, "wrong-key-wrong-key"), []string{"agents", "list"}, ExitAuth},
		{"reports an unknown agent with 4", ts.env, []string{"agents", "show", "000000000000000000000000"}, ExitNotFound},
		{"reports missing credentials with 2", map[string]string{}, []string{"agents", "list"}, ExitUsage},
		{"reports an unknown command with 2", ts.env, []string{"nope"}, ExitUsage},
		{"reports an unknown flag with 2", ts.env, []string{"agents", "list", "--nope"}, ExitUsage},
		{"reports a bad status with 2", ts.env, []string{"agents", "list", "--status", "asleep"}, ExitUsage},
		{"reports a bad format with 2", ts.env, []string{"agents", "list", "--format", "xml"}, ExitUsage},
		{"reports a bad jq expression with 2", ts.env, []string{"agents", "list", "--jq", ".["}, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, got := runCLI(t, tt.env, "", tt.args...)
			if got != tt.want {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tt.want, stderr)
			}
			if tt.want != ExitOK && !strings.HasPrefix(stderr, "aip: ") {
				t.Errorf("stderr %q, want an \"aip: \" message", stderr)
			}
		})
	}
	t.Run("names the missing variables", func(t *testing.T) {
		_, stderr, _ := runCLI(t, withEnv(ts.env, envAPIKey, ""), "", "agents", "list")
		if !strings.Contains(stderr, "TS_API_KEY") || !strings.Contains(stderr, "--api-key") {
			t.Errorf("stderr %q, want TS_API_KEY and --api-key named", stderr)
		}
	})
}

func TestAgentsListFormats(t *testing.T) {
	ts := newTestServer(t)
	a1 := ts.enrollAgent(t, "web-1")
	a2 := ts.enrollAgent(t, "database-server-2")
	// Newest enrolled first.
	ids := []string{a2.ID, a1.ID}

	t.Run("table is aligned with a header", func(t *testing.T) {
		out, stderr, code := runCLI(t, ts.env, "", "agents", "list", "--format", "table")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") {
			t.Fatalf("table:\n%s", out)
		}
		col := strings.Index(lines[0], "HOSTNAME")
		for _, l := range lines[1:] {
			if !strings.HasPrefix(l[col:], "web-1 ") && !strings.HasPrefix(l[col:], "database-server-2 ") {
				t.Errorf("line %q: hostname not at column %d", l, col)
			}
		}
	})
	t.Run("tsv when piped, without header", func(t *testing.T) {
		out, _, _ := ts.run(t, "agents", "list")
		var got []string
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			f := strings.Split(l, "\t")
			if len(f) != len(agentColumns()) {
				t.Fatalf("line %q has %d fields, want %d", l, len(f), len(agentColumns()))
			}
			got = append(got, f[0])
		}
		if diff := cmp.Diff(ids, got); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
	})
	t.Run("csv has a header", func(t *testing.T) {
		out, _, _ := ts.run(t, "agents", "list", "--format", "csv")
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 || recs[0][0] != "ID" || recs[1][0] != ids[0] || recs[2][4] != "web-1" {
			t.Errorf("csv records %q", recs)
		}
	})
	t.Run("json is an indented array", func(t *testing.T) {
		out, _, _ := ts.run(t, "agents", "list", "--json")
		var got []struct{ ID string }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("json %q: %v", out, err)
		}
		if len(got) != 2 || got[0].ID != ids[0] || !strings.Contains(out, "\n  {") {
			t.Errorf("json:\n%s", out)
		}
	})
	t.Run("json of nothing is an empty array", func(t *testing.T) {
		out, _, _ := ts.run(t, "agents", "list", "--json", "--status", "offline")
		if strings.TrimSpace(out) != "[]" {
			t.Errorf("got %q, want []", out)
		}
	})
	t.Run("jsonl has one object per line", func(t *testing.T) {
		out, _, _ := ts.run(t, "agents", "list", "--format", "jsonl")
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("jsonl:\n%s", out)
		}
		var got struct{ Hostname string }
		if err := json.Unmarshal([]byte(lines[1]), &got); err != nil || got.Hostname != "web-1" {
			t.Errorf("line %q: %v", lines[1], err)
		}
	})
	t.Run("jq applies to the array, strings raw", func(t *testing.T) {
		out, _, _ := ts.run(t, "agents", "list", "--jq", ".[].hostname")
		if want := "database-server-2\nweb-1\n"; out != want {
			t.Errorf("got %q, want %q", out, want)
		}
	})
	t.Run("jq applies to each item with jsonl", func(t *testing.T) {
		out, _, _ := ts.run(t, "agents", "list", "--format", "jsonl", "--jq", "{h: .hostname}")
		if want := "{\"h\":\"database-server-2\"}\n{\"h\":\"web-1\"}\n"; out != want {
			t.Errorf("got %q, want %q", out, want)
		}
	})
	t.Run("filters by hostname", func(t *testing.T) {
		out, _, _ := ts.run(t, "agents", "list", "--hostname", "web-1", "--jq", ".[].id")
		if out != a1.ID+"\n" {
			t.Errorf("got %q, want %s", out, a1.ID)
		}
	})
	t.Run("stops after --limit", func(t *testing.T) {
		out, _, _ := ts.run(t, "agents", "list", "--limit", "1", "--jq", "length")
		if out != "1\n" {
			t.Errorf("got %q, want 1", out)
		}
	})
	t.Run("show prints one object", func(t *testing.T) {
		out, _, code := ts.run(t, "agents", "show", a1.ID, "--jq", ".hostname")
		if code != 0 || out != "web-1\n" {
			t.Errorf("got %q (exit %d), want web-1", out, code)
		}
	})
}

func TestRaw(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"GETs a path alone", "", []string{"raw", "/v2/agents?status=online", "--jq", ".agents | length"}, "0\n"},
		{"takes the method first", "", []string{"raw", "GET", "/v2/agents?status=online", "--jq", ".agents | length"}, "0\n"},
		{"POSTs an inline body", "", []string{"raw", "POST", "/v2/rulesets", "-d", `{"name":"r1","description":"d"}`, "--jq", ".name"}, "r1\n"},
		{"POSTs stdin with -X", `{"name":"r2","description":"d"}`, []string{"raw", "-X", "POST", "/v2/rulesets", "-d", "@-", "--jq", ".name"}, "r2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, ts.env, tt.stdin, tt.args...)
			if code != 0 || out != tt.want {
				t.Errorf("got %q (exit %d, stderr %q), want %q", out, code, stderr, tt.want)
			}
		})
	}
	t.Run("prints the body without --jq", func(t *testing.T) {
		out, _, _ := ts.run(t, "raw", "/v2/agents?status=online")
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil || !strings.HasSuffix(out, "}\n") {
			t.Errorf("body %q: %v", out, err)
		}
	})
	t.Run("rejects a body that is not JSON", func(t *testing.T) {
		if _, _, code := ts.run(t, "raw", "POST", "/v2/rulesets", "-d", "{"); code != ExitUsage {
			t.Errorf("exit %d, want %d", code, ExitUsage)
		}
	})
}

func TestConfig(t *testing.T) {
	ts := newTestServer(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "sub", "config.yaml")
	envFile := filepath.Join(dir, "credentials.env")
	if err := os.WriteFile(envFile, []byte("# aipd\nexport TS_API_ENDPOINT="+ts.env[envEndpoint]+"\nTS_USER_ID="+ts.env[envUserID]+
		"\nTS_API_KEY=\""+ts.env[envAPIKey]+"\"\nTS_ORGANIZATION_ID="+ts.env[envOrgID]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noCreds := map[string]string{"AIP_CONFIG": cfgPath}
	run := func(t *testing.T, env map[string]string, args ...string) (string, string, int) {
		t.Helper()
		return runCLI(t, env, "", args...)
	}

	if _, stderr, code := run(t, noCreds, "config", "import-env", envFile); code != 0 {
		t.Fatalf("import-env: exit %d: %s", code, stderr)
	}
	t.Run("writes the file 0600 in a 0700 dir", func(t *testing.T) {
		for path, want := range map[string]os.FileMode{cfgPath: 0o600, filepath.Dir(cfgPath): 0o700} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s mode %v, want %v", path, got, want)
			}
		}
	})
	t.Run("imported profile is current and works", func(t *testing.T) {
		if _, stderr, code := run(t, noCreds, "agents", "list"); code != 0 {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("get prints a value", func(t *testing.T) {
		out, _, _ := run(t, noCreds, "config", "get", "user-id")
		if out != ts.env[envUserID]+"\n" {
			t.Errorf("got %q", out)
		}
	})
	if _, stderr, code := run(t, noCreds, "config", "set", "api-key", "bad-key-bad-key", "--profile", "broken"); code != 0 {
		t.Fatalf("set: exit %d: %s", code, stderr)
	}
	for _, kv := range [][2]string{{"endpoint", ts.env[envEndpoint]}, {"user-id", ts.env[envUserID]}, {"organization-id", ts.env[envOrgID]}} {
		run(t, noCreds, "config", "set", kv[0], kv[1], "--profile", "broken")
	}
	t.Run("list masks API keys", func(t *testing.T) {
		out, _, _ := run(t, noCreds, "config", "list", "--format", "csv")
		if strings.Contains(out, ts.env[envAPIKey]) || strings.Contains(out, "bad-key-bad-key") {
			t.Errorf("list shows a key:\n%s", out)
		}
		if !strings.Contains(out, "broken,,") || !strings.Contains(out, "default,*,") || !strings.Contains(out, "****-key") {
			t.Errorf("list:\n%s", out)
		}
	})
	t.Run("rejects an unknown key", func(t *testing.T) {
		if _, _, code := run(t, noCreds, "config", "set", "colour", "blue"); code != ExitUsage {
			t.Errorf("exit %d, want %d", code, ExitUsage)
		}
	})
	t.Run("rejects using an unknown profile", func(t *testing.T) {
		if _, _, code := run(t, noCreds, "config", "use", "nope"); code != ExitUsage {
			t.Errorf("exit %d, want %d", code, ExitUsage)
		}
	})

	good, bad := ts.env[envAPIKey], "bad-key-bad-key"
	withConfig := withEnv(ts.env, "AIP_CONFIG", cfgPath)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"env beats the current profile", withEnv(withConfig, envAPIKey, bad), nil, ExitAuth},
		{"explicit profile beats env", withEnv(withConfig, envAPIKey, good), []string{"--profile", "broken"}, ExitAuth},
		{"flag beats explicit profile", withConfig, []string{"--profile", "broken", "--api-key", good}, ExitOK},
		{"flag beats env", withEnv(withConfig, envAPIKey, good), []string{"--api-key", bad}, ExitAuth},
		{"current profile fills in when env is empty", noCreds, nil, ExitOK},
		{"unknown explicit profile is a usage error", withConfig, []string{"--profile", "nope"}, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, got := run(t, tt.env, append([]string{"agents", "list"}, tt.args...)...)
			if got != tt.want {
				t.Errorf("exit %d, want %d (stderr %q)", got, tt.want, stderr)
			}
		})
	}
	t.Run("use switches the current profile", func(t *testing.T) {
		if _, stderr, code := run(t, noCreds, "config", "use", "broken"); code != 0 {
			t.Fatalf("use: exit %d: %s", code, stderr)
		}
		if _, _, code := run(t, noCreds, "agents", "list"); code != ExitAuth {
			t.Errorf("exit %d, want %d with the broken profile current", code, ExitAuth)
		}
	})
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -o default -F __start_aip aip", "zsh": "#compdef aip", "fish": "complete -c aip"} {
		t.Run("prints a "+shell+" script", func(t *testing.T) {
			out, stderr, code := runCLI(t, nil, "", "completion", shell)
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("exit %d, stderr %q, script lacks %q", code, stderr, want)
			}
		})
	}
	t.Run("completes subcommands", func(t *testing.T) {
		out, _, _ := runCLI(t, nil, "", "__complete", "agents", "")
		if !strings.Contains(out, "list") || !strings.Contains(out, "show") {
			t.Errorf("completions %q, want list and show", out)
		}
	})
}

func TestEveryCommandHasExamples(t *testing.T) {
	root := newRootCommand(&app{env: Env{}.withDefaults()})
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		if c.Example == "" {
			t.Errorf("%s has no Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func TestVersion(t *testing.T) {
	out, _, code := runCLI(t, nil, "", "version")
	if code != 0 || !strings.HasPrefix(out, "aip test ") {
		t.Errorf("got %q (exit %d)", out, code)
	}
}

func TestCredentialsFileOfALocalServer(t *testing.T) {
	ts := newTestServer(t)
	dataDir := ts.main.Config.DataDir
	emptyCfg := func(t *testing.T) string { return filepath.Join(t.TempDir(), "config.yaml") }
	tests := []struct {
		name     string
		env      func(t *testing.T) map[string]string
		wantCode int
	}{
		{"finds credentials.env through AIP_DATA", func(t *testing.T) map[string]string {
			return map[string]string{"AIP_CONFIG": emptyCfg(t), "AIP_DATA": dataDir}
		}, ExitOK},
		{"reads the file AIP_CREDENTIALS names", func(t *testing.T) map[string]string {
			return map[string]string{"AIP_CONFIG": emptyCfg(t), "AIP_CREDENTIALS": filepath.Join(dataDir, "credentials.env")}
		}, ExitOK},
		{"refuses a missing AIP_CREDENTIALS file", func(t *testing.T) map[string]string {
			return map[string]string{"AIP_CONFIG": emptyCfg(t), "AIP_CREDENTIALS": filepath.Join(t.TempDir(), "nope.env")}
		}, ExitUsage},
		{"lets the variables win over the file", func(t *testing.T) map[string]string {
			return withEnv(ts.env, "AIP_CONFIG", emptyCfg(t), "AIP_DATA", dataDir, envAPIKey, "wrong-key")
		}, ExitAuth},
		{"without any source names what is missing", func(t *testing.T) map[string]string {
			return map[string]string{"AIP_CONFIG": emptyCfg(t), "AIP_DATA": t.TempDir()}
		}, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tt.env(t), "", "agents", "list")
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.wantCode, stderr)
			}
		})
	}
}
