package web

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/aipsec/aip"
)

// Overview bounds. The top lists and the vulnerable-host counts page
// through listings; these caps keep one page view cheap however large the
// organization, and the page says when a cap was reached.
const (
	overviewAlertCap = 10000
	overviewAgentCap = 10000
	overviewVulnCap  = 10000
	overviewPageSize = 500
	overviewTopN     = 10
)

// overviewRange is one choice of the chart's ?range= link set.
type overviewRange struct {
	Key, Label string
	// Phrase is Label inside a sentence.
	Phrase  string
	Buckets int
	Step    time.Duration
}

// overviewRanges are the chart's ranges: hourly bars for a day, daily bars
// for a week and a month.
var overviewRanges = []overviewRange{
	{Key: "24h", Label: "Last 24 hours", Phrase: "last 24 hours", Buckets: 24, Step: time.Hour},
	{Key: "7d", Label: "Last 7 days", Phrase: "last 7 days", Buckets: 7, Step: 24 * time.Hour},
	{Key: "30d", Label: "Last 30 days", Phrase: "last 30 days", Buckets: 30, Step: 24 * time.Hour},
}

// rangeLink is one entry of the range link set.
type rangeLink struct {
	Label, Href string
	Current     bool
}

// topEntry is one row of a top list: a rule or a host and its open alerts.
type topEntry struct {
	ID, Name, Href string
	Count          int
}

// vulnCount is the number of distinct hosts with an active vulnerability
// of one severity.
type vulnCount struct {
	Severity string
	Hosts    int
}

// overviewView is the data of the overview page.
type overviewView struct {
	// Open counts the active alerts of the organization by severity
	// (1, 2, 3), over all time.
	Open      []aip.SeverityCount
	OpenTotal int

	Range   overviewRange
	Ranges  []rangeLink
	Chart   template.HTML
	Buckets []chartBucket
	// RangeTotal is the number of alerts (any status) created in Range.
	RangeTotal int

	// TopRules and TopHosts rank the open alerts created in Range.
	TopRules, TopHosts []topEntry
	// TopScanned is how many open alerts the top lists looked at;
	// TopCapped is set when there were more than overviewAlertCap.
	TopScanned int
	TopCapped  bool

	AgentsOnline, AgentsOffline int
	AgentsCapped                bool

	Vulnerable  []vulnCount
	VulnsCapped bool
}

