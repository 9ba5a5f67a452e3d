package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

func init() { register(newAlertsCommand) }

// newAlertsCommand is `aip alerts …`.
func newAlertsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List, show, count, dismiss and export the organization's alerts",
		Example: `  aip alerts list --severity 1
  aip alerts show ALERT_ID --json
  aip alerts dismiss ALERT_ID --reason MAINTENANCE
  aip alerts export --from 2024-01-01 --checkpoint alerts.ckpt -o alerts.jsonl`,
		Args: noArgs,
	}
	cmd.AddCommand(newAlertsListCommand(a), newAlertsShowCommand(a), newAlertsEventsCommand(a),
		newAlertsCountCommand(a), newAlertsDismissCommand(a), newAlertsExportCommand(a))
	return cmd
}

// alertColumns are the columns of `aip alerts list`.
func alertColumns() []column[*aip.Alert] {
	return []column[*aip.Alert]{
		{"ID", func(al *aip.Alert) string { return al.ID }},
		{"CREATED", func(al *aip.Alert) string { return formatTime(al.CreatedAt) }},
		{"SEVERITY", func(al *aip.Alert) string { return strconv.Itoa(al.Severity) }},
		{"TITLE", func(al *aip.Alert) string { return al.Title }},
		{"AGENT", func(al *aip.Alert) string { return al.AgentID }},
		{"RULE", func(al *aip.Alert) string { return al.RuleID }},
		{"EVENTS", func(al *aip.Alert) string { return strconv.Itoa(al.EventCount) }},
		{"DISMISSED", func(al *aip.Alert) string { return formatTime(al.DismissedAt) }},
	}
}

// checkStatus accepts the two alert statuses of the API.
func checkStatus(status string) error {
	if status != "active" && status != "dismissed" {
		return usageErrorf("--status must be active or dismissed, not %q", status)
	}
	return nil
}

// checkSeverity accepts 0 (any) and the severities 1 to 3.
func checkSeverity(sev int) error {
	if sev < 0 || sev > 3 {
		return usageErrorf("--severity must be 1, 2 or 3, not %d", sev)
	}
	return nil
}

