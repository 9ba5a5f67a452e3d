package cli

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

func init() { register(newEC2Command) }

// newEC2Command is `aip ec2 …`.
func newEC2Command(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "ec2",
		Short:   "List the organization's EC2 servers",
		Example: "  aip ec2 list --monitored false",
		Args:    noArgs,
	}
	cmd.AddCommand(newEC2ListCommand(a))
	return cmd
}

func newEC2ListCommand(a *app) *cobra.Command {
	var monitored string
	var opts client.EC2ListOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List EC2 servers, imported or known from an agent",
		Example: `  aip ec2 list
  aip ec2 list --monitored false --format csv
  aip ec2 list --verbose --jq '.[] | select(.monitored) | .agents[0].hostname'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch monitored {
			case "":
			case "true", "false":
				m := monitored == "true"
				opts.Monitored = &m
			default:
				return usageErrorf("--monitored must be true or false, not %q", monitored)
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			return writeList(a, c.EC2.All(cmd.Context(), &opts), ec2Columns())
		},
	}
	f := cmd.Flags()
	f.StringVar(&monitored, "monitored", "", "true or false: only monitored or unmonitored servers")
	f.BoolVar(&opts.Verbose, "verbose", false, "embed the agents and the AWS profile (JSON output)")
	return cmd
}

// ec2Columns are the columns of `aip ec2 list`.
func ec2Columns() []column[*aip.EC2Instance] {
	return []column[*aip.EC2Instance]{
		{"ID", func(s *aip.EC2Instance) string { return s.ID }},
		{"TYPE", func(s *aip.EC2Instance) string { return s.InstanceType }},
		{"PRIVATE IP", func(s *aip.EC2Instance) string { return s.PrivateIPAddress }},
		{"REGION", func(s *aip.EC2Instance) string { return s.Region }},
		{"STATE", func(s *aip.EC2Instance) string { return s.State }},
		{"MONITORED", func(s *aip.EC2Instance) string { return strconv.FormatBool(s.Monitored) }},
	}
}
