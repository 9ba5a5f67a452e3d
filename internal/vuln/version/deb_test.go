package version

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

type pairCase struct {
	a, b string
	want int
}

// debCases are hand-picked pairs whose expected order was confirmed against
// dpkg 1.21 (TestCompareDebMatchesDpkg re-checks them wherever dpkg exists).
var debCases = []pairCase{
	{"1.0", "1.0", 0},
	{"1.0", "1.1", -1},
	{"1.2", "1.10", -1},
	{"1.0~rc1", "1.0", -1},
	{"1.0~rc1", "1.0~rc2", -1},
	{"1.0~~", "1.0~", -1},
	{"1.0~", "1.0", -1},
	{"1.0~~a", "1.0~~", 1},
	{"1.0~beta1~svn1245", "1.0~beta1", -1},
	{"1:1.0", "2.0", 1},
	{"0:1.0", "1.0", 0},
	{"00:1.0", "1.0", 0},
	{"1:0.1", "0:9.9", 1},
	{"2:1.0", "10:1.0", -1},
	{"1.0-1", "1.0", 1},
	{"1.0-0", "1.0", 0},
	{"1.0-1", "1.0-2", -1},
	{"1.0-10", "1.0-9", 1},
	{"1.0-1", "1.0-1.1", -1},
	{"1.0a", "1.0", 1},
	{"1.0a", "1.0b", -1},
	{"1.0a", "1.0+", -1},
	{"1.0a", "1.0.", -1},
	{"1.0+", "1.0.", -1},
	{"1.0A", "1.0a", -1},
	{"1.0Z", "1.0a", -1},
	{"1.0z", "1.0+", -1},
	{"1.0.1", "1.0a", 1},
	{"1.001", "1.1", 0},
	{"1.01", "1.1", 0},
	{"1.0", "1.00", 0},
	{"1.0", "1", 1},
	{"1.0", "1.", 0},
	{"1.", "1", 1},
	{"1::", "1:0", 1},
	{"9.10", "9.9", 1},
	{"2.30+dfsg-1", "2.30-1", 1},
	{"2.30+dfsg-1", "2.30+dfsg1-1", -1},
	{"2.30+dfsg-1", "2.31-1", -1},
	{"1.2.3-1+deb12u1", "1.2.3-1", 1},
	{"1.2.3-1+deb12u1", "1.2.3-1+deb12u2", -1},
	{"1.2.3-1+deb12u1", "1.2.3-2", -1},
	{"1.2.3-1+deb11u10", "1.2.3-1+deb11u9", 1},
	{"1.2.3-1~bpo11+1", "1.2.3-1", -1},
	{"1.2.3-1~bpo11+1", "1.2.2-5", 1},
	{"1.2.3-1~bpo11+1", "1.2.3-1~bpo12+1", -1},
	{"2.0-1ubuntu1", "2.0-1", 1},
	{"2.0-1ubuntu1", "2.0-2", -1},
	{"2.0-1ubuntu0.1", "2.0-1ubuntu1", -1},
	{"2.0-1ubuntu0.20.04.1", "2.0-1ubuntu0.22.04.1", -1},
	{"2.0-0ubuntu1~20.04", "2.0-0ubuntu1", -1},
	{"1:2.0-1ubuntu1", "2:1.0", -1},
	{"3.0.2-0ubuntu1.10", "3.0.2-0ubuntu1.9", 1},
	{"1.0-1build1", "1.0-1", 1},
	{"1.0-1build1", "1.0-1ubuntu1", -1},
	{"123456789012345678901234567890", "123456789012345678901234567891", -1},
	{"1.123456789012345678901234567890", "1.99", 1},
	{"1.0000000000000000000000000000001", "1.1", 0},
	{"99999999999999999999", "100000000000000000000", -1},
	{"20240101", "20231231", 1},
	{"1.0-a", "1.0-b", -1},
	{"1.0-a-b", "1.0-a", 1},
	{"1.0-1-1", "1.0-1", 1},
	{"1:2:3", "1:2", 1},
	{"1:2:3-1", "1:2:3", 1},
	{"1.0+git20200101", "1.0", 1},
	{"1.0+git20200101", "1.0.1", -1},
	{"1.0~git20200101", "1.0", -1},
	{"0.9+1.0~rc1", "0.9+1.0", -1},
	{"7.4.052-1ubuntu3.1", "7.4.052-1ubuntu3", 1},
	{"2.7.4+reduced1-1", "2.7.4-1", 1},
	{"5.10.0-28", "5.10.0-28+b1", -1},
	{"1.0+b1", "1.0.1", -1},
	{"a", "b", -1},
	{"a1", "1", 1},
	{"1.0_a", "1.0", 1},
	{"1.0.", "1.0~", 1},
	{"  1.0", "1.0", 0},
	{"1.0\t", "1.0", 0},
	{"+1:1.0", "1:1.0", 0},
	{"\n1:1.0", "1.0", 1},
	{"2147483647:1", "1:1", 1},
	{"1.0ä", "1.0+", -1},
	{"1.0ä", "1.0z", 1},
	{"1.0~", "1.0~~", 1},
	{"~", "~~", 1},
	{"0", "00", 0},
	{"1.2.3", "1.2.3.0", -1},
	{"6.1.0-17-amd64", "6.1.0-18-amd64", -1},
	{"1.0-0.1", "1.0-0", 1},
	{"4:1.0", "3:9.9-9", 1},
}

