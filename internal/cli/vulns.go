package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

func init() { register(newVulnsCommand) }

// newVulnsCommand is `aip vulns …`.
func newVulnsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vulns",
		Short: "List the CVEs found on the organization's hosts and manage suppressions",
		Example: `  aip vulns list --has-notices
  aip vulns servers CVE-2024-6387
  aip vulns suppressions create --cve CVE-2024-6387 --reason "patched kernel pending reboot"`,
		Args: noArgs,
	}
	cmd.AddCommand(newVulnsListCommand(a), newVulnsShowCommand(a), newVulnsServersCommand(a),
		newVulnsPackageCommand(a), newVulnsCVEListCommand(a, "agent"), newVulnsCVEListCommand(a, "server"),
		newSuppressionsCommand(a))
	return cmd
}

// vulnColumns are the columns of vulnerability listings.
func vulnColumns() []column[*aip.Vulnerability] {
	return []column[*aip.Vulnerability]{
		{"CVE", func(v *aip.Vulnerability) string { return v.CVENumber }},
		{"PACKAGE", func(v *aip.Vulnerability) string { return v.SystemPackage }},
		{"SEVERITY", func(v *aip.Vulnerability) string { return v.Severity }},
		{"VECTOR", func(v *aip.Vulnerability) string { return v.VectorType }},
		{"SUPPRESSED", func(v *aip.Vulnerability) string { return strconv.FormatBool(v.IsSuppressed) }},
		{"AGENTS", func(v *aip.Vulnerability) string { return strconv.Itoa(len(v.Agents)) }},
	}
}

func newVulnsListCommand(a *app) *cobra.Command {
	var opts client.VulnListOptions
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List vulnerabilities, active by default",
		Long: `List the organization's vulnerabilities, one line per CVE and system package,
fetching every page (or the first --limit).`,
		Example: `  aip vulns list
  aip vulns list --status suppressed
  aip vulns list --agent-id AGENT_ID --has-notices --format csv
  aip vulns list --jq '.[] | select(.severity == "critical") | .cveNumber'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch opts.Status {
			case aip.VulnActive, aip.VulnSuppressed, aip.VulnResolved, aip.VulnAll:
			default:
				return usageErrorf("--status must be active, suppressed, resolved or all, not %q", opts.Status)
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
			return writeList(a, limitSeq(c.Vulnerabilities.All(cmd.Context(), &opts), limit), vulnColumns())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Status, "status", aip.VulnActive, "active, suppressed, resolved or all")
	f.StringVar(&opts.AgentID, "agent-id", "", "only vulnerabilities of this agent")
	f.BoolVar(&opts.HasSecurityNotices, "has-notices", false, "only vulnerabilities with a distribution security notice")
	f.IntVar(&limit, "limit", 0, "stop after N vulnerabilities (0: all)")
	return cmd
}

func newVulnsShowCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show CVE",
		Short:   "Show every package a CVE was found in, in any status",
		Example: "  aip vulns show CVE-2024-6387\n  aip vulns show CVE-2024-6387 --json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			vs, _, err := c.Vulnerabilities.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return writeSlice(a, vs, vulnColumns())
		},
	}
}

// vulnAgentColumns are the columns of `aip vulns servers`.
func vulnAgentColumns() []column[aip.VulnAgent] {
	return []column[aip.VulnAgent]{
		{"AGENT", func(v aip.VulnAgent) string { return v.AgentID }},
		{"HOSTNAME", func(v aip.VulnAgent) string {
			if v.Hostname == nil {
				return ""
			}
			return *v.Hostname
		}},
	}
}

func newVulnsServersCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "servers CVE",
		Short:   "List the agents with an active match of a CVE",
		Example: "  aip vulns servers CVE-2024-6387\n  aip vulns servers CVE-2024-6387 --jq '.[].hostname'",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			return writeList(a, c.Vulnerabilities.AllServers(cmd.Context(), args[0]), vulnAgentColumns())
		},
	}
}

func newVulnsPackageCommand(a *app) *cobra.Command {
	var suppressed bool
	cmd := &cobra.Command{
		Use:     "package NAME",
		Short:   "List the vulnerabilities of an installed package",
		Example: "  aip vulns package openssl\n  aip vulns package openssl --suppressed",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			vs, _, err := c.Vulnerabilities.ByPackage(cmd.Context(), args[0], suppressed)
			if err != nil {
				return err
			}
			return writeSlice(a, vs, vulnColumns())
		},
	}
	cmd.Flags().BoolVar(&suppressed, "suppressed", false, "the suppressed vulnerabilities instead of the active ones")
	return cmd
}

// newVulnsCVEListCommand is `aip vulns agent ID` or `aip vulns server
// HOSTNAME`: the CVE numbers of one agent or host.
func newVulnsCVEListCommand(a *app, kind string) *cobra.Command {
	var suppressed bool
	arg, example := "ID", "  aip vulns agent AGENT_ID\n  aip vulns agent AGENT_ID --suppressed"
	if kind == "server" {
		arg, example = "HOSTNAME", "  aip vulns server web-1\n  aip vulns server web-1 --suppressed --json"
	}
	cmd := &cobra.Command{
		Use:     kind + " " + arg,
		Short:   "List the CVE numbers active on an " + kind + " (the " + kind + "'s hostname for server)",
		Example: example,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			list := c.Vulnerabilities.ByAgent
			if kind == "server" {
				list = c.Vulnerabilities.ByServer
			}
			cves, _, err := list(cmd.Context(), args[0], suppressed)
			if err != nil {
				return err
			}
			return writeSlice(a, cves, []column[string]{{"CVE", func(s string) string { return s }}})
		},
	}
	cmd.Short = strings.Replace(cmd.Short, "an server", "a server", 1)
	cmd.Flags().BoolVar(&suppressed, "suppressed", false, "the suppressed CVEs instead of the active ones")
	return cmd
}

