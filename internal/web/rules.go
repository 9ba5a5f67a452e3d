package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/rules"
)

// rulesetView is one ruleset of the rules page with its rules.
type rulesetView struct {
	Ruleset *aip.Ruleset
	Rules   []*aip.Rule
}

// rulesetsView is the data of the rules page.
type rulesetsView struct {
	Rulesets []rulesetView
}

// ruleForm is the create and edit form as the user filled it in: every
// field is kept as typed, so that a refused form comes back unchanged.
type ruleForm struct {
	Name, Type, Title, Severity, AlertDescription string
	AggregateFields, Filter, Window, Threshold    string
	Suppressions                                  string
	Enabled                                       bool
	// File rules only: paths watched with and without their
	// subdirectories, one per line; events and ignored globs.
	PathsRecursive, Paths, EventsToMonitor, IgnoreFiles string
}

// fieldError is the message shown next to one form field. Position is the
// character position (from 1) of a filter syntax error, 0 otherwise.
type fieldError struct {
	Message  string
	Position int
}

// ruleView is the data of the rule page: one rule's detail and its form,
// or the empty form of a new rule.
type ruleView struct {
	Ruleset *aip.Ruleset
	Rule    *aip.Rule // nil for a new rule
	Form    ruleForm
	Errors  map[string]fieldError
	// Error is the form's summary message when there are errors.
	Error string
	Saved bool
	Types []string
}

// ruleTypes names the rule types in the order the form offers them.
func ruleTypes() []string {
	var out []string
	for _, t := range rules.RuleTypes() {
		out = append(out, string(t))
	}
	return out
}

// rulesets is GET /console/rules: every ruleset of the organization with
// its rules.
func (h *Handler) rulesets(w http.ResponseWriter, r *http.Request, s *Session) {
	ctx := r.Context()
	list, err := h.cfg.Store.ListRulesets(ctx, s.OrgID, "")
	if err != nil {
		h.internalError(w, r, "list rulesets", err)
		return
	}
	all, err := h.cfg.Store.ListRules(ctx, s.OrgID, "")
	if err != nil {
		h.internalError(w, r, "list rules", err)
		return
	}
	byRuleset := make(map[string][]*aip.Rule)
	for _, rl := range all {
		byRuleset[rl.RulesetID] = append(byRuleset[rl.RulesetID], rl)
	}
	v := rulesetsView{}
	for _, rs := range list {
		v.Rulesets = append(v.Rulesets, rulesetView{Ruleset: rs, Rules: byRuleset[rs.ID]})
	}
	h.renderPage(w, r, s, "rulesets", v)
}

// internalError logs err and answers the generic 500 page.
func (h *Handler) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.cfg.Logger.Error("web: "+what, slog.Any("error", err))
	h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
}

// findRuleset returns the ruleset of the path in the session's
// organization; it answers 404 itself (and returns nil) when there is none.
func (h *Handler) findRuleset(w http.ResponseWriter, r *http.Request, s *Session) *aip.Ruleset {
	id := r.PathValue("rulesetId")
	if !aip.IsUUID(id) {
		h.renderError(w, r, http.StatusNotFound, "There is no such ruleset.")
		return nil
	}
	rs, err := h.cfg.Store.FindRuleset(r.Context(), s.OrgID, id)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		h.renderError(w, r, http.StatusNotFound, "There is no such ruleset.")
		return nil
	} else if err != nil {
		h.internalError(w, r, "find ruleset", err)
		return nil
	}
	return rs
}

// findRule returns the rule of the path in the session's organization and
// the path's ruleset; it answers 404 itself when there is none.
func (h *Handler) findRule(w http.ResponseWriter, r *http.Request, s *Session) (*aip.Ruleset, *aip.Rule) {
	rs := h.findRuleset(w, r, s)
	if rs == nil {
		return nil, nil
	}
	id := r.PathValue("ruleId")
	if !aip.IsUUID(id) {
		h.renderError(w, r, http.StatusNotFound, "There is no such rule.")
		return nil, nil
	}
	rl, err := h.cfg.Store.FindRule(r.Context(), s.OrgID, rs.ID, id)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		h.renderError(w, r, http.StatusNotFound, "There is no such rule.")
		return nil, nil
	} else if err != nil {
		h.internalError(w, r, "find rule", err)
		return nil, nil
	}
	return rs, rl
}

