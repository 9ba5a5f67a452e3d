package cli

// Rules as code: `aip rules export DIR` and `aip rules apply DIR`.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/rules"
)

// rulesAsCodeHelp documents the directory layout shared by export and apply.
const rulesAsCodeHelp = `Layout: one directory per ruleset, DIR/<slug of the ruleset name>/, holding
ruleset.yaml (name, description) and one <slug of the rule name>.yaml per rule
with every user-settable field under the API's JSON names (name, type, title,
severityOfAlerts, alertDescription, aggregateFields, filter, window,
threshold, suppressions, enabled, the File rule fields) and, when the rule has
a tag filter, tags: {inclusion: [...], exclusion: [...]}. Server-assigned
fields (id, rulesetId, createdAt, updatedAt) are never written. .json files
with the same content work too. Rulesets are matched by name, rules by name
within their ruleset; file names do not matter to apply.`

// rulesetSpec is the user-settable part of a ruleset: ruleset.yaml.
type rulesetSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ruleSpec is the user-settable part of a rule and its tags: one rule file.
// Field order is the file's key order.
type ruleSpec struct {
	Name               string                  `json:"name"`
	Type               string                  `json:"type"`
	Title              string                  `json:"title"`
	SeverityOfAlerts   int                     `json:"severityOfAlerts"`
	AlertDescription   string                  `json:"alertDescription"`
	AggregateFields    []string                `json:"aggregateFields"`
	Filter             string                  `json:"filter"`
	Window             int                     `json:"window"`
	Threshold          int                     `json:"threshold"`
	Suppressions       []string                `json:"suppressions"`
	Enabled            bool                    `json:"enabled"`
	FileIntegrityPaths []aip.FileIntegrityPath `json:"fileIntegrityPaths,omitempty"`
	IgnoreFiles        []string                `json:"ignoreFiles,omitempty"`
	EventsToMonitor    []string                `json:"eventsToMonitor,omitempty"`
	Tags               *aip.TagSet             `json:"tags,omitempty"`
}

// ruleSpecKeys are the JSON keys of ruleSpec in order, for listing the
// fields an update changes.
var ruleSpecKeys = []string{"name", "type", "title", "severityOfAlerts", "alertDescription",
	"aggregateFields", "filter", "window", "threshold", "suppressions", "enabled",
	"fileIntegrityPaths", "ignoreFiles", "eventsToMonitor", "tags"}

// specOf is the spec of a stored rule and its tags.
func specOf(r *aip.Rule, tags *aip.TagSet) ruleSpec {
	return ruleSpec{
		Name: r.Name, Type: r.Type, Title: r.Title, SeverityOfAlerts: r.SeverityOfAlerts,
		AlertDescription: r.AlertDescription, AggregateFields: r.AggregateFields, Filter: r.Filter,
		Window: r.Window, Threshold: r.Threshold, Suppressions: r.Suppressions, Enabled: r.Enabled,
		FileIntegrityPaths: r.FileIntegrityPaths, IgnoreFiles: r.IgnoreFiles, EventsToMonitor: r.EventsToMonitor,
		Tags: tags,
	}.normalized()
}

// rule is the request body that writes s.
func (s ruleSpec) rule() *aip.Rule {
	return &aip.Rule{
		Name: s.Name, Type: s.Type, Title: s.Title, SeverityOfAlerts: s.SeverityOfAlerts,
		AlertDescription: s.AlertDescription, AggregateFields: s.AggregateFields, Filter: s.Filter,
		Window: s.Window, Threshold: s.Threshold, Suppressions: s.Suppressions, Enabled: s.Enabled,
		FileIntegrityPaths: s.FileIntegrityPaths, IgnoreFiles: s.IgnoreFiles, EventsToMonitor: s.EventsToMonitor,
	}
}

