package aip

import "context"

// FileIntegrityPath is one fileIntegrityPaths entry of a File rule.
type FileIntegrityPath struct {
	Path      string `json:"path"`
	Recursive bool   `json:"recursive"`
}

// Rule is the v2 wire shape of a detection rule (api-v2.md §3.5). It maps
// field for field onto the engine's rules.Rule (Type is its canonical
// spelling, SeverityOfAlerts its Severity); AlertDescription and the
// timestamps are the API's alone.
type Rule struct {
	ID               string   `json:"id"`
	RulesetID        string   `json:"rulesetId"`
	OrgID            string   `json:"-"`
	Name             string   `json:"name"`
	Type             string   `json:"type"`
	CreatedAt        Time     `json:"createdAt"`
	UpdatedAt        Time     `json:"updatedAt"`
	Title            string   `json:"title"`
	SeverityOfAlerts int      `json:"severityOfAlerts"`
	AlertDescription string   `json:"alertDescription"`
	AggregateFields  []string `json:"aggregateFields"`
	Filter           string   `json:"filter"`
	Window           int      `json:"window"`
	Threshold        int      `json:"threshold"`
	Suppressions     []string `json:"suppressions"`
	Enabled          bool     `json:"enabled"`
	// File rules only; omitted from other rules' JSON.
	FileIntegrityPaths []FileIntegrityPath `json:"fileIntegrityPaths,omitempty"`
	IgnoreFiles        []string            `json:"ignoreFiles,omitempty"`
	EventsToMonitor    []string            `json:"eventsToMonitor,omitempty"`
}

// Ruleset is the v2 wire shape of a ruleset: Rules holds the ids of its
// rules (requests name them ruleIds), Agents the ids of the agents running it.
type Ruleset struct {
	ID          string   `json:"id"`
	OrgID       string   `json:"-"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	CreatedAt   Time     `json:"createdAt"`
	UpdatedAt   Time     `json:"updatedAt"`
	Rules       []string `json:"rules"`
	Agents      []string `json:"agents"`
}

// TagSet is a rule's EC2 tag filter.
type TagSet struct {
	Inclusion []Tag `json:"inclusion"`
	Exclusion []Tag `json:"exclusion"`
}

// RuleStore persists rulesets, their rules and the rules' tag filters. A
// rule belongs to exactly one ruleset; ruleset names are unique per
// organization. Short lists come whole, in creation order.
type RuleStore interface {
	// CreateRuleset stores rs, filling ID, CreatedAt and UpdatedAt. The
	// rules named in rs.Rules move into it. ECONFLICT for a taken name,
	// ENOTFOUND for an unknown organization or rule.
	CreateRuleset(ctx context.Context, rs *Ruleset) error
	// CreateRulesetWithRules stores rs and rules (filled like CreateRule)
	// in one transaction, e.g. the Base Rule Set of a new organization.
	CreateRulesetWithRules(ctx context.Context, rs *Ruleset, rules []*Rule) error
	// FindRuleset returns one ruleset with its rules and agents; ENOTFOUND
	// when absent.
	FindRuleset(ctx context.Context, orgID, id string) (*Ruleset, error)
	// FindRulesetByName returns the ruleset called name; ENOTFOUND when absent.
	FindRulesetByName(ctx context.Context, orgID, name string) (*Ruleset, error)
	// ListRulesets returns the rulesets of orgID, or with agentID those the
	// agent runs (ENOTFOUND for an unknown agent).
	ListRulesets(ctx context.Context, orgID, agentID string) ([]*Ruleset, error)
	// UpdateRuleset replaces the name and description of rs and sets its
	// UpdatedAt; a non-nil rs.Rules moves the named rules into it (rules
	// not named stay where they are, since every rule needs a ruleset).
	// On success rs is the stored ruleset. ENOTFOUND, ECONFLICT as above.
	UpdateRuleset(ctx context.Context, rs *Ruleset) error
	// DeleteRuleset deletes a ruleset with its rules and returns the ids
	// of the agents that ran it; ENOTFOUND when absent.
	DeleteRuleset(ctx context.Context, orgID, id string) (agentIDs []string, err error)

	// CreateRule stores r in ruleset r.RulesetID, filling ID, CreatedAt
	// and UpdatedAt. ENOTFOUND for an unknown ruleset.
	CreateRule(ctx context.Context, r *Rule) error
	// FindRule returns one rule; rulesetID "" matches any ruleset.
	// ENOTFOUND when absent.
	FindRule(ctx context.Context, orgID, rulesetID, id string) (*Rule, error)
	// ListRules returns the rules of a ruleset (ENOTFOUND when it does not
	// exist), or with rulesetID "" every rule of orgID.
	ListRules(ctx context.Context, orgID, rulesetID string) ([]*Rule, error)
	// UpdateRule replaces every writable field of the rule r.ID in ruleset
	// r.RulesetID and sets UpdatedAt; on success r is the stored rule.
	// ENOTFOUND when absent.
	UpdateRule(ctx context.Context, r *Rule) error
	// DeleteRule deletes a rule and its tags; ENOTFOUND when absent.
	DeleteRule(ctx context.Context, orgID, rulesetID, id string) error
	// FindRuleTags returns a rule's tags, empty lists when none were set;
	// ENOTFOUND for an unknown rule.
	FindRuleTags(ctx context.Context, orgID, ruleID string) (*TagSet, error)
	// SetRuleTags replaces a rule's tags; ENOTFOUND for an unknown rule.
	SetRuleTags(ctx context.Context, orgID, ruleID string, tags TagSet) error
}
