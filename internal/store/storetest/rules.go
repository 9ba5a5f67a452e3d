package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/rules"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sortNewestFirst orders ids by (time, id) descending, the keyset order.
func sortNewestFirst(ids []string, at func(id string) time.Time) {
	slices.SortFunc(ids, func(a, b string) int {
		if c := at(b).Truncate(time.Millisecond).Compare(at(a).Truncate(time.Millisecond)); c != 0 {
			return c
		}
		return strings.Compare(b, a)
	})
}

func mustRuleset(t *testing.T, s aip.Store, orgID, name string) *aip.Ruleset {
	t.Helper()
	rs := &aip.Ruleset{OrgID: orgID, Name: name, Description: "about " + name}
	if err := s.CreateRuleset(t.Context(), rs); err != nil {
		t.Fatalf("CreateRuleset(%s): %v", name, err)
	}
	return rs
}

func rulesetIDs(rss []*aip.Ruleset) []string {
	out := []string{}
	for _, rs := range rss {
		out = append(out, rs.ID)
	}
	return out
}

func ruleIDs(rs []*aip.Rule) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// hostRule returns a Host rule for rulesetID.
func hostRule(orgID, rulesetID, name string) *aip.Rule {
	return &aip.Rule{
		OrgID: orgID, RulesetID: rulesetID, Name: name, Type: "Host",
		Title: name + ": {{exe}} run by {{user}}", SeverityOfAlerts: 2, AlertDescription: "Watch " + name,
		AggregateFields: []string{"user", "exe"}, Filter: `command = "` + name + `"`,
		Window: 3600, Threshold: 1, Suppressions: []string{`user = "backup"`}, Enabled: true,
	}
}

// fileRule returns a File rule for rulesetID.
func fileRule(orgID, rulesetID, name string) *aip.Rule {
	return &aip.Rule{
		OrgID: orgID, RulesetID: rulesetID, Name: name, Type: "File",
		Title: "File changed: {{filename}}", SeverityOfAlerts: 1, AlertDescription: "Files",
		AggregateFields: []string{"command", "filename"}, Window: 86400, Threshold: 5, Enabled: false,
		FileIntegrityPaths: []aip.FileIntegrityPath{{Path: "/etc", Recursive: true}, {Path: "/bin"}},
		IgnoreFiles:        []string{"*.swp"}, EventsToMonitor: []string{"modify", "delete"},
	}
}

func mustRule(t *testing.T, s aip.Store, r *aip.Rule) *aip.Rule {
	t.Helper()
	if err := s.CreateRule(t.Context(), r); err != nil {
		t.Fatalf("CreateRule(%s): %v", r.Name, err)
	}
	return r
}

