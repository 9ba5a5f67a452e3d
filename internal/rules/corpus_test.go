package rules

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The real rules of rules-events.md §1.7 (R1–R12), verbatim filters and
// suppressions, against events written for them.

// privateIPSuppression is R1's first suppression, verbatim.
const privateIPSuppression = `(ip starts_with "10." OR ip starts_with "192.168." or ip starts_with "172.16." or ip starts_with "172.17." or ip starts_with "172.18." or ip starts_with "172.19." or ip starts_with "172.20." or ip starts_with "172.21." or ip starts_with "172.22." or ip starts_with "172.23." or ip starts_with "172.24." or ip starts_with "172.25." or ip starts_with "172.26." or ip starts_with "172.27." or ip starts_with "172.28." or ip starts_with "172.29." or ip starts_with "172.30." or ip starts_with "172.31." or ip starts_with "fd" or ip starts_with "::ffff:10." OR ip starts_with "::ffff:192.168." or ip starts_with "::ffff:172.16." or ip starts_with "::ffff:172.17." or ip starts_with "::ffff:172.18." or ip starts_with "::ffff:172.19." or ip starts_with "::ffff:172.20." or ip starts_with "::ffff:172.21." or ip starts_with "::ffff:172.22." or ip starts_with "::ffff:172.23." or ip starts_with "::ffff:172.24." or ip starts_with "::ffff:172.25." or ip starts_with "::ffff:172.26." or ip starts_with "::ffff:172.27." or ip starts_with "::ffff:172.28." or ip starts_with "::ffff:172.29." or ip starts_with "::ffff:172.30." or ip starts_with "::ffff:172.31." or ip starts_with "fd")`

