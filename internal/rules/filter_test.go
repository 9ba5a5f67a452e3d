package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func mustEvent(t testing.TB, js string) *Event {
	t.Helper()
	ev, err := DecodeEvent([]byte(js))
	if err != nil {
		t.Fatalf("DecodeEvent(%s): %v", js, err)
	}
	return ev
}

func mustCompile(t testing.TB, src string) *Filter {
	t.Helper()
	f, err := Compile(src)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	return f
}

func TestCompileAcceptsEveryConstruct(t *testing.T) {
	for _, src := range []string{
		`user = "root"`,
		`user = 'root'`,
		`user="root"`,
		`user != "root"`,
		`exe starts_with "/usr/"`,
		`exe ends_with "/sh"`,
		`arguments like "-n"`,
		`arguments contains "-n"`,
		`arguments LIKE "-n"`,
		`pid < 10`, `pid <= 10`, `pid > 10`, `pid >= 10`, `pid > -1.5e3`, `pid < "10"`,
		`port in (22, "80", 'x')`,
		`tty = null`, `tty != NULL`,
		`not user = "root"`,
		`NOT NOT user = "root"`,
		`a = 1 and b = 2 or c = 3`,
		`a = 1 AND b = 2 Or c = 3`,
		`(a = 1 or b = 2) and (c = 3 or (d = 4))`,
		`host_metadata.hostname = "web-1"`,
		`_id = "x"`,
		"user\u00a0=\u00a0\"root\"", // no-break spaces pasted from a web page
		`s = "a\"b\\c\'d\/e\n\t\r\u00e9"`,
		`s = 'it\'s'`,
		`s = "“quoted” inside straight quotes is fine"`,
	} {
		if _, err := Compile(src); err != nil {
			t.Errorf("Compile(%q): %v", src, err)
		}
	}
}

func TestCompileRejectsWithPosition(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantPos int
		wantMsg string
	}{
		{"rejects smart double quotes", `command =“sudo”`, 10, "smart quote “"},
		{"rejects smart single quotes", `user = ‘root’`, 8, "smart quote ‘"},
		{"counts characters not bytes", `a = "é" and b = ”x”`, 17, "smart quote ”"},
		{"rejects an empty filter", "  ", 3, "empty"},
		{"rejects an unclosed parenthesis", `(a = 1 or b = 2`, 1, "never closed"},
		{"rejects a stray closing parenthesis", `a = 1)`, 6, "without a matching ("},
		{"rejects trailing garbage", `a = 1 b = 2`, 7, "after a complete condition"},
		{"rejects a trailing operator", `a = 1 and`, 10, "found the end of the filter"},
		{"rejects a missing value", `a =`, 4, "expected a quoted string"},
		{"rejects an unquoted value", `user = root`, 8, "values need quotes"},
		{"rejects an unknown operator", `user is "root"`, 6, "expected an operator"},
		{"rejects a lone bang", `user ! "root"`, 6, "did you mean '!='"},
		{"rejects double equals", `user == "root"`, 7, "expected a quoted string"},
		{"rejects an unterminated string", `user = "root`, 8, "unterminated string"},
		{"rejects an unknown escape", `exe = "C:\Windows"`, 10, `unknown escape \W`},
		{"rejects a bad unicode escape", `exe = "\u12"`, 8, `invalid \u escape`},
		{"rejects a numeric operator with text", `pid > "abc"`, 5, "compares numbers"},
		{"rejects starts_with null", `tty starts_with null`, 5, "cannot compare with null"},
		{"rejects an empty in list", `a in ()`, 7, "expected a quoted string"},
		{"rejects in without parentheses", `a in "x"`, 6, "expected ( after in"},
		{"rejects an unclosed in list", `a in ("x"`, 3, "never closed"},
		{"rejects a bad number", `pid = 12abc`, 7, "invalid number"},
		{"rejects a field ending with a dot", `user. = "x"`, 6, "ends with a dot"},
		{"rejects a keyword as a condition", `and = 1`, 1, "expected a condition"},
		{"rejects an unexpected character", `user = "a" & b = "c"`, 12, `unexpected character '&'`},
		{"rejects deep nesting", strings.Repeat("(", 101) + "a = 1" + strings.Repeat(")", 101), 101, "nests deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) = %v, want a *SyntaxError", tt.src, err)
			}
			if se.Pos != tt.wantPos || !strings.Contains(se.Msg, tt.wantMsg) {
				t.Errorf("Compile(%q) = position %d %q, want position %d containing %q", tt.src, se.Pos, se.Msg, tt.wantPos, tt.wantMsg)
			}
			if got := []rune(tt.src); se.Pos-1 > len(got) {
				t.Errorf("position %d is past the end of %q", se.Pos, tt.src)
			}
			if aip.ErrorCode(err) != aip.EINVALID {
				t.Errorf("ErrorCode = %q, want %q", aip.ErrorCode(err), aip.EINVALID)
			}
			if msg := aip.ErrorMessage(err); !strings.Contains(msg, "position") {
				t.Errorf("client message %q does not name the position", msg)
			}
		})
	}
}

