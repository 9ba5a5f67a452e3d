package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

var _ aip.VulnStore = (*DB)(nil)

// Rows per multi-row INSERT of the advisory import: few statements per
// batch, well below SQLite's limit of 32766 bound variables.
const (
	advisoryRowsPerInsert = 100
	packageRowsPerInsert  = 200
)

// PutInventory replaces the inventory of inv.AgentID and its index of
// advisory names in one transaction; an identical snapshot (same content
// hash) is left alone and reported unchanged.
func (db *DB) PutInventory(ctx context.Context, inv *aip.Inventory) (bool, error) {
	pkgs, sum, err := storeutil.EncodeInventory(inv)
	if err != nil {
		return false, err
	}
	if inv.UpdatedAt.IsZero() {
		inv.UpdatedAt = now()
	}
	inv.UpdatedAt = normalize(inv.UpdatedAt)

	changed := false
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM agents WHERE org_id = ? AND id = ?`, inv.OrgID, inv.AgentID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", inv.AgentID)
		} else if err != nil {
			return fmt.Errorf("find agent: %w", err)
		}
		var old []byte
		err = tx.QueryRowContext(ctx, `SELECT content_hash FROM inventories WHERE org_id = ? AND agent_id = ?`,
			inv.OrgID, inv.AgentID).Scan(&old)
		switch {
		case err == nil && bytes.Equal(old, sum):
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("find inventory: %w", err)
		}
		changed = true
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO inventories (org_id, agent_id, ecosystem, distro, release, content_hash, packages, updated_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (org_id, agent_id) DO UPDATE SET ecosystem = excluded.ecosystem, distro = excluded.distro,
			   release = excluded.release, content_hash = excluded.content_hash, packages = excluded.packages,
			   updated_at = excluded.updated_at`,
			inv.OrgID, inv.AgentID, inv.Ecosystem, inv.Distro, inv.Release, sum, string(pkgs), toMillis(inv.UpdatedAt)); err != nil {
			return fmt.Errorf("store inventory: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM inventory_packages WHERE org_id = ? AND agent_id = ?`,
			inv.OrgID, inv.AgentID); err != nil {
			return fmt.Errorf("clear package index: %w", err)
		}
		ins := storeutil.NewMultiInsert(tx, storeutil.QuestionMark, `INSERT INTO inventory_packages (org_id, agent_id, ecosystem, distro, release, name) VALUES `, 6, packageRowsPerInsert)
		defer ins.Close()
		for _, n := range storeutil.IndexNames(inv) {
			if err := ins.Add(ctx, inv.OrgID, inv.AgentID, inv.Ecosystem, inv.Distro, inv.Release, n); err != nil {
				return fmt.Errorf("index packages: %w", err)
			}
		}
		if err := ins.Flush(ctx); err != nil {
			return fmt.Errorf("index packages: %w", err)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("put inventory of agent %s: %w", inv.AgentID, err)
	}
	return changed, nil
}