// normalized is s as the server would store it, so that a file and the
// rule it produced compare equal: canonical type, effective aggregate
// fields, empty lists rather than null, no File fields on other types,
// tags with their default source and nil when empty.
func (s ruleSpec) normalized() ruleSpec {
	if t, ok := rules.ParseRuleType(s.Type); ok {
		s.Type = string(t)
		s.AggregateFields = rules.EffectiveAggregateFields(t, s.AggregateFields)
		if t != rules.TypeFile {
			s.FileIntegrityPaths, s.IgnoreFiles, s.EventsToMonitor = nil, nil, nil
		}
	}
	if s.AggregateFields == nil {
		s.AggregateFields = []string{}
	}
	if s.Suppressions == nil {
		s.Suppressions = []string{}
	}
	if s.Tags != nil {
		if len(s.Tags.Inclusion) == 0 && len(s.Tags.Exclusion) == 0 {
			s.Tags = nil
		} else {
			s.Tags = &aip.TagSet{Inclusion: defaultTagSource(s.Tags.Inclusion), Exclusion: defaultTagSource(s.Tags.Exclusion)}
		}
	}
	return s
}

// defaultTagSource copies tags, filling the server's default source ec2.
func defaultTagSource(tags []aip.Tag) []aip.Tag {
	out := make([]aip.Tag, len(tags))
	for i, t := range tags {
		if t.Source == "" {
			t.Source = "ec2"
		}
		out[i] = t
	}
	return out
}

// tagSet is the tag filter s asks for: empty lists when it has none.
func (s ruleSpec) tagSet() aip.TagSet {
	if s.Tags == nil {
		return aip.TagSet{Inclusion: []aip.Tag{}, Exclusion: []aip.Tag{}}
	}
	return *s.Tags
}

// changedFields lists the keys whose normalized JSON differs between a
// and b, in file order.
func changedFields(a, b any) ([]string, error) {
	ma, err := jsonFields(a)
	if err != nil {
		return nil, err
	}
	mb, err := jsonFields(b)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range ma {
		keys = append(keys, k)
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y string) int {
		return slices.Index(ruleSpecKeys, x) - slices.Index(ruleSpecKeys, y)
	})
	var out []string
	for _, k := range keys {
		if !bytes.Equal(ma[k], mb[k]) {
			out = append(out, k)
		}
	}
	return out, nil
}

func jsonFields(v any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return m, nil
}

// slug makes a file name from a name: lower-case ASCII letters and digits,
// every other run of characters one '-', at most 80 bytes; "unnamed" when
// nothing is left.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	s := b.String()
	if len(s) > 80 {
		s = strings.TrimRight(s[:80], "-")
	}
	if s == "" {
		return "unnamed"
	}
	return s
}

// uniqueSlugs gives each name a slug, adding -2, -3, … to repeats in the
// order of names (callers sort them, so the result is stable). Names that
// slug to a reserved one (ruleset) are suffixed too.
func uniqueSlugs(names []string, reserved ...string) []string {
	used := map[string]bool{}
	for _, r := range reserved {
		used[r] = true
	}
	out := make([]string, len(names))
	for i, n := range names {
		base := slug(n)
		s := base
		for k := 2; used[s]; k++ {
			s = fmt.Sprintf("%s-%d", base, k)
		}
		used[s] = true
		out[i] = s
	}
	return out
}

// encodeSpec renders v in format: indented JSON, or YAML with the same keys
// in the same order (the JSON parsed as YAML, then printed in block style).
func encodeSpec(v any, format string) ([]byte, error) {
	var js bytes.Buffer
	if err := encodeJSON(&js, v, true); err != nil {
		return nil, err
	}
	if format == "json" {
		return js.Bytes(), nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal(js.Bytes(), &n); err != nil {
		return nil, fmt.Errorf("convert to YAML: %w", err)
	}
	clearStyle(&n)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return out.Bytes(), nil
}

// clearStyle drops the flow and quoting styles JSON input gives nodes, so
// that the encoder picks YAML's block style and quotes only when needed.
func clearStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		clearStyle(c)
	}
}

