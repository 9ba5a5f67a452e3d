package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/vuln"
)

// maxImportProblems bounds the problem lines an import prints; the rest
// are counted.
const maxImportProblems = 50

// newVulnDBCommand is `aipd admin vulndb import PATH…`: the offline
// advisory database, from OSV files, directories and zip archives.
func newVulnDBCommand(env *adminEnv, stdout, stderr io.Writer) *cobra.Command {
	importCmd := &cobra.Command{
		Use:   "import PATH...",
		Short: "Import OSV advisories (files, directories, per-ecosystem zip archives) and re-match affected agents",
		Long: `Import advisories in the OSV JSON format: single .json files (one record or an array),
directories (searched recursively for .json and .zip) and the per-ecosystem all.zip archives
OSV publishes (Debian, Ubuntu, Alpine, AlmaLinux, Rocky Linux). Importing the same data again
changes nothing; an updated advisory replaces the old one; a withdrawn one stops matching.
Malformed records, records without a supported ecosystem and unparsable versions are reported
on stderr with the file and record they came from, and skipped. Only the agents holding a
package named by an added or changed advisory are re-matched.`,
		Example: "  aipd admin --data ./aip-data vulndb import ~/osv/Debian/all.zip ~/osv/Ubuntu/all.zip\n" +
			"  aipd admin vulndb import ./advisories/",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, _, err := env.open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			problems := 0
			start := time.Now()
			rep, err := vuln.Import(cmd.Context(), db, args, time.Now, func(msg string) {
				problems++
				if problems <= maxImportProblems {
					fmt.Fprintln(stderr, "aipd: vulndb import:", msg)
				}
			})
			if problems > maxImportProblems {
				fmt.Fprintf(stderr, "aipd: vulndb import: %d more problems not shown\n", problems-maxImportProblems)
			}
			if err != nil {
				return err
			}
			for _, l := range []string{
				fmt.Sprintf("ADDED=%d", rep.Added), fmt.Sprintf("UPDATED=%d", rep.Updated),
				fmt.Sprintf("UNCHANGED=%d", rep.Unchanged), fmt.Sprintf("WITHDRAWN=%d", rep.Withdrawn),
				fmt.Sprintf("SKIPPED=%d", rep.Skipped), fmt.Sprintf("INVALID=%d", rep.Invalid),
				fmt.Sprintf("UNSUPPORTED_ENTRIES=%d", rep.UnsupportedEntries), fmt.Sprintf("UNORDERABLE_VERSIONS=%d", rep.UnorderableVersions),
				fmt.Sprintf("AGENTS_REMATCHED=%d", rep.Rematched), fmt.Sprintf("REMATCH_ERRORS=%d", rep.MatchErrors),
				fmt.Sprintf("SECONDS=%.1f", time.Since(start).Seconds()),
			} {
				fmt.Fprintln(stdout, l)
			}
			return nil
		},
	}
	group := groupCommand("vulndb", "The offline vulnerability advisory database (OSV)")
	group.AddCommand(importCmd)
	return group
}

// newEC2Command is `aipd admin ec2 import --org ORG FILE`: the instances
// of an AWS account, as `aws ec2 describe-instances` prints them, so that
// GET /v2/aws/ec2 lists unmonitored servers too.
func newEC2Command(env *adminEnv, stdout io.Writer) *cobra.Command {
	var orgID string
	importCmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import EC2 instances from the JSON of `aws ec2 describe-instances` (- for stdin)",
		Example: "  aws ec2 describe-instances --output json > instances.json\n" +
			"  aipd admin --data ./aip-data ec2 import --org ORG_ID instances.json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("ec2 import: %w", err)
				}
				defer f.Close()
				in = f
			}
			insts, err := vuln.ParseDescribeInstances(in)
			if err != nil {
				return fmt.Errorf("ec2 import: %w", err)
			}
			db, _, err := env.open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if _, err := db.FindOrganizationByID(cmd.Context(), orgID); err != nil {
				return fmt.Errorf("ec2 import: %s", aip.ErrorMessage(err))
			}
			n, err := db.PutEC2Instances(cmd.Context(), orgID, insts)
			if err != nil {
				return fmt.Errorf("ec2 import: %s", aip.ErrorMessage(err))
			}
			fmt.Fprintf(stdout, "INSTANCES=%d\n", n)
			return nil
		},
	}
	importCmd.Flags().StringVar(&orgID, "org", "", "organization id")
	mustRequire(importCmd, "org")
	group := groupCommand("ec2", "AWS EC2 instances shown by GET /v2/aws/ec2")
	group.AddCommand(importCmd)
	return group
}
