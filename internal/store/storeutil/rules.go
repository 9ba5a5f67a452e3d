package storeutil

import (
	"encoding/json"
	"fmt"

	"github.com/aipsec/aip"
)

// ruleSpec is the JSON column of a rule: its lists and File-only fields.
type ruleSpec struct {
	AggregateFields    []string                `json:"aggregateFields"`
	Suppressions       []string                `json:"suppressions"`
	FileIntegrityPaths []aip.FileIntegrityPath `json:"fileIntegrityPaths,omitempty"`
	IgnoreFiles        []string                `json:"ignoreFiles,omitempty"`
	EventsToMonitor    []string                `json:"eventsToMonitor,omitempty"`
}

// RulesetColumns is what ScanRuleset reads, in its order.
const RulesetColumns = `id, org_id, name, description, created_at, updated_at`

// ScanRuleset reads one row of RulesetColumns; the member lists start
// empty for the caller to fill.
func ScanRuleset(row Scanner) (*aip.Ruleset, error) {
	var (
		rs               aip.Ruleset
		created, updated int64
	)
	if err := row.Scan(&rs.ID, &rs.OrgID, &rs.Name, &rs.Description, &created, &updated); err != nil {
		return nil, err
	}
	rs.CreatedAt = aip.Time{Time: FromMillis(created)}
	rs.UpdatedAt = aip.Time{Time: FromMillis(updated)}
	rs.Rules, rs.Agents = []string{}, []string{}
	return &rs, nil
}

// EncodeRuleSpec builds the JSON column of r.
func EncodeRuleSpec(r *aip.Rule) (string, error) {
	b, err := json.Marshal(ruleSpec{
		AggregateFields: r.AggregateFields, Suppressions: r.Suppressions,
		FileIntegrityPaths: r.FileIntegrityPaths, IgnoreFiles: r.IgnoreFiles, EventsToMonitor: r.EventsToMonitor,
	})
	if err != nil {
		return "", fmt.Errorf("encode rule %s: %w", r.ID, err)
	}
	return string(b), nil
}

// RuleColumns is what ScanRule reads, in its order.
const RuleColumns = `id, ruleset_id, org_id, name, type, title, severity, alert_description, filter_expr,
	window_secs, threshold, enabled, spec, created_at, updated_at`

// ScanRule reads one row of RuleColumns.
func ScanRule(row Scanner) (*aip.Rule, error) {
	var (
		r                aip.Rule
		spec             string
		created, updated int64
	)
	if err := row.Scan(&r.ID, &r.RulesetID, &r.OrgID, &r.Name, &r.Type, &r.Title, &r.SeverityOfAlerts,
		&r.AlertDescription, &r.Filter, &r.Window, &r.Threshold, &r.Enabled, &spec, &created, &updated); err != nil {
		return nil, err
	}
	var s ruleSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return nil, fmt.Errorf("decode rule %s: %w", r.ID, err)
	}
	r.AggregateFields, r.Suppressions = NonNil(s.AggregateFields), NonNil(s.Suppressions)
	r.FileIntegrityPaths, r.IgnoreFiles, r.EventsToMonitor = s.FileIntegrityPaths, s.IgnoreFiles, s.EventsToMonitor
	r.CreatedAt = aip.Time{Time: FromMillis(created)}
	r.UpdatedAt = aip.Time{Time: FromMillis(updated)}
	return &r, nil
}
