package cvss

import (
	"errors"
	"testing"
)

// Examples from the FIRST CVSS v3.1 "Examples" document and the CVSS v2
// guide (section 3.3), with their published base scores.
func TestParseScores(t *testing.T) {
	tests := []struct {
		vector, severity, vectorType string
		score                        float64
	}{
		// v3.1 / v3.0
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "critical", "network", 9.8},      // Shellshock CVE-2014-6271
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "medium", "network", 6.1},        // phpMyAdmin XSS CVE-2013-1937
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", "medium", "network", 6.4},        // MySQL CVE-2013-0375
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", "low", "network", 3.1},           // SSLv3 POODLE CVE-2014-3566
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", "critical", "network", 9.9},      // VMware CVE-2012-1516
		{"CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", "high", "local", 7.8},            // Adobe Reader CVE-2009-0658
		{"CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "high", "adjacent_network", 8.8}, // Bluetooth CVE-2011-1265
		{"CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "medium", "physical", 6.8},       // Sophos CVE-2014-2005
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", "medium", "network", 5.8},        // Joomla CVE-2010-0467
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "high", "network", 7.5},          // Heartbleed CVE-2014-0160
		{"CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", "high", "network", 8.8},          // Cisco IOS CVE-2012-0384
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "critical", "network", 10.0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "none", "network", 0.0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C", "critical", "network", 9.8},
		// v2
		{"AV:N/AC:L/Au:N/C:C/I:C/A:C", "high", "network", 10.0}, // CVE-2003-0818
		{"AV:N/AC:L/Au:N/C:N/I:N/A:C", "high", "network", 7.8},  // CVE-2002-0392
		{"AV:L/AC:H/Au:N/C:C/I:C/A:C", "medium", "local", 6.2},  // CVE-2003-0062
		{"AV:N/AC:M/Au:N/C:P/I:P/A:P", "medium", "network", 6.8},
		{"AV:N/AC:L/Au:N/C:P/I:P/A:P", "high", "network", 7.5},
		{"AV:N/AC:M/Au:N/C:N/I:P/A:N", "medium", "network", 4.3},
		{"AV:N/AC:L/Au:N/C:P/I:N/A:N", "medium", "network", 5.0},
		{"AV:L/AC:L/Au:N/C:C/I:C/A:C", "high", "local", 7.2},
		{"AV:A/AC:L/Au:N/C:N/I:N/A:P", "low", "adjacent_network", 3.3},
		{"(AV:N/AC:L/Au:N/C:C/I:C/A:C/E:F/RL:OF/RC:C)", "high", "network", 10.0},
	}
	for _, tt := range tests {
		t.Run(tt.vector, func(t *testing.T) {
			got, err := Parse(tt.vector)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !got.HasScore || got.Score != tt.score || got.Severity != tt.severity || got.VectorType != tt.vectorType {
				t.Errorf("got score %v (has %v) severity %q type %q, want %v %q %q",
					got.Score, got.HasScore, got.Severity, got.VectorType, tt.score, tt.severity, tt.vectorType)
			}
		})
	}
}

func TestParseV4(t *testing.T) {
	t.Run("parses base metrics without a score", func(t *testing.T) {
		got, err := Parse("CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if got.Version != V40 || got.HasScore || got.Severity != "" || got.VectorType != "local" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("rejects missing base metric", func(t *testing.T) {
		if _, err := Parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N"); !errors.Is(err, ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
}

func TestParseRejects(t *testing.T) {
	tests := map[string]string{
		"empty":                 "",
		"v3 prefix only":        "CVSS:3.1/",
		"missing metric":        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
		"duplicate metric":      "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"bad value":             "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"unknown metric":        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",
		"empty part":            "CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"unknown version":       "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"v2 missing metric":     "AV:N/AC:L/Au:N/C:C/I:C",
		"v2 bad value":          "AV:P/AC:L/Au:N/C:C/I:C/A:C",
		"v2 duplicate":          "AV:N/AC:L/Au:N/Au:N/C:C/I:C/A:C",
		"v3 metric in v2":       "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"no colon":              "AV:N/AC",
		"lowercase v3 value":    "CVSS:3.1/AV:n/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"multi-letter v3 value": "CVSS:3.1/AV:NN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
	}
	for name, in := range tests {
		t.Run("rejects "+name, func(t *testing.T) {
			got, err := Parse(in)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) = %+v, %v; want ErrInvalid", in, got, err)
			}
		})
	}
}

func TestRoundup(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{4.0, 4.0}, {4.02, 4.1}, {4.000000001, 4.0}, {0, 0}, {9.99, 10.0}, {4.1, 4.1},
	}
	for _, tt := range tests {
		if got := Roundup(tt.in); got != tt.want {
			t.Errorf("Roundup(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:C/C:L/I:N/A:L/E:X",
		"AV:N/AC:M/Au:N/C:P/I:P/A:P",
		"(AV:L/AC:H/Au:M/C:N/I:N/A:N)",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:3.1/AV:N//",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if v.HasScore && (v.Score < 0 || v.Score > 10 || v.Severity == "") {
			t.Fatalf("Parse(%q): score %v severity %q out of range", s, v.Score, v.Severity)
		}
		if v.VectorType == "" {
			t.Fatalf("Parse(%q): no vector type", s)
		}
	})
}
