package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/sqlcore"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// queryer is what reads need of *sql.DB and *sql.Tx alike.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// CreateRuleset stores rs, moving the rules of rs.Rules into it.
func (db *DB) CreateRuleset(ctx context.Context, rs *aip.Ruleset) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertRuleset(ctx, tx, rs); err != nil {
			return err
		}
		if err := moveRules(ctx, tx, rs.OrgID, rs.ID, rs.Rules, toMillis(rs.CreatedAt.Time)); err != nil {
			return err
		}
		return loadRuleset(ctx, tx, rs)
	})
}

// CreateRulesetWithRules stores rs and rules in one transaction.
func (db *DB) CreateRulesetWithRules(ctx context.Context, rs *aip.Ruleset, rules []*aip.Rule) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertRuleset(ctx, tx, rs); err != nil {
			return err
		}
		for _, r := range rules {
			r.OrgID, r.RulesetID = rs.OrgID, rs.ID
			if err := insertRule(ctx, tx, r); err != nil {
				return err
			}
		}
		return loadRuleset(ctx, tx, rs)
	})
}

func insertRuleset(ctx context.Context, tx *sql.Tx, rs *aip.Ruleset) error {
	if err := orgExists(ctx, tx, rs.OrgID); err != nil {
		return err
	}
	if rs.ID == "" {
		rs.ID = aip.NewUUID()
	}
	rs.CreatedAt = aip.Time{Time: now()}
	rs.UpdatedAt = rs.CreatedAt
	_, err := tx.ExecContext(ctx, `
		INSERT INTO rulesets (id, org_id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		rs.ID, rs.OrgID, rs.Name, rs.Description, toMillis(rs.CreatedAt.Time), toMillis(rs.UpdatedAt.Time))
	if err != nil {
		return rulesetWriteError(err, rs)
	}
	return nil
}

// rulesetWriteError maps a failed insert or update of rs.
func rulesetWriteError(err error, rs *aip.Ruleset) error {
	if isUnique(err) {
		if strings.Contains(err.Error(), "rulesets.name") {
			return aip.Errorf(aip.ECONFLICT, "A ruleset named %q already exists.", rs.Name)
		}
		return aip.Errorf(aip.ECONFLICT, "Ruleset %s already exists.", rs.ID)
	}
	return fmt.Errorf("write ruleset %s: %w", rs.ID, err)
}

// moveRules moves the named rules of orgID into ruleset rulesetID.
func moveRules(ctx context.Context, tx *sql.Tx, orgID, rulesetID string, ruleIDs []string, at int64) error {
	for _, id := range ruleIDs {
		res, err := tx.ExecContext(ctx, `
			UPDATE rules SET ruleset_id = ?,
				updated_at = CASE WHEN ruleset_id = ? THEN updated_at ELSE ? END
			WHERE org_id = ? AND id = ?`, rulesetID, rulesetID, at, orgID, id)
		if err != nil {
			return fmt.Errorf("move rule %s: %w", id, err)
		}
		if err := sqlcore.WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Rule %s not found.", id)); err != nil {
			return err
		}
	}
	return nil
}

// loadRuleset refreshes rs from the database, members included.
func loadRuleset(ctx context.Context, q queryer, rs *aip.Ruleset) error {
	got, err := findRuleset(ctx, q, `org_id = ? AND id = ?`, rs.OrgID, rs.ID)
	if err != nil {
		return err
	}
	*rs = *got
	return nil
}

// findRuleset reads the one ruleset matching where, with its members.
func findRuleset(ctx context.Context, q queryer, where string, args ...any) (*aip.Ruleset, error) {
	rs, err := storeutil.ScanRuleset(q.QueryRowContext(ctx, `SELECT `+storeutil.RulesetColumns+` FROM rulesets WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Ruleset not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find ruleset: %w", err)
	}
	if err := fillMembers(ctx, q, rs.OrgID, map[string]*aip.Ruleset{rs.ID: rs}, rs.ID); err != nil {
		return nil, err
	}
	return rs, nil
}

