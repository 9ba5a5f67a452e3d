package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aipsec/aip"
)

// demoWait bounds how long the demo fleet may take to raise its first
// alerts.
const demoWait = 20 * time.Second

// TestConsole drives the console as its users would, in one server and one
// browser (both are slow to start): sign-in, the overview of the demo's
// alerts, the alerts flow, roles, CSRF and the isolation of organizations.
func TestConsole(t *testing.T) {
	e := newEnv(t)

	t.Run("refuses a wrong password", func(t *testing.T) {
		s := e.session(t)
		if got := s.signIn(e.owner, "not the password at all", "login-refused"); got != http.StatusUnauthorized {
			t.Errorf("status = %d, want %d", got, http.StatusUnauthorized)
		}
		if got, want := s.path(), "/console/login"; got != want {
			t.Errorf("landed on %s, want %s", got, want)
		}
		if !strings.Contains(s.text(), "Incorrect email or password.") {
			t.Errorf("the sign-in page does not say why:\n%s", s.text())
		}
	})

	owner := e.session(t)
	t.Run("owner signs in and sees the demo's alerts on the overview", func(t *testing.T) {
		owner := owner.in(t)
		if got := owner.signIn(e.owner, password, "overview-first"); got != http.StatusOK {
			t.Fatalf("status after sign-in = %d, want 200", got)
		}
		if got, want := owner.path(), "/console/"; got != want {
			t.Fatalf("landed on %s, want %s", got, want)
		}
		if !strings.Contains(owner.text(), e.owner.email) {
			t.Errorf("the overview does not name the signed-in user %s", e.owner.email)
		}
		total := waitOpenAlerts(t, owner)
		owner.screenshot("overview")
		var sum int
		for _, sev := range []string{"1", "2", "3"} {
			v := run(owner, "severity count", chromedp.Evaluate[string](`(document.querySelector('[data-severity="`+sev+`"]') || {}).textContent || "0"`))
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("severity %s count %q: %v", sev, v, err)
			}
			sum += n
		}
		if sum != total {
			t.Errorf("severity counts add up to %d, want the total %d", sum, total)
		}
	})

	t.Run("owner filters, opens and dismisses an alert, which leaves the open list", func(t *testing.T) {
		owner := owner.in(t)
		owner.ensureSignedIn(e.owner)
		waitOpenAlerts(t, owner)
		if !hasPage(t, owner, "/console/alerts") {
			t.Skip("the alerts list (/console/alerts) is not in the console yet")
		}
		owner.navigate("/console/alerts", "alerts")
		first := run(owner, "read the first alert's severity", chromedp.Evaluate[string](
			`document.querySelector('tr[data-alert-id] .badge').className.match(/badge-sev(\d)/)[1]`))
		owner.do("choose a severity", chromedp.SetValue(chromedp.ID("f-severity"), first))
		if got := owner.submit("filter by severity", "alerts-filtered",
			chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`))); got != http.StatusOK {
			t.Fatalf("filtered list: status %d, want 200", got)
		}
		if p := owner.path(); !strings.Contains(p, "severity="+first) {
			t.Errorf("filtered list at %s, want severity=%s in the query", p, first)
		}
		sevs := run(owner, "read the listed severities", chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll('tr[data-alert-id] .badge')).map(b => b.className)`))
		if len(sevs) == 0 {
			t.Fatalf("the severity filter %s listed no alert, though one was open", first)
		}
		for _, c := range sevs {
			if !strings.Contains(c, "badge-sev"+first) {
				t.Errorf("severity filter %s lists an alert with badge %q", first, c)
			}
		}
		listPath := owner.path()

		id := run(owner, "read the first alert's id", chromedp.Evaluate[string](`document.querySelector('tr[data-alert-id]').dataset.alertId`))
		alert, err := e.store.FindAlert(t.Context(), e.orgA, id)
		if err != nil {
			t.Fatalf("find the listed alert: %v", err)
		}
		if got := owner.submit("open alert "+id, "alert",
			chromedp.Click(chromedp.CSS(`tr[data-alert-id="`+id+`"] a[href="/console/alerts/`+id+`"]`))); got != http.StatusOK {
			t.Fatalf("alert page: status %d, want 200", got)
		}
		if got, want := owner.path(), "/console/alerts/"+id; got != want {
			t.Errorf("alert page at %s, want %s", got, want)
		}
		if h1 := run(owner, "read the title", chromedp.Text(chromedp.CSS("main h1"))); h1 != alert.Title {
			t.Errorf("alert page title = %q, want %q", h1, alert.Title)
		}
		events := run(owner, "read the events", chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll('.event-list .event-json')).map(e => e.textContent)`))
		if len(events) == 0 {
			t.Errorf("the alert page shows no contributing event; the alert counts %d", alert.EventCount)
		}
		for _, ev := range events {
			if !strings.HasPrefix(strings.TrimSpace(ev), "{") {
				t.Errorf("an event is not shown as JSON: %.80q", ev)
			}
		}

		// The browser's Back button (history.back(): chromedp's
		// NavigateBack waits for a load event that a history navigation
		// of this page does not always send).
		run(owner, "go back", chromedp.Evaluate[bool](`history.back(), true`))
		waitPath(t, owner, listPath)
		if !owner.exists("#sel-" + id) {
			t.Fatalf("back on the list, alert %s is not there to select", id)
		}
		owner.screenshot("alerts-back")
		const why = "e2e: expected during the maintenance test"
		// chromedp's element queries lose track of a document restored by a
		// history navigation, so the form is filled by the page's own DOM
		// calls, which fire the same events as a user's clicks.
		fill := fmt.Sprintf(`(() => {
			document.getElementById(%s).click();
			document.getElementById("d-reason").value = "OTHER";
			document.getElementById("d-text").value = %s;
			return document.getElementById(%s).checked;
		})()`, jsString("sel-"+id), jsString(why), jsString("sel-"+id))
		if !run(owner, "select the alert and give a reason", chromedp.Evaluate[bool](fill)) {
			t.Fatalf("the checkbox of alert %s is not checked after a click", id)
		}
		owner.screenshot("alerts-selected")
		if got := owner.submit("dismiss", "alerts-dismissed", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`document.querySelector('#dismiss-form .dismiss-box button[type="submit"]').click(), true`)(ctx, tg)
			return err
		})); got != http.StatusOK {
			t.Fatalf("after dismissing: status %d, want 200", got)
		}
		if got := run(owner, "read the notice", chromedp.Text(chromedp.ID("dismissed-notice"))); !strings.Contains(got, "1 alert dismissed") {
			t.Errorf("notice = %q, want it to say 1 alert dismissed", got)
		}
		if owner.exists(`tr[data-alert-id="` + id + `"]`) {
			t.Errorf("the dismissed alert %s is still in the open list", id)
		}
		after, err := e.store.FindAlert(t.Context(), e.orgA, id)
		if err != nil {
			t.Fatal(err)
		}
		if !after.IsDismissed || after.DismissReason != "OTHER" || after.DismissReasonText != why || after.DismissedBy != e.owner.id {
			t.Errorf("stored alert: dismissed %v, reason %q %q, by %q; want dismissed, OTHER %q, by %s",
				after.IsDismissed, after.DismissReason, after.DismissReasonText, after.DismissedBy, why, e.owner.id)
		}
		owner.navigate("/console/alerts?status=dismissed&severity="+first, "alerts-dismissed-list")
		if !owner.exists(`tr[data-alert-id="` + id + `"]`) {
			t.Errorf("the dismissed alert %s is not in the dismissed list", id)
		}
	})

	t.Run("a reader sees no dismiss controls and cannot dismiss", func(t *testing.T) {
		r := e.session(t)
		if got := r.signIn(e.reader, password, "reader-overview"); got != http.StatusOK {
			t.Fatalf("status after sign-in = %d, want 200", got)
		}
		waitOpenAlerts(t, r)
		if !hasPage(t, r, "/console/alerts") {
			t.Skip("the alerts list (/console/alerts) is not in the console yet")
		}
		r.navigate("/console/alerts", "reader-alerts")
		ids := run(r, "read the listed alerts", chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll('tr[data-alert-id]')).map(tr => tr.dataset.alertId)`))
		if len(ids) == 0 {
			t.Fatal("the reader's alert list is empty, though the demo raised alerts")
		}
		for _, css := range []string{`input[type="checkbox"][name="id"]`, `#d-reason`, `.dismiss-box`} {
			if r.exists(css) {
				t.Errorf("the reader's alert list has a dismiss control %s", css)
			}
		}
		id := ids[0]
		form := [][2]string{{"csrf", r.csrf()}, {"id", id}, {"reason", "MAINTENANCE"}}
		if got := r.fetchPost("/console/alerts/dismiss", form); got != http.StatusForbidden {
			t.Errorf("reader's forged dismiss from the page (valid CSRF token): status %d, want 403", got)
		}
		if got := r.httpPost("/console/alerts/dismiss", url.Values{"csrf": {r.csrf()}, "id": {id}, "reason": {"MAINTENANCE"}}); got != http.StatusForbidden {
			t.Errorf("reader's dismiss over HTTP (valid CSRF token): status %d, want 403", got)
		}
		a, err := e.store.FindAlert(t.Context(), e.orgA, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.IsDismissed {
			t.Errorf("alert %s was dismissed by a reader", id)
		}
	})

	t.Run("refuses a form post without the CSRF token", func(t *testing.T) {
		owner := owner.in(t)
		owner.ensureSignedIn(e.owner)
		waitOpenAlerts(t, owner)
		owner.navigate("/console/", "overview-before-csrf")
		// From the page itself: same origin, session cookie sent, no token.
		if got := owner.fetchPost("/console/logout", nil); got != http.StatusForbidden {
			t.Errorf("page POST /console/logout without a token: status %d, want 403", got)
		}
		if got := owner.fetchPost("/console/logout", [][2]string{{"csrf", "forged-token"}}); got != http.StatusForbidden {
			t.Errorf("page POST /console/logout with a wrong token: status %d, want 403", got)
		}
		// Outside the browser with the session cookie alone.
		if got := owner.httpPost("/console/logout", url.Values{}); got != http.StatusForbidden {
			t.Errorf("HTTP POST /console/logout without a token: status %d, want 403", got)
		}
		if got := owner.httpPost("/console/orgs", url.Values{"org": {e.orgA}}); got != http.StatusForbidden {
			t.Errorf("HTTP POST /console/orgs without a token: status %d, want 403", got)
		}
		// A dismiss without the token leaves the alert open.
		if id := openAlertID(t, e); id != "" {
			if got := owner.fetchPost("/console/alerts/dismiss", [][2]string{{"id", id}, {"reason", "MAINTENANCE"}}); got != http.StatusForbidden {
				t.Errorf("page POST /console/alerts/dismiss without a token: status %d, want 403", got)
			}
			if got := owner.httpPost("/console/alerts/dismiss", url.Values{"id": {id}, "reason": {"MAINTENANCE"}}); got != http.StatusForbidden {
				t.Errorf("HTTP POST /console/alerts/dismiss without a token: status %d, want 403", got)
			}
			if a, err := e.store.FindAlert(t.Context(), e.orgA, id); err != nil || a.IsDismissed {
				t.Errorf("alert %s after the refused dismisses: %+v, %v; want it open", id, a, err)
			}
		}
		// The refused posts did nothing: the session is still signed in.
		if got := owner.navigate("/console/", "overview-after-csrf"); got != http.StatusOK || owner.path() != "/console/" {
			t.Errorf("after the refused posts: status %d at %s, want 200 at /console/", got, owner.path())
		}
		// And the token is what makes a post count: with it, the same
		// request from the page is accepted.
		if got := owner.httpPost("/console/orgs", url.Values{"org": {e.orgA}, "csrf": {owner.csrf()}}); got != http.StatusSeeOther {
			t.Errorf("HTTP POST /console/orgs with the token: status %d, want 303", got)
		}
	})

	t.Run("org A never shows org B's alerts", func(t *testing.T) {
		owner := owner.in(t)
		owner.ensureSignedIn(e.owner)
		visited := 0
		for _, p := range consolePages(t, owner) {
			visited++
			owner.navigate(p, "orgA"+shotName(p))
			assertNoMarkers(t, owner, e.markersB, p)
		}
		if visited == 0 {
			t.Fatal("no console page visited")
		}
		status := owner.navigate("/console/alerts/"+e.alertB, "orgA-alert-of-orgB")
		if status == http.StatusOK {
			t.Errorf("org B's alert page answered 200 to org A's owner")
		}
		assertNoMarkers(t, owner, e.markersB, "/console/alerts/"+e.alertB)
		owner.navigate("/console/", "orgA-overview")
		// Picking an organization one is not in is refused.
		if got := owner.httpPost("/console/orgs", url.Values{"org": {e.orgB}, "csrf": {owner.csrf()}}); got != http.StatusForbidden {
			t.Errorf("picking org B as org A's owner: status %d, want 403", got)
		}
		owner.navigate("/console/", "orgA-after-picking-orgB")
		assertNoMarkers(t, owner, e.markersB, "/console/ after trying to pick org B")
	})

	t.Run("org B's owner sees org B's alerts and none of A's", func(t *testing.T) {
		b := e.session(t)
		if got := b.signIn(e.ownerB, password, "orgB-overview"); got != http.StatusOK {
			t.Fatalf("status after sign-in = %d, want 200", got)
		}
		if got := openTotal(t, b); got != len(e.markersB) {
			t.Errorf("org B's overview counts %d open alerts, want %d (its own only)", got, len(e.markersB))
		}
		if !hasPage(t, b, "/console/alerts") {
			t.Skip("the alerts list (/console/alerts) is not in the console yet")
		}
		b.navigate("/console/alerts", "orgB-alerts")
		text := b.text()
		for _, m := range e.markersB {
			if !strings.Contains(text, m) {
				t.Errorf("org B's alerts list lacks its own alert %q", m)
			}
		}
	})
}

