package storeutil

import (
	"database/sql"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestValidAlertFilter(t *testing.T) {
	tests := []struct {
		name    string
		f       aip.AlertFilter
		wantErr bool
	}{
		{"accepts an organization alone", aip.AlertFilter{OrgID: "o"}, false},
		{"accepts every filter", aip.AlertFilter{OrgID: "o", Status: aip.AlertDismissed, Severity: 3, AgentID: "a"}, false},
		{"rejects no organization", aip.AlertFilter{Status: aip.AlertActive}, true},
		{"rejects an unknown status", aip.AlertFilter{OrgID: "o", Status: "open"}, true},
		{"rejects severity 4", aip.AlertFilter{OrgID: "o", Severity: 4}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidAlertFilter(tt.f)
			if tt.wantErr && aip.ErrorCode(err) != aip.EINVALID {
				t.Errorf("ValidAlertFilter = %v, want an EINVALID error", err)
			}
			if !tt.wantErr && err != nil {
				t.Errorf("ValidAlertFilter = %v, want nil", err)
			}
		})
	}
}

func TestAlertQuery(t *testing.T) {
	f := aip.AlertFilter{OrgID: "o", Status: aip.AlertActive, Severity: 2, RuleID: "r", Limit: 5}
	q, args := AlertQuery(f)
	want := `SELECT ` + AlertColumns + ` FROM alerts WHERE org_id = ? AND severity = ? AND rule_id = ? AND dismissed = ?` +
		` ORDER BY created_at DESC, id DESC LIMIT ?`
	if q != want {
		t.Errorf("query =\n%s\nwant\n%s", q, want)
	}
	if diff := cmp.Diff([]any{"o", 2, "r", false, 5}, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}

func TestSeverityCountQueryHasOneSubqueryASeverity(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, args := SeverityCountQuery("o", aip.AlertDismissed, aip.TimeRange{From: from})
	var want []any
	for sev := 1; sev <= 3; sev++ {
		want = append(want, "o", sev, true, from.UnixMilli())
	}
	if diff := cmp.Diff(want, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}

func TestPrepareAlert(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 1500000, time.UTC)
	t.Run("fills the id and normalizes times", func(t *testing.T) {
		a := &aip.Alert{Severity: 1, CreatedAt: aip.Time{Time: created}}
		if err := PrepareAlert(a); err != nil {
			t.Fatal(err)
		}
		if a.ID == "" {
			t.Error("no id")
		}
		want := created.Truncate(time.Millisecond)
		if !a.CreatedAt.Equal(want) || !a.LastEventAt.Equal(want) {
			t.Errorf("CreatedAt %v, LastEventAt %v, want both %v", a.CreatedAt, a.LastEventAt, want)
		}
		if a.Aggregates == nil {
			t.Error("Aggregates nil, want empty")
		}
	})
	for _, tc := range []struct {
		name string
		a    aip.Alert
	}{
		{"rejects severity 0", aip.Alert{CreatedAt: aip.Time{Time: created}}},
		{"rejects no creation time", aip.Alert{Severity: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := PrepareAlert(&tc.a); aip.ErrorCode(err) != aip.EINVALID {
				t.Errorf("PrepareAlert = %v, want an EINVALID error", err)
			}
		})
	}
}

func TestScanAlert(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	row := fakeRow{"al", "o", "title", "agent", created.UnixMilli(), true, sql.NullInt64{Int64: created.UnixMilli() + 1, Valid: true},
		"FALSE_POSITIVE", "", "u", 2, "ag", "r", "rs", `[{"fieldName":"user","value":"root"}]`, 3,
		created.UnixMilli() + 2, created.UnixMilli() + 3, "k"}
	got, err := ScanAlert(row)
	if err != nil {
		t.Fatal(err)
	}
	want := &aip.Alert{ID: "al", OrgID: "o", Title: "title", DataSource: "agent", CreatedAt: aip.Time{Time: created},
		IsDismissed: true, DismissedAt: aip.Time{Time: created.Add(time.Millisecond)}, DismissReason: "FALSE_POSITIVE",
		DismissedBy: "u", Severity: 2, AgentID: "ag", RuleID: "r", RulesetID: "rs",
		Aggregates: []aip.Aggregate{{FieldName: "user", Value: "root"}}, EventCount: 3,
		ExpiresAt: aip.Time{Time: created.Add(2 * time.Millisecond)}, LastEventAt: aip.Time{Time: created.Add(3 * time.Millisecond)}, Key: "k"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ScanAlert (-want +got):\n%s", diff)
	}
	t.Run("rejects malformed aggregates", func(t *testing.T) {
		bad := append(fakeRow{}, row...)
		bad[14] = "{"
		if _, err := ScanAlert(bad); err == nil {
			t.Error("ScanAlert accepted malformed aggregates")
		}
	})
}

func TestDismissSet(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	set, args, err := DismissSet(aip.Dismissal{Reason: "OTHER", Text: "t", By: "u", At: at})
	if err != nil {
		t.Fatal(err)
	}
	if want := `UPDATE alerts SET dismissed = ?, dismissed_at = ?, dismiss_reason = ?, dismiss_reason_text = ?, dismissed_by = ?`; set != want {
		t.Errorf("SET = %q, want %q", set, want)
	}
	if diff := cmp.Diff([]any{true, at.UnixMilli(), "OTHER", "t", "u"}, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if _, _, err := DismissSet(aip.Dismissal{}); aip.ErrorCode(err) != aip.EINVALID {
		t.Errorf("DismissSet without reason = %v, want an EINVALID error", err)
	}
}
