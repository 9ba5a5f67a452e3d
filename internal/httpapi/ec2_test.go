package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

type ec2Page struct {
	Servers []*aip.EC2Instance `json:"servers"`
	Token   *string            `json:"token"`
}

// enrollOnEC2 enrolls an agent running on an EC2 instance.
func (h *harness) enrollOnEC2(t *testing.T, deployKey, hostname, instanceID, ip string) string {
	t.Helper()
	r := h.enroll(t, map[string]any{
		"deployKey": deployKey, "hostname": hostname, "version": "3.0.0", "instanceId": instanceID,
		"ipAddresses": map[string]any{"private": []string{ip}},
	})
	wantStatus(t, r, http.StatusOK, "")
	var e struct{ AgentID string }
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatal(err)
	}
	return e.AgentID
}

// ec2Keys renders servers as "id monitored agents profile".
func ec2Keys(servers []*aip.EC2Instance) []string {
	out := []string{}
	for _, s := range servers {
		out = append(out, fmt.Sprintf("%s %v %d %v", s.ID, s.Monitored, len(s.Agents), s.AWSProfile != nil))
	}
	return out
}

func TestListEC2(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	orgA, keyA := h.newAgentOrg(t, "A")
	orgB, keyB := h.newAgentOrg(t, "B")
	reader := h.newAccount(t, orgA, "reader@a.example.com", aip.RoleReader)
	other := h.newAccount(t, orgB, "owner@b.example.com", aip.RoleOwner)
	profile := &aip.AWSProfile{ID: "123456789012", OrgName: "prod", Description: "production"}
	imported := []*aip.EC2Instance{
		{ID: "i-0aaa", InstanceType: "t3.micro", PrivateIPAddress: "10.0.0.1", Region: "eu-west-1", State: "running", StateCode: 16, AWSProfile: profile,
			Groups: []aip.EC2Group{{ID: "sg-1", Name: "web"}}, Tags: []aip.Tag{{Source: "ec2", Key: "Name", Value: "web"}}},
		{ID: "i-0bbb", InstanceType: "t3.large", State: "stopped", StateCode: 80, AWSProfile: profile},
	}
	if _, err := h.store.PutEC2Instances(ctx, orgA, imported); err != nil {
		t.Fatalf("put instances: %v", err)
	}
	if _, err := h.store.PutEC2Instances(ctx, orgB, []*aip.EC2Instance{{ID: "i-0fff", State: "running"}}); err != nil {
		t.Fatalf("put instances: %v", err)
	}
	webID := h.enrollOnEC2(t, keyA, "web-1", "i-0aaa", "10.0.0.1")
	h.enrollOnEC2(t, keyA, "batch-1", "i-0ccc", "10.0.0.3")
	h.enrollOnEC2(t, keyA, "laptop", "", "192.168.1.2")
	h.enrollOnEC2(t, keyB, "b-1", "i-0bbb", "10.9.0.2")

	tests := []struct {
		name, query string
		want        []string
	}{
		{"lists imported and agent-only servers", "", []string{"i-0aaa true 0 false", "i-0bbb false 0 false", "i-0ccc true 0 false"}},
		{"keeps monitored ones", "?monitored=true", []string{"i-0aaa true 0 false", "i-0ccc true 0 false"}},
		{"keeps unmonitored ones", "?monitored=false", []string{"i-0bbb false 0 false"}},
		{"reads isMonitored", "?isMonitored=false", []string{"i-0bbb false 0 false"}},
		{"embeds agents and profile when verbose", "?verbose=true", []string{"i-0aaa true 1 true", "i-0bbb false 0 true", "i-0ccc true 1 false"}},
	}
	for _, path := range []string{"/v2/aws/ec2", "/v2/aws/ec2/"} {
		for _, tt := range tests {
			t.Run(tt.name+" at "+path, func(t *testing.T) {
				r, _ := h.signedDo(t, reader, http.MethodGet, path+tt.query, nil)
				wantStatus(t, r, http.StatusOK, "")
				var p ec2Page
				if err := json.Unmarshal(r.Body, &p); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, ec2Keys(p.Servers)); diff != "" {
					t.Errorf("servers (-want +got):\n%s", diff)
				}
			})
		}
	}
	t.Run("fills the agent-only entry and the verbose agent", func(t *testing.T) {
		r, _ := h.signedDo(t, reader, http.MethodGet, "/v2/aws/ec2?verbose=true&monitored=true", nil)
		wantStatus(t, r, http.StatusOK, "")
		var p ec2Page
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Servers) != 2 {
			t.Fatalf("servers = %v", ec2Keys(p.Servers))
		}
		if a := p.Servers[0].Agents[0]; a.ID != webID || a.Hostname != "web-1" || a.Status != aip.AgentOnline {
			t.Errorf("agent of i-0aaa = %s %s %s, want %s web-1 online", a.ID, a.Hostname, a.Status, webID)
		}
		if s := p.Servers[1]; s.PrivateIPAddress != "10.0.0.3" || s.State != "running" {
			t.Errorf("agent-only entry = ip %q state %q, want 10.0.0.3 running", s.PrivateIPAddress, s.State)
		}
	})
	for _, q := range []string{"monitored=yes", "isMonitored=1", "verbose=yes", "monitored=true&isMonitored=false", "token=nope"} {
		t.Run("rejects "+q, func(t *testing.T) {
			r, _ := h.signedDo(t, reader, http.MethodGet, "/v2/aws/ec2?"+q, nil)
			wantStatus(t, r, http.StatusBadRequest, "")
		})
	}
	t.Run("org B sees only its servers", func(t *testing.T) {
		r, _ := h.signedDo(t, other, http.MethodGet, "/v2/aws/ec2", nil)
		wantStatus(t, r, http.StatusOK, "")
		var p ec2Page
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"i-0bbb true 0 false", "i-0fff false 0 false"}, ec2Keys(p.Servers)); diff != "" {
			t.Errorf("servers (-want +got):\n%s", diff)
		}
	})
	t.Run("pages by instance id with the token alone", func(t *testing.T) {
		var many []*aip.EC2Instance
		for i := range 120 {
			many = append(many, &aip.EC2Instance{ID: fmt.Sprintf("i-1%04d", i), State: "stopped"})
		}
		if _, err := h.store.PutEC2Instances(ctx, orgA, many); err != nil {
			t.Fatal(err)
		}
		var ids []string
		target := "/v2/aws/ec2?monitored=false"
		for pages := 0; ; pages++ {
			r, _ := h.signedDo(t, reader, http.MethodGet, target, nil)
			wantStatus(t, r, http.StatusOK, "")
			var p ec2Page
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatal(err)
			}
			for _, s := range p.Servers {
				if s.Monitored {
					t.Errorf("page %d holds monitored %s", pages, s.ID)
				}
				ids = append(ids, s.ID)
			}
			if p.Token == nil {
				break
			}
			target = "/v2/aws/ec2?token=" + url.QueryEscape(*p.Token)
		}
		if len(ids) != 121 || ids[0] != "i-0bbb" || ids[120] != "i-10119" {
			t.Errorf("paged %d servers from %s, want 121 from i-0bbb to i-10119", len(ids), ids[0])
		}
	})
}
