package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aipsec/aip"
)

// vulnPageSize is how many (CVE, package) rows one page of the
// vulnerabilities list holds.
const vulnPageSize = 50

// maxVulnSuppressionReason bounds a suppression's reason, in characters,
// as the API does.
const maxVulnSuppressionReason = 1000

// vulnAdvisoryID accepts CVE numbers and the other advisory ids a
// suppression may name (the API's rule).
var vulnAdvisoryID = regexp.MustCompile(`^[A-Z][A-Z0-9._:-]{2,63}$`)

// vulnsView is the data of the vulnerabilities list.
type vulnsView struct {
	Status  string
	Notices bool
	// Package, Hostname, AgentID and CVE narrow the list; Heading says by
	// what ("" for the plain list by CVE).
	Package, Hostname, AgentID, CVE string
	Heading                         string
	Rows                            []vulnRow
	// StatusTabs switch the status keeping the other filters.
	StatusTabs []vulnTab
	// NextURL continues after the last row; FirstURL restarts when paging.
	NextURL, FirstURL string
	CanWrite          bool
}

// vulnTab is one status tab of the list.
type vulnTab struct {
	Label, URL string
	Current    bool
}

// vulnRow is one (CVE, system package) of the list with the links the
// template needs precomputed.
type vulnRow struct {
	*aip.Vulnerability
	// Package is the installed package's name (the first word of the
	// reported package), the key of the by-package view.
	Package string
	// SuppressURL opens the suppress form prefilled for this CVE and
	// package; "" for readers and already suppressed rows.
	SuppressURL string
}

// vulnFilters reads the list's query into a store filter and the view.
func (h *Handler) vulnFilters(q url.Values, s *Session) (aip.VulnFilter, vulnsView, string) {
	v := vulnsView{Status: q.Get("status"), Notices: q.Get("notices") == "true",
		Package: strings.TrimSpace(q.Get("package")), Hostname: strings.TrimSpace(q.Get("hostname")),
		AgentID: q.Get("agent"), CVE: strings.TrimSpace(q.Get("cve")), CanWrite: s.CanWrite()}
	switch v.Status {
	case "":
		v.Status = aip.VulnActive
	case aip.VulnActive, aip.VulnSuppressed, aip.VulnResolved, aip.VulnAll:
	default:
		return aip.VulnFilter{}, v, "The status must be active, suppressed, resolved or all."
	}
	f := aip.VulnFilter{OrgID: s.OrgID, Status: v.Status, HasSecurityNotices: v.Notices, Package: v.Package,
		Hostname: v.Hostname, AgentID: v.AgentID, CVE: v.CVE, Limit: vulnPageSize + 1, Now: h.now()}
	if cve, pkg := q.Get("afterCve"), q.Get("afterPkg"); cve != "" {
		f.After = &aip.VulnCursor{CVE: cve, SystemPackage: pkg}
	}
	return f, v, ""
}

// link is the list's URL with the view's filters, status instead of its
// own, and extra parameters.
func (v *vulnsView) link(status string, extra url.Values) string {
	u := url.Values{"status": {status}}
	for k, val := range map[string]string{"package": v.Package, "hostname": v.Hostname, "agent": v.AgentID, "cve": v.CVE} {
		if val != "" {
			u.Set(k, val)
		}
	}
	if v.Notices {
		u.Set("notices", "true")
	}
	for k, vs := range extra {
		u[k] = vs
	}
	return Prefix + "vulnerabilities?" + u.Encode()
}

