package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/sqlcore"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// FindPasswordHash returns the user with email (case-insensitively) and its
// password hash, "" when it has none; ENOTFOUND when there is no such user.
func (db *DB) FindPasswordHash(ctx context.Context, email string) (*aip.User, string, error) {
	var hash sql.NullString
	// The email column is COLLATE NOCASE: = ignores case and uses the index.
	u, err := storeutil.ScanUser(db.read.QueryRowContext(ctx,
		`SELECT `+storeutil.UserColumns+`, u.password_hash FROM users u WHERE u.email = ?`, email), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", aip.Errorf(aip.ENOTFOUND, "No user with email %s.", email)
	} else if err != nil {
		return nil, "", fmt.Errorf("find password hash: %w", err)
	}
	return u, hash.String, nil
}

// ListWebMemberships returns the organizations of userID ordered by name
// then id.
func (db *DB) ListWebMemberships(ctx context.Context, userID string) ([]aip.WebMembership, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT o.id, o.name, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id
		WHERE m.user_id = ? ORDER BY o.name, o.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list memberships of user %s: %w", userID, err)
	}
	defer rows.Close()
	var out []aip.WebMembership
	for rows.Next() {
		var m aip.WebMembership
		if err := rows.Scan(&m.OrgID, &m.OrgName, &m.Role); err != nil {
			return nil, fmt.Errorf("list memberships of user %s: %w", userID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list memberships of user %s: %w", userID, err)
	}
	return out, nil
}

// TouchWebSession moves LastSeenAt forward to t; ENOTFOUND when the session
// is gone.
func (db *DB) TouchWebSession(ctx context.Context, idHash []byte, t time.Time) error {
	res, err := db.write.ExecContext(ctx,
		`UPDATE web_sessions SET last_seen_at = max(last_seen_at, ?) WHERE id_hash = ?`, toMillis(t), idHash)
	if err != nil {
		return fmt.Errorf("touch web session: %w", err)
	}
	return sqlcore.WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Web session not found."))
}
