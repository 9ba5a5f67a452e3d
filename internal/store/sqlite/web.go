package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// SetPassword stores the user's encoded password hash ("" removes web
// sign-in) and ends the user's web sessions in the same transaction.
// ENOTFOUND for an unknown user.
func (db *DB) SetPassword(ctx context.Context, userID, hash string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`,
			sql.NullString{String: hash, Valid: hash != ""}, userID)
		if err != nil {
			return fmt.Errorf("set password of user %s: %w", userID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("set password of user %s: %w", userID, err)
		} else if n == 0 {
			return aip.Errorf(aip.ENOTFOUND, "User %s not found.", userID)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("end web sessions of user %s: %w", userID, err)
		}
		return nil
	})
}

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

// CreateWebSession stores s, its times truncated to the millisecond.
// ENOTFOUND for an unknown user or organization, ECONFLICT for a duplicate
// id hash.
func (db *DB) CreateWebSession(ctx context.Context, s *aip.WebSession) error {
	s.CreatedAt, s.LastSeenAt = normalize(s.CreatedAt), normalize(s.LastSeenAt)
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO web_sessions (id_hash, user_id, org_id, csrf_token, created_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.UserID, sql.NullString{String: s.OrgID, Valid: s.OrgID != ""}, s.CSRFToken,
		toMillis(s.CreatedAt), toMillis(s.LastSeenAt))
	switch {
	case isUnique(err):
		return aip.Errorf(aip.ECONFLICT, "Web session already exists.")
	case isForeignKey(err):
		return aip.Errorf(aip.ENOTFOUND, "User %s or organization %s not found.", s.UserID, s.OrgID)
	case err != nil:
		return fmt.Errorf("create web session: %w", err)
	}
	return nil
}

// FindWebSession returns the session whose id hashes to idHash, expired or
// not; ENOTFOUND when absent.
func (db *DB) FindWebSession(ctx context.Context, idHash []byte) (*aip.WebSession, error) {
	var (
		s               aip.WebSession
		org             sql.NullString
		created, seenAt int64
	)
	err := db.read.QueryRowContext(ctx, `
		SELECT id_hash, user_id, org_id, csrf_token, created_at, last_seen_at
		FROM web_sessions WHERE id_hash = ?`, idHash,
	).Scan(&s.IDHash, &s.UserID, &org, &s.CSRFToken, &created, &seenAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Web session not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find web session: %w", err)
	}
	s.OrgID = org.String
	s.CreatedAt, s.LastSeenAt = fromMillis(created), fromMillis(seenAt)
	return &s, nil
}

// TouchWebSession moves LastSeenAt forward to t; ENOTFOUND when the session
// is gone.
func (db *DB) TouchWebSession(ctx context.Context, idHash []byte, t time.Time) error {
	res, err := db.write.ExecContext(ctx,
		`UPDATE web_sessions SET last_seen_at = max(last_seen_at, ?) WHERE id_hash = ?`, toMillis(t), idHash)
	if err != nil {
		return fmt.Errorf("touch web session: %w", err)
	}
	return wantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Web session not found."))
}

// SetWebSessionOrg records the organization the session picked; ENOTFOUND
// when the session or the organization is gone.
func (db *DB) SetWebSessionOrg(ctx context.Context, idHash []byte, orgID string) error {
	res, err := db.write.ExecContext(ctx, `UPDATE web_sessions SET org_id = ? WHERE id_hash = ?`, orgID, idHash)
	if isForeignKey(err) {
		return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", orgID)
	} else if err != nil {
		return fmt.Errorf("set web session organization: %w", err)
	}
	return wantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Web session not found."))
}

// DeleteWebSession ends a session; a session already gone is no error.
func (db *DB) DeleteWebSession(ctx context.Context, idHash []byte) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("delete web session: %w", err)
	}
	return nil
}

// DeleteExpiredWebSessions deletes the sessions last seen before idleBefore
// or created before createdBefore, and returns how many.
func (db *DB) DeleteExpiredWebSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	res, err := db.write.ExecContext(ctx,
		`DELETE FROM web_sessions WHERE last_seen_at < ? OR created_at < ?`,
		toMillis(idleBefore), toMillis(createdBefore))
	if err != nil {
		return 0, fmt.Errorf("delete expired web sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired web sessions: %w", err)
	}
	return int(n), nil
}
