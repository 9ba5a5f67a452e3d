// Command aip is the command-line client of the aip API. It reads the same
// TS_API_ENDPOINT, TS_USER_ID, TS_API_KEY and TS_ORGANIZATION_ID variables
// as the official tools (aipd writes them to <data>/credentials.env).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := newRootCommand(os.Stdout).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "aip:", err)
		os.Exit(1)
	}
}

func newRootCommand(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{Use: "aip", Short: "aip is the command-line client of the aip API", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newRawCommand(stdout))
	return root
}

// newRawCommand is `aip raw [-X METHOD] [-d JSON] PATH`: one signed request,
// the response body on stdout, like the official CLI's raw command.
func newRawCommand(stdout io.Writer) *cobra.Command {
	var method, data string
	cmd := &cobra.Command{
		Use:   "raw PATH",
		Short: "Send one signed request and print the JSON answer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client.NewFromEnv()
			if err != nil {
				return err
			}
			var body any
			if data != "" {
				if !json.Valid([]byte(data)) {
					return errors.New("-d must be valid JSON")
				}
				body = json.RawMessage(data)
			}
			req, err := c.NewRequest(cmd.Context(), strings.ToUpper(method), args[0], body)
			if err != nil {
				return err
			}
			_, err = c.Do(req, stdout)
			fmt.Fprintln(stdout)
			return err
		},
	}
	cmd.Flags().StringVarP(&method, "method", "X", "GET", "HTTP method")
	cmd.Flags().StringVarP(&data, "data", "d", "", "JSON request body")
	return cmd
}
