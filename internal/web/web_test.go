package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/ratelimit"
	"github.com/aipsec/aip/internal/store/sqlite"
	"github.com/aipsec/aip/internal/web"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const password = "correct horse battery staple"

// clock is a settable clock shared by the handler and the limiter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a console on a real SQLite store with two organizations.
type env struct {
	store      *sqlite.DB
	clock      *clock
	srv        *httptest.Server
	orgA, orgB *aip.Organization
}

// newEnv starts a console; adjust changes its Config before New.
func newEnv(t *testing.T, adjust func(*web.Config)) *env {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "aip.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{store: db, clock: &clock{t: time.Now().UTC().Truncate(time.Millisecond)}}
	e.orgA = e.org(t, "Org A")
	e.orgB = e.org(t, "Org B")
	cfg := web.Config{Store: db, Limiter: ratelimit.NewMemory(e.clock.Now), Now: e.clock.Now}
	if adjust != nil {
		adjust(&cfg)
	}
	h, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) org(t *testing.T, name string) *aip.Organization {
	t.Helper()
	o := &aip.Organization{Name: name}
	if err := e.store.CreateOrganization(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// user creates a user with the test password and the given memberships.
func (e *env) user(t *testing.T, email string, roles map[string]aip.Role) *aip.User {
	t.Helper()
	ctx := t.Context()
	u := &aip.User{Email: email, DisplayName: email, Enabled: true}
	if err := e.store.CreateUser(ctx, u, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	for org, role := range roles {
		if err := e.store.PutMember(ctx, org, u.ID, role); err != nil {
			t.Fatal(err)
		}
	}
	hash, err := web.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPassword(ctx, u.ID, hash); err != nil {
		t.Fatal(err)
	}
	return u
}

// browser is a cookie-keeping client of the console.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
	jar    *cookiejar.Jar
}

func (e *env) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: e.srv.URL, jar: jar, client: &http.Client{Jar: jar}}
}

// page is a response with its body read.
type page struct {
	status int
	path   string // after redirects
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, path: resp.Request.URL.Path, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the forms on a page.
func csrf(t *testing.T, p page) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf field on %s (status %d):\n%s", p.path, p.status, p.body)
	}
	return m[1]
}

// signIn fills in the sign-in form and returns the page it lands on.
func (b *browser) signIn(email, pw string) page {
	b.t.Helper()
	form := b.get("/console/login")
	return b.post("/console/login", url.Values{"email": {email}, "password": {pw}, "csrf": {csrf(b.t, form)}})
}

// sessionCookie is the browser's session cookie value, "" when none.
func (b *browser) sessionCookie() string {
	u, _ := url.Parse(b.base + "/console/")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == web.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// counts extracts the overview's open alert counts by severity.
func counts(t *testing.T, p page) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`data-severity="(\d)">(\d+)<`).FindAllStringSubmatch(p.body, -1) {
		out[m[1]] = m[2]
	}
	if len(out) != 3 {
		t.Fatalf("overview has %d severity counts, want 3:\n%s", len(out), p.body)
	}
	return out
}

