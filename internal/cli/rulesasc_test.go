package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestSlug(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lower-cases and dashes spaces", "Base Rule Set", "base-rule-set"},
		{"collapses punctuation runs", "User: Sudo  Usage!!", "user-sudo-usage"},
		{"trims leading and trailing separators", "  --Hello--  ", "hello"},
		{"keeps digits", "CVE 2024-1234", "cve-2024-1234"},
		{"drops non-ASCII letters", "Règle été", "r-gle-t"},
		{"names an empty result", "???", "unnamed"},
		{"cuts long names", strings.Repeat("a", 100), strings.Repeat("a", 80)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slug(tt.in); got != tt.want {
				t.Errorf("slug(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("suffixes repeats and reserved names", func(t *testing.T) {
		got := uniqueSlugs([]string{"A b", "a-b", "Ruleset", "a b"}, "ruleset")
		want := []string{"a-b", "a-b-2", "ruleset-2", "a-b-3"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("uniqueSlugs (-want +got):\n%s", diff)
		}
	})
}

func TestYAMLToJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"maps keep the given keys", "severityOfAlerts: 2\nname: x\n", `{"name":"x","severityOfAlerts":2}`, false},
		{"lists and nesting", "tags:\n  inclusion:\n    - {key: env, value: prod}\n", `{"tags":{"inclusion":[{"key":"env","value":"prod"}]}}`, false},
		{"non-string keys become strings", "1: a\ntrue: b\n", `{"1":"a","true":"b"}`, false},
		{"quoted numbers stay strings", "value: \"42\"\n", `{"value":"42"}`, false},
		{"floats and null", "x: 1.5\ny: null\n", `{"x":1.5,"y":null}`, false},
		{"multi-line block scalars", "filter: |\n  a = 1\n  or b = 2\n", `{"filter":"a = 1\nor b = 2\n"}`, false},
		{"timestamps become RFC 3339 strings", "at: 2024-01-02T03:04:05Z\n", `{"at":"2024-01-02T03:04:05Z"}`, false},
		{"JSON is YAML too", `{"a": [1, "b"]}`, `{"a":[1,"b"]}`, false},
		{"rejects NaN", "x: .nan\n", "", true},
		{"rejects an empty document", "", "", true},
		{"rejects two documents", "a: 1\n---\nb: 2\n", "", true},
		{"rejects broken YAML", "a: [1\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := yamlToJSON([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Errorf("got %s, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestEncodeSpecRoundTrips(t *testing.T) {
	want := ruleSpec{
		Name: "true", Type: "Host", Title: "{{user}}: 'quoted' \"x\"", SeverityOfAlerts: 1,
		AlertDescription: "123", AggregateFields: []string{}, Filter: "a = 1\nor b = \"2\"",
		Suppressions: []string{"null", "- x"}, Enabled: true,
		Tags: &aip.TagSet{Inclusion: []aip.Tag{{Source: "ec2", Key: "k", Value: "yes"}}, Exclusion: []aip.Tag{}},
	}
	for _, format := range []string{"yaml", "json"} {
		t.Run(format+" decodes to the same spec", func(t *testing.T) {
			b, err := encodeSpec(want, format)
			if err != nil {
				t.Fatal(err)
			}
			var got ruleSpec
			if err := decodeRequest("rule."+format, b, &got, true); err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s\nfile:\n%s", diff, b)
			}
		})
	}
	t.Run("yaml keys are in field order", func(t *testing.T) {
		b, _ := encodeSpec(want, "yaml")
		var keys []string
		for _, l := range strings.Split(string(b), "\n") {
			if k, _, ok := strings.Cut(l, ":"); ok && k != "" && !strings.HasPrefix(k, " ") {
				keys = append(keys, k)
			}
		}
		wantKeys := slices.DeleteFunc(slices.Clone(ruleSpecKeys), func(k string) bool {
			return k == "fileIntegrityPaths" || k == "ignoreFiles" || k == "eventsToMonitor"
		})
		if diff := cmp.Diff(wantKeys, keys); diff != "" {
			t.Errorf("keys (-want +got):\n%s\n%s", diff, b)
		}
	})
}

// readTree returns every file under dir by slash path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// baseRuleFile is the path of a Base Rule Set rule's file in an export, and
// that rule.
func baseRuleFile(t *testing.T, ts *testServer, dir string) (string, *aip.Rule) {
	t.Helper()
	base := baseRuleset(t, ts)
	list, _, err := ts.client(t).Rules.List(context.Background(), base.ID)
	if err != nil || len(list) == 0 {
		t.Fatalf("base rules: %d, %v", len(list), err)
	}
	r := list[0]
	return filepath.Join(dir, "base-rule-set", slug(r.Name)+".yaml"), r
}

