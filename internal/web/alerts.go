package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aipsec/aip"
)

// alertPageSize is how many alerts, or events of an alert, a console page
// shows: the API's page size.
const alertPageSize = 100

// maxCursorID bounds the id of a page cursor: event ids are the agents'
// own, and a link should not carry an unbounded one.
const maxCursorID = 256

// alertFilterKeys are the alert list's filter parameters, in the order the
// list's links carry them.
var alertFilterKeys = []string{"status", "severity", "rule", "ruleset", "agent", "from", "until"}

// dismissReasons are the reasons a user may give, with their labels.
var dismissReasons = []struct{ Value, Label string }{
	{aip.DismissBusinessOp, "Business operation"},
	{aip.DismissCompanyPolicy, "Company policy"},
	{aip.DismissMaintenance, "Maintenance"},
	{aip.DismissOther, "Other (explain below)"},
}

// alertListView is the data of the alert list.
type alertListView struct {
	// Form holds the filter values as given, to fill the form again.
	Form map[string]string
	// Error is why the filters were refused (the list is then empty).
	Error  string
	Alerts []*aip.Alert
	// Next is the link to the next page, "" on the last one; First is the
	// link back to the first page, "" on the first one.
	Next, First string
	// Back is the list's query string, which the dismiss form posts so
	// that the user returns to the same list.
	Back string
	// Dismissed is how many alerts the previous action dismissed (-1 when
	// the page does not follow a dismissal).
	Dismissed int
	Reasons   []struct{ Value, Label string }
	CanWrite  bool
}

// alertQueryFilter is a validated alert list query.
type alertQueryFilter struct {
	f    aip.AlertFilter
	vals url.Values // the normalized filter parameters, without the cursor
}

// parseAlertQuery validates the list's query parameters the way the API
// does: status active (the default) or dismissed, severity 1..3, from and
// until as aip.ParseTimeRange reads them, and the keyset cursor "after".
func parseAlertQuery(orgID string, q url.Values) (alertQueryFilter, error) {
	out := alertQueryFilter{f: aip.AlertFilter{OrgID: orgID, Limit: alertPageSize + 1}, vals: url.Values{}}
	for _, k := range alertFilterKeys {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			out.vals.Set(k, v)
		}
	}
	switch st := out.vals.Get("status"); st {
	case "", aip.AlertActive:
		out.f.Status = aip.AlertActive
	case aip.AlertDismissed:
		out.f.Status = aip.AlertDismissed
	default:
		return out, errors.New("Status must be active or dismissed.")
	}
	out.vals.Set("status", out.f.Status)
	switch sev := out.vals.Get("severity"); sev {
	case "":
	case "1", "2", "3":
		out.f.Severity, _ = strconv.Atoi(sev)
	default:
		return out, errors.New("Severity must be high, medium or low.")
	}
	out.f.RuleID = out.vals.Get("rule")
	out.f.RulesetID = out.vals.Get("ruleset")
	out.f.AgentID = out.vals.Get("agent")
	rng, err := aip.ParseTimeRange(out.vals.Get("from"), out.vals.Get("until"))
	if err != nil {
		return out, errors.New(aip.ErrorMessage(err))
	}
	out.f.Range = rng
	if a := q.Get("after"); a != "" {
		c, err := parseCursor(a, aip.IsUUID)
		if err != nil {
			return out, err
		}
		out.f.After = c
	}
	return out, nil
}

// formatCursor encodes a keyset position as "<unix ms>.<id>". It is not
// signed like the API's page tokens: it only ever selects alerts of the
// session's own organization, so an edited cursor shows nothing new.
func formatCursor(c aip.Cursor) string {
	return strconv.FormatInt(c.Time.UnixMilli(), 10) + "." + c.ID
}

// parseCursor reads formatCursor's encoding; idOK checks the id (alert
// ids are UUIDs, event ids whatever the agent sent, but never empty nor
// longer than maxCursorID).
func parseCursor(s string, idOK func(string) bool) (*aip.Cursor, error) {
	ms, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" || len(id) > maxCursorID || !idOK(id) {
		return nil, errors.New("The page link is not valid; start again from the first page.")
	}
	return &aip.Cursor{Time: time.UnixMilli(n).UTC(), ID: id}, nil
}