func corpusRules(t *testing.T) map[string]Rule {
	t.Helper()
	r5type, ok := ParseRuleType("host") // R5 posts the type in lower case
	if !ok {
		t.Fatal(`ParseRuleType("host") failed`)
	}
	rules := []Rule{
		{ID: "r1", Name: "Threat Intelligence: Outbound Connection (Connects) to WAN", Type: TypeThreatIntel,
			Title:    "Threat Intelligence: Outbound Connection (Connects) to WAN: {{threatintel_reason}} to {{ip}}",
			Severity: 1, AggregateFields: []string{"threatintel_reason", "ip"},
			Filter: `type ="connect" and event_type="threatintel"`, Window: 3600, Threshold: 1,
			Suppressions: []string{privateIPSuppression, "port = 0"}, Enabled: true},
		{ID: "r2", Name: "User: Sysctl", Type: TypeHost,
			Title:    "User: Sysctl : {{exe}} run by {{user}} with arguments {{arguments}}",
			Severity: 3, AggregateFields: []string{"user", "exe", "arguments"},
			Filter: `command = "sysctl"`, Window: 86400, Threshold: 1, Enabled: true,
			Suppressions: []string{
				`user = "root" and exe = "/sbin/sysctl" and arguments = "/sbin/sysctl" and agent_id = "dfe3cc18-12c7-4df3-aa95-4fb4ff00f533"`,
				`user = "root" and exe = "/sbin/sysctl" and arguments = "/sbin/sysctl" and agent_id="135ab463-95c8-46d1-b58f-f7922d6a7765"`,
				`cwd starts_with "/opt/rapid7" or cwd starts_with "/home/insightvm" or user starts_with "insightvm"`,
				`(user = "root" and exe like "/sbin/sysctl" and arguments like "sysctl -n") and (arguments like "net.ipv4.tcp_keepalive_intvl" or arguments like "vm.dirty_background_ratio" or arguments like "vm.dirty_ratio" or arguments like "vm.swappiness" or arguments like "vm.dirty_expire_centisecs" or arguments like "net.ipv4.tcp_keepalive_time" or arguments like "net.ipv4.tcp_keepalive_probes" or arguments like "net.ipv4.ip_local_port_range" or arguments like "net.ipv4.tcp_fin_timeout" or arguments like "net.ipv4.tcp_tw_reuse" or arguments like "net.ipv4.ip_default_ttl")`,
			}},
		{ID: "r3", Name: "Users : Login Failures", Type: TypeHost, Severity: 3, Window: 3600, Threshold: 1, Enabled: true,
			Title:           "User Activity (Login Failures): User {{user}} failed authentication from IP {{src_ip}}",
			AggregateFields: []string{"user", "src_ip"},
			Filter:          `group = "authentication-failed" or group = "invalid_login" OR group = "authentication_failed" or group like "fail"`},
		{ID: "r4", Name: "S3FIM", Type: TypeCloudTrail, Severity: 2, Window: 86400, Threshold: 1, Enabled: true,
			Title:           "CloudTrail Activity (S3FIM): {{eventName}} by {{user}}",
			AggregateFields: []string{"eventName", "user"},
			Filter:          `(eventName = "PutObjectAcl" or eventName = "GetObjectAcl" or eventName = "GetObject" or eventName = "PutObject" or eventName = "ListObjects" or eventName = "HeadObject") and bucketName = "xx"`},
		{ID: "r5", Name: "API Test Rule: Sudo Usage", Title: "API Test Rule: Sudo Usage", Type: r5type, Severity: 2,
			AggregateFields: []string{"user", "session"}, Filter: "command = 'sudo'", Window: 3600, Threshold: 1,
			Suppressions: []string{"user = 'alice' OR user = 'bob'"}, Enabled: true},
		{ID: "r6", Name: "Host: New User Added", Title: "Host: New User Added", Type: TypeHost, Severity: 3, Threshold: 1, Window: 86400,
			Filter: "event_type = \"host\" and sigid = \"5902\"", Suppressions: []string{"user = \"chef\""}, Enabled: true},
		{ID: "r7", Name: "File: Secret File Opens", Type: TypeFile, Severity: 3, Threshold: 1, Window: 86400, Enabled: true,
			Title:              "File: Secret File Opens: {{command}} on {{filename}} with {{arguments}}",
			AggregateFields:    []string{"command", "filename", "arguments"},
			Filter:             "user != \"ts-user\"",
			FileIntegrityPaths: []FilePath{{Path: "/home/ubuntu/.aws"}},
			IgnoreFiles:        []string{"*swp", "*swpx", "*lock", "*tmp", "*pkg", "*dpkg-new", "nssdb*", ".*", "*~", "*+", "*-"},
			EventsToMonitor:    []string{"open"}, Suppressions: []string{"user = \"chef\""}},
		{ID: "r8", Name: "User: StudentN: Privilege Escalations", Type: TypeHost, Severity: 2, Window: 3600, Threshold: 1, Enabled: true,
			Title:           "User: StudentN: Privilege Escalation: auser: {{auser}} ran {{exe}} as user: {{user}} with {{arguments}}",
			AggregateFields: []string{"auser", "exe", "user", "arguments"},
			Filter:          `(command = "sudo" or command = "su") and user != "root" and type = "start" and syscall = "execve" and tty != null`},
		{ID: "r9", Name: "Host test rule", Title: "Host test", Type: TypeHost, Window: 3600, Threshold: 1, Enabled: true,
			Filter: "event_type = \"host\"", AggregateFields: []string{"command", "filename"},
			Suppressions: []string{"event_type != \"host\"", "command = \"sudo\""}},
		{ID: "r10", Name: "File test rule", Title: "File test", Type: TypeFile, Window: 86400, Threshold: 1, Enabled: true,
			Filter: "event_type = \"file\"", Suppressions: []string{"event_type != \"file\"", "command = \"sudo\""},
			EventsToMonitor: []string{"all"}, FileIntegrityPaths: []FilePath{{Path: "/etc", Recursive: true}, {Path: "/var/log", Recursive: true}}},
	}
	out := make(map[string]Rule)
	for _, r := range rules {
		out[r.ID] = r
	}
	return out
}

// corpusEvent builds an event JSON from an event type and extra fields.
func corpusEvent(typ string, fields string) string {
	return fmt.Sprintf(`{"_id":"00000000-0000-4000-8000-000000000001","event_type":%q,"agent_id":"dfe3cc18-12c7-4df3-aa95-4fb4ff00f533","timestamp":1690000000000,%s}`, typ, fields)
}

// evalOne returns the titles of the matches of rule r for the event.
func evalOne(t *testing.T, r Rule, js string) []string {
	t.Helper()
	eng, err := NewEngine([]Rule{r})
	if err != nil {
		t.Fatalf("NewEngine(%s): %v", r.ID, err)
	}
	var titles []string
	eng.Evaluate(mustEvent(t, js), func(m Match) { titles = append(titles, m.Title()) })
	return titles
}