func TestSignIn(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})

	t.Run("signs in with the right password", func(t *testing.T) {
		b := e.browser(t)
		p := b.signIn("Alice@Example.test", password)
		if p.status != http.StatusOK || p.path != "/console/" {
			t.Fatalf("landed on %s with %d, want /console/ with 200", p.path, p.status)
		}
		for _, want := range []string{"Signed in as <strong>alice@example.test</strong> in <strong>Org A</strong>", "<h1>Overview</h1>"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("overview lacks %q:\n%s", want, p.body)
			}
		}
	})
	t.Run("refuses unknown email and bad password alike", func(t *testing.T) {
		var msgs []string
		for _, tt := range []struct{ email, pw string }{
			{"nobody@example.test", password},
			{"alice@example.test", "wrong password, long enough"},
			{"alice@example.test", ""},
		} {
			p := e.browser(t).signIn(tt.email, tt.pw)
			if p.status != http.StatusUnauthorized || p.path != "/console/login" {
				t.Errorf("%s/%q: got %d on %s, want 401 on /console/login", tt.email, tt.pw, p.status, p.path)
			}
			m := regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`).FindStringSubmatch(p.body)
			if m == nil {
				t.Fatalf("%s: no error message:\n%s", tt.email, p.body)
			}
			msgs = append(msgs, m[1])
		}
		want := []string{"Incorrect email or password.", "Incorrect email or password.", "Incorrect email or password."}
		if diff := cmp.Diff(want, msgs); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
	})
	t.Run("refuses a user without a password", func(t *testing.T) {
		u := e.user(t, "nopw@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleUser})
		if err := e.store.SetPassword(t.Context(), u.ID, ""); err != nil {
			t.Fatal(err)
		}
		if p := e.browser(t).signIn("nopw@example.test", password); p.status != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", p.status)
		}
	})
	t.Run("pages without a session go to the sign-in page", func(t *testing.T) {
		p := e.browser(t).get("/console/")
		if p.path != "/console/login" || !strings.Contains(p.body, `<label for="password">`) {
			t.Errorf("landed on %s, want the sign-in form", p.path)
		}
	})
}

func TestSessionCookie(t *testing.T) {
	signInResponse := func(t *testing.T, e *env, preset string) *http.Response {
		t.Helper()
		b := e.browser(t)
		if preset != "" {
			u, _ := url.Parse(e.srv.URL + "/console/")
			b.jar.SetCookies(u, []*http.Cookie{{Name: web.SessionCookie, Value: preset, Path: "/console/"}})
		}
		form := b.get("/console/login")
		b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/console/login", strings.NewReader(url.Values{
			"email": {"alice@example.test"}, "password": {password}, "csrf": {csrf(t, form)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in status %d, want 303", resp.StatusCode)
		}
		return resp
	}
	find := func(t *testing.T, resp *http.Response) *http.Cookie {
		t.Helper()
		for _, c := range resp.Cookies() {
			if c.Name == web.SessionCookie {
				return c
			}
		}
		t.Fatalf("no %s cookie set in %q", web.SessionCookie, resp.Header.Values("Set-Cookie"))
		return nil
	}

	t.Run("is HttpOnly, SameSite=Strict and scoped to the console", func(t *testing.T) {
		e := newEnv(t, nil)
		e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
		c := find(t, signInResponse(t, e, ""))
		got := []any{c.HttpOnly, c.SameSite, c.Path, c.Secure, len(c.Value) >= 43}
		if diff := cmp.Diff([]any{true, http.SameSiteStrictMode, "/console/", false, true}, got); diff != "" {
			t.Errorf("cookie [HttpOnly SameSite Path Secure long] (-want +got):\n%s", diff)
		}
	})
	t.Run("is Secure when the public URL is https", func(t *testing.T) {
		e := newEnv(t, func(c *web.Config) { c.PublicURL = &url.URL{Scheme: "https", Host: "aip.example.test"} })
		e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
		if c := find(t, signInResponse(t, e, "")); !c.Secure {
			t.Errorf("cookie %v is not Secure", c)
		}
	})
	t.Run("never reuses an id the browser had before signing in", func(t *testing.T) {
		e := newEnv(t, nil)
		e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
		preset := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		if c := find(t, signInResponse(t, e, preset)); c.Value == preset {
			t.Errorf("session id %q is the one set before sign-in", c.Value)
		}
	})
}

func TestOrgPicker(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "two@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner, e.orgB.ID: aip.RoleReader})
	b := e.browser(t)
	p := b.signIn("two@example.test", password)
	if p.path != "/console/orgs" {
		t.Fatalf("landed on %s, want the org picker", p.path)
	}
	for _, want := range []string{"Org A", "Org B", `value="` + e.orgB.ID + `"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("picker lacks %q", want)
		}
	}
	if got := b.get("/console/"); got.path != "/console/orgs" {
		t.Errorf("overview before picking went to %s, want /console/orgs", got.path)
	}
	got := b.post("/console/orgs", url.Values{"org": {e.orgB.ID}, "csrf": {csrf(t, p)}})
	if got.path != "/console/" || !strings.Contains(got.body, "in <strong>Org B</strong> <span class=\"role\">reader</span>") {
		t.Errorf("after picking Org B: %s:\n%s", got.path, got.body)
	}
}