// fillMembers sets Rules and Agents of the rulesets in byID: of rulesetID
// alone, or with "" of every ruleset of orgID.
func fillMembers(ctx context.Context, q queryer, orgID string, byID map[string]*aip.Ruleset, rulesetID string) error {
	filter, args := ``, []any{orgID}
	if rulesetID != "" {
		filter, args = ` AND ruleset_id = ?`, append(args, rulesetID)
	}
	for _, m := range []struct {
		query string
		add   func(rs *aip.Ruleset, id string)
	}{
		{`SELECT ruleset_id, id FROM rules WHERE org_id = ?` + filter + ` ORDER BY created_at, rowid`,
			func(rs *aip.Ruleset, id string) { rs.Rules = append(rs.Rules, id) }},
		{`SELECT ruleset_id, agent_id FROM agent_rulesets WHERE org_id = ?` + filter + ` ORDER BY agent_id`,
			func(rs *aip.Ruleset, id string) { rs.Agents = append(rs.Agents, id) }},
	} {
		rows, err := q.QueryContext(ctx, m.query, args...)
		if err != nil {
			return fmt.Errorf("list ruleset members: %w", err)
		}
		for rows.Next() {
			var rsID, id string
			if err := rows.Scan(&rsID, &id); err != nil {
				rows.Close()
				return fmt.Errorf("list ruleset members: %w", err)
			}
			if rs := byID[rsID]; rs != nil {
				m.add(rs, id)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("list ruleset members: %w", err)
		}
	}
	return nil
}

// FindRuleset returns one ruleset with its rules and agents.
func (db *DB) FindRuleset(ctx context.Context, orgID, id string) (*aip.Ruleset, error) {
	rs, err := findRuleset(ctx, db.read, `org_id = ? AND id = ?`, orgID, id)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		return nil, aip.Errorf(aip.ENOTFOUND, "Ruleset %s not found.", id)
	}
	return rs, err
}

// FindRulesetByName returns the ruleset called name.
func (db *DB) FindRulesetByName(ctx context.Context, orgID, name string) (*aip.Ruleset, error) {
	rs, err := findRuleset(ctx, db.read, `org_id = ? AND name = ?`, orgID, name)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		return nil, aip.Errorf(aip.ENOTFOUND, "Ruleset %q not found.", name)
	}
	return rs, err
}

// ListRulesets returns the rulesets of orgID in creation order, or with
// agentID those the agent runs.
func (db *DB) ListRulesets(ctx context.Context, orgID, agentID string) ([]*aip.Ruleset, error) {
	q := `SELECT ` + storeutil.RulesetColumns + ` FROM rulesets WHERE org_id = ?`
	args := []any{orgID}
	if agentID != "" {
		var ok bool
		err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM agents WHERE org_id = ? AND id = ?)`,
			orgID, agentID).Scan(&ok)
		if err != nil {
			return nil, fmt.Errorf("check agent %s: %w", agentID, err)
		} else if !ok {
			return nil, aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", agentID)
		}
		q += ` AND id IN (SELECT ruleset_id FROM agent_rulesets WHERE org_id = ? AND agent_id = ?)`
		args = append(args, orgID, agentID)
	}
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY created_at, rowid`, args...)
	if err != nil {
		return nil, fmt.Errorf("list rulesets of organization %s: %w", orgID, err)
	}
	defer rows.Close()
	out := []*aip.Ruleset{}
	byID := map[string]*aip.Ruleset{}
	for rows.Next() {
		rs, err := storeutil.ScanRuleset(rows)
		if err != nil {
			return nil, fmt.Errorf("list rulesets of organization %s: %w", orgID, err)
		}
		out = append(out, rs)
		byID[rs.ID] = rs
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list rulesets of organization %s: %w", orgID, err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	if err := fillMembers(ctx, db.read, orgID, byID, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateRuleset replaces name and description and moves rs.Rules into it.
func (db *DB) UpdateRuleset(ctx context.Context, rs *aip.Ruleset) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		at := toMillis(now())
		res, err := tx.ExecContext(ctx, `
			UPDATE rulesets SET name = ?, description = ?, updated_at = max(updated_at, ?)
			WHERE org_id = ? AND id = ?`, rs.Name, rs.Description, at, rs.OrgID, rs.ID)
		if err != nil {
			return rulesetWriteError(err, rs)
		}
		if err := sqlcore.WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Ruleset %s not found.", rs.ID)); err != nil {
			return err
		}
		if err := moveRules(ctx, tx, rs.OrgID, rs.ID, rs.Rules, at); err != nil {
			return err
		}
		return loadRuleset(ctx, tx, rs)
	})
}

// DeleteRuleset deletes a ruleset with its rules and returns its agents.
func (db *DB) DeleteRuleset(ctx context.Context, orgID, id string) ([]string, error) {
	agents := []string{}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx,
			`SELECT agent_id FROM agent_rulesets WHERE org_id = ? AND ruleset_id = ? ORDER BY agent_id`, orgID, id)
		if err != nil {
			return fmt.Errorf("list agents of ruleset %s: %w", id, err)
		}
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				rows.Close()
				return fmt.Errorf("list agents of ruleset %s: %w", id, err)
			}
			agents = append(agents, a)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("list agents of ruleset %s: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM rulesets WHERE org_id = ? AND id = ?`, orgID, id)
		if err != nil {
			return fmt.Errorf("delete ruleset %s: %w", id, err)
		}
		return sqlcore.WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Ruleset %s not found.", id))
	})
	if err != nil {
		return nil, err
	}
	return agents, nil
}

