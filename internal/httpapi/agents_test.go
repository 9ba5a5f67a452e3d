package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/httpapi"
)

// seedAgent stores an agent of orgID created age ago that last reported
// silent ago, changed by mod.
func seedAgent(t testing.TB, h *harness, orgID string, age, silent time.Duration, mod func(a *aip.Agent)) *aip.Agent {
	t.Helper()
	now := h.clock.Now()
	a := &aip.Agent{ID: aip.NewUUID(), OrgID: orgID,
		CreatedAt: aip.Time{Time: now.Add(-age)}, LastReportedAt: aip.Time{Time: now.Add(-silent)},
		AgentHost: aip.AgentHost{Hostname: "web-1", AgentType: aip.AgentTypeInvestigate, Version: "2.1.3c"}}
	if mod != nil {
		mod(a)
	}
	if err := h.store.CreateAgent(context.Background(), a, []byte("sealed"), nil); err != nil {
		t.Fatalf("create agent: %v", err)
	}
	return a
}

// agentPage is the decoded answer of GET /v2/agents.
type agentPage struct {
	Agents []*aip.Agent `json:"agents"`
	Token  *string      `json:"token"`
}

func agentIDs(as []*aip.Agent) []string {
	ids := []string{}
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	return ids
}

func TestListAgents(t *testing.T) {
	f := newRulesFixture(t)
	h := f.h
	// Created newest last; online means reported within 5 minutes.
	online := seedAgent(t, h, f.orgA, 4*time.Hour, time.Minute, func(a *aip.Agent) {
		a.InstanceID = "i-0d0f1f32bea26a881"
		a.Tags = []aip.Tag{{Source: "ec2", Key: "env", Value: "prod"}}
		a.IPAddresses = aip.IPAddresses{Private: []string{"10.0.0.5/8"}}
	})
	silent := seedAgent(t, h, f.orgA, 3*time.Hour, 10*time.Minute, func(a *aip.Agent) {
		a.AgentType, a.Hostname = aip.AgentTypeMonitor, "db-1"
	})
	revoked := seedAgent(t, h, f.orgA, 2*time.Hour, 0, nil)
	if err := h.store.RevokeAgent(context.Background(), f.orgA, revoked.ID); err != nil {
		t.Fatal(err)
	}
	edge := seedAgent(t, h, f.orgA, time.Hour, 5*time.Minute, func(a *aip.Agent) { a.Hostname = "edge" })
	seedAgent(t, h, f.orgB, 30*time.Minute, 0, nil)

	day := h.clock.Now().UTC().Format("2006-01-02")
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{name: "lists online agents newest first", query: "status=online", want: []string{edge.ID, online.ID}},
		{name: "lists silent and revoked agents as offline", query: "status=offline", want: []string{revoked.ID, silent.ID}},
		{name: "filters by type", query: "status=offline&type=monitor", want: []string{silent.ID}},
		{name: "filters by hostname", query: "status=online&hostname=edge", want: []string{edge.ID}},
		{name: "filters by instance id", query: "status=online&instanceId=i-0d0f1f32bea26a881", want: []string{online.ID}},
		{name: "filters by creation time", query: "status=online&from=" + aip.FormatTime(h.clock.Now().Add(-90*time.Minute)), want: []string{edge.ID}},
		{name: "covers the whole day of a date until", query: "status=online&from=" + day + "&until=" + day, want: []string{edge.ID, online.ID}},
		{name: "finds nothing before the agents existed", query: "status=online&until=2020-01-01", want: []string{}},
		{name: "ignores unknown keys", query: "status=online&colour=blue", want: []string{edge.ID, online.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, art := h.signedDo(t, f.reader, http.MethodGet, "/v2/agents?"+tt.query, nil)
			wantStatus(t, r, http.StatusOK, "")
			verifySigned(t, f.reader, art, r)
			var p agentPage
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, agentIDs(p.Agents)); diff != "" {
				t.Errorf("agents (-want +got):\n%s", diff)
			}
			if p.Token != nil {
				t.Errorf("token = %q, want null", *p.Token)
			}
		})
	}

	t.Run("answers the agent as stored with its status", func(t *testing.T) {
		got, _, err := h.client(t, f.owner).Agents.Get(h.ctx(t), online.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *online
		want.OrgID, want.Status = "", aip.AgentOnline
		want.IPAddresses.LinkLocal, want.IPAddresses.Public = []string{}, []string{}
		want.Name = online.Hostname
		want.AgentModuleHealth = json.RawMessage("null")
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("agent (-want +got):\n%s", diff)
		}
	})

	bad := []struct {
		name, query, msg string
	}{
		{name: "rejects a missing status", query: "type=monitor", msg: `"status" is required`},
		{name: "rejects an unknown status", query: "status=sleeping", msg: `"status" must be online or offline`},
		{name: "rejects an unknown type", query: "status=online&type=guard", msg: `"type" must be monitor or investigate`},
		{name: "rejects until before from", query: "status=online&from=2024-02-01&until=2024-01-01", msg: "until"},
		{name: "rejects an unparsable from", query: "status=online&from=yesterday", msg: "from"},
		{name: "rejects a tampered token", query: "status=online&token=AAAA", msg: "invalid page token"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := h.signedDo(t, f.owner, http.MethodGet, "/v2/agents?"+tt.query, nil)
			wantStatus(t, r, http.StatusBadRequest, tt.msg)
		})
	}

	notFound := []struct{ name, id string }{
		{name: "answers 404 to an unknown agent", id: aip.NewUUID()},
		{name: "answers 404 to a malformed id", id: "not-a-uuid"},
		{name: "answers 404 to an agent of another organization", id: online.ID},
	}
	for _, tt := range notFound {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := h.signedDo(t, f.ownerB, http.MethodGet, "/v2/agents/"+tt.id, nil)
			wantStatus(t, r, http.StatusNotFound, "not found")
		})
	}

	t.Run("lists only B's agents to B", func(t *testing.T) {
		for _, status := range []string{"online", "offline"} {
			for a, err := range h.client(t, f.ownerB).Agents.All(h.ctx(t), &client.AgentListOptions{Status: status}) {
				if err != nil {
					t.Fatal(err)
				}
				if a.ID == online.ID || a.ID == silent.ID || a.ID == revoked.ID || a.ID == edge.ID {
					t.Errorf("B lists A's agent %s", a.ID)
				}
			}
		}
	})
}

