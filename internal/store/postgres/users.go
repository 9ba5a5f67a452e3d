package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// CreateOrganization stores o, filling ID and CreatedAt when empty.
func (db *DB) CreateOrganization(ctx context.Context, o *aip.Organization) error {
	if o.ID == "" {
		o.ID = aip.NewID24()
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now()
	}
	o.CreatedAt = normalize(o.CreatedAt)
	_, err := db.sql.ExecContext(ctx,
		`INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)`,
		o.ID, o.Name, toMillis(o.CreatedAt))
	if isUnique(err) {
		return aip.Errorf(aip.ECONFLICT, "Organization %s already exists.", o.ID)
	} else if err != nil {
		return fmt.Errorf("create organization %s: %w", o.ID, err)
	}
	return nil
}

// CountOrganizations counts the organizations.
func (db *DB) CountOrganizations(ctx context.Context) (int, error) {
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM organizations`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count organizations: %w", err)
	}
	return n, nil
}

// FindOrganizationByID returns ENOTFOUND when there is no such organization.
func (db *DB) FindOrganizationByID(ctx context.Context, id string) (*aip.Organization, error) {
	var (
		o       aip.Organization
		created int64
	)
	err := db.sql.QueryRowContext(ctx,
		`SELECT id, name, created_at FROM organizations WHERE id = $1`, id,
	).Scan(&o.ID, &o.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find organization %s: %w", id, err)
	}
	o.CreatedAt = fromMillis(created)
	return &o, nil
}

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

// FindUserByID returns ENOTFOUND when there is no such user.
func (db *DB) FindUserByID(ctx context.Context, id string) (*aip.User, error) {
	u, err := storeutil.ScanUser(db.sql.QueryRowContext(ctx,
		`SELECT `+storeutil.UserColumns+` FROM users u WHERE u.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "User %s not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find user %s: %w", id, err)
	}
	return u, nil
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
	return wantOneRow(res, aip.Errorf(aip.ENOTFOUND, "User %s not found.", userID))
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