// UpsertAdvisories stores advisories in one transaction. Known ids are
// compared by content hash (one query per batch), so that a re-import of
// the same data writes nothing; a changed advisory has its package index
// rows replaced. When advs names an id twice, the last one counts.
// Modified is stored at millisecond precision.
func (db *DB) UpsertAdvisories(ctx context.Context, advs []*aip.Advisory) (aip.AdvisoryImport, []string, error) {
	var imp aip.AdvisoryImport
	if len(advs) == 0 {
		return imp, nil, nil
	}
	encs, ids, err := storeutil.EncodeAdvisories(advs)
	if err != nil {
		return imp, nil, err
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return imp, nil, fmt.Errorf("encode advisory ids: %w", err)
	}

	var changedIDs []string
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		imp = aip.AdvisoryImport{}
		changedIDs = nil
		known := make(map[string][]byte, len(encs))
		rows, err := tx.QueryContext(ctx,
			`SELECT a.id, a.content_hash FROM json_each(?) j CROSS JOIN advisories a ON a.id = j.value`, string(idsJSON))
		if err != nil {
			return fmt.Errorf("find known advisories: %w", err)
		}
		for rows.Next() {
			var (
				id  string
				sum []byte
			)
			if err := rows.Scan(&id, &sum); err != nil {
				rows.Close()
				return fmt.Errorf("scan advisory hash: %w", err)
			}
			known[id] = sum
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find known advisories: %w", err)
		}

		advIns := storeutil.NewMultiInsert(tx, storeutil.QuestionMark, `INSERT INTO advisories (id, modified, content_hash, body) VALUES `, 4, advisoryRowsPerInsert)
		defer advIns.Close()
		pkgIns := storeutil.NewMultiInsert(tx, storeutil.QuestionMark, `INSERT INTO advisory_packages (ecosystem, distro, release, name, advisory_id, ranges, versions) VALUES `, 7, packageRowsPerInsert)
		defer pkgIns.Close()
		var update, clear *sql.Stmt
		defer func() {
			for _, st := range []*sql.Stmt{update, clear} {
				if st != nil {
					_ = st.Close()
				}
			}
		}()
		for _, e := range encs {
			id := e.Adv.ID
			old, ok := known[id]
			switch {
			case ok && bytes.Equal(old, e.Sum):
				imp.Unchanged++
				continue
			case ok:
				if update == nil {
					if update, err = tx.PrepareContext(ctx,
						`UPDATE advisories SET modified = ?, content_hash = ?, body = ? WHERE id = ?`); err != nil {
						return fmt.Errorf("prepare update: %w", err)
					}
					if clear, err = tx.PrepareContext(ctx, `DELETE FROM advisory_packages WHERE advisory_id = ?`); err != nil {
						return fmt.Errorf("prepare delete: %w", err)
					}
				}
				if _, err := update.ExecContext(ctx, toMillis(e.Adv.Modified), e.Sum, string(e.Body), id); err != nil {
					return fmt.Errorf("update advisory %s: %w", id, err)
				}
				if _, err := clear.ExecContext(ctx, id); err != nil {
					return fmt.Errorf("clear packages of advisory %s: %w", id, err)
				}
				imp.Updated++
			default:
				if err := advIns.Add(ctx, id, toMillis(e.Adv.Modified), e.Sum, string(e.Body)); err != nil {
					return fmt.Errorf("insert advisories: %w", err)
				}
				imp.Added++
			}
			changedIDs = append(changedIDs, id)
			for _, p := range storeutil.MergeAffected(e.Adv.Affected) {
				if err := pkgIns.Add(ctx, p.Ecosystem, p.Distro, p.Release, p.Name, id, storeutil.EncodeRanges(p.Ranges, unstorable), storeutil.EncodeList(p.Versions, unstorable)); err != nil {
					return fmt.Errorf("index advisory packages: %w", err)
				}
			}
		}
		if err := advIns.Flush(ctx); err != nil {
			return fmt.Errorf("insert advisories: %w", err)
		}
		if err := pkgIns.Flush(ctx); err != nil {
			return fmt.Errorf("index advisory packages: %w", err)
		}
		if len(changedIDs) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE vulndb_state SET generation = generation + 1 WHERE id = 1`); err != nil {
				return fmt.Errorf("bump advisory generation: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return aip.AdvisoryImport{}, nil, fmt.Errorf("upsert %d advisories: %w", len(encs), err)
	}
	return imp, changedIDs, nil
}

// AdvisoriesFor returns, ordered by id and each once, the advisories with
// an affected entry for one of keys: the ids from the in-memory package
// index, then the advisories whole.
func (db *DB) AdvisoriesFor(ctx context.Context, keys []aip.PackageKey) ([]*aip.Advisory, error) {
	skeletons, err := db.AffectedFor(ctx, keys)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(skeletons))
	for i, a := range skeletons {
		ids[i] = a.ID
	}
	return db.AdvisoriesByID(ctx, ids)
}

// AgentsAffectedBy joins the advisories' package index with the
// inventories' on (ecosystem, distro, name, release or any release).
// The pairs come ordered by organization, then agent.
func (db *DB) AgentsAffectedBy(ctx context.Context, advisoryIDs []string) ([]aip.AgentRef, error) {
	if len(advisoryIDs) == 0 {
		return nil, nil
	}
	arg, err := json.Marshal(advisoryIDs)
	if err != nil {
		return nil, fmt.Errorf("encode advisory ids: %w", err)
	}
	rows, err := db.read.QueryContext(ctx,
		`SELECT DISTINCT ip.org_id, ip.agent_id
		 FROM json_each(?) j
		 CROSS JOIN advisory_packages ap
		 CROSS JOIN inventory_packages ip
		 WHERE ap.advisory_id = j.value
		   AND ip.ecosystem = ap.ecosystem AND ip.distro = ap.distro AND ip.name = ap.name
		   AND (ap.release = '' OR ip.release = ap.release)
		 UNION
		 SELECT m.org_id, m.agent_id
		 FROM json_each(?) j CROSS JOIN vuln_matches m
		 WHERE m.advisory_id = j.value AND m.resolved_at IS NULL
		 ORDER BY 1, 2`, string(arg), string(arg))
	if err != nil {
		return nil, fmt.Errorf("agents affected by %d advisories: %w", len(advisoryIDs), err)
	}
	defer rows.Close()
	var out []aip.AgentRef
	for rows.Next() {
		var r aip.AgentRef
		if err := rows.Scan(&r.OrgID, &r.AgentID); err != nil {
			return nil, fmt.Errorf("scan agent: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("agents affected by %d advisories: %w", len(advisoryIDs), err)
	}
	return out, nil
}

// matchKey identifies a match of one agent.
type matchKey struct{ cve, systemPackage string }

// ReplaceVulnMatches upserts matches and resolves the agent's other
// active ones in one transaction. A resolved match that matches again
// becomes active again and keeps its FirstSeenAt. ENOTFOUND for an agent
// unknown in orgID.
func (db *DB) ReplaceVulnMatches(ctx context.Context, orgID, agentID string, matches []*aip.VulnMatch, at time.Time) error {
	ms := toMillis(at)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM agents WHERE org_id = ? AND id = ?`, orgID, agentID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", agentID)
		} else if err != nil {
			return fmt.Errorf("find agent: %w", err)
		}
		current := make(map[matchKey]bool, len(matches))
		if len(matches) > 0 {
			st, err := tx.PrepareContext(ctx,
				`INSERT INTO vuln_matches (org_id, agent_id, cve, system_package, package, reported_package, advisory_id,
				   severity, vector_type, notices, first_seen_at, last_seen_at)
				 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				 ON CONFLICT (org_id, agent_id, cve, system_package) DO UPDATE SET package = excluded.package,
				   reported_package = excluded.reported_package, advisory_id = excluded.advisory_id,
				   severity = excluded.severity, vector_type = excluded.vector_type, notices = excluded.notices,
				   last_seen_at = excluded.last_seen_at, resolved_at = NULL`)
			if err != nil {
				return fmt.Errorf("prepare upsert: %w", err)
			}
			defer st.Close()
			for _, m := range matches {
				notices, err := json.Marshal(storeutil.NonNil(m.SecurityNotices))
				if err != nil {
					return fmt.Errorf("encode notices of %s: %w", m.CVE, err)
				}
				if _, err := st.ExecContext(ctx, orgID, agentID, m.CVE, m.SystemPackage, m.Package, m.ReportedPackage,
					m.AdvisoryID, m.Severity, m.VectorType, string(notices), ms, ms); err != nil {
					return fmt.Errorf("store match %s in %s: %w", m.CVE, m.SystemPackage, err)
				}
				current[matchKey{m.CVE, m.SystemPackage}] = true
			}
		}
		rows, err := tx.QueryContext(ctx,
			`SELECT cve, system_package FROM vuln_matches WHERE org_id = ? AND agent_id = ? AND resolved_at IS NULL`,
			orgID, agentID)
		if err != nil {
			return fmt.Errorf("active matches: %w", err)
		}
		var gone []matchKey
		for rows.Next() {
			var k matchKey
			if err := rows.Scan(&k.cve, &k.systemPackage); err != nil {
				rows.Close()
				return fmt.Errorf("scan match: %w", err)
			}
			if !current[k] {
				gone = append(gone, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("active matches: %w", err)
		}
		for _, k := range gone {
			if _, err := tx.ExecContext(ctx,
				`UPDATE vuln_matches SET resolved_at = ? WHERE org_id = ? AND agent_id = ? AND cve = ? AND system_package = ?`,
				ms, orgID, agentID, k.cve, k.systemPackage); err != nil {
				return fmt.Errorf("resolve %s in %s: %w", k.cve, k.systemPackage, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace matches of agent %s: %w", agentID, err)
	}
	return nil
}

// ListVulnerabilities groups the match rows of f by (CVE, SystemPackage):
// storeutil.VulnQuery and storeutil.GroupVulnerabilities say how.
func (db *DB) ListVulnerabilities(ctx context.Context, f aip.VulnFilter) ([]*aip.Vulnerability, error) {
	q, args, err := storeutil.VulnQuery(f, `json_array_length(m.notices)`)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list vulnerabilities of %s: %w", f.OrgID, err)
	}
	defer rows.Close()
	out, err := storeutil.GroupVulnerabilities(rows, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list vulnerabilities of %s: %w", f.OrgID, err)
	}
	return out, nil
}
