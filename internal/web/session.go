package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/aipsec/aip"
)

// Cookie names. The session cookie holds a random 256-bit id; the store
// keeps only its SHA-256.
const (
	SessionCookie    = "aip_session"
	loginCSRFCookie  = "aip_login_csrf"
	csrfField        = "csrf"
	maxFormBytes     = 1 << 20
	touchGranularity = time.Minute
)

// Session is the signed-in user of a console request, handed to every
// PageFunc. OrgID, OrgName and Role are those of the organization the user
// picked; Role is re-read from the store on every request, so a removed
// member or a changed role takes effect at once.
type Session struct {
	User    *aip.User
	OrgID   string
	OrgName string
	Role    aip.Role
	// CSRFToken is the value forms carry in their "csrf" hidden field
	// ({{template "csrf" $}} in a page template renders it).
	CSRFToken string

	idHash []byte
}

// CanWrite reports whether the session's role may change things: owners and
// users may, readers may not (aip.Role.CanWrite, as in the API).
func (s *Session) CanWrite() bool { return s.Role.CanWrite() }

// PageFunc is a console page. It runs only for a live session with an
// organization; for a POST the CSRF token has already been checked and the
// form parsed (r.PostForm).
type PageFunc func(w http.ResponseWriter, r *http.Request, s *Session)

type sessionKey struct{}

// SessionFrom returns the session of a request served by a page, nil
// outside one.
func SessionFrom(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// page serves fn to any member of the session's organization.
func (h *Handler) page(fn PageFunc) http.Handler { return h.withSession(true, fn) }

// writePage serves fn to owners and users only: readers get 403, for GET
// (the form) and POST (the action) alike.
func (h *Handler) writePage(fn PageFunc) http.Handler {
	return h.withSession(true, func(w http.ResponseWriter, r *http.Request, s *Session) {
		if !s.CanWrite() {
			h.Audit(r, s, "update", "web-forbidden", false)
			h.renderError(w, r, http.StatusForbidden, "Your role in this organization cannot make changes.")
			return
		}
		fn(w, r, s)
	})
}

// withSession loads the request's session and refuses what it must: no
// (live) session → the sign-in page; a POST without the session's CSRF token
// or sent cross-site → 403; needOrg without a picked organization → the org
// picker.
func (h *Handler) withSession(needOrg bool, fn PageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		s, err := h.loadSession(w, r)
		if err != nil {
			h.cfg.Logger.Error("load web session", "error", err)
			h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
			return
		}
		if s == nil {
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !h.checkCSRF(w, r, s.CSRFToken) {
				h.renderError(w, r, http.StatusForbidden, "This form has expired or did not come from this console. Go back, reload the page and try again.")
				return
			}
		}
		if needOrg && s.OrgID == "" {
			http.Redirect(w, r, Prefix+"orgs", http.StatusSeeOther)
			return
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)), s)
	})
}

// checkCSRF parses the form and compares its csrf field with want in
// constant time. A browser saying the request is cross-site is refused
// whatever it carries.
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request, want string) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return false
	}
	got := r.PostForm.Get(csrfField)
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// loadSession returns the live session named by the request's cookie, nil
// when there is none: no cookie, an unknown id, an expired session (which
// it deletes), or a disabled user. A session whose membership is gone
// loses its organization and goes back to the picker.
func (h *Handler) loadSession(w http.ResponseWriter, r *http.Request) (*Session, error) {
	idHash, ok := sessionIDHash(r)
	if !ok {
		return nil, nil
	}
	ctx := r.Context()
	ws, err := h.cfg.Store.FindWebSession(ctx, idHash)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		h.clearSessionCookie(w, r)
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	now := h.now()
	if now.Sub(ws.CreatedAt) >= h.cfg.AbsoluteTimeout || now.Sub(ws.LastSeenAt) >= h.cfg.IdleTimeout {
		if err := h.cfg.Store.DeleteWebSession(ctx, idHash); err != nil {
			return nil, err
		}
		h.clearSessionCookie(w, r)
		return nil, nil
	}
	s := &Session{CSRFToken: ws.CSRFToken, idHash: idHash}
	if ws.OrgID != "" {
		c, err := h.cfg.Store.FindCredentials(ctx, ws.UserID, ws.OrgID)
		if aip.ErrorCode(err) == aip.ENOTFOUND {
			return nil, h.endSession(ctx, w, r, idHash)
		} else if err != nil {
			return nil, err
		}
		s.User = c.User
		if c.Role != "" {
			s.OrgID, s.Role = ws.OrgID, c.Role
		}
	} else {
		u, err := h.cfg.Store.FindUserByID(ctx, ws.UserID)
		if aip.ErrorCode(err) == aip.ENOTFOUND {
			return nil, h.endSession(ctx, w, r, idHash)
		} else if err != nil {
			return nil, err
		}
		s.User = u
	}
	if !s.User.Enabled {
		return nil, h.endSession(ctx, w, r, idHash)
	}
	if s.OrgID != "" {
		o, err := h.cfg.Store.FindOrganizationByID(ctx, s.OrgID)
		if err != nil {
			return nil, err
		}
		s.OrgName = o.Name
	}
	if now.Sub(ws.LastSeenAt) >= touchGranularity {
		// Touching at most once a minute keeps idle expiry exact to the
		// minute without a write per request.
		if err := h.cfg.Store.TouchWebSession(ctx, idHash, now); err != nil && aip.ErrorCode(err) != aip.ENOTFOUND {
			return nil, err
		}
	}
	return s, nil
}

// endSession deletes a session that may no longer be used and clears its
// cookie.
func (h *Handler) endSession(ctx context.Context, w http.ResponseWriter, r *http.Request, idHash []byte) error {
	h.clearSessionCookie(w, r)
	return h.cfg.Store.DeleteWebSession(ctx, idHash)
}

// sessionIDHash decodes the session cookie and hashes it.
func sessionIDHash(r *http.Request) ([]byte, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, false
	}
	id, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(id) != 32 {
		return nil, false
	}
	sum := sha256.Sum256(id)
	return sum[:], true
}

// newSession creates a session for u with a fresh id (never one the
// browser sent before signing in) and sets its cookie.
func (h *Handler) newSession(w http.ResponseWriter, r *http.Request, u *aip.User, orgID string) error {
	id, err := randomToken(32)
	if err != nil {
		return err
	}
	csrf, err := randomToken(32)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(id)
	now := h.now()
	ws := &aip.WebSession{IDHash: sum[:], UserID: u.ID, OrgID: orgID, CSRFToken: base64.RawURLEncoding.EncodeToString(csrf),
		CreatedAt: now, LastSeenAt: now}
	if err := h.cfg.Store.CreateWebSession(r.Context(), ws); err != nil {
		return err
	}
	http.SetCookie(w, h.cookie(r, SessionCookie, base64.RawURLEncoding.EncodeToString(id), 0))
	return nil
}

// cookie is a console cookie: HttpOnly, SameSite=Strict, scoped to the
// console, Secure behind TLS. maxAge < 0 deletes it; 0 makes it last as
// long as the browser session (the server enforces expiry).
func (h *Handler) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.secure(r)}
}

func (h *Handler) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, h.cookie(r, SessionCookie, "", -1))
}

// randomToken returns n random bytes.
func randomToken(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, errors.Join(errors.New("web: random token"), err)
	}
	return b, nil
}
