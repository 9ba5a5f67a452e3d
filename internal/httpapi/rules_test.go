package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/rules"
)

func TestCreateRule(t *testing.T) {
	f := newRulesFixture(t)
	h := f.h
	rs := f.ruleset(t, f.owner, "Rules")
	path := "/v2/rulesets/" + rs.ID + "/rules"
	desc300 := strings.Repeat("d", 300)

	cases := []struct {
		name   string
		as     account
		body   []byte
		status int
		msg    string
		check  func(t *testing.T, r *aip.Rule)
	}{
		{name: "creates a Host rule", as: f.user, body: ruleBody(nil), status: 200, check: func(t *testing.T, r *aip.Rule) {
			want := &aip.Rule{ID: r.ID, RulesetID: rs.ID, Name: "Sudo", Type: "Host", CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
				Title: "sudo by {{user}}", SeverityOfAlerts: 2, AlertDescription: "Sudo was used", AggregateFields: []string{"user"},
				Filter: `command = "sudo"`, Window: 3600, Threshold: 1, Suppressions: []string{`user = "deploy"`}, Enabled: true}
			if diff := cmp.Diff(want, r); diff != "" {
				t.Errorf("rule (-want +got):\n%s", diff)
			}
			if !aip.IsUUID(r.ID) || r.CreatedAt.IsZero() {
				t.Errorf("id %q, createdAt %v: want a UUID and a time", r.ID, r.CreatedAt)
			}
		}},
		{name: "answers the type in canonical case", as: f.owner, body: ruleBody(func(m map[string]any) { m["type"] = "hOsT" }), status: 200, check: func(t *testing.T, r *aip.Rule) {
			if r.Type != "Host" {
				t.Errorf("type = %q, want Host", r.Type)
			}
		}},
		{name: "drops the aggregate rule_id", as: f.owner, body: ruleBody(func(m map[string]any) { m["aggregateFields"] = []string{"rule_id", "user", "exe"} }), status: 200, check: func(t *testing.T, r *aip.Rule) {
			if diff := cmp.Diff([]string{"user", "exe"}, r.AggregateFields); diff != "" {
				t.Errorf("aggregateFields (-want +got):\n%s", diff)
			}
		}},
		{name: "appends command and filename to a File rule", as: f.owner, body: ruleBody(fileRule), status: 200, check: func(t *testing.T, r *aip.Rule) {
			if r.Type != "File" {
				t.Errorf("type = %q, want File", r.Type)
			}
			if diff := cmp.Diff([]string{"user", "command", "filename"}, r.AggregateFields); diff != "" {
				t.Errorf("aggregateFields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]aip.FileIntegrityPath{{Path: "/etc", Recursive: true}}, r.FileIntegrityPaths); diff != "" {
				t.Errorf("fileIntegrityPaths (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"modify"}, r.EventsToMonitor); diff != "" {
				t.Errorf("eventsToMonitor (-want +got):\n%s", diff)
			}
		}},
		{name: "drops File fields of other types", as: f.owner, body: ruleBody(func(m map[string]any) {
			m["fileIntegrityPaths"] = []map[string]any{{"path": "/etc", "recursive": false}}
		}), status: 200, check: func(t *testing.T, r *aip.Rule) {
			if r.FileIntegrityPaths != nil {
				t.Errorf("fileIntegrityPaths = %v, want none", r.FileIntegrityPaths)
			}
		}},
		{name: "ignores read-only fields", as: f.owner, body: ruleBody(func(m map[string]any) {
			m["id"], m["rulesetId"] = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
			m["createdAt"], m["updatedAt"] = "2019-09-23T15:02:25.924Z", "whenever"
		}), status: 200, check: func(t *testing.T, r *aip.Rule) {
			if r.ID == "11111111-1111-4111-8111-111111111111" || r.RulesetID != rs.ID || r.CreatedAt.Year() == 2019 {
				t.Errorf("rule = %+v: read-only fields were taken from the body", r)
			}
		}},
		{name: "accepts severityOfAlerts as a quoted number", as: f.owner, body: ruleBody(func(m map[string]any) { m["severityOfAlerts"] = "1" }), status: 200, check: func(t *testing.T, r *aip.Rule) {
			if r.SeverityOfAlerts != 1 {
				t.Errorf("severityOfAlerts = %d, want 1", r.SeverityOfAlerts)
			}
		}},
		{name: "accepts an alertDescription of 300 characters", as: f.owner, body: ruleBody(func(m map[string]any) { m["alertDescription"] = desc300 }), status: 200},
		{name: "rejects an alertDescription of 301 characters", as: f.owner, body: ruleBody(func(m map[string]any) { m["alertDescription"] = desc300 + "d" }), status: 400,
			msg: "Validation failed: body has invalid alertDescription value.  Must be between 1 and 300 characters long."},
		{name: "rejects an empty alertDescription", as: f.owner, body: ruleBody(func(m map[string]any) { m["alertDescription"] = "" }), status: 400, msg: "invalid alertDescription value"},
		{name: "rejects a missing alertDescription", as: f.owner, body: ruleBody(func(m map[string]any) { delete(m, "alertDescription") }), status: 400, msg: "invalid alertDescription value"},
		{name: "rejects an unknown type", as: f.owner, body: ruleBody(func(m map[string]any) { m["type"] = "Mainframe" }), status: 400, msg: "invalid type value"},
		{name: "rejects a severity of 4", as: f.owner, body: ruleBody(func(m map[string]any) { m["severityOfAlerts"] = 4 }), status: 400, msg: "invalid severityOfAlerts value"},
		{name: "rejects a missing enabled", as: f.owner, body: ruleBody(func(m map[string]any) { delete(m, "enabled") }), status: 400, msg: "invalid enabled value"},
		{name: "rejects an empty filter on a Host rule", as: f.owner, body: ruleBody(func(m map[string]any) { m["filter"] = " " }), status: 400, msg: "invalid filter value"},
		{name: "rejects a filter syntax error with its position", as: f.owner, body: ruleBody(func(m map[string]any) { m["filter"] = `command = "sudo" and (` }), status: 400, msg: "filter: syntax error at position"},
		{name: "rejects a filter with smart quotes", as: f.owner, body: ruleBody(func(m map[string]any) { m["filter"] = "command = \u201csudo\u201d" }), status: 400, msg: "syntax error at position"},
		{name: "rejects a suppression syntax error", as: f.owner, body: ruleBody(func(m map[string]any) { m["suppressions"] = []string{"user ="} }), status: 400, msg: "suppressions[0]: syntax error at position"},
		{name: "rejects a File rule without paths", as: f.owner, body: ruleBody(func(m map[string]any) { fileRule(m); delete(m, "fileIntegrityPaths") }), status: 400, msg: "invalid fileIntegrityPaths value"},
		{name: "rejects a File rule with a relative path", as: f.owner, body: ruleBody(func(m map[string]any) {
			fileRule(m)
			m["fileIntegrityPaths"] = []map[string]any{{"path": "etc", "recursive": false}}
		}), status: 400, msg: "fileIntegrityPaths[0]"},
		{name: "rejects an unknown field", as: f.owner, body: ruleBody(func(m map[string]any) { m["frequency"] = 60 }), status: 400, msg: `unknown field "frequency"`},
		{name: "rejects a non-integer window", as: f.owner, body: ruleBody(func(m map[string]any) { m["window"] = "soon" }), status: 400},
		{name: "forbids a reader", as: f.reader, body: ruleBody(nil), status: 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, art := h.signedDo(t, tc.as, http.MethodPost, path, tc.body)
			verifySigned(t, tc.as, art, r)
			wantStatus(t, r, tc.status, tc.msg)
			if tc.check == nil {
				return
			}
			var rl aip.Rule
			if err := json.Unmarshal(r.Body, &rl); err != nil {
				t.Fatal(err)
			}
			tc.check(t, &rl)
		})
	}

	for _, target := range []string{"/v2/rulesets/00000000-0000-4000-8000-000000000000/rules", "/v2/rulesets/nope/rules"} {
		t.Run("answers 404 for the unknown ruleset "+target, func(t *testing.T) {
			r, _ := h.signedDo(t, f.owner, http.MethodPost, target, ruleBody(nil))
			wantStatus(t, r, 404, "Ruleset")
		})
	}
}

func TestRuleLifecycle(t *testing.T) {
	f := newRulesFixture(t)
	h := f.h
	rs := f.ruleset(t, f.owner, "Main")
	other := f.ruleset(t, f.owner, "Other")
	first := f.rule(t, f.owner, rs.ID, ruleBody(nil))
	second := f.rule(t, f.owner, rs.ID, ruleBody(func(m map[string]any) { m["name"] = "Second" }))
	one := "/v2/rulesets/" + rs.ID + "/rules/" + first.ID

	t.Run("lists the rules of a ruleset whole", func(t *testing.T) {
		got, resp, err := h.client(t, f.reader).Rules.List(h.ctx(t), rs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*aip.Rule{first, second}, got); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
		if resp.NextToken != "" {
			t.Errorf("NextToken = %q, want none", resp.NextToken)
		}
	})
	t.Run("lists an empty ruleset as []", func(t *testing.T) {
		r, _ := h.signedDo(t, f.reader, http.MethodGet, "/v2/rulesets/"+other.ID+"/rules", nil)
		wantStatus(t, r, 200, "")
		if string(r.Body) != `{"rules":[],"token":null}` {
			t.Errorf("body = %s", r.Body)
		}
	})
	t.Run("gets a rule", func(t *testing.T) {
		got, _, err := h.client(t, f.reader).Rules.Get(h.ctx(t), rs.ID, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("rule (-want +got):\n%s", diff)
		}
	})

	notFound := []struct{ name, target string }{
		{"answers 404 for a rule of another ruleset", "/v2/rulesets/" + other.ID + "/rules/" + first.ID},
		{"answers 404 for an unknown rule", "/v2/rulesets/" + rs.ID + "/rules/00000000-0000-4000-8000-000000000000"},
		{"answers 404 for a rule id that is not a UUID", "/v2/rulesets/" + rs.ID + "/rules/42"},
		{"answers 404 for the rules of an unknown ruleset", "/v2/rulesets/00000000-0000-4000-8000-000000000000/rules"},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := h.signedDo(t, f.owner, http.MethodGet, tc.target, nil)
			wantStatus(t, r, 404, "")
		})
	}

	t.Run("replaces a rule", func(t *testing.T) {
		body := ruleBody(func(m map[string]any) {
			m["id"], m["rulesetId"], m["createdAt"] = first.ID, rs.ID, "2020-01-01T00:00:00.000Z"
			m["name"], m["type"], m["enabled"], m["suppressions"] = "Replaced", "host", false, nil
			m["aggregateFields"] = []string{"rule_id"}
		})
		r, _ := h.signedDo(t, f.user, http.MethodPut, one, body)
		wantStatus(t, r, 200, "")
		var got aip.Rule
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatal(err)
		}
		want := *first
		want.Name, want.Enabled, want.Suppressions, want.AggregateFields = "Replaced", false, []string{}, []string{}
		if diff := cmp.Diff(&want, &got, cmpopts.IgnoreFields(aip.Rule{}, "UpdatedAt")); diff != "" {
			t.Errorf("rule (-want +got):\n%s", diff)
		}
		stored, _, err := h.client(t, f.owner).Rules.Get(h.ctx(t), rs.ID, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&got, stored); diff != "" {
			t.Errorf("GET after PUT (-put +get):\n%s", diff)
		}
	})
	update := []struct {
		name, target string
		as           account
		body         []byte
		status       int
		msg          string
	}{
		{"rejects a long alertDescription on update", one, f.owner, ruleBody(func(m map[string]any) { m["alertDescription"] = strings.Repeat("x", 301) }), 400,
			"Validation failed: body has invalid alertDescription value.  Must be between 1 and 300 characters long."},
		{"rejects a bad filter on update", one, f.owner, ruleBody(func(m map[string]any) { m["filter"] = "a ==== b" }), 400, "syntax error at position"},
		{"answers 404 when updating through another ruleset", "/v2/rulesets/" + other.ID + "/rules/" + first.ID, f.owner, ruleBody(nil), 404, ""},
		{"answers 404 when updating an unknown rule", "/v2/rulesets/" + rs.ID + "/rules/00000000-0000-4000-8000-000000000000", f.owner, ruleBody(nil), 404, ""},
		{"forbids a reader to update", one, f.reader, ruleBody(nil), 403, ""},
	}
	for _, tc := range update {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := h.signedDo(t, tc.as, http.MethodPut, tc.target, tc.body)
			wantStatus(t, r, tc.status, tc.msg)
		})
	}

	t.Run("forbids a reader to delete", func(t *testing.T) {
		r, _ := h.signedDo(t, f.reader, http.MethodDelete, one, nil)
		wantStatus(t, r, 403, "")
	})
	t.Run("deletes a rule with 200 {}", func(t *testing.T) {
		r, _ := h.signedDo(t, f.owner, http.MethodDelete, one, nil)
		wantStatus(t, r, 200, "")
		if string(r.Body) != `{}` {
			t.Errorf("body = %s, want {}", r.Body)
		}
		r, _ = h.signedDo(t, f.owner, http.MethodGet, one, nil)
		wantStatus(t, r, 404, "")
		got, _, err := h.client(t, f.owner).Rulesets.Get(h.ctx(t), rs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{second.ID}, got.Rules); diff != "" {
			t.Errorf("rules of the ruleset (-want +got):\n%s", diff)
		}
	})
	t.Run("answers 404 when deleting twice", func(t *testing.T) {
		_, err := h.client(t, f.owner).Rules.Delete(h.ctx(t), rs.ID, first.ID)
		if statusOf(err) != 404 {
			t.Errorf("second delete: %v, want 404", err)
		}
	})
}

