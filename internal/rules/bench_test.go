package rules

import (
	"fmt"
	"strings"
	"testing"
)

// benchRules returns 100 rules in the spirit of a Base Rule Set plus
// customer rules: Host rules keyed on commands, executables, arguments,
// syscalls, log signatures, logins and connections, each with its own
// suppressions; File rules over system and secret paths; ThreatIntel rules.
func benchRules() []Rule {
	var rs []Rule
	add := func(t RuleType, name, filter string, aggs []string, supp ...string) *Rule {
		rs = append(rs, Rule{
			ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", len(rs)), RulesetID: "rs-base",
			Type: t, Name: name, Title: name + ": {{exe}} run by {{user}} with {{arguments}}",
			Severity: 1 + len(rs)%3, Filter: filter, Window: 3600, Threshold: 1 + len(rs)%2,
			AggregateFields: aggs, Suppressions: supp, Enabled: true,
		})
		return &rs[len(rs)-1]
	}
	host := []string{"user", "exe", "arguments"}
	cmds := []string{"sysctl", "insmod", "rmmod", "modprobe", "iptables", "tcpdump", "nmap", "useradd",
		"userdel", "usermod", "groupadd", "passwd", "chpasswd", "crontab", "at", "visudo", "setenforce",
		"chattr", "history", "shred", "wget", "curl", "ftp", "tftp", "telnet", "gcc", "make", "strace"}
	for _, c := range cmds {
		add(TypeHost, "User: "+c, fmt.Sprintf("command = %q and type = \"start\"", c), host,
			`user = "root" and cwd starts_with "/opt/chef"`,
			`arguments like "--version" or arguments like "--help"`)
	}
	add(TypeHost, "Privilege escalations", `(command = "sudo" or command = "su") and user != "root" and type = "start" and syscall = "execve" and tty != null`,
		[]string{"auser", "exe", "user", "arguments"})
	add(TypeHost, "Sudo usage", `command = 'sudo'`, []string{"user", "session"}, `user = 'alice' OR user = 'bob'`)
	add(TypeHost, "Netcat", `command in ("nc", "ncat", "netcat", "socat") and type = "start"`, host)
	add(TypeHost, "Ptrace", `syscall = "ptrace"`, []string{"exe", "user"})
	add(TypeHost, "Kernel modules", `syscall in ("init_module", "finit_module", "delete_module")`, []string{"exe", "user"})
	add(TypeHost, "Exec from /tmp", `exe starts_with "/tmp/" or exe starts_with "/dev/shm/" or exe starts_with "/var/tmp/"`, host)
	add(TypeHost, "Reverse shell", `arguments like "/dev/tcp/" or arguments like "bash -i" or arguments like "sh -i"`, host)
	add(TypeHost, "Base64 decode pipe", `command = "base64" and arguments like "-d"`, host)
	add(TypeHost, "Shell from web server", `parent_metadata.exe ends_with "/nginx" and command in ("sh", "bash", "dash")`, host)
	add(TypeHost, "Interactive root shell", `user = "root" and tty != null and command in ("bash", "sh", "zsh") and auid != 4294967295`, host)
	add(TypeHost, "Setuid change", `command = "chmod" and (arguments like "+s" or arguments like "4755")`, host)
	add(TypeHost, "Login failures", `group = "authentication-failed" or group = "invalid_login" OR group = "authentication_failed" or group like "fail"`,
		[]string{"user", "src_ip"})
	add(TypeHost, "New user added", `event_type = "host" and sigid = "5902"`, []string{"user"}, `user = "chef"`)
	add(TypeHost, "Group changed", `event_type = "host" and sigid in (5903, 5904, 5905)`, []string{"user"})
	add(TypeHost, "SSH root login", `event_type = "login" and user = "root" and type = "login"`, []string{"src_ip"})
	add(TypeHost, "Login from outside", `event_type = "login" and not (src_ip starts_with "10." or src_ip starts_with "192.168.")`, []string{"user", "src_ip"})
	add(TypeHost, "Outbound from web server", `syscall = "connect" and command in ("nginx", "httpd", "apache2", "php-fpm") and not dst_ip starts_with "10."`,
		[]string{"exe", "dst_ip", "dst_port"})
	add(TypeHost, "Suspicious port", `syscall = "connect" and port in (4444, 1337, 31337, 6667)`, []string{"exe", "ip", "port"})
	add(TypeHost, "High port listener", `syscall = "bind" and port > 49151 and user != "root"`, []string{"exe", "port"})
	add(TypeHost, "Crypto miner", `arguments like "stratum+tcp" or command in ("xmrig", "minerd", "cpuminer")`, host)
	add(TypeHost, "Docker socket", `arguments like "/var/run/docker.sock" and user != "root"`, host)
	add(TypeHost, "Curl to metadata", `command in ("curl", "wget") and arguments like "169.254.169.254"`, host)
	add(TypeHost, "Package install", `command in ("apt", "apt-get", "yum", "dnf", "rpm", "dpkg") and arguments like "install"`, host,
		`user = "root" and parent_metadata.exe = "/usr/bin/unattended-upgrade"`)
	add(TypeHost, "Unusual exit", `syscall = "execve" and success = "false" and exit = "-13"`, host)
	add(TypeHost, "Pid one child", `ppid = 1 and command = "sh" and cwd = "/"`, host)
	add(TypeHost, "Log tampering", `arguments like "/var/log/" and command in ("rm", "truncate", "shred")`, host)
	add(TypeHost, "Hidden binary", `exe like "/." and type = "start"`, host)
	add(TypeHost, "Timestamp ping", `command = "ping" and pid > 100000 and user != "root"`, host)
	add(TypeHost, "Ps by chronyd", `exe = "/usr/sbin/chronyd" and command = "ps"`, host,
		`user = 'root' AND tty = null AND cwd = '/usr/bin' AND session = '4294967295' AND auid = '4294967295' AND arguments = 'ps -e -o pid,ppid,state,command'`)
	add(TypeHost, "Systemctl stop", `command = "systemctl" and (arguments like "stop" or arguments like "disable") and arguments like "auditd"`, host)
	add(TypeHost, "Agent name", `agent = "web-1" and command = "reboot"`, host)
	add(TypeHost, "Cloud account", `accountId = "123456789012" and command = "aws"`, host)
	add(TypeHost, "Container escape", `command in ("nsenter", "unshare") and arguments like "--mount"`, host)
	add(TypeHost, "Kubectl exec", `command = "kubectl" and arguments like " exec "`, host)
	add(TypeHost, "SSH keygen", `command = "ssh-keygen" and user != "root"`, host)
	add(TypeHost, "Python one-liner", `command in ("python", "python3", "perl", "ruby") and arguments like " -c "`, host,
		`cwd starts_with "/opt/rapid7" or cwd starts_with "/home/insightvm" or user starts_with "insightvm"`)
	add(TypeHost, "LD preload", `arguments like "LD_PRELOAD" or exe ends_with "/ld.so"`, host)
	add(TypeHost, "Audit rules change", `command = "auditctl"`, host)
	add(TypeHost, "Mount", `command = "mount" and not arguments like "proc"`, host)
	add(TypeHost, "Tunnel", `command = "ssh" and (arguments like " -R " or arguments like " -L " or arguments like " -D ")`, host)
	add(TypeHost, "Env dump", `command in ("env", "printenv") and tty = null`, host)
	add(TypeHost, "Sensitive read", `command in ("cat", "less", "more", "head", "tail") and (arguments like "/etc/shadow" or arguments like "id_rsa")`, host)
	add(TypeHost, "Host group wheel", `event_type = "audit" and group = "wheel" and command = "id"`, host)
	add(TypeHost, "Session none", `session = "4294967295" and command = "useradd"`, host)
	add(TypeHost, "UID zero non-root", `uid = 0 and user != "root"`, host)
	add(TypeHost, "Network scan", `event_type = "network" and dst_port < 1024 and protocol = "tcp" and src_ip starts_with "10.1.242"`,
		[]string{"src_ip", "dst_ip"})

	fileAggs := []string{"command", "filename", "arguments"}
	addFile := func(name, filter string, paths []FilePath, kinds []string, ignore []string, supp ...string) {
		r := add(TypeFile, "File: "+name, filter, fileAggs, supp...)
		r.Title = "File: " + name + ": {{command}} on {{filename}} with {{arguments}}"
		r.FileIntegrityPaths, r.EventsToMonitor, r.IgnoreFiles = paths, kinds, ignore
	}
	ign := []string{"*swp", "*swpx", "*lock", "*tmp", "*pkg", "*dpkg-new", "nssdb*", ".*", "*~", "*+", "*-"}
	addFile("Configuration File Changes", "", []FilePath{{Path: "/etc/"}}, []string{"Modify"}, ign, `user = "chef"`)
	addFile("System File Changes", "", []FilePath{{Path: "/usr/sbin/"}, {Path: "/bin/"}, {Path: "/sbin/"}, {Path: "/lib/"}}, []string{"modify"}, ign)
	addFile("Secret File Opens", `user != "ts-user"`, []FilePath{{Path: "/home/ubuntu/.aws"}}, []string{"open"}, ign, `user = "chef"`)
	addFile("SSH keys", `command != "sshd"`, []FilePath{{Path: "/root/.ssh"}, {Path: "/home", Recursive: true}}, []string{"open", "modify"}, nil,
		`not filename like "/.ssh/"`)
	addFile("Sudoers", "", []FilePath{{Path: "/etc/sudoers"}, {Path: "/etc/sudoers.d", Recursive: true}}, []string{"all"}, nil)
	addFile("Cron", `command != "crond"`, []FilePath{{Path: "/etc/cron.d"}, {Path: "/var/spool/cron", Recursive: true}}, []string{"create", "modify", "delete"}, nil)
	addFile("Web root", `exe != "/usr/bin/rsync"`, []FilePath{{Path: "/var/www", Recursive: true}}, []string{"create", "modify"}, []string{"*.log"})
	addFile("Systemd units", "", []FilePath{{Path: "/etc/systemd/system", Recursive: true}, {Path: "/lib/systemd/system"}}, []string{"create", "modify"}, nil)
	addFile("Binaries deleted", "", []FilePath{{Path: "/usr/bin"}, {Path: "/usr/local/bin"}}, []string{"delete"}, nil)
	addFile("PAM", "", []FilePath{{Path: "/etc/pam.d"}}, []string{"modify", "create"}, nil)
	addFile("Shadow read", `not command in ("sshd", "login", "passwd", "unix_chkpwd")`, []FilePath{{Path: "/etc/shadow"}, {Path: "/etc/gshadow"}}, []string{"open"}, nil)
	addFile("Audit config", "", []FilePath{{Path: "/etc/audit", Recursive: true}}, []string{"all"}, nil)
	addFile("Kube config", `user != "root"`, []FilePath{{Path: "/etc/kubernetes", Recursive: true}}, []string{"open", "modify"}, nil)
	addFile("Bash profile", "", []FilePath{{Path: "/etc/profile.d"}, {Path: "/root"}}, []string{"modify"}, []string{".bash_history"})
	addFile("Hosts file", `filename = "/etc/hosts" or filename = "/etc/resolv.conf"`, []FilePath{{Path: "/etc"}}, []string{"modify"}, nil)
	addFile("Docker config", "", []FilePath{{Path: "/etc/docker", Recursive: true}}, []string{"modify", "create"}, nil)
	addFile("Boot", "", []FilePath{{Path: "/boot", Recursive: true}}, []string{"modify", "create", "delete"}, nil)
	addFile("Ld preload file", "", []FilePath{{Path: "/etc/ld.so.preload"}}, []string{"all"}, nil)

	for _, reason := range []string{"openbl", "tor_exit", "botnet_cc", "malware_host"} {
		r := add(TypeThreatIntel, "Threat Intelligence: "+reason, fmt.Sprintf(`type = "connect" and threatintel_reason = %q`, reason),
			[]string{"threatintel_reason", "ip"}, `ip starts_with "10." OR ip starts_with "192.168."`, "port = 0")
		r.Title = "Threat Intelligence: {{threatintel_reason}} to {{ip}}"
	}
	for len(rs) < 100 {
		i := len(rs)
		add(TypeHost, fmt.Sprintf("Custom %d", i), fmt.Sprintf(`exe = "/usr/local/bin/tool%d" and user = "svc%d"`, i, i), host)
	}
	return rs[:100]
}