// suppressionColumns are the columns of suppression listings.
func suppressionColumns() []column[*aip.Suppression] {
	opt := func(s *string) string {
		if s == nil {
			return "*"
		}
		return *s
	}
	return []column[*aip.Suppression]{
		{"ID", func(s *aip.Suppression) string { return s.ID }},
		{"CVE", func(s *aip.Suppression) string { return s.CVENumber }},
		{"PACKAGE", func(s *aip.Suppression) string { return opt(s.Package) }},
		{"AGENT", func(s *aip.Suppression) string { return opt(s.AgentID) }},
		{"REASON", func(s *aip.Suppression) string { return s.Reason }},
		{"CREATED", func(s *aip.Suppression) string { return formatTime(s.CreatedAt) }},
		{"EXPIRES", func(s *aip.Suppression) string { return formatTime(s.ExpiresAt) }},
	}
}

func newSuppressionsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "suppressions",
		Short: "List, create and delete vulnerability suppressions",
		Example: `  aip vulns suppressions list
  aip vulns suppressions create --cve CVE-2024-6387 --agent-id AGENT_ID --reason "not exposed"
  aip vulns suppressions delete SUPPRESSION_ID`,
		Args: noArgs,
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the suppressions, newest first",
		Example: "  aip vulns suppressions list\n  aip vulns suppressions list --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			sups, _, err := c.Suppressions.List(cmd.Context())
			if err != nil {
				return err
			}
			return writeSlice(a, sups, suppressionColumns())
		},
	}
	var req client.SuppressionRequest
	create := &cobra.Command{
		Use:   "create --cve CVE --reason TEXT",
		Short: "Suppress a CVE everywhere, in one package, on one agent, or both",
		Long: `Suppress a CVE: the most specific suppression wins. --expires takes a future
time (a date, or yyyy-mm-ddThh[:mm[:ss]] with an optional Z or ±hh:mm).`,
		Example: `  aip vulns suppressions create --cve CVE-2024-6387 --reason "accepted risk"
  aip vulns suppressions create --cve CVE-2024-6387 --package openssh-server --expires 2025-12-31 --reason "patch window"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.CVENumber == "" || strings.TrimSpace(req.Reason) == "" {
				return usageErrorf("--cve and --reason are required")
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			sup, _, err := c.Suppressions.Create(cmd.Context(), &req)
			if err != nil {
				return fmt.Errorf("suppress %s: %w", req.CVENumber, err)
			}
			return writeItem(a, sup, suppressionColumns())
		},
	}
	cf := create.Flags()
	cf.StringVar(&req.CVENumber, "cve", "", "the CVE number (or advisory id) to suppress")
	cf.StringVar(&req.Package, "package", "", "only in this installed package")
	cf.StringVar(&req.AgentID, "agent-id", "", "only on this agent")
	cf.StringVar(&req.Reason, "reason", "", "why (at most 1000 characters)")
	cf.StringVar(&req.ExpiresAt, "expires", "", "when the suppression ends (default: never)")
	del := &cobra.Command{
		Use:     "delete SUPPRESSION_ID",
		Short:   "Delete a suppression",
		Example: "  aip vulns suppressions delete 7f0c2a8e-3c1b-4c7e-9a55-0d1e2f3a4b5c",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if _, err := c.Suppressions.Delete(cmd.Context(), args[0]); err != nil {
				return fmt.Errorf("delete suppression %s: %w", args[0], err)
			}
			return nil
		},
	}
	cmd.AddCommand(list, create, del)
	return cmd
}