func TestRuleTags(t *testing.T) {
	f := newRulesFixture(t)
	h := f.h
	rs := f.ruleset(t, f.owner, "Main")
	rl := f.rule(t, f.owner, rs.ID, ruleBody(nil))
	path := "/v2/rules/" + rl.ID + "/tags"

	t.Run("answers empty lists when none are set", func(t *testing.T) {
		r, _ := h.signedDo(t, f.reader, http.MethodGet, path, nil)
		wantStatus(t, r, 200, "")
		if string(r.Body) != `{"inclusion":[],"exclusion":[]}` {
			t.Errorf("body = %s", r.Body)
		}
	})

	set := []struct {
		name   string
		as     account
		body   string
		status int
		msg    string
		want   string
	}{
		{name: "sets and echoes tags", as: f.user, body: `{"inclusion":[{"source":"ec2","key":"env","value":"prod"}],"exclusion":[{"source":"ec2","key":"team","value":"qa"}]}`, status: 200,
			want: `{"inclusion":[{"source":"ec2","key":"env","value":"prod"}],"exclusion":[{"source":"ec2","key":"team","value":"qa"}]}`},
		{name: "fills the source ec2", as: f.owner, body: `{"inclusion":[{"key":"env","value":"prod"}],"exclusion":[]}`, status: 200,
			want: `{"inclusion":[{"source":"ec2","key":"env","value":"prod"}],"exclusion":[]}`},
		{name: "takes null lists as empty", as: f.owner, body: `{"inclusion":null,"exclusion":null}`, status: 200, want: `{"inclusion":[],"exclusion":[]}`},
		{name: "rejects a tag without key", as: f.owner, body: `{"inclusion":[{"source":"ec2","value":"prod"}]}`, status: 400, msg: "inclusion[0] has no key"},
		{name: "rejects an unknown field", as: f.owner, body: `{"include":[]}`, status: 400, msg: `unknown field "include"`},
		{name: "forbids a reader", as: f.reader, body: `{"inclusion":[]}`, status: 403},
	}
	for _, tc := range set {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := h.signedDo(t, tc.as, http.MethodPost, path, []byte(tc.body))
			wantStatus(t, r, tc.status, tc.msg)
			if tc.status != 200 {
				return
			}
			if string(r.Body) != tc.want {
				t.Errorf("POST body = %s, want %s", r.Body, tc.want)
			}
			g, _ := h.signedDo(t, f.reader, http.MethodGet, path, nil)
			if string(g.Body) != tc.want {
				t.Errorf("GET body = %s, want %s", g.Body, tc.want)
			}
		})
	}

	t.Run("sets tags through the client", func(t *testing.T) {
		want := aip.TagSet{Inclusion: []aip.Tag{{Source: "ec2", Key: "k", Value: "v"}}, Exclusion: []aip.Tag{}}
		got, _, err := h.client(t, f.owner).Tags.Set(h.ctx(t), rl.ID, want)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		back, _, err := h.client(t, f.owner).Tags.Get(h.ctx(t), rl.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&want, back); diff != "" {
			t.Errorf("tags read back (-want +got):\n%s", diff)
		}
	})

	for _, target := range []string{"/v2/rules/00000000-0000-4000-8000-000000000000/tags", "/v2/rules/nope/tags"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run("answers 404 for "+method+" "+target, func(t *testing.T) {
				var body []byte
				if method == http.MethodPost {
					body = []byte(`{"inclusion":[],"exclusion":[]}`)
				}
				r, _ := h.signedDo(t, f.owner, method, target, body)
				wantStatus(t, r, 404, "Rule")
			})
		}
	}
}