// editFile replaces old by new in path, failing when old is absent.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q:\n%s", path, old, b)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRulesExport(t *testing.T) {
	ts := newTestServer(t)
	mustRun(t, ts, "rules", "tags", "set", baseRuleset(t, ts).Rules[0], "--include", "env=prod")
	d1, d2 := t.TempDir(), t.TempDir()
	mustRun(t, ts, "rules", "export", d1)
	mustRun(t, ts, "rules", "export", d2)
	files := readTree(t, d1)

	t.Run("writes the ruleset file and one file per rule", func(t *testing.T) {
		want := "name: Base Rule Set\ndescription: "
		if got := files["base-rule-set/ruleset.yaml"]; !strings.HasPrefix(got, want) {
			t.Errorf("ruleset.yaml = %q, want prefix %q", got, want)
		}
		if n, want := len(files)-1, len(baseRuleset(t, ts).Rules); n != want {
			t.Errorf("%d rule files, want %d", n, want)
		}
	})
	t.Run("files carry no server-assigned fields", func(t *testing.T) {
		for name, content := range files {
			for _, k := range []string{"id:", "rulesetId:", "createdAt:", "updatedAt:"} {
				if strings.Contains(content, "\n"+k) || strings.HasPrefix(content, k) {
					t.Errorf("%s has %s", name, k)
				}
			}
		}
	})
	t.Run("tags are exported", func(t *testing.T) {
		n := 0
		for _, content := range files {
			if strings.Contains(content, "\ntags:\n  inclusion:\n    - source: ec2\n      key: env\n      value: prod\n") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d files with the tags, want 1", n)
		}
	})
	t.Run("two exports are byte-identical", func(t *testing.T) {
		if diff := cmp.Diff(files, readTree(t, d2)); diff != "" {
			t.Errorf("exports differ (-first +second):\n%s", diff)
		}
	})
	t.Run("json format writes json files", func(t *testing.T) {
		d := t.TempDir()
		mustRun(t, ts, "rules", "export", d, "--format", "json", "--ruleset", "Base Rule Set")
		var rs rulesetSpec
		b, err := os.ReadFile(filepath.Join(d, "base-rule-set", "ruleset.json"))
		if err != nil || json.Unmarshal(b, &rs) != nil || rs.Name != "Base Rule Set" {
			t.Errorf("ruleset.json %q: %v", b, err)
		}
	})
	t.Run("re-export removes files of deleted rules", func(t *testing.T) {
		path, r := baseRuleFile(t, ts, d1)
		mustRun(t, ts, "rules", "delete", r.RulesetID, r.ID)
		mustRun(t, ts, "rules", "export", d1)
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s still exists: %v", path, err)
		}
	})
	t.Run("rejects an unknown ruleset and format", func(t *testing.T) {
		if _, _, code := ts.run(t, "rules", "export", t.TempDir(), "--ruleset", "nope"); code == ExitOK {
			t.Error("unknown ruleset exported")
		}
		if _, _, code := ts.run(t, "rules", "export", t.TempDir(), "--format", "toml"); code != ExitUsage {
			t.Errorf("exit %d, want %d", code, ExitUsage)
		}
	})
}

