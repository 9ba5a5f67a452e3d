package postgres

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
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			a.ID, a.OrgID, toMillis(a.CreatedAt.Time), toMillis(a.LastReportedAt.Time), sealedKey, a.Name,
			a.Description, a.InstanceID, a.Version, a.Hostname, a.AgentType, a.OSVersion, a.Kernel, host)
		switch {
		case isUnique(err):
			return aip.Errorf(aip.ECONFLICT, "Agent %s already exists.", a.ID)
		case isForeignKey(err):
			// The organization was deleted after orgExists looked.
			return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", a.OrgID)
		case err != nil:
			return fmt.Errorf("create agent %s: %w", a.ID, err)
		}
		return setAgentRulesets(ctx, tx, a.OrgID, a.ID, rulesetIDs)
	})
}

// setAgentRulesets replaces the rulesets of an agent inside tx. Each
// INSERT … SELECT reads the ruleset and the foreign key holds it, so a
// ruleset deleted by another node at the same time either fails the
// insert or cascades the new row away: never a dangling assignment.
func setAgentRulesets(ctx context.Context, tx *sql.Tx, orgID, agentID string, rulesetIDs []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM agent_rulesets WHERE org_id = $1 AND agent_id = $2`, orgID, agentID); err != nil {
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
			SELECT org_id, $1::text, id FROM rulesets WHERE org_id = $2 AND id = $3`, agentID, orgID, id)
		if isForeignKey(err) {
			return aip.Errorf(aip.ENOTFOUND, "Ruleset %s not found.", id)
		} else if err != nil {
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

// SetAgentRulesets replaces the rulesets an agent runs. The agent's row is
// locked (FOR UPDATE) for the transaction, so two nodes replacing the same
// agent's rulesets at once run one after the other instead of both
// deleting and then both inserting (a duplicate key on the second commit).
func (db *DB) SetAgentRulesets(ctx context.Context, orgID, agentID string, rulesetIDs []string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM agents WHERE org_id = $1 AND id = $2 FOR UPDATE`,
			orgID, agentID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", agentID)
		} else if err != nil {
			return fmt.Errorf("check agent %s: %w", agentID, err)
		}
		return setAgentRulesets(ctx, tx, orgID, agentID, rulesetIDs)
	})
}

// FindAgent returns one agent of orgID with its status against onlineSince.
func (db *DB) FindAgent(ctx context.Context, orgID, id string, onlineSince time.Time) (*aip.Agent, error) {
	row := db.sql.QueryRowContext(ctx, rebind(`SELECT `+storeutil.AgentColumns+` FROM agents WHERE org_id = ? AND id = ?`),
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
// its LastReportedAt forward to at. GREATEST inside the one UPDATE keeps
// the time from moving back when two nodes record heartbeats at once.
func (db *DB) RecordHeartbeat(ctx context.Context, orgID, agentID string, h aip.AgentHost, at time.Time) error {
	if !storeutil.ValidAgentType(h.AgentType) {
		return aip.Errorf(aip.EINVALID, "Invalid agentType %q: must be monitor or investigate.", h.AgentType)
	}
	host, err := storeutil.EncodeHost(&h)
	if err != nil {
		return err
	}
	res, err := db.sql.ExecContext(ctx, `
		UPDATE agents SET instance_id = $1, version = $2, hostname = $3, agent_type = $4, os_version = $5,
			kernel = $6, host = $7, last_reported_at = GREATEST(last_reported_at, $8)
		WHERE org_id = $9 AND id = $10 AND revoked_at IS NULL`,
		h.InstanceID, h.Version, h.Hostname, h.AgentType, h.OSVersion, h.Kernel, host, toMillis(at), orgID, agentID)
	if err != nil {
		return fmt.Errorf("record heartbeat of agent %s: %w", agentID, err)
	}
	return sqlcore.WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", agentID))
}
