package client

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aipsec/aip"
)

// InvitesService sends and accepts invitations into an organization.
type InvitesService service

// Invite is the server's answer to an invitation.
type Invite struct {
	SentToEmail string   `json:"sentToEmail"`
	Role        aip.Role `json:"role"`
	// Status is "pending" until the invite is accepted.
	Status string `json:"status"`
}

// InviteAcceptance is the server's answer to an accepted invite: the new or
// existing user it bound and, for a new user, the API key, shown only once.
type InviteAcceptance struct {
	UserID         string   `json:"userId"`
	OrganizationID string   `json:"organizationId"`
	Email          string   `json:"email"`
	Role           aip.Role `json:"role"`
	// APIKey is set only when the invite created the user. It is a secret:
	// fmt and slog print it redacted; JSON encoding keeps it so callers
	// can store it.
	APIKey string `json:"apiKey,omitempty"`
}

// Format prints the acceptance with its API key masked, whatever the verb.
func (a InviteAcceptance) Format(f fmt.State, verb rune) {
	type plain InviteAcceptance // drops the methods, so fmt does not recurse
	p := plain(a)
	if p.APIKey != "" {
		p.APIKey = "REDACTED"
	}
	if verb == 'v' && f.Flag('#') {
		s := fmt.Sprintf("%#v", p)
		io.WriteString(f, "client.InviteAcceptance"+s[strings.IndexByte(s, '{'):])
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}

// LogValue keeps the API key out of structured logs.
func (a InviteAcceptance) LogValue() slog.Value {
	key := ""
	if a.APIKey != "" {
		key = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("userId", a.UserID),
		slog.String("organizationId", a.OrganizationID),
		slog.String("email", a.Email),
		slog.String("role", string(a.Role)),
		slog.String("apiKey", key),
	)
}

// Send invites email into the organization with role
// (PUT /v2/organizations/invites).
func (s *InvitesService) Send(ctx context.Context, email string, role aip.Role) (*Invite, *Response, error) {
	body := struct {
		Email string   `json:"email"`
		Role  aip.Role `json:"role"`
	}{email, role}
	req, err := s.client.NewRequest(ctx, http.MethodPut, "v2/organizations/invites", body)
	if err != nil {
		return nil, nil, err
	}
	inv := new(Invite)
	resp, err := s.client.Do(req, inv)
	if err != nil {
		return nil, resp, err
	}
	return inv, resp, nil
}

// Accept redeems the invite token from the invitation mail
// (POST /v2/organizations/invites/accept). The request is not signed: the
// token is the credential, and the invitee may have no API key yet. The
// client's own credentials are not used.
func (s *InvitesService) Accept(ctx context.Context, token, displayName string) (*InviteAcceptance, *Response, error) {
	body := struct {
		Token       string `json:"token"`
		DisplayName string `json:"displayName"`
	}{token, displayName}
	req, err := s.client.NewRequest(ctx, http.MethodPost, "v2/organizations/invites/accept", body)
	if err != nil {
		return nil, nil, err
	}
	acc := new(InviteAcceptance)
	resp, err := s.client.do(req, acc, false)
	if err != nil {
		return nil, resp, err
	}
	return acc, resp, nil
}