// vulnerabilities lists the organization's vulnerabilities by CVE, like
// GET /v2/vulnerabilities (status, hasSecurityNotices, keyset paging on
// (CVE, system package)), narrowed to one package, host or agent when the
// query names one.
func (h *Handler) vulnerabilities(w http.ResponseWriter, r *http.Request, s *Session) {
	f, v, msg := h.vulnFilters(r.URL.Query(), s)
	if msg != "" {
		h.renderError(w, r, http.StatusBadRequest, msg)
		return
	}
	if v.AgentID != "" {
		if !aip.IsUUID(v.AgentID) {
			h.renderError(w, r, http.StatusNotFound, "There is no such agent in this organization.")
			return
		}
		a, err := h.cfg.Store.FindAgent(r.Context(), s.OrgID, v.AgentID, h.agentOnlineSince())
		if aip.ErrorCode(err) == aip.ENOTFOUND {
			h.renderError(w, r, http.StatusNotFound, "There is no such agent in this organization.")
			return
		} else if err != nil {
			h.storeFailure(w, r, "find agent", err)
			return
		}
		v.Heading = "on host " + a.Hostname
	}
	switch {
	case v.Heading != "":
	case v.Hostname != "":
		v.Heading = "on host " + v.Hostname
	case v.Package != "":
		v.Heading = "in package " + v.Package
	case v.CVE != "":
		v.Heading = v.CVE
	}
	list, err := h.cfg.Store.ListVulnerabilities(r.Context(), f)
	if err != nil {
		h.storeFailure(w, r, "list vulnerabilities", err)
		return
	}
	if len(list) > vulnPageSize {
		list = list[:vulnPageSize]
		last := list[len(list)-1]
		v.NextURL = v.link(v.Status, url.Values{"afterCve": {last.CVENumber}, "afterPkg": {last.SystemPackage}})
	}
	if f.After != nil {
		v.FirstURL = v.link(v.Status, nil)
	}
	for _, st := range []string{aip.VulnActive, aip.VulnSuppressed, aip.VulnResolved, aip.VulnAll} {
		v.StatusTabs = append(v.StatusTabs, vulnTab{Label: st, URL: v.link(st, nil), Current: st == v.Status})
	}
	for _, vu := range list {
		row := vulnRow{Vulnerability: vu, Package: packageName(vu.ReportedPackage)}
		if v.CanWrite && !vu.IsSuppressed {
			u := url.Values{"cve": {vu.CVENumber}, "package": {row.Package}}
			if v.AgentID != "" {
				u.Set("agent", v.AgentID)
			}
			row.SuppressURL = Prefix + "vulnerabilities/suppress?" + u.Encode()
		}
		v.Rows = append(v.Rows, row)
	}
	h.renderPage(w, r, s, "vulns", v)
}

// packageName is the package part of a reported package ("name version").
func packageName(reported string) string {
	name, _, _ := strings.Cut(reported, " ")
	return name
}

// suppressForm is the suppress form's data: what was entered and, after a
// refused post, why.
type suppressForm struct {
	CVE, Package, AgentID, Reason, Expires string
	Error                                  string
}

// suppressionsView is the data of the suppressions list.
type suppressionsView struct {
	Suppressions []suppressionRow
	CanWrite     bool
	// Notice confirms the action the list was redirected from.
	Notice string
}

// suppressionRow is one suppression with its optional scope flattened
// for the template; Host is the hostname of AgentID ("" when unknown).
type suppressionRow struct {
	*aip.Suppression
	Pkg, AgentID, Host string
}

// suppressVulnForm shows the suppress form, prefilled from the query (the
// list's "Suppress" links).
func (h *Handler) suppressVulnForm(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	h.renderPage(w, r, s, "vulns_suppress", suppressForm{CVE: q.Get("cve"), Package: q.Get("package"), AgentID: q.Get("agent")})
}

// suppressVuln creates a suppression (POST, writers only) with the API's
// checks, then redirects to the suppressions list; a refused form comes
// back with its error and a 422.
func (h *Handler) suppressVuln(w http.ResponseWriter, r *http.Request, s *Session) {
	p := r.PostForm
	form := suppressForm{CVE: strings.TrimSpace(p.Get("cve")), Package: strings.TrimSpace(p.Get("package")),
		AgentID: strings.TrimSpace(p.Get("agent")), Reason: strings.TrimSpace(p.Get("reason")), Expires: strings.TrimSpace(p.Get("expires"))}
	sup, msg, err := h.checkVulnSuppression(r, s, &form)
	if err != nil {
		h.Audit(r, s, "create", "suppress-vulnerability", false)
		h.storeFailure(w, r, "check suppression", err)
		return
	}
	if msg != "" {
		h.Audit(r, s, "create", "suppress-vulnerability", false)
		form.Error = msg
		h.renderPageStatus(w, r, http.StatusUnprocessableEntity, s, "vulns_suppress", form)
		return
	}
	if err := h.cfg.Store.CreateSuppression(r.Context(), sup); err != nil {
		h.Audit(r, s, "create", "suppress-vulnerability", false)
		h.storeFailure(w, r, "create suppression", err)
		return
	}
	h.Audit(r, s, "create", "suppress-vulnerability", true)
	http.Redirect(w, r, Prefix+"vulnerabilities/suppressions?done=suppressed", http.StatusSeeOther)
}

