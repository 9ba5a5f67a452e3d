package rules

// BaseRuleSetName is the name of the ruleset every new organization gets,
// and the one agents register to by default (rules-events.md §1.2).
const BaseRuleSetName = "Base Rule Set"

// BaseRuleSetDescription is the Base Rule Set's ruleset description.
const BaseRuleSetDescription = "Rules written for aip covering privilege escalation, network tools, process " +
	"tampering, authentication failures, account changes, system and configuration file changes, " +
	"credential file access and web server behaviour on Linux hosts."

// BaseRule is a rule of the Base Rule Set with the alertDescription the v2
// API shows, which the engine itself does not need.
type BaseRule struct {
	Rule
	AlertDescription string
}

// BaseRuleSet returns the rules of the Base Rule Set (see BaseRules).
func BaseRuleSet() []Rule {
	base := BaseRules()
	out := make([]Rule, len(base))
	for i, b := range base {
		out[i] = b.Rule
	}
	return out
}

// BaseRules returns the Base Rule Set: rules written for aip, in the field
// shapes of rules-events.md §3 and modelled on the real rules of §1.7 where
// one exists. Each call returns fresh slices the caller may change.
//
// Choices:
//   - ID and RulesetID are empty. Every organization gets its own copy of
//     the set and rule ids are UUIDs unique across organizations, so the
//     store assigns them when it creates the copy; fixed ids would collide.
//     Names are unique within the set, which is what provisioning can key on.
//   - Every rule is enabled and has a non-empty filter; File rules without a
//     further condition use `event_type = "file"`, as the real R10 does.
//   - Aggregate lists are already effective (EffectiveAggregateFields), and
//     titles only substitute aggregate fields, as the docs advise, so an
//     alert's title is the same for every event it counts.
//   - Home directories: a path with "~" means nothing to the server, since
//     file events carry absolute paths and fileIntegrityPaths must be
//     absolute. The credential rules watch /root/.aws and /root/.ssh, and
//     /home recursively with a filter that keeps only paths with a /.aws/
//     or /.ssh/ component, which covers every user's ~/.aws and ~/.ssh
//     without knowing the user names.
//   - Host rules select audit events by syscall and type ("execve"/"start"
//     for program runs, the syscall name otherwise) and log signatures by
//     event_type "host" with OSSEC-style sigid and group.
func BaseRules() []BaseRule {
	return []BaseRule{
		{Rule: Rule{
			Name:            "User: Sudo Usage",
			Type:            TypeHost,
			Title:           "User: Sudo Usage: {{auser}} ran sudo as {{user}} with arguments {{arguments}}",
			Severity:        3,
			Filter:          `command = "sudo" and syscall = "execve" and type = "start"`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"auser", "user", "arguments"},
			// Scripts and configuration management running as root without a
			// terminal use sudo all day; people do not.
			Suppressions: []string{`user = "root" and tty = null`},
			Enabled:      true,
		}, AlertDescription: "A user ran sudo. Each distinct login user, user and command line raises one alert an hour. " +
			"Check that the escalation was expected."},

		{Rule: Rule{
			Name:            "User: Privilege Escalations",
			Type:            TypeHost,
			Title:           "User: Privilege Escalations: {{auser}} used sudo or su 5 times within an hour",
			Severity:        2,
			Filter:          `command in ("sudo", "su") and syscall = "execve" and type = "start" and user != "root"`,
			Window:          3600,
			Threshold:       5,
			AggregateFields: []string{"auser"},
			Enabled:         true,
		}, AlertDescription: "The same login user escalated privileges with sudo or su 5 times within an hour, " +
			"which may be an intruder exploring the host with stolen credentials."},

		{Rule: Rule{
			Name:            "User: Su Usage",
			Type:            TypeHost,
			Title:           "User: Su Usage: {{auser}} ran su as {{user}} with arguments {{arguments}}",
			Severity:        2,
			Filter:          `command = "su" and syscall = "execve" and type = "start"`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"auser", "user", "arguments"},
			// Init and maintenance scripts switch to service accounts with
			// "su - postgres -c ..." as root, without a terminal.
			Suppressions: []string{`user = "root" and tty = null`},
			Enabled:      true,
		}, AlertDescription: "A user ran su to switch to another account, often root, with that account's password. " +
			"Shared root passwords should not be in use."},

		{Rule: Rule{
			Name:     "Process: Netcat Detected",
			Type:     TypeHost,
			Title:    "Process: Netcat Detected: {{exe}} run by {{user}} with arguments {{arguments}}",
			Severity: 1,
			// command is the name the program was run as, so the Debian
			// alternatives (nc.openbsd, nc.traditional) are listed too.
			Filter:          `command in ("nc", "ncat", "netcat", "nc.openbsd", "nc.traditional", "socat") and syscall = "execve" and type = "start"`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"exe", "user", "arguments"},
			Enabled:         true,
		}, AlertDescription: "netcat, ncat or socat ran. These tools relay arbitrary network traffic and are a common way " +
			"to open reverse shells, move data out or reach internal services."},

		{Rule: Rule{
			Name:            "Process: Ptrace Usage",
			Type:            TypeHost,
			Title:           "Process: Ptrace Usage: {{exe}} run by {{user}} traced another process",
			Severity:        1,
			Filter:          `syscall = "ptrace"`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"exe", "user"},
			Enabled:         true,
		}, AlertDescription: "A process used ptrace to trace or control another process. Outside debugging sessions this " +
			"indicates process injection or memory scraping of secrets."},

		{Rule: Rule{
			Name:     "User Activity: Login Failures",
			Type:     TypeHost,
			Title:    "User Activity (Login Failures): User {{user}} failed authentication from IP {{src_ip}}",
			Severity: 3,
			// The real rule (rules-events.md R3), limited to log signatures so
			// that "like" cannot catch an audit event's process group name.
			Filter: `event_type = "host" and (group = "authentication-failed" or group = "invalid_login" or ` +
				`group = "authentication_failed" or group like "fail")`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"user", "src_ip"},
			Enabled:         true,
		}, AlertDescription: "An authentication failed (ssh, login, su, sudo), as reported by the host's authentication log."},

		{Rule: Rule{
			Name:     "User Activity: Repeated Login Failures",
			Type:     TypeHost,
			Title:    "User Activity (Brute Force): 5 login failures within a minute from IP {{src_ip}}",
			Severity: 2,
			Filter: `event_type = "host" and (group = "authentication-failed" or group = "invalid_login" or ` +
				`group = "authentication_failed" or group like "fail")`,
			Window:          60,
			Threshold:       5,
			AggregateFields: []string{"src_ip"},
			Enabled:         true,
		}, AlertDescription: "5 authentication failures from the same address within a minute: a password guessing " +
			"attack is likely. Block the address and check for a success that followed."},

		{Rule: Rule{
			Name:     "User: New User Added",
			Type:     TypeHost,
			Title:    "User: New User Added: {{log}}",
			Severity: 2,
			// 5902 is the "new user added to the system" log signature
			// (rules-events.md R6).
			Filter:          `event_type = "host" and sigid = "5902"`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"log"},
			Enabled:         true,
		}, AlertDescription: "A user account was created on the host. Attackers add accounts to keep access; " +
			"check that the account was expected."},

		{Rule: Rule{
			Name:     "User: Account Management Commands",
			Type:     TypeHost,
			Title:    "User: Account Management: {{auser}} ran {{command}} as {{user}} with arguments {{arguments}}",
			Severity: 3,
			Filter: `command in ("useradd", "adduser", "newusers", "usermod", "userdel", "deluser", "passwd", "chpasswd", ` +
				`"chage", "groupadd", "groupmod", "gpasswd", "vipw", "vigr") and syscall = "execve" and type = "start"`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"auser", "user", "command", "arguments"},
			Enabled:         true,
		}, AlertDescription: "A command that creates, changes or deletes users, groups or passwords ran."},

		{Rule: Rule{
			Name:            "File: Account File Changes",
			Type:            TypeFile,
			Title:           "File: Account File Changes: {{command}} changed {{filename}} as {{user}}",
			Severity:        2,
			Filter:          `event_type = "file"`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"command", "filename", "user"},
			FileIntegrityPaths: []FilePath{
				{Path: "/etc/passwd"}, {Path: "/etc/shadow"}, {Path: "/etc/group"}, {Path: "/etc/gshadow"},
				{Path: "/etc/sudoers"}, {Path: "/etc/sudoers.d", Recursive: true},
			},
			EventsToMonitor: []string{"modify", "create", "delete", "attrib"},
			Enabled:         true,
		}, AlertDescription: "The user, group, password or sudoers database changed: accounts or privileges were added, " +
			"removed or altered."},

		{Rule: Rule{
			Name:               "File: Configuration File Changes",
			Type:               TypeFile,
			Title:              "File: Configuration File Changes: {{command}} on {{filename}} with {{arguments}}",
			Severity:           3,
			Filter:             `event_type = "file"`,
			Window:             3600,
			Threshold:          1,
			AggregateFields:    []string{"command", "filename", "arguments"},
			FileIntegrityPaths: []FilePath{{Path: "/etc", Recursive: true}},
			EventsToMonitor:    []string{"modify", "create", "delete"},
			IgnoreFiles:        editorAndPackageFiles(),
			Suppressions: []string{
				packageManagers,
				// DHCP clients and resolvers rewrite resolv.conf; ldconfig
				// rebuilds its cache after every library change.
				`filename = "/etc/resolv.conf" and command in ("dhclient", "dhclient-script", "NetworkManager", "systemd-resolve", "systemd-network", "resolvconf")`,
				`filename starts_with "/etc/ld.so.cache" and command starts_with "ldconfig"`,
				// "File: Account File Changes" reports these, at a higher
				// severity; one alert per change is enough.
				accountFiles,
			},
			Enabled: true,
		}, AlertDescription: "A file under /etc was created, modified or deleted outside the package manager. " +
			"Configuration changes can weaken a host or give an intruder persistence (cron, systemd, ssh)."},

		{Rule: Rule{
			Name:            "File: System File Changes",
			Type:            TypeFile,
			Title:           "File: System File Changes: {{command}} on {{filename}} with {{arguments}}",
			Severity:        2,
			Filter:          `event_type = "file"`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"command", "filename", "arguments"},
			// Programs sit directly in the bin directories; libraries and
			// kernel modules sit deeper, and on merged-/usr systems the
			// kernel reports /lib paths as /usr/lib.
			FileIntegrityPaths: []FilePath{
				{Path: "/bin"}, {Path: "/sbin"}, {Path: "/usr/bin"}, {Path: "/usr/sbin"},
				{Path: "/usr/local/bin"}, {Path: "/usr/local/sbin"},
				{Path: "/lib", Recursive: true}, {Path: "/lib64", Recursive: true}, {Path: "/usr/lib", Recursive: true},
			},
			EventsToMonitor: []string{"modify", "create", "delete", "attrib"},
			IgnoreFiles:     append(editorAndPackageFiles(), "*.pyc"),
			Suppressions: []string{
				packageManagers,
				`command starts_with "ldconfig" or command in ("update-alternatives", "update-alternat")`,
			},
			Enabled: true,
		}, AlertDescription: "A program or library in a system directory was created, modified, deleted or had its " +
			"permissions changed outside the package manager: a sign of a trojaned binary, rootkit or setuid backdoor."},

		{Rule: Rule{
			Name:            "File: Secret File Opens",
			Type:            TypeFile,
			Title:           "File: Secret File Opens: {{command}} opened {{filename}} as {{user}}",
			Severity:        2,
			Filter:          `filename like "/.aws/" or filename like "/.ssh/"`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"command", "filename", "user"},
			FileIntegrityPaths: []FilePath{
				{Path: "/root/.aws", Recursive: true}, {Path: "/root/.ssh", Recursive: true}, {Path: "/home", Recursive: true},
			},
			EventsToMonitor: []string{"open"},
			// known_hosts is read on every ssh connection and holds no secret.
			IgnoreFiles: []string{"*swp", "*swpx", "*lock", "*tmp", "*~", ".*", "known_hosts", "known_hosts.old"},
			// sshd reads authorized_keys on every login.
			Suppressions: []string{`command = "sshd" and (filename ends_with "/authorized_keys" or filename ends_with "/authorized_keys2")`},
			Enabled:      true,
		}, AlertDescription: "A process opened a file in a ~/.aws or ~/.ssh directory (cloud credentials, SSH private keys). " +
			"Stolen keys give access to other hosts and cloud accounts."},

		{Rule: Rule{
			Name:            "File: SSH Authorized Keys Changes",
			Type:            TypeFile,
			Title:           "File: SSH Authorized Keys Changes: {{command}} changed {{filename}} as {{user}}",
			Severity:        1,
			Filter:          `filename ends_with "/.ssh/authorized_keys" or filename ends_with "/.ssh/authorized_keys2"`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"command", "filename", "user"},
			FileIntegrityPaths: []FilePath{
				{Path: "/root/.ssh", Recursive: true}, {Path: "/home", Recursive: true},
			},
			EventsToMonitor: []string{"create", "modify", "delete"},
			// cloud-init installs the instance's keys at first boot.
			Suppressions: []string{`command = "cloud-init"`},
			Enabled:      true,
		}, AlertDescription: "An authorized_keys file changed. Adding a key is the simplest way for an intruder to keep " +
			"SSH access to an account."},

		{Rule: Rule{
			Name:     "Network: Outbound Connection from Web Server",
			Type:     TypeHost,
			Title:    "Network: Outbound Connection from Web Server: {{command}} connected to {{dst_ip}}:{{dst_port}}",
			Severity: 2,
			// php-fpm runs as php-fpm7.4, php-fpm8.1 and so on. Node and other
			// application runtimes call out by design and are left out. Unix
			// socket connects have no dst_ip.
			Filter: `syscall = "connect" and dst_ip != null and (command in ("nginx", "apache2", "httpd", "lighttpd", "caddy") ` +
				`or command starts_with "php-fpm")`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"command", "dst_ip", "dst_port"},
			// Upstreams, databases and caches on private, loopback and
			// unique-local addresses, as in the real rule R1. 169.254.169.254
			// (cloud metadata, the target of SSRF) is deliberately not here.
			Suppressions: []string{privateDestinations},
			Enabled:      true,
		}, AlertDescription: "A web server process connected to a public address. Web servers rarely start outbound " +
			"connections; this can be server-side request forgery, a web shell calling home or data exfiltration."},

		{Rule: Rule{
			Name:     "Process: Shell Spawned by Web Server",
			Type:     TypeHost,
			Title:    "Process: Shell Spawned by Web Server: {{exe}} run by {{user}} with arguments {{arguments}}",
			Severity: 2,
			Filter: `command in ("sh", "bash", "dash", "zsh", "ksh") and syscall = "execve" and type = "start" and ` +
				`(parent_metadata.exe ends_with "/nginx" or parent_metadata.exe ends_with "/apache2" or ` +
				`parent_metadata.exe ends_with "/httpd" or parent_metadata.exe like "/php-fpm")`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"exe", "user", "arguments"},
			Enabled:         true,
		}, AlertDescription: "A web server or PHP worker started a shell: the typical sign of a web shell or of command " +
			"injection in a web application."},

		{Rule: Rule{
			Name:            "Process: Execution from Temporary Directory",
			Type:            TypeHost,
			Title:           "Process: Execution from Temporary Directory: {{exe}} run by {{user}} with arguments {{arguments}}",
			Severity:        2,
			Filter:          `syscall = "execve" and type = "start" and (exe starts_with "/tmp/" or exe starts_with "/var/tmp/" or exe starts_with "/dev/shm/")`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"exe", "user", "arguments"},
			Enabled:         true,
		}, AlertDescription: "A program ran from /tmp, /var/tmp or /dev/shm, world-writable places where downloaded " +
			"malware and exploits are usually dropped."},

		{Rule: Rule{
			Name:     "Process: Reverse Shell Command Line",
			Type:     TypeHost,
			Title:    "Process: Reverse Shell Command Line: {{exe}} run by {{user}} with arguments {{arguments}}",
			Severity: 1,
			Filter: `syscall = "execve" and type = "start" and (arguments like "/dev/tcp/" or arguments like "/dev/udp/" or ` +
				`arguments like "pty.spawn(")`,
			Window:          3600,
			Threshold:       1,
			AggregateFields: []string{"exe", "user", "arguments"},
			Enabled:         true,
		}, AlertDescription: "A command line used bash's /dev/tcp or /dev/udp redirection or Python's pty.spawn, the usual " +
			"ways of wiring a shell to a remote listener."},

		{Rule: Rule{
			Name:            "Kernel: Module Loaded",
			Type:            TypeHost,
			Title:           "Kernel: Module Loaded: {{exe}} run by {{user}} loaded a kernel module",
			Severity:        2,
			Filter:          `syscall in ("init_module", "finit_module")`,
			Window:          86400,
			Threshold:       1,
			AggregateFields: []string{"exe", "user"},
			Enabled:         true,
		}, AlertDescription: "A kernel module was loaded. Modules run with full kernel privileges; rootkits install " +
			"themselves this way. Expect one alert a day per loader at boot."},
	}
}

