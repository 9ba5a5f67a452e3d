package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

func init() { register(newAuditLogsCommand) }

// newAuditLogsCommand is `aip auditlogs …`.
func newAuditLogsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "auditlogs",
		Short:   "Read the organization's audit log",
		Example: "  aip auditlogs list --from 2026-01-01 --operation delete\n  aip auditlogs list --by-user-id 5d1fa0e1c2b3a4f5e6d7c8b9 --json",
		Args:    noArgs,
	}
	cmd.AddCommand(newAuditLogsListCommand(a))
	return cmd
}

// auditColumns are the columns of `aip auditlogs list`.
func auditColumns() []column[*aip.AuditRecord] {
	return []column[*aip.AuditRecord]{
		{"TIME", func(r *aip.AuditRecord) string { return formatTime(r.EventTime) }},
		{"USER EMAIL", func(r *aip.AuditRecord) string { return r.UserEmail }},
		{"USER ID", func(r *aip.AuditRecord) string { return r.UserID }},
		{"CRUD", func(r *aip.AuditRecord) string { return r.CRUD }},
		{"ACTION", func(r *aip.AuditRecord) string { return r.Action }},
		{"RESULT", func(r *aip.AuditRecord) string { return r.Result }},
		{"SOURCE", func(r *aip.AuditRecord) string { return r.Source }},
		{"DESCRIPTION", func(r *aip.AuditRecord) string { return r.Description }},
	}
}

func newAuditLogsListCommand(a *app) *cobra.Command {
	var opts client.AuditLogListOptions
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit records, newest first",
		Long: `List the audit records of the organization, newest first, fetching every
page (or the first --limit records). Without --from and --until the server
covers the last 30 days. Times are epoch milliseconds, RFC 3339 or a
partial date (2026-01, 2026-01-15); a partial --until covers its whole
unit. The filters are those of GET /v2/auditlogs: time, operation (the
record's crud), and the acting user's id or email (--by-user-id and
--by-user-email, since the global --user-id chooses the credentials).`,
		Example: `  aip auditlogs list
  aip auditlogs list --from 2026-01-01 --until 2026-01-31 --operation delete
  aip auditlogs list --by-user-email alice@example.com --limit 20 --format csv
  aip auditlogs list --jq '.[] | select(.result == "failure") | .action'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usageErrorf("--limit must not be negative")
			}
			switch opts.Operation {
			case "", "create", "read", "update", "delete":
			default:
				return usageErrorf("--operation must be create, read, update or delete, not %q", opts.Operation)
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			seq := limitSeq(c.AuditLogs.All(cmd.Context(), &opts), limit)
			if err := writeList(a, seq, auditColumns()); err != nil {
				return fmt.Errorf("list audit logs: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.From, "from", "", "records at or after this time")
	f.StringVar(&opts.Until, "until", "", "records before this time (a partial time covers its unit)")
	f.StringVar(&opts.Operation, "operation", "", "crud of the record: create, read, update or delete")
	// Not --user-id: that global flag picks the credentials' user.
	f.StringVar(&opts.UserID, "by-user-id", "", "only records of actions by this user id")
	f.StringVar(&opts.UserEmail, "by-user-email", "", "only records of actions by this user email")
	f.IntVar(&limit, "limit", 0, "stop after N records (0: all)")
	return cmd
}