func newAlertsListCommand(a *app) *cobra.Command {
	var opts client.AlertListOptions
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List alerts, active by default",
		Long: `List the organization's alerts, newest first, fetching every page (or the
first --limit alerts). --from and --until bound the creation time (the time of
the event that fired the alert): a date, yyyy-mm-ddThh[:mm[:ss[.fff]]], with an
optional Z or ±hh:mm (UTC otherwise); a partial --until covers its whole unit.`,
		Example: `  aip alerts list
  aip alerts list --status dismissed --from 2024-05-01 --until 2024-05-31
  aip alerts list --severity 1 --agent-id AGENT_ID --limit 20 --format csv
  aip alerts list --jq '.[] | select(.eventCount > 10) | .id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkStatus(opts.Status); err != nil {
				return err
			}
			if err := checkSeverity(opts.Severity); err != nil {
				return err
			}
			if limit < 0 {
				return usageErrorf("--limit must not be negative")
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			return writeList(a, limitSeq(c.Alerts.All(cmd.Context(), &opts), limit), alertColumns())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Status, "status", "active", "active or dismissed")
	f.IntVar(&opts.Severity, "severity", 0, "only alerts of severity 1, 2 or 3")
	f.StringVar(&opts.AgentID, "agent-id", "", "only alerts of this agent")
	f.StringVar(&opts.RuleID, "rule-id", "", "only alerts of this rule")
	f.StringVar(&opts.RulesetID, "ruleset-id", "", "only alerts of rules of this ruleset")
	f.StringVar(&opts.From, "from", "", "created at or after this time")
	f.StringVar(&opts.Until, "until", "", "created at or before this time")
	f.IntVar(&limit, "limit", 0, "stop after N alerts (0: all)")
	return cmd
}

func newAlertsShowCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show ALERT_ID",
		Short:   "Show one alert with all its fields",
		Example: "  aip alerts show 0190f1c2-7d4e-7a8b-9c0d-1e2f3a4b5c6d\n  aip alerts show ALERT_ID --jq '.aggregates[] | .fieldName + \"=\" + .value'",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			al, _, err := c.Alerts.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			cols := append(alertColumns(),
				column[*aip.Alert]{"DATA SOURCE", func(al *aip.Alert) string { return al.DataSource }},
				column[*aip.Alert]{"RULESET", func(al *aip.Alert) string { return al.RulesetID }},
				column[*aip.Alert]{"AGGREGATES", func(al *aip.Alert) string { return formatAggregates(al.Aggregates) }},
				column[*aip.Alert]{"LAST EVENT", func(al *aip.Alert) string { return formatTime(al.LastEventAt) }},
				column[*aip.Alert]{"EXPIRES", func(al *aip.Alert) string { return formatTime(al.ExpiresAt) }},
				column[*aip.Alert]{"IS DISMISSED", func(al *aip.Alert) string { return strconv.FormatBool(al.IsDismissed) }},
				column[*aip.Alert]{"DISMISS REASON", func(al *aip.Alert) string { return al.DismissReason }},
				column[*aip.Alert]{"DISMISS TEXT", func(al *aip.Alert) string { return al.DismissReasonText }},
				column[*aip.Alert]{"DISMISSED BY", func(al *aip.Alert) string { return al.DismissedBy }},
			)
			return writeItem(a, al, cols)
		},
	}
}

// formatAggregates renders aggregates as field=value pairs.
func formatAggregates(aggs []aip.Aggregate) string {
	parts := make([]string, len(aggs))
	for i, ag := range aggs {
		parts[i] = ag.FieldName + "=" + ag.Value
	}
	return strings.Join(parts, " ")
}

// rawEvent prints an event's JSON exactly as the server sent it, while its
// table columns read the indexed fields.
type rawEvent struct{ *aip.Event }

// MarshalJSON returns the event as received.
func (e rawEvent) MarshalJSON() ([]byte, error) { return e.Raw, nil }

// eventSummaryKeys are the event fields that best say what happened, most
// telling first.
var eventSummaryKeys = []string{"arguments", "command", "exe", "filename", "eventName", "comment", "log", "title"}

// eventSummary is the first non-empty string among eventSummaryKeys.
func eventSummary(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	for _, k := range eventSummaryKeys {
		if s, ok := m[k].(string); ok && s != "" {
			return k + ": " + s
		}
	}
	return ""
}

func newAlertsEventsCommand(a *app) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "events ALERT_ID",
		Short: "List the events that contributed to an alert",
		Long: `List the events of an alert, newest first, fetching every page (or the first
--limit events). JSON output (--json, --format jsonl, --jq) prints each event
object exactly as the server sent it.`,
		Example: `  aip alerts events ALERT_ID
  aip alerts events ALERT_ID --limit 5 --format jsonl
  aip alerts events ALERT_ID --jq '.[].agent_id'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usageErrorf("--limit must not be negative")
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			seq := func(yield func(rawEvent, error) bool) {
				for ev, err := range c.Alerts.AllEvents(cmd.Context(), args[0]) {
					if !yield(rawEvent{ev}, err) {
						return
					}
				}
			}
			cols := []column[rawEvent]{
				{"_ID", func(e rawEvent) string { return e.ID }},
				{"EVENT TYPE", func(e rawEvent) string { return e.Type }},
				{"TIMESTAMP", func(e rawEvent) string {
					if e.Time.IsZero() {
						return ""
					}
					return e.Time.UTC().Format(time.RFC3339)
				}},
				{"SUMMARY", func(e rawEvent) string { return eventSummary(e.Raw) }},
			}
			return writeList(a, limitSeq(seq, limit), cols)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "stop after N events (0: all)")
	return cmd
}

