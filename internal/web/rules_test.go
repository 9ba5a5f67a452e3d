package web_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// rulesetOf creates a ruleset of orgID.
func (e *env) rulesetOf(t *testing.T, orgID, name string) *aip.Ruleset {
	t.Helper()
	rs := &aip.Ruleset{OrgID: orgID, Name: name, Description: name + " rules"}
	if err := e.store.CreateRuleset(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

// ruleIn creates an enabled Host rule in rs.
func (e *env) ruleIn(t *testing.T, rs *aip.Ruleset, name string) *aip.Rule {
	t.Helper()
	rl := &aip.Rule{OrgID: rs.OrgID, RulesetID: rs.ID, Name: name, Type: "Host", Title: name + " seen",
		SeverityOfAlerts: 2, AlertDescription: name, Filter: `command = "nc"`, Window: 3600, Threshold: 1,
		AggregateFields: []string{}, Suppressions: []string{}, Enabled: true}
	if err := e.store.CreateRule(t.Context(), rl); err != nil {
		t.Fatal(err)
	}
	return rl
}

// ruleFormValues is a valid rule form; change overrides fields.
func ruleFormValues(token string, change map[string]string) url.Values {
	v := url.Values{
		"csrf": {token}, "name": {"Netcat"}, "type": {"Host"}, "title": {"Netcat on {{agent}}"},
		"severityOfAlerts": {"1"}, "alertDescription": {"Netcat was run"}, "filter": {`command in ("nc", "ncat")`},
		"window": {"600"}, "threshold": {"2"}, "suppressions": {"user = \"backup\"\n\n  exe = \"/opt/nc\"  \n"},
		"aggregateFields": {"user, exe"}, "enabled": {"true"},
	}
	for k, val := range change {
		v.Set(k, val)
	}
	return v
}

// rulesBrowser signs a new browser in as email (who belongs to one org).
func (e *env) rulesBrowser(t *testing.T, email string) *browser {
	t.Helper()
	b := e.browser(t)
	if p := b.signIn(email, password); p.status != http.StatusOK {
		t.Fatalf("sign in %s: %d on %s", email, p.status, p.path)
	}
	return b
}

// fieldErr returns the message shown next to field, "" when none.
func fieldErr(p page, field string) (msg, position string) {
	m := regexp.MustCompile(`data-field="` + field + `"(?: data-position="(\d+)")?>([^<]*)<`).FindStringSubmatch(p.body)
	if m == nil {
		return "", ""
	}
	return html.UnescapeString(m[2]), m[1]
}

func TestRulesList(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "owner@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
	rs := e.rulesetOf(t, e.orgA.ID, "Custom")
	on := e.ruleIn(t, rs, "Netcat")
	off := e.ruleIn(t, rs, "Ptrace")
	off.Enabled, off.SeverityOfAlerts = false, 3
	if err := e.store.UpdateRule(t.Context(), off); err != nil {
		t.Fatal(err)
	}
	other := e.ruleIn(t, e.rulesetOf(t, e.orgB.ID, "Secret of B"), "B only")

	p := e.rulesBrowser(t, "owner@example.test").get("/console/rules")
	if p.status != http.StatusOK {
		t.Fatalf("GET /console/rules: %d", p.status)
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)<tr id="rule-([^"]+)" data-rule="[^"]+">(.*?)</tr>`).FindAllStringSubmatch(p.body, -1) {
		cells := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[2], " ")
		rows[m[1]] = strings.Join(strings.Fields(cells), " ")
	}
	want := map[string]string{
		on.ID:  "Netcat Host Medium Enabled Disable Netcat",
		off.ID: "Ptrace Host Low Disabled Enable Ptrace",
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rule rows (-want +got):\n%s", diff)
	}
	for _, leak := range []string{other.ID, "Secret of B", "B only"} {
		if strings.Contains(p.body, leak) {
			t.Errorf("the rules page of org A shows %q of org B", leak)
		}
	}
}

func TestRuleCreateAndEdit(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "owner@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
	rs := e.rulesetOf(t, e.orgA.ID, "Custom")
	b := e.rulesBrowser(t, "owner@example.test")

	var created *aip.Rule
	t.Run("creates a rule and redirects to it", func(t *testing.T) {
		form := b.get("/console/rules/" + rs.ID + "/new")
		if form.status != http.StatusOK {
			t.Fatalf("GET new: %d", form.status)
		}
		p := b.post("/console/rules/"+rs.ID+"/new", ruleFormValues(csrf(t, form), nil))
		if p.status != http.StatusOK || !strings.Contains(p.body, "The rule was saved.") {
			t.Fatalf("create: %d on %s:\n%s", p.status, p.path, p.body)
		}
		list, err := e.store.ListRules(t.Context(), e.orgA.ID, rs.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("rules after create: %v, %v", list, err)
		}
		created = list[0]
		if want := "/console/rules/" + rs.ID + "/" + created.ID; p.path != want {
			t.Errorf("landed on %s, want %s", p.path, want)
		}
		want := &aip.Rule{ID: created.ID, RulesetID: rs.ID, OrgID: e.orgA.ID, Name: "Netcat", Type: "Host",
			Title: "Netcat on {{agent}}", SeverityOfAlerts: 1, AlertDescription: "Netcat was run",
			AggregateFields: []string{"user", "exe"}, Filter: `command in ("nc", "ncat")`, Window: 600, Threshold: 2,
			Suppressions: []string{`user = "backup"`, `exe = "/opt/nc"`}, Enabled: true}
		if diff := cmp.Diff(want, created, cmpopts.IgnoreFields(aip.Rule{}, "CreatedAt", "UpdatedAt", "OrgID")); diff != "" {
			t.Errorf("stored rule (-want +got):\n%s", diff)
		}
	})
	if created == nil {
		t.FailNow()
	}
	rulePath := "/console/rules/" + rs.ID + "/" + created.ID

	t.Run("shows the filter parse error with its position and keeps the input", func(t *testing.T) {
		for _, path := range []string{"/console/rules/" + rs.ID + "/new", rulePath} {
			form := b.get(path)
			bad := `user = "root" and and`
			p := b.post(path, ruleFormValues(csrf(t, form), map[string]string{"name": "Kept <name>", "filter": bad}))
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("%s: status %d, want 422", path, p.status)
			}
			msg, pos := fieldErr(p, "filter")
			want := `filter: syntax error at position 19: expected a condition (a field name, not or a parenthesis), found "and"`
			if msg != want || pos != "19" {
				t.Errorf("%s: filter error %q at %q, want %q at 19", path, msg, pos, want)
			}
			for _, kept := range []string{`value="Kept &lt;name&gt;"`, `>user = &#34;root&#34; and and</textarea>`, `value="Netcat was run"`} {
				if !strings.Contains(p.body, kept) {
					t.Errorf("%s: the form lost %s:\n%s", path, kept, p.body)
				}
			}
		}
		list, _ := e.store.ListRules(t.Context(), e.orgA.ID, rs.ID)
		if len(list) != 1 || list[0].Name != "Netcat" {
			t.Errorf("a refused form changed the rules: %+v", list)
		}
	})
	t.Run("reports every invalid field like the API", func(t *testing.T) {
		form := b.get(rulePath)
		p := b.post(rulePath, ruleFormValues(csrf(t, form), map[string]string{
			"name": "", "severityOfAlerts": "7", "window": "-1", "threshold": "x", "suppressions": "ok = \"1\"\nuser ==",
		}))
		if p.status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", p.status)
		}
		got := map[string]string{}
		for _, f := range []string{"name", "severityOfAlerts", "window", "threshold", "suppressions", "filter"} {
			if msg, _ := fieldErr(p, f); msg != "" {
				got[f] = msg
			}
		}
		want := map[string]string{
			"name":             "Must be between 1 and 200 characters long.",
			"severityOfAlerts": "Must be 1, 2 or 3.",
			"window":           "Must be a number of seconds, 0 or more.",
			"threshold":        "Must be 0 or more.",
			"suppressions":     `suppressions[1]: syntax error at position 7: expected a quoted string, a number or null after =, found "="`,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("field errors (-want +got):\n%s", diff)
		}
	})
	t.Run("requires a filter for a Host rule and paths for a File rule", func(t *testing.T) {
		form := b.get(rulePath)
		p := b.post(rulePath, ruleFormValues(csrf(t, form), map[string]string{"filter": "  "}))
		if msg, _ := fieldErr(p, "filter"); msg != "Must not be empty." {
			t.Errorf("empty filter: %q", msg)
		}
		p = b.post(rulePath, ruleFormValues(csrf(t, form), map[string]string{"type": "File", "filter": ""}))
		if msg, _ := fieldErr(p, "fileIntegrityPaths"); msg != "File rules must watch at least one path." {
			t.Errorf("File rule without paths: %q", msg)
		}
	})
	t.Run("saves an edit and redirects to the rule", func(t *testing.T) {
		form := b.get(rulePath)
		p := b.post(rulePath, ruleFormValues(csrf(t, form), map[string]string{"name": "Netcat renamed", "suppressions": "", "enabled": ""}))
		if p.status != http.StatusOK || p.path != rulePath || !strings.Contains(p.body, "The rule was saved.") {
			t.Fatalf("edit: %d on %s", p.status, p.path)
		}
		got, err := e.store.FindRule(t.Context(), e.orgA.ID, rs.ID, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Netcat renamed" || len(got.Suppressions) != 0 || got.Enabled {
			t.Errorf("after edit: name %q, suppressions %q, enabled %v", got.Name, got.Suppressions, got.Enabled)
		}
	})
	t.Run("saves a File rule", func(t *testing.T) {
		form := b.get(rulePath)
		p := b.post(rulePath, ruleFormValues(csrf(t, form), map[string]string{"type": "File", "filter": "",
			"pathsRecursive": "/etc\n", "paths": "/usr/bin", "eventsToMonitor": "modify, delete", "ignoreFiles": "*.swp"}))
		if p.status != http.StatusOK {
			t.Fatalf("File rule: %d:\n%s", p.status, p.body)
		}
		got, err := e.store.FindRule(t.Context(), e.orgA.ID, rs.ID, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []aip.FileIntegrityPath{{Path: "/etc", Recursive: true}, {Path: "/usr/bin"}}
		if diff := cmp.Diff(want, got.FileIntegrityPaths); diff != "" || got.Type != "File" {
			t.Errorf("File rule %s paths (-want +got):\n%s", got.Type, diff)
		}
	})
}