// TestRulesTenantIsolation calls every rules endpoint with organization B's
// owner against organization A's rulesets, rules and agents.
func TestRulesTenantIsolation(t *testing.T) {
	f := newRulesFixture(t)
	h := f.h
	rsA := f.ruleset(t, f.owner, "Shared Name")
	ruleA := f.rule(t, f.owner, rsA.ID, ruleBody(nil))
	agentA := f.agent(t, f.orgA, rsA.ID)
	tagsA := aip.TagSet{Inclusion: []aip.Tag{{Source: "ec2", Key: "env", Value: "prod"}}, Exclusion: []aip.Tag{}}
	if _, _, err := h.client(t, f.owner).Tags.Set(h.ctx(t), ruleA.ID, tagsA); err != nil {
		t.Fatal(err)
	}
	rsB := f.ruleset(t, f.ownerB, "Shared Name")

	t.Run("lists only B's rulesets", func(t *testing.T) {
		got, _, err := h.client(t, f.ownerB).Rulesets.List(h.ctx(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != rsB.ID {
			t.Errorf("rulesets of B = %+v, want only %s", got, rsB.ID)
		}
	})

	cases := []struct {
		method, target string
		body           []byte
	}{
		{http.MethodGet, "/v2/rulesets?agentId=" + agentA, nil},
		{http.MethodGet, "/v2/rulesets/" + rsA.ID, nil},
		{http.MethodPut, "/v2/rulesets/" + rsA.ID, []byte(`{"name":"Stolen"}`)},
		{http.MethodDelete, "/v2/rulesets/" + rsA.ID, nil},
		{http.MethodPost, "/v2/rulesets", []byte(`{"name":"Grab","ruleIds":["` + ruleA.ID + `"]}`)},
		{http.MethodPut, "/v2/rulesets/" + rsB.ID, []byte(`{"name":"Shared Name","ruleIds":["` + ruleA.ID + `"]}`)},
		{http.MethodGet, "/v2/rulesets/" + rsA.ID + "/rules", nil},
		{http.MethodPost, "/v2/rulesets/" + rsA.ID + "/rules", ruleBody(nil)},
		{http.MethodGet, "/v2/rulesets/" + rsA.ID + "/rules/" + ruleA.ID, nil},
		{http.MethodPut, "/v2/rulesets/" + rsA.ID + "/rules/" + ruleA.ID, ruleBody(nil)},
		{http.MethodDelete, "/v2/rulesets/" + rsA.ID + "/rules/" + ruleA.ID, nil},
		{http.MethodGet, "/v2/rulesets/" + rsB.ID + "/rules/" + ruleA.ID, nil},
		{http.MethodGet, "/v2/rules/" + ruleA.ID + "/tags", nil},
		{http.MethodPost, "/v2/rules/" + ruleA.ID + "/tags", []byte(`{"inclusion":[],"exclusion":[]}`)},
	}
	for _, tc := range cases {
		t.Run("answers 404 to B for "+tc.method+" "+tc.target, func(t *testing.T) {
			r, _ := h.signedDo(t, f.ownerB, tc.method, tc.target, tc.body)
			wantStatus(t, r, 404, "")
		})
	}

	t.Run("leaves A's data unchanged", func(t *testing.T) {
		c := h.client(t, f.owner)
		rs, _, err := c.Rulesets.Get(h.ctx(t), rsA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rs.Name != "Shared Name" || !cmp.Equal([]string{ruleA.ID}, rs.Rules) || !cmp.Equal([]string{agentA}, rs.Agents) {
			t.Errorf("ruleset of A = %+v", rs)
		}
		rl, _, err := c.Rules.Get(h.ctx(t), rsA.ID, ruleA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ruleA, rl); diff != "" {
			t.Errorf("rule of A (-want +got):\n%s", diff)
		}
		tags, _, err := c.Tags.Get(h.ctx(t), ruleA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&tagsA, tags); diff != "" {
			t.Errorf("tags of A (-want +got):\n%s", diff)
		}
	})
}

// TestBaseRuleSetServed checks that the Base Rule Set every new
// organization gets is answered in the documented Rule shape and passes the
// API's own validation unchanged.
func TestBaseRuleSetServed(t *testing.T) {
	f := newRulesFixture(t)
	h := f.h
	var list []*aip.Rule
	for _, b := range rules.BaseRules() {
		list = append(list, rules.ToAPI(b))
	}
	rs := &aip.Ruleset{OrgID: f.orgA, Name: rules.BaseRuleSetName, Description: rules.BaseRuleSetDescription}
	if err := h.store.CreateRulesetWithRules(context.Background(), rs, list); err != nil {
		t.Fatal(err)
	}
	got, _, err := h.client(t, f.owner).Rules.List(h.ctx(t), rs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(list) {
		t.Fatalf("%d rules listed, want %d", len(got), len(list))
	}
	for _, r := range got {
		t.Run("accepts "+r.Name+" back unchanged", func(t *testing.T) {
			back, _, err := h.client(t, f.owner).Rules.Update(h.ctx(t), rs.ID, r.ID, r)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r, back, cmpopts.IgnoreFields(aip.Rule{}, "UpdatedAt")); diff != "" {
				t.Errorf("rule after PUT of itself (-before +after):\n%s", diff)
			}
		})
	}
}
