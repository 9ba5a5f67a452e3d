package storeutil

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestRuleSpecRoundTrip(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := &aip.Rule{ID: "r", Suppressions: []string{"user = \"ci\""},
		FileIntegrityPaths: []aip.FileIntegrityPath{{Path: "/etc", Recursive: true}}, IgnoreFiles: []string{"*.swp"},
		EventsToMonitor: []string{"write"}}
	spec, err := EncodeRuleSpec(in)
	if err != nil {
		t.Fatal(err)
	}
	row := fakeRow{"r", "rs", "o", "n", "File", "t", 2, "d", "", 3600, 1, true, spec, created.UnixMilli(), created.UnixMilli() + 1}
	got, err := ScanRule(row)
	if err != nil {
		t.Fatal(err)
	}
	want := &aip.Rule{ID: "r", RulesetID: "rs", OrgID: "o", Name: "n", Type: "File", Title: "t", SeverityOfAlerts: 2,
		AlertDescription: "d", Window: 3600, Threshold: 1, Enabled: true,
		AggregateFields: []string{}, Suppressions: in.Suppressions, FileIntegrityPaths: in.FileIntegrityPaths,
		IgnoreFiles: in.IgnoreFiles, EventsToMonitor: in.EventsToMonitor,
		CreatedAt: aip.Time{Time: created}, UpdatedAt: aip.Time{Time: created.Add(time.Millisecond)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ScanRule (-want +got):\n%s", diff)
	}
	t.Run("rejects a malformed spec", func(t *testing.T) {
		bad := append(fakeRow{}, row...)
		bad[12] = "["
		if _, err := ScanRule(bad); err == nil {
			t.Error("ScanRule accepted a malformed spec")
		}
	})
}

func TestScanRulesetStartsWithEmptyMembers(t *testing.T) {
	got, err := ScanRuleset(fakeRow{"rs", "o", "n", "d", int64(1), int64(2)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Rules == nil || got.Agents == nil || len(got.Rules)+len(got.Agents) != 0 {
		t.Errorf("members = %v, %v; want both empty, not nil", got.Rules, got.Agents)
	}
}
