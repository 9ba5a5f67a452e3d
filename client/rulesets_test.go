package client

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

const (
	testRulesetID = "9f0c2a4e-3b1d-4c5e-8f6a-7b8c9d0e1f2a"
	testRuleID    = "3e0f3f7c-2a59-4d8b-9a43-0c2f1f3c1e11"
)

func TestRulesetServices(t *testing.T) {
	tests := []struct {
		name       string
		answer     string
		call       func(c *Client) (any, error)
		want       any
		wantMethod string
		wantURI    string
		wantBody   string
	}{
		{
			name:   "lists the rulesets of an agent",
			answer: `{"rulesets":[{"id":"` + testRulesetID + `","name":"Base","description":"","rules":["` + testRuleID + `"],"agents":[]}],"token":null}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Rulesets.List(context.Background(), &RulesetListOptions{AgentID: testRuleID})
				return got, err
			},
			want:       []*aip.Ruleset{{ID: testRulesetID, Name: "Base", Rules: []string{testRuleID}, Agents: []string{}}},
			wantMethod: http.MethodGet, wantURI: "/v2/rulesets?agentId=" + testRuleID,
		},
		{
			name:   "creates a ruleset with ruleIds",
			answer: `{"id":"` + testRulesetID + `","name":"Web","description":"d","rules":["` + testRuleID + `"],"agents":[]}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Rulesets.Create(context.Background(), &RulesetRequest{Name: "Web", Description: "d", RuleIDs: []string{testRuleID}})
				return got, err
			},
			want:       &aip.Ruleset{ID: testRulesetID, Name: "Web", Description: "d", Rules: []string{testRuleID}, Agents: []string{}},
			wantMethod: http.MethodPost, wantURI: "/v2/rulesets",
			wantBody: `{"name":"Web","description":"d","ruleIds":["` + testRuleID + `"]}`,
		},
		{
			name:   "deletes a ruleset and returns its agents",
			answer: `{"server_ids":["` + testRuleID + `"]}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Rulesets.Delete(context.Background(), testRulesetID)
				return got, err
			},
			want:       []string{testRuleID},
			wantMethod: http.MethodDelete, wantURI: "/v2/rulesets/" + testRulesetID,
		},
		{
			name:   "gets a rule of a ruleset",
			answer: `{"id":"` + testRuleID + `","rulesetId":"` + testRulesetID + `","name":"n","type":"Host","title":"t","severityOfAlerts":2,"alertDescription":"a","aggregateFields":[],"filter":"x = 1","window":60,"threshold":1,"suppressions":[],"enabled":true}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Rules.Get(context.Background(), testRulesetID, testRuleID)
				return got, err
			},
			want: &aip.Rule{ID: testRuleID, RulesetID: testRulesetID, Name: "n", Type: "Host", Title: "t", SeverityOfAlerts: 2,
				AlertDescription: "a", AggregateFields: []string{}, Filter: "x = 1", Window: 60, Threshold: 1, Suppressions: []string{}, Enabled: true},
			wantMethod: http.MethodGet, wantURI: "/v2/rulesets/" + testRulesetID + "/rules/" + testRuleID,
		},
		{
			name:   "sets a rule's tags",
			answer: `{"inclusion":[{"source":"ec2","key":"env","value":"prod"}],"exclusion":[]}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Tags.Set(context.Background(), testRuleID, aip.TagSet{Inclusion: []aip.Tag{{Source: "ec2", Key: "env", Value: "prod"}}})
				return got, err
			},
			want:       &aip.TagSet{Inclusion: []aip.Tag{{Source: "ec2", Key: "env", Value: "prod"}}, Exclusion: []aip.Tag{}},
			wantMethod: http.MethodPost, wantURI: "/v2/rules/" + testRuleID + "/tags",
			wantBody: `{"inclusion":[{"source":"ec2","key":"env","value":"prod"}],"exclusion":null}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, ok(tt.answer))
			got, err := tt.call(f.client())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			r := f.requests()[0]
			if r.method != tt.wantMethod || r.uri != tt.wantURI {
				t.Errorf("request = %s %s, want %s %s", r.method, r.uri, tt.wantMethod, tt.wantURI)
			}
			if string(r.body) != tt.wantBody {
				t.Errorf("body = %s, want %s", r.body, tt.wantBody)
			}
		})
	}

	t.Run("refuses an empty ruleset id", func(t *testing.T) {
		f := newFake(t, ok(`{}`))
		if _, _, err := f.client().Rules.List(context.Background(), ""); err == nil {
			t.Error("List with an empty ruleset id succeeded")
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("%d requests sent, want none", n)
		}
	})
}