func newRulesExportCommand(a *app) *cobra.Command {
	var sets []string
	var format string
	cmd := &cobra.Command{
		Use:   "export DIR",
		Short: "Write rulesets and their rules as files (rules as code)",
		Long: `Write every ruleset (or those of --ruleset, by id or name) with its rules and
tag filters under DIR, one file per rule. Output is deterministic (fixed key
order, names sorted), so exporting into a git checkout shows only real
changes. Rule files already in an exported ruleset's directory that no longer
match a rule are removed.

` + rulesAsCodeHelp,
		Example: `  aip rules export ./rules
  aip rules export ./rules --ruleset "Base Rule Set" --format json
  aip rules export ./rules && git -C ./rules diff`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "yaml" && format != "json" {
				return usageErrorf("--format must be yaml or json, not %q", format)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			return exportRules(cmd.Context(), c, args[0], sets, format, a.env.Stderr)
		},
	}
	cmd.Flags().StringArrayVar(&sets, "ruleset", nil, "export only this ruleset, by id or name (repeatable)")
	cmd.Flags().StringVar(&format, "format", "yaml", "file format: yaml or json")
	return cmd
}

// exportRules writes the rulesets named by only (all when empty) under dir.
func exportRules(ctx context.Context, c *client.Client, dir string, only []string, format string, log io.Writer) error {
	all, _, err := c.Rulesets.List(ctx, nil)
	if err != nil {
		return err
	}
	var sets []*aip.Ruleset
	for _, rs := range all {
		if len(only) == 0 || slices.Contains(only, rs.ID) || slices.Contains(only, rs.Name) {
			sets = append(sets, rs)
		}
	}
	for _, o := range only {
		if !slices.ContainsFunc(sets, func(rs *aip.Ruleset) bool { return rs.ID == o || rs.Name == o }) {
			return fmt.Errorf("export: no ruleset has the id or name %q", o)
		}
	}
	slices.SortFunc(sets, func(x, y *aip.Ruleset) int { return strings.Compare(x.Name, y.Name) })
	names := make([]string, len(sets))
	for i, rs := range sets {
		names[i] = rs.Name
	}
	for i, dslug := range uniqueSlugs(names) {
		rs := sets[i]
		if err := exportRuleset(ctx, c, rs, filepath.Join(dir, dslug), format); err != nil {
			return fmt.Errorf("export ruleset %q: %w", rs.Name, err)
		}
		fmt.Fprintf(log, "exported %s\n", filepath.Join(dir, dslug))
	}
	return nil
}

// exportRuleset writes one ruleset's directory.
func exportRuleset(ctx context.Context, c *client.Client, rs *aip.Ruleset, dir string, format string) error {
	list, _, err := c.Rules.List(ctx, rs.ID)
	if err != nil {
		return err
	}
	specs := make([]ruleSpec, len(list))
	for i, r := range list {
		tags, _, err := c.Tags.Get(ctx, r.ID)
		if err != nil {
			return err
		}
		specs[i] = specOf(r, tags)
	}
	// Rule names may repeat: order by the whole spec after the name, so
	// that the -2 suffixes do not depend on ids or creation order.
	keyed := make([]string, len(specs))
	for i := range specs {
		b, err := json.Marshal(specs[i])
		if err != nil {
			return fmt.Errorf("encode rule: %w", err)
		}
		keyed[i] = string(b)
	}
	idx := make([]int, len(specs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		if c := strings.Compare(specs[x].Name, specs[y].Name); c != 0 {
			return c
		}
		return strings.Compare(keyed[x], keyed[y])
	})
	names := make([]string, len(idx))
	for i, j := range idx {
		names[i] = specs[j].Name
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	if err := removeSpecFiles(dir); err != nil {
		return err
	}
	ext := "." + format
	b, err := encodeSpec(rulesetSpec{Name: rs.Name, Description: rs.Description}, format)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ruleset"+ext), b, 0o644); err != nil {
		return fmt.Errorf("write ruleset file: %w", err)
	}
	for i, s := range uniqueSlugs(names, "ruleset") {
		b, err := encodeSpec(specs[idx[i]], format)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, s+ext), b, 0o644); err != nil {
			return fmt.Errorf("write rule file: %w", err)
		}
	}
	return nil
}

