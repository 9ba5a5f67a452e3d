package rules

import (
	"strconv"
	"strings"
)

// num is a number from an event or a filter: exact for integers that fit in
// int64, float64 otherwise.
type num struct {
	isInt bool
	i     int64
	f     float64
}

// numericSyntax reports whether s is a decimal number (JSON syntax, leading
// zeros tolerated) and whether it is an integer.
func numericSyntax(s string) (isInt, ok bool) {
	p := 0
	if p < len(s) && s[p] == '-' {
		p++
	}
	d := p
	for p < len(s) && isDigit(s[p]) {
		p++
	}
	if p == d {
		return false, false
	}
	isInt = true
	if p < len(s) && s[p] == '.' {
		isInt = false
		p++
		d = p
		for p < len(s) && isDigit(s[p]) {
			p++
		}
		if p == d {
			return false, false
		}
	}
	if p < len(s) && (s[p] == 'e' || s[p] == 'E') {
		isInt = false
		p++
		if p < len(s) && (s[p] == '+' || s[p] == '-') {
			p++
		}
		d = p
		for p < len(s) && isDigit(s[p]) {
			p++
		}
		if p == d {
			return false, false
		}
	}
	return isInt, p == len(s)
}

// parseNum parses s when it is a number. strconv's own syntax is wider
// (hex, "Inf", underscores), so numericSyntax decides first.
func parseNum(s string) (num, bool) {
	if len(s) == 0 || !(isDigit(s[0]) || s[0] == '-') {
		return num{}, false
	}
	isInt, ok := numericSyntax(s)
	if !ok {
		return num{}, false
	}
	if isInt {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return num{isInt: true, i: i, f: float64(i)}, true
		}
	}
	// The syntax is valid, so the only error is a range error, which comes
	// with ±Inf or 0: values that still compare sensibly.
	f, _ := strconv.ParseFloat(s, 64)
	return num{f: f}, true
}

// cmpNum compares two numbers: -1, 0 or +1.
func cmpNum(a, b num) int {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	return 0
}

// cand is one dotted path a field name can be found at, hashed once.
type cand struct {
	path string
	hash uint64
	misc bool // probed only when the event has a "miscellaneous" object
}

// fieldRef is a field name as written in a filter, title or aggregate list,
// resolved once into the paths it reads. A field is present when any of
// its paths is; its values are the union of theirs.
type fieldRef struct {
	name  string
	cands []cand
}

// fieldAliases lists the extra paths of field names that are spelled
// differently from where agents put the data. ip, port and agent are the
// aliases of DECISIONS.md. hostname and the cloud fields live in the
// metadata objects of agent events (rules-events.md §3.2) while the rule
// templates offer them as plain names in both spellings (§1.3).
// CloudTrail's bucketName is a request parameter.
var fieldAliases = map[string][]string{
	"ip":                {"ip", "src_ip", "dst_ip"},
	"port":              {"port", "src_port", "dst_port"},
	"agent":             {"hostname", "host_metadata.hostname"},
	"hostname":          {"hostname", "host_metadata.hostname"},
	"cloudProvider":     {"cloudProvider", "cloud_provider", "provider_metadata.cloud_provider"},
	"cloud_provider":    {"cloud_provider", "cloudProvider", "provider_metadata.cloud_provider"},
	"accountId":         {"accountId", "account_id", "provider_metadata.account_id"},
	"account_id":        {"account_id", "accountId", "provider_metadata.account_id"},
	"availabilityZone":  {"availabilityZone", "availability_zone", "provider_metadata.availability_zone"},
	"availability_zone": {"availability_zone", "availabilityZone", "provider_metadata.availability_zone"},
	"bucketName":        {"bucketName", "requestParameters.bucketName"},
}

// miscPrefix is where CloudTrail events keep the CloudTrail record
// (rules-events.md §3.3); rules name its fields without the prefix.
const miscPrefix = "miscellaneous."

