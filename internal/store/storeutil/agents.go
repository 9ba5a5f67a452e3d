package storeutil

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/aipsec/aip"
)

// ValidAgentType reports whether t is an agent type (empty allowed: an
// agent that does not say).
func ValidAgentType(t string) bool {
	return t == "" || t == aip.AgentTypeMonitor || t == aip.AgentTypeInvestigate
}

// AgentColumns is what ScanAgent reads; its one parameter is the status cutoff.
const AgentColumns = `id, org_id, created_at, last_reported_at, revoked_at, name, description,
	instance_id, version, hostname, agent_type, os_version, kernel, host,
	revoked_at IS NULL AND last_reported_at >= ?`

// ScanAgent reads one row of AgentColumns.
func ScanAgent(row Scanner) (*aip.Agent, error) {
	var (
		a                 aip.Agent
		created, reported int64
		revoked           sql.NullInt64
		host              string
		online            bool
	)
	if err := row.Scan(&a.ID, &a.OrgID, &created, &reported, &revoked, &a.Name, &a.Description,
		&a.InstanceID, &a.Version, &a.Hostname, &a.AgentType, &a.OSVersion, &a.Kernel, &host, &online); err != nil {
		return nil, err
	}
	if err := DecodeHost(host, &a.AgentHost); err != nil {
		return nil, fmt.Errorf("decode host details of agent %s: %w", a.ID, err)
	}
	a.CreatedAt = aip.Time{Time: FromMillis(created)}
	a.LastReportedAt = aip.Time{Time: FromMillis(reported)}
	a.RevokedAt = FromNullMillis(revoked)
	a.Status = aip.AgentOffline
	if online {
		a.Status = aip.AgentOnline
	}
	return &a, nil
}

// ValidAgentFilter checks f before it is turned into a query.
func ValidAgentFilter(f aip.AgentFilter) error {
	switch {
	case f.OrgID == "":
		return aip.Errorf(aip.EINVALID, "Agents are listed per organization.")
	case f.Limit <= 0:
		return aip.Errorf(aip.EINVALID, "Invalid limit %d: must be positive.", f.Limit)
	case f.Status != "" && f.Status != aip.AgentOnline && f.Status != aip.AgentOffline:
		return aip.Errorf(aip.EINVALID, "Invalid status %q: must be online or offline.", f.Status)
	case !ValidAgentType(f.Type):
		return aip.Errorf(aip.EINVALID, "Invalid type %q: must be monitor or investigate.", f.Type)
	}
	return nil
}

// AgentQuery builds the listing query for f, served by agents_org_created.
func AgentQuery(f aip.AgentFilter) (string, []any) {
	cutoff := CeilMillis(f.OnlineSince)
	var q strings.Builder
	q.WriteString(`SELECT ` + AgentColumns + ` FROM agents WHERE org_id = ?`)
	args := []any{cutoff, f.OrgID}
	switch f.Status {
	case aip.AgentOnline:
		q.WriteString(` AND revoked_at IS NULL AND last_reported_at >= ?`)
		args = append(args, cutoff)
	case aip.AgentOffline:
		q.WriteString(` AND (revoked_at IS NOT NULL OR last_reported_at < ?)`)
		args = append(args, cutoff)
	}
	if f.Type != "" {
		q.WriteString(` AND agent_type = ?`)
		args = append(args, f.Type)
	}
	if f.Hostname != "" {
		q.WriteString(` AND hostname = ?`)
		args = append(args, f.Hostname)
	}
	if f.InstanceID != "" {
		q.WriteString(` AND instance_id = ?`)
		args = append(args, f.InstanceID)
	}
	args = AppendNewestFirst(&q, args, "created_at", "id", f.Range, f.After, f.Limit)
	return q.String(), args
}

// PrepareAgent checks a new agent and normalizes it to what will be
// stored, returning its encoded host column.
func PrepareAgent(a *aip.Agent, sealedKey []byte) (string, error) {
	switch {
	case a.ID == "":
		return "", aip.Errorf(aip.EINVALID, "An agent needs an id before its key is sealed.")
	case len(sealedKey) == 0:
		return "", aip.Errorf(aip.EINVALID, "An agent needs a sealed key.")
	case !ValidAgentType(a.AgentType):
		return "", aip.Errorf(aip.EINVALID, "Invalid agentType %q: must be monitor or investigate.", a.AgentType)
	}
	host, err := EncodeHost(&a.AgentHost)
	if err != nil {
		return "", err
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = aip.Time{Time: Now()}
	}
	a.CreatedAt.Time = Normalize(a.CreatedAt.Time)
	if a.LastReportedAt.IsZero() {
		a.LastReportedAt = a.CreatedAt
	}
	a.LastReportedAt.Time = Normalize(a.LastReportedAt.Time)
	if a.Name == "" {
		a.Name = a.Hostname
	}
	a.RevokedAt = time.Time{}
	// As a read would return them: lists encode as [], never null.
	a.Tags = NonNil(a.Tags)
	a.IPAddresses = aip.IPAddresses{
		Private:   NonNil(a.IPAddresses.Private),
		LinkLocal: NonNil(a.IPAddresses.LinkLocal),
		Public:    NonNil(a.IPAddresses.Public),
	}
	return host, nil
}
