package webhook

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPayload(t *testing.T) {
	alert := Alert{
		ID:               "cc3c6e27-4262-4b22-89a3-d00f0c6d7e3b",
		Title:            "User root logged in",
		CreatedAt:        1_700_000_000_123,
		Severity:         1,
		OrganizationID:   "5f1d2a3b4c5d6e7f8091a2b3",
		OrganizationName: "Acme",
		ServerOrRegion:   "web-1",
		Source:           SourceHost,
	}
	t.Run("encodes v2 webhook fields in an alerts list", func(t *testing.T) {
		got, err := Payload([]Alert{alert})
		if err != nil {
			t.Fatalf("Payload() error = %v", err)
		}
		want := `{"alerts":[{"id":"cc3c6e27-4262-4b22-89a3-d00f0c6d7e3b","title":"User root logged in",` +
			`"created_at":1700000000123,"severity":1,"organization_id":"5f1d2a3b4c5d6e7f8091a2b3",` +
			`"organization_Name":"Acme","server_or_region":"web-1","source":"Host"}]}`
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("Payload() mismatch (-want +got):\n%s", diff)
		}
		// What consumers do: body["alerts"] is a list whose elements have id and a numeric created_at.
		var decoded map[string][]map[string]any
		if err := json.Unmarshal(got, &decoded); err != nil {
			t.Fatalf("decode payload: %v", err)
		}
		if _, ok := decoded["alerts"][0]["created_at"].(float64); !ok {
			t.Errorf("created_at = %T, want a JSON number", decoded["alerts"][0]["created_at"])
		}
	})
	bad := func(mutate func(*Alert)) []Alert {
		a := alert
		mutate(&a)
		return []Alert{a}
	}
	tests := []struct {
		name   string
		alerts []Alert
	}{
		{"rejects empty list", nil},
		{"rejects missing id", bad(func(a *Alert) { a.ID = "" })},
		{"rejects missing created_at", bad(func(a *Alert) { a.CreatedAt = 0 })},
		{"rejects severity 0", bad(func(a *Alert) { a.Severity = 0 })},
		{"rejects severity 4", bad(func(a *Alert) { a.Severity = 4 })},
		{"rejects unknown source", bad(func(a *Alert) { a.Source = "agent" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Payload(tt.alerts); err == nil {
				t.Errorf("Payload() = %s, want error", got)
			}
		})
	}
	t.Run("accepts CloudTrail source", func(t *testing.T) {
		if _, err := Payload(bad(func(a *Alert) { a.Source, a.ServerOrRegion = SourceCloudTrail, "us-east-1" })); err != nil {
			t.Errorf("Payload() error = %v", err)
		}
	})
}