// packageManagers suppresses file changes made by package managers, whose
// updates touch system and configuration files in bulk. command is the
// kernel's 15-character process name, hence "unattended-upgr".
const packageManagers = `command in ("dpkg", "apt", "apt-get", "unattended-upgr", "rpm", "yum", "dnf", "packagekitd")`

// accountFiles matches the paths of "File: Account File Changes".
const accountFiles = `filename in ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers") or ` +
	`filename starts_with "/etc/sudoers.d/"`

// privateDestinations matches connections to RFC 1918, loopback and
// unique-local addresses, IPv4-mapped forms included. It names dst_ip, not
// ip: ip also covers src_ip, the host's own (usually private) address.
const privateDestinations = `dst_ip starts_with "10." or dst_ip starts_with "192.168." or dst_ip starts_with "127." or ` +
	`dst_ip starts_with "172.16." or dst_ip starts_with "172.17." or dst_ip starts_with "172.18." or dst_ip starts_with "172.19." or ` +
	`dst_ip starts_with "172.20." or dst_ip starts_with "172.21." or dst_ip starts_with "172.22." or dst_ip starts_with "172.23." or ` +
	`dst_ip starts_with "172.24." or dst_ip starts_with "172.25." or dst_ip starts_with "172.26." or dst_ip starts_with "172.27." or ` +
	`dst_ip starts_with "172.28." or dst_ip starts_with "172.29." or dst_ip starts_with "172.30." or dst_ip starts_with "172.31." or ` +
	`dst_ip = "::1" or dst_ip starts_with "fd" or dst_ip starts_with "::ffff:10." or dst_ip starts_with "::ffff:192.168." or ` +
	`dst_ip starts_with "::ffff:127." or dst_ip starts_with "::ffff:172.16." or dst_ip starts_with "::ffff:172.17." or ` +
	`dst_ip starts_with "::ffff:172.18." or dst_ip starts_with "::ffff:172.19." or dst_ip starts_with "::ffff:172.20." or ` +
	`dst_ip starts_with "::ffff:172.21." or dst_ip starts_with "::ffff:172.22." or dst_ip starts_with "::ffff:172.23." or ` +
	`dst_ip starts_with "::ffff:172.24." or dst_ip starts_with "::ffff:172.25." or dst_ip starts_with "::ffff:172.26." or ` +
	`dst_ip starts_with "::ffff:172.27." or dst_ip starts_with "::ffff:172.28." or dst_ip starts_with "::ffff:172.29." or ` +
	`dst_ip starts_with "::ffff:172.30." or dst_ip starts_with "::ffff:172.31."`

// editorAndPackageFiles is the ignore list of the real Base Rule Set FIM
// rules (rules-events.md R7): editor swap and backup files, lock and
// temporary files, dpkg's staging files, the NSS database and dot files,
// plus the -old and -dist leftovers of dpkg. passwd- and shadow- are the
// backups shadow-utils writes next to the real files.
func editorAndPackageFiles() []string {
	return []string{"*swp", "*swpx", "*lock", "*tmp", "*pkg", "*dpkg-new", "*dpkg-old", "*dpkg-dist", "nssdb*", ".*", "*~", "*+", "*-"}
}