func TestOrgIsolation(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
	ctx := t.Context()
	alert := func(org string, sev int) {
		a := &aip.Alert{OrgID: org, Title: "t", DataSource: aip.DataSourceAgent, CreatedAt: aip.Time{Time: e.clock.Now()},
			Severity: sev, Aggregates: []aip.Aggregate{}, ExpiresAt: aip.Time{Time: e.clock.Now().Add(time.Hour)}, Key: "k"}
		if err := e.store.CreateAlert(ctx, a, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	alert(e.orgA.ID, 1)
	alert(e.orgA.ID, 1)
	alert(e.orgA.ID, 3)
	for range 5 {
		alert(e.orgB.ID, 2)
	}
	b := e.browser(t)
	p := b.signIn("alice@example.test", password)
	if diff := cmp.Diff(map[string]string{"1": "2", "2": "0", "3": "1"}, counts(t, p)); diff != "" {
		t.Errorf("Org A's counts (-want +got):\n%s", diff)
	}
	t.Run("refuses to switch to an organization the user is not in", func(t *testing.T) {
		got := b.post("/console/orgs", url.Values{"org": {e.orgB.ID}, "csrf": {csrf(t, p)}})
		if got.status != http.StatusForbidden {
			t.Errorf("status = %d, want 403", got.status)
		}
		if diff := cmp.Diff(map[string]string{"1": "2", "2": "0", "3": "1"}, counts(t, b.get("/console/"))); diff != "" {
			t.Errorf("counts after the refused switch (-want +got):\n%s", diff)
		}
	})
	t.Run("a removed member loses the organization at once", func(t *testing.T) {
		u, _, err := e.store.FindPasswordHash(ctx, "alice@example.test")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.PutMember(ctx, e.orgB.ID, u.ID, aip.RoleOwner); err != nil {
			t.Fatal(err)
		}
		if err := e.store.RemoveMember(ctx, e.orgA.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		if got := b.get("/console/"); got.path != "/console/orgs" || strings.Contains(got.body, "Org A") {
			t.Errorf("after removal landed on %s:\n%s", got.path, got.body)
		}
	})
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner, e.orgB.ID: aip.RoleOwner})
	b := e.browser(t)
	p := b.signIn("alice@example.test", password)
	tests := []struct {
		name string
		path string
		form url.Values
	}{
		{"refuses sign-out without a token", "/console/logout", url.Values{}},
		{"refuses sign-out with a wrong token", "/console/logout", url.Values{"csrf": {"x" + csrf(t, p)}}},
		{"refuses an org switch without a token", "/console/orgs", url.Values{"org": {e.orgB.ID}}},
		{"refuses a sign-in without the form's token", "/console/login", url.Values{"email": {"alice@example.test"}, "password": {password}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := b.post(tt.path, tt.form); got.status != http.StatusForbidden {
				t.Errorf("status = %d, want 403", got.status)
			}
		})
	}
	t.Run("refuses a cross-site post with the right token", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/console/logout", strings.NewReader("csrf="+url.QueryEscape(csrf(t, p))))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if got := b.do(req); got.status != http.StatusForbidden {
			t.Errorf("status = %d, want 403", got.status)
		}
	})
	if got := b.get("/console/orgs"); got.path != "/console/orgs" || got.status != http.StatusOK {
		t.Errorf("the session did not survive the refused posts: %s %d", got.path, got.status)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
	b := e.browser(t)
	p := b.signIn("alice@example.test", password)
	old := b.sessionCookie()
	got := b.post("/console/logout", url.Values{"csrf": {csrf(t, p)}})
	if got.path != "/console/login" {
		t.Fatalf("sign-out landed on %s, want /console/login", got.path)
	}
	if c := b.sessionCookie(); c != "" {
		t.Errorf("session cookie still set after sign-out")
	}
	replay := e.browser(t)
	u, _ := url.Parse(e.srv.URL + "/console/")
	replay.jar.SetCookies(u, []*http.Cookie{{Name: web.SessionCookie, Value: old, Path: "/console/"}})
	if got := replay.get("/console/"); got.path != "/console/login" {
		t.Errorf("the old cookie reached %s, want /console/login", got.path)
	}
}

func TestExpiry(t *testing.T) {
	t.Run("idle session expires after 30 minutes", func(t *testing.T) {
		e := newEnv(t, nil)
		e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
		b := e.browser(t)
		b.signIn("alice@example.test", password)
		e.clock.Advance(29 * time.Minute)
		if got := b.get("/console/"); got.path != "/console/" {
			t.Fatalf("after 29 idle minutes landed on %s, want /console/", got.path)
		}
		e.clock.Advance(30 * time.Minute)
		if got := b.get("/console/"); got.path != "/console/login" {
			t.Errorf("after 30 more idle minutes landed on %s, want /console/login", got.path)
		}
	})
	t.Run("a sign-in sweeps expired sessions from the store", func(t *testing.T) {
		e := newEnv(t, nil)
		e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
		b := e.browser(t)
		b.signIn("alice@example.test", password)
		id, err := base64.RawURLEncoding.DecodeString(b.sessionCookie())
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(id)
		if _, err := e.store.FindWebSession(t.Context(), sum[:]); err != nil {
			t.Fatalf("session not stored by its SHA-256: %v", err)
		}
		e.clock.Advance(31 * time.Minute)
		e.browser(t).signIn("alice@example.test", password)
		if _, err := e.store.FindWebSession(t.Context(), sum[:]); aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Errorf("expired session still stored: %v", err)
		}
	})
	t.Run("active session expires after 12 hours", func(t *testing.T) {
		e := newEnv(t, nil)
		e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
		b := e.browser(t)
		b.signIn("alice@example.test", password)
		for elapsed := 20 * time.Minute; elapsed < 12*time.Hour; elapsed += 20 * time.Minute {
			e.clock.Advance(20 * time.Minute)
			if got := b.get("/console/"); got.path != "/console/" {
				t.Fatalf("after %v of activity landed on %s, want /console/", elapsed, got.path)
			}
		}
		e.clock.Advance(20 * time.Minute)
		if got := b.get("/console/"); got.path != "/console/login" {
			t.Errorf("after 12 hours landed on %s, want /console/login", got.path)
		}
	})
}