func TestRuleToggle(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "user@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleUser})
	rs := e.rulesetOf(t, e.orgA.ID, "Custom")
	rl := e.ruleIn(t, rs, "Netcat")
	b := e.rulesBrowser(t, "user@example.test")
	path := "/console/rules/" + rs.ID + "/" + rl.ID + "/toggle"

	for _, tt := range []struct {
		name, enabled, next, wantPath string
		want                          bool
	}{
		{"disables a rule from the list", "false", "", "/console/rules", false},
		{"disables a disabled rule again", "false", "", "/console/rules", false},
		{"enables a rule from its page", "true", "rule", "/console/rules/" + rs.ID + "/" + rl.ID, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			form := b.get("/console/rules")
			p := b.post(path, url.Values{"csrf": {csrf(t, form)}, "enabled": {tt.enabled}, "next": {tt.next}})
			if p.status != http.StatusOK || p.path != tt.wantPath {
				t.Fatalf("toggle: %d on %s, want 200 on %s", p.status, p.path, tt.wantPath)
			}
			got, err := e.store.FindRule(t.Context(), e.orgA.ID, rs.ID, rl.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Enabled != tt.want || got.Filter != rl.Filter {
				t.Errorf("enabled %v filter %q, want %v and the filter unchanged", got.Enabled, got.Filter, tt.want)
			}
		})
	}
}

