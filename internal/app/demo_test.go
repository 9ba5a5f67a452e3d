package app_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/app"
)

// demoBound is how long the demo test waits for the fleet's alerts before
// declaring the pipeline broken; a liveness limit, not a speed claim.
const demoBound = 30 * time.Second

func TestRunDemoRaisesAlerts(t *testing.T) {
	inst := start(t, app.Config{})
	c := inst.client(t, inst.Bootstrap.APIKey)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- app.RunDemo(ctx, "http://"+inst.Addr(), inst.Store(), inst.Bootstrap.OrgID, inst.Logger)
	}()

	// Title prefixes of the Base Rule Set's login failure and sudo rules,
	// which the first replay's scenarios on the bastion raise.
	want := []string{"User Activity (Login Failures):", "User: Sudo Usage:"}
	var titles []string
	var agents int
	deadline := time.Now().Add(demoBound)
	for {
		alerts, _, err := c.Alerts.List(ctx, &client.AlertListOptions{Status: "active"})
		if err != nil {
			t.Fatalf("list alerts: %v", err)
		}
		titles = titles[:0]
		for _, a := range alerts {
			titles = append(titles, a.Title)
		}
		online, _, err := c.Agents.List(ctx, &client.AgentListOptions{Status: "online"})
		if err != nil {
			t.Fatalf("list agents: %v", err)
		}
		agents = len(online)
		if agents == app.DemoAgents && hasPrefixes(titles, want) {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("RunDemo returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d agents online (want %d), alert titles %q (want ones starting %q)\nlogs:\n%s",
				demoBound, agents, app.DemoAgents, titles, want, inst.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunDemo returned %v after its context ended, want nil", err)
		}
	case <-time.After(demoBound):
		t.Fatal("RunDemo did not return after its context ended")
	}
}

// hasPrefixes reports whether every prefix starts some title.
func hasPrefixes(titles, prefixes []string) bool {
	for _, p := range prefixes {
		if !slices.ContainsFunc(titles, func(t string) bool { return strings.HasPrefix(t, p) }) {
			return false
		}
	}
	return true
}

func TestRunDemoRejectsBadInput(t *testing.T) {
	inst := start(t, app.Config{})
	tests := []struct {
		name, baseURL, orgID string
	}{
		{"rejects a base URL without scheme", inst.Addr(), inst.Bootstrap.OrgID},
		{"rejects an unknown organization", "http://" + inst.Addr(), "000000000000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), demoBound)
			defer cancel()
			if err := app.RunDemo(ctx, tt.baseURL, inst.Store(), tt.orgID, nil); err == nil {
				t.Error("RunDemo = nil, want an error")
			}
		})
	}
}