func testRulesets(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")
	rs := mustRuleset(t, s, org.ID, "Base Rule Set")
	r1 := mustRule(t, s, hostRule(org.ID, rs.ID, "sudo"))
	r2 := mustRule(t, s, hostRule(org.ID, rs.ID, "nc"))
	agent := mustAgent(t, s, newAgent(org.ID, "web", base), rs.ID)

	t.Run("create fills id and times", func(t *testing.T) {
		if !aip.IsUUID(rs.ID) {
			t.Errorf("ID = %q, want a UUID", rs.ID)
		}
		checkStoredTime(t, "CreatedAt", rs.CreatedAt.Time)
		if !rs.UpdatedAt.Equal(rs.CreatedAt.Time) {
			t.Errorf("UpdatedAt = %v, want CreatedAt", rs.UpdatedAt)
		}
	})
	t.Run("find returns rules in creation order and agents", func(t *testing.T) {
		got, err := s.FindRuleset(ctx, org.ID, rs.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *rs
		want.Rules, want.Agents = []string{r1.ID, r2.ID}, []string{agent.ID}
		if diff := cmp.Diff(&want, got, timeOpts); diff != "" {
			t.Errorf("FindRuleset mismatch (-want +got):\n%s", diff)
		}
		byName, err := s.FindRulesetByName(ctx, org.ID, "Base Rule Set")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, byName, timeOpts); diff != "" {
			t.Errorf("FindRulesetByName mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("duplicate name conflicts in one org only", func(t *testing.T) {
		err := s.CreateRuleset(ctx, &aip.Ruleset{OrgID: org.ID, Name: "Base Rule Set"})
		wantCode(t, err, aip.ECONFLICT)
		mustRuleset(t, s, other.ID, "Base Rule Set")
	})
	second := mustRuleset(t, s, org.ID, "Second")
	t.Run("create with unknown rule ids stores nothing", func(t *testing.T) {
		err := s.CreateRuleset(ctx, &aip.Ruleset{OrgID: org.ID, Name: "Broken", Rules: []string{r1.ID, aip.NewUUID()}})
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.FindRulesetByName(ctx, org.ID, "Broken")
		wantCode(t, err, aip.ENOTFOUND)
		got, err := s.FindRule(ctx, org.ID, "", r1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.RulesetID != rs.ID {
			t.Errorf("rule moved to %s by a failed create", got.RulesetID)
		}
	})
	t.Run("update renames and moves the named rules in", func(t *testing.T) {
		up := &aip.Ruleset{ID: second.ID, OrgID: org.ID, Name: "Renamed", Description: "new", Rules: []string{r2.ID}}
		if err := s.UpdateRuleset(ctx, up); err != nil {
			t.Fatal(err)
		}
		if up.Name != "Renamed" || up.Description != "new" || !slices.Equal(up.Rules, []string{r2.ID}) {
			t.Errorf("updated ruleset = %+v", up)
		}
		if up.UpdatedAt.Before(up.CreatedAt.Time) {
			t.Errorf("UpdatedAt %v before CreatedAt %v", up.UpdatedAt, up.CreatedAt)
		}
		got, err := s.FindRuleset(ctx, org.ID, rs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{r1.ID}, got.Rules); diff != "" {
			t.Errorf("rules left in the first ruleset (-want +got):\n%s", diff)
		}
		moved, err := s.FindRule(ctx, org.ID, second.ID, r2.ID)
		if err != nil {
			t.Fatalf("moved rule not found under its new ruleset: %v", err)
		}
		if moved.RulesetID != second.ID {
			t.Errorf("RulesetID = %s, want %s", moved.RulesetID, second.ID)
		}
	})
	t.Run("update to a taken name conflicts", func(t *testing.T) {
		err := s.UpdateRuleset(ctx, &aip.Ruleset{ID: second.ID, OrgID: org.ID, Name: "Base Rule Set"})
		wantCode(t, err, aip.ECONFLICT)
	})
	t.Run("update of an unknown ruleset is not found", func(t *testing.T) {
		err := s.UpdateRuleset(ctx, &aip.Ruleset{ID: aip.NewUUID(), OrgID: org.ID, Name: "x"})
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("list in creation order, or by agent", func(t *testing.T) {
		got, err := s.ListRulesets(ctx, org.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{rs.ID, second.ID}, rulesetIDs(got)); diff != "" {
			t.Errorf("ListRulesets mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{r1.ID}, got[0].Rules); diff != "" {
			t.Errorf("listed rules mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{agent.ID}, got[0].Agents); diff != "" {
			t.Errorf("listed agents mismatch (-want +got):\n%s", diff)
		}
		if err := s.SetAgentRulesets(ctx, org.ID, agent.ID, []string{second.ID}); err != nil {
			t.Fatal(err)
		}
		got, err = s.ListRulesets(ctx, org.ID, agent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{second.ID}, rulesetIDs(got)); diff != "" {
			t.Errorf("ListRulesets by agent mismatch (-want +got):\n%s", diff)
		}
		_, err = s.ListRulesets(ctx, org.ID, aip.NewUUID())
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("delete returns its agents and removes its rules", func(t *testing.T) {
		agents, err := s.DeleteRuleset(ctx, org.ID, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{agent.ID}, agents); diff != "" {
			t.Errorf("DeleteRuleset agents mismatch (-want +got):\n%s", diff)
		}
		_, err = s.FindRule(ctx, org.ID, "", r2.ID)
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.FindRuleset(ctx, org.ID, second.ID)
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.DeleteRuleset(ctx, org.ID, second.ID)
		wantCode(t, err, aip.ENOTFOUND)
		got, err := s.ListRulesets(ctx, org.ID, agent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("agent still runs %v", rulesetIDs(got))
		}
	})
	t.Run("delete of a ruleset without agents returns an empty list", func(t *testing.T) {
		lone := mustRuleset(t, s, org.ID, "Lone")
		agents, err := s.DeleteRuleset(ctx, org.ID, lone.ID)
		if err != nil {
			t.Fatal(err)
		}
		if agents == nil || len(agents) != 0 {
			t.Errorf("agents = %#v, want an empty non-nil list", agents)
		}
	})
}

func testRules(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	rs := mustRuleset(t, s, org.ID, "Base Rule Set")
	other := mustRuleset(t, s, org.ID, "Other")
	host := mustRule(t, s, hostRule(org.ID, rs.ID, "sudo"))
	file := mustRule(t, s, fileRule(org.ID, rs.ID, "fim"))

	t.Run("create fills id and times", func(t *testing.T) {
		if !aip.IsUUID(host.ID) {
			t.Errorf("ID = %q, want a UUID", host.ID)
		}
		checkStoredTime(t, "CreatedAt", host.CreatedAt.Time)
	})
	for _, want := range []*aip.Rule{host, file} {
		t.Run(want.Type+" rule reads back field for field", func(t *testing.T) {
			got, err := s.FindRule(ctx, org.ID, rs.ID, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, timeOpts); diff != "" {
				t.Errorf("FindRule mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("list returns the ruleset's rules in creation order", func(t *testing.T) {
		got, err := s.ListRules(ctx, org.ID, rs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*aip.Rule{host, file}, got, timeOpts); diff != "" {
			t.Errorf("ListRules mismatch (-want +got):\n%s", diff)
		}
		got, err = s.ListRules(ctx, org.ID, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || len(got) != 0 {
			t.Errorf("rules of an empty ruleset = %#v, want an empty list", got)
		}
		_, err = s.ListRules(ctx, org.ID, aip.NewUUID())
		wantCode(t, err, aip.ENOTFOUND)
		all, err := s.ListRules(ctx, org.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{host.ID, file.ID}, ruleIDs(all)); diff != "" {
			t.Errorf("ListRules of the org mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("unknown ruleset is not found", func(t *testing.T) {
		err := s.CreateRule(ctx, hostRule(org.ID, aip.NewUUID(), "x"))
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("a rule is not found under another ruleset", func(t *testing.T) {
		_, err := s.FindRule(ctx, org.ID, other.ID, host.ID)
		wantCode(t, err, aip.ENOTFOUND)
		up := *host
		up.RulesetID = other.ID
		wantCode(t, s.UpdateRule(ctx, &up), aip.ENOTFOUND)
		wantCode(t, s.DeleteRule(ctx, org.ID, other.ID, host.ID), aip.ENOTFOUND)
	})
	t.Run("update replaces every writable field", func(t *testing.T) {
		up := fileRule(org.ID, rs.ID, "renamed")
		up.ID = host.ID
		up.CreatedAt = aip.Time{Time: base} // read-only: ignored
		if err := s.UpdateRule(ctx, up); err != nil {
			t.Fatal(err)
		}
		if !up.CreatedAt.Equal(host.CreatedAt.Time) {
			t.Errorf("CreatedAt = %v, want the original %v", up.CreatedAt, host.CreatedAt)
		}
		if up.UpdatedAt.Before(host.UpdatedAt.Time) {
			t.Errorf("UpdatedAt moved back to %v", up.UpdatedAt)
		}
		got, err := s.FindRule(ctx, org.ID, "", host.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(up, got, timeOpts); diff != "" {
			t.Errorf("FindRule after update mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("tags are empty until set, then replaced", func(t *testing.T) {
		got, err := s.FindRuleTags(ctx, org.ID, file.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Inclusion == nil || got.Exclusion == nil || len(got.Inclusion)+len(got.Exclusion) != 0 {
			t.Errorf("tags = %#v, want two empty lists", got)
		}
		want := aip.TagSet{
			Inclusion: []aip.Tag{{Source: "ec2", Key: "env", Value: "prod"}},
			Exclusion: []aip.Tag{{Source: "ec2", Key: "team", Value: "qa"}, {Source: "ec2", Key: "x", Value: ""}},
		}
		if err := s.SetRuleTags(ctx, org.ID, file.ID, want); err != nil {
			t.Fatal(err)
		}
		got, err = s.FindRuleTags(ctx, org.ID, file.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("FindRuleTags mismatch (-want +got):\n%s", diff)
		}
		if err := s.SetRuleTags(ctx, org.ID, file.ID, aip.TagSet{}); err != nil {
			t.Fatal(err)
		}
		got, err = s.FindRuleTags(ctx, org.ID, file.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&aip.TagSet{Inclusion: []aip.Tag{}, Exclusion: []aip.Tag{}}, got); diff != "" {
			t.Errorf("cleared tags mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("deleted rule is gone with its tags", func(t *testing.T) {
		if err := s.DeleteRule(ctx, org.ID, rs.ID, file.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.FindRule(ctx, org.ID, rs.ID, file.ID)
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.FindRuleTags(ctx, org.ID, file.ID)
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.SetRuleTags(ctx, org.ID, file.ID, aip.TagSet{}), aip.ENOTFOUND)
		wantCode(t, s.DeleteRule(ctx, org.ID, rs.ID, file.ID), aip.ENOTFOUND)
	})
}

func testBaseRuleSet(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "acme")
	baseRules := rules.BaseRules()
	var in []*aip.Rule
	for _, b := range baseRules {
		in = append(in, rules.ToAPI(b))
	}
	rs := &aip.Ruleset{OrgID: org.ID, Name: rules.BaseRuleSetName, Description: rules.BaseRuleSetDescription}
	if err := s.CreateRulesetWithRules(ctx, rs, in); err != nil {
		t.Fatal(err)
	}
	t.Run("every rule is stored in order and listed by the ruleset", func(t *testing.T) {
		if diff := cmp.Diff(ruleIDs(in), rs.Rules); diff != "" {
			t.Errorf("Ruleset.Rules mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("stored rules map back to the engine's rules", func(t *testing.T) {
		got, err := s.ListRules(ctx, org.ID, rs.ID)
		if err != nil {
			t.Fatal(err)
		}
		var back []rules.BaseRule
		var engine []rules.Rule
		for _, r := range got {
			b := rules.FromAPI(r)
			if b.RulesetID != rs.ID || !aip.IsUUID(b.ID) {
				t.Errorf("rule %s: RulesetID, ID = %s, %s", b.Name, b.RulesetID, b.ID)
			}
			engine = append(engine, b.Rule)
			b.ID, b.RulesetID = "", ""
			back = append(back, b)
		}
		if diff := cmp.Diff(baseRules, back, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
		if _, err := rules.NewEngine(engine); err != nil {
			t.Errorf("engine refuses the stored rules: %v", err)
		}
	})
	t.Run("a failure stores neither the ruleset nor any rule", func(t *testing.T) {
		other := mustOrg(t, s, "other")
		var again []*aip.Rule
		for _, b := range rules.BaseRules() {
			again = append(again, rules.ToAPI(b))
		}
		again[len(again)-1].ID = in[0].ID // taken
		rs := &aip.Ruleset{OrgID: other.ID, Name: rules.BaseRuleSetName}
		wantCode(t, s.CreateRulesetWithRules(ctx, rs, again), aip.ECONFLICT)
		got, err := s.ListRules(ctx, other.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		sets, err := s.ListRulesets(ctx, other.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 || len(sets) != 0 {
			t.Errorf("after a failed create: %d rules, %d rulesets; want none", len(got), len(sets))
		}
	})
}

func testRuleIsolation(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	mine := mustOrg(t, s, "mine")
	theirs := mustOrg(t, s, "theirs")
	myRS := mustRuleset(t, s, mine.ID, "Shared Name")
	theirRS := mustRuleset(t, s, theirs.ID, "Shared Name")
	mustRule(t, s, hostRule(mine.ID, myRS.ID, "mine"))
	theirRule := mustRule(t, s, hostRule(theirs.ID, theirRS.ID, "theirs"))
	if err := s.SetRuleTags(ctx, theirs.ID, theirRule.ID, aip.TagSet{Inclusion: []aip.Tag{{Key: "k"}}}); err != nil {
		t.Fatal(err)
	}

	t.Run("lists only its own rulesets and rules", func(t *testing.T) {
		sets, err := s.ListRulesets(ctx, mine.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{myRS.ID}, rulesetIDs(sets)); diff != "" {
			t.Errorf("ListRulesets mismatch (-want +got):\n%s", diff)
		}
		all, err := s.ListRules(ctx, mine.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all {
			if r.OrgID != mine.ID {
				t.Errorf("rule %s of org %s listed", r.ID, r.OrgID)
			}
		}
		byName, err := s.FindRulesetByName(ctx, mine.ID, "Shared Name")
		if err != nil {
			t.Fatal(err)
		}
		if byName.ID != myRS.ID {
			t.Errorf("FindRulesetByName = %s, want %s", byName.ID, myRS.ID)
		}
	})
	t.Run("cannot read or change another org's rulesets", func(t *testing.T) {
		_, err := s.FindRuleset(ctx, mine.ID, theirRS.ID)
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.ListRules(ctx, mine.ID, theirRS.ID)
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.UpdateRuleset(ctx, &aip.Ruleset{ID: theirRS.ID, OrgID: mine.ID, Name: "x"}), aip.ENOTFOUND)
		_, err = s.DeleteRuleset(ctx, mine.ID, theirRS.ID)
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.CreateRule(ctx, hostRule(mine.ID, theirRS.ID, "intruder")), aip.ENOTFOUND)
	})
	t.Run("cannot read, move or change another org's rules", func(t *testing.T) {
		_, err := s.FindRule(ctx, mine.ID, "", theirRule.ID)
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.FindRuleTags(ctx, mine.ID, theirRule.ID)
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.SetRuleTags(ctx, mine.ID, theirRule.ID, aip.TagSet{}), aip.ENOTFOUND)
		up := *theirRule
		up.OrgID = mine.ID
		wantCode(t, s.UpdateRule(ctx, &up), aip.ENOTFOUND)
		wantCode(t, s.DeleteRule(ctx, mine.ID, theirRS.ID, theirRule.ID), aip.ENOTFOUND)
		err = s.UpdateRuleset(ctx, &aip.Ruleset{ID: myRS.ID, OrgID: mine.ID, Name: "Shared Name", Rules: []string{theirRule.ID}})
		wantCode(t, err, aip.ENOTFOUND)
		got, err := s.FindRule(ctx, theirs.ID, theirRS.ID, theirRule.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(theirRule, got, timeOpts); diff != "" {
			t.Errorf("their rule changed (-want +got):\n%s", diff)
		}
		tags, err := s.FindRuleTags(ctx, theirs.ID, theirRule.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(tags.Inclusion) != 1 {
			t.Errorf("their tags changed: %+v", tags)
		}
	})
}
