package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

// seedVulns gives an agent two active vulnerabilities.
func (ts *testServer) seedVulns(t *testing.T, ag *testAgent) {
	t.Helper()
	var ms []*aip.VulnMatch
	for _, m := range [][2]string{{"CVE-2024-0001", "openssl"}, {"CVE-2024-0002", "curl"}} {
		ms = append(ms, &aip.VulnMatch{
			OrgID: ts.env[envOrgID], AgentID: ag.ID, CVE: m[0], AdvisoryID: m[0], Package: m[1],
			ReportedPackage: m[1] + " 1.0", SystemPackage: m[1] + " 1.0-1.amd64", Severity: "high", VectorType: "network",
		})
	}
	if err := ts.main.Store().ReplaceVulnMatches(context.Background(), ts.env[envOrgID], ag.ID, ms, time.Now()); err != nil {
		t.Fatalf("seed matches: %v", err)
	}
}

func TestVulnsCommands(t *testing.T) {
	ts := newTestServer(t)
	ag := ts.enrollAgent(t, "web-1")
	ts.seedVulns(t, ag)

	cves := func(t *testing.T, args ...string) []string {
		t.Helper()
		out, stderr, code := ts.run(t, append(args, "--json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var got []string
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
		return got
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"lists active CVEs", []string{"vulns", "list", "--jq", "[.[].cveNumber]"}, []string{"CVE-2024-0001", "CVE-2024-0002"}},
		{"limits the list", []string{"vulns", "list", "--limit", "1", "--jq", "[.[].cveNumber]"}, []string{"CVE-2024-0001"}},
		{"filters by agent", []string{"vulns", "list", "--agent-id", ag.ID, "--jq", "[.[].systemPackage]"}, []string{"openssl 1.0-1.amd64", "curl 1.0-1.amd64"}},
		{"shows one CVE", []string{"vulns", "show", "CVE-2024-0002", "--jq", "[.[].systemPackage]"}, []string{"curl 1.0-1.amd64"}},
		{"lists a CVE's servers", []string{"vulns", "servers", "CVE-2024-0001", "--jq", "[.[].hostname]"}, []string{"web-1"}},
		{"lists a package's CVEs", []string{"vulns", "package", "openssl", "--jq", "[.[].cveNumber]"}, []string{"CVE-2024-0001"}},
		{"lists an agent's CVEs", []string{"vulns", "agent", ag.ID}, []string{"CVE-2024-0001", "CVE-2024-0002"}},
		{"lists a host's CVEs", []string{"vulns", "server", "web-1"}, []string{"CVE-2024-0001", "CVE-2024-0002"}},
		{"lists monitored EC2 servers", []string{"ec2", "list", "--monitored", "true", "--jq", "[.[].privateIpAddress]"}, []string{"10.0.0.1"}},
		{"lists no unmonitored EC2 servers", []string{"ec2", "list", "--monitored", "false", "--jq", "[.[].id]"}, []string{}},
		{"embeds agents when verbose", []string{"ec2", "list", "--verbose", "--jq", "[.[].agents[0].hostname]"}, []string{"web-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.args[len(tt.args)-2] == "--jq" {
				out, stderr, code := ts.run(t, tt.args...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				var got []string
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			if diff := cmp.Diff(tt.want, cves(t, tt.args...)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("suppresses, lists and deletes a suppression", func(t *testing.T) {
		out, stderr, code := ts.run(t, "vulns", "suppressions", "create", "--cve", "CVE-2024-0002", "--package", "curl", "--reason", "not reachable", "--json")
		if code != 0 {
			t.Fatalf("create: exit %d: %s", code, stderr)
		}
		var sup aip.Suppression
		if err := json.Unmarshal([]byte(out), &sup); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if diff := cmp.Diff([]string{"CVE-2024-0002"}, cves(t, "vulns", "agent", ag.ID, "--suppressed")); diff != "" {
			t.Errorf("suppressed (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"CVE-2024-0001"}, cves(t, "vulns", "server", "web-1")); diff != "" {
			t.Errorf("active (-want +got):\n%s", diff)
		}
		out, _, code = ts.run(t, "vulns", "suppressions", "list")
		if code != 0 || !strings.Contains(out, sup.ID) || !strings.Contains(out, "not reachable") {
			t.Errorf("list: exit %d:\n%s", code, out)
		}
		if _, stderr, code := ts.run(t, "vulns", "suppressions", "delete", sup.ID); code != 0 {
			t.Fatalf("delete: exit %d: %s", code, stderr)
		}
		if diff := cmp.Diff([]string{"CVE-2024-0001", "CVE-2024-0002"}, cves(t, "vulns", "agent", ag.ID)); diff != "" {
			t.Errorf("active after delete (-want +got):\n%s", diff)
		}
	})
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"rejects a bad status", []string{"vulns", "list", "--status", "gone"}},
		{"rejects a bad monitored value", []string{"ec2", "list", "--monitored", "maybe"}},
		{"requires a reason", []string{"vulns", "suppressions", "create", "--cve", "CVE-2024-0001"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, code := ts.run(t, tt.args...); code == 0 {
				t.Errorf("%v succeeded, want a usage error", tt.args)
			}
		})
	}
	t.Run("reports an unknown CVE", func(t *testing.T) {
		_, stderr, code := ts.run(t, "vulns", "show", "CVE-1999-0001")
		if code == 0 || !strings.Contains(stderr, "not found") {
			t.Errorf("exit %d, stderr %q; want a not-found failure", code, stderr)
		}
	})
}
