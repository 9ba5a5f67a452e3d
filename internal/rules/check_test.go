package rules

import (
	"strings"
	"testing"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func TestCheckFields(t *testing.T) {
	valid := func() *aip.Rule {
		return &aip.Rule{Name: "n", Type: "host", Title: "t", SeverityOfAlerts: 2, AlertDescription: "d", Filter: `user = "root"`}
	}
	tests := []struct {
		name   string
		change func(r *aip.Rule)
		want   []string // fields
	}{
		{"accepts a valid Host rule", func(*aip.Rule) {}, nil},
		{"accepts a File rule without filter", func(r *aip.Rule) {
			r.Type, r.Filter = "File", ""
			r.FileIntegrityPaths, r.EventsToMonitor = []aip.FileIntegrityPath{{Path: "/etc"}}, []string{"modify"}
		}, nil},
		{"names every bad field in the API's order", func(r *aip.Rule) {
			r.Name, r.Title, r.SeverityOfAlerts, r.AlertDescription, r.Window, r.Threshold = "", "", 4, "", -1, -1
		}, []string{"name", "title", "severityOfAlerts", "alertDescription", "window", "threshold"}},
		{"refuses overlong text", func(r *aip.Rule) {
			r.Name, r.Title, r.AlertDescription = strings.Repeat("x", 201), strings.Repeat("x", 1001), strings.Repeat("x", 301)
		}, []string{"name", "title", "alertDescription"}},
		{"refuses an unknown type", func(r *aip.Rule) { r.Type = "Nope" }, []string{"type"}},
		{"refuses a Host rule without filter", func(r *aip.Rule) { r.Filter = "  " }, []string{"filter"}},
		{"refuses a File rule without paths or kinds", func(r *aip.Rule) { r.Type = "File" }, []string{"fileIntegrityPaths", "eventsToMonitor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.change(r)
			var got []string
			for _, p := range CheckFields(r) {
				got = append(got, p.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}
