package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func init() { register(newRawCommand) }

// newRawCommand is `aip raw [METHOD] PATH [-d BODY]`: one signed request,
// the answer's body on stdout.
func newRawCommand(a *app) *cobra.Command {
	var method, data string
	cmd := &cobra.Command{
		Use:   "raw [METHOD] PATH",
		Short: "Send one signed request and print the JSON answer",
		Long: `Send one Hawk-signed request to PATH (relative to the endpoint, query allowed)
and print the response body on stdout. METHOD defaults to GET (or -X). -d sends
a JSON body: inline, @FILE, or @- for stdin. --jq filters the answer.`,
		Example: `  aip raw /v2/agents?status=online
  aip raw GET /v2/rulesets --jq '.rulesets[] | .id + " " + .name'
  aip raw POST /v2/alerts/dismiss -d '{"ids":["…"],"reason":"other"}'
  aip raw PUT /v2/rulesets/ID -d @ruleset.json`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[len(args)-1]
			if len(args) == 2 {
				if cmd.Flags().Changed("method") && !strings.EqualFold(method, args[0]) {
					return usageErrorf("raw: method %s conflicts with -X %s", args[0], method)
				}
				method = args[0]
			}
			method = strings.ToUpper(method)
			body, err := a.rawBody(data)
			if err != nil {
				return err
			}
			o, err := a.output()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var in any
			if body != nil {
				in = body
			}
			req, err := c.NewRequest(cmd.Context(), method, path, in)
			if err != nil {
				return &usageError{err}
			}
			var buf bytes.Buffer
			if _, err := c.Do(req, &buf); err != nil {
				return err
			}
			if o.jq != nil && buf.Len() > 0 {
				var v any
				dec := json.NewDecoder(&buf)
				dec.UseNumber()
				if err := dec.Decode(&v); err != nil {
					return fmt.Errorf("raw: --jq: answer is not JSON: %w", err)
				}
				return o.runJQ(v)
			}
			if buf.Len() == 0 {
				return nil
			}
			if _, err := a.env.Stdout.Write(bytes.TrimRight(buf.Bytes(), "\n")); err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.env.Stdout)
			return err
		},
	}
	cmd.Flags().StringVarP(&method, "method", "X", http.MethodGet, "HTTP method")
	cmd.Flags().StringVarP(&data, "data", "d", "", "JSON request body: inline, @FILE or @- (stdin)")
	return cmd
}

// rawBody reads -d: inline JSON, @FILE or @-; nil when empty.
func (a *app) rawBody(data string) (json.RawMessage, error) {
	if data == "" {
		return nil, nil
	}
	b := []byte(data)
	if name, ok := strings.CutPrefix(data, "@"); ok {
		var err error
		if name == "-" {
			b, err = io.ReadAll(a.env.Stdin)
		} else {
			b, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, &usageError{fmt.Errorf("raw: read -d %s: %w", data, err)}
		}
	}
	if !json.Valid(b) {
		return nil, usageErrorf("raw: -d must be valid JSON")
	}
	return json.RawMessage(b), nil
}
