package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzBuild checks that no recipient, subject or body, as an API client
// may choose them, can add or change a header or smuggle SMTP commands: a
// value is refused, or the message has exactly the headers we write, with
// the values given.
func FuzzBuild(f *testing.F) {
	f.Add("bob@example.test", "Your aip invitation", "Hello\n.\nQUIT\n")
	f.Add("Bob <bob@example.test>", "Grüße – willkommen", "line\r\n.leading dot\r\n")
	f.Add("bob@example.test\r\nBcc: eve@example.test", "hi", "body")
	f.Add("bob@example.test", "hi\nBcc: eve@example.test", "body")
	f.Add(`"a\"b" <a@example.test>`, "=?utf-8?q?x?=", strings.Repeat("y", 2000))
	f.Add("=?utf-8?q?Eve=0D=0ABcc:_x?= <bob@example.test>", "\x00\x7f", "\r")
	f.Add("bob@example.test", " ", "")
	f.Add("bob@example.test", "\xf8 ", "")
	m, err := NewSMTP(Config{Host: "127.0.0.1", From: "aip <aip@example.test>"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, to, subject, body string) {
		rcpt, msg, err := m.build(to, subject, body)
		if err != nil {
			return
		}
		if strings.ContainsAny(rcpt.Address, "\r\n") {
			t.Fatalf("envelope recipient %q holds a line break", rcpt.Address)
		}
		parsed, err := netmail.ReadMessage(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("built message does not parse: %v\n%q", err, msg)
		}
		var names []string
		for k := range parsed.Header {
			names = append(names, k)
		}
		slices.Sort(names)
		want := []string{"Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Fatalf("headers (-want +got):\n%s\n%q", diff, msg)
		}
		for k, v := range parsed.Header {
			if len(v) != 1 {
				t.Fatalf("header %s appears %d times", k, len(v))
			}
		}
		gotTo, err := netmail.ParseAddress(parsed.Header.Get("To"))
		if err != nil || gotTo.Address != rcpt.Address {
			t.Fatalf("To header %q (%v), want address %q", parsed.Header.Get("To"), err, rcpt.Address)
		}
		gotSubject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
		// Header readers trim surrounding blanks; "=?" in plain text may
		// legitimately decode to something else.
		if err == nil && gotSubject != subject && gotSubject != strings.Trim(subject, " \t") && !strings.Contains(subject, "=?") {
			t.Fatalf("subject %q came out as %q", subject, gotSubject)
		}
		decoded, err := io.ReadAll(quotedprintable.NewReader(parsed.Body))
		if err != nil {
			t.Fatalf("body does not decode: %v", err)
		}
		if want := strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"); string(decoded) != want && !strings.Contains(body, "\r") {
			t.Fatalf("body %q came out as %q", body, decoded)
		}
	})
}
