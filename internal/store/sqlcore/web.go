package sqlcore

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
func (co *Core) SetPassword(ctx context.Context, userID, hash string) error {
	return co.inTx(ctx, func(tx Queryer) error {
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

// CreateWebSession stores s, its times truncated to the millisecond.
// ENOTFOUND for an unknown user or organization, ECONFLICT for a duplicate
// id hash.
func (co *Core) CreateWebSession(ctx context.Context, s *aip.WebSession) error {
	s.CreatedAt, s.LastSeenAt = storeutil.Normalize(s.CreatedAt), storeutil.Normalize(s.LastSeenAt)
	_, err := co.write().ExecContext(ctx, `
		INSERT INTO web_sessions (id_hash, user_id, org_id, csrf_token, created_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.UserID, sql.NullString{String: s.OrgID, Valid: s.OrgID != ""}, s.CSRFToken,
		storeutil.ToMillis(s.CreatedAt), storeutil.ToMillis(s.LastSeenAt))
	switch {
	case co.d.IsUnique(err):
		return aip.Errorf(aip.ECONFLICT, "Web session already exists.")
	case co.d.IsForeignKey(err):
		return aip.Errorf(aip.ENOTFOUND, "User %s or organization %s not found.", s.UserID, s.OrgID)
	case err != nil:
		return fmt.Errorf("create web session: %w", err)
	}
	return nil
}

// FindWebSession returns the session whose id hashes to idHash, expired or
// not; ENOTFOUND when absent.
func (co *Core) FindWebSession(ctx context.Context, idHash []byte) (*aip.WebSession, error) {
	var (
		s               aip.WebSession
		org             sql.NullString
		created, seenAt int64
	)
	err := co.read().QueryRowContext(ctx, `
		SELECT id_hash, user_id, org_id, csrf_token, created_at, last_seen_at
		FROM web_sessions WHERE id_hash = ?`, idHash,
	).Scan(&s.IDHash, &s.UserID, &org, &s.CSRFToken, &created, &seenAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Web session not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find web session: %w", err)
	}
	s.OrgID = org.String
	s.CreatedAt, s.LastSeenAt = storeutil.FromMillis(created), storeutil.FromMillis(seenAt)
	return &s, nil
}

// SetWebSessionOrg records the organization the session picked; ENOTFOUND
// when the session or the organization is gone.
func (co *Core) SetWebSessionOrg(ctx context.Context, idHash []byte, orgID string) error {
	res, err := co.write().ExecContext(ctx, `UPDATE web_sessions SET org_id = ? WHERE id_hash = ?`, orgID, idHash)
	if co.d.IsForeignKey(err) {
		return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", orgID)
	} else if err != nil {
		return fmt.Errorf("set web session organization: %w", err)
	}
	return WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Web session not found."))
}

// DeleteWebSession ends a session; a session already gone is no error.
func (co *Core) DeleteWebSession(ctx context.Context, idHash []byte) error {
	if _, err := co.write().ExecContext(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("delete web session: %w", err)
	}
	return nil
}

// DeleteExpiredWebSessions deletes the sessions last seen before idleBefore
// or created before createdBefore, and returns how many.
func (co *Core) DeleteExpiredWebSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	res, err := co.write().ExecContext(ctx,
		`DELETE FROM web_sessions WHERE last_seen_at < ? OR created_at < ?`,
		storeutil.ToMillis(idleBefore), storeutil.ToMillis(createdBefore))
	if err != nil {
		return 0, fmt.Errorf("delete expired web sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired web sessions: %w", err)
	}
	return int(n), nil
}
