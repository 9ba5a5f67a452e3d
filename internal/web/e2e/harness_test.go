package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/web"
)

// password is every test account's console password.
const password = "correct horse battery staple"

// actionTimeout bounds one browser step (a navigation, a query, a script).
const actionTimeout = 20 * time.Second

// screenshotDir is where every page visited is saved (git-ignored).
const screenshotDir = "screenshots"

// account is a console user of the test server.
type account struct {
	id, email string
}

// env is one aipd with its demo fleet in organization A (the bootstrap
// organization), a second organization B with alerts of its own, and a
// running headless Chromium.
type env struct {
	base  string
	store aip.Store
	logs  *syncBuffer

	orgA, orgB string
	// owner and reader are members of A; ownerB is B's only member.
	owner, reader, ownerB account
	// markersB are the titles of B's alerts, which no page of A may show;
	// alertB is the id of one of them.
	markersB []string
	alertB   string

	// browser is a chromedp context whose browser has started; every
	// session gets a fresh browser context (its own cookies) under it.
	browser context.Context
}

// syncBuffer collects the server's logs from its goroutines; they are
// printed when a test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// chromiumPath is the browser the tests drive, or a skip with the reason.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("AIP_TEST_CHROMIUM")
	if p == "" {
		t.Skip("AIP_TEST_CHROMIUM is not set: the browser end-to-end tests need Chromium " +
			"(apt-get install chromium; .ci/run installs it and sets AIP_TEST_CHROMIUM=/usr/bin/chromium)")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("AIP_TEST_CHROMIUM=%s is not usable (%v): install chromium or unset the variable", p, err)
	}
	return p
}

// newEnv boots the server, seeds the accounts and organization B, and
// starts the browser. Everything stops at cleanup, the demo before the
// server and the browser before both.
func newEnv(t *testing.T) *env {
	t.Helper()
	chromium := chromiumPath(t)
	ctx := context.Background()
	e := &env{logs: &syncBuffer{}}
	m := &app.Main{
		Config: app.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0"},
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Stdout: io.Discard,
	}
	if err := m.Open(ctx); err != nil {
		t.Fatalf("open aipd: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close aipd: %v", err)
		}
		if t.Failed() {
			t.Logf("server logs (warnings and errors):\n%s", e.logs)
		}
	})
	e.base = "http://" + m.Addr()
	e.store = m.Store()

	orgA, err := m.DemoOrgID(ctx)
	if err != nil {
		t.Fatalf("demo org: %v", err)
	}
	e.orgA = orgA
	demoCtx, stopDemo := context.WithCancel(ctx)
	demoDone := make(chan error, 1)
	go func() { demoDone <- m.RunDemo(demoCtx, orgA) }()
	t.Cleanup(func() {
		stopDemo()
		if err := <-demoDone; err != nil {
			t.Errorf("demo fleet: %v", err)
		}
	})

	kr, _, err := keyring.LoadOrCreate(m.Config.MasterKeyPath())
	if err != nil {
		t.Fatalf("master key: %v", err)
	}
	owner, err := e.store.FindUserByID(ctx, m.Bootstrap.UserID)
	if err != nil {
		t.Fatalf("bootstrap owner: %v", err)
	}
	e.owner = account{id: owner.ID, email: owner.Email}
	e.setPassword(t, e.owner)
	e.reader = e.newUser(t, kr, "reader@example.test", orgA, aip.RoleReader)

	orgB, err := app.CreateOrganization(ctx, e.store, "Org B")
	if err != nil {
		t.Fatalf("create org B: %v", err)
	}
	e.orgB = orgB.ID
	e.ownerB = e.newUser(t, kr, "owner-b@example.test", orgB.ID, aip.RoleOwner)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for sev := 1; sev <= 3; sev++ {
		a := &aip.Alert{
			OrgID: orgB.ID, Title: fmt.Sprintf("ORGB-ONLY marker alert %d", sev), DataSource: aip.DataSourceAgent,
			CreatedAt: aip.Time{Time: now}, Severity: sev, Aggregates: []aip.Aggregate{},
			ExpiresAt: aip.Time{Time: now.Add(time.Hour)}, Key: fmt.Sprintf("e2e-org-b-%d", sev),
		}
		if err := e.store.CreateAlert(ctx, a, nil, nil); err != nil {
			t.Fatalf("seed org B alert: %v", err)
		}
		e.markersB = append(e.markersB, a.Title)
		e.alertB = a.ID
	}

	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatalf("screenshots folder: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox on.
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first Run starts the browser; it must have no timeout of its own.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium %s: %v", chromium, err)
	}
	e.browser = browser
	return e
}

