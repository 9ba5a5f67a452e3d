package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

// rulesFixture is one server with two organizations: A with an owner, a
// user and a reader, and B with an owner.
type rulesFixture struct {
	h                   *harness
	orgA, orgB          string
	owner, user, reader account
	ownerB              account
}

func newRulesFixture(t *testing.T) *rulesFixture {
	t.Helper()
	h := newHarness(t)
	f := &rulesFixture{h: h, orgA: h.newOrg(t, "a"), orgB: h.newOrg(t, "b")}
	f.owner = h.newAccount(t, f.orgA, "owner@a.example", aip.RoleOwner)
	f.user = h.newAccount(t, f.orgA, "user@a.example", aip.RoleUser)
	f.reader = h.newAccount(t, f.orgA, "reader@a.example", aip.RoleReader)
	f.ownerB = h.newAccount(t, f.orgB, "owner@b.example", aip.RoleOwner)
	return f
}

// ruleset creates a ruleset as a through the API.
func (f *rulesFixture) ruleset(t *testing.T, a account, name string, ruleIDs ...string) *aip.Ruleset {
	t.Helper()
	rs, _, err := f.h.client(t, a).Rulesets.Create(f.h.ctx(t), &client.RulesetRequest{Name: name, Description: "about " + name, RuleIDs: ruleIDs})
	if err != nil {
		t.Fatalf("create ruleset %s: %v", name, err)
	}
	return rs
}

// rule creates a rule from body as a through the API.
func (f *rulesFixture) rule(t *testing.T, a account, rulesetID string, body []byte) *aip.Rule {
	t.Helper()
	r, _ := f.h.signedDo(t, a, http.MethodPost, "/v2/rulesets/"+rulesetID+"/rules", body)
	if r.Status != http.StatusOK {
		t.Fatalf("create rule: %d %s", r.Status, r.Body)
	}
	var rl aip.Rule
	if err := json.Unmarshal(r.Body, &rl); err != nil {
		t.Fatal(err)
	}
	return &rl
}

// agent stores an agent of orgID running rulesetIDs.
func (f *rulesFixture) agent(t *testing.T, orgID string, rulesetIDs ...string) string {
	t.Helper()
	a := &aip.Agent{ID: aip.NewUUID(), OrgID: orgID, CreatedAt: aip.Time{Time: f.h.clock.Now()},
		AgentHost: aip.AgentHost{Hostname: "web-1", AgentType: aip.AgentTypeInvestigate}}
	if err := f.h.store.CreateAgent(context.Background(), a, []byte("sealed"), rulesetIDs); err != nil {
		t.Fatalf("create agent: %v", err)
	}
	return a.ID
}

