package rules

import (
	"strings"
	"unicode/utf8"

	"github.com/aipsec/aip"
)

// FieldProblem is one field of a v2 rule that fails validation, with what
// the field must be (the v2 API's wording).
type FieldProblem struct {
	Field, Must string
}

// CheckFields applies the v2 API's field rules to r, in the API's order:
// lengths of name, title and alertDescription, the type, the severity,
// window and threshold, then what the type needs (File rules: paths and
// event kinds; others: a filter). The API answers the first problem, the
// console shows them all; the filter language and the rest of the rule's
// meaning are ValidateRule's.
func CheckFields(r *aip.Rule) []FieldProblem {
	var out []FieldProblem
	bad := func(field, must string) { out = append(out, FieldProblem{field, must}) }
	between := func(s string, lo, hi int) bool {
		n := utf8.RuneCountInString(s)
		return n >= lo && n <= hi
	}
	if !between(r.Name, 1, 200) {
		bad("name", "Must be between 1 and 200 characters long.")
	}
	t, ok := ParseRuleType(r.Type)
	if !ok {
		bad("type", "Must be one of "+ruleTypeList()+".")
	}
	if !between(r.Title, 1, 1000) {
		bad("title", "Must be between 1 and 1000 characters long.")
	}
	if r.SeverityOfAlerts < 1 || r.SeverityOfAlerts > 3 {
		bad("severityOfAlerts", "Must be 1, 2 or 3.")
	}
	if !between(r.AlertDescription, 1, 300) {
		bad("alertDescription", "Must be between 1 and 300 characters long.")
	}
	if r.Window < 0 {
		bad("window", "Must be a number of seconds, 0 or more.")
	}
	if r.Threshold < 0 {
		bad("threshold", "Must be 0 or more.")
	}
	switch {
	case !ok:
	case t == TypeFile:
		if len(r.FileIntegrityPaths) == 0 {
			bad("fileIntegrityPaths", "File rules must watch at least one path.")
		}
		if len(r.EventsToMonitor) == 0 {
			bad("eventsToMonitor", "File rules must monitor at least one kind of event.")
		}
	case strings.TrimSpace(r.Filter) == "":
		bad("filter", "Must not be empty.")
	}
	return out
}

// RuleTypeList names the rule types for messages: "Host, File, …".
func RuleTypeList() string { return ruleTypeList() }

func ruleTypeList() string {
	var names []string
	for _, t := range RuleTypes() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}
