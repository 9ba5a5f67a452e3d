package web

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aipsec/aip"
)

// signInFailed is the one message of every refused sign-in, so that the
// page never tells whether an email has an account.
const signInFailed = "Incorrect email or password."

// loginView is the data of the sign-in page.
type loginView struct {
	Email string
	Error string
}

// loginForm serves the sign-in page with a fresh pre-session CSRF token.
//
// Sign-in CSRF uses the double-submit pattern: the token is set in an
// HttpOnly, SameSite=Strict cookie and repeated in the form; the POST must
// carry both, equal. There is no server-side state before sign-in, and a
// cross-site page can neither read the cookie nor make the browser send it.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s, err := h.loadSession(w, r); err == nil && s != nil && s.OrgID != "" {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	h.renderLogin(w, r, http.StatusOK, loginView{})
}

// renderLogin renders the sign-in page with a new login CSRF token.
func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	b, err := randomToken(32)
	if err != nil {
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, h.cookie(r, loginCSRFCookie, token, 3600))
	h.render(w, r, status, "login", &view{CSRF: token, Data: v})
}

// login checks the sign-in form: login CSRF, then the per-IP and
// per-account limits (charged for every attempt, before the password is
// checked, so that a limited account cannot be probed), then the password.
// Success starts a new session; one membership picks the organization at
// once, several lead to the picker.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !h.checkCSRF(w, r, c.Value) {
		h.renderError(w, r, http.StatusForbidden, "The sign-in form expired. Reload the page and try again.")
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	password := r.PostForm.Get("password")
	ctx := r.Context()

	ip := h.clientIP(r).String()
	for _, l := range []struct{ key, limit string }{{"web-login-ip:" + ip, "ip"}, {"web-login-user:" + strings.ToLower(email), "account"}} {
		lim := h.cfg.IPLimit
		if l.limit == "account" {
			lim = h.cfg.AccountLimit
		}
		res, err := h.cfg.Limiter.Allow(ctx, l.key, lim)
		if err != nil {
			h.cfg.Logger.Error("web sign-in rate limit", slog.Any("error", err))
			h.renderError(w, r, http.StatusServiceUnavailable, "Sign-in is unavailable right now. Please try again later.")
			return
		}
		if res.Allowed == 0 {
			_, _, _, retry := res.Headers()
			w.Header().Set("Retry-After", retry)
			h.cfg.Logger.Warn("web sign-in rate limited", slog.String("limit", l.limit), slog.String("client_ip", ip))
			h.renderError(w, r, http.StatusTooManyRequests, "Too many sign-in attempts. Wait a few minutes and try again.")
			return
		}
	}

	u, hash, err := h.cfg.Store.FindPasswordHash(ctx, email)
	if err != nil && aip.ErrorCode(err) != aip.ENOTFOUND {
		h.cfg.Logger.Error("web sign-in", slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	if u == nil || hash == "" || !u.Enabled || email == "" || password == "" {
		// Hash anyway: the answer must take as long as a wrong password's.
		_, _ = VerifyPassword(h.dummyHash, password)
		if u != nil {
			h.auditSignInFailure(r, u)
		}
		h.renderLogin(w, r, http.StatusUnauthorized, loginView{Email: email, Error: signInFailed})
		return
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		h.cfg.Logger.Error("web sign-in: stored password hash", slog.String("user_id", u.ID), slog.Any("error", err))
	}
	if !ok {
		h.auditSignInFailure(r, u)
		h.renderLogin(w, r, http.StatusUnauthorized, loginView{Email: email, Error: signInFailed})
		return
	}

	orgs, err := h.cfg.Store.ListWebMemberships(ctx, u.ID)
	if err != nil {
		h.cfg.Logger.Error("web sign-in: memberships", slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	// A session the browser held before is ended: a signed-in session
	// always gets an id the browser never had before.
	if old, ok := sessionIDHash(r); ok {
		if err := h.cfg.Store.DeleteWebSession(ctx, old); err != nil {
			h.cfg.Logger.Error("web sign-in: end previous session", slog.Any("error", err))
		}
	}
	orgID, next := "", Prefix+"orgs"
	if len(orgs) == 1 {
		orgID, next = orgs[0].OrgID, Prefix
	}
	if err := h.newSession(w, r, u, orgID); err != nil {
		h.cfg.Logger.Error("web sign-in: create session", slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	http.SetCookie(w, h.cookie(r, loginCSRFCookie, "", -1))
	// Sign-ins sweep the expired sessions: no background job is needed, and
	// the table never holds more than a day of abandoned sessions per
	// sign-in.
	now := h.now()
	if _, err := h.cfg.Store.DeleteExpiredWebSessions(ctx, now.Add(-h.cfg.IdleTimeout), now.Add(-h.cfg.AbsoluteTimeout)); err != nil {
		h.cfg.Logger.Error("web sign-in: sweep expired sessions", slog.Any("error", err))
	}
	if err := h.cfg.Store.TouchAuthenticated(ctx, u.ID, now); err != nil {
		h.cfg.Logger.Error("web sign-in: touch authenticated", slog.Any("error", err))
	}
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.OrgID
	}
	h.audit(r, u, ids, "create", "web-sign-in", true)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// auditSignInFailure records a refused sign-in of a known user in each of
// its organizations, so their owners see password guessing.
func (h *Handler) auditSignInFailure(r *http.Request, u *aip.User) {
	orgs, err := h.cfg.Store.ListWebMemberships(r.Context(), u.ID)
	if err != nil {
		h.cfg.Logger.Error("web sign-in: memberships", slog.Any("error", err))
		return
	}
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.OrgID
	}
	h.audit(r, u, ids, "create", "web-sign-in", false)
}

// logout ends the session server side (the old cookie is worthless from
// now on) and clears the cookie.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *Session) {
	if err := h.cfg.Store.DeleteWebSession(r.Context(), s.idHash); err != nil {
		h.cfg.Logger.Error("web sign-out", slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	h.clearSessionCookie(w, r)
	if s.OrgID != "" {
		h.Audit(r, s, "delete", "web-sign-out", true)
	}
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// orgsView is the data of the org picker.
type orgsView struct {
	Orgs []aip.WebMembership
}

// orgPicker lists the user's organizations.
func (h *Handler) orgPicker(w http.ResponseWriter, r *http.Request, s *Session) {
	orgs, err := h.cfg.Store.ListWebMemberships(r.Context(), s.User.ID)
	if err != nil {
		h.cfg.Logger.Error("web org picker", slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	h.renderPage(w, r, s, "orgs", orgsView{Orgs: orgs})
}

// pickOrg sets the session's organization after checking the membership.
func (h *Handler) pickOrg(w http.ResponseWriter, r *http.Request, s *Session) {
	orgID := r.PostForm.Get("org")
	c, err := h.cfg.Store.FindCredentials(r.Context(), s.User.ID, orgID)
	if err != nil && aip.ErrorCode(err) != aip.ENOTFOUND {
		h.cfg.Logger.Error("web pick org", slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	if err != nil || c.Role == "" {
		h.renderError(w, r, http.StatusForbidden, "You are not a member of that organization.")
		return
	}
	if err := h.cfg.Store.SetWebSessionOrg(r.Context(), s.idHash, orgID); err != nil {
		h.cfg.Logger.Error("web pick org", slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	s.OrgID, s.Role = orgID, c.Role
	h.Audit(r, s, "update", "web-select-organization", true)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}
