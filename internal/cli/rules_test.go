package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

// baseRuleset returns the Base Rule Set every new organization gets.
func baseRuleset(t *testing.T, ts *testServer) *aip.Ruleset {
	t.Helper()
	sets, _, err := ts.client(t).Rulesets.List(context.Background(), nil)
	if err != nil {
		t.Fatalf("list rulesets: %v", err)
	}
	for _, rs := range sets {
		if rs.Name == "Base Rule Set" {
			return rs
		}
	}
	t.Fatalf("no Base Rule Set among %d rulesets", len(sets))
	return nil
}

// mustRun runs aip and fails the test unless it exits 0.
func mustRun(t *testing.T, ts *testServer, args ...string) string {
	t.Helper()
	out, stderr, code := ts.run(t, args...)
	if code != ExitOK {
		t.Fatalf("aip %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return out
}

// decodeOut decodes JSON output into v.
func decodeOut(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
}

func TestRulesets(t *testing.T) {
	ts := newTestServer(t)
	base := baseRuleset(t, ts)

	t.Run("list shows the Base Rule Set", func(t *testing.T) {
		out := mustRun(t, ts, "rulesets", "list", "--jq", ".[].name")
		if !strings.Contains(out, "Base Rule Set\n") {
			t.Errorf("got %q, want the Base Rule Set", out)
		}
	})
	t.Run("show by name equals show by id", func(t *testing.T) {
		byName := mustRun(t, ts, "rulesets", "show", "Base Rule Set", "--json")
		byID := mustRun(t, ts, "rulesets", "show", base.ID, "--json")
		if byName != byID {
			t.Errorf("by name:\n%s\nby id:\n%s", byName, byID)
		}
	})
	t.Run("show of an unknown name fails", func(t *testing.T) {
		_, stderr, code := ts.run(t, "rulesets", "show", "No such set")
		if code != ExitNotFound || !strings.Contains(stderr, "No such set") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})

	var yamlID string
	t.Run("creates from YAML", func(t *testing.T) {
		var got aip.Ruleset
		decodeOut(t, mustRun(t, ts, "rulesets", "create", "-f", "testdata/rules/ruleset.yaml", "--json"), &got)
		if got.Name != "Web servers" || got.Description != "nginx hosts" || got.ID == "" {
			t.Errorf("created %+v", got)
		}
		yamlID = got.ID
	})
	t.Run("creates from JSON", func(t *testing.T) {
		out := mustRun(t, ts, "rulesets", "create", "-f", "testdata/rules/ruleset.json", "--jq", ".name")
		if out != "Database servers\n" {
			t.Errorf("got %q", out)
		}
	})
	t.Run("creates from YAML on stdin", func(t *testing.T) {
		out, stderr, code := runCLI(t, ts.env, "name: From stdin\ndescription: piped\n", "rulesets", "create", "-f", "-", "--jq", ".description")
		if code != ExitOK || out != "piped\n" {
			t.Errorf("exit %d, out %q, stderr %q", code, out, stderr)
		}
	})
	t.Run("duplicate name shows the server's 409", func(t *testing.T) {
		_, stderr, code := ts.run(t, "rulesets", "create", "-f", "testdata/rules/ruleset.yaml")
		if code != ExitError || !strings.Contains(stderr, "409") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("missing -f is a usage error", func(t *testing.T) {
		if _, _, code := ts.run(t, "rulesets", "create"); code != ExitUsage {
			t.Errorf("exit %d, want %d", code, ExitUsage)
		}
	})
	t.Run("updates from a file", func(t *testing.T) {
		dir := t.TempDir()
		f := filepath.Join(dir, "rs.yml")
		if err := os.WriteFile(f, []byte("name: Web servers\ndescription: nginx and caddy\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		mustRun(t, ts, "rulesets", "update", yamlID, "-f", f)
		rs, _, err := ts.client(t).Rulesets.Get(context.Background(), yamlID)
		if err != nil || rs.Description != "nginx and caddy" {
			t.Errorf("after update %+v, %v", rs, err)
		}
	})
	t.Run("deletes", func(t *testing.T) {
		mustRun(t, ts, "rulesets", "delete", "Web servers")
		if _, _, code := ts.run(t, "rulesets", "show", yamlID); code != ExitNotFound {
			t.Errorf("show after delete: exit %d, want %d", code, ExitNotFound)
		}
	})
}

func TestRules(t *testing.T) {
	ts := newTestServer(t)
	base := baseRuleset(t, ts)

	t.Run("list has the base rules", func(t *testing.T) {
		var got []aip.Rule
		decodeOut(t, mustRun(t, ts, "rules", "list", "Base Rule Set", "--json"), &got)
		if len(got) != len(base.Rules) || len(got) == 0 {
			t.Errorf("%d rules, want %d", len(got), len(base.Rules))
		}
	})
	t.Run("tsv list has one line per rule", func(t *testing.T) {
		out := mustRun(t, ts, "rules", "list", base.ID)
		if n := strings.Count(out, "\n"); n != len(base.Rules) {
			t.Errorf("%d lines, want %d", n, len(base.Rules))
		}
	})

	var yamlRule aip.Rule
	t.Run("creates from YAML with tags", func(t *testing.T) {
		decodeOut(t, mustRun(t, ts, "rules", "create", base.ID, "-f", "testdata/rules/rule.yaml", "--json"), &yamlRule)
		want := aip.Rule{Name: "Curl to a raw IP", Type: "Host", SeverityOfAlerts: 2, Filter: `command = "curl" and user != "deploy"`, Enabled: true}
		got := aip.Rule{Name: yamlRule.Name, Type: yamlRule.Type, SeverityOfAlerts: yamlRule.SeverityOfAlerts, Filter: yamlRule.Filter, Enabled: yamlRule.Enabled}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("created rule (-want +got):\n%s", diff)
		}
		tags, _, err := ts.client(t).Tags.Get(context.Background(), yamlRule.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]aip.Tag{{Source: "ec2", Key: "env", Value: "prod"}}, tags.Inclusion); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})
	t.Run("creates from JSON", func(t *testing.T) {
		out := mustRun(t, ts, "rules", "create", "Base Rule Set", "-f", "testdata/rules/rule.json", "--jq", ".name")
		if out != "Wget usage\n" {
			t.Errorf("got %q", out)
		}
	})
	t.Run("shows", func(t *testing.T) {
		out := mustRun(t, ts, "rules", "show", base.ID, yamlRule.ID, "--jq", ".title")
		if out != "{{user}} ran curl\n" {
			t.Errorf("got %q", out)
		}
	})
	t.Run("an unknown key is a usage error", func(t *testing.T) {
		_, stderr, code := runCLI(t, ts.env, "name: x\nseverity: 1\n", "rules", "create", base.ID, "-f", "-")
		if code != ExitUsage || !strings.Contains(stderr, "severity") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("invalid filter prints the server's message", func(t *testing.T) {
		_, stderr, code := ts.run(t, "rules", "create", base.ID, "-f", "testdata/rules/bad-filter.yaml")
		if code != ExitError || !strings.Contains(stderr, "400") || !strings.Contains(stderr, "Validation failed") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("updates from the edited show output", func(t *testing.T) {
		out := mustRun(t, ts, "rules", "show", base.ID, yamlRule.ID, "--json")
		f := filepath.Join(t.TempDir(), "rule.json")
		edited := strings.Replace(out, `"severityOfAlerts": 2`, `"severityOfAlerts": 1`, 1)
		if edited == out {
			t.Fatalf("no severity in %s", out)
		}
		if err := os.WriteFile(f, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		mustRun(t, ts, "rules", "update", base.ID, yamlRule.ID, "-f", f)
		r, _, err := ts.client(t).Rules.Get(context.Background(), base.ID, yamlRule.ID)
		if err != nil || r.SeverityOfAlerts != 1 {
			t.Errorf("after update %+v, %v", r, err)
		}
	})
	t.Run("tags set by flags, get as rows", func(t *testing.T) {
		mustRun(t, ts, "rules", "tags", "set", yamlRule.ID, "--include", "role=web", "--exclude", "team=qa")
		out := mustRun(t, ts, "rules", "tags", "get", yamlRule.ID)
		want := "inclusion\tec2\trole\tweb\nexclusion\tec2\tteam\tqa\n"
		if out != want {
			t.Errorf("got %q, want %q", out, want)
		}
	})
	t.Run("tags set from a file, get as JSON", func(t *testing.T) {
		_, stderr, code := runCLI(t, ts.env, "inclusion: []\nexclusion:\n  - {key: env, value: dev}\n", "rules", "tags", "set", yamlRule.ID, "-f", "-")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got aip.TagSet
		decodeOut(t, mustRun(t, ts, "rules", "tags", "get", yamlRule.ID, "--json"), &got)
		want := aip.TagSet{Inclusion: []aip.Tag{}, Exclusion: []aip.Tag{{Source: "ec2", Key: "env", Value: "dev"}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})
	t.Run("tags set rejects a flag without =", func(t *testing.T) {
		if _, _, code := ts.run(t, "rules", "tags", "set", yamlRule.ID, "--include", "role"); code != ExitUsage {
			t.Errorf("exit %d, want %d", code, ExitUsage)
		}
	})
	t.Run("deletes", func(t *testing.T) {
		mustRun(t, ts, "rules", "delete", base.ID, yamlRule.ID)
		if _, _, code := ts.run(t, "rules", "show", base.ID, yamlRule.ID); code != ExitNotFound {
			t.Errorf("show after delete: exit %d, want %d", code, ExitNotFound)
		}
	})
}
