package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/aipsec/aip"
)

// The queries below spell the pending status as the literal 'pending' (the
// value of aip.InviteStatusPending) because SQLite only uses the partial
// indexes on invites when the query repeats their WHERE clause literally.

// CreateInvite stores inv, filling ID, CreatedAt and Status (pending) when
// empty. A new pending invite for the same (org, email), in any case,
// replaces the previous one, whose link stops working.
func (db *DB) CreateInvite(ctx context.Context, inv *aip.Invite) error {
	switch {
	case !inv.Role.Valid():
		return aip.Errorf(aip.EINVALID, "Invalid role %q: must be owner, user or reader.", inv.Role)
	case inv.Email == "":
		return aip.Errorf(aip.EINVALID, "An invite needs an email address.")
	case len(inv.TokenHash) == 0:
		return aip.Errorf(aip.EINVALID, "An invite needs a token hash.")
	case inv.ExpiresAt.IsZero():
		return aip.Errorf(aip.EINVALID, "An invite needs an expiry time.")
	}
	if inv.ID == "" {
		inv.ID = aip.NewUUID()
	}
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = now()
	}
	if inv.Status == "" {
		inv.Status = aip.InviteStatusPending
	}
	inv.CreatedAt = normalize(inv.CreatedAt)
	inv.ExpiresAt = normalize(inv.ExpiresAt)

	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if inv.Status == aip.InviteStatusPending {
			if _, err := tx.ExecContext(ctx,
				`DELETE FROM invites WHERE org_id = ? AND email = ? AND status = 'pending'`,
				inv.OrgID, inv.Email); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO invites (id, org_id, email, role, status, invited_by, token_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			inv.ID, inv.OrgID, inv.Email, string(inv.Role), inv.Status, inv.InvitedBy, inv.TokenHash,
			toMillis(inv.CreatedAt), toMillis(inv.ExpiresAt))
		return err
	})
	switch {
	case isForeignKey(err):
		return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", inv.OrgID)
	case isUnique(err):
		return aip.Errorf(aip.ECONFLICT, "Invite %s already exists.", inv.ID)
	case err != nil:
		return fmt.Errorf("create invite for organization %s: %w", inv.OrgID, err)
	}
	return nil
}

// AcceptInvite marks a pending invite accepted, so its link works once;
// ENOTFOUND when it is no longer pending.
func (db *DB) AcceptInvite(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx,
		`UPDATE invites SET status = ? WHERE id = ? AND status = 'pending'`,
		aip.InviteStatusAccepted, id)
	if err != nil {
		return fmt.Errorf("accept invite %s: %w", id, err)
	}
	return requireRow(res, func() error {
		return aip.Errorf(aip.ENOTFOUND, "Invite not found or no longer valid.")
	})
}