func newAlertsCountCommand(a *app) *cobra.Command {
	var opts client.SeverityCountOptions
	cmd := &cobra.Command{
		Use:   "count",
		Short: "Count alerts per severity",
		Long: `Count the alerts of each severity (1, 2 and 3, zeros included), active by
default, created between --from and --until when given.`,
		Example: `  aip alerts count
  aip alerts count --from 2024-05-01 --until 2024-05-31 --status dismissed
  aip alerts count --jq 'map(.count) | add'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkStatus(opts.Status); err != nil {
				return err
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			counts, _, err := c.Alerts.SeverityCounts(cmd.Context(), &opts)
			if err != nil {
				return err
			}
			return writeSlice(a, counts, []column[aip.SeverityCount]{
				{"SEVERITY", func(sc aip.SeverityCount) string { return strconv.Itoa(sc.Severity) }},
				{"COUNT", func(sc aip.SeverityCount) string { return strconv.Itoa(sc.Count) }},
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Status, "status", "active", "active or dismissed")
	f.StringVar(&opts.From, "from", "", "created at or after this time")
	f.StringVar(&opts.Until, "until", "", "created at or before this time")
	return cmd
}

// dismissResult is what `aip alerts dismiss` prints.
type dismissResult struct {
	DismissedCount int `json:"dismissedCount"`
}

func newAlertsDismissCommand(a *app) *cobra.Command {
	var req client.DismissRequest
	var query bool
	cmd := &cobra.Command{
		Use:   "dismiss {ALERT_ID... | --query --from F [--until U] [filters]} --reason R",
		Short: "Dismiss alerts by id or by query",
		Long: `Dismiss the named alerts, or with --query every active alert created between
--from and --until (now when omitted) that matches --severity, --rule-id and
--agent-id. --from is mandatory with --query, so that a bare --query cannot
dismiss every alert of the organization.

--reason is BUSINESS_OP, COMPANY_POLICY, MAINTENANCE or OTHER; OTHER needs
--text, the others refuse it. aip checks this itself: a bad reason is a usage
error (exit code 2) and sends no request. More than 512 ids are sent as
several requests. Prints how many alerts were dismissed.`,
		Example: `  aip alerts dismiss ALERT_ID --reason MAINTENANCE
  aip alerts dismiss ID1 ID2 ID3 --reason OTHER --text "pentest week"
  aip alerts dismiss --query --from 2024-05-01 --until 2024-05-02 --severity 3 --reason BUSINESS_OP
  aip alerts list --severity 3 --jq '.[].id' | xargs aip alerts dismiss --reason COMPANY_POLICY`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := (aip.Dismissal{Reason: req.DismissReason, Text: req.DismissReasonText}).Validate(); err != nil {
				return usageErrorf("--reason/--text: %s", strings.TrimSuffix(aip.ErrorMessage(err), "."))
			}
			if err := checkSeverity(req.Severity); err != nil {
				return err
			}
			queryFlags := req.From != "" || req.Until != "" || req.Severity != 0 || req.RuleID != "" || req.AgentID != ""
			switch {
			case query && len(args) > 0:
				return usageErrorf("--query takes no alert ids, got %q", args)
			case query && req.From == "":
				return usageErrorf("--query needs --from (refusing to dismiss alerts of all time)")
			case !query && len(args) == 0:
				return usageErrorf("give alert ids, or --query with --from")
			case !query && queryFlags:
				return usageErrorf("--from, --until, --severity, --rule-id and --agent-id need --query")
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var total int
			if query {
				if req.Until == "" {
					req.Until = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
				}
				n, _, err := c.Alerts.Dismiss(cmd.Context(), &req)
				if err != nil {
					return fmt.Errorf("dismiss alerts: %w", err)
				}
				total = n
			} else {
				for chunk := range slices.Chunk(args, aip.MaxDismissIDs) {
					r := req
					r.IDs = chunk
					n, _, err := c.Alerts.Dismiss(cmd.Context(), &r)
					if err != nil {
						if total > 0 {
							fmt.Fprintf(a.env.Stderr, "aip: %d alerts were dismissed before the error\n", total)
						}
						return fmt.Errorf("dismiss alerts: %w", err)
					}
					total += n
				}
			}
			return writeItem(a, dismissResult{total}, []column[dismissResult]{
				{"DISMISSED", func(r dismissResult) string { return strconv.Itoa(r.DismissedCount) }},
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.DismissReason, "reason", "", "BUSINESS_OP, COMPANY_POLICY, MAINTENANCE or OTHER (required)")
	f.StringVar(&req.DismissReasonText, "text", "", "free text; required with --reason OTHER, refused otherwise")
	f.BoolVar(&query, "query", false, "dismiss by query (--from, --until and filters) instead of ids")
	f.StringVar(&req.From, "from", "", "with --query: created at or after this time (required)")
	f.StringVar(&req.Until, "until", "", "with --query: created at or before this time (default now)")
	f.IntVar(&req.Severity, "severity", 0, "with --query: only severity 1, 2 or 3")
	f.StringVar(&req.RuleID, "rule-id", "", "with --query: only alerts of this rule")
	f.StringVar(&req.AgentID, "agent-id", "", "with --query: only alerts of this agent")
	return cmd
}