// ruleNew is GET /console/rules/{rulesetId}/new: the empty form.
func (h *Handler) ruleNew(w http.ResponseWriter, r *http.Request, s *Session) {
	rs := h.findRuleset(w, r, s)
	if rs == nil {
		return
	}
	h.renderPage(w, r, s, "rule", &ruleView{Ruleset: rs, Types: ruleTypes(),
		Form: ruleForm{Type: string(rules.TypeHost), Severity: "2", Window: "3600", Threshold: "1", Enabled: true}})
}

// ruleDetail is GET /console/rules/{rulesetId}/{ruleId}: the rule, in its
// edit form for owners and users, read-only for readers.
func (h *Handler) ruleDetail(w http.ResponseWriter, r *http.Request, s *Session) {
	rs, rl := h.findRule(w, r, s)
	if rl == nil {
		return
	}
	h.renderPage(w, r, s, "rule", &ruleView{Ruleset: rs, Rule: rl, Form: formOfRule(rl), Types: ruleTypes(),
		Saved: r.URL.Query().Get("saved") == "1"})
}

// ruleCreate is POST /console/rules/{rulesetId}/new.
func (h *Handler) ruleCreate(w http.ResponseWriter, r *http.Request, s *Session) {
	rs := h.findRuleset(w, r, s)
	if rs == nil {
		return
	}
	form := readRuleForm(r.PostForm)
	rl, errs := form.rule(s.OrgID, rs.ID)
	if errs != nil {
		h.Audit(r, s, "create", "create-rule", false)
		h.renderPageStatus(w, r, http.StatusUnprocessableEntity, s, "rule",
			&ruleView{Ruleset: rs, Form: form, Errors: errs, Error: "The rule was not saved: correct the fields marked below.", Types: ruleTypes()})
		return
	}
	if err := h.cfg.Store.CreateRule(r.Context(), rl); err != nil {
		h.Audit(r, s, "create", "create-rule", false)
		h.internalError(w, r, "create rule", err)
		return
	}
	h.Audit(r, s, "create", "create-rule", true)
	http.Redirect(w, r, Prefix+"rules/"+rs.ID+"/"+rl.ID+"?saved=1", http.StatusSeeOther)
}

// ruleUpdate is POST /console/rules/{rulesetId}/{ruleId}: the form replaces
// every writable field, as PUT does in the API.
func (h *Handler) ruleUpdate(w http.ResponseWriter, r *http.Request, s *Session) {
	rs, old := h.findRule(w, r, s)
	if old == nil {
		return
	}
	form := readRuleForm(r.PostForm)
	rl, errs := form.rule(s.OrgID, rs.ID)
	if errs != nil {
		h.Audit(r, s, "update", "update-rule", false)
		h.renderPageStatus(w, r, http.StatusUnprocessableEntity, s, "rule",
			&ruleView{Ruleset: rs, Rule: old, Form: form, Errors: errs, Error: "The rule was not saved: correct the fields marked below.", Types: ruleTypes()})
		return
	}
	rl.ID = old.ID
	if err := h.cfg.Store.UpdateRule(r.Context(), rl); err != nil {
		h.Audit(r, s, "update", "update-rule", false)
		h.internalError(w, r, "update rule", err)
		return
	}
	h.Audit(r, s, "update", "update-rule", true)
	http.Redirect(w, r, Prefix+"rules/"+rs.ID+"/"+rl.ID+"?saved=1", http.StatusSeeOther)
}

