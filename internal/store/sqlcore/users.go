package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// CreateOrganization stores o, filling ID and CreatedAt when empty.
func (co *Core) CreateOrganization(ctx context.Context, o *aip.Organization) error {
	if o.ID == "" {
		o.ID = aip.NewID24()
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = storeutil.Now()
	}
	o.CreatedAt = storeutil.Normalize(o.CreatedAt)
	_, err := co.write().ExecContext(ctx,
		`INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`,
		o.ID, o.Name, storeutil.ToMillis(o.CreatedAt))
	if co.d.IsUnique(err) {
		return aip.Errorf(aip.ECONFLICT, "Organization %s already exists.", o.ID)
	} else if err != nil {
		return fmt.Errorf("create organization %s: %w", o.ID, err)
	}
	return nil
}

// CountOrganizations counts the organizations.
func (co *Core) CountOrganizations(ctx context.Context) (int, error) {
	var n int
	if err := co.read().QueryRowContext(ctx, `SELECT count(*) FROM organizations`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count organizations: %w", err)
	}
	return n, nil
}

// FindOrganizationByID returns ENOTFOUND when there is no such organization.
func (co *Core) FindOrganizationByID(ctx context.Context, id string) (*aip.Organization, error) {
	var (
		o       aip.Organization
		created int64
	)
	err := co.read().QueryRowContext(ctx,
		`SELECT id, name, created_at FROM organizations WHERE id = ?`, id,
	).Scan(&o.ID, &o.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find organization %s: %w", id, err)
	}
	o.CreatedAt = storeutil.FromMillis(created)
	return &o, nil
}

// FindUserByID returns ENOTFOUND when there is no such user.
func (co *Core) FindUserByID(ctx context.Context, id string) (*aip.User, error) {
	u, err := storeutil.ScanUser(co.read().QueryRowContext(ctx,
		`SELECT `+storeutil.UserColumns+` FROM users u WHERE u.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "User %s not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find user %s: %w", id, err)
	}
	return u, nil
}
