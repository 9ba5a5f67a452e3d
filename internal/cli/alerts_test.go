package cli

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aipsec/aip"
)

// decodeAlerts parses `--json` list output.
func decodeAlerts(t *testing.T, out string) []*aip.Alert {
	t.Helper()
	var got []*aip.Alert
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	return got
}

func alertIDs(alerts []*aip.Alert) []string {
	ids := make([]string, len(alerts))
	for i, al := range alerts {
		ids[i] = al.ID
	}
	slices.Sort(ids)
	return ids
}

func TestAlertsList(t *testing.T) {
	ts := newTestServer(t)
	seeded := ts.seedAlerts(t, 3)
	first := seeded[0]
	tests := []struct {
		name string
		args []string
		keep func(*aip.Alert) bool // which seeded alerts the filter keeps
	}{
		{"lists every active alert by default", nil, func(*aip.Alert) bool { return true }},
		{"filters by severity", []string{"--severity", itoa(first.Severity)}, func(al *aip.Alert) bool { return al.Severity == first.Severity }},
		{"filters by agent", []string{"--agent-id", first.AgentID}, func(al *aip.Alert) bool { return al.AgentID == first.AgentID }},
		{"filters by rule", []string{"--rule-id", first.RuleID}, func(al *aip.Alert) bool { return al.RuleID == first.RuleID }},
		{"filters by ruleset", []string{"--ruleset-id", first.RulesetID}, func(al *aip.Alert) bool { return al.RulesetID == first.RulesetID }},
		{"filters by creation time", []string{"--from", "2000-01-01", "--until", "2999-12-31"}, func(*aip.Alert) bool { return true }},
		{"finds nothing in the future", []string{"--from", "2999-01-01"}, func(*aip.Alert) bool { return false }},
		{"finds no dismissed alert", []string{"--status", "dismissed"}, func(*aip.Alert) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := ts.run(t, append([]string{"alerts", "list", "--json"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var want []*aip.Alert
			for _, al := range seeded {
				if tt.keep(al) {
					want = append(want, al)
				}
			}
			if got, want := alertIDs(decodeAlerts(t, out)), alertIDs(want); !slices.Equal(got, want) {
				t.Errorf("ids = %v, want %v", got, want)
			}
		})
	}
	t.Run("stops after --limit", func(t *testing.T) {
		out, errOut, code := ts.run(t, "alerts", "list", "--limit", "2", "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if got := len(decodeAlerts(t, out)); got != 2 {
			t.Errorf("got %d alerts, want 2", got)
		}
	})
	t.Run("prints tsv rows, csv with header, jsonl lines", func(t *testing.T) {
		for _, tt := range []struct {
			format    string
			wantLines int
			prefix    string
		}{
			{"tsv", len(seeded), ""},
			{"csv", len(seeded) + 1, "ID,CREATED,SEVERITY,TITLE,AGENT,RULE,EVENTS,DISMISSED"},
			{"jsonl", len(seeded), "{"},
			{"table", len(seeded) + 1, "ID "},
		} {
			out, errOut, code := ts.run(t, "alerts", "list", "--format", tt.format)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", tt.format, code, errOut)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != tt.wantLines || !strings.HasPrefix(lines[0], tt.prefix) {
				t.Errorf("%s: %d lines starting %q, want %d starting %q", tt.format, len(lines), lines[0], tt.wantLines, tt.prefix)
			}
		}
	})
	t.Run("rejects a bad status or severity as usage", func(t *testing.T) {
		for _, args := range [][]string{{"--status", "open"}, {"--severity", "4"}, {"--limit", "-1"}} {
			if _, _, code := ts.run(t, append([]string{"alerts", "list"}, args...)...); code != ExitUsage {
				t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
			}
		}
	})
	t.Run("turns a bad time into exit 1 with the server's message", func(t *testing.T) {
		_, errOut, code := ts.run(t, "alerts", "list", "--from", "yesterday")
		if code != ExitError || !strings.Contains(errOut, "from") {
			t.Errorf("exit %d, stderr %q; want %d naming from", code, errOut, ExitError)
		}
	})
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestAlertsShowEventsCount(t *testing.T) {
	ts := newTestServer(t)
	seeded := ts.seedAlerts(t, 2)
	al := seeded[0]
	t.Run("shows every field of an alert", func(t *testing.T) {
		out, errOut, code := ts.run(t, "alerts", "show", al.ID, "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var got aip.Alert
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != al.ID || got.RuleID != al.RuleID || len(got.Aggregates) == 0 {
			t.Errorf("got %+v, want alert %s with aggregates", got, al.ID)
		}
		out, _, _ = ts.run(t, "alerts", "show", al.ID, "--format", "table")
		for _, h := range []string{"ID ", "AGGREGATES ", "DISMISS REASON", al.ID} {
			if !strings.Contains(out, h) {
				t.Errorf("table lacks %q:\n%s", h, out)
			}
		}
	})
	t.Run("exits 4 for an unknown alert", func(t *testing.T) {
		for _, sub := range []string{"show", "events"} {
			if _, errOut, code := ts.run(t, "alerts", sub, newUUID()); code != ExitNotFound {
				t.Errorf("%s: exit %d (%s), want %d", sub, code, errOut, ExitNotFound)
			}
		}
	})
	t.Run("lists an alert's events as received", func(t *testing.T) {
		out, errOut, code := ts.run(t, "alerts", "events", al.ID, "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var evs []map[string]any
		if err := json.Unmarshal([]byte(out), &evs); err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 || evs[0]["_id"] == nil || evs[0]["command"] != "sudo" {
			t.Errorf("events = %v, want sudo events with _id", evs)
		}
		out, _, _ = ts.run(t, "alerts", "events", al.ID, "--format", "csv", "--limit", "1")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || lines[0] != "_ID,EVENT TYPE,TIMESTAMP,SUMMARY" || !strings.Contains(lines[1], "arguments: sudo cat") {
			t.Errorf("csv = %q, want header and one summarized row", out)
		}
	})
	t.Run("counts alerts per severity", func(t *testing.T) {
		out, errOut, code := ts.run(t, "alerts", "count", "--json", "--from", "2000-01-01")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var got []aip.SeverityCount
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		sum := 0
		for _, sc := range got {
			sum += sc.Count
		}
		if len(got) != 3 || sum != len(seeded) {
			t.Errorf("counts = %v, want 3 severities summing to %d", got, len(seeded))
		}
	})
}

func TestAlertsDismiss(t *testing.T) {
	ts := newTestServer(t)
	seeded := ts.seedAlerts(t, 3)
	t.Run("rejects bad reasons and query misuse as usage", func(t *testing.T) {
		for _, args := range [][]string{
			{seeded[0].ID, "--reason", "BORED"},
			{seeded[0].ID, "--reason", "OTHER"},
			{seeded[0].ID, "--reason", "MAINTENANCE", "--text", "x"},
			{"--query", "--reason", "MAINTENANCE"},
			{"--query", seeded[0].ID, "--from", "2000-01-01", "--reason", "MAINTENANCE"},
			{"--reason", "MAINTENANCE"},
			{seeded[0].ID, "--from", "2000-01-01", "--reason", "MAINTENANCE"},
		} {
			if _, _, code := ts.run(t, append([]string{"alerts", "dismiss"}, args...)...); code != ExitUsage {
				t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
			}
		}
	})
	t.Run("dismisses by ids", func(t *testing.T) {
		out, errOut, code := ts.run(t, "alerts", "dismiss", seeded[0].ID, "--reason", "OTHER", "--text", "pentest")
		if code != 0 || out != "1\n" {
			t.Fatalf("exit %d, stdout %q (%s); want 0 and 1", code, out, errOut)
		}
		out, _, _ = ts.run(t, "alerts", "list", "--status", "dismissed", "--json")
		got := decodeAlerts(t, out)
		if len(got) != 1 || got[0].ID != seeded[0].ID || got[0].DismissReasonText != "pentest" {
			t.Errorf("dismissed = %v, want only %s with its text", alertIDs(got), seeded[0].ID)
		}
	})
	t.Run("dismisses by query", func(t *testing.T) {
		out, errOut, code := ts.run(t, "alerts", "dismiss", "--query", "--from", "2000-01-01",
			"--agent-id", seeded[1].AgentID, "--reason", "BUSINESS_OP", "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var res dismissResult
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.DismissedCount != len(seeded)-1 {
			t.Errorf("result %q, want dismissedCount %d", out, len(seeded)-1)
		}
		out, _, _ = ts.run(t, "alerts", "list", "--json")
		if got := decodeAlerts(t, out); len(got) != 0 {
			t.Errorf("still active: %v", alertIDs(got))
		}
		out, _, _ = ts.run(t, "alerts", "list", "--status", "dismissed", "--json")
		if got, want := alertIDs(decodeAlerts(t, out)), alertIDs(seeded); !slices.Equal(got, want) {
			t.Errorf("dismissed = %v, want %v", got, want)
		}
	})
}
