package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// commandGroups are the constructors of the root's subcommands, added by
// register from each command file's init. It is a fixed list of
// functions, not configuration: it lets every command group live in its
// own file without a shared list to edit.
var commandGroups []func(*app) *cobra.Command

// register adds a top-level command group; call it from an init function:
//
//	func init() { register(newAlertsCommand) }
func register(newGroup func(*app) *cobra.Command) {
	commandGroups = append(commandGroups, newGroup)
}

func init() {
	register(newVersionCommand)
	register(newCompletionCommand)
}

// newRootCommand builds the command tree for one run of a.
func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "aip",
		Short: "Command-line client of the aip API",
		Long: `aip talks to an aip server (the self-hosted Threat Stack v2 API) as one user in
one organization.

` + credentialsHelp + `

Output: list and show commands print an aligned table on a terminal and
tab-separated values (no header) when piped; --format csv|json|jsonl|table|tsv,
--json and --jq EXPR choose otherwise. Data goes to stdout, diagnostics to
stderr.

` + exitHelp,
		Example: `  source /var/lib/aipd/credentials.env && aip agents list
  aip config import-env /var/lib/aipd/credentials.env && aip agents list --json
  aip raw GET /v2/rulesets --jq '.rulesets[].name'`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(a.env.Stdin)
	root.SetOut(a.env.Stdout)
	root.SetErr(a.env.Stderr)
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	pf := root.PersistentFlags()
	pf.StringVar(&a.flags.endpoint, "endpoint", "", "API endpoint URL (overrides "+envEndpoint+")")
	pf.StringVar(&a.flags.userID, "user-id", "", "user id (overrides "+envUserID+")")
	pf.StringVar(&a.flags.apiKey, "api-key", "", "API key (overrides "+envAPIKey+"; visible to other local users, prefer the variable)")
	pf.StringVar(&a.flags.orgID, "org-id", "", "organization id (overrides "+envOrgID+")")
	pf.StringVar(&a.flags.profile, "profile", "", "config file profile to use (overrides TS_* variables)")
	pf.StringVar(&a.flags.format, "format", "", "output format: table, tsv, csv, json, jsonl (default table on a terminal, else tsv)")
	pf.BoolVar(&a.flags.json, "json", false, "shorthand for --format json")
	pf.StringVar(&a.flags.jq, "jq", "", "jq expression applied to the JSON output (per item with --format jsonl); strings print raw")

	for _, newGroup := range commandGroups {
		root.AddCommand(newGroup(a))
	}
	return root
}

// newVersionCommand is `aip version`.
func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of aip",
		Example: "  aip version",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(a.env.Stdout, "aip %s %s/%s %s\n", a.env.Version, runtime.GOOS, runtime.GOARCH, runtime.Version())
			return err
		},
	}
}

// newCompletionCommand is `aip completion SHELL`, replacing cobra's default
// one so that it has examples like every other command.
func newCompletionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long:  "Print the completion script of aip for bash, zsh or fish on stdout.",
		Example: `  source <(aip completion bash)
  aip completion zsh > "${fpath[1]}/_aip"
  aip completion fish > ~/.config/fish/completions/aip.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.env.Stdout, true)
			case "zsh":
				return root.GenZshCompletion(a.env.Stdout)
			case "fish":
				return root.GenFishCompletion(a.env.Stdout, true)
			}
			return usageErrorf("completion: unknown shell %q (want bash, zsh or fish)", args[0])
		},
	}
}

// exactArgs is cobra.ExactArgs returning a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s: want %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

// rangeArgs is cobra.RangeArgs returning a usage error.
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageErrorf("%s: want %d to %d arguments, got %d", cmd.CommandPath(), lo, hi, len(args))
		}
		return nil
	}
}

// noArgs is cobra.NoArgs returning a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) != 0 {
		return usageErrorf("%s: takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}
