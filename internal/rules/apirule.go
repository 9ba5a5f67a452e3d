package rules

import "github.com/aipsec/aip"

// ToAPI maps an engine rule with its alertDescription onto the v2 wire
// shape, field for field. Slices are shared, not copied.
func ToAPI(b BaseRule) *aip.Rule {
	r := &aip.Rule{
		ID: b.ID, RulesetID: b.RulesetID,
		Name: b.Name, Type: string(b.Type), Title: b.Title, SeverityOfAlerts: b.Severity,
		AlertDescription: b.AlertDescription, AggregateFields: b.AggregateFields, Filter: b.Filter,
		Window: b.Window, Threshold: b.Threshold, Suppressions: b.Suppressions, Enabled: b.Enabled,
		IgnoreFiles: b.IgnoreFiles, EventsToMonitor: b.EventsToMonitor,
	}
	for _, p := range b.FileIntegrityPaths {
		r.FileIntegrityPaths = append(r.FileIntegrityPaths, aip.FileIntegrityPath{Path: p.Path, Recursive: p.Recursive})
	}
	return r
}

// FromAPI maps a v2 rule onto the engine's shape. Its type is parsed in any
// case; an unknown type leaves Type empty, which ValidateRule rejects.
// Slices are shared, not copied.
func FromAPI(r *aip.Rule) BaseRule {
	t, _ := ParseRuleType(r.Type)
	b := BaseRule{AlertDescription: r.AlertDescription, Rule: Rule{
		ID: r.ID, RulesetID: r.RulesetID, Type: t, Name: r.Name, Title: r.Title, Severity: r.SeverityOfAlerts,
		Filter: r.Filter, Window: r.Window, Threshold: r.Threshold, AggregateFields: r.AggregateFields,
		Suppressions: r.Suppressions, Enabled: r.Enabled, EventsToMonitor: r.EventsToMonitor, IgnoreFiles: r.IgnoreFiles,
	}}
	for _, p := range r.FileIntegrityPaths {
		b.FileIntegrityPaths = append(b.FileIntegrityPaths, FilePath{Path: p.Path, Recursive: p.Recursive})
	}
	return b
}
