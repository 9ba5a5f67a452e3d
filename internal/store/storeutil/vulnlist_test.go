package storeutil

import (
	"strings"
	"testing"

	"github.com/aipsec/aip"
)

func TestVulnQuery(t *testing.T) {
	tests := []struct {
		name     string
		f        aip.VulnFilter
		wantErr  bool
		contains []string
		absent   []string
	}{
		{"active by default", aip.VulnFilter{OrgID: "o", Limit: 1}, false,
			[]string{"m.resolved_at IS NULL", "WHERE NOT suppressed"}, []string{"notices_len"}},
		{"resolved keeps suppressed rows", aip.VulnFilter{OrgID: "o", Status: aip.VulnResolved, Limit: 1}, false,
			[]string{"m.resolved_at IS NOT NULL"}, []string{"WHERE NOT suppressed", "WHERE suppressed"}},
		{"notices use the dialect's expression", aip.VulnFilter{OrgID: "o", Status: aip.VulnAll, HasSecurityNotices: true, Limit: 1}, false,
			[]string{"notices_len > 0"}, []string{"resolved_at"}},
		{"rejects no organization", aip.VulnFilter{Limit: 1}, true, nil, nil},
		{"rejects no limit", aip.VulnFilter{OrgID: "o"}, true, nil, nil},
		{"rejects an unknown status", aip.VulnFilter{OrgID: "o", Status: "open", Limit: 1}, true, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _, err := VulnQuery(tt.f, "notices_len")
			if tt.wantErr {
				if aip.ErrorCode(err) != aip.EINVALID {
					t.Errorf("VulnQuery = %v, want an EINVALID error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(q, s) {
					t.Errorf("query lacks %q:\n%s", s, q)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(q, s) {
					t.Errorf("query has %q:\n%s", s, q)
				}
			}
		})
	}
}