func TestRulesApply(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	// Keep two base rules: every apply reads each rule's tags, and the
	// server's per-organization rate limit would make the test wait.
	base := baseRuleset(t, ts)
	for _, id := range base.Rules[2:] {
		if _, err := ts.client(t).Rules.Delete(ctx, base.ID, id); err != nil {
			t.Fatalf("delete base rule: %v", err)
		}
	}
	dir := t.TempDir()
	mustRun(t, ts, "rules", "export", dir)
	path, rule := baseRuleFile(t, ts, dir)
	sev := func() int {
		r, _, err := ts.client(t).Rules.Get(ctx, rule.RulesetID, rule.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r.SeverityOfAlerts
	}

	t.Run("unchanged export is no changes", func(t *testing.T) {
		if out := mustRun(t, ts, "rules", "apply", dir); out != "no changes\n" {
			t.Errorf("got %q", out)
		}
	})
	newSev := rule.SeverityOfAlerts%3 + 1
	editFile(t, path, "severityOfAlerts: "+string(rune('0'+rule.SeverityOfAlerts)), "severityOfAlerts: "+string(rune('0'+newSev)))
	wantLine := `~ update rule "Base Rule Set/` + rule.Name + `": severityOfAlerts` + "\n"
	t.Run("dry run shows the update and changes nothing", func(t *testing.T) {
		if out := mustRun(t, ts, "rules", "apply", dir, "--dry-run"); out != wantLine {
			t.Errorf("got %q, want %q", out, wantLine)
		}
		if got := sev(); got != rule.SeverityOfAlerts {
			t.Errorf("severity %d after dry run, want %d", got, rule.SeverityOfAlerts)
		}
	})
	t.Run("apply updates", func(t *testing.T) {
		if out := mustRun(t, ts, "rules", "apply", dir); out != wantLine {
			t.Errorf("got %q, want %q", out, wantLine)
		}
		if got := sev(); got != newSev {
			t.Errorf("severity %d, want %d", got, newSev)
		}
		if out := mustRun(t, ts, "rules", "apply", dir); out != "no changes\n" {
			t.Errorf("second apply: %q", out)
		}
	})
	t.Run("a new file creates a rule with its tags", func(t *testing.T) {
		b, err := os.ReadFile("testdata/rules/rule.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "base-rule-set", "curl.yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		want := `+ create rule "Base Rule Set/Curl to a raw IP"` + "\n"
		if out := mustRun(t, ts, "rules", "apply", dir); out != want {
			t.Errorf("got %q, want %q", out, want)
		}
		if out := mustRun(t, ts, "rules", "apply", dir); out != "no changes\n" {
			t.Errorf("second apply (lower-case type, tags without source): %q", out)
		}
	})
	t.Run("a new directory creates a ruleset", func(t *testing.T) {
		sub := filepath.Join(dir, "web")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for src, dst := range map[string]string{"ruleset.yaml": "ruleset.yaml", "rule.json": "wget.json"} {
			b, _ := os.ReadFile(filepath.Join("testdata/rules", src))
			if err := os.WriteFile(filepath.Join(sub, dst), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want := "+ create ruleset \"Web servers\"\n+ create rule \"Web servers/Wget usage\"\n"
		if out := mustRun(t, ts, "rules", "apply", dir); out != want {
			t.Errorf("got %q, want %q", out, want)
		}
	})
	t.Run("a removed file is kept without --prune", func(t *testing.T) {
		if err := os.Remove(filepath.Join(dir, "web", "wget.json")); err != nil {
			t.Fatal(err)
		}
		if out := mustRun(t, ts, "rules", "apply", dir); out != "no changes\n" {
			t.Errorf("got %q", out)
		}
	})
	t.Run("a removed file is deleted with --prune", func(t *testing.T) {
		want := `- delete rule "Web servers/Wget usage"` + "\n"
		if out := mustRun(t, ts, "rules", "apply", dir, "--prune", "--dry-run"); out != want {
			t.Errorf("dry run: got %q, want %q", out, want)
		}
		if out := mustRun(t, ts, "rules", "apply", dir, "--prune"); out != want {
			t.Errorf("got %q, want %q", out, want)
		}
		if out := mustRun(t, ts, "rules", "list", "Web servers"); out != "" {
			t.Errorf("rules left: %q", out)
		}
	})
	t.Run("invalid filter fails but the other changes apply", func(t *testing.T) {
		b, _ := os.ReadFile("testdata/rules/bad-filter.yaml")
		if err := os.WriteFile(filepath.Join(dir, "web", "broken.yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		editFile(t, filepath.Join(dir, "web", "ruleset.yaml"), "nginx hosts", "nginx and caddy")
		out, stderr, code := ts.run(t, "rules", "apply", dir)
		want := "~ update ruleset \"Web servers\": description\n+ create rule \"Web servers/Broken\"\n"
		if out != want {
			t.Errorf("got %q, want %q", out, want)
		}
		if code != ExitError || !strings.Contains(stderr, "400") || !strings.Contains(stderr, "Validation failed") || !strings.Contains(stderr, "1 of 2 changes failed") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		out = mustRun(t, ts, "rulesets", "show", "Web servers", "--jq", ".description")
		if out != "nginx and caddy\n" {
			t.Errorf("description %q, want the update applied", out)
		}
	})
	t.Run("a typo in a key fails before any change", func(t *testing.T) {
		editFile(t, filepath.Join(dir, "web", "broken.yaml"), "threshold:", "treshold:")
		_, stderr, code := ts.run(t, "rules", "apply", dir)
		if code != ExitUsage || !strings.Contains(stderr, "treshold") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("pruning a ruleset directory deletes the ruleset", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(dir, "web")); err != nil {
			t.Fatal(err)
		}
		want := `- delete ruleset "Web servers" (0 rules)` + "\n"
		if out := mustRun(t, ts, "rules", "apply", dir, "--prune"); out != want {
			t.Errorf("got %q, want %q", out, want)
		}
		if _, _, code := ts.run(t, "rulesets", "show", "Web servers"); code == ExitOK {
			t.Error("ruleset still exists")
		}
	})
}