// debInvalid are strings dpkg refuses with a hard error.
var debInvalid = []string{
	"1:", "a:1", ":1.0", "1.0-", "1 0", "1.0 -1", "1:-1", "1.0:2", "99999999999:1",
	"2147483648:1", "1.0:1", "x1:1.0", "1-",
}

func TestCompareDeb(t *testing.T) {
	for _, tc := range debCases {
		t.Run(fmt.Sprintf("orders %q vs %q", tc.a, tc.b), func(t *testing.T) {
			got, err := CompareDeb(tc.a, tc.b)
			if err != nil {
				t.Fatalf("CompareDeb(%q, %q): %v", tc.a, tc.b, err)
			}
			if got != tc.want {
				t.Errorf("CompareDeb(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestCompareDebRejectsInvalid(t *testing.T) {
	for _, v := range append([]string{"", "   ", "1\x000"}, debInvalid...) {
		t.Run(fmt.Sprintf("rejects %q", v), func(t *testing.T) {
			if got, err := CompareDeb(v, "1.0"); err == nil {
				t.Errorf("CompareDeb(%q, 1.0) = %d, want error", v, got)
			}
			if got, err := CompareDeb("1.0", v); err == nil {
				t.Errorf("CompareDeb(1.0, %q) = %d, want error", v, got)
			}
		})
	}
}

// randomDebVersions builds versions from fragments that exercise every rule:
// epochs, tildes, letters against symbols, zero padding and revisions.
func randomDebVersions(n int) []string {
	r := rand.New(rand.NewPCG(42, 1))
	epochs := []string{"", "", "", "0:", "1:", "2:"}
	starts := []string{"0", "1", "1", "2", "10", "01", "9"}
	frags := []string{".", ".0", ".1", ".10", "~", "~rc1", "~~", "+", "+dfsg", "a", "b", "Z", "1", "0", "00", "+git2024", "~bpo1", "+b1", "ubuntu1"}
	revs := []string{"", "", "-1", "-0", "-2", "-1ubuntu1", "-1~bpo12+1", "-1+deb12u1", "-1.1", "-0ubuntu0.1", "-a", "-1~"}
	out := make([]string, n)
	for i := range out {
		var sb strings.Builder
		sb.WriteString(epochs[r.IntN(len(epochs))])
		sb.WriteString(starts[r.IntN(len(starts))])
		for range r.IntN(4) {
			sb.WriteString(frags[r.IntN(len(frags))])
		}
		sb.WriteString(revs[r.IntN(len(revs))])
		out[i] = sb.String()
	}
	return out
}

// dpkgCompare asks dpkg about every pair in one shell run: one line per pair
// ("lt", "eq" or "gt").
func dpkgCompare(t *testing.T, pairs [][2]string) []string {
	t.Helper()
	var script bytes.Buffer
	for _, p := range pairs {
		fmt.Fprintf(&script, "if dpkg --compare-versions '%s' lt '%s'; then echo lt; elif dpkg --compare-versions '%s' eq '%s'; then echo eq; else echo gt; fi\n",
			p[0], p[1], p[0], p[1])
	}
	cmd := exec.Command("sh")
	cmd.Stdin = &script
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run dpkg script: %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(pairs) {
		t.Fatalf("dpkg script printed %d results, want %d", len(lines), len(pairs))
	}
	return lines
}

func TestCompareDebMatchesDpkg(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not installed")
	}
	var pairs [][2]string
	for _, tc := range debCases {
		if strings.ContainsAny(tc.a+tc.b, "'\n") {
			continue // cannot pass through the shell script unchanged
		}
		pairs = append(pairs, [2]string{tc.a, tc.b})
	}
	random := randomDebVersions(300)
	for i := 0; i+1 < len(random); i += 2 {
		pairs = append(pairs, [2]string{random[i], random[i+1]})
	}
	// Same-prefix pairs make "equal so far" paths likely.
	for i := 0; i+1 < len(random); i += 3 {
		pairs = append(pairs, [2]string{random[i], random[i] + random[i+1][len(random[i+1])-1:]})
	}
	if len(pairs) < 250 {
		t.Fatalf("only %d pairs, want at least 250", len(pairs))
	}
	results := dpkgCompare(t, pairs)
	names := map[int]string{-1: "lt", 0: "eq", 1: "gt"}
	for i, p := range pairs {
		got, err := CompareDeb(p[0], p[1])
		if err != nil {
			t.Errorf("CompareDeb(%q, %q): %v", p[0], p[1], err)
			continue
		}
		if names[got] != results[i] {
			t.Errorf("CompareDeb(%q, %q) = %s, dpkg says %s", p[0], p[1], names[got], results[i])
		}
	}
}

func TestCompareDebErrorsMatchDpkg(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not installed")
	}
	for _, v := range debInvalid {
		t.Run(fmt.Sprintf("dpkg rejects %q", v), func(t *testing.T) {
			err := exec.Command("dpkg", "--compare-versions", v, "lt", "1.0").Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Errorf("dpkg --compare-versions %q lt 1.0: %v, want exit status 2", v, err)
			}
		})
	}
}

func TestUpstream(t *testing.T) {
	tests := []struct {
		eco, v, want string
	}{
		{"deb", "1:2.30+dfsg-1ubuntu1", "2.30+dfsg"},
		{"deb", "2.30", "2.30"},
		{"deb", "1.0-a-b", "1.0-a"},
		{"deb", "1:", "1:"},
		{"rpm", "1:2.5.1-3.el9", "2.5.1"},
		{"rpm", "2.5.1", "2.5.1"},
		{"rpm", "2.5.1-3", "2.5.1"},
		{"apk", "1.2.3_rc1-r4", "1.2.3_rc1"},
		{"apk", "1.2.3", "1.2.3"},
		{"apk", "not valid-r1", "not valid-r1"},
		{"pypi", "1.0-1", "1.0-1"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("strips %s %q", tc.eco, tc.v), func(t *testing.T) {
			if got := Upstream(tc.eco, tc.v); got != tc.want {
				t.Errorf("Upstream(%q, %q) = %q, want %q", tc.eco, tc.v, got, tc.want)
			}
		})
	}
}