// overview is the landing page: open alerts by severity, alerts over time,
// the rules and hosts with most open alerts, the agents' status and the
// hosts with active vulnerabilities.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request, s *Session) {
	ctx := r.Context()
	rng := overviewRanges[0]
	if key := r.URL.Query().Get("range"); key != "" {
		i := slices.IndexFunc(overviewRanges, func(o overviewRange) bool { return o.Key == key })
		if i < 0 {
			h.renderError(w, r, http.StatusBadRequest, "Unknown range: choose 24h, 7d or 30d.")
			return
		}
		rng = overviewRanges[i]
	}
	v, err := h.overviewData(ctx, s, rng)
	if err != nil {
		h.cfg.Logger.Error("web overview", slog.String("org", s.OrgID), slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	h.renderPage(w, r, s, "overview", v)
}

// overviewData gathers the overview of s's organization, every query scoped
// to s.OrgID.
func (h *Handler) overviewData(ctx context.Context, s *Session, rng overviewRange) (*overviewView, error) {
	now := h.now()
	v := &overviewView{Range: rng}
	for _, o := range overviewRanges {
		v.Ranges = append(v.Ranges, rangeLink{Label: o.Label, Href: Prefix + "?range=" + o.Key, Current: o.Key == rng.Key})
	}

	counts, err := h.cfg.Store.CountAlertsBySeverity(ctx, s.OrgID, aip.AlertActive, aip.TimeRange{})
	if err != nil {
		return nil, fmt.Errorf("count open alerts: %w", err)
	}
	v.Open = counts
	for _, c := range counts {
		v.OpenTotal += c.Count
	}

	// Buckets end with the current hour (24h) or UTC day (7d, 30d), so the
	// last bar is the one still filling up.
	end := now.Truncate(rng.Step).Add(rng.Step)
	start := end.Add(-time.Duration(rng.Buckets) * rng.Step)
	for i := range rng.Buckets {
		from := start.Add(time.Duration(i) * rng.Step)
		b := chartBucket{}
		if rng.Step == time.Hour {
			b.Label, b.Long = from.Format("15:00"), from.Format("2006-01-02 15:00 UTC")
		} else {
			b.Label, b.Long = from.Format("01-02"), from.Format("2006-01-02 (Mon) UTC")
		}
		sc, err := h.cfg.Store.CountAlertsBySeverity(ctx, s.OrgID, "", aip.TimeRange{From: from, Until: from.Add(rng.Step)})
		if err != nil {
			return nil, fmt.Errorf("count alerts of %s: %w", b.Long, err)
		}
		for _, c := range sc {
			if c.Severity >= 1 && c.Severity <= 3 {
				b.Counts[c.Severity-1] = c.Count
			}
		}
		v.RangeTotal += b.Total()
		v.Buckets = append(v.Buckets, b)
	}
	per := "hour"
	if rng.Step != time.Hour {
		per = "day"
	}
	v.Chart = alertChartSVG("alerts-chart",
		fmt.Sprintf("Alerts per %s, %s", per, rng.Label),
		fmt.Sprintf("Stacked bars of the alerts created per %s from %s to %s, by severity (high, medium, low): %d in all. The table below lists the same numbers.",
			per, start.Format("2006-01-02 15:04"), end.Format("2006-01-02 15:04 UTC"), v.RangeTotal),
		v.Buckets)

	agents, err := h.overviewAgents(ctx, s.OrgID, now, v)
	if err != nil {
		return nil, err
	}
	if err := h.overviewTop(ctx, s.OrgID, aip.TimeRange{From: start, Until: end}, agents, v); err != nil {
		return nil, err
	}
	if err := h.overviewVulns(ctx, s.OrgID, now, v); err != nil {
		return nil, err
	}
	return v, nil
}

// overviewAgents counts the agents online and offline and returns their
// names by id, for the top hosts.
func (h *Handler) overviewAgents(ctx context.Context, orgID string, now time.Time, v *overviewView) (map[string]string, error) {
	names := make(map[string]string)
	f := aip.AgentFilter{OrgID: orgID, OnlineSince: now.Add(-h.cfg.AgentOfflineAfter), Limit: overviewPageSize}
	for seen := 0; ; {
		page, err := h.cfg.Store.ListAgents(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("list agents: %w", err)
		}
		for _, a := range page {
			if seen == overviewAgentCap {
				v.AgentsCapped = true
				return names, nil
			}
			seen++
			if a.Status == aip.AgentOnline {
				v.AgentsOnline++
			} else {
				v.AgentsOffline++
			}
			names[a.ID] = cmp.Or(a.Name, a.Hostname, a.ID)
		}
		if len(page) < f.Limit {
			return names, nil
		}
		last := page[len(page)-1]
		f.After = &aip.Cursor{Time: last.CreatedAt.Time, ID: last.ID}
	}
}

// overviewTop ranks rules and hosts by the open alerts created in rng,
// looking at no more than overviewAlertCap alerts.
func (h *Handler) overviewTop(ctx context.Context, orgID string, rng aip.TimeRange, agents map[string]string, v *overviewView) error {
	byRule := map[string]*topEntry{}
	byHost := map[string]*topEntry{}
	f := aip.AlertFilter{OrgID: orgID, Status: aip.AlertActive, Range: rng, Limit: overviewPageSize}
scan:
	for {
		page, err := h.cfg.Store.ListAlerts(ctx, f)
		if err != nil {
			return fmt.Errorf("list open alerts: %w", err)
		}
		for _, a := range page {
			if v.TopScanned == overviewAlertCap {
				v.TopCapped = true
				break scan
			}
			v.TopScanned++
			if a.RuleID != "" {
				e := byRule[a.RuleID]
				if e == nil {
					e = &topEntry{ID: a.RuleID, Name: a.Title, Href: Prefix + "alerts?" + alertQuery("active", "rule", a.RuleID)}
					byRule[a.RuleID] = e
				}
				e.Count++
			}
			if a.AgentID != "" {
				e := byHost[a.AgentID]
				if e == nil {
					e = &topEntry{ID: a.AgentID, Name: cmp.Or(agents[a.AgentID], a.AgentID),
						Href: Prefix + "alerts?" + alertQuery("active", "agent", a.AgentID)}
					byHost[a.AgentID] = e
				}
				e.Count++
			}
		}
		if len(page) < f.Limit {
			break
		}
		last := page[len(page)-1]
		f.After = &aip.Cursor{Time: last.CreatedAt.Time, ID: last.ID}
	}
	v.TopRules, v.TopHosts = topOf(byRule), topOf(byHost)
	return nil
}

// alertQuery is the alert list's query string for one status and one
// more filter.
func alertQuery(status, key, value string) string {
	return url.Values{"status": {status}, key: {value}}.Encode()
}

// topOf returns the overviewTopN entries with the most alerts, ties by name
// then id so that the order is stable.
func topOf(m map[string]*topEntry) []topEntry {
	out := make([]topEntry, 0, len(m))
	for _, e := range m {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b topEntry) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	if len(out) > overviewTopN {
		out = out[:overviewTopN]
	}
	return out
}

// vulnSeverities are the vulnerability severities, most severe first.
var vulnSeverities = []string{"critical", "high", "medium", "low"}

// overviewVulns counts, per severity, the distinct hosts with an active
// vulnerability, looking at no more than overviewVulnCap (CVE, package)
// groups.
func (h *Handler) overviewVulns(ctx context.Context, orgID string, now time.Time, v *overviewView) error {
	hosts := map[string]map[string]bool{}
	f := aip.VulnFilter{OrgID: orgID, Status: aip.VulnActive, Limit: overviewPageSize, Now: now}
	seen := 0
scan:
	for {
		page, err := h.cfg.Store.ListVulnerabilities(ctx, f)
		if err != nil {
			return fmt.Errorf("list vulnerabilities: %w", err)
		}
		for _, vu := range page {
			if seen == overviewVulnCap {
				v.VulnsCapped = true
				break scan
			}
			seen++
			set := hosts[vu.Severity]
			if set == nil {
				set = map[string]bool{}
				hosts[vu.Severity] = set
			}
			for _, a := range vu.Agents {
				set[a.AgentID] = true
			}
		}
		if len(page) < f.Limit {
			break
		}
		last := page[len(page)-1]
		f.After = &aip.VulnCursor{CVE: last.CVENumber, SystemPackage: last.SystemPackage}
	}
	for _, sev := range vulnSeverities {
		v.Vulnerable = append(v.Vulnerable, vulnCount{Severity: sev, Hosts: len(hosts[sev])})
	}
	// A severity outside the four known ones is still shown, after them.
	var other []string
	for sev := range hosts {
		if !slices.Contains(vulnSeverities, sev) {
			other = append(other, sev)
		}
	}
	slices.Sort(other)
	for _, sev := range other {
		v.Vulnerable = append(v.Vulnerable, vulnCount{Severity: cmp.Or(sev, "unknown"), Hosts: len(hosts[sev])})
	}
	return nil
}