func TestRuleValidate(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "reader@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleReader})
	b := e.rulesBrowser(t, "reader@example.test")
	token := csrf(t, b.get("/console/rules"))

	type result struct {
		OK       bool   `json:"ok"`
		Error    string `json:"error"`
		Position int    `json:"position"`
	}
	for _, tt := range []struct {
		name   string
		post   bool
		filter string
		typ    string
		want   result
	}{
		{"accepts a valid filter (GET)", false, `command = "nc"`, "", result{OK: true}},
		{"reports the error and position (GET)", false, "command = ", "", result{Error: "syntax error at position 11: expected a quoted string, a number or null after =, found the end of the filter", Position: 11}},
		{"reports the error and position (POST)", true, `user = "root" and and`, "Host", result{Error: `syntax error at position 19: expected a condition (a field name, not or a parenthesis), found "and"`, Position: 19}},
		{"refuses an empty Host filter", true, " ", "Host", result{Error: "Must not be empty."}},
		{"accepts an empty File filter", true, "", "File", result{OK: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var p page
			if tt.post {
				p = b.post("/console/rules/validate", url.Values{"csrf": {token}, "filter": {tt.filter}, "type": {tt.typ}})
			} else {
				p = b.get("/console/rules/validate?" + url.Values{"filter": {tt.filter}}.Encode())
			}
			if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q", p.status, p.header.Get("Content-Type"))
			}
			var got result
			if err := json.Unmarshal([]byte(p.body), &got); err != nil {
				t.Fatalf("%v: %s", err, p.body)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("refuses a POST without the CSRF token", func(t *testing.T) {
		p := b.post("/console/rules/validate", url.Values{"filter": {`x = "1"`}})
		if p.status != http.StatusForbidden {
			t.Errorf("status %d, want 403", p.status)
		}
	})
}

func TestRulesForbidden(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "reader@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleReader})
	e.user(t, "owner@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
	rs := e.rulesetOf(t, e.orgA.ID, "Custom")
	rl := e.ruleIn(t, rs, "Netcat")
	rsB := e.rulesetOf(t, e.orgB.ID, "B")
	rlB := e.ruleIn(t, rsB, "B rule")

	t.Run("shows a reader the rule read-only", func(t *testing.T) {
		b := e.rulesBrowser(t, "reader@example.test")
		p := b.get("/console/rules/" + rs.ID + "/" + rl.ID)
		if p.status != http.StatusOK {
			t.Fatalf("status %d", p.status)
		}
		if !strings.Contains(p.body, "<fieldset disabled>") || strings.Contains(p.body, "Save rule") || strings.Contains(p.body, "/toggle") {
			t.Errorf("the reader's rule page is not read-only:\n%s", p.body)
		}
		if list := b.get("/console/rules"); strings.Contains(list.body, "/toggle") || strings.Contains(list.body, "/new") {
			t.Errorf("the reader's rules list offers changes:\n%s", list.body)
		}
	})
	t.Run("refuses a reader every change", func(t *testing.T) {
		b := e.rulesBrowser(t, "reader@example.test")
		token := csrf(t, b.get("/console/rules"))
		for _, tt := range []struct {
			method, path string
		}{
			{"GET", "/console/rules/" + rs.ID + "/new"},
			{"POST", "/console/rules/" + rs.ID + "/new"},
			{"POST", "/console/rules/" + rs.ID + "/" + rl.ID},
			{"POST", "/console/rules/" + rs.ID + "/" + rl.ID + "/toggle"},
		} {
			var p page
			if tt.method == "GET" {
				p = b.get(tt.path)
			} else {
				p = b.post(tt.path, ruleFormValues(token, map[string]string{"name": "Reader's", "enabled": "false"}))
			}
			if p.status != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", tt.method, tt.path, p.status)
			}
		}
		assertRuleUnchanged(t, e, rl)
	})
	t.Run("refuses posts without the CSRF token", func(t *testing.T) {
		b := e.rulesBrowser(t, "owner@example.test")
		for _, path := range []string{"/console/rules/" + rs.ID + "/new", "/console/rules/" + rs.ID + "/" + rl.ID, "/console/rules/" + rs.ID + "/" + rl.ID + "/toggle"} {
			p := b.post(path, ruleFormValues("", map[string]string{"name": "Forged", "enabled": "false"}))
			if p.status != http.StatusForbidden {
				t.Errorf("POST %s without CSRF: %d, want 403", path, p.status)
			}
		}
		assertRuleUnchanged(t, e, rl)
		if list, _ := e.store.ListRules(t.Context(), e.orgA.ID, rs.ID); len(list) != 1 {
			t.Errorf("a forged create added a rule: %d rules", len(list))
		}
	})
	t.Run("answers 404 for another organization's rules", func(t *testing.T) {
		b := e.rulesBrowser(t, "owner@example.test")
		token := csrf(t, b.get("/console/rules"))
		for _, tt := range []struct {
			method, path string
		}{
			{"GET", "/console/rules/" + rsB.ID + "/" + rlB.ID},
			{"GET", "/console/rules/" + rs.ID + "/" + rlB.ID},
			{"GET", "/console/rules/" + rsB.ID + "/new"},
			{"GET", "/console/rules/not-a-uuid/" + rl.ID},
			{"POST", "/console/rules/" + rsB.ID + "/" + rlB.ID},
			{"POST", "/console/rules/" + rsB.ID + "/" + rlB.ID + "/toggle"},
			{"POST", "/console/rules/" + rsB.ID + "/new"},
		} {
			var p page
			if tt.method == "GET" {
				p = b.get(tt.path)
			} else {
				p = b.post(tt.path, ruleFormValues(token, map[string]string{"enabled": "false"}))
			}
			if p.status != http.StatusNotFound || strings.Contains(p.body, "B rule") {
				t.Errorf("%s %s: %d, want 404 without org B's data", tt.method, tt.path, p.status)
			}
		}
		assertRuleUnchanged(t, e, rlB)
		if list, _ := e.store.ListRules(t.Context(), e.orgB.ID, rsB.ID); len(list) != 1 {
			t.Errorf("org B has %d rules, want 1", len(list))
		}
	})
}

// assertRuleUnchanged checks that the stored rule still equals want.
func assertRuleUnchanged(t *testing.T, e *env, want *aip.Rule) {
	t.Helper()
	got, err := e.store.FindRule(t.Context(), want.OrgID, want.RulesetID, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(aip.Rule{}, "CreatedAt", "UpdatedAt", "OrgID")); diff != "" {
		t.Errorf("rule changed (-want +got):\n%s", diff)
	}
}

func TestRuleFilterScript(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "owner@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
	rs := e.rulesetOf(t, e.orgA.ID, "Custom")
	b := e.rulesBrowser(t, "owner@example.test")

	p := b.get("/console/rules/" + rs.ID + "/new")
	const tag = `<script src="/console/static/rule-filter.js" defer></script>`
	if !strings.Contains(p.body, tag) || !strings.Contains(p.body, `data-validate-url="/console/rules/validate"`) {
		t.Errorf("the rule form does not load the live filter check:\n%s", p.body)
	}
	if regexp.MustCompile(`<script>|<script [^s]|on(input|click|load)=`).MatchString(p.body) {
		t.Error("the rule form has inline script, which the CSP blocks")
	}
	js := b.get("/console/static/rule-filter.js")
	if js.status != http.StatusOK || !strings.Contains(js.body, "data-validate-url") {
		t.Errorf("GET rule-filter.js: %d", js.status)
	}
}