// alerts is GET /console/alerts: the filtered list, newest first, with
// keyset paging and, for writers, the dismiss form.
func (h *Handler) alerts(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	v := &alertListView{Form: map[string]string{}, Dismissed: -1, Reasons: dismissReasons, CanWrite: s.CanWrite()}
	for _, k := range alertFilterKeys {
		v.Form[k] = q.Get(k)
	}
	if n, err := strconv.Atoi(q.Get("dismissed")); err == nil && n >= 0 {
		v.Dismissed = n
	}
	aq, err := parseAlertQuery(s.OrgID, q)
	if err != nil {
		v.Error = err.Error()
		h.renderPageStatus(w, r, http.StatusBadRequest, s, "alerts", v)
		return
	}
	v.Form["status"] = aq.f.Status
	list, err := h.cfg.Store.ListAlerts(r.Context(), aq.f)
	if err != nil {
		if aip.ErrorCode(err) == aip.EINVALID {
			v.Error = aip.ErrorMessage(err)
			h.renderPageStatus(w, r, http.StatusBadRequest, s, "alerts", v)
			return
		}
		h.cfg.Logger.Error("web alerts: list", slog.String("org", s.OrgID), slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	base := aq.vals.Encode()
	if len(list) > alertPageSize {
		list = list[:alertPageSize]
		last := list[len(list)-1]
		next := url.Values{}
		for k, vs := range aq.vals {
			next[k] = vs
		}
		next.Set("after", formatCursor(aip.Cursor{Time: last.CreatedAt.Time, ID: last.ID}))
		v.Next = Prefix + "alerts?" + next.Encode()
	}
	if aq.f.After != nil {
		v.First = Prefix + "alerts?" + base
		v.Back = r.URL.Query().Encode()
	}
	if v.Back == "" {
		v.Back = base
	}
	v.Alerts = list
	h.renderPage(w, r, s, "alerts", v)
}

// dismissAlerts is POST /console/alerts/dismiss (writers only): it
// dismisses the checked alerts with the chosen reason, audits the action
// and redirects back to the list it came from.
func (h *Handler) dismissAlerts(w http.ResponseWriter, r *http.Request, s *Session) {
	ids := r.PostForm["id"]
	d := aip.Dismissal{
		Reason: r.PostForm.Get("reason"),
		Text:   strings.TrimSpace(r.PostForm.Get("text")),
		By:     s.User.ID,
		At:     h.now(),
	}
	msg := ""
	switch {
	case len(ids) == 0:
		msg = "Select at least one alert to dismiss."
	case len(ids) > aip.MaxDismissIDs:
		msg = fmt.Sprintf("Dismiss at most %d alerts at a time.", aip.MaxDismissIDs)
	}
	for _, id := range ids {
		if !aip.IsUUID(id) {
			msg = "The form named an alert that does not exist."
		}
	}
	if msg == "" {
		if err := d.Validate(); err != nil {
			msg = aip.ErrorMessage(err)
			if d.Reason == aip.DismissOther && d.Text == "" {
				msg = "Explain the reason in the text field when the reason is Other."
			} else if d.Text != "" && d.Reason != aip.DismissOther {
				msg = "A text is only kept with the reason Other: choose Other or clear the text."
			}
		}
	}
	if msg != "" {
		h.Audit(r, s, "update", "dismiss-alerts", false)
		h.renderError(w, r, http.StatusBadRequest, msg)
		return
	}
	n, err := h.cfg.Store.DismissAlerts(r.Context(), s.OrgID, ids, d)
	h.Audit(r, s, "update", "dismiss-alerts", err == nil)
	if err != nil {
		h.cfg.Logger.Error("web alerts: dismiss", slog.String("org", s.OrgID), slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	// Back is re-read as a query and re-encoded, keeping only the list's
	// own parameters, so it can only ever lead to the alert list.
	back, _ := url.ParseQuery(r.PostForm.Get("back"))
	q := url.Values{}
	for _, k := range append(alertFilterKeys, "after") {
		if v := back.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	q.Set("dismissed", strconv.Itoa(n))
	http.Redirect(w, r, Prefix+"alerts?"+q.Encode(), http.StatusSeeOther)
}

// alertEventView is one contributing event, its JSON indented.
type alertEventView struct {
	ID, Type, AgentID string
	Time              time.Time
	JSON              string
}

// alertView is the data of the alert page.
type alertView struct {
	Alert  *aip.Alert
	Events []alertEventView
	// Next is the link to the next page of events, "" on the last;
	// First is the link to the first page, "" on it.
	Next, First string
}

// alert is GET /console/alerts/{id}: one alert of the organization, its
// rule, aggregates and contributing events, 100 a page. An id of another
// organization's alert is a 404, as an unknown one.
func (h *Handler) alert(w http.ResponseWriter, r *http.Request, s *Session) {
	id := r.PathValue("id")
	if !aip.IsUUID(id) {
		h.renderError(w, r, http.StatusNotFound, "There is no such alert.")
		return
	}
	var after *aip.Cursor
	if a := r.URL.Query().Get("after"); a != "" {
		c, err := parseCursor(a, func(string) bool { return true })
		if err != nil {
			h.renderError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		after = c
	}
	a, err := h.cfg.Store.FindAlert(r.Context(), s.OrgID, id)
	if err == nil {
		var evs []*aip.Event
		if evs, err = h.cfg.Store.ListAlertEvents(r.Context(), s.OrgID, id, after, alertPageSize+1); err == nil {
			h.renderAlert(w, r, s, a, evs, after != nil)
			return
		}
	}
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		h.renderError(w, r, http.StatusNotFound, "There is no such alert.")
		return
	}
	h.cfg.Logger.Error("web alert", slog.String("org", s.OrgID), slog.String("alert", id), slog.Any("error", err))
	h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
}

// renderAlert renders the alert page with one page of its events (at most
// alertPageSize+1, the extra one saying that there is a next page).
func (h *Handler) renderAlert(w http.ResponseWriter, r *http.Request, s *Session, a *aip.Alert, evs []*aip.Event, paged bool) {
	v := &alertView{Alert: a}
	self := Prefix + "alerts/" + url.PathEscape(a.ID)
	if len(evs) > alertPageSize {
		evs = evs[:alertPageSize]
		last := evs[len(evs)-1]
		v.Next = self + "?after=" + url.QueryEscape(formatCursor(aip.Cursor{Time: last.Time, ID: last.ID}))
	}
	if paged {
		v.First = self
	}
	for _, e := range evs {
		var buf bytes.Buffer
		raw := e.Raw
		if len(raw) == 0 {
			raw = json.RawMessage("{}")
		}
		text := string(raw)
		if err := json.Indent(&buf, raw, "", "  "); err == nil {
			text = buf.String()
		}
		v.Events = append(v.Events, alertEventView{ID: e.ID, Type: e.Type, AgentID: e.AgentID, Time: e.Time, JSON: text})
	}
	h.renderPage(w, r, s, "alert", v)
}
