package hawk

import (
	"strconv"
	"strings"
)

// MaxHeaderLength is the longest Authorization value the reference parses.
const MaxHeaderLength = 4096

// Header is a parsed Authorization header. Values are raw: exactly the bytes
// between the quotes, because the MAC covers them as sent. The grammar makes
// every value non-empty, so "" means the attribute was absent.
type Header struct {
	ID, TS, Nonce, Hash, Ext, MAC, App, Dlg string
}

// Attribute names per header. Their order is the index into the values array
// filled by parseAttributes.
var (
	requestKeys  = []string{"id", "ts", "nonce", "hash", "ext", "mac", "app", "dlg"}
	responseKeys = []string{"mac", "ext", "hash"}
	wwwAuthKeys  = []string{"ts", "tsm", "error"}
)

// ParseHeader parses a request Authorization header and applies rows 2 to 6
// of the server checklist (§1.5, §1.6), including our two additions: ts must
// be 1 to 15 decimal digits and dlg requires app. Errors are *Error.
func ParseHeader(s string) (Header, error) {
	if s == "" {
		return Header{}, &Error{Status: 401, Message: "Missing authentication", WWWAuthenticate: "Hawk"}
	}
	var v [8]string
	if err := parseAttributes(s, requestKeys, v[:]); err != nil {
		return Header{}, err
	}
	h := Header{ID: v[0], TS: v[1], Nonce: v[2], Hash: v[3], Ext: v[4], MAC: v[5], App: v[6], Dlg: v[7]}
	if h.ID == "" || h.TS == "" || h.Nonce == "" || h.MAC == "" {
		return Header{}, badRequest("Missing attributes")
	}
	// The reference multiplies ts by 1000 and compares: "abc" becomes NaN and
	// never goes stale, "1.5" is accepted. 15 digits keep ts*1000 in an int64.
	if len(h.TS) > 15 || !allDigits(h.TS) {
		return Header{}, badRequest("Bad attribute value: ts")
	}
	// dlg is only covered by the MAC when app is present.
	if h.Dlg != "" && h.App == "" {
		return Header{}, badRequest("Attribute dlg requires app")
	}
	return h, nil
}

// String serializes h in the reference client's attribute order, omitting
// empty attributes. Values are written as they are (no escaping).
func (h Header) String() string {
	b := make([]byte, 0, 64+len(h.ID)+len(h.TS)+len(h.Nonce)+len(h.Hash)+len(h.Ext)+len(h.MAC)+len(h.App)+len(h.Dlg))
	b = append(b, "Hawk "...)
	b = appendAttr(b, "id", h.ID)
	b = appendAttr(b, "ts", h.TS)
	b = appendAttr(b, "nonce", h.Nonce)
	b = appendAttr(b, "hash", h.Hash)
	b = appendAttr(b, "ext", h.Ext)
	b = appendAttr(b, "mac", h.MAC)
	b = appendAttr(b, "app", h.App)
	b = appendAttr(b, "dlg", h.Dlg)
	return string(b)
}

// appendAttr appends key="value", after ", " unless it is the first
// attribute, and nothing when value is empty.
func appendAttr(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	if len(b) > len("Hawk ") {
		b = append(b, ',', ' ')
	}
	b = append(b, key...)
	b = append(b, '=', '"')
	b = append(b, value...)
	return append(b, '"')
}

// parseAttributes implements the reference's parseAuthorizationHeader: the
// scheme line ^(\w+)(?:\s+(.*))?$ and a global scan of
// (\w+)="([^"\\]*)"\s*(?:,\s*|$) over the rest. Like the JavaScript
// replace() it mirrors, the scan keeps going after a bad attribute, so the
// last attribute error wins over "Bad header format". vals[i] receives the
// value of keys[i].
func parseAttributes(s string, keys []string, vals []string) *Error {
	if len(s) > MaxHeaderLength {
		return badRequest("Header length too long")
	}
	i := 0
	for i < len(s) && isWord(s[i]) {
		i++
	}
	if i == 0 {
		return badRequest("Invalid header syntax")
	}
	scheme, rest := s[:i], s[i:]
	if rest != "" {
		j := 0
		for j < len(rest) && isSpace(rest[j]) {
			j++
		}
		// JavaScript's "." stops at line terminators and "$" is the end of
		// input, so CR or LF after the first attribute character fails.
		if j == 0 || strings.IndexByte(rest[j:], '\n') >= 0 || strings.IndexByte(rest[j:], '\r') >= 0 {
			return badRequest("Invalid header syntax")
		}
		rest = rest[j:]
	}
	if !strings.EqualFold(scheme, "hawk") {
		return &Error{Status: 401, Message: "Unsupported authentication scheme", WWWAuthenticate: "Hawk"}
	}
	if rest == "" {
		return badRequest("Invalid header syntax")
	}

	var msg string
	leftover := false
	for pos := 0; pos < len(rest); {
		key, val, valid, next, ok := matchAttribute(rest, pos)
		if !ok {
			// Starts inside the same word run end up at the same "=" and
			// fail the same way, so jump past them.
			leftover = true
			pos = next
			continue
		}
		pos = next
		k := indexOf(keys, key)
		switch {
		case k < 0:
			msg = "Unknown attribute: " + key
		case !valid:
			msg = "Bad attribute value: " + key
		case vals[k] != "":
			msg = "Duplicate attribute: " + key
		default:
			vals[k] = val
		}
	}
	if msg != "" {
		return badRequest(msg)
	}
	if leftover {
		return badRequest("Bad header format")
	}
	return nil
}