// removeSpecFiles deletes the .yaml, .yml and .json files of dir, so that a
// rule deleted on the server disappears from the next export.
func removeSpecFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read directory: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() && isSpecFile(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("remove stale file: %w", err)
			}
		}
	}
	return nil
}

func isSpecFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// localRuleset is one ruleset directory read by apply.
type localRuleset struct {
	dir   string
	spec  rulesetSpec
	rules []ruleSpec // sorted by name
}

// readRulesDir reads every ruleset directory of dir. Any unreadable or
// invalid file, a missing name or a name used twice fails the whole read,
// before anything is changed.
func readRulesDir(dir string) ([]localRuleset, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var out []localRuleset
	seen := map[string]string{}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		files, err := os.ReadDir(sub)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", sub, err)
		}
		lr := localRuleset{dir: sub}
		found := false
		ruleDirs := map[string]string{}
		for _, f := range files {
			if f.IsDir() || !isSpecFile(f.Name()) {
				continue
			}
			path := filepath.Join(sub, f.Name())
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", path, err)
			}
			if strings.TrimSuffix(f.Name(), filepath.Ext(f.Name())) == "ruleset" {
				if found {
					return nil, fmt.Errorf("%s: more than one ruleset file", sub)
				}
				found = true
				if err := decodeRequest(path, b, &lr.spec, true); err != nil {
					return nil, err
				}
				continue
			}
			var s ruleSpec
			if err := decodeRequest(path, b, &s, true); err != nil {
				return nil, err
			}
			if s.Name == "" {
				return nil, fmt.Errorf("%s: rule has no name", path)
			}
			if prev, ok := ruleDirs[s.Name]; ok {
				return nil, fmt.Errorf("%s and %s both define rule %q", prev, path, s.Name)
			}
			ruleDirs[s.Name] = path
			lr.rules = append(lr.rules, s)
		}
		if !found {
			return nil, fmt.Errorf("%s: no ruleset.yaml (or .yml, .json)", sub)
		}
		if lr.spec.Name == "" {
			return nil, fmt.Errorf("%s: ruleset has no name", sub)
		}
		if prev, ok := seen[lr.spec.Name]; ok {
			return nil, fmt.Errorf("%s and %s both define ruleset %q", prev, sub, lr.spec.Name)
		}
		seen[lr.spec.Name] = sub
		slices.SortFunc(lr.rules, func(x, y ruleSpec) int { return strings.Compare(x.Name, y.Name) })
		out = append(out, lr)
	}
	slices.SortFunc(out, func(x, y localRuleset) int { return strings.Compare(x.spec.Name, y.spec.Name) })
	return out, nil
}

// change is one step of an apply plan.
type change struct {
	line string       // "+ create rule …", as printed
	do   func() error // nil: nothing to run (the step depends on a failed one)
}