// newFieldRef resolves a field name: its alias paths (or the name itself),
// then each of them under "miscellaneous.", probed only for events that
// have that object.
func newFieldRef(name string) fieldRef {
	paths, ok := fieldAliases[name]
	if !ok {
		paths = []string{name}
	}
	ref := fieldRef{name: name}
	for _, p := range paths {
		ref.cands = append(ref.cands, cand{path: p, hash: hashString(p)})
	}
	if !strings.HasPrefix(name, miscPrefix) {
		for _, p := range paths {
			mp := miscPrefix + p
			ref.cands = append(ref.cands, cand{path: mp, hash: hashString(mp), misc: true})
		}
	}
	return ref
}

// exactRef reads exactly one path, without aliases.
func exactRef(path string) fieldRef {
	return fieldRef{name: path, cands: []cand{{path: path, hash: hashString(path)}}}
}

// Paths of the envelope fields the engine reads itself.
var (
	refEventType = exactRef("event_type")
	refID        = exactRef("_id")
	refTimestamp = exactRef("timestamp")
	refAgentID   = exactRef("agent_id")
	refFilename  = exactRef("filename")
	refKind      = exactRef("type")
)

// first returns the key of the first present path of ref, or -1.
func (ev *Event) first(ref *fieldRef) int32 {
	for i := range ref.cands {
		c := &ref.cands[i]
		if c.misc && !ev.hasMisc {
			continue
		}
		if k := ev.lookup(c.hash, c.path); k >= 0 {
			return k
		}
	}
	return -1
}

// firstString returns the first string value at ref, or "".
func (ev *Event) firstString(ref *fieldRef) string {
	k := ev.first(ref)
	if k < 0 {
		return ""
	}
	for vi := ev.keys[k].first; vi >= 0; vi = ev.vals[vi].next {
		if v := &ev.vals[vi]; v.kind == kindString {
			return ev.text(v)
		}
	}
	return ""
}

// render returns the field as a string the way titles and aggregates show
// it: the values of its first present path, joined by ", " when there are
// several (array elements); "" when the field is missing or null. A single
// value is a substring of the event text, so this allocates only for
// arrays.
func (ev *Event) render(ref *fieldRef) string {
	k := ev.first(ref)
	if k < 0 {
		return ""
	}
	key := &ev.keys[k]
	if key.first >= 0 && ev.vals[key.first].next < 0 {
		return ev.text(&ev.vals[key.first])
	}
	return string(ev.appendValues(nil, k))
}

// appendRender appends what render returns.
func (ev *Event) appendRender(dst []byte, ref *fieldRef) []byte {
	if k := ev.first(ref); k >= 0 {
		return ev.appendValues(dst, k)
	}
	return dst
}

func (ev *Event) appendValues(dst []byte, k int32) []byte {
	sep := false
	for vi := ev.keys[k].first; vi >= 0; vi = ev.vals[vi].next {
		if sep {
			dst = append(dst, ", "...)
		}
		dst = append(dst, ev.text(&ev.vals[vi])...)
		sep = true
	}
	return dst
}

// Field returns the field the way titles and aggregates render it,
// resolving aliases like a filter does, and whether it is present.
func (ev *Event) Field(name string) (string, bool) {
	ref := newFieldRef(name)
	if ev.first(&ref) < 0 {
		return "", false
	}
	return ev.render(&ref), true
}

// ID returns the event's "_id", or "" when it has no string id.
func (ev *Event) ID() string { return ev.firstString(&refID) }

// Type returns the event's "event_type", or "".
func (ev *Event) Type() string { return ev.firstString(&refEventType) }

// AgentID returns the event's "agent_id", or "".
func (ev *Event) AgentID() string { return ev.firstString(&refAgentID) }

// Timestamp returns the event's "timestamp" (epoch milliseconds) and
// whether it is present as an integer.
func (ev *Event) Timestamp() (int64, bool) {
	k := ev.first(&refTimestamp)
	if k < 0 {
		return 0, false
	}
	for vi := ev.keys[k].first; vi >= 0; vi = ev.vals[vi].next {
		if v := &ev.vals[vi]; v.kind == kindNumber && v.intOK {
			return v.i, true
		}
	}
	return 0, false
}
