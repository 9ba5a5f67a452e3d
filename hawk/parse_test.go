package hawk

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Literal headers of hawk.md, reused as fuzz seeds.
const (
	v1Header   = `Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", ext="some-app-ext-data", mac="6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE="`
	v2Header   = `Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", hash="Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY=", ext="some-app-ext-data", mac="aSe1DERmZuRl3pI36/9BdZmnErTw3sNzOOAUlfeKjVw="`
	v5Header   = `Hawk id="123456", ts="1353809207", nonce="Ygvqdz", hash="q/t+NNAkQZNlq/aAD6PlexImwQTxwgT2MahfTa9XRLA=", mac="U5k16YEzn3UnBHKeBzsDXn067Gu3R4YaY6xOt9PYRZM="`
	v6Header   = `Hawk id="1", ts="1353788437", nonce="k3j4h2", mac="zy79QQ5/EYFmQqutVnYb73gAc/U=", ext="hello"`
	v7Header   = `Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", mac="m8r1rHbXN6NgO+KIIhjO7sFRyd78RNGVUwehe8Cp2dU=", ext="some-app-data"`
	v8Header   = `Hawk id="123456", ts="1357926341", nonce="1AwuJD", hash="qAiXIVv+yjDATneWxZP2YCTa9aHRgQdnH9b3Wc+o3dg=", ext="some-app-data", mac="UeYcj5UoTVaAWXNvJfLVia7kU3VabxCqrccXP8sUGC4="`
	v8bHeader  = `Hawk id="123", ts="1353788437", nonce="k3j4h2", mac="bXx7a7p1h9QYQNZ8x7QhvDQym8ACgab4m3lVSFn4DBw=", ext="hello"`
	v13Header  = `Hawk id="dh37fgj492je", ts="1353832234", nonce="k3j4h2", ext="hello", mac="dbkpKc+e+hFbYaM/DO5+Esw9pNvmPm1Q/xp7e/BTO/A=", app="asd23ased", dlg="23434szr3q4d"`
	ts1Mohawk  = `Hawk mac="k/cf0G4tA5XYhOZX7yWSVNxXP2vjbf3TV6bPIdTwwJU=", id="5d1fa0e1c2b3a4f5e6d7c8b9", ts="1700000000", nonce="Xy12Ab", ext="5a0f1e2d3c4b5a6978877665"`
	ts1Tent    = `Hawk id="5d1fa0e1c2b3a4f5e6d7c8b9", mac="k/cf0G4tA5XYhOZX7yWSVNxXP2vjbf3TV6bPIdTwwJU=", ts="1700000000", nonce="Xy12Ab", ext="5a0f1e2d3c4b5a6978877665"`
	ts1Node    = `Hawk id="5d1fa0e1c2b3a4f5e6d7c8b9", ts="1700000000", nonce="Xy12Ab", ext="5a0f1e2d3c4b5a6978877665", mac="k/cf0G4tA5XYhOZX7yWSVNxXP2vjbf3TV6bPIdTwwJU="`
	staleV12   = `Hawk ts="1365741469", tsm="b4Qqhz8OUBq21saghHLV1ktwlXE72T1xtTEZkSlWizA=", error="Stale timestamp"`
	serverAuth = `Hawk mac="XIJRsMl/4oL+nn+vKoeVZPdCHXB4yJkNnBbTbHFZUYE=", hash="f9cDF/TDm7TkYRLnGwRMfeDzT6LixQVLvrIKhh0vgmM=", ext="response-specific"`
)

var ts1Parsed = Header{ID: tsID, TS: "1700000000", Nonce: "Xy12Ab", Ext: tsOrg, MAC: "k/cf0G4tA5XYhOZX7yWSVNxXP2vjbf3TV6bPIdTwwJU="}

