package storeutil

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestValidAgentFilter(t *testing.T) {
	tests := []struct {
		name    string
		f       aip.AgentFilter
		wantErr bool
	}{
		{"accepts every filter", aip.AgentFilter{OrgID: "o", Status: aip.AgentOnline, Type: aip.AgentTypeMonitor, Limit: 1}, false},
		{"rejects no organization", aip.AgentFilter{Limit: 1}, true},
		{"rejects no limit", aip.AgentFilter{OrgID: "o"}, true},
		{"rejects an unknown status", aip.AgentFilter{OrgID: "o", Status: "up", Limit: 1}, true},
		{"rejects an unknown type", aip.AgentFilter{OrgID: "o", Type: "sensor", Limit: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidAgentFilter(tt.f)
			if tt.wantErr && aip.ErrorCode(err) != aip.EINVALID {
				t.Errorf("ValidAgentFilter = %v, want an EINVALID error", err)
			}
			if !tt.wantErr && err != nil {
				t.Errorf("ValidAgentFilter = %v, want nil", err)
			}
		})
	}
}

func TestAgentQuery(t *testing.T) {
	cutoff := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		f        aip.AgentFilter
		wantSQL  string
		wantArgs []any
	}{
		{
			name:     "offline with hostname",
			f:        aip.AgentFilter{OrgID: "o", Status: aip.AgentOffline, Hostname: "h", OnlineSince: cutoff, Limit: 2},
			wantSQL:  " AND (revoked_at IS NOT NULL OR last_reported_at < ?) AND hostname = ? ORDER BY created_at DESC, id DESC LIMIT ?",
			wantArgs: []any{cutoff.UnixMilli(), "o", cutoff.UnixMilli(), "h", 2},
		},
		{
			name:     "online of a type and instance",
			f:        aip.AgentFilter{OrgID: "o", Status: aip.AgentOnline, Type: "monitor", InstanceID: "i-1", OnlineSince: cutoff, Limit: 2},
			wantSQL:  " AND revoked_at IS NULL AND last_reported_at >= ? AND agent_type = ? AND instance_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
			wantArgs: []any{cutoff.UnixMilli(), "o", cutoff.UnixMilli(), "monitor", "i-1", 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, args := AgentQuery(tt.f)
			prefix := `SELECT ` + AgentColumns + ` FROM agents WHERE org_id = ?`
			if got, ok := strings.CutPrefix(q, prefix); !ok || got != tt.wantSQL {
				t.Errorf("query =\n%s\nwant %s followed by\n%s", q, prefix, tt.wantSQL)
			}
			if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanAgent(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	row := fakeRow{"ag", "o", created.UnixMilli(), created.UnixMilli() + 5, sql.NullInt64{}, "n", "d",
		"i-1", "2.0", "h", "monitor", "Ubuntu", "6.8", `{"tags":[{"source":"ec2","key":"env","value":"prod"}]}`, true}
	got, err := ScanAgent(row)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != aip.AgentOnline || got.Hostname != "h" || !got.LastReportedAt.Equal(created.Add(5*time.Millisecond)) ||
		!got.RevokedAt.IsZero() || !cmp.Equal(got.Tags, []aip.Tag{{Source: "ec2", Key: "env", Value: "prod"}}) {
		t.Errorf("ScanAgent = %+v", got)
	}
	t.Run("offline when the cutoff column is false", func(t *testing.T) {
		off := append(fakeRow{}, row...)
		off[14] = false
		got, err := ScanAgent(off)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != aip.AgentOffline {
			t.Errorf("Status = %q, want offline", got.Status)
		}
	})
	t.Run("rejects malformed host details", func(t *testing.T) {
		bad := append(fakeRow{}, row...)
		bad[13] = "{"
		if _, err := ScanAgent(bad); err == nil {
			t.Error("ScanAgent accepted malformed host details")
		}
	})
}

func TestPrepareAgent(t *testing.T) {
	key := []byte("sealed")
	t.Run("defaults name and times, and empties nil lists", func(t *testing.T) {
		a := &aip.Agent{ID: "ag", AgentHost: aip.AgentHost{Hostname: "web-1"}}
		host, err := PrepareAgent(a, key)
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "web-1" || a.CreatedAt.IsZero() || !a.LastReportedAt.Equal(a.CreatedAt.Time) {
			t.Errorf("prepared agent = %+v", a)
		}
		if a.Tags == nil || a.IPAddresses.Private == nil || a.IPAddresses.Public == nil || a.IPAddresses.LinkLocal == nil {
			t.Errorf("nil lists left: %+v", a.AgentHost)
		}
		var back aip.Agent
		if err := DecodeHost(host, &back.AgentHost); err != nil {
			t.Errorf("host column does not decode: %v", err)
		}
	})
	for _, tc := range []struct {
		name string
		a    aip.Agent
		key  []byte
	}{
		{"rejects no id", aip.Agent{}, key},
		{"rejects no key", aip.Agent{ID: "ag"}, nil},
		{"rejects an unknown type", aip.Agent{ID: "ag", AgentHost: aip.AgentHost{AgentType: "sensor"}}, key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := PrepareAgent(&tc.a, tc.key); aip.ErrorCode(err) != aip.EINVALID {
				t.Errorf("PrepareAgent = %v, want an EINVALID error", err)
			}
		})
	}
}
