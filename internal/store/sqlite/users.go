package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// CreateUser stores u with its sealed API key, filling ID and CreatedAt when
// empty. A duplicate email (in any case) is ECONFLICT.
func (db *DB) CreateUser(ctx context.Context, u *aip.User, encryptedKey []byte) error {
	if u.ID == "" {
		u.ID = aip.NewID24()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now()
	}
	u.CreatedAt = normalize(u.CreatedAt)
	var lastAuth sql.NullInt64
	if !u.LastAuthenticatedAt.IsZero() {
		u.LastAuthenticatedAt = normalize(u.LastAuthenticatedAt)
		lastAuth = sql.NullInt64{Int64: toMillis(u.LastAuthenticatedAt), Valid: true}
	}
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO users (id, email, display_name, enabled, sso_enabled, mfa_enabled,
		                   created_at, last_authenticated_at, api_key_sealed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.DisplayName, u.Enabled, u.SSOEnabled, u.MFAEnabled,
		toMillis(u.CreatedAt), lastAuth, encryptedKey)
	// The statement ran in its own transaction, which has ended. Bump on
	// failure too: a needless bump costs one re-read per cached entry, and
	// it spares reasoning about statements cut short by their context.
	db.creds.bump()
	if isUnique(err) {
		// The constraint name is the only way to tell which key collided.
		if strings.Contains(err.Error(), "users.email") {
			return aip.Errorf(aip.ECONFLICT, "A user with email %s already exists.", u.Email)
		}
		return aip.Errorf(aip.ECONFLICT, "User %s already exists.", u.ID)
	} else if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	return nil
}

// FindUserByEmail matches case-insensitively; ENOTFOUND when absent.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*aip.User, error) {
	// The email column is COLLATE NOCASE, so = compares case-insensitively
	// and uses the unique index.
	u, err := storeutil.ScanUser(db.read.QueryRowContext(ctx,
		`SELECT `+storeutil.UserColumns+` FROM users u WHERE u.email = ?`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "No user with email %s.", email)
	} else if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	return u, nil
}

// SetAPIKey replaces the user's sealed API key. ENOTFOUND for unknown users.
func (db *DB) SetAPIKey(ctx context.Context, userID string, encryptedKey []byte) error {
	res, err := db.write.ExecContext(ctx,
		`UPDATE users SET api_key_sealed = ? WHERE id = ?`, encryptedKey, userID)
	db.creds.bump() // after the commit: the old key stops working everywhere
	if err != nil {
		return fmt.Errorf("set api key of user %s: %w", userID, err)
	}
	return requireRow(res, func() error { return aip.Errorf(aip.ENOTFOUND, "User %s not found.", userID) })
}

// FindCredentials returns the user, its sealed key and its role in orgID in
// one query. ENOTFOUND when the user does not exist; Role is "" when the user
// is not a member of orgID.
//
// Results of existing users, members or not, are cached (see credCache) and
// served until any handle on the database, in any process, changes a user
// or a membership; unknown users are never cached, since anyone can make up
// user ids. The caller owns the returned value.
func (db *DB) FindCredentials(ctx context.Context, userID, orgID string) (*aip.Credentials, error) {
	cached, gen, cacheable := db.creds.get(userID, orgID)
	if cached != nil {
		return cached, nil
	}
	db.creds.queries.Add(1)
	var (
		key  []byte
		role sql.NullString
	)
	u, err := storeutil.ScanUser(db.findCredentials.QueryRowContext(ctx, orgID, userID), &key, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "User %s not found.", userID)
	} else if err != nil {
		return nil, fmt.Errorf("find credentials of user %s: %w", userID, err)
	}
	c := &aip.Credentials{User: u, EncryptedKey: key, Role: aip.Role(role.String)}
	if db.creds.afterQuery != nil {
		db.creds.afterQuery()
	}
	if cacheable {
		db.creds.put(gen, userID, orgID, c)
	}
	return c, nil
}

// TouchAuthenticated records a successful authentication at t. It never
// moves the time backwards, and an unknown user is not an error: the
// request that authenticated may race the user's removal.
func (db *DB) TouchAuthenticated(ctx context.Context, userID string, t time.Time) error {
	if t.IsZero() {
		return aip.Errorf(aip.EINVALID, "Authentication time is missing.")
	}
	ms := toMillis(t)
	if _, err := db.touch.ExecContext(ctx, ms, userID, ms); err != nil {
		return fmt.Errorf("touch user %s: %w", userID, err)
	}
	db.creds.touched(userID, fromMillis(ms))
	return nil
}

// requireRow returns notFound() when res affected no row.
func requireRow(res sql.Result, notFound func() error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	if n == 0 {
		return notFound()
	}
	return nil
}
