package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

func init() {
	register(newRulesetsCommand)
	register(newRulesCommand)
}

// fileFormatHelp documents how -f files are read; shared by every command
// that takes one.
const fileFormatHelp = `-f FILE is JSON or YAML: a .json extension means JSON, .yaml or .yml YAML,
anything else (and -f - for stdin) is JSON when it starts with '{' or '[' and
YAML otherwise. YAML keys are exactly the API's JSON field names (camelCase,
e.g. severityOfAlerts, aggregateFields); YAML is converted to JSON and decoded
like a JSON body, so both spell a request the same way. Read-only fields (id,
createdAt, …) are accepted and ignored, so the output of show --json can be
edited and sent back.`

// newRulesetsCommand is `aip rulesets …`.
func newRulesetsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rulesets",
		Short: "Manage the organization's rulesets",
		Long: `List, show, create, update and delete rulesets. Where a RULESET is expected,
its id or its exact name works.`,
		Example: "  aip rulesets list\n  aip rulesets show \"Base Rule Set\" --json",
		Args:    noArgs,
	}
	cmd.AddCommand(newRulesetsListCommand(a), newRulesetsShowCommand(a), newRulesetsCreateCommand(a),
		newRulesetsUpdateCommand(a), newRulesetsDeleteCommand(a))
	return cmd
}

// rulesetColumns are the columns of `aip rulesets list`.
func rulesetColumns() []column[*aip.Ruleset] {
	return []column[*aip.Ruleset]{
		{"ID", func(rs *aip.Ruleset) string { return rs.ID }},
		{"NAME", func(rs *aip.Ruleset) string { return rs.Name }},
		{"RULES", func(rs *aip.Ruleset) string { return strconv.Itoa(len(rs.Rules)) }},
		{"AGENTS", func(rs *aip.Ruleset) string { return strconv.Itoa(len(rs.Agents)) }},
		{"DESCRIPTION", func(rs *aip.Ruleset) string { return rs.Description }},
	}
}

func newRulesetsListCommand(a *app) *cobra.Command {
	var opts client.RulesetListOptions
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List rulesets",
		Example: "  aip rulesets list\n  aip rulesets list --agent-id AGENT_ID --jq '.[].name'",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			sets, _, err := c.Rulesets.List(cmd.Context(), &opts)
			if err != nil {
				return err
			}
			return writeSlice(a, sets, rulesetColumns())
		},
	}
	cmd.Flags().StringVar(&opts.AgentID, "agent-id", "", "only the rulesets this agent runs")
	return cmd
}

// rulesetDetailColumns are the columns of show, create and update.
func rulesetDetailColumns() []column[*aip.Ruleset] {
	return append(rulesetColumns(),
		column[*aip.Ruleset]{"RULE IDS", func(rs *aip.Ruleset) string { return strings.Join(rs.Rules, ",") }},
		column[*aip.Ruleset]{"AGENT IDS", func(rs *aip.Ruleset) string { return strings.Join(rs.Agents, ",") }},
		column[*aip.Ruleset]{"CREATED", func(rs *aip.Ruleset) string { return formatTime(rs.CreatedAt) }},
		column[*aip.Ruleset]{"UPDATED", func(rs *aip.Ruleset) string { return formatTime(rs.UpdatedAt) }},
	)
}

func newRulesetsShowCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show RULESET",
		Short:   "Show one ruleset",
		Example: "  aip rulesets show RULESET_ID\n  aip rulesets show \"Base Rule Set\" --jq .rules[]",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, id, err := a.rulesetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rs, _, err := c.Rulesets.Get(cmd.Context(), id)
			if err != nil {
				return err
			}
			return writeItem(a, rs, rulesetDetailColumns())
		},
	}
}

