package client

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

const (
	testAgentID = "adbc2b0d-22fd-4e15-82d5-cb55b8e7bdbc"
	testAlertID = "cc3c6e27-4262-4b22-89a3-d00f0c6d7e3b"
	testEventID = "0b9d3b8e-5b0e-4f43-9d8e-2f1c1f8d9a10"
)

func TestAgentAndAlertServices(t *testing.T) {
	created := time.Date(2020, 7, 27, 20, 41, 29, 454e6, time.UTC)
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
			name:   "lists agents with filters",
			answer: `{"agents":[{"id":"` + testAgentID + `","status":"online","createdAt":"2020-07-27T20:41:29.454Z","hostname":"web-1","agentType":"monitor"}],"token":null}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Agents.List(context.Background(), &AgentListOptions{Status: "online", Type: "monitor", Hostname: "web-1", InstanceID: "i-1", From: "2020-07-01"})
				return got, err
			},
			want: []*aip.Agent{{ID: testAgentID, Status: "online", CreatedAt: aip.Time{Time: created},
				AgentHost: aip.AgentHost{Hostname: "web-1", AgentType: "monitor"}}},
			wantMethod: http.MethodGet, wantURI: "/v2/agents?from=2020-07-01&hostname=web-1&instanceId=i-1&status=online&type=monitor",
		},
		{
			name:   "gets an agent",
			answer: `{"id":"` + testAgentID + `","status":"offline"}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Agents.Get(context.Background(), testAgentID)
				return got, err
			},
			want:       &aip.Agent{ID: testAgentID, Status: "offline"},
			wantMethod: http.MethodGet, wantURI: "/v2/agents/" + testAgentID,
		},
		{
			name:   "lists alerts with filters",
			answer: `{"alerts":[{"id":"` + testAlertID + `","severity":1,"aggregates":[{"fieldName":"user","value":"root"}]}],"token":null}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Alerts.List(context.Background(), &AlertListOptions{Status: "active", Severity: 1, RuleID: "r", RulesetID: "s", AgentID: "a", Until: "2020-08-01"})
				return got, err
			},
			want:       []*aip.Alert{{ID: testAlertID, Severity: 1, Aggregates: []aip.Aggregate{{FieldName: "user", Value: "root"}}}},
			wantMethod: http.MethodGet, wantURI: "/v2/alerts?agentId=a&ruleId=r&rulesetId=s&severity=1&status=active&until=2020-08-01",
		},
		{
			name:   "gets the events of an alert",
			answer: `{"events":[{"_id":"` + testEventID + `","event_type":"audit","timestamp":1595882489454,"user":"root"}],"token":null}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Alerts.Events(context.Background(), testAlertID, "tok")
				return got, err
			},
			want: []*aip.Event{{ID: testEventID, Type: "audit", Time: created,
				Raw: json.RawMessage(`{"_id":"` + testEventID + `","event_type":"audit","timestamp":1595882489454,"user":"root"}`)}},
			wantMethod: http.MethodGet, wantURI: "/v2/alerts/" + testAlertID + "/events?token=tok",
		},
		{
			name:   "counts alerts by severity",
			answer: `{"severityCounts":[{"severity":1,"count":0},{"severity":2,"count":4},{"severity":3,"count":17}]}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Alerts.SeverityCounts(context.Background(), &SeverityCountOptions{From: "2020-07-01", Until: "2020-07-31"})
				return got, err
			},
			want:       []aip.SeverityCount{{Severity: 1}, {Severity: 2, Count: 4}, {Severity: 3, Count: 17}},
			wantMethod: http.MethodGet, wantURI: "/v2/alerts/severity-counts?from=2020-07-01&until=2020-07-31",
		},
		{
			name:   "dismisses by query",
			answer: `{"dismissedCount":3}`,
			call: func(c *Client) (any, error) {
				n, _, err := c.Alerts.Dismiss(context.Background(), &DismissRequest{From: "2020-07-01", Until: "2020-07-31", Severity: 2, RuleID: "r", DismissReason: "OTHER", DismissReasonText: "noise"})
				return n, err
			},
			want:       3,
			wantMethod: http.MethodPost, wantURI: "/v2/alerts/dismiss",
			wantBody: `{"dismissReason":"OTHER","dismissReasonText":"noise","from":"2020-07-01","until":"2020-07-31","severity":2,"ruleId":"r"}`,
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

	t.Run("follows page tokens alone after the first page", func(t *testing.T) {
		pages := []string{
			`{"alerts":[{"id":"a1"},{"id":"a2"}],"token":"t1"}`,
			`{"alerts":[{"id":"a3"}],"token":null}`,
		}
		f := newFake(t, func(n int, _ *http.Request, _ []byte) reply { return reply{body: pages[n]} })
		var got []string
		for a, err := range f.client().Alerts.All(context.Background(), &AlertListOptions{Status: "dismissed"}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, a.ID)
		}
		if diff := cmp.Diff([]string{"a1", "a2", "a3"}, got); diff != "" {
			t.Errorf("alerts (-want +got):\n%s", diff)
		}
		var uris []string
		for _, r := range f.requests() {
			uris = append(uris, r.uri)
		}
		if diff := cmp.Diff([]string{"/v2/alerts?status=dismissed", "/v2/alerts?token=t1"}, uris); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	})

	t.Run("stops on a repeated page token", func(t *testing.T) {
		f := newFake(t, ok(`{"agents":[{"id":"x"}],"token":"same"}`))
		var n int
		var last error
		for _, err := range f.client().Agents.All(context.Background(), &AgentListOptions{Status: "online"}) {
			n++
			last = err
		}
		if last == nil || n != 3 {
			t.Errorf("All yielded %d values ending with %v; want 2 agents then an error", n, last)
		}
	})

	t.Run("refuses an empty alert id", func(t *testing.T) {
		f := newFake(t, ok(`{}`))
		if _, _, err := f.client().Alerts.Events(context.Background(), "", ""); err == nil {
			t.Error("Events with an empty alert id succeeded")
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("%d requests sent, want none", n)
		}
	})
}
