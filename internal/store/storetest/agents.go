package storetest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

// runDetection runs the suites of the detection pipeline's entities.
func runDetection(t *testing.T, open func(t *testing.T) aip.Store) {
	t.Run("deploy keys", func(t *testing.T) { testDeployKeys(t, open) })
	t.Run("agents", func(t *testing.T) { testAgents(t, open) })
	t.Run("agent filters and paging", func(t *testing.T) { testAgentListing(t, open) })
	t.Run("agent isolation", func(t *testing.T) { testAgentIsolation(t, open) })
	t.Run("rulesets", func(t *testing.T) { testRulesets(t, open) })
	t.Run("rules", func(t *testing.T) { testRules(t, open) })
	t.Run("base rule set", func(t *testing.T) { testBaseRuleSet(t, open) })
	t.Run("rule isolation", func(t *testing.T) { testRuleIsolation(t, open) })
	t.Run("events", func(t *testing.T) { testEvents(t, open) })
	t.Run("alerts", func(t *testing.T) { testAlerts(t, open) })
	t.Run("alert filters and paging", func(t *testing.T) { testAlertListing(t, open) })
	t.Run("dismiss alerts", func(t *testing.T) { testDismissAlerts(t, open) })
	t.Run("event retention", func(t *testing.T) { testEventRetention(t, open) })
	t.Run("alert isolation", func(t *testing.T) { testAlertIsolation(t, open) })
	t.Run("ingest with evaluation", func(t *testing.T) { testIngestEvents(t, open) })
	t.Run("alert windows", func(t *testing.T) { testAlertWindows(t, open) })
	runVulns(t, open)
}

func hashKey(k string) []byte {
	h := sha256.Sum256([]byte(k))
	return h[:]
}

