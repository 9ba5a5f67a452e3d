package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
)

// view is the root of every template: the layout reads Session, CSRF and
// Nav; the page's own "content" reads Data. Inside a range, reach the root
// with $ (e.g. {{template "csrf" $}}).
type view struct {
	Session *Session
	// CSRF is the token forms post in their "csrf" field: the session's,
	// or the sign-in form's double-submit token.
	CSRF string
	Nav  []navLink
	// Message is the error page's text.
	Message string
	Data    any
}

// navLink is one entry of the layout's main navigation.
type navLink struct {
	Label, Href string
	Current     bool
}

// pageTemplate is the layout parsed together with one page's templates.
type pageTemplate struct{ t *template.Template }

// templateFuncs are the helpers every template may call.
var templateFuncs = template.FuncMap{
	"severityName": severityName,
}

// severityName is the label of an alert severity (1 is the most severe).
func severityName(sev int) string {
	switch sev {
	case 1:
		return "High"
	case 2:
		return "Medium"
	case 3:
		return "Low"
	}
	return fmt.Sprintf("Severity %d", sev)
}

// parseTemplates parses templates/layout.html once per page file, so that
// each page defines its own "title" and "content".
func parseTemplates() (map[string]*pageTemplate, error) {
	base, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: list templates: %w", err)
	}
	pages := make(map[string]*pageTemplate)
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("web: clone layout: %w", err)
		}
		if t, err = t.ParseFS(templateFS, f); err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", f, err)
		}
		pages[name] = &pageTemplate{t: t}
	}
	return pages, nil
}

// renderPage renders the page template name (templates/<name>.html) inside
// the layout for session s, with data as .Data, status 200.
func (h *Handler) renderPage(w http.ResponseWriter, r *http.Request, s *Session, name string, data any) {
	h.renderPageStatus(w, r, http.StatusOK, s, name, data)
}

// renderPageStatus is renderPage with another status (e.g. 422 for a form
// shown again with its errors).
func (h *Handler) renderPageStatus(w http.ResponseWriter, r *http.Request, status int, s *Session, name string, data any) {
	h.render(w, r, status, name, &view{Session: s, CSRF: s.CSRFToken, Data: data})
}

// renderError renders the error page with msg, inside the layout of the
// request's session when it has one.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	v := &view{Message: msg}
	if s := SessionFrom(r.Context()); s != nil {
		v.Session, v.CSRF = s, s.CSRFToken
	}
	h.render(w, r, status, "error", v)
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	if v.Session != nil && v.Session.OrgID != "" {
		for _, l := range h.nav {
			v.Nav = append(v.Nav, navLink{Label: l.Label, Href: l.Href, Current: l.Href == r.URL.Path})
		}
	}
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Type", "text/html; charset=utf-8")
	p, ok := h.pages[name]
	var buf bytes.Buffer
	if ok {
		if err := p.t.ExecuteTemplate(&buf, "layout", v); err != nil {
			h.cfg.Logger.Error("render web page", slog.String("page", name), slog.Any("error", err))
			ok = false
		}
	} else {
		h.cfg.Logger.Error("render web page: no such template", slog.String("page", name))
	}
	if !ok {
		http.Error(w, "Internal server error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}
