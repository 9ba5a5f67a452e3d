package storeutil

import (
	"database/sql"

	"github.com/aipsec/aip"
)

// UserColumns is the column list ScanUser expects, for a users table aliased u.
const UserColumns = `u.id, u.email, u.display_name, u.enabled, u.sso_enabled, u.mfa_enabled,
	u.created_at, u.last_authenticated_at`

// ScanUser scans UserColumns followed by extra destinations.
func ScanUser(row Scanner, extra ...any) (*aip.User, error) {
	var (
		u        aip.User
		created  int64
		lastAuth sql.NullInt64
	)
	dest := append([]any{&u.ID, &u.Email, &u.DisplayName, &u.Enabled, &u.SSOEnabled, &u.MFAEnabled,
		&created, &lastAuth}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	u.CreatedAt = FromMillis(created)
	u.LastAuthenticatedAt = FromNullMillis(lastAuth)
	return &u, nil
}

// MemberQuery selects the columns ScanMember expects.
const MemberQuery = `
	SELECT u.id, u.display_name, u.email, u.last_authenticated_at, m.role,
	       u.sso_enabled, u.mfa_enabled, u.enabled
	FROM memberships m
	JOIN users u ON u.id = m.user_id`

// ScanMember reads one row of MemberQuery.
func ScanMember(row Scanner) (*aip.Member, error) {
	var (
		m        aip.Member
		lastAuth sql.NullInt64
		role     string
	)
	if err := row.Scan(&m.ID, &m.DisplayName, &m.Email, &lastAuth, &role,
		&m.SSOEnabled, &m.MFAEnabled, &m.UserEnabled); err != nil {
		return nil, err
	}
	m.LastAuthenticatedAt = lastAuth.Int64 // 0 when never authenticated
	m.Role = aip.Role(role)
	return &m, nil
}
