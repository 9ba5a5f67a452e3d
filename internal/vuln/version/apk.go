package version

import (
	"errors"
	"fmt"
	"strings"
)

// Token types of apk-tools' version grammar
// ({digit}{.digit}...{letter}{_suf{#}}...{-r#}). Their numeric order matters:
// apk compares token types when one version runs out of equal tokens.
const (
	apkInvalid = iota - 1
	apkDigitOrZero
	apkDigit
	apkLetter
	apkSuffix
	apkSuffixNo
	apkRevisionNo
	apkEnd
)

// Pre-release suffixes get negative values (-4 … -1) so they sort below the
// release; post-release suffixes get 0 … 4.
var (
	apkPreSuffixes  = [...]string{"alpha", "beta", "pre", "rc"}
	apkPostSuffixes = [...]string{"cvs", "svn", "git", "hg", "p"}
)

// apkValue is a token value. Numbers keep their digit string so that long
// runs (e.g. _pre20191002222144) compare exactly; apk-tools would overflow.
type apkValue struct {
	num    bool
	digits string
	n      int
}

func cmpAPKValue(a, b apkValue) int {
	switch {
	case a.num && b.num:
		return cmpDigits(a.digits, b.digits)
	case a.num:
		return -cmpNumSmall(b.n, a.digits)
	case b.num:
		return cmpNumSmall(a.n, b.digits)
	}
	return sign(a.n - b.n)
}

// cmpNumSmall compares a small integer with a digit string without parsing
// the (possibly huge) string.
func cmpNumSmall(n int, digits string) int {
	digits = strings.TrimLeft(digits, "0")
	if n < 0 || len(digits) > 9 {
		return -1
	}
	m := 0
	for i := 0; i < len(digits); i++ {
		m = m*10 + int(digits[i]-'0')
	}
	return sign(n - m)
}

// apkTokenizer walks a version the way apk-tools' get_token/next_token do.
type apkTokenizer struct {
	s   string
	typ int
}

func (t *apkTokenizer) next() {
	n := apkInvalid
	switch {
	case len(t.s) == 0:
		n = apkEnd
	case (t.typ == apkDigit || t.typ == apkDigitOrZero) && isLower(t.s[0]):
		n = apkLetter
	case t.typ == apkLetter && isDigit(t.s[0]):
		n = apkDigit
	case t.typ == apkSuffix && isDigit(t.s[0]):
		n = apkSuffixNo
	default:
		switch t.s[0] {
		case '.':
			n = apkDigitOrZero
		case '_':
			n = apkSuffix
		case '-':
			if len(t.s) > 1 && t.s[1] == 'r' {
				n = apkRevisionNo
				t.s = t.s[1:]
			}
		}
		t.s = t.s[1:]
	}
	if n < t.typ {
		if !((n == apkDigitOrZero && t.typ == apkDigit) ||
			(n == apkSuffix && t.typ == apkSuffixNo) ||
			(n == apkDigit && t.typ == apkLetter)) {
			n = apkInvalid
		}
	}
	t.typ = n
}

func (t *apkTokenizer) get() apkValue {
	if len(t.s) == 0 {
		t.typ = apkEnd
		return apkValue{}
	}
	var v apkValue
	i := 0
	nt := apkInvalid
	switch t.typ {
	case apkDigitOrZero, apkDigit, apkSuffixNo, apkRevisionNo:
		if t.typ == apkDigitOrZero && t.s[0] == '0' {
			// Leading zeros after a dot make a fraction-like component
			// (1.05 < 1.5): they count as -(number of zeros).
			for i < len(t.s) && t.s[i] == '0' {
				i++
			}
			nt = apkDigit
			v.n = -i
			break
		}
		for i < len(t.s) && isDigit(t.s[i]) {
			i++
		}
		v = apkValue{num: true, digits: t.s[:i]}
	case apkLetter:
		v.n = int(t.s[0])
		i = 1
	case apkSuffix:
		found := false
		for k, suf := range apkPreSuffixes {
			if strings.HasPrefix(t.s, suf) {
				v.n, i, found = k-len(apkPreSuffixes), len(suf), true
				break
			}
		}
		if !found {
			for k, suf := range apkPostSuffixes {
				if strings.HasPrefix(t.s, suf) {
					v.n, i, found = k, len(suf), true
					break
				}
			}
		}
		if !found {
			t.typ = apkInvalid
			return apkValue{n: -1}
		}
	default:
		t.typ = apkInvalid
		return apkValue{n: -1}
	}
	t.s = t.s[i:]
	switch {
	case len(t.s) == 0:
		t.typ = apkEnd
	case nt != apkInvalid && isDigit(t.s[0]):
		t.typ = nt
	case nt != apkInvalid:
		// apk-tools 2.x leaves an empty digit token here, which made
		// 1.0_alpha sort after 1.0; treat the zeros as the whole number.
		t.typ = nt
		t.next()
	default:
		t.next()
	}
	return v
}

// validateAPK is apk_version_validate, except that the empty string and NUL
// bytes are rejected.
func validateAPK(s string) error {
	if s == "" {
		return errEmpty
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errNUL
	}
	t := apkTokenizer{s: s, typ: apkDigit}
	for t.typ != apkEnd && t.typ != apkInvalid {
		t.get()
	}
	if t.typ != apkEnd {
		return errors.New("invalid apk version syntax")
	}
	return nil
}

// CompareAPK orders two Alpine package versions as apk-tools 2.x
// apk_version_compare does: dot-separated numbers, an optional letter,
// _alpha/_beta/_pre/_rc (before the release) and _cvs/_svn/_git/_hg/_p
// (after it) suffixes with optional numbers, and an -rN revision. Versions
// apk_version_validate rejects are errors, so apk's fallback ordering of
// invalid strings is never used.
func CompareAPK(a, b string) (int, error) {
	if err := validateAPK(a); err != nil {
		return 0, fmt.Errorf("compare apk versions: %q: %w", a, err)
	}
	if err := validateAPK(b); err != nil {
		return 0, fmt.Errorf("compare apk versions: %q: %w", b, err)
	}
	return compareAPK(a, b), nil
}

func compareAPK(a, b string) int {
	ta := apkTokenizer{s: a, typ: apkDigit}
	tb := apkTokenizer{s: b, typ: apkDigit}
	var av, bv apkValue
	for ta.typ == tb.typ && ta.typ != apkEnd && ta.typ != apkInvalid && cmpAPKValue(av, bv) == 0 {
		av = ta.get()
		bv = tb.get()
	}
	if c := cmpAPKValue(av, bv); c != 0 {
		return c
	}
	if ta.typ == tb.typ {
		return 0
	}
	// Equal so far: the longer version is newer unless what it has left is
	// a pre-release suffix.
	if ta.typ == apkSuffix {
		if v := (&apkTokenizer{s: ta.s, typ: ta.typ}).get(); !v.num && v.n < 0 {
			return -1
		}
	}
	if tb.typ == apkSuffix {
		if v := (&apkTokenizer{s: tb.s, typ: tb.typ}).get(); !v.num && v.n < 0 {
			return 1
		}
	}
	switch {
	case ta.typ > tb.typ:
		return -1
	case tb.typ > ta.typ:
		return 1
	}
	return 0
}
