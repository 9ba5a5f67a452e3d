package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/agent/collect"
	"github.com/aipsec/aip/internal/rules"
)

// agentGet sends a Hawk-signed agent GET with the given extra headers and
// checks the signature of any authenticated answer.
func (h *harness) agentGet(t testing.TB, a account, path string, header map[string]string) reply {
	t.Helper()
	req := h.rawRequest(h.ctx(t), t, http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	art := h.sign(t, req, a, nil, nil)
	r := h.do(t, req)
	if r.Status != http.StatusUnauthorized {
		verifySigned(t, a, art, r)
	}
	return r
}

// agentConfigAnswer is the 200 body of GET /agent/v1/config.
type agentConfigAnswer struct {
	Version     string              `json:"version"`
	FileWatches []collect.FileWatch `json:"fileWatches"`
}

// fetchConfig gets the agent's config, requires a 200 whose ETag and
// version agree with its watches, and returns it.
func (h *harness) fetchConfig(t testing.TB, a account) agentConfigAnswer {
	t.Helper()
	r := h.agentGet(t, a, "/agent/v1/config", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("config: %d %s", r.Status, r.Body)
	}
	var got agentConfigAnswer
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("config answer: %v", err)
	}
	b, err := json.Marshal(got.FileWatches)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if want := hex.EncodeToString(sum[:]); got.Version != want {
		t.Errorf("version %q, want the SHA-256 of the watches %q", got.Version, want)
	}
	if etag := r.Header.Get("ETag"); etag != `"`+got.Version+`"` {
		t.Errorf("ETag %q, want the quoted version %q", etag, got.Version)
	}
	return got
}

// watchOf returns the watch of path, failing when there is none.
func watchOf(t testing.TB, cfg agentConfigAnswer, path string) collect.FileWatch {
	t.Helper()
	for _, w := range cfg.FileWatches {
		if w.Path == path {
			return w
		}
	}
	t.Fatalf("no watch for %s in %+v", path, cfg.FileWatches)
	return collect.FileWatch{}
}

// sortedCopy returns list sorted, for expectations built from the Base
// Rule Set's own lists.
func sortedCopy(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return out
}

// baseFileRule returns the named File rule of the Base Rule Set.
func baseFileRule(t testing.TB, name string) rules.Rule {
	t.Helper()
	for _, r := range rules.BaseRuleSet() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no base rule %q", name)
	return rules.Rule{}
}

