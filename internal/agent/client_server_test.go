package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/agent"
)

func TestClientAgainstServer(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()

	t.Run("refuses a bad deploy key with 401", func(t *testing.T) {
		c, err := agent.NewClient(s.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		e, err := c.Enroll(ctx, "aipdk_not-a-key", aip.AgentHost{Hostname: "h"}, nil)
		var se *agent.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
			t.Fatalf("Enroll = %v, %v; want *StatusError 401", e, err)
		}
		if se.Temporary() {
			t.Error("a 401 is Temporary")
		}
	})

	c, e := s.enroll(t, "client-host")

	t.Run("heartbeat marks the agent reported", func(t *testing.T) {
		host := aip.AgentHost{Hostname: "client-host", Version: agent.Version,
			AgentModuleHealth: json.RawMessage(`{"collectors":{"x":"ok"}}`)}
		if err := c.Heartbeat(ctx, host); err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		got, err := s.m.Store().FindAgent(ctx, s.orgID, e.AgentID, time.Now().Add(-time.Minute))
		if err != nil {
			t.Fatalf("FindAgent: %v", err)
		}
		if got.LastReportedAt.IsZero() {
			t.Error("LastReportedAt is zero after a heartbeat")
		}
		if got.Version != agent.Version {
			t.Errorf("version %q, want %q", got.Version, agent.Version)
		}
	})

	t.Run("events are accepted then duplicates when re-sent", func(t *testing.T) {
		ts := time.Now().UnixMilli()
		body := fmt.Appendf(nil, `[{"_id":%q,"event_type":"host","timestamp":%d},{"_id":%q,"event_type":"host","timestamp":%d}]`,
			aip.NewUUID(), ts, aip.NewUUID(), ts)
		tests := []struct {
			name string
			want agent.IngestResult
		}{
			{"first send is accepted", agent.IngestResult{Accepted: 2}},
			{"re-sent batch is duplicates", agent.IngestResult{Accepted: 2, Duplicates: 2}},
		}
		for _, tt := range tests {
			got, err := c.SendEvents(ctx, body, "application/json")
			if err != nil {
				t.Fatalf("%s: SendEvents: %v", tt.name, err)
			}
			if got.Accepted != tt.want.Accepted || got.Duplicates != tt.want.Duplicates || len(got.Rejected) != 0 {
				t.Errorf("%s: got %+v, want %+v", tt.name, *got, tt.want)
			}
		}
	})

	t.Run("event without _id is rejected in a 202", func(t *testing.T) {
		got, err := c.SendEvents(ctx, []byte(`[{"event_type":"host","timestamp":1}]`), "application/json")
		if err != nil {
			t.Fatalf("SendEvents: %v", err)
		}
		if len(got.Rejected) != 1 || got.Rejected[0].Index != 0 {
			t.Errorf("rejected = %+v, want index 0", got.Rejected)
		}
	})

	t.Run("packages are stored", func(t *testing.T) {
		inv := &aip.Inventory{Ecosystem: "deb", Distro: "debian", Release: "12",
			Packages: []aip.InstalledPackage{{Name: "bash", Version: "5.2.15-2+b2", Arch: "amd64"}}}
		res, err := c.PutPackages(ctx, inv)
		if err != nil {
			t.Fatalf("PutPackages: %v", err)
		}
		if res.Packages != 1 || len(res.Rejected) != 0 {
			t.Errorf("result %+v, want 1 package, none rejected", *res)
		}
		got, err := s.m.Store().FindInventory(ctx, s.orgID, e.AgentID)
		if err != nil {
			t.Fatalf("FindInventory: %v", err)
		}
		if diff := cmp.Diff(inv.Packages, got.Packages); diff != "" {
			t.Errorf("stored packages (-sent +stored):\n%s", diff)
		}
	})

	t.Run("config is 200 then unchanged for its version", func(t *testing.T) {
		rc, err := c.Config(ctx, "")
		if err != nil || rc == nil {
			t.Fatalf("Config(\"\") = %v, %v; want a config", rc, err)
		}
		if rc.Version == "" {
			t.Error("config without version")
		}
		again, err := c.Config(ctx, rc.Version)
		if err != nil || again != nil {
			t.Errorf("Config(%q) = %v, %v; want nil, nil (304)", rc.Version, again, err)
		}
		other, err := c.Config(ctx, "stale-version")
		if err != nil || other == nil || other.Version != rc.Version {
			t.Errorf("Config(stale) = %v, %v; want the current config", other, err)
		}
	})

	t.Run("wrong agent key is refused", func(t *testing.T) {
		bad := c.WithCredentials(e.AgentID, "wrong-key")
		err := bad.Heartbeat(ctx, aip.AgentHost{Hostname: "client-host"})
		var se *agent.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
			t.Errorf("Heartbeat with a wrong key = %v, want *StatusError 401", err)
		}
	})
}

func TestSetup(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")

	id, err := agent.Setup(ctx, agent.SetupOptions{Server: s.url, DeployKey: s.deployKey, Hostname: "setup-host", StateDir: dir})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Run("writes identity 0600 in a 0700 dir", func(t *testing.T) {
		assertMode(t, dir, 0o700)
		assertMode(t, filepath.Join(dir, "identity.json"), 0o600)
		got, err := agent.LoadIdentity(dir)
		if err != nil {
			t.Fatalf("LoadIdentity: %v", err)
		}
		if diff := cmp.Diff(id, got); diff != "" {
			t.Errorf("loaded identity (-setup +loaded):\n%s", diff)
		}
		if got.Server != s.url {
			t.Errorf("server %q, want %q", got.Server, s.url)
		}
		a, err := s.m.Store().FindAgent(ctx, s.orgID, got.AgentID, time.Now().Add(-time.Minute))
		if err != nil {
			t.Fatalf("enrolled agent not found: %v", err)
		}
		if a.Hostname != "setup-host" {
			t.Errorf("hostname %q, want setup-host", a.Hostname)
		}
	})
	t.Run("refuses a second setup", func(t *testing.T) {
		_, err := agent.Setup(ctx, agent.SetupOptions{Server: s.url, DeployKey: s.deployKey, StateDir: dir})
		if err == nil || !contains(err.Error(), "already enrolled") {
			t.Errorf("second Setup = %v, want already enrolled", err)
		}
	})
	t.Run("bad deploy key writes no identity", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "state")
		_, err := agent.Setup(ctx, agent.SetupOptions{Server: s.url, DeployKey: "nope", StateDir: other})
		var se *agent.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
			t.Fatalf("Setup = %v, want *StatusError 401", err)
		}
		if _, err := agent.LoadIdentity(other); err == nil {
			t.Error("identity written after a failed enrollment")
		}
	})
}