func TestSyntaxErrorOffsetIsBytes(t *testing.T) {
	_, err := Compile(`a = "é" and b = ”x”`)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *SyntaxError", err)
	}
	if want := strings.Index(`a = "é" and b = ”x”`, "”"); se.Offset != want {
		t.Errorf("Offset = %d, want %d", se.Offset, want)
	}
}

const semEvent = `{
	"_id": "e1", "event_type": "audit", "timestamp": 1690000000000,
	"user": "root", "exe": "/usr/bin/sudo", "command": "sudo",
	"arguments": "sudo -n sysctl vm.swappiness", "args": ["sudo", "-n", "sysctl"],
	"pid": 4242, "ppid": 1, "session": 4294967295, "auid": "4294967295", "sigid": 5902,
	"ratio": 0.5, "big": 12345678901234567890, "neg": -7, "success": true, "tty": null,
	"group": ["wheel", "adm"], "empty": [], "src_ip": "10.1.242.7", "dst_ip": "203.0.113.9", "dst_port": 443,
	"host_metadata": {"hostname": "web-1", "kernel": "5.10"},
	"provider_metadata": {"account_id": "123456789012", "cloud_provider": "aws"},
	"parent_metadata": {"exe": "/usr/bin/bash", "pid": 1187},
	"network_metadata": [{"private_ip_address": ["10.0.0.5", "10.0.0.6"]}, {"private_ip_address": ["10.0.0.7"]}],
	"obj": {"a": {"b": "deep"}},
	"dotted.key": "flat",
	"quote": "say \"hi\"\n", "uni": "caf\u00e9", "emoji": "\ud83d\ude00"
}`