// ruleToggle is POST /console/rules/{rulesetId}/{ruleId}/toggle with
// enabled=true or false: it sets the rule's state (idempotent, so a form
// posted twice does not flip it back) and returns to the rules list, or to
// the rule with next=rule.
func (h *Handler) ruleToggle(w http.ResponseWriter, r *http.Request, s *Session) {
	rs, rl := h.findRule(w, r, s)
	if rl == nil {
		return
	}
	var enabled bool
	switch r.PostForm.Get("enabled") {
	case "true":
		enabled = true
	case "false":
	default:
		h.renderError(w, r, http.StatusBadRequest, "The form must say whether to enable or disable the rule.")
		return
	}
	action := "disable-rule"
	if enabled {
		action = "enable-rule"
	}
	rl.Enabled = enabled
	if err := h.cfg.Store.UpdateRule(r.Context(), rl); err != nil {
		h.Audit(r, s, "update", action, false)
		h.internalError(w, r, "toggle rule", err)
		return
	}
	h.Audit(r, s, "update", action, true)
	next := Prefix + "rules#rule-" + rl.ID
	if r.PostForm.Get("next") == "rule" {
		next = Prefix + "rules/" + rs.ID + "/" + rl.ID
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// validateResult is the answer of the live filter check.
type validateResult struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
	Position int    `json:"position,omitempty"`
}

// ruleValidate is GET and POST /console/rules/validate with "filter" (and
// optionally "type"): the filter checked as a rule's filter is on save,
// answered as JSON for the form's script. A File rule may have no filter.
func (h *Handler) ruleValidate(w http.ResponseWriter, r *http.Request, s *Session) {
	filter, typ := r.FormValue("filter"), r.FormValue("type")
	res := validateResult{OK: true}
	if strings.TrimSpace(filter) == "" {
		if t, _ := rules.ParseRuleType(typ); t != rules.TypeFile {
			res = validateResult{Error: "Must not be empty."}
		}
	} else if _, err := rules.Compile(filter); err != nil {
		res = validateResult{Error: err.Error()}
		var se *rules.SyntaxError
		if errors.As(err, &se) {
			res.Position = se.Pos
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// Encoding this struct cannot fail.
	_ = json.NewEncoder(w).Encode(res)
}

// formOfRule fills the form with a stored rule.
func formOfRule(rl *aip.Rule) ruleForm {
	f := ruleForm{
		Name: rl.Name, Type: rl.Type, Title: rl.Title, Severity: strconv.Itoa(rl.SeverityOfAlerts),
		AlertDescription: rl.AlertDescription, AggregateFields: strings.Join(rl.AggregateFields, ", "),
		Filter: rl.Filter, Window: strconv.Itoa(rl.Window), Threshold: strconv.Itoa(rl.Threshold),
		Suppressions: strings.Join(rl.Suppressions, "\n"), Enabled: rl.Enabled,
		EventsToMonitor: strings.Join(rl.EventsToMonitor, ", "), IgnoreFiles: strings.Join(rl.IgnoreFiles, "\n"),
	}
	var rec, flat []string
	for _, p := range rl.FileIntegrityPaths {
		if p.Recursive {
			rec = append(rec, p.Path)
		} else {
			flat = append(flat, p.Path)
		}
	}
	f.PathsRecursive, f.Paths = strings.Join(rec, "\n"), strings.Join(flat, "\n")
	return f
}

// readRuleForm reads the posted form as typed.
func readRuleForm(v url.Values) ruleForm {
	return ruleForm{
		Name: v.Get("name"), Type: v.Get("type"), Title: v.Get("title"), Severity: v.Get("severityOfAlerts"),
		AlertDescription: v.Get("alertDescription"), AggregateFields: v.Get("aggregateFields"),
		Filter: v.Get("filter"), Window: v.Get("window"), Threshold: v.Get("threshold"),
		Suppressions: v.Get("suppressions"), Enabled: v.Get("enabled") == "true",
		PathsRecursive: v.Get("pathsRecursive"), Paths: v.Get("paths"),
		EventsToMonitor: v.Get("eventsToMonitor"), IgnoreFiles: v.Get("ignoreFiles"),
	}
}

// lines splits a textarea into its non-blank lines, trimmed.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// commaList splits a comma-separated field into its non-blank items.
func commaList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// rule validates the form exactly as the API validates a POST or PUT rule
// body (internal/httpapi ruleRequest.rule: the same bounds and messages,
// then rules.ValidateRule on rules.FromAPI) and returns the rule, or the
// errors by form field. Every field is checked, not only the first, so the
// user sees all there is to fix at once.
func (f ruleForm) rule(orgID, rulesetID string) (*aip.Rule, map[string]fieldError) {
	errs := map[string]fieldError{}
	bad := func(field, must string) {
		if _, taken := errs[field]; !taken {
			errs[field] = fieldError{Message: must}
		}
	}
	// What only a form can get wrong: numbers typed as text. An empty
	// window or threshold is 0, as an absent one is in the API.
	number := func(s string) (int, bool) {
		if s = strings.TrimSpace(s); s == "" {
			return 0, true
		}
		n, err := strconv.Atoi(s)
		return n, err == nil
	}
	sev, ok := number(f.Severity)
	if !ok || strings.TrimSpace(f.Severity) == "" {
		bad("severityOfAlerts", "Must be 1, 2 or 3.")
	}
	window, ok := number(f.Window)
	if !ok {
		bad("window", "Must be a number of seconds, 0 or more.")
	}
	threshold, ok := number(f.Threshold)
	if !ok {
		bad("threshold", "Must be 0 or more.")
	}
	t, _ := rules.ParseRuleType(f.Type)
	rl := &aip.Rule{
		OrgID: orgID, RulesetID: rulesetID, Name: f.Name, Type: f.Type, Title: f.Title,
		SeverityOfAlerts: sev, AlertDescription: f.AlertDescription,
		Filter: f.Filter, Window: window, Threshold: threshold,
		Suppressions: lines(f.Suppressions), Enabled: f.Enabled,
	}
	if t == rules.TypeFile {
		for _, p := range lines(f.PathsRecursive) {
			rl.FileIntegrityPaths = append(rl.FileIntegrityPaths, aip.FileIntegrityPath{Path: p, Recursive: true})
		}
		for _, p := range lines(f.Paths) {
			rl.FileIntegrityPaths = append(rl.FileIntegrityPaths, aip.FileIntegrityPath{Path: p})
		}
		rl.EventsToMonitor, rl.IgnoreFiles = commaList(f.EventsToMonitor), lines(f.IgnoreFiles)
	}
	// The API's own field rules, every problem at once.
	for _, p := range rules.CheckFields(rl) {
		bad(p.Field, p.Must)
	}
	rl.Type = string(t)
	rl.AggregateFields = rules.EffectiveAggregateFields(t, commaList(f.AggregateFields))
	if rl.Suppressions == nil {
		rl.Suppressions = []string{}
	}
	if t != "" && errs["filter"].Message == "" {
		if err := rules.ValidateRule(rules.FromAPI(rl).Rule); err != nil {
			field, fe := ruleErrorField(err)
			if _, taken := errs[field]; !taken {
				errs[field] = fe
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return rl, nil
}

// ruleErrorField maps an error of rules.ValidateRule onto the form field
// at fault ("suppressions[2]" is the suppressions textarea) with the API's
// message and, for a filter that does not parse, the position.
func ruleErrorField(err error) (string, fieldError) {
	fe := fieldError{Message: aip.ErrorMessage(err)}
	var se *rules.SyntaxError
	if errors.As(err, &se) {
		fe.Position = se.Pos
	}
	var re *rules.RuleError
	if !errors.As(err, &re) {
		return "form", fe
	}
	field, _, _ := strings.Cut(re.Field, "[")
	switch field {
	case "name", "type", "title", "filter", "suppressions", "fileIntegrityPaths", "eventsToMonitor", "ignoreFiles", "aggregateFields":
		return field, fe
	}
	return "form", fe
}