func newRulesetsCreateCommand(a *app) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create a ruleset from a JSON or YAML file",
		Long: `Create a ruleset from FILE: {"name", "description", "ruleIds"}; ruleIds (optional)
are rules moved into the new ruleset.

` + fileFormatHelp,
		Example: `  aip rulesets create -f ruleset.yaml
  printf 'name: Web servers\ndescription: nginx hosts\n' | aip rulesets create -f -`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var req client.RulesetRequest
			if err := a.readRequest(file, &req, false); err != nil {
				return err
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			rs, _, err := c.Rulesets.Create(cmd.Context(), &req)
			if err != nil {
				return err
			}
			return writeItem(a, rs, rulesetDetailColumns())
		},
	}
	fileFlag(cmd, &file)
	return cmd
}

func newRulesetsUpdateCommand(a *app) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "update RULESET -f FILE",
		Short: "Replace a ruleset's name and description from a file",
		Long: `Replace the name and description of RULESET with those of FILE; its ruleIds
(optional) are rules moved into the ruleset, the others stay where they are.

` + fileFormatHelp,
		Example: `  aip rulesets update RULESET_ID -f ruleset.yaml
  aip rulesets show RULESET_ID --json > rs.json && $EDITOR rs.json && aip rulesets update RULESET_ID -f rs.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req client.RulesetRequest
			if err := a.readRequest(file, &req, false); err != nil {
				return err
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, id, err := a.rulesetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rs, _, err := c.Rulesets.Update(cmd.Context(), id, &req)
			if err != nil {
				return err
			}
			return writeItem(a, rs, rulesetDetailColumns())
		},
	}
	fileFlag(cmd, &file)
	return cmd
}

func newRulesetsDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete RULESET",
		Short:   "Delete a ruleset with all its rules",
		Long:    "Delete RULESET and every rule in it, and print the ids of the agents that ran it.",
		Example: "  aip rulesets delete RULESET_ID\n  aip rulesets delete \"Old rules\"",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id, err := a.rulesetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			agents, _, err := c.Rulesets.Delete(cmd.Context(), id)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "deleted ruleset %s\n", id)
			for _, ag := range agents {
				if _, err := fmt.Fprintln(a.env.Stdout, ag); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// newRulesCommand is `aip rules …`.
func newRulesCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Manage detection rules, their tags, and rules as code",
		Long: `List, show, create, update and delete the rules of a ruleset, read and set
their EC2 tag filters, and export/apply whole rulesets as files (rules as
code). Where a RULESET is expected its id or exact name works; RULE is a
rule id.`,
		Example: `  aip rules list "Base Rule Set"
  aip rules export ./rules && aip rules apply ./rules --dry-run`,
		Args: noArgs,
	}
	cmd.AddCommand(newRulesListCommand(a), newRulesShowCommand(a), newRulesCreateCommand(a),
		newRulesUpdateCommand(a), newRulesDeleteCommand(a), newRulesTagsCommand(a),
		newRulesExportCommand(a), newRulesApplyCommand(a))
	return cmd
}

// ruleColumns are the columns of `aip rules list`.
func ruleColumns() []column[*aip.Rule] {
	return []column[*aip.Rule]{
		{"ID", func(r *aip.Rule) string { return r.ID }},
		{"NAME", func(r *aip.Rule) string { return r.Name }},
		{"TYPE", func(r *aip.Rule) string { return r.Type }},
		{"SEVERITY", func(r *aip.Rule) string { return strconv.Itoa(r.SeverityOfAlerts) }},
		{"ENABLED", func(r *aip.Rule) string { return strconv.FormatBool(r.Enabled) }},
		{"FILTER", func(r *aip.Rule) string { return r.Filter }},
	}
}

// ruleDetailColumns are the columns of show, create and update.
func ruleDetailColumns() []column[*aip.Rule] {
	return append(ruleColumns(),
		column[*aip.Rule]{"RULESET ID", func(r *aip.Rule) string { return r.RulesetID }},
		column[*aip.Rule]{"TITLE", func(r *aip.Rule) string { return r.Title }},
		column[*aip.Rule]{"DESCRIPTION", func(r *aip.Rule) string { return r.AlertDescription }},
		column[*aip.Rule]{"AGGREGATE FIELDS", func(r *aip.Rule) string { return strings.Join(r.AggregateFields, ",") }},
		column[*aip.Rule]{"WINDOW", func(r *aip.Rule) string { return strconv.Itoa(r.Window) }},
		column[*aip.Rule]{"THRESHOLD", func(r *aip.Rule) string { return strconv.Itoa(r.Threshold) }},
		column[*aip.Rule]{"SUPPRESSIONS", func(r *aip.Rule) string { return strings.Join(r.Suppressions, " ; ") }},
		column[*aip.Rule]{"CREATED", func(r *aip.Rule) string { return formatTime(r.CreatedAt) }},
		column[*aip.Rule]{"UPDATED", func(r *aip.Rule) string { return formatTime(r.UpdatedAt) }},
	)
}

func newRulesListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list RULESET",
		Short: "List the rules of a ruleset",
		Example: `  aip rules list RULESET_ID
  aip rules list "Base Rule Set" --jq '.[] | select(.severityOfAlerts == 1) | .name'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, id, err := a.rulesetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rules, _, err := c.Rules.List(cmd.Context(), id)
			if err != nil {
				return err
			}
			return writeSlice(a, rules, ruleColumns())
		},
	}
}

func newRulesShowCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show RULESET RULE_ID",
		Short:   "Show one rule",
		Example: "  aip rules show RULESET_ID RULE_ID\n  aip rules show \"Base Rule Set\" RULE_ID --json > rule.json",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, id, err := a.rulesetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			r, _, err := c.Rules.Get(cmd.Context(), id, args[1])
			if err != nil {
				return err
			}
			return writeItem(a, r, ruleDetailColumns())
		},
	}
}

// ruleRequest is a rule as read from a -f file: every field of a rule and,
// optionally, its tag filter, which is set after the rule is written.
type ruleRequest struct {
	aip.Rule
	Tags *aip.TagSet `json:"tags,omitempty"`
}

func newRulesCreateCommand(a *app) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "create RULESET -f FILE",
		Short: "Create a rule in a ruleset from a JSON or YAML file",
		Long: `Create a rule in RULESET from FILE, a rule object (name, type, title,
severityOfAlerts, alertDescription, filter, window, threshold, enabled, …). An
optional "tags" key ({"inclusion": [...], "exclusion": [...]}) sets the rule's
tag filter afterwards. The server's validation messages are printed as is.

` + fileFormatHelp,
		Example: `  aip rules create RULESET_ID -f rule.yaml
  aip rules create "Base Rule Set" -f rule.json --jq .id`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req ruleRequest
			if err := a.readRequest(file, &req, true); err != nil {
				return err
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, id, err := a.rulesetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			r, _, err := c.Rules.Create(cmd.Context(), id, &req.Rule)
			if err != nil {
				return err
			}
			if req.Tags != nil {
				if _, _, err := c.Tags.Set(cmd.Context(), r.ID, *req.Tags); err != nil {
					return fmt.Errorf("rule %s created, but setting its tags failed: %w", r.ID, err)
				}
			}
			return writeItem(a, r, ruleDetailColumns())
		},
	}
	fileFlag(cmd, &file)
	return cmd
}

func newRulesUpdateCommand(a *app) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "update RULESET RULE_ID -f FILE",
		Short: "Replace a rule from a JSON or YAML file",
		Long: `Replace every writable field of the rule with those of FILE (a whole rule, as
for create; fields left out take their zero value). An optional "tags" key
replaces the tag filter too.

` + fileFormatHelp,
		Example: `  aip rules show RULESET_ID RULE_ID --json > rule.json && $EDITOR rule.json
  aip rules update RULESET_ID RULE_ID -f rule.json`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req ruleRequest
			if err := a.readRequest(file, &req, true); err != nil {
				return err
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, id, err := a.rulesetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			r, _, err := c.Rules.Update(cmd.Context(), id, args[1], &req.Rule)
			if err != nil {
				return err
			}
			if req.Tags != nil {
				if _, _, err := c.Tags.Set(cmd.Context(), r.ID, *req.Tags); err != nil {
					return fmt.Errorf("rule %s updated, but setting its tags failed: %w", r.ID, err)
				}
			}
			return writeItem(a, r, ruleDetailColumns())
		},
	}
	fileFlag(cmd, &file)
	return cmd
}

func newRulesDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete RULESET RULE_ID",
		Short:   "Delete a rule and its tags",
		Example: "  aip rules delete RULESET_ID RULE_ID",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id, err := a.rulesetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if _, err := c.Rules.Delete(cmd.Context(), id, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "deleted rule %s\n", args[1])
			return nil
		},
	}
}

// newRulesTagsCommand is `aip rules tags get|set`.
func newRulesTagsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "tags",
		Short:   "Read and set a rule's EC2 tag filter",
		Example: "  aip rules tags get RULE_ID\n  aip rules tags set RULE_ID --include env=prod --exclude team=qa",
		Args:    noArgs,
	}
	cmd.AddCommand(newRulesTagsGetCommand(a), newRulesTagsSetCommand(a))
	return cmd
}

// tagColumns list a tag set one tag per row.
func tagColumns() []column[tagRow] {
	return []column[tagRow]{
		{"KIND", func(t tagRow) string { return t.kind }},
		{"SOURCE", func(t tagRow) string { return t.Source }},
		{"KEY", func(t tagRow) string { return t.Key }},
		{"VALUE", func(t tagRow) string { return t.Value }},
	}
}

// tagRow is one tag of a set with its list, for tables.
type tagRow struct {
	kind string
	aip.Tag
}

// writeTags prints a tag set: as the API's object for JSON output, one
// tag per row otherwise.
func writeTags(a *app, ts *aip.TagSet) error {
	o, err := a.output()
	if err != nil {
		return err
	}
	if o.format == formatJSON || o.format == formatJSONL {
		return o.writeJSON(ts, o.format == formatJSON)
	}
	var rows []tagRow
	for _, t := range ts.Inclusion {
		rows = append(rows, tagRow{"inclusion", t})
	}
	for _, t := range ts.Exclusion {
		rows = append(rows, tagRow{"exclusion", t})
	}
	return writeSlice(a, rows, tagColumns())
}

func newRulesTagsGetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "get RULE_ID",
		Short:   "Show a rule's tag filter",
		Example: "  aip rules tags get RULE_ID\n  aip rules tags get RULE_ID --json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ts, _, err := c.Tags.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return writeTags(a, ts)
		},
	}
}

func newRulesTagsSetCommand(a *app) *cobra.Command {
	var file string
	var include, exclude []string
	cmd := &cobra.Command{
		Use:   "set RULE_ID (-f FILE | --include KEY=VALUE… --exclude KEY=VALUE…)",
		Short: "Replace a rule's tag filter",
		Long: `Replace the rule's tag filter with FILE ({"inclusion": [{"source", "key",
"value"}…], "exclusion": […]}) or with the --include and --exclude flags
(source ec2). Flags with no tags clear the filter.

` + fileFormatHelp,
		Example: `  aip rules tags set RULE_ID --include env=prod --include role=web
  aip rules tags set RULE_ID -f tags.yaml
  aip rules tags set RULE_ID   # clears the filter`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ts aip.TagSet
			if file != "" {
				if len(include)+len(exclude) > 0 {
					return usageErrorf("rules tags set: -f conflicts with --include and --exclude")
				}
				if err := a.readRequest(file, &ts, true); err != nil {
					return err
				}
			} else {
				var err error
				if ts.Inclusion, err = parseTagFlags("--include", include); err != nil {
					return err
				}
				if ts.Exclusion, err = parseTagFlags("--exclude", exclude); err != nil {
					return err
				}
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			out, _, err := c.Tags.Set(cmd.Context(), args[0], ts)
			if err != nil {
				return err
			}
			return writeTags(a, out)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "JSON or YAML tag set file, - for stdin")
	cmd.Flags().StringArrayVar(&include, "include", nil, "KEY=VALUE tag a host must have (repeatable)")
	cmd.Flags().StringArrayVar(&exclude, "exclude", nil, "KEY=VALUE tag that excludes a host (repeatable)")
	return cmd
}

// parseTagFlags turns KEY=VALUE flag values into ec2 tags.
func parseTagFlags(flag string, vals []string) ([]aip.Tag, error) {
	tags := []aip.Tag{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, usageErrorf("%s %q: want KEY=VALUE", flag, v)
		}
		tags = append(tags, aip.Tag{Source: "ec2", Key: k, Value: val})
	}
	return tags, nil
}