func TestRateLimit(t *testing.T) {
	limit := ratelimit.Limit{Rate: 3, Period: time.Hour, Burst: 3}
	t.Run("per account", func(t *testing.T) {
		e := newEnv(t, func(c *web.Config) { c.AccountLimit = limit })
		e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
		for i := range 3 {
			if got := e.browser(t).signIn("alice@example.test", "wrong password number "+string(rune('a'+i))); got.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d, want 401", i+1, got.status)
			}
		}
		got := e.browser(t).signIn("ALICE@example.test", password)
		if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") == "" {
			t.Errorf("right password after 3 failures: status %d, Retry-After %q; want 429 with Retry-After", got.status, got.header.Get("Retry-After"))
		}
		if !strings.Contains(got.body, "Too many sign-in attempts") {
			t.Errorf("429 page lacks its message:\n%s", got.body)
		}
		e.clock.Advance(time.Hour)
		if got := e.browser(t).signIn("alice@example.test", password); got.path != "/console/" {
			t.Errorf("after an hour landed on %s (%d), want /console/", got.path, got.status)
		}
	})
	t.Run("per IP", func(t *testing.T) {
		e := newEnv(t, func(c *web.Config) { c.IPLimit = limit })
		e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
		for i := range 3 {
			email := string(rune('a'+i)) + "@example.test"
			if got := e.browser(t).signIn(email, password); got.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d, want 401", i+1, got.status)
			}
		}
		if got := e.browser(t).signIn("alice@example.test", password); got.status != http.StatusTooManyRequests {
			t.Errorf("fourth attempt from the IP: status %d, want 429", got.status)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
	b := e.browser(t)
	b.signIn("alice@example.test", password)
	want := map[string]string{
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "same-origin",
		"X-Content-Type-Options": "nosniff",
	}
	for _, path := range []string{"/console/login", "/console/", "/console/orgs", "/console/static/console.css", "/console/nope"} {
		t.Run("sets them on "+path, func(t *testing.T) {
			p := b.get(path)
			for k, v := range want {
				if got := p.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			csp := p.header.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			if strings.Contains(p.body, "<script") || strings.Contains(p.body, " style=") {
				t.Errorf("page has inline script or style")
			}
			if strings.HasSuffix(path, ".css") {
				return
			}
			if got := p.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
		})
	}
}

func TestAudit(t *testing.T) {
	e := newEnv(t, nil)
	u := e.user(t, "alice@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
	e.browser(t).signIn("alice@example.test", "not the password at all")
	b := e.browser(t)
	p := b.signIn("alice@example.test", password)
	b.post("/console/logout", url.Values{"csrf": {csrf(t, p)}})

	recs, err := e.store.ListAuditRecords(context.Background(), aip.AuditFilter{OrgID: e.orgA.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	type rec struct{ Action, Result, CRUD, Source, UserID string }
	var got []rec
	for _, r := range recs {
		got = append(got, rec{r.Action, r.Result, r.CRUD, r.Source, r.UserID})
	}
	want := []rec{
		{"web-sign-out", "success", "delete", "web", u.ID},
		{"web-sign-in", "success", "create", "web", u.ID},
		{"web-sign-in", "failure", "create", "web", u.ID},
	}
	// Records of the same millisecond are ordered by id: compare as sets.
	sortRecs := func(a, b rec) bool { return a.Action+a.Result < b.Action+b.Result }
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(sortRecs)); diff != "" {
		t.Errorf("audit records (-want +got):\n%s", diff)
	}
	if others, _ := e.store.ListAuditRecords(context.Background(), aip.AuditFilter{OrgID: e.orgB.ID, Limit: 10}); len(others) != 0 {
		t.Errorf("Org B got %d audit records, want none", len(others))
	}
}
