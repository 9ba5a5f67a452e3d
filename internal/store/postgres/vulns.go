package postgres

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

// Rows per multi-row INSERT of the advisory import: few round trips per
// import, well below PostgreSQL's limit of 65535 parameters a statement
// (4 × 1000 and 7 × 2000).
const (
	advisoryRowsPerInsert = 1000
	packageRowsPerInsert  = 2000
)

// lockAgent serializes, per agent, the transactions that read an agent's
// rows of one kind and then rewrite them (PutInventory compares the content
// hash and rebuilds the package index; ReplaceVulnMatches resolves the
// matches it did not upsert): two nodes doing it at once would otherwise
// both see the old state. kind names the lock space.
func lockAgent(ctx context.Context, tx *sql.Tx, kind, orgID, agentID string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2 || '/' || $3))`,
		kind, orgID, agentID); err != nil {
		return fmt.Errorf("lock agent %s: %w", agentID, err)
	}
	return nil
}

// agentExists returns ENOTFOUND unless the agent exists in orgID.
func agentExists(ctx context.Context, tx *sql.Tx, orgID, agentID string) error {
	var ok bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM agents WHERE org_id = $1 AND id = $2)`,
		orgID, agentID).Scan(&ok); err != nil {
		return fmt.Errorf("find agent: %w", err)
	}
	if !ok {
		return aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", agentID)
	}
	return nil
}

