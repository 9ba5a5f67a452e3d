package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Alert sources as named in the v2 webhook payload.
const (
	SourceHost       = "Host"
	SourceCloudTrail = "CloudTrail"
)

// Alert is one element of the webhook payload, carrying exactly the v2 webhook fields
// (api-v2.md §3.11). Consumers require id and created_at and then call the API with id.
type Alert struct {
	// ID is the alert id consumers pass back to GET /v2/alerts/{id}.
	ID string `json:"id"`
	// Title is the rendered alert title.
	Title string `json:"title"`
	// CreatedAt is epoch milliseconds UTC, a number as the known consumers parse it.
	CreatedAt int64 `json:"created_at"`
	// Severity is 1 (high), 2 or 3.
	Severity int `json:"severity"`
	// OrganizationID is the 24-hex id of the alert's organization.
	OrganizationID string `json:"organization_id"`
	// OrganizationName keeps the documented "organization_Name" spelling.
	OrganizationName string `json:"organization_Name"`
	// ServerOrRegion is the agent's hostname, or the AWS region for CloudTrail alerts.
	ServerOrRegion string `json:"server_or_region"`
	// Source is SourceHost or SourceCloudTrail.
	Source string `json:"source"`
}

type payload struct {
	Alerts []Alert `json:"alerts"`
}

// Payload encodes alerts as the webhook body {"alerts":[...]}. It refuses alerts consumers
// could not process (no id, no created_at, out-of-range severity, unknown source) so a bad
// alert fails at enqueue time instead of 24 hours of deliveries.
func Payload(alerts []Alert) ([]byte, error) {
	if len(alerts) == 0 {
		return nil, errors.New("webhook payload: no alerts")
	}
	for i, a := range alerts {
		switch {
		case a.ID == "":
			return nil, fmt.Errorf("webhook payload: alert %d: empty id", i)
		case a.CreatedAt <= 0:
			return nil, fmt.Errorf("webhook payload: alert %s: created_at %d is not a positive epoch ms", a.ID, a.CreatedAt)
		case a.Severity < 1 || a.Severity > 3:
			return nil, fmt.Errorf("webhook payload: alert %s: severity %d not in 1..3", a.ID, a.Severity)
		case a.Source != SourceHost && a.Source != SourceCloudTrail:
			return nil, fmt.Errorf("webhook payload: alert %s: source %q is neither %q nor %q", a.ID, a.Source, SourceHost, SourceCloudTrail)
		}
	}
	body, err := json.Marshal(payload{Alerts: alerts})
	if err != nil {
		return nil, fmt.Errorf("webhook payload: encode: %w", err)
	}
	return body, nil
}
