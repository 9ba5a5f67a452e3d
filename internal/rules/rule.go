package rules

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/aipsec/aip"
)

// RuleType is a rule's type in its canonical spelling (rules-events.md §1.1).
type RuleType string

// The rule types of the v2 API.
const (
	TypeHost             RuleType = "Host"
	TypeFile             RuleType = "File"
	TypeCloudTrail       RuleType = "CloudTrail"
	TypeThreatIntel      RuleType = "ThreatIntel"
	TypeWinsec           RuleType = "Winsec"
	TypeKubernetesAudit  RuleType = "KubernetesAudit"
	TypeKubernetesConfig RuleType = "KubernetesConfig"
)

// RuleTypes lists every rule type, in the order of rules-events.md §1.1.
func RuleTypes() []RuleType {
	return []RuleType{TypeHost, TypeFile, TypeCloudTrail, TypeThreatIntel, TypeWinsec, TypeKubernetesAudit, TypeKubernetesConfig}
}

// ParseRuleType accepts a rule type in any case ("host", "HOST") and
// returns its canonical spelling.
func ParseRuleType(s string) (RuleType, bool) {
	for _, t := range RuleTypes() {
		if strings.EqualFold(s, string(t)) {
			return t, true
		}
	}
	return "", false
}

// EventTypes returns the event types ("event_type" values) rules of type t
// see (rules-events.md §3.1): Host rules the Linux streams, every other type
// its own stream. The Kubernetes event type names are this project's choice;
// no source shows the real ones.
func (t RuleType) EventTypes() []string {
	switch t {
	case TypeHost:
		return []string{"audit", "host", "login", "network"}
	case TypeFile:
		return []string{"file"}
	case TypeCloudTrail:
		return []string{"cloudtrail"}
	case TypeThreatIntel:
		return []string{"threatintel"}
	case TypeWinsec:
		return []string{"winsec"}
	case TypeKubernetesAudit:
		return []string{"kubernetes_audit"}
	case TypeKubernetesConfig:
		return []string{"kubernetes_config"}
	}
	return nil
}

// FilePath is one fileIntegrityPaths entry of a File rule.
type FilePath struct {
	Path      string
	Recursive bool
}

// Rule is what the engine needs of a v2 rule.
type Rule struct {
	ID        string
	RulesetID string
	Type      RuleType // canonical; see ParseRuleType
	Name      string
	Title     string // template: {{field}} and {{a.b}} take event values
	Severity  int
	// Filter selects events. Empty means every event of the rule's types,
	// which only File rules (whose paths already select) should rely on.
	Filter          string
	Window          int // seconds
	Threshold       int // matching events within Window that raise an alert; below 1 counts as 1
	AggregateFields []string
	Suppressions    []string // filters; an event matching any of them does not alert
	Enabled         bool

	// File rules only.
	FileIntegrityPaths []FilePath
	EventsToMonitor    []string // open, create, modify, delete, close, attrib, or all; any case
	IgnoreFiles        []string // globs (path.Match) on the file's base name
}

// EffectiveAggregateFields is the aggregate list a rule of type t really
// uses (DECISIONS.md): the legacy "rule_id" dropped, duplicates dropped, and
// for File rules "command" and "filename" appended when absent. The API
// layer stores and answers this list.
func EffectiveAggregateFields(t RuleType, fields []string) []string {
	out := make([]string, 0, len(fields)+2)
	add := func(f string) {
		for _, g := range out {
			if g == f {
				return
			}
		}
		out = append(out, f)
	}
	for _, f := range fields {
		if f != "rule_id" {
			add(f)
		}
	}
	if t == TypeFile {
		add("command")
		add("filename")
	}
	return out
}

// RuleError is a rule the engine cannot compile. It unwraps both to the
// cause (often a *SyntaxError) and to an *aip.Error with code EINVALID
// whose message names the part of the rule at fault.
type RuleError struct {
	RuleID string
	Name   string
	Field  string // "filter", "suppressions[2]", "fileIntegrityPaths[0]", ...
	Err    error
}

// Error names the rule, the field and the problem.
func (e *RuleError) Error() string {
	return fmt.Sprintf("rule %q: %s: %s", e.Name, e.Field, cause(e.Err))
}

