package vuln

import (
	"context"
	"fmt"
	"time"

	"github.com/aipsec/aip"
)

// Rematch matches the stored inventory of one agent against the advisory
// database and makes the result the agent's vulnerabilities as of now:
// new ones appear, those no longer matching become resolved. An agent
// without an inventory has nothing to match.
func Rematch(ctx context.Context, store aip.VulnStore, orgID, agentID string, now time.Time) (Result, error) {
	inv, err := store.FindInventory(ctx, orgID, agentID)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		return Result{}, nil
	} else if err != nil {
		return Result{}, fmt.Errorf("rematch agent %s: %w", agentID, err)
	}
	// Two passes: the package index alone says which advisories hit (a
	// host has tens of thousands of candidates, few of which match), then
	// only those are read whole.
	skeletons, err := store.AffectedFor(ctx, Keys(inv))
	if err != nil {
		return Result{}, fmt.Errorf("rematch agent %s: affected entries: %w", agentID, err)
	}
	hits, versionErrors := Hits(inv, skeletons)
	advs, err := store.AdvisoriesByID(ctx, hits)
	if err != nil {
		return Result{}, fmt.Errorf("rematch agent %s: advisories: %w", agentID, err)
	}
	res := Match(inv, advs)
	res.VersionErrors = versionErrors
	for _, m := range res.Matches {
		m.OrgID, m.AgentID = orgID, agentID
	}
	if err := store.ReplaceVulnMatches(ctx, orgID, agentID, res.Matches, now); err != nil {
		return res, fmt.Errorf("rematch agent %s: store matches: %w", agentID, err)
	}
	return res, nil
}
