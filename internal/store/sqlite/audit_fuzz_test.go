package sqlite

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
)

// FuzzAuditContext checks that the store accepts exactly the contexts the
// API can encode when it lists them: one JSON object as encoding/json reads
// it, nested at most maxContextDepth deep. A stored context encoding/json
// rejected would fail every listing that includes it.
func FuzzAuditContext(f *testing.F) {
	for _, seed := range []string{
		`{}`, ` {"a":1} `, `{"a":[1,2,{"b":null}],"c":"\u00e9\ud83d\ude00"}`, `[]`, `"x"`, `null`, `1`, ``,
		`{"a":}`, `{"a":1} {}`, `{"a":1}]`, "{}\x00", "{\"a\":\"\x00\"}", "{\"a\":\"\x1f\"}", "{\"a\":\"\xff\"}",
		`{"a":"\ud800"}`, `{"a":01}`, `{"a":-0}`, `{"a":1e999}`, `{"a":.5}`, `{'a':1}`, `{a:1}`, `{"a":1,}`,
		"\ufeff{}", "{}\f", "\v{}", `{"a":NaN}`, `{"a":Infinity}`, `{"a":0x10}`, `{"a":"\x"}`, `{/*c*/}`,
		`{"a":` + strings.Repeat("[", 998) + strings.Repeat("]", 998) + `}`,
		`{"a":` + strings.Repeat("[", 1500) + strings.Repeat("]", 1500) + `}`,
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	db := openTemp(f)
	org := &aip.Organization{Name: "fuzz"}
	if err := db.CreateOrganization(ctx, org); err != nil {
		f.Fatal(err)
	}
	at := time.Now()
	f.Fuzz(func(t *testing.T, c string) {
		at = at.Add(time.Millisecond)
		rec := &aip.AuditRecord{ID: aip.NewUUID(), OrganizationID: org.ID, EventTime: aip.Time{Time: at},
			Context: json.RawMessage(c)}
		err := db.CreateAuditRecords(ctx, []*aip.AuditRecord{rec})
		var obj map[string]json.RawMessage
		isObject := json.Unmarshal([]byte(c), &obj) == nil && obj != nil
		switch {
		case c == "":
			if err != nil {
				t.Fatalf("record without context: %v", err)
			}
		case isObject && depth(c) > maxContextDepth:
			if aip.ErrorCode(err) != aip.EINVALID {
				t.Fatalf("context nested %d deep: store says %v, want EINVALID", depth(c), err)
			}
		case isObject && err != nil:
			t.Fatalf("context %q is a JSON object, store says %v", c, err)
		case !isObject && aip.ErrorCode(err) != aip.EINVALID:
			t.Fatalf("context %q is not a JSON object, store says %v, want EINVALID", c, err)
		}
		if err != nil {
			return
		}
		got, err := db.ListAuditRecords(ctx, aip.AuditFilter{OrgID: org.ID, Limit: 1})
		if err != nil || len(got) != 1 || got[0].ID != rec.ID {
			t.Fatalf("listing after storing %q: %v, %v", c, got, err)
		}
		if string(got[0].Context) != c {
			t.Errorf("context round-tripped as %q, want %q", got[0].Context, c)
		}
		if _, err := json.Marshal(got[0]); err != nil {
			t.Errorf("stored context %q does not encode: %v", c, err)
		}
	})
}

// depth is how deeply the valid JSON text c nests arrays and objects.
func depth(c string) int {
	d, deepest, inString, escaped := 0, 0, false, false
	for i := 0; i < len(c); i++ {
		switch ch := c[i]; {
		case inString && escaped:
			escaped = false
		case inString && ch == '\\':
			escaped = true
		case inString && ch == '"':
			inString = false
		case inString:
		case ch == '"':
			inString = true
		case ch == '{' || ch == '[':
			d++
			deepest = max(deepest, d)
		case ch == '}' || ch == ']':
			d--
		}
	}
	return deepest
}
