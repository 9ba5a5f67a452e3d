package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// FindPendingInvite returns the pending invite whose TokenHash equals
// tokenHash; ENOTFOUND when there is none (accepted, replaced or unknown).
// Expiry is the caller's decision: the invite is returned with ExpiresAt.
func (co *Core) FindPendingInvite(ctx context.Context, tokenHash []byte) (*aip.Invite, error) {
	var (
		inv              aip.Invite
		role             string
		created, expires int64
	)
	err := co.read().QueryRowContext(ctx, `
		SELECT id, org_id, email, role, status, invited_by, token_hash, created_at, expires_at
		FROM invites
		WHERE token_hash = ? AND status = 'pending'
		ORDER BY created_at DESC, id DESC
		LIMIT 1`, tokenHash,
	).Scan(&inv.ID, &inv.OrgID, &inv.Email, &role, &inv.Status, &inv.InvitedBy, &inv.TokenHash,
		&created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Invite not found or no longer valid.")
	} else if err != nil {
		return nil, fmt.Errorf("find pending invite: %w", err)
	}
	inv.Role = aip.Role(role)
	inv.CreatedAt = storeutil.FromMillis(created)
	inv.ExpiresAt = storeutil.FromMillis(expires)
	return &inv, nil
}