// checkVulnSuppression validates the form as POST
// /v2/vulnerabilities/suppressions does; msg is the reason it is refused.
// The expiry is a date and time in UTC (the datetime-local input's
// format), a date (midnight UTC) or any time the API accepts.
func (h *Handler) checkVulnSuppression(r *http.Request, s *Session, f *suppressForm) (sup *aip.Suppression, msg string, err error) {
	now := h.now()
	sup = &aip.Suppression{OrgID: s.OrgID, CVENumber: f.CVE, CreatedBy: s.User.ID, CreatedAt: aip.Time{Time: now}}
	if !vulnAdvisoryID.MatchString(f.CVE) {
		return nil, "Enter a CVE number such as CVE-2024-1234, or another advisory id.", nil
	}
	if f.Package != "" {
		if len(f.Package) > 255 {
			return nil, "The package name may be at most 255 characters.", nil
		}
		pkg := f.Package
		sup.Package = &pkg
	}
	if f.AgentID != "" {
		if !aip.IsUUID(f.AgentID) {
			return nil, "The agent must be an agent id of this organization.", nil
		}
		_, err := h.cfg.Store.FindAgent(r.Context(), s.OrgID, f.AgentID, h.agentOnlineSince())
		if aip.ErrorCode(err) == aip.ENOTFOUND {
			return nil, "The agent must be an agent id of this organization.", nil
		} else if err != nil {
			return nil, "", err
		}
		id := f.AgentID
		sup.AgentID = &id
	}
	switch {
	case f.Reason == "":
		return nil, "Give a reason for the suppression.", nil
	case utf8.RuneCountInString(f.Reason) > maxVulnSuppressionReason:
		return nil, "The reason may be at most 1000 characters.", nil
	}
	sup.Reason = f.Reason
	if f.Expires != "" {
		at, ok := parseExpiry(f.Expires)
		if !ok {
			return nil, "The expiry must be a date and time such as 2030-12-31T23:59 (UTC).", nil
		}
		if !at.After(now) {
			return nil, "The expiry must be in the future.", nil
		}
		sup.ExpiresAt = aip.Time{Time: at}
	}
	return sup, "", nil
}

// parseExpiry reads a suppression's expiry in UTC.
func parseExpiry(v string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	t, _, err := aip.ParseTime(v)
	return t.UTC().Truncate(time.Millisecond), err == nil
}

// unsuppressVuln deletes a suppression of the organization (POST, writers
// only) and redirects to the suppressions list.
func (h *Handler) unsuppressVuln(w http.ResponseWriter, r *http.Request, s *Session) {
	id := strings.TrimSpace(r.PostForm.Get("id"))
	var err error
	if aip.IsUUID(id) {
		err = h.cfg.Store.DeleteSuppression(r.Context(), s.OrgID, id)
	} else {
		err = aip.Errorf(aip.ENOTFOUND, "no suppression %q", id)
	}
	h.Audit(r, s, "delete", "unsuppress-vulnerability", err == nil)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		h.renderError(w, r, http.StatusNotFound, "There is no such suppression in this organization.")
		return
	} else if err != nil {
		h.storeFailure(w, r, "delete suppression", err)
		return
	}
	http.Redirect(w, r, Prefix+"vulnerabilities/suppressions?done=unsuppressed", http.StatusSeeOther)
}

// vulnSuppressions lists the organization's suppressions, newest first, with
// an unsuppress button for writers.
func (h *Handler) vulnSuppressions(w http.ResponseWriter, r *http.Request, s *Session) {
	sups, err := h.cfg.Store.ListSuppressions(r.Context(), s.OrgID)
	if err != nil {
		h.storeFailure(w, r, "list suppressions", err)
		return
	}
	v := suppressionsView{CanWrite: s.CanWrite()}
	switch r.URL.Query().Get("done") {
	case "suppressed":
		v.Notice = "The vulnerability is suppressed."
	case "unsuppressed":
		v.Notice = "The suppression is removed."
	}
	hosts := map[string]string{}
	for _, sup := range sups {
		row := suppressionRow{Suppression: sup}
		if sup.Package != nil {
			row.Pkg = *sup.Package
		}
		if sup.AgentID != nil {
			row.AgentID = *sup.AgentID
			host, ok := hosts[row.AgentID]
			if !ok {
				a, err := h.cfg.Store.FindAgent(r.Context(), s.OrgID, row.AgentID, h.agentOnlineSince())
				if err != nil && aip.ErrorCode(err) != aip.ENOTFOUND {
					h.storeFailure(w, r, "find suppression agent", err)
					return
				}
				if err == nil {
					host = a.Hostname
				}
				hosts[row.AgentID] = host
			}
			row.Host = host
		}
		v.Suppressions = append(v.Suppressions, row)
	}
	h.renderPage(w, r, s, "vulns_suppressions", v)
}
