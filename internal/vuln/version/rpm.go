package version

import (
	"errors"
	"fmt"
	"strings"
)

// rpmVersion is a parsed [epoch:]version[-release]; fields point into the input.
type rpmVersion struct {
	epoch   string
	version string
	release string
}

// CompareRPM orders two RPM EVR strings ([epoch:]version[-release]) with
// rpm's rpmvercmp, including '~' (pre-release) and '^' (post-release
// snapshot). A missing epoch is 0. A missing release compares as an empty
// release, i.e. older than any release: rpm itself skips the release when
// either side lacks one, but that is not a total order (1.0-1 = 1.0 = 1.0-2),
// and callers sort with this function.
func CompareRPM(a, b string) (int, error) {
	va, err := parseRPM(a)
	if err != nil {
		return 0, fmt.Errorf("compare rpm versions: %q: %w", a, err)
	}
	vb, err := parseRPM(b)
	if err != nil {
		return 0, fmt.Errorf("compare rpm versions: %q: %w", b, err)
	}
	if c := rpmvercmp(va.epoch, vb.epoch); c != 0 {
		return c, nil
	}
	if c := rpmvercmp(va.version, vb.version); c != 0 {
		return c, nil
	}
	return rpmvercmp(va.release, vb.release), nil
}

// parseRPM mirrors rpm's parseEVR: the epoch is the leading digits when a
// colon follows them, and the release is whatever follows the last hyphen.
func parseRPM(s string) (rpmVersion, error) {
	if s == "" {
		return rpmVersion{}, errEmpty
	}
	if strings.IndexByte(s, 0) >= 0 {
		return rpmVersion{}, errNUL
	}
	v := rpmVersion{epoch: "0"}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	start := 0
	if i < len(s) && s[i] == ':' {
		if i > 0 {
			v.epoch = s[:i]
		}
		start = i + 1
	}
	end := len(s)
	if h := strings.LastIndexByte(s, '-'); h >= start {
		end = h
		v.release = s[h+1:]
		if v.release == "" {
			return rpmVersion{}, errors.New("release after hyphen is empty")
		}
	}
	v.version = s[start:end]
	if v.version == "" {
		return rpmVersion{}, errors.New("version is empty")
	}
	return v, nil
}

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// rpmvercmp is rpm's segment comparison (rpmio/rpmvercmp.c): separators are
// ignored, '~' sorts before anything (even the end), '^' sorts after the end
// but before any further segment, and a numeric segment beats an alpha one.
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isAlnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isAlnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		aEnd, bEnd := i >= len(a), j >= len(b)
		aTilde, bTilde := !aEnd && a[i] == '~', !bEnd && b[j] == '~'
		if aTilde || bTilde {
			if !aTilde {
				return 1
			}
			if !bTilde {
				return -1
			}
			i++
			j++
			continue
		}
		aCaret, bCaret := !aEnd && a[i] == '^', !bEnd && b[j] == '^'
		if aCaret || bCaret {
			if aEnd {
				return -1
			}
			if bEnd {
				return 1
			}
			if !aCaret {
				return 1
			}
			if !bCaret {
				return -1
			}
			i++
			j++
			continue
		}
		if aEnd || bEnd {
			break
		}
		si, sj := i, j
		isNum := isDigit(a[i])
		if isNum {
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
		} else {
			for i < len(a) && isAlpha(a[i]) {
				i++
			}
			for j < len(b) && isAlpha(b[j]) {
				j++
			}
		}
		if sj == j {
			// Segments of different types: numeric is newer than alpha.
			if isNum {
				return 1
			}
			return -1
		}
		var c int
		if isNum {
			c = cmpDigits(a[si:i], b[sj:j])
		} else {
			c = strings.Compare(a[si:i], b[sj:j])
		}
		if c != 0 {
			return c
		}
	}
	aEnd, bEnd := i >= len(a), j >= len(b)
	switch {
	case aEnd && bEnd:
		return 0
	case aEnd:
		return -1
	default:
		return 1
	}
}
