package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/sqlcore"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// lockOwners takes the transaction-scoped advisory lock that serializes
// the writes to orgID's memberships which the "last owner stays" rule
// depends on. Several nodes share the database, so the single writer the
// SQLite store relies on is not there: without the lock, two nodes
// removing the last two owners at once would each count two owners and
// both delete. The two-key form keeps these locks apart from single-key
// advisory locks taken elsewhere (migrations); a hash collision between
// two organizations only makes them wait for each other.
func lockOwners(ctx context.Context, tx *sql.Tx, orgID string) error {
	if _, err := tx.ExecContext(ctx,
		`SELECT pg_advisory_xact_lock(hashtext('aip.memberships'), hashtext($1))`, orgID); err != nil {
		return fmt.Errorf("lock memberships of organization %s: %w", orgID, err)
	}
	return nil
}

// PutMember adds userID to orgID with role, or changes the role of an
// existing member. ENOTFOUND when the user or organization is unknown,
// EINVALID for an unknown role.
//
// It does not refuse to demote the last owner (setting roles is also how
// administrators repair an organization), but it takes the organization's
// membership lock, so that a concurrent RemoveMember counts owners either
// before or after the change, never in between.
func (db *DB) PutMember(ctx context.Context, orgID, userID string, role aip.Role) error {
	if !role.Valid() {
		return aip.Errorf(aip.EINVALID, "Invalid role %q: must be owner, user or reader.", role)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := lockOwners(ctx, tx, orgID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`,
			orgID, userID, string(role), toMillis(now()))
		return err
	})
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
	if err := orgExists(ctx, db.sql, orgID); err != nil {
		return err
	}
	return aip.Errorf(aip.ENOTFOUND, "User %s not found.", userID)
}

// ListMembers returns every member of orgID ordered by email
// (case-insensitively); with enabledOnly, only members whose user is enabled.
func (db *DB) ListMembers(ctx context.Context, orgID string, enabledOnly bool) ([]*aip.Member, error) {
	q := storeutil.MemberQuery + ` WHERE m.org_id = $1`
	if enabledOnly {
		q += ` AND u.enabled`
	}
	q += ` ORDER BY lower(u.email), u.id`
	rows, err := db.sql.QueryContext(ctx, q, orgID)
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

// RemoveMember deletes the membership; ENOTFOUND when there is none, and
// ECONFLICT when userID is the organization's only owner.
//
// The HTTP layer checks CountOwners before removing an owner, but between
// that check and this call another node may remove another owner. So the
// rule is enforced here too, under the organization's membership lock
// (lockOwners): the count and the delete see no concurrent membership
// change, and of two owners removed at once the second removal is refused.
func (db *DB) RemoveMember(ctx context.Context, orgID, userID string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := lockOwners(ctx, tx, orgID); err != nil {
			return err
		}
		// A statement after the lock: in READ COMMITTED it sees every
		// change committed by the previous holder of the lock.
		var role sql.NullString
		var owners int
		err := tx.QueryRowContext(ctx, `
			SELECT (SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2),
			       (SELECT count(*) FROM memberships WHERE org_id = $1 AND role = 'owner')`,
			orgID, userID).Scan(&role, &owners)
		if err != nil {
			return fmt.Errorf("count owners: %w", err)
		}
		if !role.Valid {
			return aip.Errorf(aip.ENOTFOUND, "User %s is not a member of this organization.", userID)
		}
		if aip.Role(role.String) == aip.RoleOwner && owners <= 1 {
			return aip.Errorf(aip.ECONFLICT, "The last owner of an organization cannot be removed.")
		}
		res, err := tx.ExecContext(ctx,
			`DELETE FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID)
		if err != nil {
			return err
		}
		return sqlcore.WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "User %s is not a member of this organization.", userID))
	})
	var ae *aip.Error
	if errors.As(err, &ae) {
		return err
	} else if err != nil {
		return fmt.Errorf("remove member %s of organization %s: %w", userID, orgID, err)
	}
	return nil
}
