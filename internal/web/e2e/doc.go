// Package e2e holds the browser end-to-end tests of the web console: a real
// aipd with its demo fleet is booted in-process and driven through headless
// Chromium over the DevTools protocol (chromedp).
//
// The tests run only when AIP_TEST_CHROMIUM names a Chromium binary (.ci/run
// installs Debian's chromium and sets it); otherwise they skip with a
// message. Each page visited is saved as screenshots/<name>.png next to the
// tests (a git-ignored folder), so a failure can be looked at.
package e2e
