// Command aip-agent is the Linux host agent of aip: `setup` enrolls the host
// once with a deploy key, `run` collects process starts, logins, file
// changes, outbound connections and the package inventory and ships them to
// the server through a durable spool.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "aip-agent:", err)
		os.Exit(1)
	}
}
