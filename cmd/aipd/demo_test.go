package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/aipsec/aip/client"
)

var demoLine = regexp.MustCompile(`aipd: demo: 3 simulated agents are sending events to organization (\S+); ` +
	`alerts appear within seconds: go run \./cmd/aip raw '/v2/alerts\?status=active'`)

func TestServeDemo(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		demoEnv string
	}{
		{"runs the fleet with --demo", []string{"serve", "--demo"}, ""},
		{"runs the fleet with AIP_DEMO=1", []string{"serve"}, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("AIP_ADDR", "127.0.0.1:0")
			t.Setenv("AIP_DATA", dir)
			t.Setenv("AIP_DEMO", tt.demoEnv)
			var stdout, stderr syncBuffer
			root := newRootCommand(&stdout, &stderr)
			root.SetArgs(tt.args)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- root.ExecuteContext(ctx) }()

			var orgID string
			deadline := time.Now().Add(bound)
			for orgID == "" {
				if m := demoLine.FindStringSubmatch(stdout.String()); m != nil {
					orgID = m[1]
					break
				}
				select {
				case err := <-done:
					t.Fatalf("serve ended early: %v\nstderr: %s", err, stderr.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("serve printed no demo line; stdout: %s", stdout.String())
				}
				time.Sleep(10 * time.Millisecond)
			}

			c, env := credentialsClient(t, dir)
			if orgID != env[client.EnvOrgID] {
				t.Errorf("demo runs in organization %s, want the bootstrapped %s", orgID, env[client.EnvOrgID])
			}
			var agents, alerts int
			for agents < 3 || alerts == 0 {
				online, _, err := c.Agents.List(ctx, &client.AgentListOptions{Status: "online"})
				if err != nil {
					t.Fatalf("list agents: %v", err)
				}
				active, _, err := c.Alerts.List(ctx, &client.AlertListOptions{Status: "active"})
				if err != nil {
					t.Fatalf("list alerts: %v", err)
				}
				agents, alerts = len(online), len(active)
				if time.Now().After(deadline) {
					t.Fatalf("%d agents online (want 3) and %d active alerts (want some)\nstderr: %s", agents, alerts, stderr.String())
				}
				time.Sleep(200 * time.Millisecond)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve returned %v after its context ended, want nil", err)
				}
			case <-time.After(bound):
				t.Fatal("serve did not return after its context ended")
			}
		})
	}
}
