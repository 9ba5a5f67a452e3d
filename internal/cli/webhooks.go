package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip/client"
)

func init() { register(newWebhooksCommand) }

// newWebhooksCommand is `aip webhooks …`.
func newWebhooksCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Manage the webhooks that receive the organization's alerts",
		Example: `  aip webhooks list
  aip webhooks create --url https://hooks.example.com/aip
  aip webhooks delete WEBHOOK_ID`,
		Args: noArgs,
	}
	cmd.AddCommand(newWebhooksListCommand(a), newWebhooksCreateCommand(a), newWebhooksDeleteCommand(a))
	return cmd
}

// webhookColumns are the columns of `aip webhooks list` and `create`.
func webhookColumns() []column[*client.Webhook] {
	delivery := func(f func(*client.WebhookDelivery) string) func(*client.Webhook) string {
		return func(w *client.Webhook) string {
			if w.LastDelivery == nil {
				return ""
			}
			return f(w.LastDelivery)
		}
	}
	return []column[*client.Webhook]{
		{"ID", func(w *client.Webhook) string { return w.ID }},
		{"URL", func(w *client.Webhook) string { return w.URL }},
		{"CREATED", func(w *client.Webhook) string { return formatTime(w.CreatedAt) }},
		{"LAST DELIVERY", delivery(func(d *client.WebhookDelivery) string { return formatTime(d.At) })},
		{"STATE", delivery(func(d *client.WebhookDelivery) string { return d.State })},
		{"HTTP STATUS", delivery(func(d *client.WebhookDelivery) string {
			if d.Status == 0 {
				return ""
			}
			return strconv.Itoa(d.Status)
		})},
		{"ERROR", delivery(func(d *client.WebhookDelivery) string { return d.Error })},
	}
}

func newWebhooksListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List webhooks and their last delivery",
		Example: `  aip webhooks list
  aip webhooks list --jq '.[] | select(.lastDelivery.state == "abandoned") | .url'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			hooks, _, err := c.Webhooks.List(cmd.Context())
			if err != nil {
				return fmt.Errorf("list webhooks: %w", err)
			}
			return writeSlice(a, hooks, webhookColumns())
		},
	}
}

// Secret lengths the server accepts (client.WebhookRequest).
const (
	minWebhookSecret = 16
	maxWebhookSecret = 256
)

func newWebhooksCreateCommand(a *app) *cobra.Command {
	var req client.WebhookRequest
	cmd := &cobra.Command{
		Use:   "create --url URL [--secret SECRET]",
		Short: "Add a webhook; prints its signing secret once",
		Long: `Add a webhook receiving the organization's new alerts as POST
{"alerts":[...]}, signed with an HMAC of SECRET in X-AIP-Signature.
Without --secret a random one is generated. The server never shows the
secret again, so it is printed once, on stdout: as "SECRET<tab>value"
after the webhook's row, or as the "secret" field with --json.`,
		Example: `  aip webhooks create --url https://hooks.example.com/aip
  aip webhooks create --url https://hooks.example.com/aip --secret "$(cat hook.secret)" --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.URL == "" {
				return usageErrorf("--url is required")
			}
			if req.Secret == "" {
				b := make([]byte, 32)
				if _, err := rand.Read(b); err != nil {
					return fmt.Errorf("generate secret: %w", err)
				}
				req.Secret = hex.EncodeToString(b)
			}
			if n := utf8.RuneCountInString(req.Secret); n < minWebhookSecret || n > maxWebhookSecret {
				return usageErrorf("--secret must be %d to %d characters, got %d", minWebhookSecret, maxWebhookSecret, n)
			}
			o, err := a.output()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			w, _, err := c.Webhooks.Create(cmd.Context(), &req)
			if err != nil {
				return fmt.Errorf("create webhook: %w", err)
			}
			if o.format == formatJSON || o.format == formatJSONL {
				created := struct {
					*client.Webhook
					Secret string `json:"secret"`
				}{w, req.Secret}
				return o.writeJSON(created, o.format == formatJSON)
			}
			if err := writeItem(a, w, webhookColumns()); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.env.Stdout, "SECRET\t%s\n", req.Secret)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.URL, "url", "", "absolute http(s) URL receiving the alerts")
	f.StringVar(&req.Secret, "secret", "", "HMAC key, 16 to 256 characters (default: 64 random hex digits)")
	return cmd
}

func newWebhooksDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete WEBHOOK_ID",
		Short:   "Delete a webhook and its queued deliveries",
		Example: "  aip webhooks delete 3b0f6c1e-8a2d-4f5e-9c7b-1a2b3c4d5e6f",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if _, err := c.Webhooks.Delete(cmd.Context(), args[0]); err != nil {
				return fmt.Errorf("delete webhook %s: %w", args[0], err)
			}
			return nil
		},
	}
}
