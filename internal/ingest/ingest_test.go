package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/rules"
	"github.com/google/go-cmp/cmp"
)

// uid returns a distinct valid event id.
func uid(n int) string { return fmt.Sprintf("6a1f0c9e-2b3d-4e5f-8a9b-%012d", n) }

// evt returns an event object with id n, type typ and extra fields.
func evt(n int, typ, extra string) string {
	s := fmt.Sprintf(`{"_id":%q,"event_type":%q`, uid(n), typ)
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// kept is what a test compares of a kept event.
type kept struct {
	Index     int
	ID        string
	Type      string
	Timestamp int64
	Raw       string
}

func summarize(b *Batch) ([]kept, []Rejection) {
	var ks []kept
	for _, e := range b.Events {
		ks = append(ks, kept{e.Index, e.ID, e.Type, e.Timestamp, string(e.Raw)})
	}
	return ks, b.Rejected
}

func gz(t testing.TB, data string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeShapes(t *testing.T) {
	e0, e1 := evt(0, "audit", `"timestamp":1690000000000`), evt(1, "file", "")
	k0 := kept{0, uid(0), "audit", 1690000000000, e0}
	k1 := kept{1, uid(1), "file", 0, e1}
	tests := []struct {
		name, body, ct string
		want           []kept
	}{
		{"keeps a JSON array", "[" + e0 + "," + e1 + "]", "application/json", []kept{k0, k1}},
		{"keeps NDJSON", e0 + "\n" + e1 + "\n", "application/x-ndjson", []kept{k0, k1}},
		{"keeps NDJSON without a final newline", e0 + "\n" + e1, "application/x-ndjson", []kept{k0, k1}},
		{"skips blank lines and CRLF in NDJSON", "\r\n" + e0 + "\r\n\r\n  \t\n" + e1 + " \r\n\n", "application/x-ndjson", []kept{k0, k1}},
		{"keeps a single object as one NDJSON line", e0, "application/json", []kept{k0}},
		{"detects the shape whatever the JSON content type", "[" + e0 + "]", "application/x-ndjson", []kept{k0}},
		{"accepts application/ndjson", e0, "application/ndjson", []kept{k0}},
		{"accepts a missing content type", "[" + e0 + "]", "", []kept{k0}},
		{"accepts a UTF-8 charset", "[" + e0 + "]", "application/json; charset=UTF-8", []kept{k0}},
		{"compacts a pretty-printed array", "[\n  {\n    \"_id\" : \"" + uid(1) + "\",\n\t\"event_type\": \"file\"\n  }\n]\n", "",
			[]kept{{0, uid(1), "file", 0, e1}}},
		{"skips a byte order mark", "\xef\xbb\xbf[" + e0 + "]", "", []kept{k0}},
		{"keeps 0 events of an empty array", "[]", "", nil},
		{"keeps 0 events of an empty array with spaces", " \n[ \n ]\n ", "", nil},
		{"lower-cases the id in ID and Raw", `[{"_id":"6A1F0C9E-2B3D-4E5F-8A9B-00000000000A","event_type":"host"}]`, "",
			[]kept{{0, "6a1f0c9e-2b3d-4e5f-8a9b-00000000000a", "host", 0,
				`{"_id":"6a1f0c9e-2b3d-4e5f-8a9b-00000000000a","event_type":"host"}`}}},
		{"unescapes _id and event_type in Raw", `[{"\u005fid":"6a1f0c9e\u002d2b3d-4e5f-8a9b-000000000001","event_type":"\u0061udit"}]`, "",
			[]kept{{0, uid(1), "audit", 0, `{"\u005fid":"` + uid(1) + `","event_type":"audit"}`}}},
		{"keeps other escapes and unicode as sent", `[{"_id":"` + uid(1) + `","event_type":"host","log":"a\"b\\c\/d\n\u00e9é😀"}]`, "",
			[]kept{{0, uid(1), "host", 0, `{"_id":"` + uid(1) + `","event_type":"host","log":"a\"b\\c\/d\n\u00e9é😀"}`}}},
		{"replaces invalid UTF-8 with U+FFFD", "[{\"_id\":\"" + uid(1) + "\",\"event_type\":\"host\",\"log\":\"a\xff\xc3b\"}]", "",
			[]kept{{0, uid(1), "host", 0, `{"_id":"` + uid(1) + `","event_type":"host","log":"a\uFFFD\uFFFDb"}`}}},
		{"treats a null timestamp as absent", "[" + evt(1, "file", `"timestamp":null`) + "]", "",
			[]kept{{0, uid(1), "file", 0, evt(1, "file", `"timestamp":null`)}}},
		{"accepts timestamp 0", "[" + evt(1, "file", `"timestamp":0`) + "]", "",
			[]kept{{0, uid(1), "file", 0, evt(1, "file", `"timestamp":0`)}}},
		{"accepts the largest timestamp", "[" + evt(1, "file", `"timestamp":253402300799999`) + "]", "",
			[]kept{{0, uid(1), "file", 253402300799999, evt(1, "file", `"timestamp":253402300799999`)}}},
		{"keeps every JSON value kind", "[" + evt(1, "audit", `"a":[true,false,null,-0.5e+3,{"b":[]},{}],"c":""`) + "]", "",
			[]kept{{0, uid(1), "audit", 0, evt(1, "audit", `"a":[true,false,null,-0.5e+3,{"b":[]},{}],"c":""`)}}},
		{"accepts an unknown event type", "[" + evt(1, "kubernetes_audit2", "") + "]", "",
			[]kept{{0, uid(1), "kubernetes_audit2", 0, evt(1, "kubernetes_audit2", "")}}},
	}
	// The replacement character is written as UTF-8, not as an escape.
	for i := range tests {
		for j := range tests[i].want {
			tests[i].want[j].Raw = strings.ReplaceAll(tests[i].want[j].Raw, `\uFFFD`, "\uFFFD")
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Decode(strings.NewReader(tt.body), tt.ct, "", Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got, rej := summarize(b)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("kept events (-want +got):\n%s", diff)
			}
			if len(rej) != 0 {
				t.Errorf("rejected %+v, want none", rej)
			}
		})
	}
}

func TestDecodeRejectsInvalidEvents(t *testing.T) {
	deep := func(n int) string { // an event whose own object counts as level 1
		return evt(1, "audit", `"d":`+strings.Repeat("[", n-1)+strings.Repeat("]", n-1))
	}
	tests := []struct {
		name, event, want string
	}{
		{"rejects a number", `1`, "event is a number, not a JSON object"},
		{"rejects a string", `"x"`, "event is a string, not a JSON object"},
		{"rejects null", `null`, "event is null, not a JSON object"},
		{"rejects a boolean", `true`, "event is a boolean, not a JSON object"},
		{"rejects an array", `[{"_id":"` + uid(1) + `","event_type":"audit"}]`, "event is an array, not a JSON object"},
		{"rejects a missing _id", `{"event_type":"audit"}`, "event has no _id"},
		{"rejects an empty object", `{}`, "event has no _id"},
		{"rejects a numeric _id", `{"_id":12,"event_type":"audit"}`, "_id must be a string"},
		{"rejects a null _id", `{"_id":null,"event_type":"audit"}`, "_id must be a string"},
		{"rejects an _id array", `{"_id":["` + uid(1) + `"],"event_type":"audit"}`, "_id must be a string"},
		{"rejects a non-UUID _id", `{"_id":"abc","event_type":"audit"}`, `_id "abc" is not a UUID`},
		{"rejects an _id without dashes", `{"_id":"6a1f0c9e2b3d4e5f8a9b000000000001","event_type":"audit"}`,
			`_id "6a1f0c9e2b3d4e5f8a9b000000000001" is not a UUID`},
		{"rejects an _id in braces", `{"_id":"{` + uid(1) + `}","event_type":"audit"}`, `_id "{` + uid(1) + `}" is not a UUID`},
		{"rejects an _id with a non-hex digit", `{"_id":"6a1f0c9e-2b3d-4e5f-8a9b-00000000000g","event_type":"audit"}`,
			`_id "6a1f0c9e-2b3d-4e5f-8a9b-00000000000g" is not a UUID`},
		{"cuts a long bad _id in the message", `{"_id":"` + strings.Repeat("z", 100) + `","event_type":"audit"}`,
			`_id "` + strings.Repeat("z", 40) + `"... is not a UUID`},
		{"rejects the nil UUID", `{"_id":"00000000-0000-0000-0000-000000000000","event_type":"audit"}`, "_id is the nil UUID"},
		{"rejects a missing event_type", `{"_id":"` + uid(1) + `"}`, "event has no event_type"},
		{"rejects a numeric event_type", `{"_id":"` + uid(1) + `","event_type":3}`, "event_type must be a string"},
		{"rejects an empty event_type", `{"_id":"` + uid(1) + `","event_type":""}`,
			`event_type "" is invalid: expected 1 to 64 lower-case letters, digits or '_', starting with a letter`},
		{"rejects an upper-case event_type", `{"_id":"` + uid(1) + `","event_type":"Audit"}`,
			`event_type "Audit" is invalid: expected 1 to 64 lower-case letters, digits or '_', starting with a letter`},
		{"rejects an event_type with a space", `{"_id":"` + uid(1) + `","event_type":"audit log"}`,
			`event_type "audit log" is invalid: expected 1 to 64 lower-case letters, digits or '_', starting with a letter`},
		{"rejects a 65-byte event_type", `{"_id":"` + uid(1) + `","event_type":"` + strings.Repeat("a", 65) + `"}`,
			`event_type "` + strings.Repeat("a", 40) + `"... is invalid: expected 1 to 64 lower-case letters, digits or '_', starting with a letter`},
		{"rejects a string timestamp", evt(1, "audit", `"timestamp":"1690000000000"`), "timestamp must be a number (epoch milliseconds)"},
		{"rejects an object timestamp", evt(1, "audit", `"timestamp":{"ms":1}`), "timestamp must be a number (epoch milliseconds)"},
		{"rejects a fractional timestamp", evt(1, "audit", `"timestamp":1690000000000.5`),
			`timestamp "1690000000000.5" is not a whole number of epoch milliseconds`},
		{"rejects an exponent timestamp", evt(1, "audit", `"timestamp":1.69e12`),
			`timestamp "1.69e12" is not a whole number of epoch milliseconds`},
		{"rejects a negative timestamp", evt(1, "audit", `"timestamp":-1`),
			`timestamp "-1" is out of range: expected epoch milliseconds from 0 to 253402300799999`},
		{"rejects a timestamp after 9999", evt(1, "audit", `"timestamp":253402300800000`),
			`timestamp "253402300800000" is out of range: expected epoch milliseconds from 0 to 253402300799999`},
		{"rejects a 30-digit timestamp", evt(1, "audit", `"timestamp":100000000000000000000000000000`),
			`timestamp "100000000000000000000000000000" is out of range: expected epoch milliseconds from 0 to 253402300799999`},
		{"rejects a second _id", evt(1, "audit", `"_id":"`+uid(2)+`"`), `duplicate key "_id"`},
		{"rejects a second _id spelled with an escape", evt(1, "audit", `"\u005fid":"`+uid(2)+`"`), `duplicate key "_id"`},
		{"rejects a second event_type", evt(1, "audit", `"event_type":"file"`), `duplicate key "event_type"`},
		{"rejects a second timestamp", evt(1, "audit", `"timestamp":1,"timestamp":2`), `duplicate key "timestamp"`},
		{"rejects an event larger than MaxEventBytes", evt(1, "audit", `"pad":"`+strings.Repeat("x", 300)+`"`), "event is larger than 256 bytes"},
		{"rejects deep nesting", deep(33), "event nests deeper than 32 levels"},
		{"rejects deep object nesting", evt(1, "audit", `"d":`+strings.Repeat(`{"a":`, 32)+"1"+strings.Repeat("}", 32)),
			"event nests deeper than 32 levels"},
		{"reports the first problem", `{"_id":"abc","event_type":"Bad"}`, `_id "abc" is not a UUID`},
	}
	lim := Limits{MaxEventBytes: 256}
	for _, tt := range tests {
		good0, good2 := evt(100, "audit", ""), evt(102, "file", `"timestamp":5`)
		wantKept := []kept{{0, uid(100), "audit", 0, good0}, {2, uid(102), "file", 5, good2}}
		wantRej := []Rejection{{Index: 1, Error: tt.want}}
		t.Run(tt.name+" in an array", func(t *testing.T) {
			b, err := Decode(strings.NewReader("["+good0+",\n"+tt.event+",\n"+good2+"]"), "", "", lim)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got, rej := summarize(b)
			if diff := cmp.Diff(wantKept, got); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantRej, rej); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
		})
		t.Run(tt.name+" in NDJSON", func(t *testing.T) {
			b, err := Decode(strings.NewReader(good0+"\n"+tt.event+"\n"+good2+"\n"), "application/x-ndjson", "", lim)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got, rej := summarize(b)
			if diff := cmp.Diff(wantKept, got); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantRej, rej); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeDuplicateIDs(t *testing.T) {
	tests := []struct {
		name     string
		events   []string
		wantKept []int
		wantRej  []Rejection
	}{
		{"keeps the first of two equal ids", []string{evt(1, "audit", ""), evt(1, "file", "")}, []int{0},
			[]Rejection{{1, "duplicate _id " + uid(1) + ": the event at index 0 has it already"}}},
		{"compares upper-case ids with lower-case ones", []string{evt(10, "audit", ""),
			`{"_id":"` + strings.ToUpper(uid(10)) + `","event_type":"audit"}`}, []int{0},
			[]Rejection{{1, "duplicate _id 6a1f0c9e-2b3d-4e5f-8a9b-000000000010: the event at index 0 has it already"}}},
		{"keeps a later copy when the first was rejected", []string{evt(1, "audit", `"timestamp":"x"`), evt(1, "audit", "")}, []int{1},
			[]Rejection{{0, "timestamp must be a number (epoch milliseconds)"}}},
		{"rejects every later copy", []string{evt(1, "audit", ""), evt(2, "audit", ""), evt(1, "audit", ""), evt(1, "host", "")}, []int{0, 1},
			[]Rejection{{2, "duplicate _id " + uid(1) + ": the event at index 0 has it already"},
				{3, "duplicate _id " + uid(1) + ": the event at index 0 has it already"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Decode(strings.NewReader("["+strings.Join(tt.events, ",")+"]"), "", "", Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var got []int
			for _, e := range b.Events {
				got = append(got, e.Index)
			}
			if diff := cmp.Diff(tt.wantKept, got); diff != "" {
				t.Errorf("kept indices (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRej, b.Rejected); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeNDJSONRejectsBadLinesOnly(t *testing.T) {
	good := func(n int) string { return evt(n, "audit", "") }
	tests := []struct {
		name, line, want string
	}{
		{"rejects garbage", `hello`, "invalid JSON at column 1: unexpected 'h', expected a value"},
		{"rejects a truncated object", `{"_id":"` + uid(1) + `","event_type":`,
			`invalid JSON at column 60: unexpected end of line, expected a value (NDJSON events must each be on one line)`},
		{"rejects two objects on a line", good(50) + good(51), "invalid JSON at column 68: unexpected '{' after the event"},
		{"rejects a bad escape", `{"_id":"a\x"}`, `invalid JSON at column 11: invalid escape \'x' in a string`},
		{"rejects a control character", "{\"_id\":\"a\tb\"}", "invalid JSON at column 10: control character byte 0x09 in a string"},
		{"rejects a bad number", `{"n":01}`, "invalid JSON at column 7: unexpected '1', expected ',' or '}'"},
		{"rejects a bad literal", `{"n":nul}`, `invalid JSON at column 9: unexpected '}', expected "null"`},
		{"rejects a missing colon", `{"n" 1}`, "invalid JSON at column 6: unexpected '1', expected ':'"},
		{"rejects a trailing comma", `{"n":1,}`, "invalid JSON at column 8: unexpected '}', expected a quoted key"},
		{"counts columns from the start of the line", `   {"n" 1}`, "invalid JSON at column 9: unexpected '1', expected ':'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := good(0) + "\n" + tt.line + "\n" + good(2) + "\n"
			b, err := Decode(strings.NewReader(body), "application/x-ndjson", "", Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var got []int
			for _, e := range b.Events {
				got = append(got, e.Index)
			}
			if diff := cmp.Diff([]int{0, 2}, got); diff != "" {
				t.Errorf("kept indices (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]Rejection{{1, tt.want}}, b.Rejected); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("rejects every line of a pretty-printed object", func(t *testing.T) {
		body := "{\n  \"_id\": \"" + uid(1) + "\",\n  \"event_type\": \"audit\"\n}\n"
		b, err := Decode(strings.NewReader(body), "application/json", "", Limits{})
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if len(b.Events) != 0 || len(b.Rejected) != 4 {
			t.Fatalf("kept %d, rejected %+v; want 0 kept and 4 rejected lines", len(b.Events), b.Rejected)
		}
		want := "invalid JSON at column 2: unexpected end of line, expected a quoted key (NDJSON events must each be on one line)"
		if b.Rejected[0].Error != want {
			t.Errorf("first rejection %q, want %q", b.Rejected[0].Error, want)
		}
	})
}

func TestDecodeBodyErrors(t *testing.T) {
	many := func(n int, sep, open, close string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = evt(i, "audit", "")
		}
		return open + strings.Join(parts, sep) + close
	}
	tests := []struct {
		name, body, ct, ce string
		lim                Limits
		code, msg          string
	}{
		{"rejects an empty body", "", "", "", Limits{}, aip.EINVALID, "the body is empty: send a JSON array of events or NDJSON"},
		{"rejects a blank body", " \r\n\t ", "", "", Limits{}, aip.EINVALID, "the body is empty: send a JSON array of events or NDJSON"},
		{"rejects a body that is not JSON", "x=1", "", "", Limits{}, aip.EINVALID, "the body is neither a JSON array nor NDJSON: it starts with 'x'"},
		{"rejects a top-level string", `"events"`, "", "", Limits{}, aip.EINVALID, `the body is neither a JSON array nor NDJSON: it starts with '"'`},
		{"hints at gzip sent without its header", "\x1f\x8b\x08\x00", "", "", Limits{}, aip.EINVALID,
			"the body is neither a JSON array nor NDJSON: it starts with byte 0x1f (gzip data sent without Content-Encoding: gzip?)"},
		{"rejects an unclosed array", "[" + evt(1, "audit", ""), "", "", Limits{}, aip.EINVALID,
			"invalid JSON at byte 68 of the body: unexpected end of the body, expected ',' or ']'"},
		{"rejects a syntax error in an element", "[" + evt(1, "audit", "") + `,{"a":tru}]`, "", "", Limits{}, aip.EINVALID,
			`invalid JSON at byte 77 of the body: unexpected '}', expected "true"`},
		{"rejects a trailing comma", "[" + evt(1, "audit", "") + ",]", "", "", Limits{}, aip.EINVALID,
			"invalid JSON at byte 69 of the body: unexpected ']', expected a value"},
		{"rejects a missing comma", "[1 2]", "", "", Limits{}, aip.EINVALID,
			"invalid JSON at byte 3 of the body: unexpected '2', expected ',' or ']'"},
		{"rejects trailing garbage", "[] x", "", "", Limits{}, aip.EINVALID,
			"invalid JSON at byte 3 of the body: unexpected 'x' after the JSON array"},
		{"rejects a second array", "[][]", "", "", Limits{}, aip.EINVALID,
			"invalid JSON at byte 2 of the body: unexpected '[' after the JSON array"},
		{"rejects nesting deeper than encoding/json allows", "[" + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "]",
			"", "", Limits{}, aip.EINVALID, "invalid JSON at byte 10000 of the body: nesting deeper than 10000 levels"},
		{"rejects too many array events", many(4, ",", "[", "]"), "", "", Limits{MaxEvents: 3}, aip.ETOOLARGE, "the batch has more than 3 events"},
		{"counts rejected records against MaxEvents", "[1,2,3,4]", "", "", Limits{MaxEvents: 3}, aip.ETOOLARGE, "the batch has more than 3 events"},
		{"rejects too many NDJSON events", many(4, "\n", "", "\n"), "", "", Limits{MaxEvents: 3}, aip.ETOOLARGE, "the batch has more than 3 events"},
		{"rejects a body over MaxBodyBytes", many(3, ",", "[", "]"), "", "", Limits{MaxBodyBytes: 100}, aip.ETOOLARGE, "the body is larger than 100 bytes"},
		{"rejects a body over MaxDecodedBytes", many(3, ",", "[", "]"), "", "", Limits{MaxDecodedBytes: 100}, aip.ETOOLARGE, "the body is larger than 100 bytes"},
		{"rejects an unsupported content type", "[]", "application/x-www-form-urlencoded", "", Limits{}, aip.EINVALID,
			`unsupported Content-Type "application/x-www-form-urlencoded": send application/json or application/x-ndjson`},
		{"rejects a malformed content type", "[]", "application/json; =", "", Limits{}, aip.EINVALID, `invalid Content-Type "application/json; ="`},
		{"rejects a charset other than UTF-8", "[]", "application/json; charset=latin1", "", Limits{}, aip.EINVALID,
			`unsupported charset "latin1": events must be UTF-8`},
		{"rejects an unsupported encoding", "[]", "", "br", Limits{}, aip.EINVALID, `unsupported Content-Encoding "br": send gzip or no encoding`},
		{"rejects stacked encodings", "[]", "", "gzip, gzip", Limits{}, aip.EINVALID, `unsupported Content-Encoding "gzip, gzip": send gzip or no encoding`},
		{"rejects gzip that is not gzip", "[]", "", "gzip", Limits{}, aip.EINVALID, "invalid gzip body: unexpected end of data"},
		{"rejects a gzip header with bad magic", "not gzip at all, really", "", "gzip", Limits{}, aip.EINVALID, "invalid gzip body: invalid header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Decode(strings.NewReader(tt.body), tt.ct, tt.ce, tt.lim)
			if b != nil {
				t.Errorf("got a batch with an error")
			}
			var ae *aip.Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *aip.Error", err)
			}
			if ae.Code != tt.code || ae.Message != tt.msg {
				t.Errorf("err = %s %q, want %s %q", ae.Code, ae.Message, tt.code, tt.msg)
			}
		})
	}
}

func TestDecodeBodyLimitIsInclusive(t *testing.T) {
	body := "[" + evt(1, "audit", "") + "]"
	n := int64(len(body))
	tests := []struct {
		name     string
		lim      Limits
		wantCode string
	}{
		{"accepts a body of exactly MaxBodyBytes", Limits{MaxBodyBytes: n}, ""},
		{"rejects a body one byte over MaxBodyBytes", Limits{MaxBodyBytes: n - 1}, aip.ETOOLARGE},
		{"accepts a body of exactly MaxDecodedBytes", Limits{MaxDecodedBytes: n}, ""},
		{"rejects a body one byte over MaxDecodedBytes", Limits{MaxDecodedBytes: n - 1}, aip.ETOOLARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(body), "", "", tt.lim)
			if got := aip.ErrorCode(err); got != tt.wantCode {
				t.Errorf("code = %q (%v), want %q", got, err, tt.wantCode)
			}
		})
	}
}

func TestDecodeGzip(t *testing.T) {
	e0, e1 := evt(0, "audit", ""), evt(1, "host", "")
	array := "[" + e0 + "," + e1 + "]"
	ndjson := e0 + "\n" + e1 + "\n"
	multi := append(gz(t, "["+e0+","), gz(t, e1+"]")...)
	tests := []struct {
		name string
		body []byte
		ce   string
		lim  Limits
	}{
		{"decodes a gzip array", gz(t, array), "gzip", Limits{}},
		{"decodes gzip NDJSON", gz(t, ndjson), "gzip", Limits{}},
		{"accepts x-gzip in any case", gz(t, array), " X-GZIP ", Limits{}},
		{"decodes concatenated gzip members", multi, "gzip", Limits{}},
		{"applies MaxBodyBytes to the compressed size", gz(t, array), "gzip", Limits{MaxBodyBytes: int64(len(gz(t, array)))}},
		{"accepts identity", []byte(array), "identity", Limits{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Decode(bytes.NewReader(tt.body), "", tt.ce, tt.lim)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got, rej := summarize(b)
			want := []kept{{0, uid(0), "audit", 0, e0}, {1, uid(1), "host", 0, e1}}
			if diff := cmp.Diff(want, got); diff != "" || len(rej) != 0 {
				t.Errorf("kept (-want +got):\n%s\nrejected %+v", diff, rej)
			}
		})
	}

	errTests := []struct {
		name      string
		body      []byte
		lim       Limits
		code, msg string
	}{
		{"rejects truncated gzip", gz(t, array)[:30], Limits{}, aip.EINVALID, "invalid gzip body: unexpected end of data"},
		{"rejects a bad checksum", func() []byte {
			b := gz(t, array)
			b[len(b)-8] ^= 0xff
			return b
		}(), Limits{}, aip.EINVALID, "invalid gzip body: invalid checksum"},
		{"rejects garbage after the gzip data", append(gz(t, array), "junk after the gzip stream"...), Limits{}, aip.EINVALID, "invalid gzip body: invalid header"},
		{"rejects compressed data over MaxBodyBytes", gz(t, array), Limits{MaxBodyBytes: 40}, aip.ETOOLARGE, "the body is larger than 40 bytes"},
		{"rejects decompressed data over MaxDecodedBytes", gz(t, array), Limits{MaxDecodedBytes: 100}, aip.ETOOLARGE,
			"the decompressed body is larger than 100 bytes"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tt.body), "", "gzip", tt.lim)
			var ae *aip.Error
			if !errors.As(err, &ae) || ae.Code != tt.code || ae.Message != tt.msg {
				t.Errorf("err = %v, want %s %q", err, tt.code, tt.msg)
			}
		})
	}
}

// countingReader counts the bytes Decode pulled from the body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// bomb returns a gzip body whose decompressed form is prefix followed by
// mib MiB of fill: concatenated members, each one MiB of fill compressed
// about a thousandfold, so building a 1 GiB bomb takes one compression.
func bomb(t testing.TB, prefix string, fill byte, mib int) []byte {
	t.Helper()
	member := gz(t, string(bytes.Repeat([]byte{fill}, 1<<20)))
	out := gz(t, prefix)
	for range mib {
		out = append(out, member...)
	}
	return out
}

func TestDecodeStopsGzipBombs(t *testing.T) {
	const decodedCap = 8 << 20
	tests := []struct {
		name   string
		prefix string
		fill   byte
		ndjson bool
	}{
		{"stops whitespace inside an array", "[", ' ', false},
		{"stops a giant string inside an event", `[{"_id":"` + uid(1) + `","event_type":"audit","pad":"`, 'a', false},
		{"stops a giant NDJSON line", evt(1, "audit", "") + "\n" + `{"pad":"`, 'a', true},
		{"stops blank NDJSON lines", evt(1, "audit", "") + "\n", '\n', true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bomb(t, tt.prefix, tt.fill, 1024) // 1 GiB decompressed
			if len(body) > 2<<20 {
				t.Fatalf("bomb body is %d bytes, want under 2 MiB", len(body))
			}
			cr := &countingReader{r: bytes.NewReader(body)}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Decode(cr, "", "gzip", Limits{MaxBodyBytes: 4 << 20, MaxDecodedBytes: decodedCap})
			runtime.ReadMemStats(&after)
			if aip.ErrorCode(err) != aip.ETOOLARGE {
				t.Fatalf("err = %v, want ETOOLARGE", err)
			}
			if want := "the decompressed body is larger than 8388608 bytes"; aip.ErrorMessage(err) != want {
				t.Errorf("message %q, want %q", aip.ErrorMessage(err), want)
			}
			// 8 MiB of output needs about 8 KiB of input at this ratio;
			// the gzip reader's buffering adds a little.
			if cr.n > 64<<10 {
				t.Errorf("read %d compressed bytes of %d, want decoding to stop within 64 KiB", cr.n, len(body))
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("allocated %d bytes, want under 4 MiB for an 8 MiB decompression cap", alloc)
			}
		})
	}
}

func TestDecodeHugeSingleEvent(t *testing.T) {
	huge := evt(1, "audit", `"pad":"`+strings.Repeat("x", 5<<20)+`","arr":[`+strings.Repeat("1,", 1000)+`1]`)
	e0, e2 := evt(0, "audit", ""), evt(2, "audit", "")
	tests := []struct {
		name, body string
	}{
		{"rejects a 5 MiB NDJSON line alone", e0 + "\n" + huge + "\n" + e2 + "\n"},
		{"rejects a 5 MiB array element alone", "[" + e0 + "," + huge + "," + e2 + "]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b, err := Decode(strings.NewReader(tt.body), "", "", Limits{})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got, rej := summarize(b)
			want := []kept{{0, uid(0), "audit", 0, e0}, {2, uid(2), "audit", 0, e2}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]Rejection{{1, "event is larger than 65536 bytes"}}, rej); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
			// The oversized event is skipped, not buffered.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes for a 5 MiB event, want under 1 MiB", alloc)
			}
		})
	}
}

// TestKeptEventsDecodeInRules checks that what ingest keeps is what the rule
// engine reads: same id, type and timestamp, and nesting at the limit.
func TestKeptEventsDecodeInRules(t *testing.T) {
	nest := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	events := []string{
		evt(1, "audit", `"timestamp":1690000000000,"args":["ls","-la"],"tty":null,"session":4294967295`),
		`{"\u005fid":"6A1F0C9E-2B3D-4E5F-8A9B-000000000002","event_type":"\u0068ost","timestamp":-0,"group":["a","b"]}`,
		evt(3, "file", `"x.y":{"z":"\ud800"},"s":"`+"\xff"+`"`),
		evt(4, "login", `"d":`+nest(31)),
	}
	b, err := Decode(strings.NewReader("["+strings.Join(events, ",")+"]"), "", "", Limits{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(b.Events) != len(events) {
		t.Fatalf("kept %d events, want %d (rejected %+v)", len(b.Events), len(events), b.Rejected)
	}
	for _, e := range b.Events {
		rev, err := rules.DecodeEvent(e.Raw)
		if err != nil {
			t.Errorf("event %d: rules.DecodeEvent: %v", e.Index, err)
			continue
		}
		ts, _ := rev.Timestamp()
		if got, want := [3]any{rev.ID(), rev.Type(), ts}, [3]any{e.ID, e.Type, e.Timestamp}; got != want {
			t.Errorf("event %d: rules sees %v, ingest %v", e.Index, got, want)
		}
	}
	// One level more is rejected by both.
	deeper := evt(5, "login", `"d":`+nest(32))
	if _, err := rules.DecodeEvent([]byte(deeper)); err == nil {
		t.Error("rules.DecodeEvent accepts 33 levels; the depth limits disagree")
	}
	b, err = Decode(strings.NewReader(deeper), "", "", Limits{})
	if err != nil || len(b.Rejected) != 1 {
		t.Errorf("Decode of 33 levels: err %v, batch %+v; want it rejected", err, b)
	}
}

// errReader fails after its data.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestDecodeReaderErrors(t *testing.T) {
	errNet := errors.New("connection reset")
	body := []byte("[" + evt(1, "audit", "") + ",")
	tests := []struct {
		name     string
		r        func() io.Reader
		ce       string
		wantCode string
		wantIs   error
	}{
		{"wraps a failing reader", func() io.Reader { return &errReader{body, errNet} }, "", aip.EINTERNAL, errNet},
		{"wraps a failing reader under gzip", func() io.Reader { return &errReader{gz(t, string(body))[:20], errNet} }, "gzip", aip.EINTERNAL, errNet},
		{"maps a truncated body to EINVALID", func() io.Reader { return &errReader{body, io.ErrUnexpectedEOF} }, "", aip.EINVALID, nil},
		{"maps http.MaxBytesReader to ETOOLARGE", func() io.Reader {
			return http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader(body)), 10)
		}, "", aip.ETOOLARGE, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.r(), "", tt.ce, Limits{})
			if got := aip.ErrorCode(err); got != tt.wantCode {
				t.Errorf("code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.wantIs)
			}
		})
	}
}

