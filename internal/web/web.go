// Package web is the browser console served by aipd under /console/: the
// same store and the same roles as the v2 API, behind an email and password
// sign-in with server-side sessions.
//
// Adding a page: write its handler as a PageFunc in a file of this package,
// its template as templates/<name>.html defining "title" and "content"
// (layout.html wraps them), and register it in routes.go with h.page (any
// role) or h.writePage (owners and users only). Every POST is CSRF-checked
// before any handler runs; forms include {{template "csrf" $}}.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/ratelimit"
)

// Prefix is the path every console URL starts with.
const Prefix = "/console/"

// Defaults of the Config fields left zero.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
)

// DefaultAccountLimit and DefaultIPLimit bound sign-in attempts: ten per
// account and thirty per client IP in a burst, then one every 90 and 30
// seconds. Every attempt is charged before the password is checked, so a
// limited account cannot be probed further; an honest user rarely signs in
// ten times in a quarter of an hour.
var (
	DefaultAccountLimit = ratelimit.Limit{Rate: 10, Period: 15 * time.Minute, Burst: 10}
	DefaultIPLimit      = ratelimit.Limit{Rate: 30, Period: 15 * time.Minute, Burst: 30}
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the console needs from aipd.
type Config struct {
	Store aip.Store
	// Limiter counts sign-in attempts under the keys
	// "web-login-user:"+email and "web-login-ip:"+ip; share the API's so
	// that every node counts together.
	Limiter      ratelimit.Limiter
	AccountLimit ratelimit.Limit // DefaultAccountLimit when zero
	IPLimit      ratelimit.Limit // DefaultIPLimit when zero
	// TrustedProxies are the networks whose X-Forwarded-For and
	// X-Forwarded-Proto are believed, as for the API.
	TrustedProxies []netip.Prefix
	// PublicURL, when https, makes the session cookie Secure whatever the
	// request looked like (TLS ends at a proxy).
	PublicURL *url.URL
	// IdleTimeout and AbsoluteTimeout end sessions server side.
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	Logger          *slog.Logger
	// Now is the clock; time.Now when nil (tests move it).
	Now func() time.Time
	// RotateKey gives a user a new API key and returns it in clear, and
	// CreateDeployKey makes an organization's agent deploy key: aipd's own
	// helpers (app.RotateKey, app.CreateDeployKey), passed in because
	// internal/app imports this package. Nil hides the action.
	RotateKey       func(ctx context.Context, userID string) (string, error)
	CreateDeployKey func(ctx context.Context, orgID string) (string, error)
	// AgentOfflineAfter is aipd's --agent-offline-after, so that the
	// console shows agents online and offline as the API does (5 minutes
	// when zero).
	AgentOfflineAfter time.Duration
}

// Handler serves the console; mount it at Prefix.
type Handler struct {
	cfg   Config
	mux   *http.ServeMux
	pages map[string]*pageTemplate
	// nav is the layout's main navigation, in order (addNav).
	nav []navLink
	// dummyHash is verified against when the email is unknown or has no
	// password, so that the answer takes as long as for a wrong password.
	dummyHash string
}

// New checks cfg and builds the console.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Limiter == nil {
		return nil, errors.New("web: a Store and a Limiter are required")
	}
	if cfg.AccountLimit.IsZero() {
		cfg.AccountLimit = DefaultAccountLimit
	}
	if cfg.IPLimit.IsZero() {
		cfg.IPLimit = DefaultIPLimit
	}
	for _, l := range []ratelimit.Limit{cfg.AccountLimit, cfg.IPLimit} {
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("web: sign-in limit: %w", err)
		}
	}
	if cfg.AgentOfflineAfter <= 0 {
		cfg.AgentOfflineAfter = 5 * time.Minute
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	dummy, err := HashPassword("not a password anyone has: " + aip.NewUUID())
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), pages: pages, dummyHash: dummy}
	h.routes()
	return h, nil
}

// ServeHTTP sets the security headers every console response carries and
// dispatches.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if h.secure(r) {
		hd.Set("Strict-Transport-Security", "max-age=31536000")
	}
	h.mux.ServeHTTP(w, r)
}