func TestAgentConfigServesTheBaseRuleSetWatches(t *testing.T) {
	h := newHarness(t)
	_, key := h.newAgentOrg(t, "A")
	a := h.enrollAgent(t, key, "web-1")
	cfg := h.fetchConfig(t, a)

	var wantPaths []string
	for _, r := range rules.BaseRuleSet() {
		if r.Type == rules.TypeFile && r.Enabled {
			for _, p := range r.FileIntegrityPaths {
				if !slices.Contains(wantPaths, p.Path) {
					wantPaths = append(wantPaths, p.Path)
				}
			}
		}
	}
	slices.Sort(wantPaths)
	var gotPaths []string
	for _, w := range cfg.FileWatches {
		gotPaths = append(gotPaths, w.Path)
	}
	if diff := cmp.Diff(wantPaths, gotPaths); diff != "" {
		t.Errorf("watched paths, one each and sorted (-want +got):\n%s", diff)
	}

	secret := baseFileRule(t, "File: Secret File Opens")
	config := baseFileRule(t, "File: Configuration File Changes")
	authKeys := baseFileRule(t, "File: SSH Authorized Keys Changes")
	tests := []struct {
		name string
		want collect.FileWatch
	}{
		{"recursive /etc with its rule's kinds and globs", collect.FileWatch{
			Path: "/etc", Recursive: true, Events: []string{"create", "delete", "modify"}, Ignore: sortedCopy(config.IgnoreFiles),
		}},
		{"single file without globs", collect.FileWatch{
			Path: "/etc/passwd", Events: []string{"attrib", "create", "delete", "modify"}, Ignore: []string{},
		}},
		{"~/.ssh of root merges secret opens and authorized keys", collect.FileWatch{
			Path: "/root/.ssh", Recursive: true, Events: []string{"create", "delete", "modify", "open"}, Ignore: shared(secret.IgnoreFiles, authKeys.IgnoreFiles),
		}},
		{"home directories merge the same two rules", collect.FileWatch{
			Path: "/home", Recursive: true, Events: []string{"create", "delete", "modify", "open"}, Ignore: shared(secret.IgnoreFiles, authKeys.IgnoreFiles),
		}},
		{"~/.aws of root only for opens", collect.FileWatch{
			Path: "/root/.aws", Recursive: true, Events: []string{"open"}, Ignore: sortedCopy(secret.IgnoreFiles),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, watchOf(t, cfg, tc.want.Path)); diff != "" {
				t.Errorf("watch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAgentConfigMergesRules(t *testing.T) {
	h := newHarness(t)
	org, key := h.newAgentOrg(t, "A")
	user := h.newAccount(t, org, "a@example.com", aip.RoleOwner)
	a := h.enrollAgent(t, key, "web-1")
	rs, err := h.store.FindRulesetByName(context.Background(), org, rules.BaseRuleSetName)
	if err != nil {
		t.Fatal(err)
	}
	before := h.fetchConfig(t, a)

	add := func(name string, paths []map[string]any, events, ignore []string, enabled bool) {
		t.Helper()
		body := ruleBody(func(m map[string]any) {
			fileRule(m)
			m["name"] = name
			m["fileIntegrityPaths"] = paths
			m["eventsToMonitor"] = events
			m["ignoreFiles"] = ignore
			m["enabled"] = enabled
		})
		r, _ := h.signedDo(t, user, http.MethodPost, "/v2/rulesets/"+rs.ID+"/rules", body)
		if r.Status != http.StatusOK {
			t.Fatalf("create rule %s: %d %s", name, r.Status, r.Body)
		}
	}
	add("etc opens", []map[string]any{{"path": "/etc/", "recursive": false}}, []string{"OPEN", "Modify"}, []string{"*.swp", "*~"}, true)
	add("app any kind", []map[string]any{{"path": "/srv/app"}}, []string{"all"}, []string{"*.log"}, true)
	add("app opens", []map[string]any{{"path": "/srv/app", "recursive": true}}, []string{"open"}, []string{"*.tmp"}, true)
	add("www all", []map[string]any{{"path": "/var/www"}}, []string{"modify", "All"}, []string{}, true)
	add("disabled", []map[string]any{{"path": "/opt/disabled", "recursive": true}}, []string{"open"}, []string{}, false)

	// The API refuses File rules without kinds or with relative paths, but
	// rules stored before that validation exist: no kinds means all, as in
	// the engine, and a rule the engine skips is not watched either.
	for _, r := range []*aip.Rule{
		{Name: "legacy no kinds", FileIntegrityPaths: []aip.FileIntegrityPath{{Path: "/opt/legacy"}}, IgnoreFiles: []string{"*.bak"}},
		{Name: "legacy relative", FileIntegrityPaths: []aip.FileIntegrityPath{{Path: "opt/relative"}}, EventsToMonitor: []string{"open"}},
	} {
		r.ID, r.OrgID, r.RulesetID, r.Type, r.Title, r.Enabled = aip.NewUUID(), org, rs.ID, "File", r.Name, true
		r.CreatedAt = aip.Time{Time: h.clock.Now()}
		r.UpdatedAt = r.CreatedAt
		if err := h.store.CreateRule(context.Background(), r); err != nil {
			t.Fatalf("store rule %s: %v", r.Name, err)
		}
	}

	after := h.fetchConfig(t, a)
	if after.Version == before.Version {
		t.Errorf("version %q did not change when rules were added", after.Version)
	}
	etc := baseFileRule(t, "File: Configuration File Changes").IgnoreFiles
	tests := []struct {
		name string
		want collect.FileWatch
	}{
		{"same path from two rules unions kinds, keeps shared globs and stays recursive", collect.FileWatch{
			Path: "/etc", Recursive: true, Events: []string{"create", "delete", "modify", "open"},
			Ignore: shared(etc, []string{"*.swp", "*~"}),
		}},
		{"all from one rule absorbs another rule's kinds; globs not shared are dropped", collect.FileWatch{
			Path: "/srv/app", Recursive: true, Events: []string{"all"}, Ignore: []string{},
		}},
		{"a stored rule without kinds watches all", collect.FileWatch{
			Path: "/opt/legacy", Events: []string{"all"}, Ignore: []string{"*.bak"},
		}},
		{"all in any case absorbs the rule's other kinds", collect.FileWatch{
			Path: "/var/www", Events: []string{"all"}, Ignore: []string{},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, watchOf(t, after, tc.want.Path)); diff != "" {
				t.Errorf("watch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("leaves disabled rules out", func(t *testing.T) {
		for _, w := range after.FileWatches {
			if w.Path == "/opt/disabled" {
				t.Errorf("disabled rule's path is watched: %+v", w)
			}
		}
	})
	t.Run("leaves rules the engine cannot compile out", func(t *testing.T) {
		for _, w := range after.FileWatches {
			if w.Path == "opt/relative" || w.Path == "/opt/relative" {
				t.Errorf("invalid rule's path is watched: %+v", w)
			}
		}
	})
	t.Run("answers the same version when nothing changed", func(t *testing.T) {
		if again := h.fetchConfig(t, a); again.Version != after.Version {
			t.Errorf("version %q, then %q without a change", after.Version, again.Version)
		}
	})
}

func TestAgentConfigConditionalGet(t *testing.T) {
	h := newHarness(t)
	org, key := h.newAgentOrg(t, "A")
	user := h.newAccount(t, org, "a@example.com", aip.RoleOwner)
	a := h.enrollAgent(t, key, "web-1")
	stale := h.fetchConfig(t, a).Version
	rs, err := h.store.FindRulesetByName(context.Background(), org, rules.BaseRuleSetName)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := h.signedDo(t, user, http.MethodPost, "/v2/rulesets/"+rs.ID+"/rules", ruleBody(fileRule))
	if r.Status != http.StatusOK {
		t.Fatalf("create rule: %d %s", r.Status, r.Body)
	}
	current := h.fetchConfig(t, a).Version
	if current == stale {
		t.Fatalf("version %q did not change when a File rule was added", current)
	}

	tests := []struct {
		name        string
		ifNoneMatch string
		want        int
	}{
		{"answers 304 to the current version", `"` + current + `"`, http.StatusNotModified},
		{"answers 304 to a weak current version", `W/"` + current + `"`, http.StatusNotModified},
		{"answers 304 when a list holds the current version", `"` + stale + `", "` + current + `"`, http.StatusNotModified},
		{"answers 304 to a star", `*`, http.StatusNotModified},
		{"answers 200 to a stale version", `"` + stale + `"`, http.StatusOK},
		{"answers 200 to an unquoted version", current, http.StatusOK},
		{"answers 200 without If-None-Match", "", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.ifNoneMatch != "" {
				hdr["If-None-Match"] = tc.ifNoneMatch
			}
			got := h.agentGet(t, a, "/agent/v1/config", hdr)
			if got.Status != tc.want {
				t.Fatalf("status %d, want %d: %s", got.Status, tc.want, got.Body)
			}
			if etag := got.Header.Get("ETag"); etag != `"`+current+`"` {
				t.Errorf("ETag %q, want %q", etag, `"`+current+`"`)
			}
			if tc.want == http.StatusNotModified && len(got.Body) != 0 {
				t.Errorf("304 has a body: %q", got.Body)
			}
			if tc.want == http.StatusOK {
				var ans agentConfigAnswer
				if err := json.Unmarshal(got.Body, &ans); err != nil || ans.Version != current {
					t.Errorf("200 answer version %q (%v), want %q", ans.Version, err, current)
				}
			}
		})
	}
}

func TestAgentConfigWithoutFileRules(t *testing.T) {
	h := newHarness(t)
	org, key := h.newAgentOrg(t, "A")
	user := h.newAccount(t, org, "a@example.com", aip.RoleOwner)
	r, _ := h.signedDo(t, user, http.MethodPost, "/v2/rulesets", []byte(`{"name":"Empty","description":"no rules"}`))
	if r.Status != http.StatusOK {
		t.Fatalf("create ruleset: %d %s", r.Status, r.Body)
	}
	er := h.enroll(t, map[string]any{"deployKey": key, "hostname": "bare-1", "rulesets": []string{"Empty"}})
	if er.Status != http.StatusOK {
		t.Fatalf("enroll: %d %s", er.Status, er.Body)
	}
	var e struct{ AgentID, AgentKey string }
	if err := json.Unmarshal(er.Body, &e); err != nil {
		t.Fatal(err)
	}
	got := h.fetchConfig(t, account{UserID: e.AgentID, APIKey: e.AgentKey})
	sum := sha256.Sum256([]byte("[]"))
	want := agentConfigAnswer{Version: hex.EncodeToString(sum[:]), FileWatches: []collect.FileWatch{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestAgentConfigIsolationAndRevocation(t *testing.T) {
	h := newHarness(t)
	orgA, keyA := h.newAgentOrg(t, "A")
	_, keyB := h.newAgentOrg(t, "B")
	userA := h.newAccount(t, orgA, "a@example.com", aip.RoleOwner)
	agentA := h.enrollAgent(t, keyA, "a-1")
	agentB := h.enrollAgent(t, keyB, "b-1")
	rs, err := h.store.FindRulesetByName(context.Background(), orgA, rules.BaseRuleSetName)
	if err != nil {
		t.Fatal(err)
	}
	body := ruleBody(func(m map[string]any) {
		fileRule(m)
		m["fileIntegrityPaths"] = []map[string]any{{"path": "/opt/only-a", "recursive": true}}
	})
	if r, _ := h.signedDo(t, userA, http.MethodPost, "/v2/rulesets/"+rs.ID+"/rules", body); r.Status != http.StatusOK {
		t.Fatalf("create rule: %d %s", r.Status, r.Body)
	}

	t.Run("org A's agent sees org A's rule", func(t *testing.T) {
		watchOf(t, h.fetchConfig(t, agentA), "/opt/only-a")
	})
	t.Run("org B's agent never sees org A's rule", func(t *testing.T) {
		for _, w := range h.fetchConfig(t, agentB).FileWatches {
			if w.Path == "/opt/only-a" {
				t.Errorf("org B's agent watches org A's path: %+v", w)
			}
		}
	})
	t.Run("rejects a revoked agent", func(t *testing.T) {
		if err := h.store.RevokeAgent(context.Background(), orgA, agentA.UserID); err != nil {
			t.Fatal(err)
		}
		if r := h.agentGet(t, agentA, "/agent/v1/config", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401: %s", r.Status, r.Body)
		}
	})
}

// shared returns the globs both lists hold, sorted: a merged watch ignores
// only what every merged rule ignores.
func shared(a, b []string) []string {
	out := []string{}
	for _, g := range sortedCopy(a) {
		if slices.Contains(b, g) && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}
