package aip

import (
	"context"
	"time"
)

// Alert statuses, as the status filter of GET /v2/alerts names them.
const (
	AlertActive    = "active"
	AlertDismissed = "dismissed"
)

// Alert data sources.
const (
	DataSourceAgent      = "agent"
	DataSourceCloudTrail = "cloudtrail"
)

// Dismiss reasons (api-v2.md §3.3); NONE and AUTO_DISMISS are set by the
// server only.
const (
	DismissBusinessOp    = "BUSINESS_OP"
	DismissCompanyPolicy = "COMPANY_POLICY"
	DismissMaintenance   = "MAINTENANCE"
	DismissOther         = "OTHER"
	DismissNone          = "NONE"
	DismissAuto          = "AUTO_DISMISS"
)

// MaxDismissIDs is how many alert ids one dismiss request may name.
const MaxDismissIDs = 512

// Aggregate is one aggregate field of an alert and its value.
type Aggregate struct {
	FieldName string `json:"fieldName"`
	Value     string `json:"value"`
}

// Alert is the v2 wire shape of an alert (api-v2.md §3.2, DECISIONS.md).
type Alert struct {
	ID                string      `json:"id"`
	OrgID             string      `json:"-"`
	Title             string      `json:"title"`
	DataSource        string      `json:"dataSource"`
	CreatedAt         Time        `json:"createdAt"`
	IsDismissed       bool        `json:"isDismissed"`
	DismissedAt       Time        `json:"dismissedAt,omitzero"`
	DismissReason     string      `json:"dismissReason,omitzero"`
	DismissReasonText string      `json:"dismissReasonText,omitzero"`
	DismissedBy       string      `json:"dismissedBy,omitzero"`
	Severity          int         `json:"severity"`
	AgentID           string      `json:"agentId,omitzero"`
	RuleID            string      `json:"ruleId"`
	RulesetID         string      `json:"rulesetId"`
	Aggregates        []Aggregate `json:"aggregates"`
	EventCount        int         `json:"eventCount"`
	ExpiresAt         Time        `json:"expiresAt"`
	LastEventAt       Time        `json:"lastEventAt"`
	// Key is the engine's aggregation key (rule, agent, aggregate values),
	// kept so that windows can be rebuilt after a restart.
	Key string `json:"-"`
}

// Dismissal is who dismissed alerts, when and why.
type Dismissal struct {
	Reason string
	Text   string
	By     string
	At     time.Time
}

// Validate checks a client's dismissal: a reason a client may give, and a
// text exactly when the reason is OTHER.
func (d Dismissal) Validate() error {
	switch d.Reason {
	case DismissBusinessOp, DismissCompanyPolicy, DismissMaintenance:
		if d.Text != "" {
			return Errorf(EINVALID, "dismissReasonText is only allowed when dismissReason is OTHER.")
		}
	case DismissOther:
		if d.Text == "" {
			return Errorf(EINVALID, "dismissReasonText is required when dismissReason is OTHER.")
		}
	default:
		return Errorf(EINVALID, "Invalid dismissReason %q: must be BUSINESS_OP, COMPANY_POLICY, MAINTENANCE or OTHER.", d.Reason)
	}
	return nil
}

// AlertFilter selects alerts of one organization, newest first on
// (CreatedAt, ID).
type AlertFilter struct {
	OrgID string
	// Status is AlertActive, AlertDismissed or "" for both; ListAlerts
	// requires one of the two, so that every page is an index seek.
	Status    string
	Severity  int // 0 for any
	AgentID   string
	RuleID    string
	RulesetID string
	// Range bounds CreatedAt: From inclusive, Until exclusive.
	Range TimeRange
	// After continues a listing after this keyset position (exclusive).
	After *Cursor
	Limit int
}

// SeverityCount is one entry of GET /v2/alerts/severity-counts.
type SeverityCount struct {
	Severity int `json:"severity"`
	Count    int `json:"count"`
}

// AlertStore persists alerts and their links to events.
type AlertStore interface {
	// CreateAlert stores a with its first events (stored ones, found by ID
	// and Time), filling ID when empty; EventCount becomes the number of
	// distinct events linked and LastEventAt defaults to CreatedAt.
	// When webhookBody is not nil it is queued, like EnqueueDeliveries,
	// once for every webhook of a's organization in the same transaction,
	// so that an alert is never stored without its deliveries.
	// ENOTFOUND for an unknown organization or event.
	CreateAlert(ctx context.Context, a *Alert, events []*Event, webhookBody []byte) error
	// AddAlertEvents links more stored events to an alert and raises its
	// EventCount by the number of event ids not linked before, so a re-sent
	// event never counts twice; LastEventAt moves to lastEventAt if later.
	// It returns how many links were new. ENOTFOUND for an unknown alert
	// or event.
	AddAlertEvents(ctx context.Context, orgID, alertID string, events []*Event, lastEventAt time.Time) (int, error)
	// FindAlert returns one alert; ENOTFOUND when absent.
	FindAlert(ctx context.Context, orgID, id string) (*Alert, error)
	// ListAlerts returns at most f.Limit alerts ordered by (CreatedAt, ID)
	// descending; every page costs the same however deep.
	ListAlerts(ctx context.Context, f AlertFilter) ([]*Alert, error)
	// CountAlertsBySeverity counts the alerts of orgID with the given
	// status ("" for all) created in r: severities 1, 2 and 3, always.
	CountAlertsBySeverity(ctx context.Context, orgID, status string, r TimeRange) ([]SeverityCount, error)
	// ListAlertEvents returns at most limit events of an alert ordered by
	// (event time, ID) descending, after the keyset position after.
	// ENOTFOUND for an unknown alert.
	ListAlertEvents(ctx context.Context, orgID, alertID string, after *Cursor, limit int) ([]*Event, error)
	// DismissAlerts dismisses the active alerts among ids (at most
	// MaxDismissIDs) and returns how many it dismissed.
	DismissAlerts(ctx context.Context, orgID string, ids []string, d Dismissal) (int, error)
	// DismissAlertsMatching dismisses every active alert matching f
	// (Status, After and Limit are ignored) and returns how many.
	DismissAlertsMatching(ctx context.Context, f AlertFilter, d Dismissal) (int, error)
}