// asError returns err as *Error, or nil when it is not one.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func TestParseHeaderAccepts(t *testing.T) {
	tests := []struct {
		name, header string
		want         Header
	}{
		{"node order", ts1Node, ts1Parsed},
		{"tent order", ts1Tent, ts1Parsed},
		{"mohawk order (literal TS1 line)", ts1Mohawk, ts1Parsed},
		{"lower-case scheme", strings.Replace(ts1Node, "Hawk", "hawk", 1), ts1Parsed},
		{"upper-case scheme", strings.Replace(ts1Node, "Hawk", "HAWK", 1), ts1Parsed},
		{"commas without spaces", strings.ReplaceAll(ts1Node, ", ", ","), ts1Parsed},
		{"trailing comma", ts1Node + ",", ts1Parsed},
		{"trailing comma and spaces", ts1Node + " , ", ts1Parsed},
		{"spaces before commas and a tab after the scheme", "Hawk\t" + strings.ReplaceAll(ts1Node[5:], ", ", " ,  "), ts1Parsed},
		{"line break after the scheme", "Hawk\r\n " + ts1Node[5:], ts1Parsed},
		{"hash and app and dlg", v13Header + `, hash="abc"`, Header{ID: "dh37fgj492je", TS: "1353832234", Nonce: "k3j4h2", Ext: "hello",
			MAC: "dbkpKc+e+hFbYaM/DO5+Esw9pNvmPm1Q/xp7e/BTO/A=", App: "asd23ased", Dlg: "23434szr3q4d", Hash: "abc"}},
		{"ts with leading zeros kept raw", `Hawk id="a", ts="0001700000000", nonce="n", mac="m"`,
			Header{ID: "a", TS: "0001700000000", Nonce: "n", MAC: "m"}},
		{"ts of 15 digits", `Hawk id="a", ts="999999999999999", nonce="n", mac="m"`,
			Header{ID: "a", TS: "999999999999999", Nonce: "n", MAC: "m"}},
		{"short mac", `Hawk id="a", ts="1", nonce="n", mac="x"`, Header{ID: "a", TS: "1", Nonce: "n", MAC: "x"}},
		{"every allowed value character", "Hawk id=\"a\", ts=\"1\", nonce=\"n\", mac=\"m\", ext=\" !#$%&'()*+,-./:;<=>?@[]^_`{|}~azAZ09\"",
			Header{ID: "a", TS: "1", Nonce: "n", MAC: "m", Ext: " !#$%&'()*+,-./:;<=>?@[]^_`{|}~azAZ09"}},
		{"exactly 4096 bytes", `Hawk id="a", ts="1", nonce="n", mac="m", ext="` + strings.Repeat("x", 4096-len(`Hawk id="a", ts="1", nonce="n", mac="m", ext=""`)) + `"`,
			Header{ID: "a", TS: "1", Nonce: "n", MAC: "m", Ext: strings.Repeat("x", 4096-len(`Hawk id="a", ts="1", nonce="n", mac="m", ext=""`))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.header)
			if err != nil {
				t.Fatalf("ParseHeader: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseHeaderRejects(t *testing.T) {
	bad := func(msg string) *Error { return &Error{Status: 400, Message: msg} }
	tests := []struct {
		name, header string
		want         *Error
	}{
		{"no header", "", &Error{Status: 401, Message: "Missing authentication", WWWAuthenticate: "Hawk"}},
		{"basic scheme", "Basic Zm9vOmJhcg==", &Error{Status: 401, Message: "Unsupported authentication scheme", WWWAuthenticate: "Hawk"}},
		{"bearer scheme alone", "Bearer", &Error{Status: 401, Message: "Unsupported authentication scheme", WWWAuthenticate: "Hawk"}},
		{"scheme without attributes", "Hawk", bad("Invalid header syntax")},
		{"scheme and spaces only", "Hawk   ", bad("Invalid header syntax")},
		{"scheme glued to attributes", `Hawkid="a"`, bad("Invalid header syntax")},
		{"scheme with a non-word character", `Ha-wk id="a"`, bad("Invalid header syntax")},
		{"leading space", ` Hawk id="a"`, bad("Invalid header syntax")},
		{"line break inside attributes", "Hawk id=\"a\",\nts=\"1\"", bad("Invalid header syntax")},
		{"over 4096 bytes", `Hawk id="a", ts="1", nonce="n", mac="m", ext="` + strings.Repeat("x", 4096) + `"`, bad("Header length too long")},
		{"id and ts only", `Hawk id="a", ts="1"`, bad("Missing attributes")},
		{"no mac", `Hawk id="a", ts="1", nonce="n"`, bad("Missing attributes")},
		{"unknown attribute", ts1Node + `, foo="x"`, bad("Unknown attribute: foo")},
		{"attribute names are case-sensitive", `Hawk ID="a", ts="1", nonce="n", mac="m"`, bad("Unknown attribute: ID")},
		{"duplicate attribute", ts1Node + `, id="b"`, bad("Duplicate attribute: id")},
		{"empty hash", ts1Node + `, hash=""`, bad("Bad attribute value: hash")},
		{"empty ext value", `Hawk id="a", ts="1", nonce="n", mac="m", ext=""`, bad("Bad attribute value: ext")},
		{"escaped quote in value", `Hawk id="a", ts="1", nonce="n", mac="m", ext="a\"b"`, bad("Bad header format")},
		{"backslash in value", `Hawk id="a", ts="1", nonce="n", mac="m", ext="a\b"`, bad("Bad header format")},
		{"tab in value", "Hawk id=\"a\", ts=\"1\", nonce=\"n\", mac=\"m\", ext=\"a\tb\"", bad("Bad attribute value: ext")},
		{"non-ASCII value", `Hawk id="a", ts="1", nonce="n", mac="m", ext="é"`, bad("Bad attribute value: ext")},
		{"unquoted value", `Hawk id=a, ts="1", nonce="n", mac="m"`, bad("Bad header format")},
		{"missing comma", `Hawk id="a" ts="1", nonce="n", mac="m"`, bad("Bad header format")},
		{"junk between attributes", `Hawk id="a", junk, ts="1", nonce="n", mac="m"`, bad("Bad header format")},
		{"unterminated value", `Hawk id="a", ts="1", nonce="n", mac="m`, bad("Bad header format")},
		{"attribute error wins over junk", `Hawk id="a", junk, foo="x"`, bad("Unknown attribute: foo")},
		{"last attribute error wins", `Hawk foo="1", ext=""`, bad("Bad attribute value: ext")},
		{"last attribute error wins the other way", `Hawk ext="", foo="1"`, bad("Unknown attribute: foo")},
		{"ts not a number", `Hawk id="a", ts="abc", nonce="n", mac="m"`, bad("Bad attribute value: ts")},
		{"fractional ts", `Hawk id="a", ts="1.5", nonce="n", mac="m"`, bad("Bad attribute value: ts")},
		{"negative ts", `Hawk id="a", ts="-1", nonce="n", mac="m"`, bad("Bad attribute value: ts")},
		{"ts of 16 digits", `Hawk id="a", ts="1000000000000000", nonce="n", mac="m"`, bad("Bad attribute value: ts")},
		{"dlg without app", `Hawk id="a", ts="1", nonce="n", mac="m", dlg="d"`, bad("Attribute dlg requires app")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.header)
			if err == nil {
				t.Fatalf("ParseHeader = %+v, want error %q", got, tt.want.Message)
			}
			if diff := cmp.Diff(tt.want, asError(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeaderStringRoundTrips(t *testing.T) {
	for _, s := range []string{v1Header, v2Header, v5Header, v7Header, v8Header, v8bHeader, v13Header, ts1Mohawk} {
		h, err := ParseHeader(s)
		if err != nil {
			t.Fatalf("ParseHeader(%q): %v", s, err)
		}
		back, err := ParseHeader(h.String())
		if err != nil {
			t.Fatalf("ParseHeader(%q): %v", h.String(), err)
		}
		if diff := cmp.Diff(h, back); diff != "" {
			t.Errorf("round trip of %q (-want +got):\n%s", s, diff)
		}
	}
	// The node order is the canonical one, so node headers come back verbatim.
	for _, s := range []string{v2Header, v5Header, v13Header, ts1Node} {
		h, _ := ParseHeader(s)
		if got := h.String(); got != s {
			t.Errorf("String = %q, want %q", got, s)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		name, in, def    string
		wantHost, wantPt string
	}{
		{"host without port takes the default", "example.com", "443", "example.com", "443"},
		{"explicit port", "example.com:8000", "80", "example.com", "8000"},
		{"host lower-cased", "EXAMPLE.COM:8000", "80", "example.com", "8000"},
		{"IPv4", "127.0.0.1:8080", "80", "127.0.0.1", "8080"},
		{"IPv6 with port", "[::1]:8080", "80", "::1", "8080"},
		{"IPv6 without port", "[FE80::1]", "443", "fe80::1", "443"},
		{"empty port takes the default", "example.com:", "80", "example.com", "80"},
		{"port leading zeros dropped", "example.com:0080", "443", "example.com", "80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port, err := SplitHostPort(tt.in, tt.def)
			if err != nil {
				t.Fatalf("SplitHostPort: %v", err)
			}
			if host != tt.wantHost || port != tt.wantPt {
				t.Errorf("SplitHostPort = %q, %q; want %q, %q", host, port, tt.wantHost, tt.wantPt)
			}
		})
	}

	for _, in := range []string{"", ":80", "a/b", "example.com/x:80", "example.com:abc", "example.com:99999",
		"example.com:-1", "example.com:+80", "::1", "[::1", "[::1]x", "[]:80", "[zz::1]", "[1.2.3.4]", "ex ample.com",
		"user@example.com", "exa\tmple", "exämple.com", `a\b`, "a?b", "a#b"} {
		t.Run("rejects "+in, func(t *testing.T) {
			host, port, err := SplitHostPort(in, "80")
			want := &Error{Status: 400, Message: "Invalid Host header"}
			if diff := cmp.Diff(want, asError(err)); diff != "" {
				t.Errorf("SplitHostPort = %q, %q, error (-want +got):\n%s", host, port, diff)
			}
		})
	}
}
