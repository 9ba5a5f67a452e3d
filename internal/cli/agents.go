package cli

import (
	"iter"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

func init() { register(newAgentsCommand) }

// newAgentsCommand is `aip agents …`.
func newAgentsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "agents",
		Short:   "List and show the organization's agents",
		Example: "  aip agents list --status offline\n  aip agents show AGENT_ID --json",
		Args:    noArgs,
	}
	cmd.AddCommand(newAgentsListCommand(a), newAgentsShowCommand(a))
	return cmd
}

// agentColumns are the columns of `aip agents list`.
func agentColumns() []column[*aip.Agent] {
	return []column[*aip.Agent]{
		{"ID", func(ag *aip.Agent) string { return ag.ID }},
		{"NAME", func(ag *aip.Agent) string { return ag.Name }},
		{"STATUS", func(ag *aip.Agent) string { return ag.Status }},
		{"TYPE", func(ag *aip.Agent) string { return ag.AgentType }},
		{"HOSTNAME", func(ag *aip.Agent) string { return ag.Hostname }},
		{"INSTANCE ID", func(ag *aip.Agent) string { return ag.InstanceID }},
		{"VERSION", func(ag *aip.Agent) string { return ag.Version }},
		{"LAST REPORTED", func(ag *aip.Agent) string { return formatTime(ag.LastReportedAt) }},
	}
}

func newAgentsListCommand(a *app) *cobra.Command {
	var opts client.AgentListOptions
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List agents, online by default",
		Long: `List the organization's agents, newest enrolled first, fetching every page
(or the first --limit agents). --from and --until bound the enrollment time:
epoch milliseconds, RFC 3339 or a date.`,
		Example: `  aip agents list
  aip agents list --status offline --hostname web-1
  aip agents list --type monitor --limit 10 --format csv
  aip agents list --jq '.[] | select(.version != "2.4.1") | .hostname'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Status != "online" && opts.Status != "offline" {
				return usageErrorf("--status must be online or offline, not %q", opts.Status)
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
			return writeList(a, limitSeq(c.Agents.All(cmd.Context(), &opts), limit), agentColumns())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Status, "status", "online", "online or offline")
	f.StringVar(&opts.Type, "type", "", "agent type: monitor or investigate")
	f.StringVar(&opts.Hostname, "hostname", "", "only agents with this hostname")
	f.StringVar(&opts.InstanceID, "instance-id", "", "only agents with this instance id")
	f.StringVar(&opts.From, "from", "", "enrolled at or after this time")
	f.StringVar(&opts.Until, "until", "", "enrolled before this time")
	f.IntVar(&limit, "limit", 0, "stop after N agents (0: all)")
	return cmd
}

func newAgentsShowCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show AGENT_ID",
		Short:   "Show one agent",
		Example: "  aip agents show 5f1c0e4b2a9d8c7b6a5f4e3d\n  aip agents show 5f1c0e4b2a9d8c7b6a5f4e3d --jq .ipAddresses.private[]",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ag, _, err := c.Agents.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			cols := append(agentColumns(),
				column[*aip.Agent]{"DESCRIPTION", func(ag *aip.Agent) string { return ag.Description }},
				column[*aip.Agent]{"OS VERSION", func(ag *aip.Agent) string { return ag.OSVersion }},
				column[*aip.Agent]{"KERNEL", func(ag *aip.Agent) string { return ag.Kernel }},
				column[*aip.Agent]{"PRIVATE IPS", func(ag *aip.Agent) string { return strings.Join(ag.IPAddresses.Private, ",") }},
				column[*aip.Agent]{"PUBLIC IPS", func(ag *aip.Agent) string { return strings.Join(ag.IPAddresses.Public, ",") }},
				column[*aip.Agent]{"CREATED", func(ag *aip.Agent) string { return formatTime(ag.CreatedAt) }},
			)
			return writeItem(a, ag, cols)
		},
	}
}

// limitSeq stops seq after n items; n == 0 means no limit. Paging
// iterators fetch lazily, so no page beyond the limit is requested.
func limitSeq[T any](seq iter.Seq2[T, error], n int) iter.Seq2[T, error] {
	if n <= 0 {
		return seq
	}
	return func(yield func(T, error) bool) {
		i := 0
		for it, err := range seq {
			if !yield(it, err) || err != nil {
				return
			}
			if i++; i >= n {
				return
			}
		}
	}
}

// formatTime renders an API time for tables: RFC 3339 in UTC, "" when zero.
func formatTime(t aip.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