func newRulesApplyCommand(a *app) *cobra.Command {
	var dryRun, prune bool
	cmd := &cobra.Command{
		Use:   "apply DIR",
		Short: "Make the server's rulesets and rules match files (rules as code)",
		Long: `Read DIR (the layout of export) and create the rulesets and rules that are
missing on the server, update those that differ (compared field by field
after normalization: type case, null lists, default tag source), and with
--prune delete the rules, and the rulesets, that DIR does not have. The plan
is printed on stdout, one line per change: "+ create", "~ update" with the
changed fields, "- delete"; "no changes" when there is nothing to do.
--dry-run prints it and changes nothing. A failed change is reported on
stderr with the server's message; the others still run, and the exit code is
non-zero.

Without --prune nothing is deleted. With --prune, rulesets missing from DIR
are deleted with all their rules: export every ruleset before pruning.

` + rulesAsCodeHelp,
		Example: `  aip rules apply ./rules --dry-run
  aip rules apply ./rules
  aip rules apply ./rules --prune`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			local, err := readRulesDir(args[0])
			if err != nil {
				return &usageError{fmt.Errorf("apply: %w", err)}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			plan, err := planApply(cmd.Context(), c, local, prune)
			if err != nil {
				return err
			}
			return runPlan(a, plan, dryRun)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan, change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete rules and rulesets that DIR does not have")
	return cmd
}

// runPlan prints each change and, unless dryRun, runs it; it returns an
// error counting the changes that failed.
func runPlan(a *app, plan []change, dryRun bool) error {
	if len(plan) == 0 {
		_, err := fmt.Fprintln(a.env.Stdout, "no changes")
		return err
	}
	failed := 0
	for _, ch := range plan {
		if _, err := fmt.Fprintln(a.env.Stdout, ch.line); err != nil {
			return err
		}
		if dryRun {
			continue
		}
		if ch.do == nil {
			failed++
			continue
		}
		if err := ch.do(); err != nil {
			failed++
			fmt.Fprintf(a.env.Stderr, "aip: failed: %s: %s\n", ch.line, errorMessage(err))
		}
	}
	if failed > 0 {
		return fmt.Errorf("apply: %d of %d changes failed", failed, len(plan))
	}
	return nil
}

// planApply compares local with the server and returns the changes, in
// order: per ruleset (by name) the ruleset, then its rules (by name), then
// the pruned rulesets.
func planApply(ctx context.Context, c *client.Client, local []localRuleset, prune bool) ([]change, error) {
	remote, _, err := c.Rulesets.List(ctx, nil)
	if err != nil {
		return nil, err
	}
	byName := map[string]*aip.Ruleset{}
	for _, rs := range remote {
		if _, ok := byName[rs.Name]; !ok {
			byName[rs.Name] = rs
		}
	}
	var plan []change
	for _, lr := range local {
		rs := byName[lr.spec.Name]
		if rs == nil {
			plan = append(plan, planNewRuleset(ctx, c, lr)...)
			continue
		}
		delete(byName, lr.spec.Name)
		steps, err := planRuleset(ctx, c, lr, rs, prune)
		if err != nil {
			return nil, err
		}
		plan = append(plan, steps...)
	}
	if prune {
		var gone []*aip.Ruleset
		for _, rs := range byName {
			gone = append(gone, rs)
		}
		slices.SortFunc(gone, func(x, y *aip.Ruleset) int { return strings.Compare(x.Name, y.Name) })
		for _, rs := range gone {
			plan = append(plan, change{
				line: fmt.Sprintf("- delete ruleset %q (%d rules)", rs.Name, len(rs.Rules)),
				do: func() error {
					_, _, err := c.Rulesets.Delete(ctx, rs.ID)
					return err
				},
			})
		}
	}
	return plan, nil
}

// planNewRuleset creates a ruleset and all its rules; the rules are
// skipped (and count as failed) when the ruleset could not be created.
func planNewRuleset(ctx context.Context, c *client.Client, lr localRuleset) []change {
	var id string
	plan := []change{{
		line: fmt.Sprintf("+ create ruleset %q", lr.spec.Name),
		do: func() error {
			rs, _, err := c.Rulesets.Create(ctx, &client.RulesetRequest{Name: lr.spec.Name, Description: lr.spec.Description})
			if err != nil {
				return err
			}
			id = rs.ID
			return nil
		},
	}}
	for _, s := range lr.rules {
		plan = append(plan, change{
			line: fmt.Sprintf("+ create rule %q", lr.spec.Name+"/"+s.Name),
			do: func() error {
				if id == "" {
					return fmt.Errorf("ruleset %q was not created", lr.spec.Name)
				}
				return createRule(ctx, c, id, s)
			},
		})
	}
	return plan
}

// createRule creates s in a ruleset and sets its tags, if any.
func createRule(ctx context.Context, c *client.Client, rulesetID string, s ruleSpec) error {
	r, _, err := c.Rules.Create(ctx, rulesetID, s.rule())
	if err != nil {
		return err
	}
	if s.Tags == nil {
		return nil
	}
	if _, _, err := c.Tags.Set(ctx, r.ID, s.tagSet()); err != nil {
		return fmt.Errorf("rule created, setting its tags: %w", err)
	}
	return nil
}

// planRuleset compares an existing ruleset and its rules with lr.
func planRuleset(ctx context.Context, c *client.Client, lr localRuleset, rs *aip.Ruleset, prune bool) ([]change, error) {
	var plan []change
	if lr.spec.Description != rs.Description {
		plan = append(plan, change{
			line: fmt.Sprintf("~ update ruleset %q: description", rs.Name),
			do: func() error {
				_, _, err := c.Rulesets.Update(ctx, rs.ID, &client.RulesetRequest{Name: rs.Name, Description: lr.spec.Description})
				return err
			},
		})
	}
	list, _, err := c.Rules.List(ctx, rs.ID)
	if err != nil {
		return nil, fmt.Errorf("list rules of %q: %w", rs.Name, err)
	}
	// The first rule of a name (in creation order) is the one a file
	// matches; later ones of the same name count as not in DIR.
	byName := map[string]*aip.Rule{}
	var extra []*aip.Rule
	for _, r := range list {
		if _, ok := byName[r.Name]; ok {
			extra = append(extra, r)
			continue
		}
		byName[r.Name] = r
	}
	for _, s := range lr.rules {
		label := fmt.Sprintf("%q", rs.Name+"/"+s.Name)
		r := byName[s.Name]
		if r == nil {
			plan = append(plan, change{line: "+ create rule " + label, do: func() error { return createRule(ctx, c, rs.ID, s) }})
			continue
		}
		delete(byName, s.Name)
		tags, _, err := c.Tags.Get(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("tags of rule %s: %w", label, err)
		}
		want, have := s.normalized(), specOf(r, tags)
		fields, err := changedFields(have, want)
		if err != nil {
			return nil, fmt.Errorf("compare rule %s: %w", label, err)
		}
		if len(fields) == 0 {
			continue
		}
		plan = append(plan, change{
			line: fmt.Sprintf("~ update rule %s: %s", label, strings.Join(fields, ", ")),
			do: func() error {
				if slices.ContainsFunc(fields, func(f string) bool { return f != "tags" }) {
					if _, _, err := c.Rules.Update(ctx, rs.ID, r.ID, s.rule()); err != nil {
						return err
					}
				}
				if slices.Contains(fields, "tags") {
					if _, _, err := c.Tags.Set(ctx, r.ID, s.tagSet()); err != nil {
						return fmt.Errorf("set tags: %w", err)
					}
				}
				return nil
			},
		})
	}
	if prune {
		for _, r := range byName {
			extra = append(extra, r)
		}
		slices.SortFunc(extra, func(x, y *aip.Rule) int {
			if c := strings.Compare(x.Name, y.Name); c != 0 {
				return c
			}
			return strings.Compare(x.ID, y.ID)
		})
		for _, r := range extra {
			plan = append(plan, change{
				line: fmt.Sprintf("- delete rule %q", rs.Name+"/"+r.Name),
				do: func() error {
					_, err := c.Rules.Delete(ctx, rs.ID, r.ID)
					return err
				},
			})
		}
	}
	return plan, nil
}
