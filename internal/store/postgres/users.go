package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/sqlcore"
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
	_, err := db.sql.ExecContext(ctx, `
		INSERT INTO users (id, email, display_name, enabled, sso_enabled, mfa_enabled,
		                   created_at, last_authenticated_at, api_key_sealed)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.Email, u.DisplayName, u.Enabled, u.SSOEnabled, u.MFAEnabled,
		toMillis(u.CreatedAt), lastAuth, encryptedKey)
	if isUnique(err) {
		// The constraint name tells which key collided: the lower(email)
		// index or the primary key.
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.ConstraintName == "users_email" {
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
	// lower(email) on both sides matches the unique users_email index, so
	// the lookup is case-insensitive and uses it.
	u, err := storeutil.ScanUser(db.sql.QueryRowContext(ctx,
		`SELECT `+storeutil.UserColumns+` FROM users u WHERE lower(u.email) = lower($1)`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "No user with email %s.", email)
	} else if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	return u, nil
}

// SetAPIKey replaces the user's sealed API key. ENOTFOUND for unknown users.
// FindCredentials reads the database on every call, so once this commits
// the old key stops working on every node at once.
func (db *DB) SetAPIKey(ctx context.Context, userID string, encryptedKey []byte) error {
	res, err := db.sql.ExecContext(ctx,
		`UPDATE users SET api_key_sealed = $1 WHERE id = $2`, encryptedKey, userID)
	if err != nil {
		return fmt.Errorf("set api key of user %s: %w", userID, err)
	}
	return sqlcore.WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "User %s not found.", userID))
}

// FindCredentials returns the user, its sealed key and its role in orgID in
// one query. ENOTFOUND when the user does not exist; Role is "" when the user
// is not a member of orgID.
//
// Unlike the SQLite store, nothing is cached: several nodes share the
// database, and a node must refuse a rotated key or a removed membership as
// soon as another node commits the change. The SQLite store's
// cross-process generation counter lives in a memory-mapped file, which
// nodes on different machines cannot share, so each call runs this one
// query instead: a primary key lookup of the user and of the membership.
func (db *DB) FindCredentials(ctx context.Context, userID, orgID string) (*aip.Credentials, error) {
	var (
		key  []byte
		role sql.NullString
	)
	u, err := storeutil.ScanUser(db.sql.QueryRowContext(ctx, `
		SELECT `+storeutil.UserColumns+`, u.api_key_sealed, m.role
		FROM users u
		LEFT JOIN memberships m ON m.org_id = $1 AND m.user_id = u.id
		WHERE u.id = $2`, orgID, userID), &key, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "User %s not found.", userID)
	} else if err != nil {
		return nil, fmt.Errorf("find credentials of user %s: %w", userID, err)
	}
	return &aip.Credentials{User: u, EncryptedKey: key, Role: aip.Role(role.String)}, nil
}

// TouchAuthenticated records a successful authentication at t. It never
// moves the time backwards, and an unknown user is not an error: the
// request that authenticated may race the user's removal. The conditional
// UPDATE makes concurrent touches from several nodes keep the latest time.
func (db *DB) TouchAuthenticated(ctx context.Context, userID string, t time.Time) error {
	if t.IsZero() {
		return aip.Errorf(aip.EINVALID, "Authentication time is missing.")
	}
	_, err := db.sql.ExecContext(ctx, `
		UPDATE users SET last_authenticated_at = $1
		WHERE id = $2 AND (last_authenticated_at IS NULL OR last_authenticated_at < $1)`,
		toMillis(t), userID)
	if err != nil {
		return fmt.Errorf("touch user %s: %w", userID, err)
	}
	return nil
}
