package aip

import (
	"context"
	"encoding/json"
	"time"
)

// Agent statuses: an agent is online while it reported within the configured
// silence (5 minutes by default) and has not been revoked.
const (
	AgentOnline  = "online"
	AgentOffline = "offline"
)

// Agent types of the v2 API.
const (
	AgentTypeMonitor     = "monitor"
	AgentTypeInvestigate = "investigate"
)

// Tag is a cloud tag of an agent, or one entry of a rule's TagSet.
type Tag struct {
	Source string `json:"source"`
	Key    string `json:"key"`
	Value  string `json:"value"`
}

// IPAddresses are an agent's addresses by kind; link_local keeps the
// snake_case name the v2 API used.
type IPAddresses struct {
	Private   []string `json:"private"`
	LinkLocal []string `json:"link_local"`
	Public    []string `json:"public"`
}

// AgentHost is what an agent reports about its host, at enrollment and in
// every heartbeat.
type AgentHost struct {
	InstanceID  string      `json:"instanceId"`
	Version     string      `json:"version"`
	Hostname    string      `json:"hostname"`
	IPAddresses IPAddresses `json:"ipAddresses"`
	Tags        []Tag       `json:"tags"`
	AgentType   string      `json:"agentType"`
	OSVersion   string      `json:"osVersion"`
	Kernel      string      `json:"kernel"`
	// AgentModuleHealth is a JSON object kept as sent; empty means null.
	AgentModuleHealth json.RawMessage `json:"agentModuleHealth"`
}

// Agent is the v2 wire shape of an enrolled agent (api-v2.md §3.1).
type Agent struct {
	ID    string `json:"id"`
	OrgID string `json:"-"`
	// Status is computed when the agent is read, from LastReportedAt and
	// the cutoff the caller passes; it is never stored.
	Status         string `json:"status"`
	CreatedAt      Time   `json:"createdAt"`
	LastReportedAt Time   `json:"lastReportedAt"`
	// Name defaults to the hostname at enrollment.
	Name        string `json:"name"`
	Description string `json:"description"`
	AgentHost
	// RevokedAt is when the agent's key was revoked; zero while it works.
	RevokedAt time.Time `json:"-"`
}

// DeployKey is an organization's enrollment secret. Only its SHA-256 is
// stored: the key itself is shown once, when created.
type DeployKey struct {
	ID        string
	OrgID     string
	KeyHash   []byte // SHA-256 of the key
	CreatedAt time.Time
}

// AgentCredentials is what Hawk authentication of an agent needs.
type AgentCredentials struct {
	AgentID string
	OrgID   string
	// SealedKey is the agent key sealed with the master key for the owner
	// AgentID; only the keyring opens it.
	SealedKey []byte
}

// AgentFilter selects agents of one organization, newest first on
// (CreatedAt, ID).
type AgentFilter struct {
	OrgID string
	// Status is AgentOnline, AgentOffline or "" for both.
	Status string
	// OnlineSince is the cutoff of the status: an agent is online when it
	// is not revoked and reported at or after it.
	OnlineSince time.Time
	Type        string // AgentType*; "" for any
	Hostname    string
	InstanceID  string
	// Range bounds CreatedAt: From inclusive, Until exclusive.
	Range TimeRange
	// After continues a listing after this keyset position (exclusive).
	After *Cursor
	Limit int
}

// AgentStore persists agents, their keys and the organizations' deploy keys.
type AgentStore interface {
	// CreateDeployKey stores k, filling ID and CreatedAt when empty.
	// ENOTFOUND when the organization is unknown.
	CreateDeployKey(ctx context.Context, k *DeployKey) error
	// FindDeployKey returns the deploy key whose KeyHash equals keyHash;
	// ENOTFOUND when there is none.
	FindDeployKey(ctx context.Context, keyHash []byte) (*DeployKey, error)
	// DeleteDeployKey removes a deploy key of orgID; ENOTFOUND when absent.
	DeleteDeployKey(ctx context.Context, orgID, id string) error

	// CreateAgent enrolls a: it stores the agent, its sealed key and its
	// rulesets in one transaction. The caller sets a.ID (the key is sealed
	// for it) and a.OrgID; CreatedAt and LastReportedAt default to now and
	// Name to the hostname. ENOTFOUND for an unknown organization or
	// ruleset, ECONFLICT for a taken ID.
	CreateAgent(ctx context.Context, a *Agent, sealedKey []byte, rulesetIDs []string) error
	// FindAgent returns one agent of orgID with its status computed against
	// onlineSince (see AgentFilter); ENOTFOUND when absent.
	FindAgent(ctx context.Context, orgID, id string, onlineSince time.Time) (*Agent, error)
	// ListAgents returns at most f.Limit agents ordered by (CreatedAt, ID)
	// descending.
	ListAgents(ctx context.Context, f AgentFilter) ([]*Agent, error)
	// FindAgentCredentials returns the sealed key of a working agent, for
	// authentication; ENOTFOUND for an unknown or revoked agent.
	FindAgentCredentials(ctx context.Context, agentID string) (*AgentCredentials, error)
	// RecordHeartbeat replaces the host information of an agent and sets
	// its LastReportedAt to at (never moving it back). ENOTFOUND for an
	// unknown or revoked agent.
	RecordHeartbeat(ctx context.Context, orgID, agentID string, h AgentHost, at time.Time) error
	// RevokeAgent destroys the agent's key so it no longer authenticates;
	// the agent stays listed, offline. ENOTFOUND when absent; revoking twice
	// is not an error.
	RevokeAgent(ctx context.Context, orgID, agentID string) error
	// SetAgentRulesets replaces the rulesets an agent runs; ENOTFOUND for an
	// unknown agent or ruleset.
	SetAgentRulesets(ctx context.Context, orgID, agentID string, rulesetIDs []string) error
}
