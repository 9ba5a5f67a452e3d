package login

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseAuthLine feeds the auth-log parser arbitrary lines: user names
// and addresses in failed-login lines are chosen by whoever attacks the
// host, so the parser must never panic and must emit valid JSON.
func FuzzParseAuthLine(f *testing.F) {
	for _, seed := range []string{
		"Jul 22 04:26:40 web-1 sshd[4123]: Failed password for root from 198.51.100.7 port 52044 ssh2",
		"Jul 22 04:26:40 web-1 sshd[4123]: Invalid user admin from 198.51.100.7 port 52044",
		"2026-12-07T00:01:02.123456+00:00 web-1 sudo:   ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; COMMAND=/usr/bin/id",
		"Jul 22 04:26:40 web-1 sshd[4123]: Failed password for invalid user \"x y\" from ::1 port 1 ssh2",
		"", "Jul", "Jul 22 04:26:40 web-1 sshd[: Failed",
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line string) {
		ev, ok := parseAuthLine(line, "/var/log/auth.log", now)
		if !ok {
			return
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("event of %q does not encode: %v", line, err)
		}
		if ev["event_type"] != "host" {
			t.Errorf("event_type = %v, want host", ev["event_type"])
		}
	})
}

// FuzzParseUtmp feeds the utmp decoder arbitrary records.
func FuzzParseUtmp(f *testing.F) {
	f.Add(make([]byte, utmpSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < utmpSize {
			return
		}
		r := parseUtmp(b[:utmpSize])
		if ev, ok := utmpEvent(r, false); ok {
			if _, err := json.Marshal(ev); err != nil {
				t.Fatalf("event does not encode: %v", err)
			}
		}
	})
}
