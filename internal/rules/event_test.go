package rules

import (
	"strings"
	"testing"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func TestDecodeEventEnvelope(t *testing.T) {
	js := `{"_id":"6a1f0c9e-2b3d-4e5f-8a9b-000000000001","event_type":"audit","agent_id":"a-1","timestamp":1690000000123}`
	ev := mustEvent(t, js)
	ts, ok := ev.Timestamp()
	got := []any{ev.ID(), ev.Type(), ev.AgentID(), ts, ok, ev.JSON()}
	want := []any{"6a1f0c9e-2b3d-4e5f-8a9b-000000000001", "audit", "a-1", int64(1690000000123), true, js}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
}

func TestDecodeEventTimestampMustBeInteger(t *testing.T) {
	for _, js := range []string{`{"timestamp":"1690000000123"}`, `{"timestamp":1.5}`, `{}`} {
		if _, ok := mustEvent(t, js).Timestamp(); ok {
			t.Errorf("%s: Timestamp() reported a timestamp", js)
		}
	}
}

func TestEventField(t *testing.T) {
	ev := mustEvent(t, semEvent)
	tests := []struct {
		name      string
		want      string
		wantFound bool
	}{
		{"user", "root", true},
		{"pid", "4242", true},
		{"ratio", "0.5", true},
		{"big", "12345678901234567890", true},
		{"success", "true", true},
		{"tty", "", true},
		{"group", "wheel, adm", true},
		{"empty", "", true},
		{"nosuch", "", false},
		{"host_metadata.hostname", "web-1", true},
		{"hostname", "web-1", true},
		{"ip", "10.1.242.7", true},
		{"port", "443", true},
		{"obj.a", `{"b": "deep"}`, true},
		{"network_metadata.private_ip_address", "10.0.0.5, 10.0.0.6, 10.0.0.7", true},
		{"quote", "say \"hi\"\n", true},
		{"uni", "café", true},
		{"dotted.key", "flat", true},
	}
	for _, tt := range tests {
		got, found := ev.Field(tt.name)
		if got != tt.want || found != tt.wantFound {
			t.Errorf("Field(%q) = %q, %v; want %q, %v", tt.name, got, found, tt.want, tt.wantFound)
		}
	}
}

func TestDecodeEventMergesDottedAndNestedKeys(t *testing.T) {
	ev := mustEvent(t, `{"a.b":1,"a":{"b":2,"c":{"d":"x"}},"a.c.d":"y"}`)
	for _, tt := range []struct{ name, want string }{
		{"a.b", "1, 2"},
		{"a.c.d", "x, y"},
	} {
		if got, _ := ev.Field(tt.name); got != tt.want {
			t.Errorf("Field(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	// "a" only exists because of the real object; a key that is just the
	// prefix of a dotted name is not a field.
	only := mustEvent(t, `{"x.y":1}`)
	if _, found := only.Field("x"); found {
		t.Error(`Field("x") found a field that only prefixes "x.y"`)
	}
	if !mustCompile(t, `x = null`).Match(only) {
		t.Error(`x = null is false for an event without x`)
	}
}

func TestDecodeEventUnescapes(t *testing.T) {
	ev := mustEvent(t, `{"s":"a\"b\\c\/d\be\ff\ng\rh\ti\u0041\u00e9\ud83d\ude00\ud800x\udc00","k\u0065y":"v"}`)
	if got, want := ev.firstString(&fieldRef{cands: []cand{{path: "s", hash: hashString("s")}}}), "a\"b\\c/d\be\ff\ng\rh\tiAé😀\uFFFDx\uFFFD"; got != want {
		t.Errorf("unescaped %q, want %q", got, want)
	}
	if got, _ := ev.Field("key"); got != "v" {
		t.Errorf(`escaped key: Field("key") = %q, want "v"`, got)
	}
}

func TestDecodeEventRejects(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxEventDepth+1) + "1" + strings.Repeat("}", MaxEventDepth+1)
	deepArr := `{"a":` + strings.Repeat("[", MaxEventDepth) + strings.Repeat("]", MaxEventDepth) + "}"
	tests := []struct {
		name, js, want string
	}{
		{"rejects an array", `[{"a":1}]`, "not a JSON object"},
		{"rejects a string", `"x"`, "not a JSON object"},
		{"rejects empty input", ``, "not a JSON object"},
		{"rejects trailing data", `{"a":1} {"b":2}`, "byte 8: unexpected data after the event object"},
		{"rejects a missing colon", `{"a" 1}`, "byte 5: expected ':'"},
		{"rejects a missing comma", `{"a":1 "b":2}`, "expected ',' or '}'"},
		{"rejects a trailing comma", `{"a":1,}`, "expected a quoted object key"},
		{"rejects an unquoted key", `{a:1}`, "expected a quoted object key"},
		{"rejects a truncated object", `{"a":1`, "unexpected end of input inside an object"},
		{"rejects a truncated array", `{"a":[1,2`, "unexpected end of input inside an array"},
		{"rejects a bad literal", `{"a":tru}`, "expected true"},
		{"rejects a leading zero", `{"a":01}`, "expected ',' or '}'"},
		{"rejects a bare minus", `{"a":-}`, "invalid number"},
		{"rejects a dangling fraction", `{"a":1.}`, "digits expected after '.'"},
		{"rejects a dangling exponent", `{"a":1e+}`, "digits expected in the exponent"},
		{"rejects a control character", "{\"a\":\"x\ty\"}", "control character"},
		{"rejects a bad escape", `{"a":"\x"}`, `invalid escape \x`},
		{"rejects a short unicode escape", `{"a":"\u12"}`, `invalid \u escape`},
		{"rejects an unterminated string", `{"a":"xyz`, "unterminated string"},
		{"rejects too deep objects", deep, "nesting deeper"},
		{"rejects too deep arrays", deepArr, "nesting deeper"},
		{"rejects a single quote", `{'a':1}`, "expected a quoted object key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := mustEvent(t, `{"old":"value"}`)
			err := ev.Decode([]byte(tt.js))
			if err == nil {
				t.Fatalf("Decode(%q) succeeded", tt.js)
			}
			if aip.ErrorCode(err) != aip.EINVALID || !strings.Contains(aip.ErrorMessage(err), tt.want) {
				t.Errorf("Decode(%q) = %v, want EINVALID containing %q", tt.js, err, tt.want)
			}
			if _, found := ev.Field("old"); found || ev.JSON() != "" {
				t.Error("a failed Decode left the previous event's fields")
			}
		})
	}
}

func TestDecodeEventAcceptsEdgeCases(t *testing.T) {
	for _, js := range []string{
		`{}`, ` { } `, "{\n\t\"a\" : [ ] ,\r\n \"b\":{ }}", `{"":1}`, `{"a":-0.0e-0}`, `{"a":[[[1]],[]]}`,
		`{"a":"\u0000"}`, "{\"a\":\"\xff\xfe\"}", // invalid UTF-8 is kept as is, like encoding/json's Valid
		strings.Repeat(`{"a":`, MaxEventDepth) + "1" + strings.Repeat("}", MaxEventDepth),
		`{"a":` + strings.Repeat("[", MaxEventDepth-1) + strings.Repeat("]", MaxEventDepth-1) + "}",
	} {
		if _, err := DecodeEvent([]byte(js)); err != nil {
			t.Errorf("DecodeEvent(%q): %v", js, err)
		}
	}
}

func TestDecodeReuseForgetsPreviousEvent(t *testing.T) {
	var ev Event
	var big strings.Builder
	big.WriteString(`{"user":"root"`)
	for i := 0; i < 3000; i++ { // grows the table past its reuse limit
		big.WriteString(`,"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `":{"n":` + "1" + `}`)
		big.WriteString(`,"f` + itoa(i) + `":1`)
	}
	big.WriteString(`}`)
	if err := ev.Decode([]byte(big.String())); err != nil {
		t.Fatal(err)
	}
	if got, _ := ev.Field("f2999"); got != "1" {
		t.Fatalf(`Field("f2999") = %q, want "1"`, got)
	}
	if err := ev.Decode([]byte(`{"command":"ls"}`)); err != nil {
		t.Fatal(err)
	}
	if _, found := ev.Field("user"); found {
		t.Error("the reused Event still has the previous event's user")
	}
	if got, _ := ev.Field("command"); got != "ls" {
		t.Errorf(`Field("command") = %q, want "ls"`, got)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestDecodeEventCopiesInput(t *testing.T) {
	data := []byte(`{"user":"root"}`)
	ev := mustEvent(t, string(data))
	ev2, err := DecodeEvent(data)
	if err != nil {
		t.Fatal(err)
	}
	copy(data, `{"user":"evil"}`)
	for _, e := range []*Event{ev, ev2} {
		if got, _ := e.Field("user"); got != "root" {
			t.Errorf(`after the input changed, Field("user") = %q, want "root"`, got)
		}
	}
}

func TestSegHashDotAgreesWithSegHash(t *testing.T) {
	for _, s := range []string{"", "a", "_id", "event_type", "exactly8", "ninechars", "host_metadata", "a.b", "1234567.", ".", "abcdefghijklmnop.q"} {
		h, dot := segHashDot([]byte(s))
		if h != segHash(s) || h != segHash([]byte(s)) {
			t.Errorf("segHashDot(%q) hash differs from segHash", s)
		}
		if want := strings.Contains(s, "."); dot != want {
			t.Errorf("segHashDot(%q) dot = %v, want %v", s, dot, want)
		}
	}
}

func TestKeysOfEveryLengthAreFound(t *testing.T) {
	for n := 0; n <= 20; n++ {
		key := strings.Repeat("k", n)
		dotted := strings.Repeat("d", n) + ".x"
		for _, js := range []string{
			`{"` + key + `":1}`, // near the end of the input: the plain path
			`{"` + key + `":1,"padding":"` + strings.Repeat("p", 40) + `"}`,
			`{"pad":0,"` + key + `":1,"` + dotted + `":2,"esc\u0061ped` + key + `":3,"z":"` + strings.Repeat("p", 40) + `"}`,
		} {
			ev := mustEvent(t, js)
			if got := rawValues(ev, key); len(got) != 1 || got[0] != "1" {
				t.Errorf("%s: key %q has values %q, want [1]", js, key, got)
			}
			if strings.Contains(js, dotted) {
				if got := rawValues(ev, dotted); len(got) != 1 || got[0] != "2" {
					t.Errorf("%s: key %q has values %q, want [2]", js, dotted, got)
				}
				if got := rawValues(ev, "escaped"+key); len(got) != 1 || got[0] != "3" {
					t.Errorf("%s: escaped key has values %q, want [3]", js, got)
				}
			}
		}
	}
}
