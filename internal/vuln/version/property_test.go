package version

import (
	"slices"
	"testing"
)

type comparator struct {
	name  string
	cmp   func(a, b string) (int, error)
	cases []pairCase
	extra []string
}

func comparators() []comparator {
	return []comparator{
		{"deb", CompareDeb, debCases, randomDebVersions(60)},
		{"rpm", CompareRPM, rpmCases, nil},
		{"apk", CompareAPK, apkCases, nil},
	}
}

func versionsOf(c comparator) []string {
	var vs []string
	for _, tc := range c.cases {
		vs = append(vs, tc.a, tc.b)
	}
	vs = append(vs, c.extra...)
	slices.Sort(vs)
	return slices.Compact(vs)
}

func TestOrderIsReflexiveAndAntisymmetric(t *testing.T) {
	for _, c := range comparators() {
		t.Run(c.name+" holds over all table versions", func(t *testing.T) {
			vs := versionsOf(c)
			for _, a := range vs {
				for _, b := range vs {
					ab, err1 := c.cmp(a, b)
					ba, err2 := c.cmp(b, a)
					if err1 != nil || err2 != nil {
						t.Fatalf("compare %q %q: %v, %v", a, b, err1, err2)
					}
					if ab != -ba {
						t.Errorf("cmp(%q, %q) = %d but cmp(%q, %q) = %d", a, b, ab, b, a, ba)
					}
				}
				if got, _ := c.cmp(a, a); got != 0 {
					t.Errorf("cmp(%q, %q) = %d, want 0", a, a, got)
				}
			}
		})
	}
}

func TestOrderIsTransitive(t *testing.T) {
	for _, c := range comparators() {
		t.Run(c.name+" sorts consistently", func(t *testing.T) {
			vs := versionsOf(c)
			slices.SortStableFunc(vs, func(a, b string) int {
				r, _ := c.cmp(a, b)
				return r
			})
			for i := range vs {
				for j := i + 1; j < len(vs); j++ {
					if r, _ := c.cmp(vs[i], vs[j]); r > 0 {
						t.Errorf("after sorting, %q (at %d) > %q (at %d)", vs[i], i, vs[j], j)
					}
				}
			}
		})
	}
}

func TestCompareDispatches(t *testing.T) {
	tests := []struct {
		eco, a, b string
		want      int
	}{
		{"deb", "1.0~rc1", "1.0", -1},
		{"rpm", "1.0^git1", "1.0", 1},
		{"apk", "1.0-r1", "1.0", 1},
	}
	for _, tc := range tests {
		t.Run("orders "+tc.eco, func(t *testing.T) {
			got, err := Compare(tc.eco, tc.a, tc.b)
			if err != nil || got != tc.want {
				t.Errorf("Compare(%q, %q, %q) = %d, %v; want %d", tc.eco, tc.a, tc.b, got, err, tc.want)
			}
		})
	}
	t.Run("rejects unknown ecosystem", func(t *testing.T) {
		if _, err := Compare("pypi", "1.0", "1.0"); err == nil {
			t.Error("Compare(pypi) succeeded, want error")
		}
	})
}

func fuzzComparator(f *testing.F, cmp func(a, b string) (int, error), cases []pairCase) {
	for _, tc := range cases {
		f.Add(tc.a, tc.b)
	}
	f.Add("", "1")
	f.Add("1:", "~")
	f.Add("1\x00", "^")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := cmp(a, b)
		ba, errB := cmp(b, a)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("errors differ by argument order: %v vs %v", errA, errB)
		}
		if errA != nil {
			return
		}
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("cmp(%q, %q) = %d, cmp(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if aa, err := cmp(a, a); err != nil || aa != 0 {
			t.Fatalf("cmp(%q, %q) = %d, %v; want 0", a, a, aa, err)
		}
	})
}

func FuzzCompareDeb(f *testing.F) { fuzzComparator(f, CompareDeb, debCases) }
func FuzzCompareRPM(f *testing.F) { fuzzComparator(f, CompareRPM, rpmCases) }
func FuzzCompareAPK(f *testing.F) { fuzzComparator(f, CompareAPK, apkCases) }

func benchComparator(b *testing.B, cmp func(a, c string) (int, error), x, y string) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cmp(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompareDeb(b *testing.B) {
	benchComparator(b, CompareDeb, "1:2.36.1-8+deb12u1", "1:2.36.1-8+deb12u2")
}

func BenchmarkCompareRPM(b *testing.B) {
	benchComparator(b, CompareRPM, "2.34-83.el9_3.7", "2.34-83.el9_3.12")
}

func BenchmarkCompareAPK(b *testing.B) {
	benchComparator(b, CompareAPK, "1.36.1_rc2-r27", "1.36.1-r27")
}
