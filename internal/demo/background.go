package demo

import "fmt"

// pkgUpdate is a package whose update touches watched files.
type pkgUpdate struct {
	files []string
}

// updates are packages unattended-upgrades installs; their file changes
// are made by dpkg, which the Base Rule Set suppresses.
var updates = []pkgUpdate{
	{files: []string{"/usr/bin/curl", "/usr/lib/x86_64-linux-gnu/libcurl.so.4.7.0"}},
	{files: []string{"/usr/bin/openssl", "/usr/lib/x86_64-linux-gnu/libssl.so.3", "/etc/ssl/openssl.cnf"}},
	{files: []string{"/usr/bin/sudo", "/etc/pam.d/sudo"}},
	{files: []string{"/usr/sbin/sshd", "/etc/ssh/moduli"}},
	{files: []string{"/usr/bin/tzselect", "/etc/timezone"}},
	{files: []string{"/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/sbin/ldconfig", "/etc/ld.so.conf.d/x86_64-linux-gnu.conf"}},
}

// interactive are commands an admin runs in a shell on the bastion.
var interactive = [][]string{
	{"ls", "-la"},
	{"tail", "-n", "50", "/var/log/syslog"},
	{"git", "-C", "/home/ubuntu/infra", "pull", "--ff-only"},
	{"df", "-h"},
	{"ps", "aux"},
	{"less", "/var/log/nginx/access.log"},
}

// background adds the benign events of second sec: nothing in it may
// raise a Base Rule Set alert.
func (g *gen) background(sec int64) {
	switch g.h.Role {
	case RoleWeb:
		g.webTraffic()
	case RoleBastion:
		g.bastionActivity(sec)
	case RoleDB:
		g.dbActivity(sec)
	}
	off := int64(g.i) * 7
	if mod(sec-off, 60) == 0 {
		g.cron()
	}
	if mod(sec-off-13, 120) == 0 {
		// Admins reach the bastion over the VPN and the rest from it.
		src := "10.8.0.6"
		if g.h.Role != RoleBastion {
			src = g.f.hostIP(RoleBastion, "10.0.0.12")
		}
		g.sshLogin("ubuntu", src)
	}
	if mod(sec-off-29, 180) == 0 {
		g.packageUpdate(sec)
	}
	if mod(sec-off-41, 300) == 0 {
		g.resolvConf()
	}
}

// webTraffic is nginx talking to PHP-FPM and PHP to the database and
// cache, all on private addresses, plus the odd health check.
func (g *gen) webTraffic() {
	g.add(g.ms(), "audit", g.connect("nginx", "/usr/sbin/nginx", "www-data", 33, g.p.nginx+1, "127.0.0.1", 9000, "tcp"))
	if g.r.IntN(2) == 0 {
		g.add(g.ms(), "audit", g.connect("php-fpm8.1", "/usr/sbin/php-fpm8.1", "www-data", 33, g.p.phpfpm+1+g.r.IntN(5),
			g.f.hostIP(RoleDB, "10.0.2.20"), 5432, "tcp"))
	}
	if g.r.IntN(3) == 0 {
		g.add(g.ms(), "audit", g.connect("php-fpm8.1", "/usr/sbin/php-fpm8.1", "www-data", 33, g.p.phpfpm+1+g.r.IntN(5),
			"10.0.3.25", 6379, "tcp"))
	}
	if g.r.IntN(10) == 0 {
		at, pid := g.ms(), 20000+g.r.IntN(20000)
		g.add(at, "audit", g.execve(proc{
			command: "curl", exe: "/usr/bin/curl", argv: []string{"curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1/healthz"},
			user: "root", cwd: "/", pid: pid, ppid: 1, parentExe: "/usr/lib/systemd/systemd",
		}))
		g.add(at+2, "audit", g.connect("curl", "/usr/bin/curl", "root", 0, pid, "127.0.0.1", 80, "tcp"))
	}
}

