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

// DeleteRule deletes a rule and its tags.
func (co *Core) DeleteRule(ctx context.Context, orgID, rulesetID, id string) error {
	res, err := co.write().ExecContext(ctx, `DELETE FROM rules WHERE org_id = ? AND ruleset_id = ? AND id = ?`,
		orgID, rulesetID, id)
	if err != nil {
		return fmt.Errorf("delete rule %s: %w", id, err)
	}
	return WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Rule %s not found.", id))
}

// FindRuleTags returns a rule's tags, empty lists when none were set.
func (co *Core) FindRuleTags(ctx context.Context, orgID, ruleID string) (*aip.TagSet, error) {
	var tags sql.NullString
	err := co.read().QueryRowContext(ctx, `SELECT tags FROM rules WHERE org_id = ? AND id = ?`, orgID, ruleID).Scan(&tags)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Rule %s not found.", ruleID)
	} else if err != nil {
		return nil, fmt.Errorf("find tags of rule %s: %w", ruleID, err)
	}
	var ts aip.TagSet
	if tags.Valid {
		if err := json.Unmarshal([]byte(tags.String), &ts); err != nil {
			return nil, fmt.Errorf("decode tags of rule %s: %w", ruleID, err)
		}
	}
	ts.Inclusion, ts.Exclusion = storeutil.NonNil(ts.Inclusion), storeutil.NonNil(ts.Exclusion)
	return &ts, nil
}

// SetRuleTags replaces a rule's tags.
func (co *Core) SetRuleTags(ctx context.Context, orgID, ruleID string, tags aip.TagSet) error {
	tags.Inclusion, tags.Exclusion = storeutil.NonNil(tags.Inclusion), storeutil.NonNil(tags.Exclusion)
	b, err := json.Marshal(tags)
	if err != nil {
		return fmt.Errorf("encode tags of rule %s: %w", ruleID, err)
	}
	res, err := co.write().ExecContext(ctx, `UPDATE rules SET tags = ? WHERE org_id = ? AND id = ?`, string(b), orgID, ruleID)
	if err != nil {
		return fmt.Errorf("set tags of rule %s: %w", ruleID, err)
	}
	return WantOneRow(res, aip.Errorf(aip.ENOTFOUND, "Rule %s not found.", ruleID))
}