// benchEvents returns realistic events as JSON: mostly audit execve events
// of everyday commands (which most rules must reject quickly), connects,
// log signatures, logins, file events and threat intel.
func benchEvents() [][]byte {
	envelope := `"agent_id":"5f0a3d0e-8c4b-4a55-9b7a-2c7f3c6d1e01","organization_id":"5e8f1c2b3a4d5e6f7a8b9c0d",` +
		`"timestamp":1690000000000,"event_time":1690000000000,"_insert_time":1690000000123,` +
		`"agent_metadata":{"agent_id":"5e8f1c2b3a4d5e6f7a8b9c0d/5f0a3d0e","deployment_mode":"host","version":"3.0.0"},` +
		`"host_metadata":{"hostname":"web-1","kernel":"5.10.0-23-amd64","os_version":"ubuntu-20.04","image_id":"ami-0abcdef1234567890","instance_id":"i-0123456789abcdef0","instance_type":"t3.medium"},` +
		`"provider_metadata":{"cloud_provider":"aws","account_id":"123456789012","availability_zone":"us-east-1a"}`
	var evs [][]byte
	n := 0
	id := func() string { n++; return fmt.Sprintf("6a1f0c9e-2b3d-4e5f-8a9b-%012d", n) }
	execve := func(cmd, exe, args, user string, tty string) {
		evs = append(evs, []byte(fmt.Sprintf(`{"_id":%q,"event_type":"audit",%s,"syscall":"execve","type":"start","success":true,"exit":"0",`+
			`"exe":%q,"command":%q,"args":%s,"arguments":%q,"cwd":"/home/ubuntu","path":[%q,"/lib64/ld-linux-x86-64.so.2"],`+
			`"pid":23%03d,"ppid":1187,"uid":1000,"gid":1000,"user":%q,"group":"ubuntu","auid":1000,"auser":"ubuntu","session":7,"tty":%s,`+
			`"parent_metadata":{"exe":"/usr/bin/bash","pid":1187,"timestamp":1689999999000},`+
			`"header":{"id":"a1b2","milliseconds":1690000000000,"timestamp":"1690000000.000","sequenceId":918273}}`,
			id(), envelope, exe, cmd, jsonArgs(args), args, exe, n, user, tty)))
	}
	for _, c := range []string{"ls", "grep", "cat", "ps", "sed", "awk", "git", "node", "java", "sudo", "curl", "nc", "systemctl", "python3", "chmod", "sysctl"} {
		execve(c, "/usr/bin/"+c, c+" -la /var/lib/app", "ubuntu", `"pts/0"`)
	}
	execve("ps", "/usr/bin/ps", "ps -e -o pid,ppid,state,command", "root", "null")
	execve("bash", "/tmp/.x/bash", "bash -i", "www-data", "null")
	evs = append(evs, []byte(fmt.Sprintf(`{"_id":%q,"event_type":"audit",%s,"syscall":"connect","type":"connect","success":true,"exe":"/usr/sbin/nginx","command":"nginx",`+
		`"src_ip":"10.0.1.15","src_port":43512,"dst_ip":"203.0.113.9","dst_port":4444,"protocol":"tcp","pid":811,"ppid":1,"uid":33,"user":"www-data","auid":4294967295,"session":4294967295,"tty":null}`, id(), envelope)))
	evs = append(evs, []byte(fmt.Sprintf(`{"_id":%q,"event_type":"host",%s,"_type":"host","hostname":"web-1","comment":"Attempt to login using a non-existent user","sigid":5710,`+
		`"group":["syslog","sshd","invalid_login","authentication_failed"],"groups":["syslog","sshd"],"level":5,"location":"/var/log/auth.log",`+
		`"log":"Jul 22 04:26:40 web-1 sshd[4123]: Invalid user admin from 198.51.100.7 port 52044","src_ip":"198.51.100.7","user":"admin","pid":4123}`, id(), envelope)))
	evs = append(evs, []byte(fmt.Sprintf(`{"_id":%q,"event_type":"login",%s,"type":"login","user":"root","src_ip":"198.51.100.7","tty":"pts/1","session":12,"exe":"/usr/sbin/sshd"}`, id(), envelope)))
	for _, f := range []struct{ kind, name, cmd string }{
		{"modify", "/etc/passwd", "useradd"}, {"open", "/home/ubuntu/.aws/credentials", "python3"}, {"open", "/usr/lib/x86_64-linux-gnu/libc.so.6", "ls"},
		{"modify", "/var/www/html/index.php", "php-fpm"}, {"open", "/etc/ld.so.cache", "bash"}, {"close", "/var/log/syslog", "rsyslogd"},
	} {
		evs = append(evs, []byte(fmt.Sprintf(`{"_id":%q,"event_type":"file",%s,"type":%q,"filename":%q,"command":%q,"exe":"/usr/bin/%s","arguments":"%s --run",`+
			`"user":"ubuntu","uid":1000,"pid":3321,"session":7,"src_user":"ubuntu","dst_user":"ubuntu"}`, id(), envelope, f.kind, f.name, f.cmd, f.cmd, f.cmd)))
	}
	evs = append(evs, []byte(fmt.Sprintf(`{"_id":%q,"event_type":"threatintel",%s,"type":"connect","ip":"185.110.132.54","port":443,`+
		`"threatintel_source":"openbl","threatintel_reason":"openbl","threatintel_type":"ip_reputation","exe":"/usr/bin/curl","user":"ubuntu"}`, id(), envelope)))
	return evs
}