// bastionActivity is an admin at work: shell commands, ssh hops to other
// hosts and the SSM agent polling AWS.
func (g *gen) bastionActivity(sec int64) {
	if g.r.IntN(5) == 0 {
		argv := interactive[g.r.IntN(len(interactive))]
		g.add(g.ms(), "audit", g.execve(proc{
			command: argv[0], exe: "/usr/bin/" + argv[0], argv: argv, user: "ubuntu", uid: 1000, auser: "ubuntu", auid: 1000,
			tty: "pts/0", cwd: "/home/ubuntu", pid: 30000 + g.r.IntN(20000), ppid: g.p.sshd + 400, parentExe: "/usr/bin/bash",
		}))
	}
	if g.r.IntN(8) == 0 {
		dst := g.f.hostIP(RoleWeb, "10.0.1.14")
		at, pid := g.ms(), 30000+g.r.IntN(20000)
		g.add(at, "audit", g.execve(proc{
			command: "ssh", exe: "/usr/bin/ssh", argv: []string{"ssh", "ubuntu@" + dst}, user: "ubuntu", uid: 1000,
			auser: "ubuntu", auid: 1000, tty: "pts/0", cwd: "/home/ubuntu", pid: pid, ppid: g.p.sshd + 400, parentExe: "/usr/bin/bash",
		}))
		// known_hosts holds no secret: the Base Rule Set ignores it.
		g.add(at+3, "file", g.fileEv("open", "/home/ubuntu/.ssh/known_hosts", "ssh", "/usr/bin/ssh", "ubuntu", 1000, pid,
			[]string{"ssh", "ubuntu@" + dst}))
		g.add(at+5, "audit", g.connect("ssh", "/usr/bin/ssh", "ubuntu", 1000, pid, dst, 22, "tcp"))
	}
	if mod(sec, 15) == 3 {
		g.add(g.ms(), "audit", g.connect("amazon-ssm-agen", "/usr/bin/amazon-ssm-agent", "root", 0, g.p.ssm,
			fmt.Sprintf("52.46.%d.%d", 128+g.r.IntN(64), 1+g.r.IntN(254)), 443, "tcp"))
	}
}

// dbActivity is monitoring probing PostgreSQL, the SSM agent and chrony.
func (g *gen) dbActivity(sec int64) {
	if mod(sec, 5) == 0 {
		g.add(g.ms(), "audit", g.execve(proc{
			command: "pg_isready", exe: "/usr/bin/pg_isready", argv: []string{"pg_isready", "-q", "-h", "127.0.0.1"},
			user: "postgres", uid: 26, cwd: "/var/lib/pgsql", pid: 20000 + g.r.IntN(20000), ppid: g.p.postgres + 50,
			parentExe: "/usr/bin/bash",
		}))
	}
	if mod(sec, 15) == 7 {
		g.add(g.ms(), "audit", g.connect("amazon-ssm-agen", "/usr/bin/amazon-ssm-agent", "root", 0, g.p.ssm,
			fmt.Sprintf("52.46.%d.%d", 128+g.r.IntN(64), 1+g.r.IntN(254)), 443, "tcp"))
	}
	if mod(sec, 16) == 9 {
		g.add(g.ms(), "audit", g.connect("chronyd", "/usr/sbin/chronyd", "chrony", 997, g.p.chronyd, "169.254.169.123", 123, "udp"))
	}
	g.add(g.ms(), "audit", g.connect("postgres", "/usr/bin/postgres", "postgres", 26, g.p.postgres+10+g.r.IntN(20),
		"127.0.0.1", 5432, "tcp"))
}