func testDeployKeys(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")
	k := &aip.DeployKey{OrgID: org.ID, KeyHash: hashKey("secret")}
	if err := s.CreateDeployKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	checkStoredTime(t, "CreatedAt", k.CreatedAt)
	t.Run("finds the key by its hash", func(t *testing.T) {
		got, err := s.FindDeployKey(ctx, hashKey("secret"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(k, got); diff != "" {
			t.Errorf("FindDeployKey mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("unknown hash is not found", func(t *testing.T) {
		_, err := s.FindDeployKey(ctx, hashKey("guess"))
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("duplicate hash conflicts", func(t *testing.T) {
		err := s.CreateDeployKey(ctx, &aip.DeployKey{OrgID: other.ID, KeyHash: hashKey("secret")})
		wantCode(t, err, aip.ECONFLICT)
	})
	t.Run("unknown organization is not found", func(t *testing.T) {
		err := s.CreateDeployKey(ctx, &aip.DeployKey{OrgID: aip.NewID24(), KeyHash: hashKey("x")})
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("another organization cannot delete it", func(t *testing.T) {
		wantCode(t, s.DeleteDeployKey(ctx, other.ID, k.ID), aip.ENOTFOUND)
		if _, err := s.FindDeployKey(ctx, hashKey("secret")); err != nil {
			t.Fatalf("key gone after a foreign delete: %v", err)
		}
	})
	t.Run("deleted key is not found", func(t *testing.T) {
		if err := s.DeleteDeployKey(ctx, org.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.FindDeployKey(ctx, hashKey("secret"))
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.DeleteDeployKey(ctx, org.ID, k.ID), aip.ENOTFOUND)
	})
}

// newAgent returns an agent of orgID with full host details.
func newAgent(orgID, hostname string, created time.Time) *aip.Agent {
	return &aip.Agent{
		ID:        aip.NewUUID(),
		OrgID:     orgID,
		CreatedAt: aip.Time{Time: created},
		AgentHost: aip.AgentHost{
			InstanceID: "i-" + hostname,
			Version:    "2.1.3c",
			Hostname:   hostname,
			IPAddresses: aip.IPAddresses{
				Private:   []string{"10.0.0.1/8"},
				LinkLocal: []string{"fe80::1/64"},
				Public:    []string{"198.51.100.100"},
			},
			Tags:              []aip.Tag{{Source: "ec2", Key: "env", Value: "prod"}},
			AgentType:         aip.AgentTypeInvestigate,
			OSVersion:         "ubuntu 24.04",
			Kernel:            "6.8.0",
			AgentModuleHealth: json.RawMessage(`{"isHealthy":true}`),
		},
	}
}

func mustAgent(t *testing.T, s aip.Store, a *aip.Agent, rulesetIDs ...string) *aip.Agent {
	t.Helper()
	if err := s.CreateAgent(t.Context(), a, []byte("sealed:"+a.ID), rulesetIDs); err != nil {
		t.Fatalf("CreateAgent(%s): %v", a.Hostname, err)
	}
	return a
}

// agentOpts compares agents by instant; the status is checked separately.
var agentOpts = cmp.Options{timeOpts, cmp.Comparer(func(a, b json.RawMessage) bool { return string(a) == string(b) })}

func testAgents(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	rs := mustRuleset(t, s, org.ID, "Base Rule Set")
	a := mustAgent(t, s, newAgent(org.ID, "web-1", base), rs.ID)
	cutoff := base.Add(-time.Minute)

	t.Run("create fills name and lastReportedAt", func(t *testing.T) {
		if a.Name != "web-1" {
			t.Errorf("Name = %q, want the hostname", a.Name)
		}
		if !a.LastReportedAt.Equal(base.Truncate(time.Millisecond)) {
			t.Errorf("LastReportedAt = %v, want CreatedAt %v", a.LastReportedAt, base)
		}
	})
	t.Run("find returns the stored agent online", func(t *testing.T) {
		got, err := s.FindAgent(ctx, org.ID, a.ID, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		want := *a
		want.Status = aip.AgentOnline
		if diff := cmp.Diff(&want, got, agentOpts); diff != "" {
			t.Errorf("FindAgent mismatch (-want +got):\n%s", diff)
		}
		checkStoredTime(t, "CreatedAt", got.CreatedAt.Time)
	})
	t.Run("an agent silent since the cutoff is offline", func(t *testing.T) {
		got, err := s.FindAgent(ctx, org.ID, a.ID, base.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != aip.AgentOffline {
			t.Errorf("Status = %q, want offline", got.Status)
		}
	})
	t.Run("empty lists read back as empty, null health as nil", func(t *testing.T) {
		b := newAgent(org.ID, "bare", base)
		b.IPAddresses, b.Tags, b.AgentModuleHealth = aip.IPAddresses{}, nil, nil
		mustAgent(t, s, b)
		got, err := s.FindAgent(ctx, org.ID, b.ID, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{
			"ipAddresses":       `{"private":[],"link_local":[],"public":[]}`,
			"tags":              `[]`,
			"agentModuleHealth": `null`,
		} {
			if string(m[k]) != want {
				t.Errorf("JSON %s = %s, want %s", k, m[k], want)
			}
		}
	})
	t.Run("credentials carry the org and sealed key", func(t *testing.T) {
		got, err := s.FindAgentCredentials(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := &aip.AgentCredentials{AgentID: a.ID, OrgID: org.ID, SealedKey: []byte("sealed:" + a.ID)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FindAgentCredentials mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("heartbeat replaces host details and never moves time back", func(t *testing.T) {
		h := a.AgentHost
		h.Hostname, h.Kernel, h.Tags = "web-1b", "6.9.1", nil
		later := base.Add(10 * time.Minute)
		if err := s.RecordHeartbeat(ctx, org.ID, a.ID, h, later); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordHeartbeat(ctx, org.ID, a.ID, h, base.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindAgent(ctx, org.ID, a.ID, base.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got.Hostname != "web-1b" || got.Kernel != "6.9.1" || len(got.Tags) != 0 {
			t.Errorf("host = %+v, want the heartbeat's", got.AgentHost)
		}
		if !got.LastReportedAt.Equal(later.Truncate(time.Millisecond)) || got.Status != aip.AgentOnline {
			t.Errorf("LastReportedAt, Status = %v, %s; want %v, online", got.LastReportedAt, got.Status, later)
		}
	})
	t.Run("rejects a bad agent type and module health", func(t *testing.T) {
		h := a.AgentHost
		h.AgentType = "spy"
		wantCode(t, s.RecordHeartbeat(ctx, org.ID, a.ID, h, base), aip.EINVALID)
		h = a.AgentHost
		h.AgentModuleHealth = json.RawMessage(`[1]`)
		wantCode(t, s.RecordHeartbeat(ctx, org.ID, a.ID, h, base), aip.EINVALID)
	})
	t.Run("unknown ruleset at enrollment stores nothing", func(t *testing.T) {
		b := newAgent(org.ID, "lost", base)
		err := s.CreateAgent(ctx, b, []byte("k"), []string{rs.ID, aip.NewUUID()})
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.FindAgent(ctx, org.ID, b.ID, cutoff)
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("unknown organization and taken id are refused", func(t *testing.T) {
		wantCode(t, s.CreateAgent(ctx, newAgent(aip.NewID24(), "x", base), []byte("k"), nil), aip.ENOTFOUND)
		dup := newAgent(org.ID, "dup", base)
		dup.ID = a.ID
		wantCode(t, s.CreateAgent(ctx, dup, []byte("k"), nil), aip.ECONFLICT)
	})
	t.Run("revoked agent loses its key and goes offline", func(t *testing.T) {
		if err := s.RevokeAgent(ctx, org.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAgent(ctx, org.ID, a.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		_, err := s.FindAgentCredentials(ctx, a.ID)
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.RecordHeartbeat(ctx, org.ID, a.ID, a.AgentHost, base.Add(time.Hour)), aip.ENOTFOUND)
		got, err := s.FindAgent(ctx, org.ID, a.ID, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != aip.AgentOffline || got.RevokedAt.IsZero() {
			t.Errorf("Status, RevokedAt = %s, %v; want offline, set", got.Status, got.RevokedAt)
		}
	})
	t.Run("unknown agent is not found", func(t *testing.T) {
		_, err := s.FindAgent(ctx, org.ID, aip.NewUUID(), cutoff)
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.RevokeAgent(ctx, org.ID, aip.NewUUID()), aip.ENOTFOUND)
		_, err = s.FindAgentCredentials(ctx, aip.NewUUID())
		wantCode(t, err, aip.ENOTFOUND)
	})
}

func agentIDs(as []*aip.Agent) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func testAgentListing(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	// Seven agents a minute apart; a[1] and a[2] share a creation time so
	// that the id breaks the tie.
	var all []*aip.Agent
	for i := range 7 {
		at := base.Add(time.Duration(i) * time.Minute)
		if i == 2 {
			at = all[1].CreatedAt.Time
		}
		a := newAgent(org.ID, fmt.Sprintf("host-%d", i), at)
		if i%2 == 1 {
			a.AgentType = aip.AgentTypeMonitor
		}
		all = append(all, mustAgent(t, s, a))
	}
	// Newest first: by time, then id descending.
	newest := func(as ...*aip.Agent) []string {
		out := agentIDs(as)
		sortNewestFirst(out, func(id string) time.Time {
			for _, a := range as {
				if a.ID == id {
					return a.CreatedAt.Time
				}
			}
			return time.Time{}
		})
		return out
	}
	cutoff := base.Add(4 * time.Minute).Truncate(time.Millisecond) // agents 4..6 reported since
	tests := []struct {
		name string
		f    aip.AgentFilter
		want []string
	}{
		{"no filter", aip.AgentFilter{}, newest(all...)},
		{"online", aip.AgentFilter{Status: aip.AgentOnline}, newest(all[4:]...)},
		{"offline", aip.AgentFilter{Status: aip.AgentOffline}, newest(all[:4]...)},
		{"type", aip.AgentFilter{Type: aip.AgentTypeMonitor}, newest(all[1], all[3], all[5])},
		{"hostname", aip.AgentFilter{Hostname: "host-3"}, newest(all[3])},
		{"instance id", aip.AgentFilter{InstanceID: "i-host-5"}, newest(all[5])},
		{"range", aip.AgentFilter{Range: aip.TimeRange{From: all[3].CreatedAt.Time, Until: all[5].CreatedAt.Time}}, newest(all[3], all[4])},
		{"online and type", aip.AgentFilter{Status: aip.AgentOnline, Type: aip.AgentTypeInvestigate}, newest(all[4], all[6])},
	}
	for _, tt := range tests {
		t.Run(tt.name+" selects its agents newest first", func(t *testing.T) {
			f := tt.f
			f.OrgID, f.OnlineSince, f.Limit = org.ID, cutoff, 100
			got, err := s.ListAgents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, agentIDs(got)); diff != "" {
				t.Errorf("ListAgents mismatch (-want +got):\n%s", diff)
			}
			for _, a := range got {
				wantStatus := aip.AgentOffline
				if !a.LastReportedAt.Before(cutoff) {
					wantStatus = aip.AgentOnline
				}
				if a.Status != wantStatus {
					t.Errorf("agent %s Status = %s, want %s", a.Hostname, a.Status, wantStatus)
				}
			}
		})
	}
	t.Run("pages of two walk the whole listing", func(t *testing.T) {
		var got []string
		f := aip.AgentFilter{OrgID: org.ID, OnlineSince: cutoff, Limit: 2}
		for range 10 {
			page, err := s.ListAgents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, agentIDs(page)...)
			if len(page) < 2 {
				break
			}
			last := page[len(page)-1]
			f.After = &aip.Cursor{Time: last.CreatedAt.Time, ID: last.ID}
		}
		if diff := cmp.Diff(newest(all...), got); diff != "" {
			t.Errorf("paged listing mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("rejects bad parameters", func(t *testing.T) {
		for _, f := range []aip.AgentFilter{
			{OrgID: org.ID, Limit: 10, Status: "asleep"},
			{OrgID: org.ID, Limit: 10, Type: "spy"},
			{OrgID: org.ID},
			{Limit: 10},
		} {
			_, err := s.ListAgents(ctx, f)
			wantCode(t, err, aip.EINVALID)
		}
	})
}

func testAgentIsolation(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	mine := mustOrg(t, s, "mine")
	theirs := mustOrg(t, s, "theirs")
	myRS := mustRuleset(t, s, mine.ID, "Base Rule Set")
	theirRS := mustRuleset(t, s, theirs.ID, "Base Rule Set")
	a := mustAgent(t, s, newAgent(mine.ID, "shared", base), myRS.ID)
	b := mustAgent(t, s, newAgent(theirs.ID, "shared", base), theirRS.ID)

	t.Run("lists only its own agents with every filter", func(t *testing.T) {
		for _, f := range []aip.AgentFilter{
			{}, {Status: aip.AgentOnline}, {Hostname: "shared"}, {InstanceID: "i-shared"},
			{After: &aip.Cursor{Time: base.Add(time.Hour), ID: b.ID}},
		} {
			f.OrgID, f.Limit = mine.ID, 100
			got, err := s.ListAgents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{a.ID}, agentIDs(got)); diff != "" {
				t.Errorf("ListAgents(%+v) mismatch (-want +got):\n%s", f, diff)
			}
		}
	})
	t.Run("cannot read or change another org's agent", func(t *testing.T) {
		_, err := s.FindAgent(ctx, mine.ID, b.ID, base)
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.RecordHeartbeat(ctx, mine.ID, b.ID, b.AgentHost, base.Add(time.Hour)), aip.ENOTFOUND)
		wantCode(t, s.RevokeAgent(ctx, mine.ID, b.ID), aip.ENOTFOUND)
		wantCode(t, s.SetAgentRulesets(ctx, mine.ID, b.ID, []string{myRS.ID}), aip.ENOTFOUND)
		if _, err := s.FindAgentCredentials(ctx, b.ID); err != nil {
			t.Errorf("their agent's key stopped working: %v", err)
		}
		got, err := s.FindAgent(ctx, theirs.ID, b.ID, base)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastReportedAt.Equal(b.LastReportedAt.Time) {
			t.Errorf("their agent's LastReportedAt moved to %v", got.LastReportedAt)
		}
	})
	t.Run("cannot assign another org's ruleset", func(t *testing.T) {
		wantCode(t, s.SetAgentRulesets(ctx, mine.ID, a.ID, []string{theirRS.ID}), aip.ENOTFOUND)
		wantCode(t, s.CreateAgent(ctx, newAgent(mine.ID, "x", base), []byte("k"), []string{theirRS.ID}), aip.ENOTFOUND)
		got, err := s.ListRulesets(ctx, mine.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{myRS.ID}, rulesetIDs(got)); diff != "" {
			t.Errorf("rulesets of agent mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("credentials name the agent's own org", func(t *testing.T) {
		c, err := s.FindAgentCredentials(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.OrgID != theirs.ID {
			t.Errorf("OrgID = %s, want %s", c.OrgID, theirs.ID)
		}
	})
}