func jsonArgs(args string) string {
	parts := strings.Fields(args)
	for i, p := range parts {
		parts[i] = fmt.Sprintf("%q", p)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// BenchmarkEngine100Rules measures decode + evaluate of realistic events
// against 100 rules on one core; the requirement is ≥ 200k events/s.
func BenchmarkEngine100Rules(b *testing.B) {
	eng, err := NewEngine(benchRules())
	if err != nil {
		b.Fatal(err)
	}
	if eng.Len() != 100 {
		b.Fatalf("engine has %d rules, want 100", eng.Len())
	}
	corpus := benchEvents()
	var bytes int
	for _, e := range corpus {
		bytes += len(e)
	}
	var ev Event
	matches := 0
	count := func(Match) { matches++ }
	b.SetBytes(int64(bytes / len(corpus)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ev.Decode(corpus[i%len(corpus)]); err != nil {
			b.Fatal(err)
		}
		eng.Evaluate(&ev, count)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(matches)/float64(b.N), "matches/event")
}

// BenchmarkEvaluate100Rules measures evaluation alone on pre-decoded
// events, to show it allocates nothing.
func BenchmarkEvaluate100Rules(b *testing.B) {
	eng, err := NewEngine(benchRules())
	if err != nil {
		b.Fatal(err)
	}
	var evs []*Event
	for _, data := range benchEvents() {
		ev, err := DecodeEvent(data)
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
	}
	count := func(Match) {}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		eng.Evaluate(evs[i%len(evs)], count)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeEvent measures decoding alone.
func BenchmarkDecodeEvent(b *testing.B) {
	corpus := benchEvents()
	var ev Event
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ev.Decode(corpus[i%len(corpus)]); err != nil {
			b.Fatal(err)
		}
	}
}