// PutInventory replaces the inventory of inv.AgentID and its index of
// advisory names in one transaction; an identical snapshot (same content
// hash) is left alone and reported unchanged. Concurrent puts for one
// agent are serialized by an advisory lock (lockAgent).
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
		changed = false
		if err := lockAgent(ctx, tx, "aip.inventory", inv.OrgID, inv.AgentID); err != nil {
			return err
		}
		if err := agentExists(ctx, tx, inv.OrgID, inv.AgentID); err != nil {
			return err
		}
		var old []byte
		err := tx.QueryRowContext(ctx, `SELECT content_hash FROM inventories WHERE org_id = $1 AND agent_id = $2`,
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
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			 ON CONFLICT (org_id, agent_id) DO UPDATE SET ecosystem = excluded.ecosystem, distro = excluded.distro,
			   release = excluded.release, content_hash = excluded.content_hash, packages = excluded.packages,
			   updated_at = excluded.updated_at`,
			inv.OrgID, inv.AgentID, inv.Ecosystem, inv.Distro, inv.Release, sum, string(pkgs), toMillis(inv.UpdatedAt)); err != nil {
			if isForeignKey(err) { // the agent was deleted since the check
				return aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", inv.AgentID)
			}
			return fmt.Errorf("store inventory: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM inventory_packages WHERE org_id = $1 AND agent_id = $2`,
			inv.OrgID, inv.AgentID); err != nil {
			return fmt.Errorf("clear package index: %w", err)
		}
		ins := storeutil.NewMultiInsert(tx, storeutil.Dollar, `INSERT INTO inventory_packages (org_id, agent_id, ecosystem, distro, release, name) VALUES `, 6, packageRowsPerInsert)
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
// the same data writes nothing; a changed advisory is replaced whole, with
// its package index rows. When advs names an id twice, the last one counts.
// Modified is stored at millisecond precision. Imports are serialized by
// locking the vulndb_state row first: two nodes importing the same new
// advisory would otherwise both insert it.
func (db *DB) UpsertAdvisories(ctx context.Context, advs []*aip.Advisory) (aip.AdvisoryImport, []string, error) {
	var imp aip.AdvisoryImport
	if len(advs) == 0 {
		return imp, nil, nil
	}
	encs, ids, err := storeutil.EncodeAdvisories(advs)
	if err != nil {
		return imp, nil, err
	}

	var changedIDs []string
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		imp = aip.AdvisoryImport{}
		changedIDs = nil
		if _, err := tx.ExecContext(ctx, `SELECT generation FROM vulndb_state WHERE id = 1 FOR UPDATE`); err != nil {
			return fmt.Errorf("lock advisory database: %w", err)
		}
		known := make(map[string][]byte, len(encs))
		rows, err := tx.QueryContext(ctx,
			`SELECT id, content_hash FROM advisories WHERE id = ANY ($1::text[])`, ids)
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

		// A changed advisory is deleted and inserted again with the new
		// ones, so that updates are batched like additions instead of
		// costing two statements each.
		var changed []storeutil.EncodedAdvisory
		var replaced []string
		for _, e := range encs {
			old, ok := known[e.Adv.ID]
			switch {
			case ok && bytes.Equal(old, e.Sum):
				imp.Unchanged++
				continue
			case ok:
				replaced = append(replaced, e.Adv.ID)
				imp.Updated++
			default:
				imp.Added++
			}
			changed = append(changed, e)
			changedIDs = append(changedIDs, e.Adv.ID)
		}
		if len(replaced) > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM advisories WHERE id = ANY ($1::text[])`, replaced); err != nil {
				return fmt.Errorf("clear changed advisories: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM advisory_packages WHERE advisory_id = ANY ($1::text[])`, replaced); err != nil {
				return fmt.Errorf("clear packages of changed advisories: %w", err)
			}
		}
		advIns := storeutil.NewMultiInsert(tx, storeutil.Dollar, `INSERT INTO advisories (id, modified, content_hash, body) VALUES `, 4, advisoryRowsPerInsert)
		defer advIns.Close()
		pkgIns := storeutil.NewMultiInsert(tx, storeutil.Dollar, `INSERT INTO advisory_packages (ecosystem, distro, release, name, advisory_id, ranges, versions) VALUES `, 7, packageRowsPerInsert)
		defer pkgIns.Close()
		for _, e := range changed {
			id := e.Adv.ID
			if err := advIns.Add(ctx, id, toMillis(e.Adv.Modified), e.Sum, string(e.Body)); err != nil {
				return fmt.Errorf("insert advisories: %w", err)
			}
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
	rows, err := db.sql.QueryContext(ctx,
		`SELECT DISTINCT ip.org_id, ip.agent_id
		 FROM advisory_packages ap
		 JOIN inventory_packages ip
		   ON ip.ecosystem = ap.ecosystem AND ip.distro = ap.distro AND ip.name = ap.name
		  AND (ap.release = '' OR ip.release = ap.release)
		 WHERE ap.advisory_id = ANY ($1::text[])
		 UNION
		 SELECT m.org_id, m.agent_id
		 FROM vuln_matches m
		 WHERE m.advisory_id = ANY ($1::text[]) AND m.resolved_at IS NULL
		 ORDER BY 1, 2`, advisoryIDs)
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

// ReplaceVulnMatches upserts matches and resolves the agent's other
// active ones in one transaction. A resolved match that matches again
// becomes active again and keeps its FirstSeenAt. ENOTFOUND for an agent
// unknown in orgID. Concurrent replacements for one agent are serialized
// by an advisory lock (lockAgent), so that the last one's set wins whole.
func (db *DB) ReplaceVulnMatches(ctx context.Context, orgID, agentID string, matches []*aip.VulnMatch, at time.Time) error {
	ms := toMillis(at)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := lockAgent(ctx, tx, "aip.vuln_matches", orgID, agentID); err != nil {
			return err
		}
		if err := agentExists(ctx, tx, orgID, agentID); err != nil {
			return err
		}
		cves := make([]string, 0, len(matches))
		sysPkgs := make([]string, 0, len(matches))
		if len(matches) > 0 {
			st, err := tx.PrepareContext(ctx,
				`INSERT INTO vuln_matches (org_id, agent_id, cve, system_package, package, reported_package, advisory_id,
				   severity, vector_type, notices, first_seen_at, last_seen_at)
				 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
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
					if isForeignKey(err) { // the agent was deleted since the check
						return aip.Errorf(aip.ENOTFOUND, "Agent %s not found.", agentID)
					}
					return fmt.Errorf("store match %s in %s: %w", m.CVE, m.SystemPackage, err)
				}
				cves = append(cves, m.CVE)
				sysPkgs = append(sysPkgs, m.SystemPackage)
			}
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE vuln_matches SET resolved_at = $1
			 WHERE org_id = $2 AND agent_id = $3 AND resolved_at IS NULL
			   AND (cve, system_package) NOT IN (SELECT c, p FROM unnest($4::text[], $5::text[]) AS u (c, p))`,
			ms, orgID, agentID, cves, sysPkgs); err != nil {
			return fmt.Errorf("resolve matches gone: %w", err)
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
	q, args, err := storeutil.VulnQuery(f, `json_array_length(m.notices::json)`)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, rebind(q), args...)
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
