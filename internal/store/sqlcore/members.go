package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// FindMember returns one member of orgID; ENOTFOUND when userID is not one.
func (co *Core) FindMember(ctx context.Context, orgID, userID string) (*aip.Member, error) {
	m, err := storeutil.ScanMember(co.read().QueryRowContext(ctx,
		storeutil.MemberQuery+` WHERE m.org_id = ? AND m.user_id = ?`, orgID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "User %s is not a member of this organization.", userID)
	} else if err != nil {
		return nil, fmt.Errorf("find member %s of organization %s: %w", userID, orgID, err)
	}
	return m, nil
}

// CountOwners returns how many owners orgID has (0 for an unknown org).
func (co *Core) CountOwners(ctx context.Context, orgID string) (int, error) {
	var n int
	err := co.read().QueryRowContext(ctx,
		`SELECT count(*) FROM memberships WHERE org_id = ? AND role = 'owner'`, orgID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count owners of organization %s: %w", orgID, err)
	}
	return n, nil
}
