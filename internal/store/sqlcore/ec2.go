package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// PutEC2Instances upserts instances of orgID by id in one transaction.
// Monitored and Agents are derived when listing, so they are not stored.
func (co *Core) PutEC2Instances(ctx context.Context, orgID string, instances []*aip.EC2Instance) (int, error) {
	for _, in := range instances {
		if in == nil || in.ID == "" {
			return 0, aip.Errorf(aip.EINVALID, "An EC2 instance needs an id.")
		}
	}
	updated := storeutil.ToMillis(storeutil.Now())
	err := co.inTx(ctx, func(tx Queryer) error {
		st, err := tx.PrepareContext(ctx,
			`INSERT INTO ec2_instances (org_id, id, body, updated_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT (org_id, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`)
		if err != nil {
			return fmt.Errorf("prepare upsert: %w", err)
		}
		defer st.Close()
		for _, in := range instances {
			c := *in
			c.Monitored, c.Agents = false, nil
			body, err := json.Marshal(&c)
			if err != nil {
				return fmt.Errorf("encode instance %s: %w", in.ID, err)
			}
			if _, err := st.ExecContext(ctx, orgID, in.ID, string(body), updated); err != nil {
				if co.d.IsForeignKey(err) {
					return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", orgID)
				}
				return fmt.Errorf("store instance %s: %w", in.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("put EC2 instances of %s: %w", orgID, err)
	}
	return len(instances), nil
}

// ListEC2Instances returns every imported instance of orgID, by id.
func (co *Core) ListEC2Instances(ctx context.Context, orgID string) ([]*aip.EC2Instance, error) {
	rows, err := co.read().QueryContext(ctx, `SELECT body FROM ec2_instances WHERE org_id = ? ORDER BY id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list EC2 instances of %s: %w", orgID, err)
	}
	defer rows.Close()
	var out []*aip.EC2Instance
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("scan EC2 instance: %w", err)
		}
		var in aip.EC2Instance
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("decode EC2 instance: %w", err)
		}
		in.OrgID = orgID
		out = append(out, &in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list EC2 instances of %s: %w", orgID, err)
	}
	return out, nil
}
