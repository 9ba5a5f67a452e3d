package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/agent/collect"
	"github.com/aipsec/aip/internal/rules"
)

// agentConfig is the answer of GET /agent/v1/config.
type agentConfig struct {
	// Version is the hex SHA-256 of the canonical JSON of FileWatches, so
	// that it changes exactly when the watches do and needs no storage.
	Version     string              `json:"version"`
	FileWatches []collect.FileWatch `json:"fileWatches"`
}

// getAgentConfig answers GET /agent/v1/config: the merged watches of the
// enabled File rules of the agent's rulesets. Agents poll it every few
// seconds, so an If-None-Match naming the current version gets a bodyless
// 304 (still Hawk-signed, like every agent answer).
func (s *Server) getAgentConfig(w http.ResponseWriter, r *http.Request, a *agentPrincipal) {
	watches, err := s.agentFileWatches(r.Context(), a.OrgID, a.AgentID)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		// Revoked between authentication and now.
		writeErrorMessage(w, http.StatusUnauthorized, "The agent was revoked.")
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	cfg, err := newAgentConfig(watches)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	etag := `"` + cfg.Version + `"`
	w.Header().Set("ETag", etag)
	if etagMatches(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeOK(w, cfg)
}

// agentFileWatches lists the watches of the enabled File rules of the
// rulesets agentID runs. A ruleset deleted while it is read contributes
// nothing; a rule the engine cannot compile is skipped and logged, as the
// pipeline skips it, so that the agent watches what the engine evaluates.
func (s *Server) agentFileWatches(ctx context.Context, orgID, agentID string) ([]collect.FileWatch, error) {
	rulesets, err := s.cfg.Store.ListRulesets(ctx, orgID, agentID)
	if err != nil {
		return nil, fmt.Errorf("rulesets of agent %s: %w", agentID, err)
	}
	var fileRules []rules.Rule
	for _, rs := range rulesets {
		list, err := s.cfg.Store.ListRules(ctx, orgID, rs.ID)
		if aip.ErrorCode(err) == aip.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("rules of ruleset %s: %w", rs.ID, err)
		}
		for _, ar := range list {
			rule := rules.FromAPI(ar).Rule
			if rule.Type != rules.TypeFile || !rule.Enabled {
				continue
			}
			if err := rules.ValidateRule(rule); err != nil {
				s.logger.WarnContext(ctx, "file rule does not compile; left out of the agent config",
					slog.String("org_id", orgID), slog.String("rule_id", rule.ID), slog.Any("error", err))
				continue
			}
			fileRules = append(fileRules, rule)
		}
	}
	return mergeFileWatches(fileRules), nil
}

// mergeFileWatches turns File rules into one watch per cleaned path, sorted
// by path, with sorted lists, so that equal rule sets always give the same
// bytes. Merged rules widen each other: the union of their event kinds
// ("all" absorbing the rest; a rule listing none means all, as in the
// engine), recursive when any is. Ignore globs are those every merged
// rule shares: a glob of one rule must not hide the files another rule of
// the same path wants; the server applies each rule's own globs again.
func mergeFileWatches(list []rules.Rule) []collect.FileWatch {
	type acc struct {
		recursive bool
		all       bool
		events    map[string]bool
		// ignore counts, per glob, the merged rules that list it; rules
		// counts the rules merged into the watch.
		ignore map[string]int
		rules  int
	}
	byPath := map[string]*acc{}
	for _, r := range list {
		for _, p := range r.FileIntegrityPaths {
			name := path.Clean(p.Path)
			w := byPath[name]
			if w == nil {
				w = &acc{events: map[string]bool{}, ignore: map[string]int{}}
				byPath[name] = w
			}
			w.recursive = w.recursive || p.Recursive
			if len(r.EventsToMonitor) == 0 {
				w.all = true
			}
			for _, k := range r.EventsToMonitor {
				k = strings.ToLower(k)
				if k == "all" {
					w.all = true
				}
				w.events[k] = true
			}
			w.rules++
			for _, g := range slices.Compact(slices.Sorted(slices.Values(r.IgnoreFiles))) {
				w.ignore[g]++
			}
		}
	}
	out := make([]collect.FileWatch, 0, len(byPath))
	for name, w := range byPath {
		shared := map[string]bool{}
		for g, n := range w.ignore {
			if n == w.rules {
				shared[g] = true
			}
		}
		fw := collect.FileWatch{Path: name, Recursive: w.recursive, Events: []string{"all"}, Ignore: sortedKeys(shared)}
		if !w.all {
			fw.Events = sortedKeys(w.events)
		}
		out = append(out, fw)
	}
	slices.SortFunc(out, func(a, b collect.FileWatch) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// sortedKeys returns the keys of m in order, never nil.
func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// newAgentConfig versions watches by the SHA-256 of their JSON, which
// mergeFileWatches made canonical.
func newAgentConfig(watches []collect.FileWatch) (agentConfig, error) {
	if watches == nil {
		watches = []collect.FileWatch{}
	}
	b, err := json.Marshal(watches)
	if err != nil {
		return agentConfig{}, fmt.Errorf("encode file watches: %w", err)
	}
	sum := sha256.Sum256(b)
	return agentConfig{Version: hex.EncodeToString(sum[:]), FileWatches: watches}, nil
}

// etagMatches applies If-None-Match (RFC 9110 §13.1.2, weak comparison) to
// the current entity tag: "*" or any listed tag equal to it matches.
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}
