package client

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestVulnerabilityServices(t *testing.T) {
	host := "web-1"
	vuln := `{"cveNumber":"CVE-2024-0001","reportedPackage":"openssl 3.0","systemPackage":"openssl 3.0-1.amd64","vectorType":"network",` +
		`"severity":"high","isSuppressed":false,"securityNotices":[],"agents":[{"agentId":"a1","hostname":"web-1"}]}`
	wantVuln := &aip.Vulnerability{CVENumber: "CVE-2024-0001", ReportedPackage: "openssl 3.0", SystemPackage: "openssl 3.0-1.amd64",
		VectorType: "network", Severity: "high", SecurityNotices: []aip.SecurityNotice{}, Agents: []aip.VulnAgent{{AgentID: "a1", Hostname: &host}}}
	yes := false
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
			name:   "lists vulnerabilities with filters",
			answer: `{"cves":[` + vuln + `],"token":null}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Vulnerabilities.List(context.Background(), &VulnListOptions{Status: "all", AgentID: "a1", HasSecurityNotices: true})
				return got, err
			},
			want:       []*aip.Vulnerability{wantVuln},
			wantMethod: http.MethodGet, wantURI: "/v2/vulnerabilities?agentId=a1&hasSecurityNotices=true&status=all",
		},
		{
			name:   "gets a CVE",
			answer: `{"cves":[` + vuln + `]}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Vulnerabilities.Get(context.Background(), "CVE-2024-0001")
				return got, err
			},
			want:       []*aip.Vulnerability{wantVuln},
			wantMethod: http.MethodGet, wantURI: "/v2/vulnerabilities/CVE-2024-0001",
		},
		{
			name:   "lists a package's suppressed vulnerabilities",
			answer: `{"packages":[` + vuln + `]}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Vulnerabilities.ByPackage(context.Background(), "openssl", true)
				return got, err
			},
			want:       []*aip.Vulnerability{wantVuln},
			wantMethod: http.MethodGet, wantURI: "/v2/vulnerabilities/package/openssl/suppressed",
		},
		{
			name:   "lists a host's CVEs with its name escaped",
			answer: `{"cves":["CVE-2024-0001"]}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Vulnerabilities.ByServer(context.Background(), "web 1", false)
				return got, err
			},
			want:       []string{"CVE-2024-0001"},
			wantMethod: http.MethodGet, wantURI: "/v2/vulnerabilities/server/web%201",
		},
		{
			name:   "creates a suppression",
			answer: `{"id":"s1","cveNumber":"CVE-2024-0001","package":null,"agentId":"a1","reason":"r","createdBy":"u1","createdAt":"2026-11-23T12:00:00.000Z"}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Suppressions.Create(context.Background(), &SuppressionRequest{CVENumber: "CVE-2024-0001", AgentID: "a1", Reason: "r"})
				return got.AgentID != nil && *got.AgentID == "a1" && got.Package == nil, err
			},
			want:       true,
			wantMethod: http.MethodPost, wantURI: "/v2/vulnerabilities/suppressions",
			wantBody: `{"cveNumber":"CVE-2024-0001","agentId":"a1","reason":"r"}`,
		},
		{
			name:   "lists unmonitored EC2 servers",
			answer: `{"servers":[{"id":"i-1","monitored":false,"groups":[],"tags":[],"state":"stopped","stateCode":80}],"token":null}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.EC2.List(context.Background(), &EC2ListOptions{Monitored: &yes, Verbose: true})
				return got, err
			},
			want:       []*aip.EC2Instance{{ID: "i-1", Groups: []aip.EC2Group{}, Tags: []aip.Tag{}, State: "stopped", StateCode: 80}},
			wantMethod: http.MethodGet, wantURI: "/v2/aws/ec2?monitored=false&verbose=true",
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

	t.Run("pages servers with the token alone", func(t *testing.T) {
		f := newFake(t, func(n int, _ *http.Request, _ []byte) reply {
			if n == 0 {
				return reply{body: `{"servers":[{"agentId":"a1","hostname":null}],"token":"t2"}`}
			}
			return reply{body: `{"servers":[{"agentId":"a2","hostname":"h"}],"token":null}`}
		})
		var got []string
		for s, err := range f.client().Vulnerabilities.AllServers(context.Background(), "CVE-2024-0001") {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, s.AgentID)
		}
		if diff := cmp.Diff([]string{"a1", "a2"}, got); diff != "" {
			t.Errorf("servers (-want +got):\n%s", diff)
		}
		if uri := f.requests()[1].uri; uri != "/v2/vulnerabilities/CVE-2024-0001/servers?token=t2" {
			t.Errorf("second request = %s", uri)
		}
	})
	t.Run("refuses an empty CVE", func(t *testing.T) {
		f := newFake(t, ok(`{}`))
		if _, _, err := f.client().Vulnerabilities.Get(context.Background(), ""); err == nil {
			t.Error("Get(\"\") succeeded")
		}
	})
}