// Unwrap returns the client-visible *aip.Error first, then the cause.
func (e *RuleError) Unwrap() []error {
	msg := fmt.Sprintf("%s: %s", e.Field, cause(e.Err))
	return []error{&aip.Error{Code: aip.EINVALID, Message: msg}, e.Err}
}

// cause renders an error without its *aip.Error wrapping.
func cause(err error) string {
	var se *SyntaxError
	if errors.As(err, &se) {
		return se.Error()
	}
	return aip.ErrorMessage(err)
}

// compiledRule is a Rule ready for evaluation.
type compiledRule struct {
	rule   Rule // a copy, AggregateFields made effective
	filter node // nil: every event
	supp   []node
	file   *fileMatcher
	title  template
	aggs   []fieldRef
}

// compileRule compiles every part of r and reports the first problem.
func compileRule(r Rule) (*compiledRule, error) {
	fail := func(field string, err error) error {
		return &RuleError{RuleID: r.ID, Name: r.Name, Field: field, Err: err}
	}
	if r.Type.EventTypes() == nil {
		return nil, fail("type", aip.Errorf(aip.EINVALID, "unknown rule type %q", r.Type))
	}
	cr := &compiledRule{rule: r}
	cr.rule.AggregateFields = EffectiveAggregateFields(r.Type, r.AggregateFields)
	cr.rule.Suppressions = append([]string(nil), r.Suppressions...)
	cr.rule.FileIntegrityPaths = append([]FilePath(nil), r.FileIntegrityPaths...)
	cr.rule.EventsToMonitor = append([]string(nil), r.EventsToMonitor...)
	cr.rule.IgnoreFiles = append([]string(nil), r.IgnoreFiles...)
	if strings.TrimSpace(r.Filter) != "" {
		f, err := Compile(r.Filter)
		if err != nil {
			return nil, fail("filter", err)
		}
		cr.filter = f.root
	}
	for i, s := range r.Suppressions {
		f, err := Compile(s)
		if err != nil {
			return nil, fail(fmt.Sprintf("suppressions[%d]", i), err)
		}
		cr.supp = append(cr.supp, f.root)
	}
	if r.Type == TypeFile {
		fm, field, err := newFileMatcher(r)
		if err != nil {
			return nil, fail(field, err)
		}
		cr.file = fm
	}
	cr.title = parseTemplate(r.Title)
	for _, f := range cr.rule.AggregateFields {
		cr.aggs = append(cr.aggs, newFieldRef(f))
	}
	return cr, nil
}

// ValidateRule reports whether the engine can run r: a known type, filters
// and suppressions that parse, and for File rules absolute paths, valid
// globs and known event kinds. Errors are *RuleError.
func ValidateRule(r Rule) error {
	_, err := compileRule(r)
	return err
}

// matches evaluates the rule; fc caches what File rules read of ev across
// the rules of one evaluation.
func (cr *compiledRule) matches(ev *Event, fc *fileCtx) bool {
	if cr.file != nil && !cr.file.match(ev, fc) {
		return false
	}
	if cr.filter != nil && !cr.filter.eval(ev) {
		return false
	}
	for _, s := range cr.supp {
		if s.eval(ev) {
			return false
		}
	}
	return true
}

// ---- File rules

// fileKinds are the FIM event kinds of DECISIONS.md.
var fileKinds = []string{"open", "create", "modify", "delete", "close", "attrib"}

type fileMatcher struct {
	paths    []FilePath // cleaned
	allKinds bool
	kinds    []string
	ignore   []string
}

