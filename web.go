package aip

import (
	"context"
	"time"
)

// WebSession is one signed-in browser of the web console. The browser holds
// a random session id in a cookie; the store keeps only its SHA-256, so a
// leaked database (or backup) cannot be replayed as a live session.
type WebSession struct {
	// IDHash is the SHA-256 of the cookie's session id.
	IDHash []byte
	UserID string
	// OrgID is the organization picked after sign-in; "" until then. A
	// session without an organization may only reach the org picker.
	OrgID string
	// CSRFToken is compared with the hidden field of every form the session
	// posts; it lives with the session so every node sharing the store can
	// check it.
	CSRFToken string
	// CreatedAt bounds the session's absolute lifetime.
	CreatedAt time.Time
	// LastSeenAt bounds its idle time; TouchWebSession moves it.
	LastSeenAt time.Time
}

// WebMembership is one organization a user may pick in the web console.
type WebMembership struct {
	OrgID   string
	OrgName string
	Role    Role
}

// WebStore persists what the web console's sign-in needs: password hashes
// and server-side sessions.
type WebStore interface {
	// SetPassword stores the encoded password hash of a user ("" removes
	// web sign-in) and ends every web session of that user in the same
	// transaction, so a changed password logs out a thief. ENOTFOUND for
	// an unknown user.
	SetPassword(ctx context.Context, userID, hash string) error
	// FindPasswordHash returns the user with email (matched
	// case-insensitively) and its password hash, "" when the user has none.
	// ENOTFOUND when there is no such user.
	FindPasswordHash(ctx context.Context, email string) (*User, string, error)
	// ListWebMemberships returns the organizations userID belongs to,
	// ordered by organization name then id, for the org picker.
	ListWebMemberships(ctx context.Context, userID string) ([]WebMembership, error)
	// CreateWebSession stores s (IDHash, UserID, CSRFToken, CreatedAt and
	// LastSeenAt set by the caller; times are kept to the millisecond).
	// ENOTFOUND for an unknown user or organization, ECONFLICT for a
	// duplicate IDHash.
	CreateWebSession(ctx context.Context, s *WebSession) error
	// FindWebSession returns the session whose id hashes to idHash, expired
	// or not (expiry is the caller's policy); ENOTFOUND when absent.
	FindWebSession(ctx context.Context, idHash []byte) (*WebSession, error)
	// TouchWebSession moves LastSeenAt to t (never backwards); ENOTFOUND
	// when the session is gone.
	TouchWebSession(ctx context.Context, idHash []byte, t time.Time) error
	// SetWebSessionOrg records the organization the session picked.
	// ENOTFOUND when the session or the organization is gone.
	SetWebSessionOrg(ctx context.Context, idHash []byte, orgID string) error
	// DeleteWebSession ends a session; ending one that is already gone is
	// not an error (a double sign-out).
	DeleteWebSession(ctx context.Context, idHash []byte) error
	// DeleteExpiredWebSessions deletes the sessions last seen before
	// idleBefore or created before createdBefore and returns how many.
	DeleteExpiredWebSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error)
}
