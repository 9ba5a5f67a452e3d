package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/aipsec/aip"
)

var _ aip.EC2Store = (*DB)(nil)

// PutEC2Instances upserts instances of orgID by id in one transaction.
// Monitored and Agents are derived when listing, so they are not stored.
// Concurrent imports of the same instance are safe: the upsert is one
// statement per row under ON CONFLICT, the last writer's body wins.
func (db *DB) PutEC2Instances(ctx context.Context, orgID string, instances []*aip.EC2Instance) (int, error) {
	for _, in := range instances {
		if in == nil || in.ID == "" {
			return 0, aip.Errorf(aip.EINVALID, "An EC2 instance needs an id.")
		}
	}
	updated := toMillis(now())
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx,
			`INSERT INTO ec2_instances (org_id, id, body, updated_at) VALUES ($1, $2, $3, $4)
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
				if isForeignKey(err) {
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
func (db *DB) ListEC2Instances(ctx context.Context, orgID string) ([]*aip.EC2Instance, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT body FROM ec2_instances WHERE org_id = $1 ORDER BY id`, orgID)
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
