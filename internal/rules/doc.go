// Package rules is aip's rule engine: the filter language, event decoding,
// rule evaluation, title and aggregate rendering, and alert windows.
//
// It is pure: no I/O, no clock (times are passed in), no storage. The
// pipeline decodes each agent event once (Event.Decode), asks an Engine
// built from the organization's rules which rules match (Engine.Evaluate or
// EvaluateRulesets for the agent's rulesets), and feeds every Match to an
// Aggregator, whose Decisions say when to open an alert and when to add to
// one. Semantics follow DECISIONS.md ("Rules, rulesets, filter language"
// and "Alerts"); where it is silent, rules-events.md §1–3.
//
// Choices made here where no source decides:
//   - Field names resolve to the top-level key, dotted paths into nested
//     objects, the aliases ip, port and agent, hostname and the cloud
//     fields in the metadata objects (either spelling), and for CloudTrail
//     events the same names under "miscellaneous" (bucketName also under
//     its requestParameters). All the paths of a name count together.
//   - Titles and aggregates render a field's values joined by ", " (arrays),
//     numbers as written in the JSON, null and missing fields as "".
//   - Kubernetes events are "kubernetes_audit" and "kubernetes_config".
//   - An empty rule filter matches every routed event; empty suppressions
//     and filters passed to Compile are errors.
//   - Filter strings accept the escapes \\ \" \' \/ \n \r \t \uXXXX only.
package rules