// fileFlag adds the required -f flag of create and update commands.
func fileFlag(cmd *cobra.Command, file *string) {
	cmd.Flags().StringVarP(file, "file", "f", "", "JSON or YAML request file, - for stdin (required)")
}

// readRequest reads the -f file into v (see fileFormatHelp). strict
// rejects keys v does not know, catching typos such as "severity". A file
// that cannot be read or decoded is a usage error.
func (a *app) readRequest(file string, v any, strict bool) error {
	if file == "" {
		return usageErrorf("-f FILE is required (- for stdin)")
	}
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(a.env.Stdin)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return usageErrorf("read %s: %w", file, err)
	}
	if err := decodeRequest(file, b, v, strict); err != nil {
		return &usageError{err}
	}
	return nil
}

// decodeRequest decodes a JSON or YAML document named name into v: YAML
// goes through yamlToJSON, so JSON field names and rules apply to both.
func decodeRequest(name string, b []byte, v any, strict bool) error {
	js := b
	if isYAML(name, b) {
		var err error
		if js, err = yamlToJSON(b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: more than one JSON value", name)
	}
	return nil
}

// isYAML decides a file's format: by extension, else by its first byte.
func isYAML(name string, b []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return false
	case ".yaml", ".yml":
		return true
	}
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) == 0 || (t[0] != '{' && t[0] != '[')
}

// yamlToJSON converts one YAML document to JSON. Mapping keys become
// strings; timestamps RFC 3339 strings; NaN and infinities are refused,
// JSON having no spelling for them.
func yamlToJSON(b []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty YAML document")
		}
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse YAML: want one document, found more")
	}
	j, err := jsonValue(v)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("convert YAML to JSON: %w", err)
	}
	return out, nil
}

// jsonValue converts a decoded YAML value into one encoding/json encodes
// the same way.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = j
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = j
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = j
		}
		return out, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("convert YAML to JSON: %v has no JSON form", v)
		}
		return v, nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	default:
		return v, nil
	}
}

// rulesetClient returns the API client and the id of the ruleset arg
// names, for the commands that act on one ruleset.
func (a *app) rulesetClient(ctx context.Context, arg string) (*client.Client, string, error) {
	c, err := a.client()
	if err != nil {
		return nil, "", err
	}
	id, err := resolveRuleset(ctx, c, arg)
	if err != nil {
		return nil, "", err
	}
	return c, id, nil
}

// resolveRuleset returns the id of the ruleset named by arg: arg itself
// when it is a UUID, else the id of the ruleset with that exact name.
func resolveRuleset(ctx context.Context, c *client.Client, arg string) (string, error) {
	if aip.IsUUID(arg) {
		return arg, nil
	}
	sets, _, err := c.Rulesets.List(ctx, nil)
	if err != nil {
		return "", err
	}
	for _, rs := range sets {
		if rs.Name == arg {
			return rs.ID, nil
		}
	}
	return "", fmt.Errorf("no ruleset has the id or name %q: %w", arg, errNotFound)
}