// routes registers the console's pages. Page handlers are PageFuncs wrapped
// by h.page or h.writePage; see the package comment.
func (h *Handler) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(Prefix+"static/", http.FileServerFS(static))
	h.mux.Handle("GET "+Prefix+"static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	h.mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
	})
	h.mux.HandleFunc("GET "+Prefix+"login", h.loginForm)
	h.mux.HandleFunc("POST "+Prefix+"login", h.login)
	h.mux.Handle("POST "+Prefix+"logout", h.withSession(false, h.logout))
	h.mux.Handle("GET "+Prefix+"orgs", h.withSession(false, h.orgPicker))
	h.mux.Handle("POST "+Prefix+"orgs", h.withSession(false, h.pickOrg))

	h.mux.Handle("GET "+Prefix+"{$}", h.page(h.overview))
	h.addNav("Overview", Prefix)
	h.addNav("Alerts", Prefix+"alerts")

	h.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusNotFound, "There is no such page.")
	})
	h.mux.Handle("GET "+Prefix+"agents", h.page(h.agents))
	h.mux.Handle("GET "+Prefix+"agents/{id}", h.page(h.agent))
	h.addNav("Agents", Prefix+"agents")
	h.mux.Handle("GET "+Prefix+"vulnerabilities", h.page(h.vulnerabilities))
	h.mux.Handle("GET "+Prefix+"vulnerabilities/suppressions", h.page(h.vulnSuppressions))
	h.mux.Handle("GET "+Prefix+"vulnerabilities/suppress", h.writePage(h.suppressVulnForm))
	h.mux.Handle("POST "+Prefix+"vulnerabilities/suppress", h.writePage(h.suppressVuln))
	h.mux.Handle("POST "+Prefix+"vulnerabilities/unsuppress", h.writePage(h.unsuppressVuln))
	h.addNav("Vulnerabilities", Prefix+"vulnerabilities")
	h.mux.Handle("GET "+Prefix+"rules", h.page(h.rulesets))
	h.mux.Handle("GET "+Prefix+"rules/validate", h.page(h.ruleValidate))
	h.mux.Handle("POST "+Prefix+"rules/validate", h.page(h.ruleValidate))
	h.mux.Handle("GET "+Prefix+"rules/{rulesetId}/new", h.writePage(h.ruleNew))
	h.mux.Handle("POST "+Prefix+"rules/{rulesetId}/new", h.writePage(h.ruleCreate))
	h.mux.Handle("GET "+Prefix+"rules/{rulesetId}/{ruleId}", h.page(h.ruleDetail))
	h.mux.Handle("POST "+Prefix+"rules/{rulesetId}/{ruleId}", h.writePage(h.ruleUpdate))
	h.mux.Handle("POST "+Prefix+"rules/{rulesetId}/{ruleId}/toggle", h.writePage(h.ruleToggle))
	h.addNav("Rules", Prefix+"rules")
	h.mux.Handle("GET "+Prefix+"settings", h.page(h.settings))
	h.mux.Handle("POST "+Prefix+"settings/invites", h.writePage(h.invite))
	h.mux.Handle("POST "+Prefix+"settings/members/{userId}/remove", h.writePage(h.removeMember))
	h.mux.Handle("POST "+Prefix+"settings/apikey", h.writePage(h.rotateKey))
	h.mux.Handle("POST "+Prefix+"settings/deploykeys", h.writePage(h.createDeployKey))
	h.addNav("Settings", Prefix+"settings")
	h.mux.Handle("GET "+Prefix+"alerts", h.page(h.alerts))
	h.mux.Handle("GET "+Prefix+"alerts/{id}", h.page(h.alert))
	h.mux.Handle("POST "+Prefix+"alerts/dismiss", h.writePage(h.dismissAlerts))
}

// addNav appends a link to the layout's main navigation; the link is
// marked current on the page whose path equals href.
func (h *Handler) addNav(label, href string) {
	h.nav = append(h.nav, navLink{Label: label, Href: href})
}

// clientIP is the request's peer, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For address that is not itself a trusted proxy
// (the API's rule, so both count the same client).
func (h *Handler) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !h.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !h.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (h *Handler) trusted(a netip.Addr) bool {
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// secure reports whether cookies must be Secure: the request came over TLS
// (directly or through a trusted proxy saying so) or the public URL is https.
func (h *Handler) secure(r *http.Request) bool {
	if r.TLS != nil || (h.cfg.PublicURL != nil && h.cfg.PublicURL.Scheme == "https") {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	peer, err := netip.ParseAddr(host)
	return err == nil && h.trusted(peer.Unmap()) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// now is the handler's clock, UTC to the millisecond like the stores.
func (h *Handler) now() time.Time { return h.cfg.Now().UTC().Truncate(time.Millisecond) }

// Audit writes one audit record with source "web" for the signed-in user of
// s in its organization. Page handlers call it for every action they take;
// crud is create, read, update or delete and action names what was done
// (e.g. "dismiss-alerts"), as in the API's audit log.
func (h *Handler) Audit(r *http.Request, s *Session, crud, action string, ok bool) {
	h.audit(r, s.User, []string{s.OrgID}, crud, action, ok)
}

// audit writes one record per organization in orgIDs. Records are written
// synchronously: console actions are few, and a sign-in must not be
// reported as done before its record is.
func (h *Handler) audit(r *http.Request, u *aip.User, orgIDs []string, crud, action string, ok bool) {
	if len(orgIDs) == 0 {
		return
	}
	result := "success"
	if !ok {
		result = "failure"
	}
	// Encoding a struct of strings cannot fail.
	details, _ := json.Marshal(struct {
		Method    string `json:"method"`
		Path      string `json:"path"`
		ClientIP  string `json:"clientIp"`
		UserAgent string `json:"userAgent"`
	}{r.Method, r.URL.Path, h.clientIP(r).String(), r.UserAgent()})
	t := aip.Time{Time: h.now()}
	recs := make([]*aip.AuditRecord, 0, len(orgIDs))
	for _, org := range orgIDs {
		recs = append(recs, &aip.AuditRecord{
			ID: aip.NewUUID(), UserEmail: u.Email, UserID: u.ID, OrganizationID: org,
			Result: result, CRUD: crud, Action: action, Source: "web",
			Description: u.ID + ": " + r.Method + " : " + r.URL.Path,
			EventTime:   t, Context: details,
		})
	}
	if err := h.cfg.Store.CreateAuditRecords(context.WithoutCancel(r.Context()), recs); err != nil {
		h.cfg.Logger.Error("write web audit records", slog.String("action", action), slog.Any("error", err))
	}
}