// insertRule stores r inside tx, filling ID and the timestamps.
func insertRule(ctx context.Context, tx *sql.Tx, r *aip.Rule) error {
	if r.ID == "" {
		r.ID = aip.NewUUID()
	}
	spec, err := storeutil.EncodeRuleSpec(r)
	if err != nil {
		return err
	}
	r.CreatedAt = aip.Time{Time: now()}
	r.UpdatedAt = r.CreatedAt
	// As a read would return them: lists encode as [], never null.
	r.AggregateFields, r.Suppressions = storeutil.NonNil(r.AggregateFields), storeutil.NonNil(r.Suppressions)
	_, err = tx.ExecContext(ctx, `
		INSERT INTO rules (id, org_id, ruleset_id, name, type, title, severity, alert_description, filter_expr,
			window_secs, threshold, enabled, spec, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.RulesetID, r.Name, r.Type, r.Title, r.SeverityOfAlerts, r.AlertDescription, r.Filter,
		r.Window, r.Threshold, r.Enabled, spec, toMillis(r.CreatedAt.Time), toMillis(r.UpdatedAt.Time))
	switch {
	case isForeignKey(err):
		return aip.Errorf(aip.ENOTFOUND, "Ruleset %s not found.", r.RulesetID)
	case isUnique(err):
		return aip.Errorf(aip.ECONFLICT, "Rule %s already exists.", r.ID)
	case err != nil:
		return fmt.Errorf("create rule %s: %w", r.ID, err)
	}
	return nil
}

// CreateRule stores r in ruleset r.RulesetID.
func (db *DB) CreateRule(ctx context.Context, r *aip.Rule) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return insertRule(ctx, tx, r) })
}

func findRule(ctx context.Context, q queryer, orgID, rulesetID, id string) (*aip.Rule, error) {
	query, args := `SELECT `+storeutil.RuleColumns+` FROM rules WHERE org_id = ? AND id = ?`, []any{orgID, id}
	if rulesetID != "" {
		query, args = query+` AND ruleset_id = ?`, append(args, rulesetID)
	}
	r, err := storeutil.ScanRule(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Rule %s not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find rule %s: %w", id, err)
	}
	return r, nil
}

// FindRule returns one rule; rulesetID "" matches any ruleset.
func (db *DB) FindRule(ctx context.Context, orgID, rulesetID, id string) (*aip.Rule, error) {
	return findRule(ctx, db.read, orgID, rulesetID, id)
}

// ListRules returns the rules of a ruleset, or with "" of the organization,
// in creation order.
func (db *DB) ListRules(ctx context.Context, orgID, rulesetID string) ([]*aip.Rule, error) {
	q, args := `SELECT `+storeutil.RuleColumns+` FROM rules WHERE org_id = ?`, []any{orgID}
	if rulesetID != "" {
		var ok bool
		err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM rulesets WHERE org_id = ? AND id = ?)`,
			orgID, rulesetID).Scan(&ok)
		if err != nil {
			return nil, fmt.Errorf("check ruleset %s: %w", rulesetID, err)
		} else if !ok {
			return nil, aip.Errorf(aip.ENOTFOUND, "Ruleset %s not found.", rulesetID)
		}
		q, args = q+` AND ruleset_id = ?`, append(args, rulesetID)
	}
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY created_at, rowid`, args...)
	if err != nil {
		return nil, fmt.Errorf("list rules of organization %s: %w", orgID, err)
	}
	defer rows.Close()
	out := []*aip.Rule{}
	for rows.Next() {
		r, err := storeutil.ScanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("list rules of organization %s: %w", orgID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list rules of organization %s: %w", orgID, err)
	}
	return out, nil
}

// UpdateRule replaces every writable field of a rule.
func (db *DB) UpdateRule(ctx context.Context, r *aip.Rule) error {
	spec, err := storeutil.EncodeRuleSpec(r)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE rules SET name = ?, type = ?, title = ?, severity = ?, alert_description = ?, filter_expr = ?,
				window_secs = ?, threshold = ?, enabled = ?, spec = ?, updated_at = max(updated_at, ?)
			WHERE org_id = ? AND ruleset_id = ? AND id = ?`,
			r.Name, r.Type, r.Title, r.SeverityOfAlerts, r.AlertDescription, r.Filter, r.Window, r.Threshold,
			r.Enabled, spec, toMillis(now()), r.OrgID, r.RulesetID, r.ID)
		if err != nil {
			return fmt.Errorf("update rule %s: %w", r.ID, err)
		}
		if err := sqlcore.WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Rule %s not found.", r.ID)); err != nil {
			return err
		}
		got, err := findRule(ctx, tx, r.OrgID, r.RulesetID, r.ID)
		if err != nil {
			return err
		}
		*r = *got
		return nil
	})
}
