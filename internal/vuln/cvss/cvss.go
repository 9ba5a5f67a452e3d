// Package cvss parses CVSS vectors (v2, v3.0, v3.1, v4.0) and computes the
// base score and qualitative severity aip reports for a vulnerability.
//
// Scores follow the FIRST specifications: the v2 base equation, and the
// v3.1 base equations with the v3.1 Roundup (also used for v3.0 vectors,
// whose Roundup differs only by floating-point noise). For v4.0 only the
// base metrics are parsed and validated: the v4.0 score needs the
// specification's macro-vector lookup table, which this package does not
// carry, so a v4.0 Vector has no score and no severity (HasScore is
// false) but does carry its attack vector.
package cvss

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Versions a Vector can have.
const (
	V2  = "2.0"
	V30 = "3.0"
	V31 = "3.1"
	V40 = "4.0"
)

// Vector types, as the v2 API's vectorType names the attack (access)
// vector.
const (
	VectorNetwork  = "network"
	VectorAdjacent = "adjacent_network"
	VectorLocal    = "local"
	VectorPhysical = "physical"
)

// Severities. v3 and v4 use all five; v2 only low, medium and high.
const (
	SeverityNone     = "none"
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Vector is a parsed CVSS vector.
type Vector struct {
	// Version is V2, V30, V31 or V40.
	Version string
	// Metrics holds every metric of the vector (base and optional ones),
	// by abbreviation.
	Metrics map[string]string
	// HasScore is false for v4.0 vectors, whose score is not computed.
	HasScore bool
	// Score is the base score, 0.0–10.0, one decimal.
	Score float64
	// Severity is the qualitative rating of Score ("" without a score).
	Severity string
	// VectorType is the attack vector as network, adjacent_network, local
	// or physical.
	VectorType string
}

// metricSpec lists the metrics of one CVSS version: the allowed values of
// each, and which are mandatory (the base metrics).
type metricSpec struct {
	values    map[string]string // metric -> allowed value letters
	mandatory []string
}

var v3Spec = metricSpec{
	values: map[string]string{
		"AV": "NALP", "AC": "LH", "PR": "NLH", "UI": "NR", "S": "UC", "C": "HLN", "I": "HLN", "A": "HLN",
		// Temporal and environmental metrics: accepted, not scored.
		"E": "XHFPU", "RL": "XUWTO", "RC": "XCRU",
		"CR": "XHML", "IR": "XHML", "AR": "XHML",
		"MAV": "XNALP", "MAC": "XLH", "MPR": "XNLH", "MUI": "XNR", "MS": "XUC",
		"MC": "XHLN", "MI": "XHLN", "MA": "XHLN",
	},
	mandatory: []string{"AV", "AC", "PR", "UI", "S", "C", "I", "A"},
}

// v2 values are multi-letter for Au and temporal/environmental metrics,
// so v2Values lists whole values.
var v2Values = map[string][]string{
	"AV": {"L", "A", "N"}, "AC": {"H", "M", "L"}, "Au": {"M", "S", "N"},
	"C": {"N", "P", "C"}, "I": {"N", "P", "C"}, "A": {"N", "P", "C"},
	"E": {"U", "POC", "F", "H", "ND"}, "RL": {"OF", "TF", "W", "U", "ND"}, "RC": {"UC", "UR", "C", "ND"},
	"CDP": {"N", "L", "LM", "MH", "H", "ND"}, "TD": {"N", "L", "M", "H", "ND"},
	"CR": {"L", "M", "H", "ND"}, "IR": {"L", "M", "H", "ND"}, "AR": {"L", "M", "H", "ND"},
}

var v2Mandatory = []string{"AV", "AC", "Au", "C", "I", "A"}

var v4Spec = metricSpec{
	values: map[string]string{
		"AV": "NALP", "AC": "LH", "AT": "NP", "PR": "NLH", "UI": "NPA",
		"VC": "HLN", "VI": "HLN", "VA": "HLN", "SC": "HLN", "SI": "HLN", "SA": "HLN",
		// Threat, environmental and supplemental metrics: accepted, not
		// scored.
		"E": "XAPU", "CR": "XHML", "IR": "XHML", "AR": "XHML",
		"MAV": "XNALP", "MAC": "XLH", "MAT": "XNP", "MPR": "XNLH", "MUI": "XNPA",
		"MVC": "XHLN", "MVI": "XHLN", "MVA": "XHLN", "MSC": "XHLN", "MSI": "XSHLN", "MSA": "XSHLN",
		"S": "XNP", "AU": "XNY", "R": "XAUI", "V": "XDC", "RE": "XLMH", "U": "X",
	},
	mandatory: []string{"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"},
}

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("invalid CVSS vector")

// Parse parses a CVSS vector: "CVSS:3.1/…", "CVSS:3.0/…", "CVSS:4.0/…", or
// a v2 vector without prefix ("AV:N/AC:L/Au:N/C:P/I:P/A:P", optionally in
// parentheses as NVD writes it, or with a "CVSS:2.0/" prefix).
func Parse(s string) (*Vector, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "CVSS:3.1/"):
		return parseV3(V31, s[len("CVSS:3.1/"):])
	case strings.HasPrefix(s, "CVSS:3.0/"):
		return parseV3(V30, s[len("CVSS:3.0/"):])
	case strings.HasPrefix(s, "CVSS:4.0/"):
		return parseV4(s[len("CVSS:4.0/"):])
	case strings.HasPrefix(s, "CVSS:2.0/"):
		return parseV2(s[len("CVSS:2.0/"):])
	case strings.HasPrefix(s, "CVSS:"):
		return nil, fmt.Errorf("%w: unsupported version in %q", ErrInvalid, s)
	}
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		s = s[1 : len(s)-1]
	}
	return parseV2(s)
}

