package version

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// debVersion is a parsed [epoch:]upstream[-revision]. The strings point into
// the caller's input, so parsing does not allocate.
type debVersion struct {
	epoch    int
	upstream string
	revision string
}

// CompareDeb orders two Debian package versions exactly as
// `dpkg --compare-versions` does (Debian policy §5.6.12). Versions that dpkg
// rejects as bad syntax are errors here; versions dpkg merely warns about
// (upstream not starting with a digit, unusual characters) are compared as
// dpkg compares them. Unlike dpkg, the empty string is an error rather than
// the "blank" version that sorts first.
func CompareDeb(a, b string) (int, error) {
	va, err := parseDeb(a)
	if err != nil {
		return 0, fmt.Errorf("compare deb versions: %q: %w", a, err)
	}
	vb, err := parseDeb(b)
	if err != nil {
		return 0, fmt.Errorf("compare deb versions: %q: %w", b, err)
	}
	if va.epoch != vb.epoch {
		if va.epoch < vb.epoch {
			return -1, nil
		}
		return 1, nil
	}
	if c := verrevcmp(va.upstream, vb.upstream); c != 0 {
		return c, nil
	}
	return verrevcmp(va.revision, vb.revision), nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// isCSpace is C's isspace, which strtol skips before the epoch digits.
func isCSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// parseDeb mirrors dpkg's parseversion (lib/dpkg/parsehelp.c), returning
// errors only where dpkg reports an error, not a warning.
func parseDeb(s string) (debVersion, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return debVersion{}, errNUL
	}
	i := 0
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	s = s[i:]
	if s == "" {
		return debVersion{}, errEmpty
	}
	end := 0
	for end < len(s) && !isBlank(s[end]) {
		end++
	}
	for j := end; j < len(s); j++ {
		if !isBlank(s[j]) {
			return debVersion{}, errors.New("version string has embedded spaces")
		}
	}
	s = s[:end]

	var v debVersion
	if colon := strings.IndexByte(s, ':'); colon >= 0 {
		epoch, err := parseEpoch(s[:colon])
		if err != nil {
			return debVersion{}, err
		}
		if colon+1 == len(s) {
			return debVersion{}, errors.New("nothing after colon in version number")
		}
		v.epoch = epoch
		s = s[colon+1:]
	}
	if h := strings.LastIndexByte(s, '-'); h >= 0 {
		v.revision = s[h+1:]
		s = s[:h]
		if v.revision == "" {
			return debVersion{}, errors.New("revision number is empty")
		}
	}
	if s == "" {
		return debVersion{}, errors.New("version number is empty")
	}
	v.upstream = s
	return v, nil
}

// parseEpoch follows strtol(…, 10) as dpkg uses it: leading C whitespace and
// a sign are accepted, and the digits must run exactly up to the colon.
func parseEpoch(s string) (int, error) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	n := 0
	tooBig := false
	for i < len(s) && isDigit(s[i]) {
		if !tooBig {
			n = n*10 + int(s[i]-'0')
			if n > math.MaxInt32 {
				tooBig = true
			}
		}
		i++
	}
	switch {
	case i == start:
		return 0, errors.New("epoch in version is empty")
	case i != len(s):
		return 0, errors.New("epoch in version is not number")
	case neg && n != 0:
		return 0, errors.New("epoch in version is negative")
	case tooBig:
		return 0, errors.New("epoch in version is too big")
	}
	return n, nil
}

// debOrder is dpkg's order(): '~' before the end of the string, which sorts
// before letters, which sort before everything else. Bytes above 0x7f go
// through a signed char in dpkg, which puts them between letters and ASCII
// punctuation; we keep that so results match dpkg byte for byte.
func debOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	default:
		return int(int8(c)) + 256
	}
}

// verrevcmp is dpkg's comparison of one upstream or revision string.
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := debOrder(a, i), debOrder(b, j)
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		firstDiff := 0
		for i < len(a) && j < len(b) && isDigit(a[i]) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return sign(firstDiff)
		}
	}
	return 0
}
