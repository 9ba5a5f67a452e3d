package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/aipsec/aip"
)

// MembersService manages the members of the client's organization.
type MembersService service

// MemberListOptions filters MembersService.List.
type MemberListOptions struct {
	// EnabledOnly leaves out members whose user account is disabled.
	EnabledOnly bool
}

// List returns the organization's members (GET /v2/organizations/members).
// The server answers the whole list at once.
func (s *MembersService) List(ctx context.Context, opts *MemberListOptions) ([]*aip.Member, *Response, error) {
	path := "v2/organizations/members"
	if opts != nil && opts.EnabledOnly {
		path += "?enabledOnly=true"
	}
	req, err := s.client.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, nil, err
	}
	var env struct {
		Members []*aip.Member `json:"members"`
		Token   *string       `json:"token"`
	}
	resp, err := s.client.Do(req, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.NextToken = deref(env.Token)
	return env.Members, resp, nil
}

// Add makes an existing user a member with role
// (POST /v2/organizations/members). A user who is already a member is a
// 409 *ErrorResponse: the API has no role change.
func (s *MembersService) Add(ctx context.Context, userID string, role aip.Role) (*aip.Member, *Response, error) {
	body := struct {
		ID   string   `json:"id"`
		Role aip.Role `json:"role"`
	}{userID, role}
	req, err := s.client.NewRequest(ctx, http.MethodPost, "v2/organizations/members", body)
	if err != nil {
		return nil, nil, err
	}
	m := new(aip.Member)
	resp, err := s.client.Do(req, m)
	if err != nil {
		return nil, resp, err
	}
	return m, resp, nil
}

// Remove takes userID out of the organization
// (DELETE /v2/organizations/members/{userId}, answered 204).
func (s *MembersService) Remove(ctx context.Context, userID string) (*Response, error) {
	if userID == "" {
		return nil, errors.New("client: remove member: empty user id")
	}
	req, err := s.client.NewRequest(ctx, http.MethodDelete, "v2/organizations/members/"+url.PathEscape(userID), nil)
	if err != nil {
		return nil, err
	}
	return s.client.Do(req, nil)
}

// deref turns a JSON string-or-null into a string, null being "".
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
