// Command aipd is the aip server: the v2 REST API on an embedded SQLite
// database, plus local admin commands that work on the data dir directly.
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
	// The first signal starts the graceful shutdown; restoring the default
	// handling then lets a second one end a drain the operator gave up on.
	context.AfterFunc(ctx, stop)
	err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "aipd:", err)
		os.Exit(1)
	}
}
