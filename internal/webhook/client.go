package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenDestination is returned (wrapped) when a webhook URL resolves to an address a
// tenant must not reach through the server: loopback, private, link-local (cloud metadata),
// unspecified, multicast or otherwise reserved.
var ErrForbiddenDestination = errors.New("webhook: destination address not allowed")

// reservedPrefixes are special-purpose ranges not covered by the netip predicates.
var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, often internal
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, includes broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("::ffff:0:0:0/96"), // SIIT translated addresses
}

// Ranges that embed an IPv4 address, which is judged in their place.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96") // IPv4 in the last 4 bytes
	sixToFour   = netip.MustParsePrefix("2002::/16")    // IPv4 in bytes 2..5
)

// forbiddenAddr reports whether a resolved destination is off limits.
func forbiddenAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range reservedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	b := a.As16()
	switch {
	case nat64Prefix.Contains(a):
		return forbiddenAddr(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(a):
		return forbiddenAddr(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return false
}

// refusePrivate is a net.Dialer.Control hook: it runs after DNS resolution, on the exact
// address being dialled, so a hostname that resolves (or rebinds) to an internal address is
// refused too.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialled address %q", ErrForbiddenDestination, address)
	}
	if forbiddenAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbiddenDestination, ap.Addr())
	}
	return nil
}

// noRedirect makes the client return the 3xx response itself: following a redirect would
// let a receiver steer the signed POST to another (possibly internal) host.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewClient returns the HTTP client the Dispatcher uses by default: no proxy, no redirects,
// and, unless allowPrivate, refusal to connect to internal addresses. Per-request deadlines
// come from the Dispatcher, not from the client.
func NewClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = refusePrivate
	}
	return &http.Client{
		Transport: &http.Transport{
			// No proxy: the dial guard must see the receiver's address, not a proxy's.
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: noRedirect,
	}
}