func newFileMatcher(r Rule) (*fileMatcher, string, error) {
	fm := &fileMatcher{allKinds: len(r.EventsToMonitor) == 0}
	for i, p := range r.FileIntegrityPaths {
		if !strings.HasPrefix(p.Path, "/") {
			return nil, fmt.Sprintf("fileIntegrityPaths[%d]", i), aip.Errorf(aip.EINVALID, "path %q is not absolute", p.Path)
		}
		fm.paths = append(fm.paths, FilePath{Path: path.Clean(p.Path), Recursive: p.Recursive})
	}
	for i, k := range r.EventsToMonitor {
		switch {
		case strings.EqualFold(k, "all"):
			fm.allKinds = true
		case containsFold(fileKinds, k):
			fm.kinds = append(fm.kinds, k)
		default:
			return nil, fmt.Sprintf("eventsToMonitor[%d]", i), aip.Errorf(aip.EINVALID,
				"unknown file event kind %q; expected all, %s", k, strings.Join(fileKinds, ", "))
		}
	}
	for i, g := range r.IgnoreFiles {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Sprintf("ignoreFiles[%d]", i), aip.Errorf(aip.EINVALID, "invalid glob %q", g)
		}
		fm.ignore = append(fm.ignore, g)
	}
	return fm, "", nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// fileCtx is what File rules read of an event, computed on first use in an
// evaluation instead of once per rule.
type fileCtx struct {
	ready      bool
	name, base string // the cleaned filename and its base name; "" without one
	kind       int32  // key of the event's kind ("type"), -1 when missing
}

func (fc *fileCtx) init(ev *Event) {
	if fc.ready {
		return
	}
	fc.ready = true
	fc.kind = ev.first(&refKind)
	if name := ev.firstString(&refFilename); name != "" {
		fc.name = path.Clean(name) // allocates only for an unclean path
		fc.base = path.Base(fc.name)
	}
}

func (fm *fileMatcher) match(ev *Event, fc *fileCtx) bool {
	fc.init(ev)
	if fc.name == "" || !fm.allKinds && !fm.kindMatches(ev, fc.kind) {
		return false
	}
	covered := false
	for _, p := range fm.paths {
		if covers(p, fc.name) {
			covered = true
			break
		}
	}
	if !covered {
		return false
	}
	for _, g := range fm.ignore {
		if ok, _ := path.Match(g, fc.base); ok {
			return false
		}
	}
	return true
}

func (fm *fileMatcher) kindMatches(ev *Event, k int32) bool {
	if k < 0 {
		return false
	}
	for vi := ev.keys[k].first; vi >= 0; vi = ev.vals[vi].next {
		v := &ev.vals[vi]
		if v.kind == kindString && containsFold(fm.kinds, ev.text(v)) {
			return true
		}
	}
	return false
}

// covers reports whether a fileIntegrityPaths entry covers the clean
// absolute path name: the path itself, its direct children, or with
// Recursive every descendant, always on whole path components.
func covers(p FilePath, name string) bool {
	if name == p.Path {
		return true
	}
	dir := p.Path
	if dir != "/" {
		if len(name) <= len(dir) || name[len(dir)] != '/' || name[:len(dir)] != dir {
			return false
		}
	} else if !strings.HasPrefix(name, "/") {
		return false
	}
	if p.Recursive {
		return true
	}
	rest := name[len(dir):]
	rest = strings.TrimPrefix(rest, "/")
	return rest != "" && !strings.Contains(rest, "/")
}

// ---- titles

// template is a parsed title: literal text and field references.
type template struct {
	src  string
	segs []tseg
	refs bool
}

type tseg struct {
	lit string
	ref *fieldRef
}

// parseTemplate splits "{{field}}" references out of a title. Spaces inside
// the braces are ignored; "{{" without a closing "}}" and "{{}}" are text.
func parseTemplate(s string) template {
	t := template{src: s}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			break
		}
		name := strings.TrimSpace(rest[i+2 : i+2+j])
		if name == "" {
			t.segs = append(t.segs, tseg{lit: rest[:i+2+j+2]})
			rest = rest[i+2+j+2:]
			continue
		}
		ref := newFieldRef(name)
		t.segs = append(t.segs, tseg{lit: rest[:i]}, tseg{ref: &ref})
		t.refs = true
		rest = rest[i+2+j+2:]
	}
	t.segs = append(t.segs, tseg{lit: rest})
	return t
}

func (t *template) appendTo(dst []byte, ev *Event) []byte {
	for _, s := range t.segs {
		if s.ref != nil {
			dst = ev.appendRender(dst, s.ref)
		} else {
			dst = append(dst, s.lit...)
		}
	}
	return dst
}

func (t *template) render(ev *Event) string {
	if !t.refs {
		return t.src
	}
	return string(t.appendTo(nil, ev))
}