func TestDemoOrgID(t *testing.T) {
	dir := t.TempDir()
	first := start(t, app.Config{DataDir: dir})
	got, err := first.DemoOrgID(context.Background())
	if err != nil || got != first.Bootstrap.OrgID {
		t.Fatalf("first start: DemoOrgID = %q, %v; want the bootstrap org %q", got, err, first.Bootstrap.OrgID)
	}
	b, err := os.ReadFile(first.Config.DemoPath())
	if err != nil || string(b) != "ORG_ID="+got+"\n" {
		t.Fatalf("demo.env = %q, %v; want ORG_ID=%s", b, err, got)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	// A later start has no bootstrap: demo.env names the organization.
	again := start(t, app.Config{DataDir: dir})
	if again.Bootstrap != nil {
		t.Fatal("second start bootstrapped again")
	}
	if got2, err := again.DemoOrgID(context.Background()); err != nil || got2 != got {
		t.Errorf("restart: DemoOrgID = %q, %v; want %q", got2, err, got)
	}
}

// runDemoOnline runs inst's demo in orgID until DemoAgents agents have
// reported since the demo started, stops it, and returns every agent of
// the organization and the ids of the online ones by hostname.
func runDemoOnline(t *testing.T, inst *instance, orgID string) (all []*aip.Agent, online map[string]string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Agent times are kept in milliseconds.
	since := time.Now().Truncate(time.Millisecond).Add(-time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- inst.RunDemo(ctx, orgID) }()
	deadline := time.Now().Add(demoBound)
	for {
		list, err := inst.Store().ListAgents(ctx, aip.AgentFilter{OrgID: orgID, Status: aip.AgentOnline, OnlineSince: since, Limit: 100})
		if err != nil {
			t.Fatalf("list agents: %v", err)
		}
		if len(list) >= app.DemoAgents {
			online = map[string]string{}
			for _, a := range list {
				online[a.Hostname] = a.ID
			}
			break
		}
		select {
		case err := <-done:
			t.Fatalf("RunDemo returned early: %v\nlogs:\n%s", err, inst.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d agents reported (want %d)\nlogs:\n%s", demoBound, len(list), app.DemoAgents, inst.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunDemo returned %v after its context ended, want nil", err)
		}
	case <-time.After(demoBound):
		t.Fatal("RunDemo did not return after its context ended")
	}
	all, err := inst.Store().ListAgents(context.Background(), aip.AgentFilter{OrgID: orgID, Limit: 100})
	if err != nil {
		t.Fatalf("list agents: %v", err)
	}
	return all, online
}

func TestRunDemoReusesItsAgents(t *testing.T) {
	dir := t.TempDir()
	first := start(t, app.Config{DataDir: dir})
	orgID := first.Bootstrap.OrgID
	_, enrolled := runDemoOnline(t, first, orgID)
	if got := len(enrolled); got != app.DemoAgents {
		t.Fatalf("first start: %d hosts online (%v), want %d", got, enrolled, app.DemoAgents)
	}
	fi, err := os.Stat(first.Config.DemoAgentsPath())
	if err != nil {
		t.Fatalf("demo agents file: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("demo agents file mode %v, want 0600", mode)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("keeps the agents across a restart", func(t *testing.T) {
		again := start(t, app.Config{DataDir: dir})
		all, online := runDemoOnline(t, again, orgID)
		if diff := cmp.Diff(enrolled, online); diff != "" {
			t.Errorf("online agents by hostname (-first start +restart):\n%s", diff)
		}
		if len(all) != app.DemoAgents {
			t.Errorf("%d agents in the organization, want %d", len(all), app.DemoAgents)
		}
		if err := again.Close(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("enrolls a revoked host again", func(t *testing.T) {
		again := start(t, app.Config{DataDir: dir})
		revoked := enrolled["bastion"]
		if err := again.Store().RevokeAgent(context.Background(), orgID, revoked); err != nil {
			t.Fatalf("revoke agent: %v", err)
		}
		all, online := runDemoOnline(t, again, orgID)
		if online["bastion"] == "" || online["bastion"] == revoked {
			t.Errorf("bastion online as %q, want a new agent replacing the revoked %s", online["bastion"], revoked)
		}
		for _, h := range []string{"web-1", "db-1"} {
			if online[h] != enrolled[h] {
				t.Errorf("%s online as %q, want the kept agent %s", h, online[h], enrolled[h])
			}
		}
		if len(all) != app.DemoAgents+1 {
			t.Errorf("%d agents in the organization, want %d: the fleet and the revoked one", len(all), app.DemoAgents+1)
		}
		if err := again.Close(); err != nil {
			t.Fatal(err)
		}

		// The replacement is remembered: the next start enrolls nobody.
		last := start(t, app.Config{DataDir: dir})
		all2, online2 := runDemoOnline(t, last, orgID)
		if diff := cmp.Diff(online, online2); diff != "" {
			t.Errorf("online agents by hostname after the re-enrollment (-before +after restart):\n%s", diff)
		}
		if len(all2) != len(all) {
			t.Errorf("%d agents in the organization, want still %d", len(all2), len(all))
		}
	})
}

// vulnBound is how long the demo test waits for the fleet's
// vulnerabilities: the inventories go out right after enrollment.
const vulnBound = 10 * time.Second

func TestRunDemoReportsVulnerabilities(t *testing.T) {
	inst := start(t, app.Config{})
	orgID := inst.Bootstrap.OrgID
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- inst.RunDemo(ctx, orgID) }()

	want := []string{"web-1", "db-1"}
	var got []string
	var cves []string
	deadline := time.Now().Add(vulnBound)
	for {
		agents, err := inst.Store().ListAgents(ctx, aip.AgentFilter{OrgID: orgID, Limit: 100})
		if err != nil {
			t.Fatalf("list agents: %v", err)
		}
		hostnames := map[string]string{}
		for _, a := range agents {
			hostnames[a.ID] = a.Hostname
		}
		vulns, err := inst.Store().ListVulnerabilities(ctx, aip.VulnFilter{OrgID: orgID, Status: aip.VulnActive, Limit: 100, Now: time.Now()})
		if err != nil {
			t.Fatalf("list vulnerabilities: %v", err)
		}
		got, cves = got[:0], cves[:0]
		for _, v := range vulns {
			cves = append(cves, v.CVENumber)
			for _, a := range v.Agents {
				if h := hostnames[a.AgentID]; h != "" && !slices.Contains(got, h) {
					got = append(got, h)
				}
			}
		}
		if !slices.ContainsFunc(want, func(h string) bool { return !slices.Contains(got, h) }) {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("RunDemo returned early: %v\nlogs:\n%s", err, inst.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: vulnerabilities on %q, want on %q\nlogs:\n%s", vulnBound, got, want, inst.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The sample's sudoedit advisory is fixed below the installed sudo.
	if slices.Contains(cves, "CVE-2023-22809") {
		t.Errorf("CVE-2023-22809 is active, want it not to match: %q", cves)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunDemo returned %v after its context ended, want nil", err)
		}
	case <-time.After(demoBound):
		t.Fatal("RunDemo did not return after its context ended")
	}
}