// ruleBody is a valid Host rule body, changed by mod.
func ruleBody(mod func(m map[string]any)) []byte {
	m := map[string]any{
		"name": "Sudo", "type": "Host", "title": "sudo by {{user}}", "severityOfAlerts": 2,
		"alertDescription": "Sudo was used", "aggregateFields": []string{"user"},
		"filter": `command = "sudo"`, "window": 3600, "threshold": 1, "suppressions": []string{`user = "deploy"`},
		"enabled": true,
	}
	if mod != nil {
		mod(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// fileRule turns a rule body into a File rule.
func fileRule(m map[string]any) {
	m["type"] = "file"
	m["filter"] = ""
	m["aggregateFields"] = []string{"user"}
	m["fileIntegrityPaths"] = []map[string]any{{"path": "/etc", "recursive": true}}
	m["eventsToMonitor"] = []string{"modify"}
	m["ignoreFiles"] = []string{"*.swp"}
}

// wantStatus fails t unless r has status, and with msg an error containing it.
func wantStatus(t *testing.T, r reply, status int, msg string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	if msg == "" {
		return
	}
	msgs := errorsOf(t, r)
	if !strings.Contains(strings.Join(msgs, "\n"), msg) {
		t.Errorf("errors %q do not contain %q", msgs, msg)
	}
}

func decodeRuleset(t *testing.T, r reply) *aip.Ruleset {
	t.Helper()
	var rs aip.Ruleset
	if err := json.Unmarshal(r.Body, &rs); err != nil {
		t.Fatalf("decode ruleset %s: %v", r.Body, err)
	}
	return &rs
}

func TestCreateRuleset(t *testing.T) {
	f := newRulesFixture(t)
	h := f.h
	home := f.ruleset(t, f.owner, "Home")
	moved := f.rule(t, f.owner, home.ID, ruleBody(nil))
	f.ruleset(t, f.owner, "Taken")
	long := strings.Repeat("é", 200)

	cases := []struct {
		name      string
		as        account
		body      string
		status    int
		msg       string
		wantName  string
		wantRules []string
	}{
		{name: "creates an empty ruleset", as: f.user, body: `{"name":"Empty","description":"d"}`, status: 200, wantName: "Empty", wantRules: []string{}},
		{name: "moves the rules of ruleIds into it", as: f.owner, body: `{"name":"Mover","description":"d","ruleIds":["` + moved.ID + `"]}`, status: 200, wantName: "Mover", wantRules: []string{moved.ID}},
		{name: "tolerates rules instead of ruleIds", as: f.owner, body: `{"name":"Rules Key","rules":["` + moved.ID + `"]}`, status: 200, wantName: "Rules Key", wantRules: []string{moved.ID}},
		{name: "accepts ruleIDs in another case", as: f.owner, body: `{"name":"Case","ruleIDs":["` + moved.ID + `"]}`, status: 200, wantName: "Case", wantRules: []string{moved.ID}},
		{name: "ignores read-only fields", as: f.owner, body: `{"id":"x","name":"ReadOnly","createdAt":"2020-01-01T00:00:00.000Z","updatedAt":"y","agents":["z"]}`, status: 200, wantName: "ReadOnly", wantRules: []string{}},
		{name: "accepts a name of 200 characters", as: f.owner, body: `{"name":"` + long + `"}`, status: 200, wantName: long, wantRules: []string{}},
		{name: "rejects a name of 201 characters", as: f.owner, body: `{"name":"` + long + `x"}`, status: 400, msg: "Validation failed: body has invalid name value.  Must be between 1 and 200 characters long."},
		{name: "rejects an empty name", as: f.owner, body: `{"name":""}`, status: 400, msg: "invalid name value"},
		{name: "rejects a missing name", as: f.owner, body: `{"description":"d"}`, status: 400, msg: "invalid name value"},
		{name: "rejects an unknown field", as: f.owner, body: `{"name":"U","colour":"red"}`, status: 400, msg: `unknown field "colour"`},
		{name: "rejects malformed JSON", as: f.owner, body: `{"name":`, status: 400},
		{name: "answers 409 for a duplicate name", as: f.owner, body: `{"name":"Taken"}`, status: 409, msg: `"Taken" already exists`},
		{name: "answers 404 for an unknown rule id", as: f.owner, body: `{"name":"Ghost","ruleIds":["00000000-0000-4000-8000-000000000000"]}`, status: 404, msg: "00000000-0000-4000-8000-000000000000"},
		{name: "answers 404 for a rule id that is not a UUID", as: f.owner, body: `{"name":"Ghost2","ruleIds":["nope"]}`, status: 404, msg: "nope"},
		{name: "forbids a reader", as: f.reader, body: `{"name":"Reader"}`, status: 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, art := h.signedDo(t, tc.as, http.MethodPost, "/v2/rulesets", []byte(tc.body))
			verifySigned(t, tc.as, art, r)
			wantStatus(t, r, tc.status, tc.msg)
			if tc.status != 200 {
				return
			}
			rs := decodeRuleset(t, r)
			if rs.Name != tc.wantName || !aip.IsUUID(rs.ID) || rs.ID == "x" {
				t.Errorf("ruleset = %+v, want name %q and a new UUID", rs, tc.wantName)
			}
			if diff := cmp.Diff(tc.wantRules, rs.Rules); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{}, rs.Agents); diff != "" {
				t.Errorf("agents (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("leaves nothing behind after a 404", func(t *testing.T) {
		if _, err := h.store.FindRulesetByName(context.Background(), f.orgA, "Ghost"); aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Errorf("FindRulesetByName(Ghost) = %v, want ENOTFOUND", err)
		}
	})
}

func TestListRulesets(t *testing.T) {
	f := newRulesFixture(t)
	h := f.h
	one := f.ruleset(t, f.owner, "One")
	two := f.ruleset(t, f.owner, "Two")
	agent := f.agent(t, f.orgA, two.ID)

	cases := []struct {
		name   string
		target string
		status int
		msg    string
		want   []string
	}{
		{name: "lists every ruleset", target: "/v2/rulesets", status: 200, want: []string{one.ID, two.ID}},
		{name: "lists the rulesets of an agent", target: "/v2/rulesets?agentId=" + agent, status: 200, want: []string{two.ID}},
		{name: "rejects an agentId that is not a UUID", target: "/v2/rulesets?agentId=web-1", status: 400, msg: `"agentId" must be a 36 character UUID.`},
		{name: "answers 404 for an unknown agent", target: "/v2/rulesets?agentId=00000000-0000-4000-8000-000000000000", status: 404, msg: "Agent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := h.signedDo(t, f.reader, http.MethodGet, tc.target, nil)
			wantStatus(t, r, tc.status, tc.msg)
			if tc.status != 200 {
				return
			}
			var env struct {
				Rulesets []*aip.Ruleset `json:"rulesets"`
				Token    *string        `json:"token"`
			}
			if err := json.Unmarshal(r.Body, &env); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rs := range env.Rulesets {
				got = append(got, rs.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ruleset ids (-want +got):\n%s", diff)
			}
			if env.Token != nil || !strings.Contains(string(r.Body), `"token":null`) {
				t.Errorf("body %s: want token null", r.Body)
			}
		})
	}

	t.Run("shows the agents of a ruleset", func(t *testing.T) {
		got, _, err := h.client(t, f.owner).Rulesets.Get(h.ctx(t), two.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{agent}, got.Agents); diff != "" {
			t.Errorf("agents (-want +got):\n%s", diff)
		}
	})
}

func TestGetUpdateDeleteRuleset(t *testing.T) {
	f := newRulesFixture(t)
	h := f.h
	rs := f.ruleset(t, f.owner, "Main")
	kept := f.rule(t, f.owner, rs.ID, ruleBody(nil))
	other := f.ruleset(t, f.owner, "Other")
	incoming := f.rule(t, f.owner, other.ID, ruleBody(func(m map[string]any) { m["name"] = "Incoming" }))
	f.ruleset(t, f.owner, "Taken")
	base := "/v2/rulesets/" + rs.ID

	t.Run("gets a ruleset", func(t *testing.T) {
		got, _, err := h.client(t, f.reader).Rulesets.Get(h.ctx(t), rs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Main" || got.Description != "about Main" {
			t.Errorf("ruleset = %+v", got)
		}
		if diff := cmp.Diff([]string{kept.ID}, got.Rules); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
	})

	for _, target := range []string{"/v2/rulesets/00000000-0000-4000-8000-000000000000", "/v2/rulesets/not-a-uuid"} {
		t.Run("answers 404 for "+target, func(t *testing.T) {
			r, _ := h.signedDo(t, f.owner, http.MethodGet, target, nil)
			wantStatus(t, r, 404, "Ruleset")
		})
	}

	update := []struct {
		name      string
		as        account
		body      string
		status    int
		msg       string
		wantName  string
		wantRules []string
	}{
		{name: "renames and keeps the rules without a list", as: f.user, body: `{"id":"` + rs.ID + `","name":"Renamed","description":"new"}`, status: 200, wantName: "Renamed", wantRules: []string{kept.ID}},
		{name: "moves the rules of ruleIds into it", as: f.owner, body: `{"name":"Renamed","ruleIds":["` + incoming.ID + `"]}`, status: 200, wantName: "Renamed", wantRules: []string{kept.ID, incoming.ID}},
		{name: "answers 409 for a duplicate name", as: f.owner, body: `{"name":"Taken"}`, status: 409},
		{name: "answers 404 for an unknown rule id", as: f.owner, body: `{"name":"Renamed","ruleIds":["00000000-0000-4000-8000-000000000000"]}`, status: 404},
		{name: "rejects an empty name", as: f.owner, body: `{"name":""}`, status: 400, msg: "invalid name value"},
		{name: "rejects an unknown field", as: f.owner, body: `{"name":"X","extra":1}`, status: 400, msg: `unknown field "extra"`},
		{name: "forbids a reader", as: f.reader, body: `{"name":"Reader"}`, status: 403},
	}
	for _, tc := range update {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := h.signedDo(t, tc.as, http.MethodPut, base, []byte(tc.body))
			wantStatus(t, r, tc.status, tc.msg)
			if tc.status != 200 {
				return
			}
			got := decodeRuleset(t, r)
			if got.ID != rs.ID || got.Name != tc.wantName {
				t.Errorf("ruleset = %+v, want id %s name %q", got, rs.ID, tc.wantName)
			}
			if diff := cmp.Diff(tc.wantRules, got.Rules); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("answers 404 when updating an unknown ruleset", func(t *testing.T) {
		r, _ := h.signedDo(t, f.owner, http.MethodPut, "/v2/rulesets/00000000-0000-4000-8000-000000000000", []byte(`{"name":"N"}`))
		wantStatus(t, r, 404, "")
	})

	t.Run("forbids a reader to delete", func(t *testing.T) {
		r, _ := h.signedDo(t, f.reader, http.MethodDelete, base, nil)
		wantStatus(t, r, 403, "")
	})
	t.Run("deletes a ruleset and names its agents", func(t *testing.T) {
		agent := f.agent(t, f.orgA, rs.ID)
		r, _ := h.signedDo(t, f.owner, http.MethodDelete, base, nil)
		wantStatus(t, r, 200, "")
		if want := `{"server_ids":["` + agent + `"]}`; string(r.Body) != want {
			t.Errorf("body = %s, want %s", r.Body, want)
		}
		r, _ = h.signedDo(t, f.owner, http.MethodGet, base, nil)
		wantStatus(t, r, 404, "")
		if _, err := h.store.FindRule(context.Background(), f.orgA, "", kept.ID); aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Errorf("rule of the deleted ruleset: %v, want ENOTFOUND", err)
		}
	})
	t.Run("accepts the server_ids body on delete", func(t *testing.T) {
		r, _ := h.signedDo(t, f.owner, http.MethodDelete, "/v2/rulesets/"+other.ID, []byte(`{"server_ids":[]}`))
		wantStatus(t, r, 200, "")
		if string(r.Body) != `{"server_ids":[]}` {
			t.Errorf("body = %s, want {\"server_ids\":[]}", r.Body)
		}
	})
	t.Run("answers 404 when deleting twice", func(t *testing.T) {
		_, _, err := h.client(t, f.owner).Rulesets.Delete(h.ctx(t), other.ID)
		if statusOf(err) != 404 {
			t.Errorf("second delete: %v, want 404", err)
		}
	})
}