// newUser creates an enabled user with the test password, member of org
// with role.
func (e *env) newUser(t *testing.T, kr *keyring.Keyring, email, org string, role aip.Role) account {
	t.Helper()
	ctx := context.Background()
	u, _, err := app.CreateUser(ctx, e.store, kr, email, email)
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	if err := e.store.PutMember(ctx, org, u.ID, role); err != nil {
		t.Fatalf("add %s to %s: %v", email, org, err)
	}
	a := account{id: u.ID, email: email}
	e.setPassword(t, a)
	return a
}

func (e *env) setPassword(t *testing.T, a account) {
	t.Helper()
	hash, err := web.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPassword(context.Background(), a.id, hash); err != nil {
		t.Fatalf("set password of %s: %v", a.email, err)
	}
}

// session is one browser context (its own cookie jar) with one tab.
type session struct {
	t   *testing.T
	e   *env
	ctx context.Context
}

// session opens a fresh browser context; it closes when t ends.
func (e *env) session(t *testing.T) *session {
	t.Helper()
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first Run creates the tab; a timeout here would close it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a browser tab: %v", err)
	}
	return &session{t: t, e: e, ctx: ctx}
}

// in is s for the (sub)test t: failures are reported to t.
func (s *session) in(t *testing.T) *session {
	c := *s
	c.t = t
	return &c
}

// run runs one bounded browser step and fails the test on error.
func run[T any](s *session, what string, a chromedp.Action[T]) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// do runs bounded browser steps that return nothing.
func (s *session) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	run(s, what, chromedp.Steps(steps...))
}

// navigate loads path, saves a screenshot named shot and returns the
// HTTP status of the document.
func (s *session) navigate(path, shot string) int {
	s.t.Helper()
	resp := run(s, "navigate to "+path, chromedp.NavigateResponse(s.e.base+path))
	s.screenshot(shot)
	return int(resp.Status)
}

// submit runs steps that submit a form (a click), waits for the page it
// leads to, saves a screenshot and returns that page's status.
func (s *session) submit(what, shot string, steps ...chromedp.Action[chromedp.Void]) int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
	s.screenshot(shot)
	return int(resp.Status)
}

// screenshot writes the full page to screenshots/<name>.png.
func (s *session) screenshot(name string) {
	s.t.Helper()
	png := run(s, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		s.t.Fatalf("write screenshot: %v", err)
	}
}

// path is the current page's path (with its query).
func (s *session) path() string {
	s.t.Helper()
	loc := run(s, "location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		s.t.Fatalf("location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// html is the current document's markup.
func (s *session) html() string {
	s.t.Helper()
	return run(s, "read the page", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
}

// text is the current page's visible text.
func (s *session) text() string {
	s.t.Helper()
	return run(s, "read the page text", chromedp.Evaluate[string](`document.body.innerText`))
}

// exists reports whether the current page has an element matching css.
func (s *session) exists(css string) bool {
	s.t.Helper()
	return run(s, "query "+css, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(css))))
}

// csrf is the CSRF token of the current page's forms (the sign-out form of
// the layout carries it on every signed-in page).
func (s *session) csrf() string {
	s.t.Helper()
	return run(s, "read the CSRF token", chromedp.Evaluate[string](`document.querySelector('input[name="csrf"]').value`))
}

// signIn fills and submits the sign-in form and returns the status of the
// page it leads to.
func (s *session) signIn(a account, pw, shot string) int {
	s.t.Helper()
	s.navigate("/console/login", "login")
	s.do("fill the sign-in form",
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), a.email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
	)
	return s.submit("sign in as "+a.email, shot, chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type="submit"]`)))
}

// fetchPost posts form fields to path from the page's own JavaScript: a
// same-origin request carrying the session cookie, as a forged or
// hand-made form would. Redirects are not followed (status 0 for one).
func (s *session) fetchPost(path string, fields [][2]string) int {
	s.t.Helper()
	js := fmt.Sprintf(`fetch(%s, {method: "POST", body: new URLSearchParams(%s), credentials: "same-origin", redirect: "manual"}).then(r => r.status)`,
		jsString(path), jsJSON(s.t, fields))
	return run(s, "POST "+path+" from the page", chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
}

// cookieHeader is the browser's Cookie header for the console, read over
// the DevTools protocol (the session cookie is HttpOnly).
func (s *session) cookieHeader() string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, actionTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.e.base + "/console/"}})
	if err != nil {
		s.t.Fatalf("read cookies: %v", err)
	}
	var parts []string
	for _, c := range res.Cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// httpPost posts form fields to path outside the browser with the
// browser's cookies, like a script that stole nothing but the cookie.
func (s *session) httpPost(path string, form url.Values) int {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.t.Context(), http.MethodPost, s.e.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", s.cookieHeader())
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

func jsJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