// ensureSignedIn signs a in when the session is not (a -run filter may
// have skipped the sign-in subtest).
func (s *session) ensureSignedIn(a account) {
	s.t.Helper()
	s.navigate("/console/", "overview")
	if s.path() == "/console/login" {
		if got := s.signIn(a, password, "overview"); got != http.StatusOK {
			s.t.Fatalf("sign in as %s: status %d, want 200", a.email, got)
		}
	}
}

// openAlertID is the id of one open alert of org A.
func openAlertID(t *testing.T, e *env) string {
	t.Helper()
	as, err := e.store.ListAlerts(t.Context(), aip.AlertFilter{OrgID: e.orgA, Status: aip.AlertActive, Limit: 1})
	if err != nil {
		t.Fatalf("list org A's open alerts: %v", err)
	}
	if len(as) == 0 {
		t.Fatal("org A has no open alert")
	}
	return as[0].ID
}

// waitPath waits until the tab is at path.
func waitPath(t *testing.T, s *session, path string) {
	t.Helper()
	deadline := time.Now().Add(actionTimeout)
	for {
		got := s.path()
		if got == path {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tab is at %s, want %s", got, path)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitOpenAlerts reloads the overview until the demo's alerts show,
// returning their count.
func waitOpenAlerts(t *testing.T, s *session) int {
	t.Helper()
	deadline := time.Now().Add(demoWait)
	for {
		if n := openTotal(t, s); n > 0 {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("the overview showed no open alert within %s of the demo's start", demoWait)
		}
		time.Sleep(500 * time.Millisecond)
		s.navigate("/console/", "overview-waiting")
	}
}

// openTotal is the overview's count of open alerts.
func openTotal(t *testing.T, s *session) int {
	t.Helper()
	v := run(s, "read the open alerts total", chromedp.Evaluate[string](`document.querySelector('[data-testid="open-total"]').textContent`))
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		t.Fatalf("open alerts total %q: %v", v, err)
	}
	return n
}

// consolePages is the overview and every page of the main navigation.
func consolePages(t *testing.T, s *session) []string {
	t.Helper()
	s.navigate("/console/", "nav")
	hrefs := run(s, "read the navigation", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('nav.main-nav a')).map(a => a.getAttribute('href'))`))
	pages := []string{"/console/"}
	for _, h := range hrefs {
		if strings.HasPrefix(h, "/console/") && h != "/console/" {
			pages = append(pages, h)
		}
	}
	return pages
}

// hasPage reports whether the console's navigation links to path: pages
// arrive one by one, and a test of a missing page skips.
func hasPage(t *testing.T, s *session, path string) bool {
	t.Helper()
	for _, p := range consolePages(t, s) {
		if p == path {
			return true
		}
	}
	return false
}

// assertNoMarkers fails when the current page shows any of markers.
func assertNoMarkers(t *testing.T, s *session, markers []string, page string) {
	t.Helper()
	html := s.html()
	for _, m := range markers {
		if strings.Contains(html, m) {
			t.Errorf("%s shows org B's alert %q", page, m)
		}
	}
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// shotName turns a path into a screenshot name suffix.
func shotName(path string) string {
	n := strings.Trim(unsafeName.ReplaceAllString(strings.TrimPrefix(path, "/console"), "-"), "-")
	if n == "" {
		return "-overview"
	}
	return "-" + n
}
