package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzEvents are decoded once per fuzz target and evaluated by every
// compiled filter.
var fuzzEventJSON = []string{
	semEvent,
	`{}`,
	`{"event_type":"cloudtrail","miscellaneous":{"eventName":"GetObject","requestParameters":{"bucketName":"xx"}},"ip":["1.2.3.4",null,{"a":1}]}`,
	`{"event_type":"file","type":"open","filename":"/etc/../etc/passwd","tty":null,"pid":"12e3","port":-0.0}`,
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`user = "root"`, `a != 'b'`, `x starts_with "1" or y ends_with '2' and not z like "3"`,
		`pid < 10 and pid >= -2.5e3`, `port in (22, "80", null)`, `tty = null`, `(a = 1 or (b = 2 and c = 3))`,
		`host_metadata.hostname contains "web"`, `command =“sudo”`, `s = "\u00e9\n\"\\"`, `a = 1)`, `((a = 1`,
		privateIPSuppression, `ip = "10.0.0.1" OR ip = "10.0.0.2" or ip starts_with "fd"`,
	} {
		f.Add(s)
	}
	var events []*Event
	for _, js := range fuzzEventJSON {
		events = append(events, mustEvent(f, js))
	}
	f.Fuzz(func(t *testing.T, src string) {
		flt, err := Compile(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) error %v is not a *SyntaxError", src, err)
			}
			if se.Offset < 0 || se.Offset > len(src) || se.Pos < 1 || se.Pos > utf8.RuneCountInString(src)+1 || se.Msg == "" {
				t.Fatalf("Compile(%q): bad error position %+v", src, se)
			}
			return
		}
		for _, ev := range events {
			a := flt.Match(ev)
			// not is the exact negation, whatever the filter does.
			neg, err := Compile("not (" + src + ")")
			if err != nil {
				// Only the nesting limit can refuse one more level.
				if !strings.Contains(err.Error(), "nests deeper") {
					t.Fatalf("Compile(not (%q)): %v", src, err)
				}
				continue
			}
			if neg.Match(ev) == a {
				t.Fatalf("%q and its negation agree on an event", src)
			}
		}
	})
}

// maxDepth returns the nesting depth of valid JSON.
func maxDepth(data []byte) int {
	depth, deepest, inStr, esc := 0, 0, false, false
	for _, c := range data {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// rawValues returns the texts stored at exactly path.
func rawValues(ev *Event, path string) []string {
	ref := exactRef(path)
	k := ev.first(&ref)
	if k < 0 {
		return nil
	}
	var out []string
	for vi := ev.keys[k].first; vi >= 0; vi = ev.vals[vi].next {
		out = append(out, ev.text(&ev.vals[vi]))
	}
	return out
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range fuzzEventJSON {
		f.Add([]byte(s))
	}
	for _, s := range benchEvents()[:3] {
		f.Add(s)
	}
	for _, s := range []string{`[]`, `{"a":}`, `{"a":"\ud83d\ude00"}`, `{"a.b":1,"a":{"b":[2,{"c":3}]}}`, `{"a":1e400}`, "{\"\\u0000\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	eng, err := NewEngine(benchRules())
	if err != nil {
		f.Fatal(err)
	}
	var reused Event
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeEvent(data)
		trimmed := bytes.TrimLeft(data, " \t\r\n")
		valid := json.Valid(data) && len(trimmed) > 0 && trimmed[0] == '{' && maxDepth(data) <= MaxEventDepth
		if (err == nil) != valid {
			t.Fatalf("DecodeEvent(%q) error %v, but encoding/json validity (object, depth ≤ %d) is %v", data, err, MaxEventDepth, valid)
		}
		if rerr := reused.Decode(data); (rerr == nil) != (err == nil) {
			t.Fatalf("a reused Event decoded %q differently: %v vs %v", data, rerr, err)
		}
		if err != nil {
			return
		}
		if ev.JSON() != string(data) || reused.JSON() != string(data) {
			t.Fatal("JSON() does not return the input")
		}
		// Top-level strings and numbers agree with encoding/json.
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("encoding/json rejects %q: %v", data, err)
		}
		for k, v := range m {
			// encoding/json replaces invalid UTF-8 with U+FFFD; the decoder keeps bytes.
			if strings.Contains(k, ".") || strings.ContainsRune(k, utf8.RuneError) {
				continue
			}
			var want string
			switch v := v.(type) {
			case string:
				if strings.ContainsRune(v, utf8.RuneError) {
					continue
				}
				want = v
			case json.Number:
				want = string(v)
			default:
				continue
			}
			got := rawValues(ev, k)
			found := false
			for _, g := range got {
				found = found || g == want
			}
			if !found {
				t.Fatalf("key %q: decoded %q, encoding/json has %q", k, got, want)
			}
		}
		eng.Evaluate(ev, func(m Match) {
			_ = m.Title()
			_ = m.Aggregates()
			_ = m.Key("agent")
		})
	})
}