// cron is the minute's cron run: a PAM session and a job in a shell. On
// the database host root also dumps the database through a
// non-interactive sudo, which the Base Rule Set suppresses.
func (g *gen) cron() {
	at := int64(g.r.IntN(50))
	pid := 40000 + g.r.IntN(20000)
	g.add(at, "host", g.logSig(g.base+at, 5501, 3, []string{"pam", "syslog", "authentication_success"}, "Login session opened.",
		"CRON", pid, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)", fields{"user": "root"}))
	g.add(at+1, "audit", g.execve(proc{
		command: "cron", exe: "/usr/sbin/cron", argv: []string{"/usr/sbin/CRON", "-f", "-P"}, user: "root", auser: "root",
		cwd: "/var/spool/cron", pid: pid, ppid: g.p.cron, parentExe: "/usr/sbin/cron",
	}))
	job := []string{"/bin/sh", "-c", "command -v debian-sa1 > /dev/null && debian-sa1 1 1"}
	switch g.h.Role {
	case RoleWeb:
		job = []string{"/bin/sh", "-c", "cd /var/www/app && php artisan schedule:run >> /dev/null 2>&1"}
	case RoleDB:
		job = []string{"/bin/sh", "-c", "sudo -u postgres /usr/bin/pg_dump -Fc -f /var/backups/pg/app.dump app"}
	}
	g.add(at+2, "audit", g.execve(proc{
		command: "sh", exe: "/usr/bin/dash", argv: job, user: "root", auser: "root",
		cwd: "/root", pid: pid + 1, ppid: pid, parentExe: "/usr/sbin/cron",
	}))
	if g.h.Role == RoleDB {
		g.add(at+3, "audit", g.execve(proc{
			command: "sudo", exe: "/usr/bin/sudo", argv: []string{"sudo", "-u", "postgres", "/usr/bin/pg_dump", "-Fc", "-f", "/var/backups/pg/app.dump", "app"},
			user: "root", auser: "root", cwd: "/root", pid: pid + 2, ppid: pid + 1, parentExe: "/usr/bin/dash",
		}))
	}
}

// sshLogin is a successful public key login: the log line, sshd reading
// authorized_keys (suppressed) and the login shell.
func (g *gen) sshLogin(user, srcIP string) {
	at := g.ms()
	pid := 50000 + g.r.IntN(10000)
	port := 40000 + g.r.IntN(20000)
	g.add(at, "file", g.fileEv("open", "/home/"+user+"/.ssh/authorized_keys", "sshd", "/usr/sbin/sshd", "root", 0, pid,
		[]string{"sshd:", user, "[priv]"}))
	g.add(at+2, "host", g.logSig(g.base+at+2, 5715, 3, []string{"syslog", "sshd", "authentication_success"}, "sshd: authentication success.",
		"sshd", pid, fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:Vq3x1mN8QJ2bYl0pXk7sR4tE9wZc6uHfGdA5oLiKjMs", user, srcIP, port),
		fields{"user": user, "src_ip": srcIP, "src_port": port}))
	g.add(at+9, "audit", g.execve(proc{
		command: "bash", exe: "/usr/bin/bash", argv: []string{"-bash"}, user: user, uid: 1000, auser: user, auid: 1000,
		tty: "pts/1", cwd: "/home/" + user, pid: pid + 3, ppid: pid + 2, parentExe: "/usr/sbin/sshd",
	}))
}

// packageUpdate is unattended-upgrades installing an update: dpkg stages
// and replaces files, and ldconfig rebuilds its cache.
func (g *gen) packageUpdate(sec int64) {
	u := updates[mod(sec/180+int64(g.i), int64(len(updates)))]
	pid := 60000 + g.r.IntN(5000)
	at := int64(g.r.IntN(400))
	argv := []string{"/usr/bin/dpkg", "--status-fd", "3", "--no-triggers", "--unpack", "--auto-deconfigure"}
	g.add(at, "audit", g.execve(proc{
		command: "dpkg", exe: "/usr/bin/dpkg", argv: argv, user: "root", cwd: "/", pid: pid, ppid: pid - 1,
		parentExe: "/usr/bin/python3.10",
	}))
	for j, name := range u.files {
		t := at + 20 + int64(j)*40
		g.add(t, "file", g.fileEv("create", name+".dpkg-new", "dpkg", "/usr/bin/dpkg", "root", 0, pid, argv))
		g.add(t+5, "file", g.fileEv("modify", name, "dpkg", "/usr/bin/dpkg", "root", 0, pid, argv))
		g.add(t+6, "file", g.fileEv("attrib", name, "dpkg", "/usr/bin/dpkg", "root", 0, pid, argv))
	}
	t := at + 20 + int64(len(u.files))*40
	g.add(t, "file", g.fileEv("create", "/etc/ld.so.cache~", "ldconfig.real", "/usr/sbin/ldconfig.real", "root", 0, pid+7,
		[]string{"/sbin/ldconfig.real"}))
	g.add(t+1, "file", g.fileEv("modify", "/etc/ld.so.cache", "ldconfig.real", "/usr/sbin/ldconfig.real", "root", 0, pid+7,
		[]string{"/sbin/ldconfig.real"}))
}

// resolvConf is the DHCP client renewing its lease and rewriting
// resolv.conf, which the Base Rule Set suppresses.
func (g *gen) resolvConf() {
	g.add(g.ms(), "file", g.fileEv("modify", "/etc/resolv.conf", "dhclient-script", "/usr/sbin/dhclient-script", "root", 0,
		7000+g.r.IntN(1000), []string{"/bin/sh", "/sbin/dhclient-script"}))
}