func TestListAgentsPages(t *testing.T) {
	f := newRulesFixture(t)
	h := f.h
	var want []string
	for i := range 150 {
		a := seedAgent(t, h, f.orgA, time.Duration(i+1)*time.Second, 0, func(a *aip.Agent) { a.Hostname = fmt.Sprintf("h%d", i) })
		want = append(want, a.ID)
	}
	seedAgent(t, h, f.orgA, time.Hour, time.Hour, nil) // offline

	t.Run("pages 100 then 50 with the token alone", func(t *testing.T) {
		r, _ := h.signedDo(t, f.owner, http.MethodGet, "/v2/agents?status=online", nil)
		wantStatus(t, r, http.StatusOK, "")
		var p1, p2 agentPage
		if err := json.Unmarshal(r.Body, &p1); err != nil {
			t.Fatal(err)
		}
		if len(p1.Agents) != 100 || p1.Token == nil {
			t.Fatalf("page 1: %d agents, token %v; want 100 and a token", len(p1.Agents), p1.Token)
		}
		r, _ = h.signedDo(t, f.owner, http.MethodGet, "/v2/agents?token="+*p1.Token, nil)
		wantStatus(t, r, http.StatusOK, "")
		if err := json.Unmarshal(r.Body, &p2); err != nil {
			t.Fatal(err)
		}
		if p2.Token != nil {
			t.Errorf("page 2 token = %q, want null", *p2.Token)
		}
		if diff := cmp.Diff(want, append(agentIDs(p1.Agents), agentIDs(p2.Agents)...)); diff != "" {
			t.Errorf("agents (-want +got):\n%s", diff)
		}
	})

	t.Run("rejects a token with other filters", func(t *testing.T) {
		r, _ := h.signedDo(t, f.owner, http.MethodGet, "/v2/agents?status=online", nil)
		var p agentPage
		if err := json.Unmarshal(r.Body, &p); err != nil || p.Token == nil {
			t.Fatalf("page 1: %v, token %v", err, p.Token)
		}
		r, _ = h.signedDo(t, f.owner, http.MethodGet, "/v2/agents?status=offline&token="+*p.Token, nil)
		wantStatus(t, r, http.StatusBadRequest, "does not match")
		r, _ = h.signedDo(t, f.ownerB, http.MethodGet, "/v2/agents?token="+*p.Token, nil)
		wantStatus(t, r, http.StatusBadRequest, "another listing")
	})

	t.Run("iterates over every agent with All", func(t *testing.T) {
		var got []string
		for a, err := range h.client(t, f.owner).Agents.All(h.ctx(t), &client.AgentListOptions{Status: "online"}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, a.ID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("agents (-want +got):\n%s", diff)
		}
	})
}

func TestAgentOfflineAfter(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) { c.AgentOfflineAfter = time.Minute })
	org := h.newOrg(t, "a")
	owner := h.newAccount(t, org, "owner@a.example", aip.RoleOwner)
	quiet := seedAgent(t, h, org, time.Hour, 2*time.Minute, nil)
	fresh := seedAgent(t, h, org, time.Hour, 30*time.Second, nil)
	tests := []struct {
		id, want string
	}{{quiet.ID, aip.AgentOffline}, {fresh.ID, aip.AgentOnline}}
	for _, tt := range tests {
		t.Run("answers "+tt.want+" after the configured silence", func(t *testing.T) {
			a, _, err := h.client(t, owner).Agents.Get(h.ctx(t), tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != tt.want {
				t.Errorf("status = %q, want %q", a.Status, tt.want)
			}
		})
	}
	t.Run("goes offline when the clock passes the silence", func(t *testing.T) {
		h.clock.Advance(time.Minute)
		a, _, err := h.client(t, owner).Agents.Get(h.ctx(t), fresh.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != aip.AgentOffline {
			t.Errorf("status = %q, want offline", a.Status)
		}
	})
}