func TestFilterSemantics(t *testing.T) {
	ev := mustEvent(t, semEvent)
	tests := []struct {
		filter string
		want   bool
	}{
		// equality is exact and case-sensitive
		{`user = "root"`, true},
		{`user = "Root"`, false},
		{`user = 'root'`, true},
		{`user != "root"`, false},
		{`user != "alice"`, true},
		// string operators
		{`exe starts_with "/usr/"`, true},
		{`exe starts_with "/bin/"`, false},
		{`exe ends_with "/sudo"`, true},
		{`exe ends_with "/su"`, false},
		{`arguments like "vm.swappiness"`, true},
		{`arguments contains "sysctl -n"`, false},
		{`arguments like ""`, true},
		// numbers and quoted numbers
		{`pid = 4242`, true},
		{`pid = "4242"`, true},
		{`pid = '4242.0'`, true},
		{`pid = 4242.5`, false},
		{`session = '4294967295'`, true},
		{`auid = 4294967295`, true},
		{`sigid = "5902"`, true},
		{`sigid = "05902"`, true},
		{`ratio = 0.5`, true},
		{`ratio = "5e-1"`, true},
		{`neg = -7`, true},
		{`big = 12345678901234567890`, true},
		{`pid starts_with "42"`, true},
		{`pid > 4000`, true},
		{`pid > 4242`, false},
		{`pid >= 4242`, true},
		{`pid < 5000`, true},
		{`pid <= 4241`, false},
		{`auid > 4294967294`, true},
		{`neg < 0`, true},
		{`ratio < 1`, true},
		{`user > 1`, false},
		{`success = "true"`, true},
		{`success = true_not_a_literal`, false}, // never compiles: see below
		// missing fields: every operator false except != and = null
		{`nosuch = "x"`, false},
		{`nosuch != "x"`, true},
		{`nosuch = null`, true},
		{`nosuch != null`, false},
		{`nosuch starts_with "x"`, false},
		{`nosuch like ""`, false},
		{`nosuch < 1`, false},
		{`nosuch in ("x", "y")`, false},
		{`not nosuch = "x"`, true},
		// null values
		{`tty = null`, true},
		{`tty != null`, false},
		{`tty = "null"`, false},
		{`user = null`, false},
		{`user != null`, true},
		// arrays: any element
		{`group = "adm"`, true},
		{`group != "adm"`, false},
		{`group != "sudo"`, true},
		{`args = "-n"`, true},
		{`group starts_with "whe"`, true},
		{`empty = null`, false},
		{`empty != "x"`, true},
		{`empty = "x"`, false},
		// in
		{`command in ("su", "sudo")`, true},
		{`command in ("su", "doas")`, false},
		{`pid in ("1", 4242)`, true},
		{`tty in (null, "pts/0")`, true},
		{`nosuch in (null)`, true},
		// not, and, or, precedence not > and > or
		{`not user = "root"`, false},
		{`not not user = "root"`, true},
		{`user = "x" and pid = 1 or command = "sudo"`, true},
		{`command = "sudo" or user = "x" and pid = 1`, true},
		{`user = "x" and (pid = 1 or command = "sudo")`, false},
		{`not user = "x" and command = "sudo"`, true},
		{`not (user = "root" and command = "sudo")`, false},
		{`user = "root" AND command = "sudo" OR user = "x"`, true},
		// aliases
		{`ip = "10.1.242.7"`, true},
		{`ip = "203.0.113.9"`, true},
		{`ip starts_with "10.1.242"`, true},
		{`ip != "203.0.113.9"`, false},
		{`ip != "192.0.2.1"`, true},
		{`port = 443`, true},
		{`port = "443"`, true},
		{`agent = "web-1"`, true},
		{`hostname = "web-1"`, true},
		{`accountId = "123456789012"`, true},
		{`account_id = "123456789012"`, true},
		{`cloudProvider = "aws"`, true},
		// nested paths
		{`host_metadata.hostname = "web-1"`, true},
		{`parent_metadata.exe ends_with "bash"`, true},
		{`parent_metadata.pid = 1187`, true},
		{`obj.a.b = "deep"`, true},
		{`obj.a = "deep"`, false},
		{`obj.a != null`, true},
		{`network_metadata.private_ip_address = "10.0.0.7"`, true},
		{`dotted.key = "flat"`, true},
		// escapes
		{`quote = "say \"hi\"\n"`, true},
		{`quote like '"hi"'`, true},
		{`uni = "café"`, true},
		{`uni = "caf\u00e9"`, true},
		{`emoji = "\ud83d\ude00"`, true},
		{`emoji = "😀"`, true},
	}
	for _, tt := range tests {
		f, err := Compile(tt.filter)
		if tt.filter == `success = true_not_a_literal` {
			if err == nil {
				t.Errorf("Compile(%q) succeeded, want an error for a bare word", tt.filter)
			}
			continue
		}
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.filter, err)
			continue
		}
		if got := f.Match(ev); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestCloudTrailFieldsResolveUnderMiscellaneous(t *testing.T) {
	ev := mustEvent(t, `{"_id":"c1","event_type":"cloudtrail","user":"ryan","miscellaneous":{"eventName":"PutObject",
		"eventSource":"s3.amazonaws.com","requestParameters":{"bucketName":"xx"},"userIdentity":{"arn":"arn:aws:iam::1:user/ryan"}}}`)
	for _, tt := range []struct {
		filter string
		want   bool
	}{
		{`eventName = "PutObject"`, true},
		{`eventSource = "s3.amazonaws.com"`, true},
		{`bucketName = "xx"`, true},
		{`userIdentity.arn ends_with "user/ryan"`, true},
		{`miscellaneous.eventName = "PutObject"`, true},
		{`user = "ryan"`, true},
		{`eventName = "GetObject"`, false},
	} {
		if got := mustCompile(t, tt.filter).Match(ev); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.filter, got, tt.want)
		}
	}
	// Without a miscellaneous object the fallback is never read.
	plain := mustEvent(t, `{"event_type":"audit","eventName":"x"}`)
	if !mustCompile(t, `eventName = "x"`).Match(plain) {
		t.Error("a top-level eventName did not match")
	}
}

func TestOrMergePreservesSemantics(t *testing.T) {
	// The compiler merges or-ed comparisons of one field; the result must
	// equal the unmerged meaning, negations and other fields included.
	ev := mustEvent(t, `{"ip":"172.20.1.1","port":0,"user":"bob"}`)
	for _, tt := range []struct {
		filter string
		want   bool
	}{
		{`ip starts_with "10." or ip starts_with "172.20." or ip starts_with "fd"`, true},
		{`ip starts_with "10." or ip starts_with "192.168."`, false},
		{`user = "alice" or user = "bob"`, true},
		{`user = "alice" or user != "bob"`, false},
		{`user = "alice" or port = 0 or user = "carol"`, true},
		{`user = "alice" or user like "o" or user = "carol"`, true},
		{`(user = "alice" or user = "carol") or (ip = "x" or ip ends_with ".1")`, true},
		{`user = null or user = "x"`, false},
	} {
		if got := mustCompile(t, tt.filter).Match(ev); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestFilterString(t *testing.T) {
	src := `user = "root"`
	if got := mustCompile(t, src).String(); got != src {
		t.Errorf("String() = %q, want %q", got, src)
	}
}

func TestFilterOnEmptyEvent(t *testing.T) {
	var ev Event
	got := []bool{
		mustCompile(t, `user = "x"`).Match(&ev),
		mustCompile(t, `user != "x"`).Match(&ev),
		mustCompile(t, `user = null`).Match(&ev),
	}
	if diff := cmp.Diff([]bool{false, true, true}, got); diff != "" {
		t.Errorf("zero Event (-want +got):\n%s", diff)
	}
}
