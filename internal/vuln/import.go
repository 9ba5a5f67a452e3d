package vuln

import (
	"context"
	"fmt"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/vuln/osv"
	"github.com/aipsec/aip/internal/vuln/version"
)

// importBatch is how many advisories one store transaction takes: large
// enough to amortize the commit, small enough to keep memory flat.
const importBatch = 1000

// ImportReport says what an import did.
type ImportReport struct {
	aip.AdvisoryImport
	// Withdrawn records emptied their advisory (it matches nothing more).
	Withdrawn int
	// Skipped records had no affected entry in a supported ecosystem;
	// UnsupportedEntries counts the affected entries dropped.
	Skipped            int
	UnsupportedEntries int
	// Invalid records were malformed and skipped.
	Invalid int
	// UnorderableVersions counts the ranges and listed versions dropped
	// from otherwise valid advisories because their ecosystem cannot
	// order a version they name.
	UnorderableVersions int
	// Rematched counts the agents re-matched because an advisory naming
	// one of their packages changed; MatchErrors those that failed.
	Rematched   int
	MatchErrors int
}

// Import reads OSV records from paths (files, directories, zip archives),
// stores them, and re-matches exactly the agents holding a package that an
// added, changed or withdrawn advisory names. Each problem (a malformed
// record, a skipped one, a failed re-match) is passed to problem with the
// file and record it came from; none aborts the import. Only a path that
// cannot be read or a store failure does.
func Import(ctx context.Context, store aip.VulnStore, paths []string, now func() time.Time, problem func(string)) (ImportReport, error) {
	var rep ImportReport
	var batch []*aip.Advisory
	changed := make(map[string]bool)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		counts, ids, err := store.UpsertAdvisories(ctx, batch)
		if err != nil {
			return fmt.Errorf("store %d advisories: %w", len(batch), err)
		}
		rep.Added += counts.Added
		rep.Updated += counts.Updated
		rep.Unchanged += counts.Unchanged
		for _, id := range ids {
			changed[id] = true
		}
		batch = batch[:0]
		return nil
	}
	for _, p := range paths {
		err := osv.Walk(p, func(rec osv.Record) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			rep.UnsupportedEntries += rec.Unsupported
			switch {
			case rec.Err != nil:
				rep.Invalid++
				problem(rec.Err.Error())
				return nil
			case rec.Withdrawn:
				rep.Withdrawn++
				// An empty advisory under the same id matches nothing, so
				// re-matching resolves what it used to match.
				batch = append(batch, &aip.Advisory{ID: rec.ID, Summary: "withdrawn"})
			case rec.Skipped:
				rep.Skipped++
				problem(fmt.Sprintf("%s: %s: no affected package in a supported ecosystem; skipped", rec.Source, rec.ID))
				return nil
			default:
				for _, msg := range dropUnorderable(rec.Advisory) {
					rep.UnorderableVersions++
					problem(fmt.Sprintf("%s: %s: %s", rec.Source, rec.ID, msg))
				}
				batch = append(batch, rec.Advisory)
			}
			if len(batch) >= importBatch {
				return flush()
			}
			return nil
		})
		if err != nil {
			return rep, fmt.Errorf("import %s: %w", p, err)
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	if len(changed) == 0 {
		return rep, nil
	}
	ids := make([]string, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	agents, err := store.AgentsAffectedBy(ctx, ids)
	if err != nil {
		return rep, fmt.Errorf("find agents to re-match: %w", err)
	}
	for _, a := range agents {
		if _, err := Rematch(ctx, store, a.OrgID, a.AgentID, now()); err != nil {
			rep.MatchErrors++
			problem(fmt.Sprintf("re-match agent %s of organization %s: %v", a.AgentID, a.OrgID, err))
			continue
		}
		rep.Rematched++
	}
	return rep, nil
}

// dropUnorderable removes from adv the ranges and listed versions whose
// versions its ecosystem cannot order (they could never match, and would
// cost a failed comparison on every host), and says what it dropped.
func dropUnorderable(adv *aip.Advisory) []string {
	var problems []string
	valid := func(eco, v string) bool {
		if v == "" || v == "0" {
			return true
		}
		_, err := version.Compare(eco, v, v)
		return err == nil
	}
	for i := range adv.Affected {
		aff := &adv.Affected[i]
		ranges := aff.Ranges[:0]
		for _, r := range aff.Ranges {
			if valid(aff.Ecosystem, r.Introduced) && valid(aff.Ecosystem, r.Fixed) && valid(aff.Ecosystem, r.LastAffected) {
				ranges = append(ranges, r)
				continue
			}
			problems = append(problems, fmt.Sprintf("%s %s: range %+v has a version %s cannot order; range skipped",
				aff.Distro, aff.Name, r, aff.Ecosystem))
		}
		aff.Ranges = ranges
		versions := aff.Versions[:0]
		for _, v := range aff.Versions {
			if valid(aff.Ecosystem, v) {
				versions = append(versions, v)
				continue
			}
			problems = append(problems, fmt.Sprintf("%s %s: version %q cannot be ordered as %s; skipped", aff.Distro, aff.Name, v, aff.Ecosystem))
		}
		aff.Versions = versions
	}
	return problems
}
