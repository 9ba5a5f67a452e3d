// Command aip is the command-line client of the aip API; see internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"

	"github.com/aipsec/aip/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…"; else the
// module version from the build info.
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, os.Args[1:], cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, Version: buildVersion(),
	})
	stop()
	os.Exit(code)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return ""
}
