package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/sqlcore"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// CreateAgent enrolls a with its sealed key and rulesets in one transaction.
func (db *DB) CreateAgent(ctx context.Context, a *aip.Agent, sealedKey []byte, rulesetIDs []string) error {
	host, err := storeutil.PrepareAgent(a, sealedKey)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := orgExists(ctx, tx, a.OrgID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO agents (id, org_id, created_at, last_reported_at, key_sealed, name, description,
				instance_id, version, hostname, agent_type, os_version, kernel, host)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.OrgID, toMillis(a.CreatedAt.Time), toMillis(a.LastReportedAt.Time), sealedKey, a.Name,
			a.Description, a.InstanceID, a.Version, a.Hostname, a.AgentType, a.OSVersion, a.Kernel, host)
		if isUnique(err) {
			return aip.Errorf(aip.ECONFLICT, "Agent %s already exists.", a.ID)
		} else if err != nil {
			return fmt.Errorf("create agent %s: %w", a.ID, err)
		}
		return setAgentRulesets(ctx, tx, a.OrgID, a.ID, rulesetIDs)
	})
}

// orgExists returns ENOTFOUND when the organization does not exist.
func orgExists(ctx context.Context, tx *sql.Tx, orgID string) error {
	var ok bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM organizations WHERE id = ?)`, orgID).Scan(&ok); err != nil {
		return fmt.Errorf("check organization %s: %w", orgID, err)
	}
	if !ok {
		return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", orgID)
	}
	return nil
}

// setAgentRulesets replaces the rulesets of an agent inside tx.
func setAgentRulesets(ctx context.Context, tx *sql.Tx, orgID, agentID string, rulesetIDs []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM agent_rulesets WHERE org_id = ? AND agent_id = ?`, orgID, agentID); err != nil {
		return fmt.Errorf("clear rulesets of agent %s: %w", agentID, err)
	}
	seen := make(map[string]bool, len(rulesetIDs))
	for _, id := range rulesetIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		res, err := tx.ExecContext(ctx, `
			INSERT INTO agent_rulesets (org_id, agent_id, ruleset_id)
			SELECT org_id, ?, id FROM rulesets WHERE org_id = ? AND id = ?`, agentID, orgID, id)
		if err != nil {
			return fmt.Errorf("assign ruleset %s to agent %s: %w", id, agentID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("assign ruleset %s to agent %s: %w", id, agentID, err)
		} else if n == 0 {
			return aip.Errorf(aip.ENOTFOUND, "Ruleset %s not found.", id)
		}
	}
	return nil
}

// SetAgentRulesets replaces the rulesets an agent runs.
func (db *DB) SetAgentRulesets(ctx context.Context, orgID, agentID string, rulesetIDs []string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var ok bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM agents WHERE org_id = ? AND id = ?)`,
			orgID, agentID).Scan(&ok)
		if err != nil {
			return fmt.Errorf("check agent %s: %w", agentID, err)
		} else if !ok {
			return aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", agentID)
		}
		return setAgentRulesets(ctx, tx, orgID, agentID, rulesetIDs)
	})
}

// FindAgent returns one agent of orgID with its status against onlineSince.
func (db *DB) FindAgent(ctx context.Context, orgID, id string, onlineSince time.Time) (*aip.Agent, error) {
	row := db.read.QueryRowContext(ctx, `SELECT `+storeutil.AgentColumns+` FROM agents WHERE org_id = ? AND id = ?`,
		ceilMillis(onlineSince), orgID, id)
	a, err := storeutil.ScanAgent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find agent %s: %w", id, err)
	}
	return a, nil
}

// RecordHeartbeat replaces the host details of a working agent and moves
// its LastReportedAt forward to at.
func (db *DB) RecordHeartbeat(ctx context.Context, orgID, agentID string, h aip.AgentHost, at time.Time) error {
	if !storeutil.ValidAgentType(h.AgentType) {
		return aip.Errorf(aip.EINVALID, "Invalid agentType %q: must be monitor or investigate.", h.AgentType)
	}
	host, err := storeutil.EncodeHost(&h)
	if err != nil {
		return err
	}
	res, err := db.write.ExecContext(ctx, `
		UPDATE agents SET instance_id = ?, version = ?, hostname = ?, agent_type = ?, os_version = ?,
			kernel = ?, host = ?, last_reported_at = max(last_reported_at, ?)
		WHERE org_id = ? AND id = ? AND revoked_at IS NULL`,
		h.InstanceID, h.Version, h.Hostname, h.AgentType, h.OSVersion, h.Kernel, host, toMillis(at), orgID, agentID)
	if err != nil {
		return fmt.Errorf("record heartbeat of agent %s: %w", agentID, err)
	}
	return sqlcore.WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", agentID))
}