// matchAttribute matches (\w+)="([^"\\]*)"\s*(?:,\s*|$) at s[pos:] and
// reports whether the value is valid: non-empty and only the characters
// ^[ \w!#$%&'()*+,\-./:;<=>?@[\]^`{|}~]+$ admits, i.e. printable ASCII
// without '"' and '\'. On failure next is the first position where a match
// could succeed.
func matchAttribute(s string, pos int) (key, val string, valid bool, next int, ok bool) {
	j := pos
	for j < len(s) && charClass[s[j]]&word != 0 {
		j++
	}
	if j == pos {
		return "", "", false, pos + 1, false
	}
	if j+1 >= len(s) || s[j] != '=' || s[j+1] != '"' {
		return "", "", false, j, false
	}
	start := j + 2
	k := start
	for k < len(s) && charClass[s[k]]&value != 0 {
		k++
	}
	valid = k > start
	for k < len(s) && s[k] != '"' && s[k] != '\\' { // an invalid character: keep matching
		valid = false
		k++
	}
	if k == len(s) || s[k] != '"' {
		return "", "", false, j, false
	}
	end := k
	k++
	for k < len(s) && charClass[s[k]]&space != 0 {
		k++
	}
	if k < len(s) {
		if s[k] != ',' {
			return "", "", false, j, false
		}
		k++
		for k < len(s) && charClass[s[k]]&space != 0 {
			k++
		}
	}
	return s[pos:j], s[start:end], valid, k, true
}

// Character classes of the reference's regexps.
const (
	word  = 1 << iota // \w
	space             // ASCII part of JavaScript's \s
	value             // allowed in attribute values
)

var charClass = func() (t [256]uint8) {
	for c := 0x20; c <= 0x7e; c++ {
		if c != '"' && c != '\\' {
			t[c] |= value
		}
	}
	for c := range t {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' {
			t[c] |= word
		}
	}
	for _, c := range " \t\n\v\f\r" {
		t[c] |= space
	}
	return t
}()

func indexOf(keys []string, k string) int {
	for i, key := range keys {
		if key == k {
			return i
		}
	}
	return -1
}

// isWord is the regexp class \w.
func isWord(c byte) bool { return charClass[c]&word != 0 }

// isSpace is the ASCII part of JavaScript's \s; header bytes beyond ASCII
// never form valid Hawk attributes anyway.
func isSpace(c byte) bool { return charClass[c]&space != 0 }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// SplitHostPort derives the host and port a client signed from a Host header
// value: the host lower-cased (IPv6 without brackets, as every Hawk client
// signs it) and the explicit port, else defaultPort. An empty value, a
// malformed one or one with characters no host name has (such as '/') is a
// 400 "Invalid Host header" *Error.
func SplitHostPort(hostHeader, defaultPort string) (host, port string, err error) {
	h, p := hostHeader, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", "", errInvalidHost()
		}
		h, p = h[1:end], h[end+1:]
		if h == "" || strings.Trim(h, "0123456789abcdefABCDEF:.") != "" || !strings.Contains(h, ":") {
			return "", "", errInvalidHost()
		}
		if p != "" && p[0] != ':' {
			return "", "", errInvalidHost()
		}
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		h, p = h[:i], h[i:]
	}
	if p != "" {
		p = p[1:]
	}
	if h == "" {
		return "", "", errInvalidHost()
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`/\?#@<>^|[]"%,;{}`+"`", c) >= 0 {
			return "", "", errInvalidHost()
		}
	}
	port = defaultPort
	if p != "" {
		n, perr := strconv.ParseUint(p, 10, 16)
		if perr != nil || !allDigits(p) {
			return "", "", errInvalidHost()
		}
		port = strconv.FormatUint(n, 10)
	}
	return strings.ToLower(h), port, nil
}

func errInvalidHost() *Error { return badRequest("Invalid Host header") }
