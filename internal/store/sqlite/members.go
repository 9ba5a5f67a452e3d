package sqlite

import (
	"context"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// PutMember adds userID to orgID with role, or changes the role of an
// existing member. ENOTFOUND when the user or organization is unknown,
// EINVALID for an unknown role.
func (db *DB) PutMember(ctx context.Context, orgID, userID string, role aip.Role) error {
	if !role.Valid() {
		return aip.Errorf(aip.EINVALID, "Invalid role %q: must be owner, user or reader.", role)
	}
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`,
		orgID, userID, string(role), toMillis(now()))
	db.creds.bump() // after the commit (or failure): roles are credentials
	if isForeignKey(err) {
		return db.missingOrgOrUser(ctx, orgID, userID)
	} else if err != nil {
		return fmt.Errorf("put member %s of organization %s: %w", userID, orgID, err)
	}
	return nil
}

// missingOrgOrUser names which side of a failed membership foreign key is
// missing; it only runs on that rare error path.
func (db *DB) missingOrgOrUser(ctx context.Context, orgID, userID string) error {
	var orgExists bool
	err := db.read.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM organizations WHERE id = ?)`, orgID).Scan(&orgExists)
	if err != nil {
		return fmt.Errorf("check organization %s: %w", orgID, err)
	}
	if !orgExists {
		return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", orgID)
	}
	return aip.Errorf(aip.ENOTFOUND, "User %s not found.", userID)
}

// ListMembers returns every member of orgID ordered by email
// (case-insensitively); with enabledOnly, only members whose user is enabled.
func (db *DB) ListMembers(ctx context.Context, orgID string, enabledOnly bool) ([]*aip.Member, error) {
	q := storeutil.MemberQuery + ` WHERE m.org_id = ?`
	if enabledOnly {
		q += ` AND u.enabled = 1`
	}
	q += ` ORDER BY u.email, u.id`
	rows, err := db.read.QueryContext(ctx, q, orgID)
	if err != nil {
		return nil, fmt.Errorf("list members of organization %s: %w", orgID, err)
	}
	defer rows.Close()
	var out []*aip.Member
	for rows.Next() {
		m, err := storeutil.ScanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("list members of organization %s: %w", orgID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list members of organization %s: %w", orgID, err)
	}
	return out, nil
}

// RemoveMember deletes the membership; ENOTFOUND when there is none.
func (db *DB) RemoveMember(ctx context.Context, orgID, userID string) error {
	res, err := db.write.ExecContext(ctx,
		`DELETE FROM memberships WHERE org_id = ? AND user_id = ?`, orgID, userID)
	db.creds.bump() // after the commit: the removed member loses access at once
	if err != nil {
		return fmt.Errorf("remove member %s of organization %s: %w", userID, orgID, err)
	}
	return requireRow(res, func() error {
		return aip.Errorf(aip.ENOTFOUND, "User %s is not a member of this organization.", userID)
	})
}
