package login

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aipsec/aip/internal/agent/collect"
)

// syslogLine is the header of one auth-log line: the classic BSD form
// ("Jul 22 04:26:40 web-1 sshd[4123]: msg") or the RFC 3339 form newer
// rsyslog defaults write ("2026-07-22T04:26:40.123456+00:00 web-1 ...").
var syslogLine = regexp.MustCompile(
	`^(?:([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)|(\d{4}-\d\d-\d\dT\S+))\s+(\S+)\s+([^\s\[:]+)(?:\[(\d+)\])?:\s?(.*)$`)

// signature is one auth-log signature. The ids, levels, groups and
// comments are modelled on OSSEC's syslog/sshd/pam/sudo/su rules so that
// rules written for OSSEC-style host events match; they are not copied
// from OSSEC's rule files and cover only the common messages.
type signature struct {
	prog    string // program name ("" = any)
	re      *regexp.Regexp
	sigid   int
	level   int
	group   []string
	comment string
}

var signatures = []signature{
	{"sshd", regexp.MustCompile(`^Failed \S+ for invalid user (?P<user>\S*) from (?P<src_ip>\S+)`), 5710, 5,
		[]string{"syslog", "sshd", "invalid_login", "authentication_failed"}, "Attempt to login using a non-existent user"},
	{"sshd", regexp.MustCompile(`^Invalid user (?P<user>\S*) from (?P<src_ip>\S+)`), 5710, 5,
		[]string{"syslog", "sshd", "invalid_login", "authentication_failed"}, "Attempt to login using a non-existent user"},
	{"sshd", regexp.MustCompile(`^Failed \S+ for (?P<user>\S+) from (?P<src_ip>\S+)`), 5716, 5,
		[]string{"syslog", "sshd", "authentication_failed"}, "SSHD authentication failed."},
	{"sshd", regexp.MustCompile(`^error: maximum authentication attempts exceeded for (?:invalid user )?(?P<user>\S+) from (?P<src_ip>\S+)`), 5758, 8,
		[]string{"syslog", "sshd", "authentication_failed"}, "Maximum authentication attempts exceeded."},
	{"sshd", regexp.MustCompile(`^Accepted \S+ for (?P<user>\S+) from (?P<src_ip>\S+)`), 5715, 3,
		[]string{"syslog", "sshd", "authentication_success"}, "SSHD authentication success."},
	{"", regexp.MustCompile(`^pam_unix\(\S+:auth\): authentication failure;.*?(?:rhost=(?P<src_ip>\S*))?\s*(?:user=(?P<user>\S+))?\s*$`), 5503, 5,
		[]string{"pam", "syslog", "authentication_failed"}, "PAM: User login failed."},
	{"", regexp.MustCompile(`^pam_unix\(\S+:session\): session opened for user (?P<user>[^\s(]+)`), 5501, 3,
		[]string{"pam", "syslog", "authentication_success"}, "PAM: Login session opened."},
	{"", regexp.MustCompile(`^pam_unix\(\S+:session\): session closed for user (?P<user>[^\s(]+)`), 5502, 3,
		[]string{"pam", "syslog"}, "PAM: Login session closed."},
	{"sudo", regexp.MustCompile(`^\s*(?P<user>\S+) : \d+ incorrect password attempts? ;`), 5401, 5,
		[]string{"syslog", "sudo", "authentication_failed"}, "Three failed attempts to run sudo."},
	{"sudo", regexp.MustCompile(`^\s*(?P<user>\S+) : .*USER=root ; COMMAND=(?P<command>.*)$`), 5402, 3,
		[]string{"syslog", "sudo"}, "Successful sudo to ROOT executed."},
	{"sudo", regexp.MustCompile(`^\s*(?P<user>\S+) : .*COMMAND=(?P<command>.*)$`), 5407, 3,
		[]string{"syslog", "sudo"}, "Successful sudo executed."},
	{"su", regexp.MustCompile(`^FAILED SU \(to (?P<dst_user>[^)]+)\) (?P<user>\S+)`), 5301, 5,
		[]string{"syslog", "su", "authentication_failed"}, "User missed the password to change UID (user id)."},
	{"su", regexp.MustCompile(`^(?:\(to (?P<dst_user>[^)]+)\) (?P<user>\S+) on|Successful su for (?P<dst_user2>\S+) by (?P<user2>\S+))`), 5303, 3,
		[]string{"syslog", "su", "authentication_success"}, "User successfully changed UID."},
	{"login", regexp.MustCompile(`^FAILED LOGIN \(\d+\) on '[^']*' FOR '(?P<user>[^']*)'`), 2501, 5,
		[]string{"syslog", "login", "authentication_failed"}, "User authentication failure."},
	{"", regexp.MustCompile(`^new user: name=(?P<user>[^,\s]+)`), 5902, 8,
		[]string{"adduser", "syslog"}, "New user added to the system."},
	{"", regexp.MustCompile(`^new group: name=(?P<group_name>[^,\s]+)`), 5901, 8,
		[]string{"adduser", "syslog"}, "New group added to the system."},
}

// parseAuthLine maps one auth-log line to a host signature event; ok is
// false for lines no signature knows. now dates lines whose timestamp has
// no year; location is the log file. Named submatches of a signature
// become fields (a trailing "2" marks an alternative spelling).
func parseAuthLine(line, location string, now time.Time) (collect.Event, bool) {
	m := syslogLine.FindStringSubmatch(line)
	if m == nil {
		return nil, false
	}
	prog, msg := m[4], m[6]
	for _, s := range signatures {
		if s.prog != "" && s.prog != prog {
			continue
		}
		sm := s.re.FindStringSubmatch(msg)
		if sm == nil {
			continue
		}
		ev := collect.Event{
			"event_type": "host",
			"timestamp":  syslogTime(m[1], m[2], now).UnixMilli(),
			"group":      s.group,
			"groups":     s.group[:1],
			"sigid":      s.sigid,
			"level":      s.level,
			"comment":    s.comment,
			"log":        line,
			"location":   location,
			"hostname":   m[3],
			"program":    prog,
		}
		if m[5] != "" {
			if pid, err := strconv.Atoi(m[5]); err == nil {
				ev["pid"] = pid
			}
		}
		for i, name := range s.re.SubexpNames() {
			v := sm[i]
			if name == "" || v == "" {
				continue
			}
			name = strings.TrimSuffix(name, "2")
			if name == "src_ip" {
				a, err := netip.ParseAddr(v)
				if err != nil {
					continue // rhost may be a host name
				}
				v = a.String()
			}
			ev[name] = v
		}
		return ev, true
	}
	return nil, false
}

// syslogTime parses the header's time; the classic form has no year, so
// the year is now's, or the previous one when that would put the line
// more than a day in the future (a December line read in January).
func syslogTime(classic, rfc3339 string, now time.Time) time.Time {
	if rfc3339 != "" {
		if t, err := time.Parse(time.RFC3339Nano, rfc3339); err == nil {
			return t
		}
		return now
	}
	t, err := time.ParseInLocation("Jan _2 15:04:05", classic, time.Local)
	if err != nil {
		return now
	}
	t = t.AddDate(now.Year(), 0, 0)
	if t.After(now.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t
}
