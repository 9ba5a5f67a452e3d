package aip

import (
	"context"
	"time"
)

// Role is a user's role inside one organization.
type Role string

// The three roles of the v2 API. Owners may do everything, users may write
// and grant user or reader, readers may only read.
const (
	RoleOwner  Role = "owner"
	RoleUser   Role = "user"
	RoleReader Role = "reader"
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleUser || r == RoleReader }

// CanWrite reports whether the role may change data (readers may not).
func (r Role) CanWrite() bool { return r == RoleOwner || r == RoleUser }

// CanGrant reports whether a member with role r may give another user role g:
// owners grant any role, users grant user or reader, readers grant nothing.
func (r Role) CanGrant(g Role) bool {
	switch r {
	case RoleOwner:
		return g.Valid()
	case RoleUser:
		return g == RoleUser || g == RoleReader
	}
	return false
}

// Organization is a tenant. Every piece of data belongs to exactly one.
type Organization struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a person (or script) with an API key. A user may belong to
// several organizations with a different role in each.
type User struct {
	ID          string
	Email       string
	DisplayName string
	Enabled     bool
	SSOEnabled  bool
	MFAEnabled  bool
	CreatedAt   time.Time
	// LastAuthenticatedAt is the last successful API authentication; zero if never.
	LastAuthenticatedAt time.Time
}

// Member is the v2 wire shape of a user inside an organization.
type Member struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Email       string `json:"email"`
	// LastAuthenticatedAt is epoch milliseconds (0 if never): the official
	// CLI decodes it as an integer, so a string would break it.
	LastAuthenticatedAt int64 `json:"lastAuthenticatedAt"`
	Role                Role  `json:"role"`
	SSOEnabled          bool  `json:"ssoEnabled"`
	MFAEnabled          bool  `json:"mfaEnabled"`
	UserEnabled         bool  `json:"userEnabled"`
}

// Credentials is what authentication needs about a user in one organization,
// fetched in one lookup per request.
type Credentials struct {
	User *User
	// EncryptedKey is the API key sealed with the master key; only the
	// keyring in the HTTP layer opens it.
	EncryptedKey []byte
	// Role is the user's role in the requested organization, "" if the
	// user is not a member of it (or the organization does not exist).
	Role Role
}

// Invite is a pending invitation of an email address into an organization.
type Invite struct {
	ID        string
	OrgID     string
	Email     string
	Role      Role
	Status    string // "pending" until accepted, then "accepted"
	InvitedBy string // user id
	// TokenHash is the SHA-256 of the accept-link token; the token itself is
	// only ever mailed or logged once.
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// InviteStatusPending is the status of an invite that was sent and not yet accepted.
const InviteStatusPending = "pending"

// InviteStatusAccepted is the status of an invite whose link was used.
const InviteStatusAccepted = "accepted"

// OrgStore persists organizations.
type OrgStore interface {
	// CreateOrganization stores o, filling ID and CreatedAt when empty.
	CreateOrganization(ctx context.Context, o *Organization) error
	// FindOrganizationByID returns ENOTFOUND when there is no such organization.
	FindOrganizationByID(ctx context.Context, id string) (*Organization, error)
	// CountOrganizations counts the organizations: zero on a database no
	// node has bootstrapped yet.
	CountOrganizations(ctx context.Context) (int, error)
}

// UserStore persists users and their (encrypted) API keys.
type UserStore interface {
	// CreateUser stores u with its sealed API key, filling ID and CreatedAt
	// when empty. A duplicate email is ECONFLICT.
	CreateUser(ctx context.Context, u *User, encryptedKey []byte) error
	// FindUserByID returns ENOTFOUND when there is no such user.
	FindUserByID(ctx context.Context, id string) (*User, error)
	// FindUserByEmail matches case-insensitively; ENOTFOUND when absent.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	// SetAPIKey replaces the user's sealed API key; the old one stops working
	// for every server sharing the store at once. ENOTFOUND for unknown users.
	SetAPIKey(ctx context.Context, userID string, encryptedKey []byte) error
	// FindCredentials returns the user, its sealed key and its role in orgID
	// in one query. ENOTFOUND when the user does not exist; Role is "" when
	// the user is not a member of orgID.
	FindCredentials(ctx context.Context, userID, orgID string) (*Credentials, error)
	// TouchAuthenticated records a successful authentication at t.
	TouchAuthenticated(ctx context.Context, userID string, t time.Time) error
}

// MemberStore persists organization memberships.
type MemberStore interface {
	// PutMember adds userID to orgID with role, or changes the role of an
	// existing member. ENOTFOUND when the user or organization is unknown.
	PutMember(ctx context.Context, orgID, userID string, role Role) error
	// FindMember returns one member of orgID; ENOTFOUND when userID is not one.
	FindMember(ctx context.Context, orgID, userID string) (*Member, error)
	// ListMembers returns every member of orgID ordered by email; with
	// enabledOnly, only members whose user is enabled.
	ListMembers(ctx context.Context, orgID string, enabledOnly bool) ([]*Member, error)
	// RemoveMember deletes the membership; ENOTFOUND when there is none.
	RemoveMember(ctx context.Context, orgID, userID string) error
	// CountOwners returns how many owners orgID has, so the last owner is
	// never removed.
	CountOwners(ctx context.Context, orgID string) (int, error)
}

// InviteStore persists invitations.
type InviteStore interface {
	// CreateInvite stores inv, filling ID and CreatedAt when empty. A second
	// pending invite for the same (org, email) replaces the first.
	CreateInvite(ctx context.Context, inv *Invite) error
	// FindPendingInvite returns the pending invite whose TokenHash equals
	// tokenHash; ENOTFOUND when there is none (accepted or unknown).
	FindPendingInvite(ctx context.Context, tokenHash []byte) (*Invite, error)
	// AcceptInvite marks a pending invite accepted, so its link works once;
	// ENOTFOUND when it is no longer pending.
	AcceptInvite(ctx context.Context, id string) error
}
