// Package cli is the aip command-line client. Everything lives here rather
// than in cmd/aip so that tests run the whole CLI in-process, with buffers
// for the standard streams and a map for the environment.
//
// Adding a command group: write a file with a constructor
// func(*app) *cobra.Command and register it from that file's init with
// register (see root.go). List and show commands print through writeList,
// writeSlice and writeItem (output.go) and get their API client from
// (*app).client (credentials.go); errors they return are mapped to exit
// codes by exitCode (errors.go).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Env is what the CLI takes from its process. Tests fill it with buffers
// and a map lookup; a nil field gets the process's own.
type Env struct {
	// Stdin, Stdout and Stderr are the standard streams: data goes to
	// Stdout, diagnostics to Stderr.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (TS_*, AIP_CONFIG).
	Getenv func(string) string
	// UserConfigDir locates the default config file; os.UserConfigDir
	// when nil.
	UserConfigDir func() (string, error)
	// IsTerminal reports whether w is an interactive terminal; nil
	// detects it with x/term on *os.File values, so buffers count as pipes.
	IsTerminal func(w io.Writer) bool
	// Version is printed by `aip version`.
	Version string
}

// app is the state shared by every command of one run: the environment and
// the global flags, read once cobra has parsed them.
type app struct {
	env Env
	// flags are the persistent flags of the root command.
	flags globalFlags
	// running is set when a command's RunE starts: an error before that
	// is a usage error (unknown command, bad flag, wrong argument count).
	running bool
}

// globalFlags are the root command's persistent flags.
type globalFlags struct {
	endpoint, userID, apiKey, orgID string
	profile                         string
	format                          string
	json                            bool
	jq                              string
}

// Main runs the CLI with args (without the program name) and returns the
// process exit code (see the Exit* constants). Errors are printed to
// env.Stderr as "aip: <message>".
func Main(ctx context.Context, args []string, env Env) int {
	env = env.withDefaults()
	a := &app{env: env}
	root := newRootCommand(a)
	root.SetArgs(args)
	wrapRunE(a, root)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	if !a.running && code == ExitError {
		code = ExitUsage
	}
	fmt.Fprintln(env.Stderr, "aip:", errorMessage(err))
	if code == ExitUsage && !a.running {
		fmt.Fprintln(env.Stderr, "Run 'aip --help' for usage.")
	}
	return code
}

// withDefaults fills the nil fields of e from the process.
func (e Env) withDefaults() Env {
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.UserConfigDir == nil {
		e.UserConfigDir = os.UserConfigDir
	}
	if e.IsTerminal == nil {
		e.IsTerminal = isTerminal
	}
	if e.Version == "" {
		e.Version = "(devel)"
	}
	return e
}

// isTerminal is true for an *os.File open on a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// wrapRunE marks a.running when any command's RunE starts, so that Main can
// tell usage errors, which cobra returns before, from the command's own.
func wrapRunE(a *app, cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			a.running = true
			return run(c, args)
		}
	}
	for _, sub := range cmd.Commands() {
		wrapRunE(a, sub)
	}
}

// errorMessage drops the client package's "client: " prefix, which says
// nothing to a CLI user.
func errorMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "client: ")
}

// usageError is a mistake in the command line or the configuration: exit
// code ExitUsage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf formats a usage error, which Main turns into exit code 2.
func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// isUsage reports whether err is, or wraps, a usage error.
func isUsage(err error) bool {
	var ue *usageError
	return errors.As(err, &ue)
}
