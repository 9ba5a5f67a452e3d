package hawk

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// specHeaders are every Authorization-like header of hawk.md plus the
// parser's edge cases.
var specHeaders = []string{
	v1Header, v2Header, v5Header, v6Header, v7Header, v8Header, v8bHeader, v13Header, ts1Mohawk, ts1Tent, ts1Node, ts2Tent,
	v3Header, v3HeaderNoExt, ts4, ts5, staleV12, serverAuth,
	"", "Hawk", "hawk ", "Basic Zm9vOmJhcg==", `Hawk id="a", ts="1"`, ts1Node + `, foo="x"`, ts1Node + `, id="b"`,
	`Hawk id="a", ts="1", nonce="n", mac="m", ext="a\"b"`, `Hawk id="a", ts="1", nonce="n", mac="m", ext=""`,
	`Hawk id="a",ts="1",nonce="n",mac="m",`, `Hawk id="a", ts="abc", nonce="n", mac="m"`, `Hawk id="a", ts="1.5", nonce="n", mac="m"`,
	`Hawk id="a", ts="0001", nonce="n", mac="x"`, `Hawk id="a", junk, foo="x"`, `Hawk id="a", ts="1", nonce="n", mac="m", dlg="d"`,
	"Hawk\t" + ts1Node[5:], `Hawk id="a", ts="1", nonce="n", mac="m", ext="` + strings.Repeat("x", 4096) + `"`,
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range specHeaders {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHeader(s)
		if err != nil {
			e := asError(err)
			if e == nil || (e.Status != 400 && e.Status != 401) || e.Message == "" {
				t.Fatalf("ParseHeader(%q) error %#v, want a 400 or 401 *Error", s, err)
			}
			return
		}
		if h.ID == "" || h.Nonce == "" || h.MAC == "" || len(h.TS) > 15 || !allDigits(h.TS) || (h.Dlg != "" && h.App == "") {
			t.Fatalf("ParseHeader(%q) accepted %+v", s, h)
		}
		out := h.String()
		if len(out) > MaxHeaderLength { // ", " separators may outgrow a dense input
			return
		}
		back, err := ParseHeader(out)
		if err != nil {
			t.Fatalf("ParseHeader(%q) (re-serialised from %q): %v", out, s, err)
		}
		if diff := cmp.Diff(h, back); diff != "" {
			t.Fatalf("round trip of %q (-want +got):\n%s", s, diff)
		}
	})
}

func FuzzAuthenticate(f *testing.F) {
	for _, s := range specHeaders {
		f.Add(s, "GET", "/resource/1?b=1&a=2", "", "")
	}
	f.Add(v2Header, "POST", "/resource/1?b=1&a=2", "text/plain", "Thank you for flying Hawk")
	f.Add(v2Header, "POST", "/resource/1?b=1&a=2", "text/plain", "other")
	f.Add(v1Header, "GET", "http://example.com:8000/resource/1?b=1&a=2", "", "x")
	f.Fuzz(func(t *testing.T, authz, method, uri, ctype, body string) {
		srv := newServer(sec(1353832234), NewMemoryNonceStore(0))
		req := &Request{Method: method, RequestURI: uri, Host: "example.com", Port: "8000", Authorization: authz,
			ContentType: ctype, Body: []byte(body)}
		res, err := srv.Authenticate(context.Background(), req)
		if err != nil {
			if e := asError(err); e == nil || (e.Status != 400 && e.Status != 401) {
				t.Fatalf("Authenticate error %#v, want a 400 or 401 *Error", err)
			}
			return
		}
		if res.Header.MAC != MAC(res.Credentials.Key, "header", &res.Artifacts) {
			t.Fatalf("accepted %q with a wrong mac", authz)
		}
		if body != "" && res.Header.Hash != PayloadHash(ctype, []byte(body)) {
			t.Fatalf("accepted body %q without its hash", body)
		}
		if _, err := srv.Authenticate(context.Background(), req); asError(err) == nil || asError(err).Message != "Invalid nonce" {
			t.Fatalf("replay answered %v, want Invalid nonce", err)
		}
	})
}

func FuzzSplitHostPort(f *testing.F) {
	for _, s := range []string{"example.com", "example.com:8000", "EXAMPLE.COM:8000", "[::1]:8080", "[FE80::1]", "127.0.0.1:80",
		"", ":80", "a/b", "example.com:", "example.com:99999", "[::1", "[::1]x", "exämple.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := SplitHostPort(s, "443")
		if err != nil {
			if e := asError(err); e == nil || e.Status != 400 {
				t.Fatalf("SplitHostPort(%q) error %#v, want a 400 *Error", s, err)
			}
			return
		}
		if host == "" || host != strings.ToLower(host) || strings.ContainsAny(host, "/ []") || port == "" || !allDigits(port) {
			t.Fatalf("SplitHostPort(%q) = %q, %q", s, host, port)
		}
		host2, port2, err := SplitHostPort(net.JoinHostPort(host, port), "1")
		if err != nil || host2 != host || port2 != port {
			t.Fatalf("SplitHostPort(JoinHostPort(%q, %q)) = %q, %q, %v", host, port, host2, port2, err)
		}
	})
}

func FuzzParseWWWAuthenticate(f *testing.F) {
	for _, s := range specHeaders {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, tsm, msg, err := ParseWWWAuthenticate(s)
		if err == nil && (ts < 0 || strings.ContainsAny(tsm+msg, "\"\\")) {
			t.Fatalf("ParseWWWAuthenticate(%q) = %d, %q, %q", s, ts, tsm, msg)
		}
	})
}

// FuzzHMAC pins our allocation-free HMAC to crypto/hmac.
func FuzzHMAC(f *testing.F) {
	f.Add([]byte(k1), "hawk.1.ts\n1365741469\n")
	f.Add([]byte{}, "")
	f.Add(bytes.Repeat([]byte{0xff}, sha256.BlockSize), "x")
	f.Add(bytes.Repeat([]byte{1}, sha256.BlockSize+1), strings.Repeat("m", 1000))
	f.Fuzz(func(t *testing.T, key []byte, msg string) {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		want := m.Sum(nil)
		got := hmacSHA256(key, append(make([]byte, sha256.BlockSize), msg...))
		if !bytes.Equal(got[:], want) {
			t.Fatalf("hmacSHA256(%x, %q) = %x, want %x", key, msg, got, want)
		}
	})
}