func TestLimitsDefaultsAndClamps(t *testing.T) {
	tests := []struct {
		name string
		in   Limits
		want Limits
	}{
		{"fills a zero Limits", Limits{}, DefaultLimits()},
		{"fills negative fields", Limits{MaxBodyBytes: -1, MaxDecodedBytes: -1, MaxEventBytes: -1, MaxEvents: -1, MaxDepth: -1}, DefaultLimits()},
		{"keeps set fields", Limits{1, 2, 3, 4, 5}, Limits{1, 2, 3, 4, 5}},
		{"clamps per-event limits to the rule engine's", Limits{1, 2, 1 << 40, 4, 1000}, Limits{1, 2, rules.MaxEventBytes, 4, rules.MaxEventDepth}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.in.withDefaults()); diff != "" {
				t.Errorf("withDefaults (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRawDoesNotAliasNeighbours(t *testing.T) {
	b, err := Decode(strings.NewReader("["+evt(1, "audit", "")+","+evt(2, "audit", "")+"]"), "", "", Limits{})
	if err != nil || len(b.Events) != 2 {
		t.Fatalf("Decode: %v, %+v", err, b)
	}
	second := string(b.Events[1].Raw)
	_ = append(b.Events[0].Raw, "XXXXXXXX"...)
	if got := string(b.Events[1].Raw); got != second {
		t.Errorf("appending to one event's Raw changed the next: %q", got)
	}
}

func TestPlainPrefixMatchesTable(t *testing.T) {
	for c := 0; c < 256; c++ {
		for p := 0; p < 20; p++ {
			b := bytes.Repeat([]byte{'a'}, 20)
			b[p] = byte(c)
			want := 20
			if !strPlain[c] {
				want = p
			}
			if got := plainPrefix(b); got != want {
				t.Fatalf("plainPrefix with byte 0x%02x at %d = %d, want %d", c, p, got, want)
			}
		}
	}
}
