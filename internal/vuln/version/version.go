// Package version orders distribution package versions the way each package
// manager does, so that "is the installed version older than the fixed one"
// gives the same answer dpkg, rpm and apk would give on the host itself.
package version

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aipsec/aip"
)

// errEmpty is shared by all parsers: an empty string is never a version, even
// where a package manager would treat it as "no version".
var errEmpty = errors.New("version string is empty")

// errNUL rejects NUL bytes: the C implementations we mirror would silently
// truncate at them, which would make distinct Go strings compare equal.
var errNUL = errors.New("version contains a NUL byte")

// Compare orders a and b under the rules of ecosystem (aip.EcosystemDeb,
// aip.EcosystemRPM or aip.EcosystemAPK). It returns -1, 0 or +1.
func Compare(ecosystem, a, b string) (int, error) {
	switch ecosystem {
	case aip.EcosystemDeb:
		return CompareDeb(a, b)
	case aip.EcosystemRPM:
		return CompareRPM(a, b)
	case aip.EcosystemAPK:
		return CompareAPK(a, b)
	default:
		return 0, fmt.Errorf("compare versions: unknown ecosystem %q", ecosystem)
	}
}

// Upstream strips the distribution's own packaging parts (epoch, revision,
// release) so callers can name the software version the vendor published.
// Unparsable versions and unknown ecosystems are returned unchanged, because
// the result is only used for display and matching by name.
func Upstream(ecosystem, v string) string {
	switch ecosystem {
	case aip.EcosystemDeb:
		d, err := parseDeb(v)
		if err != nil {
			return v
		}
		return d.upstream
	case aip.EcosystemRPM:
		r, err := parseRPM(v)
		if err != nil {
			return v
		}
		return r.version
	case aip.EcosystemAPK:
		if err := validateAPK(v); err != nil {
			return v
		}
		// A valid apk version holds '-' only as the "-r" revision marker.
		if i := strings.LastIndex(v, "-r"); i >= 0 {
			return v[:i]
		}
		return v
	default:
		return v
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// cmpDigits compares two runs of ASCII digits numerically without converting
// them, so arbitrarily long runs (dates, git timestamps) cannot overflow.
func cmpDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
