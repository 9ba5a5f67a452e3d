package sqlcore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// FindInventory returns an agent's inventory; ENOTFOUND when it has none.
func (co *Core) FindInventory(ctx context.Context, orgID, agentID string) (*aip.Inventory, error) {
	inv := aip.Inventory{OrgID: orgID, AgentID: agentID}
	var (
		pkgs    string
		updated int64
	)
	err := co.read().QueryRowContext(ctx,
		`SELECT ecosystem, distro, release, packages, updated_at FROM inventories WHERE org_id = ? AND agent_id = ?`,
		orgID, agentID).Scan(&inv.Ecosystem, &inv.Distro, &inv.Release, &pkgs, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Agent %s has no package inventory.", agentID)
	} else if err != nil {
		return nil, fmt.Errorf("find inventory of agent %s: %w", agentID, err)
	}
	if err := json.Unmarshal([]byte(pkgs), &inv.Packages); err != nil {
		return nil, fmt.Errorf("decode inventory of agent %s: %w", agentID, err)
	}
	inv.UpdatedAt = storeutil.FromMillis(updated)
	return &inv, nil
}

// ListVulnServers returns the agents with an unresolved match of cve,
// suppressed or not, ordered by agent id after `after`.
func (co *Core) ListVulnServers(ctx context.Context, orgID, cve, after string, limit int) ([]aip.VulnAgent, error) {
	if limit <= 0 {
		return nil, aip.Errorf(aip.EINVALID, "Invalid limit %d: must be positive.", limit)
	}
	rows, err := co.read().QueryContext(ctx,
		`SELECT m.agent_id, a.hostname
		 FROM (SELECT DISTINCT agent_id, org_id FROM vuln_matches
		       WHERE org_id = ? AND cve = ? AND resolved_at IS NULL AND agent_id > ?) m
		 LEFT JOIN agents a ON a.org_id = m.org_id AND a.id = m.agent_id
		 ORDER BY m.agent_id LIMIT ?`, orgID, cve, after, limit)
	if err != nil {
		return nil, fmt.Errorf("servers with %s: %w", cve, err)
	}
	defer rows.Close()
	var out []aip.VulnAgent
	for rows.Next() {
		var (
			a        aip.VulnAgent
			hostname sql.NullString
		)
		if err := rows.Scan(&a.AgentID, &hostname); err != nil {
			return nil, fmt.Errorf("scan server: %w", err)
		}
		if hostname.Valid {
			a.Hostname = &hostname.String
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("servers with %s: %w", cve, err)
	}
	return out, nil
}

// nilIfEmpty treats an empty scope string like an absent one.
func nilIfEmpty(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

// CreateSuppression validates and stores s, filling ID and CreatedAt
// (when zero). An empty Package or AgentID is stored as absent.
func (co *Core) CreateSuppression(ctx context.Context, s *aip.Suppression) error {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = aip.Time{Time: storeutil.Now()}
	}
	s.CreatedAt = aip.Time{Time: storeutil.Normalize(s.CreatedAt.Time)}
	if !s.ExpiresAt.IsZero() {
		s.ExpiresAt = aip.Time{Time: storeutil.Normalize(s.ExpiresAt.Time)}
	}
	switch {
	case s.CVENumber == "":
		return aip.Errorf(aip.EINVALID, "A suppression needs a cveNumber.")
	case s.Reason == "":
		return aip.Errorf(aip.EINVALID, "A suppression needs a reason.")
	case !s.ExpiresAt.IsZero() && !s.ExpiresAt.After(s.CreatedAt.Time):
		return aip.Errorf(aip.EINVALID, "expiresAt must be after the creation time.")
	}
	s.Package, s.AgentID = nilIfEmpty(s.Package), nilIfEmpty(s.AgentID)
	s.ID = aip.NewUUID()
	var expires sql.NullInt64
	if !s.ExpiresAt.IsZero() {
		expires = sql.NullInt64{Int64: storeutil.ToMillis(s.ExpiresAt.Time), Valid: true}
	}
	_, err := co.write().ExecContext(ctx,
		`INSERT INTO vuln_suppressions (id, org_id, cve, package, agent_id, reason, created_by, created_at, expires_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.OrgID, s.CVENumber, s.Package, s.AgentID, s.Reason, s.CreatedBy, storeutil.ToMillis(s.CreatedAt.Time), expires)
	switch {
	case co.d.IsForeignKey(err):
		return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", s.OrgID)
	case err != nil:
		return fmt.Errorf("create suppression of %s: %w", s.CVENumber, err)
	}
	return nil
}

// ListSuppressions returns orgID's suppressions, expired ones included,
// newest first.
func (co *Core) ListSuppressions(ctx context.Context, orgID string) ([]*aip.Suppression, error) {
	rows, err := co.read().QueryContext(ctx,
		`SELECT id, cve, package, agent_id, reason, created_by, created_at, expires_at
		 FROM vuln_suppressions WHERE org_id = ? ORDER BY created_at DESC, id DESC`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list suppressions of %s: %w", orgID, err)
	}
	defer rows.Close()
	var out []*aip.Suppression
	for rows.Next() {
		var (
			s       = aip.Suppression{OrgID: orgID}
			pkg     sql.NullString
			agent   sql.NullString
			created int64
			expires sql.NullInt64
		)
		if err := rows.Scan(&s.ID, &s.CVENumber, &pkg, &agent, &s.Reason, &s.CreatedBy, &created, &expires); err != nil {
			return nil, fmt.Errorf("scan suppression: %w", err)
		}
		if pkg.Valid {
			s.Package = &pkg.String
		}
		if agent.Valid {
			s.AgentID = &agent.String
		}
		s.CreatedAt = aip.Time{Time: storeutil.FromMillis(created)}
		s.ExpiresAt = aip.Time{Time: storeutil.FromNullMillis(expires)}
		out = append(out, &s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list suppressions of %s: %w", orgID, err)
	}
	return out, nil
}

// DeleteSuppression removes a suppression of orgID; ENOTFOUND when absent.
func (co *Core) DeleteSuppression(ctx context.Context, orgID, id string) error {
	res, err := co.write().ExecContext(ctx, `DELETE FROM vuln_suppressions WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete suppression %s: %w", id, err)
	}
	return WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Suppression %s not found.", id))
}
