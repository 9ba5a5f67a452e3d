package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/rules"
)

// Fuzz modes: how the fuzzed bytes reach Decode.
const (
	fuzzPlain   = iota // as the body
	fuzzGzipped        // gzip-compressed by the test, sent with Content-Encoding: gzip
	fuzzRawGzip        // as the body, claimed to be gzip
)

func FuzzDecode(f *testing.F) {
	seeds := []string{
		"",
		"[]",
		"[" + evt(1, "audit", `"timestamp":1690000000000,"args":["a","b"],"tty":null`) + "," + evt(2, "file", "") + "]",
		evt(1, "audit", "") + "\n" + evt(2, "host", `"group":["x"]`) + "\r\n\n" + evt(1, "audit", ""),
		`[1,"x",null,true,[],{}]`,
		`{"_id":"abc","event_type":"Audit"}` + "\n" + "garbage\n" + `{"a":` + "\n1}",
		"[" + evt(1, "audit", `"_id":"`+uid(2)+`"`) + "]",
		`[{"\u005fid":"6A1F0C9E-2B3D-4E5F-8A9B-000000000001","event_type":"\u0061udit","s":"\ud800\u00e9` + "\xff\xc3" + `"}]`,
		"[" + evt(1, "audit", `"timestamp":1.5e3`) + "," + evt(2, "audit", `"timestamp":-0`) + "]",
		"[" + evt(1, "audit", `"d":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)) + "]",
		"\xef\xbb\xbf[" + evt(1, "audit", "") + "] x",
		"[" + evt(1, "audit", `"pad":"`+strings.Repeat("y", 600)+`"`) + "]",
		"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff",
	}
	for _, s := range seeds {
		for _, mode := range []uint8{fuzzPlain, fuzzGzipped, fuzzRawGzip} {
			f.Add([]byte(s), mode)
		}
	}
	lim := Limits{MaxBodyBytes: 1 << 20, MaxDecodedBytes: 1 << 20, MaxEventBytes: 512, MaxEvents: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		body, ce := data, ""
		switch mode % 3 {
		case fuzzGzipped:
			body, ce = gz(t, string(data)), "gzip"
		case fuzzRawGzip:
			ce = "gzip"
		}
		b, err := Decode(bytes.NewReader(body), "", ce, lim)
		if err != nil {
			var ae *aip.Error
			if !errors.As(err, &ae) || ae.Code != aip.EINVALID && ae.Code != aip.ETOOLARGE {
				t.Fatalf("err = %v, want *aip.Error EINVALID or ETOOLARGE", err)
			}
			if b != nil {
				t.Fatal("a batch came with an error")
			}
		} else {
			checkBatch(t, b)
		}
		if mode%3 == fuzzRawGzip {
			return
		}
		compareWithEncodingJSON(t, data, b, err)
	})
}

// checkBatch checks the invariants of every batch: indices unique and
// covering 0..n-1, kept events with canonical UUIDs, valid types, compact
// valid JSON that the rule engine reads the same way, and distinct ids.
func checkBatch(t *testing.T, b *Batch) {
	t.Helper()
	n := len(b.Events) + len(b.Rejected)
	seen := make([]bool, n)
	mark := func(i int) {
		if i < 0 || i >= n || seen[i] {
			t.Fatalf("index %d is out of range or repeated (%d records)", i, n)
		}
		seen[i] = true
	}
	ids := make(map[string]bool)
	for _, e := range b.Events {
		mark(e.Index)
		var canon [uuidLen]byte
		if !parseUUID([]byte(e.ID), &canon) || string(canon[:]) != e.ID || ids[e.ID] {
			t.Fatalf("event %d: id %q is not a new lower-case UUID", e.Index, e.ID)
		}
		ids[e.ID] = true
		if !validType([]byte(e.Type)) {
			t.Fatalf("event %d: type %q is invalid", e.Index, e.Type)
		}
		if !json.Valid(e.Raw) {
			t.Fatalf("event %d: Raw is not valid JSON: %q", e.Index, e.Raw)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, e.Raw); err != nil || !bytes.Equal(compact.Bytes(), e.Raw) {
			t.Fatalf("event %d: Raw is not compact: %q", e.Index, e.Raw)
		}
		if int64(len(e.Raw)) > 512 {
			t.Fatalf("event %d: Raw has %d bytes, over MaxEventBytes", e.Index, len(e.Raw))
		}
		rev, err := rules.DecodeEvent(e.Raw)
		if err != nil {
			t.Fatalf("event %d: rules.DecodeEvent: %v (%q)", e.Index, err, e.Raw)
		}
		ts, ok := rev.Timestamp()
		if !ok {
			ts = 0
		}
		if rev.ID() != e.ID || rev.Type() != e.Type || ts != e.Timestamp {
			t.Fatalf("event %d: rules sees %q %q %d, ingest %q %q %d", e.Index, rev.ID(), rev.Type(), ts, e.ID, e.Type, e.Timestamp)
		}
	}
	for _, r := range b.Rejected {
		mark(r.Index)
		if r.Error == "" {
			t.Fatalf("record %d rejected without a reason", r.Index)
		}
	}
}

// compareWithEncodingJSON checks Decode against encoding/json, which
// decides what valid JSON is: an array body decodes exactly when it is
// valid JSON, with one record per element; an NDJSON body has one record
// per non-blank line, and a line that is not valid JSON is never kept.
func compareWithEncodingJSON(t *testing.T, data []byte, b *Batch, err error) {
	t.Helper()
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || len(data) >= 1<<20 {
		return
	}
	switch trimmed[0] {
	case '[':
		var elems []json.RawMessage
		valid := json.Valid(data) && json.Unmarshal(data, &elems) == nil
		if valid != (err == nil) {
			t.Fatalf("encoding/json says valid=%v, Decode says %v", valid, err)
		}
		if valid && len(b.Events)+len(b.Rejected) != len(elems) {
			t.Fatalf("%d records for %d array elements", len(b.Events)+len(b.Rejected), len(elems))
		}
	case '{':
		if err != nil {
			return // only limits or read errors fail NDJSON as a whole
		}
		var lines [][]byte
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.Trim(l, " \t\r")) > 0 {
				lines = append(lines, l)
			}
		}
		if len(lines) != len(b.Events)+len(b.Rejected) {
			t.Fatalf("%d records for %d non-blank lines", len(b.Events)+len(b.Rejected), len(lines))
		}
		for _, e := range b.Events {
			if !json.Valid(lines[e.Index]) {
				t.Fatalf("line %d kept but not valid JSON: %q", e.Index, lines[e.Index])
			}
		}
		for _, r := range b.Rejected {
			if json.Valid(lines[r.Index]) && strings.HasPrefix(r.Error, "invalid JSON") {
				t.Fatalf("line %d is valid JSON but rejected as invalid: %q", r.Index, r.Error)
			}
		}
	}
}
