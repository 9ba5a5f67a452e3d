package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// CreateDeployKey stores k, filling ID and CreatedAt when empty.
// ENOTFOUND when the organization is unknown, ECONFLICT for a key hash
// that is already stored.
func (co *Core) CreateDeployKey(ctx context.Context, k *aip.DeployKey) error {
	if len(k.KeyHash) == 0 {
		return aip.Errorf(aip.EINVALID, "A deploy key needs a key hash.")
	}
	if k.ID == "" {
		k.ID = aip.NewUUID()
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = storeutil.Now()
	}
	k.CreatedAt = storeutil.Normalize(k.CreatedAt)
	_, err := co.write().ExecContext(ctx,
		`INSERT INTO deploy_keys (id, org_id, key_hash, created_at) VALUES (?, ?, ?, ?)`,
		k.ID, k.OrgID, k.KeyHash, storeutil.ToMillis(k.CreatedAt))
	switch {
	case co.d.IsForeignKey(err):
		return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", k.OrgID)
	case co.d.IsUnique(err):
		return aip.Errorf(aip.ECONFLICT, "This deploy key already exists.")
	case err != nil:
		return fmt.Errorf("create deploy key of organization %s: %w", k.OrgID, err)
	}
	return nil
}

// FindDeployKey returns the deploy key whose KeyHash equals keyHash;
// ENOTFOUND when there is none.
func (co *Core) FindDeployKey(ctx context.Context, keyHash []byte) (*aip.DeployKey, error) {
	var (
		k       aip.DeployKey
		created int64
	)
	err := co.read().QueryRowContext(ctx,
		`SELECT id, org_id, key_hash, created_at FROM deploy_keys WHERE key_hash = ?`, keyHash,
	).Scan(&k.ID, &k.OrgID, &k.KeyHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Deploy key not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find deploy key: %w", err)
	}
	k.CreatedAt = storeutil.FromMillis(created)
	return &k, nil
}

// DeleteDeployKey removes a deploy key of orgID; ENOTFOUND when absent.
func (co *Core) DeleteDeployKey(ctx context.Context, orgID, id string) error {
	res, err := co.write().ExecContext(ctx, `DELETE FROM deploy_keys WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete deploy key %s: %w", id, err)
	}
	return WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Deploy key %s not found.", id))
}

// FindAgentCredentials returns the sealed key of a working agent.
func (co *Core) FindAgentCredentials(ctx context.Context, agentID string) (*aip.AgentCredentials, error) {
	c := aip.AgentCredentials{AgentID: agentID}
	err := co.read().QueryRowContext(ctx, `
		SELECT org_id, key_sealed FROM agents
		WHERE id = ? AND revoked_at IS NULL AND key_sealed IS NOT NULL`, agentID).Scan(&c.OrgID, &c.SealedKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", agentID)
	} else if err != nil {
		return nil, fmt.Errorf("find credentials of agent %s: %w", agentID, err)
	}
	return &c, nil
}

// RevokeAgent destroys the agent's key; the first revocation time stays.
func (co *Core) RevokeAgent(ctx context.Context, orgID, agentID string) error {
	res, err := co.write().ExecContext(ctx, `
		UPDATE agents SET revoked_at = coalesce(revoked_at, ?), key_sealed = NULL
		WHERE org_id = ? AND id = ?`, storeutil.ToMillis(storeutil.Now()), orgID, agentID)
	if err != nil {
		return fmt.Errorf("revoke agent %s: %w", agentID, err)
	}
	return WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", agentID))
}

// ListAgents returns at most f.Limit agents ordered by (CreatedAt, ID)
// descending. OrgID and a positive Limit are required.
func (co *Core) ListAgents(ctx context.Context, f aip.AgentFilter) ([]*aip.Agent, error) {
	if err := storeutil.ValidAgentFilter(f); err != nil {
		return nil, err
	}
	q, args := storeutil.AgentQuery(f)
	rows, err := co.read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list agents of organization %s: %w", f.OrgID, err)
	}
	defer rows.Close()
	var out []*aip.Agent
	for rows.Next() {
		a, err := storeutil.ScanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("list agents of organization %s: %w", f.OrgID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list agents of organization %s: %w", f.OrgID, err)
	}
	return out, nil
}
