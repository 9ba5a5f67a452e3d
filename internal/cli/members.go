package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

// The invites group lives here too: it is how members come to exist.
func init() {
	register(newMembersCommand)
	register(newInvitesCommand)
}

// newMembersCommand is `aip members …`.
func newMembersCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List, add and remove the organization's members",
		Example: `  aip members list --enabled-only
  aip members add 5d1fa0e1c2b3a4f5e6d7c8b9 --role reader
  aip members remove 5d1fa0e1c2b3a4f5e6d7c8b9`,
		Args: noArgs,
	}
	cmd.AddCommand(newMembersListCommand(a), newMembersAddCommand(a), newMembersRemoveCommand(a))
	return cmd
}

// memberColumns are the columns of `aip members list` and `add`.
func memberColumns() []column[*aip.Member] {
	return []column[*aip.Member]{
		{"ID", func(m *aip.Member) string { return m.ID }},
		{"NAME", func(m *aip.Member) string { return m.DisplayName }},
		{"EMAIL", func(m *aip.Member) string { return m.Email }},
		{"ROLE", func(m *aip.Member) string { return string(m.Role) }},
		{"ENABLED", func(m *aip.Member) string { return strconv.FormatBool(m.UserEnabled) }},
		{"MFA", func(m *aip.Member) string { return strconv.FormatBool(m.MFAEnabled) }},
		{"SSO", func(m *aip.Member) string { return strconv.FormatBool(m.SSOEnabled) }},
		{"LAST AUTHENTICATED", func(m *aip.Member) string {
			if m.LastAuthenticatedAt == 0 {
				return ""
			}
			return formatTime(aip.Time{Time: time.UnixMilli(m.LastAuthenticatedAt)})
		}},
	}
}

func newMembersListCommand(a *app) *cobra.Command {
	var opts client.MemberListOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the organization's members",
		Example: `  aip members list
  aip members list --enabled-only --format csv
  aip members list --jq '.[] | select(.role == "owner") | .email'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			members, _, err := c.Members.List(cmd.Context(), &opts)
			if err != nil {
				return fmt.Errorf("list members: %w", err)
			}
			return writeSlice(a, members, memberColumns())
		},
	}
	cmd.Flags().BoolVar(&opts.EnabledOnly, "enabled-only", false, "leave out members whose user account is disabled")
	return cmd
}

// roleFlag checks a --role value before any request is sent; allowed
// lists the roles the command accepts, in the order the help names them.
func roleFlag(role string, allowed ...aip.Role) (aip.Role, error) {
	names := make([]string, len(allowed))
	for i, r := range allowed {
		if string(r) == role {
			return r, nil
		}
		names[i] = string(r)
	}
	if role == "" {
		return "", usageErrorf("--role is required (%s)", strings.Join(names, ", "))
	}
	return "", usageErrorf("--role must be one of %s, not %q", strings.Join(names, ", "), role)
}

func newMembersAddCommand(a *app) *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "add USER_ID --role owner|user|reader",
		Short: "Make an existing user a member of the organization",
		Long: `Make an existing user a member with the given role. Owners may grant any
role, users only user or reader; readers may not add members (exit code 3).
A user who is already a member is refused (HTTP 409, exit code 1): remove
them first to change their role. To bring in someone without an account,
use aip invites send.`,
		Example: `  aip members add 5d1fa0e1c2b3a4f5e6d7c8b9 --role reader
  aip members add 5d1fa0e1c2b3a4f5e6d7c8b9 --role owner --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := roleFlag(role, aip.RoleOwner, aip.RoleUser, aip.RoleReader)
			if err != nil {
				return err
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			m, _, err := c.Members.Add(cmd.Context(), args[0], r)
			if err != nil {
				return fmt.Errorf("add member %s: %w", args[0], err)
			}
			return writeItem(a, m, memberColumns())
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "role of the new member: owner, user or reader")
	return cmd
}

func newMembersRemoveCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove USER_ID",
		Short: "Take a user out of the organization",
		Long: `Take a user out of the organization. The user account itself stays; it
loses access to this organization at once. Prints nothing on success.`,
		Example: "  aip members remove 5d1fa0e1c2b3a4f5e6d7c8b9",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if _, err := c.Members.Remove(cmd.Context(), args[0]); err != nil {
				return fmt.Errorf("remove member %s: %w", args[0], err)
			}
			return nil
		},
	}
}

