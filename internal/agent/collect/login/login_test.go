package login

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip/internal/agent/collect"
)

var _ collect.Collector = (*Collector)(nil)

// utmpBytes builds one struct utmp record as glibc writes it.
func utmpBytes(typ int16, pid int32, line, user, host string, session, sec, usec int32, addr []byte) []byte {
	b := make([]byte, utmpSize)
	le := binary.NativeEndian
	le.PutUint16(b[0:], uint16(typ))
	le.PutUint32(b[4:], uint32(pid))
	copy(b[8:40], line)
	copy(b[44:76], user)
	copy(b[76:332], host)
	le.PutUint32(b[336:], uint32(session))
	le.PutUint32(b[340:], uint32(sec))
	le.PutUint32(b[344:], uint32(usec))
	copy(b[348:364], addr)
	return b
}

func TestUtmpEvent(t *testing.T) {
	v6 := []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	tests := []struct {
		name   string
		rec    []byte
		failed bool
		want   collect.Event
	}{
		{"maps an ssh login with an IPv4 peer", utmpBytes(7, 4123, "pts/0", "ubuntu", "198.51.100.7", 4, 1753158400, 250000, []byte{198, 51, 100, 7}), false,
			collect.Event{"event_type": "login", "type": "login", "user": "ubuntu", "tty": "pts/0", "pid": 4123, "session": 4,
				"src_ip": "198.51.100.7", "host": "198.51.100.7", "timestamp": int64(1753158400250)}},
		{"maps an IPv6 peer", utmpBytes(7, 10, "pts/1", "alice", "2001:db8::1", 0, 1753158400, 0, v6), false,
			collect.Event{"event_type": "login", "type": "login", "user": "alice", "tty": "pts/1", "pid": 10, "session": 0,
				"src_ip": "2001:db8::1", "host": "2001:db8::1", "timestamp": int64(1753158400000)}},
		{"falls back to the host field", utmpBytes(7, 10, "pts/1", "alice", "203.0.113.9", 0, 1753158400, 0, nil), false,
			collect.Event{"event_type": "login", "type": "login", "user": "alice", "tty": "pts/1", "pid": 10, "session": 0,
				"src_ip": "203.0.113.9", "host": "203.0.113.9", "timestamp": int64(1753158400000)}},
		{"maps a logout", utmpBytes(8, 4123, "pts/0", "", "", 0, 1753158500, 0, nil), false,
			collect.Event{"event_type": "login", "type": "logout", "tty": "pts/0", "pid": 4123, "session": 0, "timestamp": int64(1753158500000)}},
		{"maps a btmp record to a failed login", utmpBytes(6, 99, "ssh:notty", "root", "198.51.100.8", 0, 1753158600, 0, []byte{198, 51, 100, 8}), true,
			collect.Event{"event_type": "login", "type": "failed", "user": "root", "tty": "ssh:notty", "pid": 99, "session": 0,
				"src_ip": "198.51.100.8", "host": "198.51.100.8", "timestamp": int64(1753158600000)}},
		{"skips a boot record", utmpBytes(2, 0, "~", "reboot", "6.8.0", 0, 1753158000, 0, nil), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := utmpEvent(parseUtmp(tt.rec), tt.failed)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAuthLine(t *testing.T) {
	now := time.Date(2026, 7, 23, 0, 0, 0, 0, time.Local)
	ts := time.Date(2026, 7, 22, 4, 26, 40, 0, time.Local).UnixMilli()
	host := func(line string, sigid, level int, group []string, comment string, extra collect.Event) collect.Event {
		ev := collect.Event{"event_type": "host", "timestamp": ts, "group": group, "groups": group[:1], "sigid": sigid,
			"level": level, "comment": comment, "log": line, "location": "/var/log/auth.log", "hostname": "web-1"}
		for k, v := range extra {
			ev[k] = v
		}
		return ev
	}
	sshFail := []string{"syslog", "sshd", "authentication_failed"}
	invalid := []string{"syslog", "sshd", "invalid_login", "authentication_failed"}
	pamFail := []string{"pam", "syslog", "authentication_failed"}
	tests := []struct {
		name string
		line string
		want collect.Event
	}{
		{"maps a failed ssh password", "Jul 22 04:26:40 web-1 sshd[52044]: Failed password for root from 198.51.100.7 port 52044 ssh2",
			host("", 5716, 5, sshFail, "SSHD authentication failed.", collect.Event{"user": "root", "src_ip": "198.51.100.7", "pid": 52044, "program": "sshd"})},
		{"maps an invalid ssh user", "Jul 22 04:26:40 web-1 sshd[4123]: Invalid user admin from 198.51.100.7 port 52044",
			host("", 5710, 5, invalid, "Attempt to login using a non-existent user", collect.Event{"user": "admin", "src_ip": "198.51.100.7", "pid": 4123, "program": "sshd"})},
		{"maps a failed password for an invalid user", "Jul 22 04:26:40 web-1 sshd[4123]: Failed password for invalid user oracle from 2001:db8::7 port 22 ssh2",
			host("", 5710, 5, invalid, "Attempt to login using a non-existent user", collect.Event{"user": "oracle", "src_ip": "2001:db8::7", "pid": 4123, "program": "sshd"})},
		{"maps an accepted public key", "Jul 22 04:26:40 web-1 sshd[4200]: Accepted publickey for ubuntu from 198.51.100.7 port 52100 ssh2: ED25519 SHA256:abc",
			host("", 5715, 3, []string{"syslog", "sshd", "authentication_success"}, "SSHD authentication success.",
				collect.Event{"user": "ubuntu", "src_ip": "198.51.100.7", "pid": 4200, "program": "sshd"})},
		{"maps a sudo PAM failure", "Jul 22 04:26:40 web-1 sudo: pam_unix(sudo:auth): authentication failure; logname=ubuntu uid=1000 euid=0 tty=/dev/pts/0 ruser=ubuntu rhost=  user=ubuntu",
			host("", 5503, 5, pamFail, "PAM: User login failed.", collect.Event{"user": "ubuntu", "program": "sudo"})},
		{"maps an sshd PAM failure with its remote host", "Jul 22 04:26:40 web-1 sshd[881]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.9  user=root",
			host("", 5503, 5, pamFail, "PAM: User login failed.", collect.Event{"user": "root", "src_ip": "198.51.100.9", "pid": 881, "program": "sshd"})},
		{"maps a sudo command to root", "Jul 22 04:26:40 web-1 sudo:   ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; COMMAND=/bin/ls -la",
			host("", 5402, 3, []string{"syslog", "sudo"}, "Successful sudo to ROOT executed.", collect.Event{"user": "ubuntu", "command": "/bin/ls -la", "program": "sudo"})},
		{"maps sudo password failures", "Jul 22 04:26:40 web-1 sudo:   ubuntu : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; COMMAND=/bin/ls",
			host("", 5401, 5, []string{"syslog", "sudo", "authentication_failed"}, "Three failed attempts to run sudo.", collect.Event{"user": "ubuntu", "program": "sudo"})},
		{"maps a failed su", "Jul 22 04:26:40 web-1 su[3001]: FAILED SU (to root) alice on pts/1",
			host("", 5301, 5, []string{"syslog", "su", "authentication_failed"}, "User missed the password to change UID (user id).",
				collect.Event{"user": "alice", "dst_user": "root", "pid": 3001, "program": "su"})},
		{"maps a failed console login", "Jul 22 04:26:40 web-1 login[700]: FAILED LOGIN (1) on '/dev/tty1' FOR 'root', Authentication failure",
			host("", 2501, 5, []string{"syslog", "login", "authentication_failed"}, "User authentication failure.", collect.Event{"user": "root", "pid": 700, "program": "login"})},
		{"maps a new user", "Jul 22 04:26:40 web-1 useradd[2211]: new user: name=backdoor, UID=1001, GID=1001, home=/home/backdoor, shell=/bin/bash",
			host("", 5902, 8, []string{"adduser", "syslog"}, "New user added to the system.", collect.Event{"user": "backdoor", "pid": 2211, "program": "useradd"})},
		{"parses an RFC 3339 header", "2026-07-22T04:26:40.500+00:00 web-1 sshd[1]: Invalid user admin from 198.51.100.7 port 1",
			host("", 5710, 5, invalid, "Attempt to login using a non-existent user",
				collect.Event{"user": "admin", "src_ip": "198.51.100.7", "pid": 1, "program": "sshd", "timestamp": time.Date(2026, 7, 22, 4, 26, 40, 5e8, time.UTC).UnixMilli()})},
		{"ignores an unknown message", "Jul 22 04:26:40 web-1 sshd[1]: Connection closed by 198.51.100.7 port 1 [preauth]", nil},
		{"ignores a line without a syslog header", "garbage", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want != nil {
				tt.want["log"] = tt.line
			}
			got, ok := parseAuthLine(tt.line, "/var/log/auth.log", now)
			if ok != (tt.want != nil) {
				t.Fatalf("ok = %v, want %v", ok, tt.want != nil)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSyslogTimeDatesDecemberLinesInJanuary(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 5, 0, 0, time.Local)
	got := syslogTime("Dec 31 23:59:59", "", now)
	want := time.Date(2026, 12, 31, 23, 59, 59, 0, time.Local)
	if !got.Equal(want) {
		t.Errorf("syslogTime = %v, want %v", got, want)
	}
}

type recorder struct {
	mu  sync.Mutex
	evs []collect.Event
}

func (r *recorder) emit(ev collect.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
}

// waitFor waits until n events arrived and returns them.
func (r *recorder) waitFor(t *testing.T, n int) []collect.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.evs) >= n {
			evs := append([]collect.Event(nil), r.evs...)
			r.mu.Unlock()
			return evs
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("got %d events, want %d: %v", len(r.evs), n, r.evs)
	return nil
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func kinds(evs []collect.Event) []string {
	var out []string
	for _, ev := range evs {
		kind, _ := ev["type"].(string)
		if kind == "" {
			kind = ev["event_type"].(string)
		}
		out = append(out, kind+":"+ev["user"].(string))
	}
	return out
}

func TestRunFollowsFilesAndRotation(t *testing.T) {
	dir := t.TempDir()
	wtmp, btmp, auth := filepath.Join(dir, "wtmp"), filepath.Join(dir, "btmp"), filepath.Join(dir, "auth.log")
	// History present at start must not be reported.
	appendFile(t, wtmp, utmpBytes(7, 1, "pts/0", "old", "", 0, 1, 0, nil))
	appendFile(t, auth, []byte("Jul 22 04:26:40 web-1 sshd[1]: Invalid user old from 198.51.100.1 port 1\n"))
	c := New(Options{WtmpPath: wtmp, BtmpPath: btmp, AuthLogPath: auth, PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var rec recorder
	go func() { done <- c.Run(ctx, rec.emit) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	time.Sleep(100 * time.Millisecond)

	appendFile(t, wtmp, utmpBytes(7, 2, "pts/1", "ubuntu", "", 0, 2, 0, []byte{198, 51, 100, 7}))
	rec.waitFor(t, 1)
	appendFile(t, btmp, utmpBytes(6, 3, "ssh:notty", "root", "", 0, 3, 0, nil)) // btmp created after start: read from 0
	rec.waitFor(t, 2)
	// A half-written line waits for its newline.
	appendFile(t, auth, []byte("Jul 22 04:26:40 web-1 sshd[1]: Invalid user admin from 198.51.100.7"))
	time.Sleep(100 * time.Millisecond)
	appendFile(t, auth, []byte(" port 52044\n"))
	rec.waitFor(t, 3)
	// Rotation: a new file replaces the old one and is read from its start.
	if err := os.Rename(wtmp, wtmp+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, wtmp, utmpBytes(7, 4, "pts/2", "alice", "", 0, 4, 0, nil))
	rec.waitFor(t, 4)
	// Truncation: the file restarts from 0.
	if err := os.Truncate(auth, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	appendFile(t, auth, []byte("Jul 22 04:26:40 web-1 sshd[1]: Failed password for bob from 198.51.100.7 port 1 ssh2\n"))
	got := kinds(rec.waitFor(t, 5))
	want := []string{"login:ubuntu", "failed:root", "host:admin", "login:alice", "host:bob"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestRunResumesFromSavedState(t *testing.T) {
	dir := t.TempDir()
	wtmp, state := filepath.Join(dir, "wtmp"), filepath.Join(dir, "state.json")
	opts := Options{WtmpPath: wtmp, BtmpPath: filepath.Join(dir, "btmp"), AuthLogPath: filepath.Join(dir, "auth.log"),
		StatePath: state, PollInterval: 20 * time.Millisecond}
	appendFile(t, wtmp, utmpBytes(7, 1, "pts/0", "old", "", 0, 1, 0, nil))

	run := func(write func()) []string {
		ctx, cancel := context.WithCancel(context.Background())
		var rec recorder
		done := make(chan error, 1)
		go func() { done <- New(opts).Run(ctx, rec.emit) }()
		time.Sleep(100 * time.Millisecond)
		write()
		time.Sleep(150 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return kinds(rec.evs)
	}
	got := run(func() { appendFile(t, wtmp, utmpBytes(7, 2, "pts/1", "first", "", 0, 2, 0, nil)) })
	if diff := cmp.Diff([]string{"login:first"}, got); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	// Written while the agent was down: reported by the next run.
	appendFile(t, wtmp, utmpBytes(7, 3, "pts/2", "offline", "", 0, 3, 0, nil))
	got = run(func() {})
	if diff := cmp.Diff([]string{"login:offline"}, got); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}
}