func TestRealRules(t *testing.T) {
	rules := corpusRules(t)
	tests := []struct {
		name string
		rule string
		ev   string
		want []string // titles; nil when the rule must not alert
	}{
		{"R1 alerts on a connect to a public IP", "r1",
			corpusEvent("threatintel", `"type":"connect","ip":"185.110.132.54","port":443,"threatintel_reason":"openbl"`),
			[]string{"Threat Intelligence: Outbound Connection (Connects) to WAN: openbl to 185.110.132.54"}},
		{"R1 suppresses 10/8", "r1", corpusEvent("threatintel", `"type":"connect","ip":"10.2.3.4","port":443`), nil},
		{"R1 suppresses 172.31/16", "r1", corpusEvent("threatintel", `"type":"connect","ip":"172.31.0.1","port":443`), nil},
		{"R1 alerts on 172.32/16, outside RFC 1918", "r1", corpusEvent("threatintel", `"type":"connect","ip":"172.32.0.1","port":443,"threatintel_reason":"tor"`),
			[]string{"Threat Intelligence: Outbound Connection (Connects) to WAN: tor to 172.32.0.1"}},
		{"R1 suppresses mapped IPv6 private addresses", "r1", corpusEvent("threatintel", `"type":"connect","ip":"::ffff:192.168.1.9","port":443`), nil},
		{"R1 suppresses ULA IPv6", "r1", corpusEvent("threatintel", `"type":"connect","ip":"fd12::1","port":443`), nil},
		{"R1 suppresses port 0", "r1", corpusEvent("threatintel", `"type":"connect","ip":"185.110.132.54","port":0`), nil},
		{"R1 ignores other kinds", "r1", corpusEvent("threatintel", `"type":"accept","ip":"185.110.132.54","port":443`), nil},
		{"R1 never sees audit events", "r1", corpusEvent("audit", `"type":"connect","ip":"185.110.132.54","port":443`), nil},

		{"R2 alerts on sysctl by a user", "r2",
			corpusEvent("audit", `"command":"sysctl","exe":"/sbin/sysctl","user":"alice","arguments":"sysctl -a","cwd":"/home/alice"`),
			[]string{"User: Sysctl : /sbin/sysctl run by alice with arguments sysctl -a"}},
		{"R2 suppresses root's bare sysctl on the listed agent", "r2",
			corpusEvent("audit", `"command":"sysctl","exe":"/sbin/sysctl","user":"root","arguments":"/sbin/sysctl"`), nil},
		{"R2 alerts on root's bare sysctl elsewhere", "r2",
			strings.Replace(corpusEvent("audit", `"command":"sysctl","exe":"/sbin/sysctl","user":"root","arguments":"/sbin/sysctl"`), "dfe3cc18", "aaaaaaaa", 1),
			[]string{"User: Sysctl : /sbin/sysctl run by root with arguments /sbin/sysctl"}},
		{"R2 suppresses the rapid7 scanner", "r2",
			corpusEvent("audit", `"command":"sysctl","exe":"/sbin/sysctl","user":"bob","arguments":"sysctl -a","cwd":"/opt/rapid7/ir_agent"`), nil},
		{"R2 suppresses the insightvm user", "r2",
			corpusEvent("audit", `"command":"sysctl","exe":"/sbin/sysctl","user":"insightvm_scan","arguments":"sysctl -a"`), nil},
		{"R2 suppresses root reading a tuned key", "r2",
			corpusEvent("audit", `"command":"sysctl","exe":"/usr/sbin/sysctl","user":"root","arguments":"sysctl -n vm.swappiness"`), nil},
		{"R2 alerts on root reading another key", "r2",
			corpusEvent("audit", `"command":"sysctl","exe":"/sbin/sysctl","user":"root","arguments":"sysctl -n kernel.randomize_va_space"`),
			[]string{"User: Sysctl : /sbin/sysctl run by root with arguments sysctl -n kernel.randomize_va_space"}},

		{"R3 alerts on an invalid login", "r3",
			corpusEvent("host", `"sigid":5710,"group":["syslog","sshd","invalid_login","authentication_failed"],"user":"admin","src_ip":"198.51.100.7"`),
			[]string{"User Activity (Login Failures): User admin failed authentication from IP 198.51.100.7"}},
		{"R3 matches like on a substring", "r3", corpusEvent("host", `"group":"pam_failure"`),
			[]string{"User Activity (Login Failures): User  failed authentication from IP "}},
		{"R3 ignores successful logins", "r3", corpusEvent("host", `"group":["syslog","sshd","authentication_success"],"user":"admin"`), nil},

		{"R4 alerts on a read of the bucket", "r4",
			corpusEvent("cloudtrail", `"user":"ryan_canty","miscellaneous":{"eventName":"GetObject","eventSource":"s3.amazonaws.com","requestParameters":{"bucketName":"xx","key":"a.txt"}}`),
			[]string{"CloudTrail Activity (S3FIM): GetObject by ryan_canty"}},
		{"R4 matches flattened records too", "r4",
			corpusEvent("cloudtrail", `"user":"ryan_canty","eventName":"PutObject","bucketName":"xx"`),
			[]string{"CloudTrail Activity (S3FIM): PutObject by ryan_canty"}},
		{"R4 ignores other buckets", "r4",
			corpusEvent("cloudtrail", `"user":"ryan_canty","miscellaneous":{"eventName":"GetObject","requestParameters":{"bucketName":"yy"}}`), nil},
		{"R4 ignores other calls", "r4",
			corpusEvent("cloudtrail", `"user":"ryan_canty","miscellaneous":{"eventName":"DeleteObject","requestParameters":{"bucketName":"xx"}}`), nil},

		{"R5 alerts on sudo", "r5", corpusEvent("audit", `"command":"sudo","user":"carol","session":7`), []string{"API Test Rule: Sudo Usage"}},
		{"R5 suppresses alice", "r5", corpusEvent("audit", `"command":"sudo","user":"alice"`), nil},
		{"R5 suppresses bob", "r5", corpusEvent("audit", `"command":"sudo","user":"bob"`), nil},

		{"R6 alerts on a new user signature", "r6", corpusEvent("host", `"sigid":5902,"user":"root","comment":"New user added to the system"`),
			[]string{"Host: New User Added"}},
		{"R6 suppresses chef", "r6", corpusEvent("host", `"sigid":5902,"user":"chef"`), nil},
		{"R6 ignores other signatures", "r6", corpusEvent("host", `"sigid":5903,"user":"root"`), nil},
		{"R6 ignores audit events", "r6", corpusEvent("audit", `"sigid":5902,"user":"root"`), nil},

		{"R7 alerts on a credentials open", "r7",
			corpusEvent("file", `"type":"open","filename":"/home/ubuntu/.aws/credentials","command":"python3","arguments":"python3 steal.py","user":"ubuntu"`),
			[]string{"File: Secret File Opens: python3 on /home/ubuntu/.aws/credentials with python3 steal.py"}},
		{"R7 ignores other kinds", "r7",
			corpusEvent("file", `"type":"modify","filename":"/home/ubuntu/.aws/credentials","command":"vim","user":"ubuntu"`), nil},
		{"R7 is not recursive", "r7",
			corpusEvent("file", `"type":"open","filename":"/home/ubuntu/.aws/cli/cache/x.json","command":"aws","user":"ubuntu"`), nil},
		{"R7 respects component boundaries", "r7",
			corpusEvent("file", `"type":"open","filename":"/home/ubuntu/.aws-backup/credentials","command":"cat","user":"ubuntu"`), nil},
		{"R7 ignores swap files", "r7",
			corpusEvent("file", `"type":"open","filename":"/home/ubuntu/.aws/credentials.swp","command":"vim","user":"ubuntu"`), nil},
		{"R7 ignores dot files", "r7",
			corpusEvent("file", `"type":"open","filename":"/home/ubuntu/.aws/.lock","command":"aws","user":"ubuntu"`), nil},
		{"R7 skips the agent's own user", "r7",
			corpusEvent("file", `"type":"open","filename":"/home/ubuntu/.aws/config","command":"tsagent","user":"ts-user"`), nil},
		{"R7 suppresses chef", "r7",
			corpusEvent("file", `"type":"open","filename":"/home/ubuntu/.aws/config","command":"ruby","user":"chef"`), nil},
		{"R7 matches the kind in any case", "r7",
			corpusEvent("file", `"type":"OPEN","filename":"/home/ubuntu/.aws/config","command":"cat","arguments":"cat config","user":"ubuntu"`),
			[]string{"File: Secret File Opens: cat on /home/ubuntu/.aws/config with cat config"}},

		{"R8 alerts on an interactive sudo", "r8",
			corpusEvent("audit", `"command":"sudo","user":"ubuntu","auser":"ubuntu","exe":"/usr/bin/sudo","arguments":"sudo -i","type":"start","syscall":"execve","tty":"pts/0"`),
			[]string{"User: StudentN: Privilege Escalation: auser: ubuntu ran /usr/bin/sudo as user: ubuntu with sudo -i"}},
		{"R8 alerts on su", "r8",
			corpusEvent("audit", `"command":"su","user":"ubuntu","auser":"ubuntu","exe":"/bin/su","arguments":"su -","type":"start","syscall":"execve","tty":"pts/1"`),
			[]string{"User: StudentN: Privilege Escalation: auser: ubuntu ran /bin/su as user: ubuntu with su -"}},
		{"R8 ignores non-interactive sudo", "r8",
			corpusEvent("audit", `"command":"sudo","user":"ubuntu","type":"start","syscall":"execve","tty":null`), nil},
		{"R8 ignores sudo without a tty field", "r8",
			corpusEvent("audit", `"command":"sudo","user":"ubuntu","type":"start","syscall":"execve"`), nil},
		{"R8 ignores root", "r8",
			corpusEvent("audit", `"command":"sudo","user":"root","type":"start","syscall":"execve","tty":"pts/0"`), nil},

		{"R9 alerts on host events", "r9", corpusEvent("host", `"command":"ls"`), []string{"Host test"}},
		{"R9 suppresses sudo", "r9", corpusEvent("host", `"command":"sudo"`), nil},
		{"R9 ignores audit events", "r9", corpusEvent("audit", `"command":"ls"`), nil},

		{"R10 alerts under /etc recursively", "r10",
			corpusEvent("file", `"type":"modify","filename":"/etc/ssh/sshd_config","command":"vim"`), []string{"File test"}},
		{"R10 alerts under /var/log", "r10",
			corpusEvent("file", `"type":"delete","filename":"/var/log/nginx/access.log.1","command":"logrotate"`), []string{"File test"}},
		{"R10 alerts on the path itself", "r10",
			corpusEvent("file", `"type":"attrib","filename":"/etc","command":"chmod"`), []string{"File test"}},
		{"R10 respects component boundaries", "r10",
			corpusEvent("file", `"type":"modify","filename":"/etcetera/x","command":"vim"`), nil},
		{"R10 suppresses sudo", "r10",
			corpusEvent("file", `"type":"modify","filename":"/etc/sudoers","command":"sudo"`), nil},
		{"R10 never sees audit events", "r10",
			corpusEvent("audit", `"type":"modify","filename":"/etc/passwd","command":"vim"`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := evalOne(t, rules[tt.rule], tt.ev)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("titles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRealSuppressionExamples(t *testing.T) {
	chrony := mustEvent(t, corpusEvent("audit", `"user":"root","tty":null,"cwd":"/usr/bin","session":4294967295,"auid":4294967295,`+
		`"arguments":"ps -e -o pid,ppid,state,command","exe":"/usr/sbin/chronyd","command":"ps","pid":3081,"event_time":1654270691800`))
	other := mustEvent(t, corpusEvent("audit", `"user":"root","tty":"pts/0","cwd":"/root","session":3,"auid":1000,`+
		`"arguments":"ps aux","exe":"/usr/bin/ps","command":"ps","pid":4000`))
	tests := []struct {
		name        string
		filter      string
		chrony, oth bool
	}{
		{"the good suppression hits only chronyd's ps",
			`user = 'root' AND tty = null AND cwd = '/usr/bin' AND session = '4294967295' AND auid = '4294967295' AND arguments = 'ps -e -o pid,ppid,state,command' AND exe = '/usr/sbin/chronyd'`,
			true, false},
		{"the pid-based one only hits that exact process",
			`pid = '3081' AND user = 'root' AND agent_id = "dfe3cc18-12c7-4df3-aa95-4fb4ff00f533" AND command = 'ps' AND event_time = '1654270691800'`,
			true, false},
		{"the too-broad one hits every root ps", `user = 'root' AND command = 'ps'`, true, true},
		{"the search-language example", `event_type="network" and src_ip starts_with "10.1.242"`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustCompile(t, tt.filter)
			if got := []bool{f.Match(chrony), f.Match(other)}; !cmp.Equal(got, []bool{tt.chrony, tt.oth}) {
				t.Errorf("chronyd, other = %v, want %v, %v", got, tt.chrony, tt.oth)
			}
		})
	}
	network := mustEvent(t, corpusEvent("network", `"src_ip":"10.1.242.17","dst_ip":"10.1.0.2","protocol":"tcp"`))
	if !mustCompile(t, `event_type="network" and src_ip starts_with "10.1.242"`).Match(network) {
		t.Error("the search-language example does not match its network event")
	}
}

func TestRealSnippetsThatMustNotParse(t *testing.T) {
	for _, src := range []string{
		`command =“sudo”`,     // R12, smart quotes from the docs
		`Event_type =“login"`, // R12, mixed quotes
		"user = 'XXXX' AND tty = 'value' AND session = 'XXXXXXXX' AND arguments starts_with AND arguments like AND exe = 'value2'", // R11 advice template
	} {
		_, err := Compile(src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q) = %v, want a *SyntaxError", src, err)
		}
	}
}
