package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func TestParseRuleType(t *testing.T) {
	tests := []struct {
		in     string
		want   RuleType
		wantOK bool
	}{
		{"host", TypeHost, true}, {"HOST", TypeHost, true}, {"File", TypeFile, true}, {"cloudtrail", TypeCloudTrail, true},
		{"threatintel", TypeThreatIntel, true}, {"winsec", TypeWinsec, true}, {"kubernetesaudit", TypeKubernetesAudit, true},
		{"KubernetesConfig", TypeKubernetesConfig, true}, {"all", "", false}, {"", "", false}, {"Audit", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseRuleType(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRuleType(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRoutingByEventType(t *testing.T) {
	var rules []Rule
	for _, rt := range RuleTypes() {
		rules = append(rules, Rule{ID: string(rt), Name: string(rt), Type: rt, Enabled: true, Filter: `x = "1"`,
			FileIntegrityPaths: []FilePath{{Path: "/", Recursive: true}}})
	}
	eng, err := NewEngine(rules)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		eventType string
		want      []string
	}{
		{"audit", []string{"Host"}}, {"host", []string{"Host"}}, {"login", []string{"Host"}}, {"network", []string{"Host"}},
		{"file", []string{"File"}}, {"cloudtrail", []string{"CloudTrail"}}, {"threatintel", []string{"ThreatIntel"}},
		{"winsec", []string{"Winsec"}}, {"kubernetes_audit", []string{"KubernetesAudit"}},
		{"kubernetes_config", []string{"KubernetesConfig"}}, {"unknown", nil}, {"", nil},
	}
	for _, tt := range tests {
		js := `{"event_type":"` + tt.eventType + `","x":"1","filename":"/etc/passwd","type":"open"}`
		var got []string
		eng.Evaluate(mustEvent(t, js), func(m Match) { got = append(got, m.Rule.ID) })
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("event_type %q (-want +got):\n%s", tt.eventType, diff)
		}
	}
}

func TestEngineSkipsDisabledRulesButCompilesThem(t *testing.T) {
	eng, err := NewEngine([]Rule{{ID: "off", Type: TypeHost, Filter: `command = "ls"`}})
	if err != nil {
		t.Fatal(err)
	}
	if n := eng.Evaluate(mustEvent(t, `{"event_type":"audit","command":"ls"}`), func(Match) {}); n != 0 {
		t.Errorf("a disabled rule matched %d times", n)
	}
	if _, err := NewEngine([]Rule{{ID: "off", Name: "broken", Type: TypeHost, Filter: `command = `}}); err == nil {
		t.Error("a disabled rule with a broken filter was accepted")
	}
}

func TestEvaluateRulesets(t *testing.T) {
	rules := []Rule{
		{ID: "a1", RulesetID: "A", Type: TypeHost, Filter: `command = "ls"`, Enabled: true},
		{ID: "b1", RulesetID: "B", Type: TypeHost, Filter: `command = "ls"`, Enabled: true},
		{ID: "b2", RulesetID: "B", Type: TypeHost, Filter: `user = "root"`, Enabled: true},
		{ID: "c1", RulesetID: "C", Type: TypeFile, Enabled: true, FileIntegrityPaths: []FilePath{{Path: "/etc"}}},
	}
	eng, err := NewEngine(rules)
	if err != nil {
		t.Fatal(err)
	}
	ev := mustEvent(t, `{"event_type":"audit","command":"ls","user":"root"}`)
	tests := []struct {
		name     string
		rulesets []string
		want     []string
	}{
		{"evaluates one ruleset", []string{"A"}, []string{"a1"}},
		{"evaluates rulesets in the given order", []string{"B", "A"}, []string{"b1", "b2", "a1"}},
		{"evaluates a repeated ruleset once", []string{"A", "A"}, []string{"a1"}},
		{"ignores unknown rulesets", []string{"Z"}, nil},
		{"finds nothing without rulesets", nil, nil},
		{"ignores rulesets without rules for the type", []string{"C"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			n := eng.EvaluateRulesets(ev, tt.rulesets, func(m Match) { got = append(got, m.Rule.ID) })
			if diff := cmp.Diff(tt.want, got); diff != "" || n != len(got) {
				t.Errorf("matches (-want +got):\n%s (count %d)", diff, n)
			}
		})
	}
}

// TestPrefilterAgreesWithFullEvaluation checks the anchor index against
// evaluating every rule, over rules written to stress it: numeric, null and
// alias literals, arrays, CloudTrail fields and negations.
func TestPrefilterAgreesWithFullEvaluation(t *testing.T) {
	rules := benchRules()
	extra := []string{
		`command in ("ls", "grep") and user = "ubuntu"`,
		`pid = "23001"`,
		`ip = "203.0.113.9"`,
		`group = "invalid_login"`,
		`eventName = "GetObject"`,
		`tty = null and command = "ps"`,
		`not command = "ls"`,
		`command = "ls" or user = "root"`,
		`event_type = "audit" and uid = 1000`,
		`event_type = "login"`,
		`type = "start" and command = "sudo"`,
		`host_metadata.hostname = "web-1" and command = "git"`,
		`agent = "web-1" and command = "node"`,
		`success = "true" and command = "java"`,
	}
	for i, f := range extra {
		for _, typ := range []RuleType{TypeHost, TypeFile, TypeCloudTrail, TypeThreatIntel} {
			rules = append(rules, Rule{ID: "x" + itoa(i) + string(typ), Type: typ, Filter: f, Enabled: true,
				FileIntegrityPaths: []FilePath{{Path: "/", Recursive: true}}})
		}
	}
	eng, err := NewEngine(rules)
	if err != nil {
		t.Fatal(err)
	}
	events := benchEvents()
	events = append(events,
		[]byte(`{"event_type":"cloudtrail","user":"ryan","miscellaneous":{"eventName":"GetObject","requestParameters":{"bucketName":"xx"}}}`),
		[]byte(`{"event_type":"audit","command":["ls","grep"],"user":"ubuntu","pid":23001.0}`),
		[]byte(`{"event_type":"audit","command":null,"tty":null}`),
	)
	for _, data := range events {
		ev := mustEvent(t, string(data))
		var got, want []string
		eng.Evaluate(ev, func(m Match) { got = append(got, m.Rule.ID) })
		for _, cr := range eng.rules {
			if !cr.rule.Enabled || !routes(cr.rule.Type, ev.Type()) {
				continue
			}
			if cr.matches(ev, &fileCtx{}) {
				want = append(want, cr.rule.ID)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("event %s (-full +indexed):\n%s", data[:min(len(data), 120)], diff)
		}
	}
}

func routes(rt RuleType, eventType string) bool {
	for _, t := range rt.EventTypes() {
		if t == eventType {
			return true
		}
	}
	return false
}

func TestFilePathCoverage(t *testing.T) {
	tests := []struct {
		path      string
		recursive bool
		name      string
		want      bool
	}{
		{"/etc", false, "/etc", true},
		{"/etc", false, "/etc/passwd", true},
		{"/etc", false, "/etc/ssh/sshd_config", false},
		{"/etc", true, "/etc/ssh/sshd_config", true},
		{"/etc", false, "/etcetera/x", false},
		{"/etc", true, "/etcetera/x", false},
		{"/etc", false, "/etcx", false},
		{"/etc", false, "/", false},
		{"/etc/passwd", false, "/etc/passwd", true},
		{"/etc/passwd", false, "/etc/passwd-", false},
		{"/", false, "/etc", true},
		{"/", false, "/etc/passwd", false},
		{"/", true, "/etc/passwd", true},
		{"/home/ubuntu/.aws", false, "/home/ubuntu/.aws/credentials", true},
		{"/home/ubuntu/.aws", false, "/home/ubuntu/.awsx/credentials", false},
	}
	for _, tt := range tests {
		if got := covers(FilePath{Path: tt.path, Recursive: tt.recursive}, tt.name); got != tt.want {
			t.Errorf("covers(%q, recursive=%v, %q) = %v, want %v", tt.path, tt.recursive, tt.name, got, tt.want)
		}
	}
}

func TestFileRuleMatching(t *testing.T) {
	base := Rule{ID: "f", Type: TypeFile, Enabled: true, FileIntegrityPaths: []FilePath{{Path: "/etc/"}, {Path: "/var/www", Recursive: true}}}
	tests := []struct {
		name   string
		kinds  []string
		ignore []string
		ev     string
		want   bool
	}{
		{"matches a child of a path written with a slash", []string{"modify"}, nil, `"type":"modify","filename":"/etc/passwd"`, true},
		{"matches a cleaned path", []string{"modify"}, nil, `"type":"modify","filename":"/etc//ssh/../passwd"`, true},
		{"rejects a path that leaves by ..", []string{"modify"}, nil, `"type":"modify","filename":"/etc/../root/x"`, false},
		{"matches a deep recursive path", []string{"modify"}, nil, `"type":"modify","filename":"/var/www/html/a/b.php"`, true},
		{"rejects an unlisted kind", []string{"modify"}, nil, `"type":"open","filename":"/etc/passwd"`, false},
		{"matches kinds case-insensitively", []string{"MODIFY"}, nil, `"type":"Modify","filename":"/etc/passwd"`, true},
		{"matches every kind with all", []string{"ALL"}, nil, `"type":"attrib","filename":"/etc/passwd"`, true},
		{"treats no kinds as all", nil, nil, `"type":"close","filename":"/etc/passwd"`, true},
		{"rejects an event without a kind", []string{"open"}, nil, `"filename":"/etc/passwd"`, false},
		{"rejects an event without a filename", []string{"all"}, nil, `"type":"open"`, false},
		{"ignores by base name glob", []string{"all"}, []string{"*.swp"}, `"type":"open","filename":"/etc/.passwd.swp"`, false},
		{"applies globs to the base name only", []string{"all"}, []string{"etc*"}, `"type":"open","filename":"/etc/passwd"`, true},
		{"ignores with character classes", []string{"all"}, []string{"[a-p]asswd"}, `"type":"open","filename":"/etc/passwd"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			r.EventsToMonitor, r.IgnoreFiles = tt.kinds, tt.ignore
			got := evalOne(t, r, `{"event_type":"file",`+tt.ev+`}`) != nil
			if got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateRule(t *testing.T) {
	ok := Rule{ID: "r", Name: "ok", Type: TypeFile, Filter: `user = "x"`, FileIntegrityPaths: []FilePath{{Path: "/etc"}},
		EventsToMonitor: []string{"open"}, IgnoreFiles: []string{"*.swp"}}
	if err := ValidateRule(ok); err != nil {
		t.Fatalf("ValidateRule(valid) = %v", err)
	}
	tests := []struct {
		name      string
		mutate    func(*Rule)
		wantField string
		wantMsg   string
	}{
		{"rejects a broken filter", func(r *Rule) { r.Filter = `user = ”x”` }, "filter", "filter: syntax error at position 8: smart quote"},
		{"rejects a broken suppression", func(r *Rule) { r.Suppressions = []string{`a = 1`, `(a = 1`} }, "suppressions[1]", "suppressions[1]: syntax error at position 1"},
		{"rejects an empty suppression", func(r *Rule) { r.Suppressions = []string{" "} }, "suppressions[0]", "empty"},
		{"rejects an unknown type", func(r *Rule) { r.Type = "Audit" }, "type", `unknown rule type "Audit"`},
		{"rejects a relative path", func(r *Rule) { r.FileIntegrityPaths = []FilePath{{Path: "etc"}} }, "fileIntegrityPaths[0]", "not absolute"},
		{"rejects a bad glob", func(r *Rule) { r.IgnoreFiles = []string{"ok", "[x"} }, "ignoreFiles[1]", "invalid glob"},
		{"rejects an unknown kind", func(r *Rule) { r.EventsToMonitor = []string{"open", "rename"} }, "eventsToMonitor[1]", `unknown file event kind "rename"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.mutate(&r)
			err := ValidateRule(r)
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("ValidateRule = %v, want a *RuleError", err)
			}
			if re.Field != tt.wantField || re.RuleID != "r" {
				t.Errorf("RuleError field %q id %q, want %q, r", re.Field, re.RuleID, tt.wantField)
			}
			if aip.ErrorCode(err) != aip.EINVALID || !strings.Contains(aip.ErrorMessage(err), tt.wantMsg) {
				t.Errorf("client error %q %q, want EINVALID containing %q", aip.ErrorCode(err), aip.ErrorMessage(err), tt.wantMsg)
			}
			if !strings.Contains(err.Error(), `rule "ok"`) {
				t.Errorf("Error() = %q, want the rule name", err.Error())
			}
		})
	}
	var se *SyntaxError
	if err := ValidateRule(Rule{Type: TypeHost, Filter: "a ="}); !errors.As(err, &se) {
		t.Errorf("a filter error does not unwrap to *SyntaxError: %v", err)
	}
}

func TestEffectiveAggregateFields(t *testing.T) {
	tests := []struct {
		typ  RuleType
		in   []string
		want []string
	}{
		{TypeHost, nil, []string{}},
		{TypeHost, []string{"user", "rule_id", "exe", "user"}, []string{"user", "exe"}},
		{TypeFile, nil, []string{"command", "filename"}},
		{TypeFile, []string{"filename", "user"}, []string{"filename", "user", "command"}},
		{TypeFile, []string{"command", "filename", "arguments"}, []string{"command", "filename", "arguments"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, EffectiveAggregateFields(tt.typ, tt.in)); diff != "" {
			t.Errorf("EffectiveAggregateFields(%s, %v) (-want +got):\n%s", tt.typ, tt.in, diff)
		}
	}
}

func TestTitles(t *testing.T) {
	ev := `{"event_type":"audit","user":"root","exe":"/bin/su","pid":42,"args":["su","-"],"parent_metadata":{"exe":"/bin/bash"}}`
	tests := []struct{ title, want string }{
		{"plain title", "plain title"},
		{"{{user}}", "root"},
		{"{{ user }} ran {{exe}}", "root ran /bin/su"},
		{"pid {{pid}}", "pid 42"},
		{"argv {{args}}", "argv su, -"},
		{"parent {{parent_metadata.exe}}", "parent /bin/bash"},
		{"missing [{{nosuch}}]", "missing []"},
		{"  spaced  ", "  spaced  "},
		{"{{}} and {{user", "{{}} and {{user"},
		{"{{user}}}", "root}"},
		{"agent {{agent}}", "agent "},
	}
	for _, tt := range tests {
		r := Rule{ID: "t", Type: TypeHost, Title: tt.title, Enabled: true}
		got := evalOne(t, r, ev)
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("title %q = %q, want %q", tt.title, got, tt.want)
		}
	}
}

func TestAggregates(t *testing.T) {
	ev := mustEvent(t, `{"event_type":"file","type":"open","filename":"/etc/passwd","command":"cat","user":"root","session":4294967295,"ratio":1.50,"tty":null,"group":["a","b"]}`)
	rules := []Rule{
		{ID: "h", Type: TypeHost, Enabled: true, AggregateFields: []string{"user", "session", "ratio", "tty", "nosuch", "group"}},
		{ID: "f", Type: TypeFile, Enabled: true, AggregateFields: []string{"user", "rule_id"}, FileIntegrityPaths: []FilePath{{Path: "/etc"}}},
	}
	eng, err := NewEngine(rules)
	if err != nil {
		t.Fatal(err)
	}
	var got []Aggregate
	eng.Evaluate(ev, func(m Match) { got = m.Aggregates() })
	want := []Aggregate{{"user", "root"}, {"command", "cat"}, {"filename", "/etc/passwd"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("File aggregates (-want +got):\n%s", diff)
	}
	ev2 := mustEvent(t, strings.Replace(ev.JSON(), `"file"`, `"audit"`, 1))
	eng.Evaluate(ev2, func(m Match) { got = m.Aggregates() })
	want = []Aggregate{{"user", "root"}, {"session", "4294967295"}, {"ratio", "1.50"}, {"tty", ""}, {"nosuch", ""}, {"group", "a, b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Host aggregates (-want +got):\n%s", diff)
	}
}

func TestMatchKey(t *testing.T) {
	rule := Rule{ID: "11111111-1111-4111-8111-111111111111", Type: TypeHost, Enabled: true, AggregateFields: []string{"user", "exe"}}
	eng, err := NewEngine([]Rule{rule})
	if err != nil {
		t.Fatal(err)
	}
	key := func(js, agent string) string {
		var k string
		eng.Evaluate(mustEvent(t, js), func(m Match) { k = m.Key(agent) })
		return k
	}
	a := key(`{"event_type":"audit","user":"root","exe":"/bin/su","pid":1}`, "agent-1")
	if !strings.HasPrefix(a, rule.ID+"-agent-1-") || len(a) != len(rule.ID+"-agent-1-")+32 {
		t.Errorf("key %q does not have the shape <rule>-<agent>-<32 hex>", a)
	}
	tests := []struct {
		name, js, agent string
		same            bool
	}{
		{"shares the key when only other fields differ", `{"event_type":"audit","user":"root","exe":"/bin/su","pid":2}`, "agent-1", true},
		{"separates agents", `{"event_type":"audit","user":"root","exe":"/bin/su"}`, "agent-2", false},
		{"separates aggregate values", `{"event_type":"audit","user":"root","exe":"/bin/sh"}`, "agent-1", false},
		{"keeps value boundaries", `{"event_type":"audit","user":"roo","exe":"t/bin/su"}`, "agent-1", false},
	}
	for _, tt := range tests {
		if got := key(tt.js, tt.agent) == a; got != tt.same {
			t.Errorf("%s: same key = %v", tt.name, got)
		}
	}
}

func TestEvaluateAllocatesNothing(t *testing.T) {
	eng, err := NewEngine(benchRules())
	if err != nil {
		t.Fatal(err)
	}
	var evs []*Event
	for _, data := range benchEvents() {
		evs = append(evs, mustEvent(t, string(data)))
	}
	matches := 0
	fn := func(Match) { matches++ }
	allocs := testing.AllocsPerRun(20, func() {
		for _, ev := range evs {
			eng.Evaluate(ev, fn)
		}
	})
	if allocs != 0 {
		t.Errorf("Evaluate allocated %v times per corpus pass, want 0", allocs)
	}
	if matches == 0 {
		t.Error("the corpus matched no rule, so the test proves little")
	}
}

func TestDecodeAllocatesOnlyTheText(t *testing.T) {
	var ev Event
	corpus := benchEvents()
	for _, data := range corpus { // warm the reusable storage
		if err := ev.Decode(data); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(20, func() {
		for _, data := range corpus {
			_ = ev.Decode(data)
		}
	})
	if allocs > float64(len(corpus)) {
		t.Errorf("Decode allocated %v times for %d events, want at most one each", allocs, len(corpus))
	}
}
