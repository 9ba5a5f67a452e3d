package storeutil

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aipsec/aip"
)

// SuppressedExpr is true for a match row m that an unexpired suppression
// of its organization covers; its one parameter is the current time.
const SuppressedExpr = `EXISTS (SELECT 1 FROM vuln_suppressions s
	WHERE s.org_id = m.org_id AND s.cve = m.cve
	  AND (s.package IS NULL OR s.package = m.package)
	  AND (s.agent_id IS NULL OR s.agent_id = m.agent_id)
	  AND (s.expires_at IS NULL OR s.expires_at > ?))`

// VulnQuery builds the query of a vulnerability listing: the match rows of
// f ordered by (CVE, SystemPackage, agent), which GroupVulnerabilities
// folds into items. noticesLen is the dialect's expression for the number
// of security notices of a match row m.
//
// The status selects rows: active (unresolved, not suppressed), suppressed
// (unresolved, suppressed), resolved, or all.
func VulnQuery(f aip.VulnFilter, noticesLen string) (string, []any, error) {
	status := f.Status
	if status == "" {
		status = aip.VulnActive
	}
	switch {
	case f.OrgID == "":
		return "", nil, aip.Errorf(aip.EINVALID, "Vulnerabilities are listed per organization.")
	case f.Limit <= 0:
		return "", nil, aip.Errorf(aip.EINVALID, "Invalid limit %d: must be positive.", f.Limit)
	case status != aip.VulnActive && status != aip.VulnSuppressed && status != aip.VulnResolved && status != aip.VulnAll:
		return "", nil, aip.Errorf(aip.EINVALID, "Invalid status %q: must be active, suppressed, resolved or all.", f.Status)
	}
	at := f.Now
	if at.IsZero() {
		at = time.Now()
	}
	var q strings.Builder
	args := []any{ToMillis(at), f.OrgID}
	q.WriteString(`SELECT * FROM (SELECT m.cve, m.system_package, m.agent_id, a.hostname, m.reported_package,
	  m.severity, m.vector_type, m.notices, ` + SuppressedExpr + ` AS suppressed
	  FROM vuln_matches m LEFT JOIN agents a ON a.org_id = m.org_id AND a.id = m.agent_id
	  WHERE m.org_id = ?`)
	switch status {
	case aip.VulnActive, aip.VulnSuppressed:
		q.WriteString(` AND m.resolved_at IS NULL`)
	case aip.VulnResolved:
		q.WriteString(` AND m.resolved_at IS NOT NULL`)
	}
	if f.AgentID != "" {
		q.WriteString(` AND m.agent_id = ?`)
		args = append(args, f.AgentID)
	}
	if f.Hostname != "" {
		q.WriteString(` AND a.hostname = ?`)
		args = append(args, f.Hostname)
	}
	if f.Package != "" {
		q.WriteString(` AND m.package = ?`)
		args = append(args, f.Package)
	}
	if f.CVE != "" {
		q.WriteString(` AND m.cve = ?`)
		args = append(args, f.CVE)
	}
	if f.HasSecurityNotices {
		q.WriteString(` AND ` + noticesLen + ` > 0`)
	}
	if f.After != nil {
		q.WriteString(` AND (m.cve, m.system_package) > (?, ?)`)
		args = append(args, f.After.CVE, f.After.SystemPackage)
	}
	q.WriteString(`) v`)
	switch status {
	case aip.VulnActive:
		q.WriteString(` WHERE NOT suppressed`)
	case aip.VulnSuppressed:
		q.WriteString(` WHERE suppressed`)
	}
	q.WriteString(` ORDER BY cve, system_package, agent_id`)
	return q.String(), args, nil
}

// GroupVulnerabilities reads the rows of VulnQuery and returns at most
// limit items, one by (CVE, SystemPackage). An item's IsSuppressed is true
// when every one of its selected rows is suppressed, so with status all a
// group whose agents are partly suppressed is one item with IsSuppressed
// false. Its severity is the highest of its rows; the other advisory
// fields come from its first row by agent id.
func GroupVulnerabilities(rows *sql.Rows, limit int) ([]*aip.Vulnerability, error) {
	var (
		out  []*aip.Vulnerability
		cur  *aip.Vulnerability
		rank int
	)
	for rows.Next() {
		var (
			v                aip.Vulnerability
			agentID, notices string
			hostname         sql.NullString
			suppressed       bool
		)
		if err := rows.Scan(&v.CVENumber, &v.SystemPackage, &agentID, &hostname, &v.ReportedPackage,
			&v.Severity, &v.VectorType, &notices, &suppressed); err != nil {
			return nil, fmt.Errorf("scan vulnerability: %w", err)
		}
		agent := aip.VulnAgent{AgentID: agentID}
		if hostname.Valid {
			agent.Hostname = &hostname.String
		}
		if cur != nil && cur.CVENumber == v.CVENumber && cur.SystemPackage == v.SystemPackage {
			cur.Agents = append(cur.Agents, agent)
			cur.IsSuppressed = cur.IsSuppressed && suppressed
			if r := SeverityRank(v.Severity); r > rank {
				cur.Severity, rank = v.Severity, r
			}
			continue
		}
		if len(out) == limit {
			break
		}
		if err := json.Unmarshal([]byte(notices), &v.SecurityNotices); err != nil {
			return nil, fmt.Errorf("decode notices of %s: %w", v.CVENumber, err)
		}
		v.SecurityNotices = NonNil(v.SecurityNotices)
		v.IsSuppressed = suppressed
		v.Agents = []aip.VulnAgent{agent}
		cur, rank = &v, SeverityRank(v.Severity)
		out = append(out, cur)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