// newInvitesCommand is `aip invites …`.
func newInvitesCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "invites",
		Short: "Invite people into the organization and accept invitations",
		Example: `  aip invites send alice@example.com --role reader
  aip invites accept INVITE_TOKEN --name "Alice Martin" > alice.env`,
		Args: noArgs,
	}
	cmd.AddCommand(newInvitesSendCommand(a), newInvitesAcceptCommand(a))
	return cmd
}

func newInvitesSendCommand(a *app) *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "send EMAIL --role user|reader|owner",
		Short: "Invite someone into the organization",
		Long: `Invite EMAIL into the organization with a role. The server mails the invite
token (or, without SMTP, logs it for the operator to pass on); the invitee
redeems it with aip invites accept. Prints the server's answer.`,
		Example: `  aip invites send alice@example.com --role reader
  aip invites send bob@example.com --role user --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := roleFlag(role, aip.RoleUser, aip.RoleReader, aip.RoleOwner)
			if err != nil {
				return err
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			inv, _, err := c.Invites.Send(cmd.Context(), args[0], r)
			if err != nil {
				return fmt.Errorf("invite %s: %w", args[0], err)
			}
			return writeItem(a, inv, []column[*client.Invite]{
				{"EMAIL", func(i *client.Invite) string { return i.SentToEmail }},
				{"ROLE", func(i *client.Invite) string { return string(i.Role) }},
				{"STATUS", func(i *client.Invite) string { return i.Status }},
			})
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "role of the invitee: user, reader or owner")
	return cmd
}

// Placeholders for the credentials an invitee does not have yet: accepting
// an invite is not signed (the token is the credential), but client.New
// insists on non-empty values.
const (
	inviteePlaceholderID  = "invitee"
	inviteePlaceholderKey = "unused"
)

func newInvitesAcceptCommand(a *app) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "accept TOKEN --name NAME",
		Short: "Accept an invitation and print the new credentials",
		Long: `Redeem the invite token from the invitation. Only the endpoint is needed
(--endpoint or TS_API_ENDPOINT): the token is the credential.

When the invite creates a user, the answer holds the new user's API key,
shown only this once: it is printed on stdout as TS_* lines, ready for
"source" or aip config import-env, so redirect it to a private file. An
existing user gets no key and the TS_API_KEY line is left out. --json
prints the server's answer instead.`,
		Example: `  aip invites accept INVITE_TOKEN --name "Alice Martin" > alice.env
  (umask 077; aip invites accept INVITE_TOKEN --name Alice > ~/.aip-alice.env)`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(name) == "" {
				return usageErrorf("--name is required")
			}
			o, err := a.output()
			if err != nil {
				return err
			}
			// A missing user id or key is expected here; only the
			// endpoint matters.
			creds, err := a.credentials()
			if creds.Endpoint == "" {
				if err == nil {
					err = usageErrorf("missing endpoint")
				}
				return err
			}
			c, err := client.New(creds.Endpoint,
				firstNonEmpty(creds.UserID, inviteePlaceholderID),
				firstNonEmpty(creds.APIKey, inviteePlaceholderKey),
				firstNonEmpty(creds.OrgID, inviteePlaceholderID),
				client.WithRetryOnRateLimit(maxRateLimitWait),
				client.WithUserAgent("aip-cli/"+a.env.Version))
			if err != nil {
				return &usageError{fmt.Errorf("credentials: %w", err)}
			}
			acc, _, err := c.Invites.Accept(cmd.Context(), args[0], name)
			if err != nil {
				return fmt.Errorf("accept invite: %w", err)
			}
			if o.format == formatJSON || o.format == formatJSONL {
				return o.writeJSON(acc, o.format == formatJSON)
			}
			lines := []string{
				envEndpoint + "=" + creds.Endpoint,
				envUserID + "=" + acc.UserID,
			}
			if acc.APIKey != "" {
				lines = append(lines, envAPIKey+"="+acc.APIKey)
			}
			lines = append(lines, envOrgID+"="+acc.OrganizationID)
			_, err = fmt.Fprintln(a.env.Stdout, strings.Join(lines, "\n"))
			if err == nil && acc.APIKey == "" {
				fmt.Fprintf(a.env.Stderr, "aip: %s was already a user: use their existing API key\n", acc.Email)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "display name of the new user")
	return cmd
}