// splitMetrics splits "K:V/K:V" into a map, rejecting empty parts,
// duplicates and unknown metrics (allowed reports whether a metric/value
// pair is valid, and whether the metric is known).
func splitMetrics(body string, allowed func(k, v string) (known, ok bool)) (map[string]string, error) {
	if body == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalid)
	}
	m := make(map[string]string, 8)
	for part := range strings.SplitSeq(body, "/") {
		k, v, found := strings.Cut(part, ":")
		if !found || k == "" || v == "" {
			return nil, fmt.Errorf("%w: malformed metric %q", ErrInvalid, part)
		}
		known, ok := allowed(k, v)
		if !known {
			return nil, fmt.Errorf("%w: unknown metric %q", ErrInvalid, k)
		}
		if !ok {
			return nil, fmt.Errorf("%w: bad value %q for metric %s", ErrInvalid, v, k)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%w: duplicate metric %s", ErrInvalid, k)
		}
		m[k] = v
	}
	return m, nil
}

func (sp metricSpec) parse(body string) (map[string]string, error) {
	m, err := splitMetrics(body, func(k, v string) (bool, bool) {
		vals, known := sp.values[k]
		return known, known && len(v) == 1 && strings.Contains(vals, v)
	})
	if err != nil {
		return nil, err
	}
	for _, k := range sp.mandatory {
		if _, ok := m[k]; !ok {
			return nil, fmt.Errorf("%w: missing base metric %s", ErrInvalid, k)
		}
	}
	return m, nil
}

func vectorType(av string) string {
	switch av {
	case "N":
		return VectorNetwork
	case "A":
		return VectorAdjacent
	case "L":
		return VectorLocal
	case "P":
		return VectorPhysical
	}
	return ""
}

// Roundup is the v3.1 rounding: the smallest number, to one decimal,
// equal to or higher than x, computed on integers so that floating-point
// noise (4.000000001) does not round up.
func Roundup(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

func parseV3(version, body string) (*Vector, error) {
	m, err := v3Spec.parse(body)
	if err != nil {
		return nil, err
	}
	av := map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}[m["AV"]]
	ac := map[string]float64{"L": 0.77, "H": 0.44}[m["AC"]]
	changed := m["S"] == "C"
	var pr float64
	switch m["PR"] {
	case "N":
		pr = 0.85
	case "L":
		pr = 0.62
		if changed {
			pr = 0.68
		}
	case "H":
		pr = 0.27
		if changed {
			pr = 0.5
		}
	}
	ui := map[string]float64{"N": 0.85, "R": 0.62}[m["UI"]]
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	iss := 1 - (1-cia[m["C"]])*(1-cia[m["I"]])*(1-cia[m["A"]])
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	expl := 8.22 * av * ac * pr * ui
	var score float64
	switch {
	case impact <= 0:
		score = 0
	case changed:
		score = Roundup(math.Min(1.08*(impact+expl), 10))
	default:
		score = Roundup(math.Min(impact+expl, 10))
	}
	return &Vector{
		Version: version, Metrics: m, HasScore: true, Score: score,
		Severity: severityV3(score), VectorType: vectorType(m["AV"]),
	}, nil
}

// severityV3 is the v3.x (and v4.0) qualitative rating scale.
func severityV3(score float64) string {
	switch {
	case score == 0:
		return SeverityNone
	case score < 4:
		return SeverityLow
	case score < 7:
		return SeverityMedium
	case score < 9:
		return SeverityHigh
	}
	return SeverityCritical
}

func parseV2(body string) (*Vector, error) {
	m, err := splitMetrics(body, func(k, v string) (bool, bool) {
		vals, known := v2Values[k]
		if !known {
			return false, false
		}
		for _, a := range vals {
			if a == v {
				return true, true
			}
		}
		return true, false
	})
	if err != nil {
		return nil, err
	}
	for _, k := range v2Mandatory {
		if _, ok := m[k]; !ok {
			return nil, fmt.Errorf("%w: missing base metric %s", ErrInvalid, k)
		}
	}
	av := map[string]float64{"L": 0.395, "A": 0.646, "N": 1.0}[m["AV"]]
	ac := map[string]float64{"H": 0.35, "M": 0.61, "L": 0.71}[m["AC"]]
	au := map[string]float64{"M": 0.45, "S": 0.56, "N": 0.704}[m["Au"]]
	cia := map[string]float64{"N": 0, "P": 0.275, "C": 0.660}
	impact := 10.41 * (1 - (1-cia[m["C"]])*(1-cia[m["I"]])*(1-cia[m["A"]]))
	expl := 20 * av * ac * au
	f := 1.176
	if impact == 0 {
		f = 0
	}
	score := math.Round(((0.6*impact)+(0.4*expl)-1.5)*f*10) / 10
	if score < 0 { // only -0 can occur; keep the sign clean
		score = 0
	}
	sev := SeverityHigh
	switch {
	case score < 4:
		sev = SeverityLow
	case score < 7:
		sev = SeverityMedium
	}
	return &Vector{
		Version: V2, Metrics: m, HasScore: true, Score: score,
		Severity: sev, VectorType: vectorType(m["AV"]),
	}, nil
}

func parseV4(body string) (*Vector, error) {
	m, err := v4Spec.parse(body)
	if err != nil {
		return nil, err
	}
	return &Vector{Version: V40, Metrics: m, VectorType: vectorType(m["AV"])}, nil
}
