package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// benchEvents returns n realistic agent events of about 1 KB in the field
// shapes of rules-events.md §3: mostly audit execve events, with connects,
// log signatures, logins and file events mixed in.
func benchEvents(n int) []string {
	envelope := `"agent_id":"5f0a3d0e-8c4b-4a55-9b7a-2c7f3c6d1e01","organization_id":"5e8f1c2b3a4d5e6f7a8b9c0d",` +
		`"event_time":1690000000000,"_insert_time":1690000000123,` +
		`"agent_metadata":{"agent_id":"5e8f1c2b3a4d5e6f7a8b9c0d/5f0a3d0e","deployment_mode":"host","version":"3.0.0"},` +
		`"host_metadata":{"hostname":"web-1","kernel":"5.10.0-23-amd64","os_version":"ubuntu-20.04","image_id":"ami-0abcdef1234567890","instance_id":"i-0123456789abcdef0","instance_type":"t3.medium"},` +
		`"provider_metadata":{"cloud_provider":"aws","account_id":"123456789012","availability_zone":"us-east-1a"}`
	cmds := []string{"ls", "grep", "cat", "ps", "sed", "awk", "git", "node", "java", "sudo", "curl", "systemctl", "python3"}
	out := make([]string, 0, n)
	for i := 0; len(out) < n; i++ {
		id, ts := uid(i), 1690000000000+int64(i)*7
		var e string
		switch i % 10 {
		case 7:
			e = fmt.Sprintf(`{"_id":%q,"event_type":"audit","timestamp":%d,%s,"syscall":"connect","type":"connect","success":true,`+
				`"exe":"/usr/sbin/nginx","command":"nginx","src_ip":"10.0.1.15","src_port":%d,"dst_ip":"203.0.113.9","dst_port":443,`+
				`"protocol":"tcp","pid":811,"ppid":1,"uid":33,"user":"www-data","auid":4294967295,"session":4294967295,"tty":null}`,
				id, ts, envelope, 40000+i%20000)
		case 8:
			e = fmt.Sprintf(`{"_id":%q,"event_type":"host","timestamp":%d,%s,"_type":"host","hostname":"web-1",`+
				`"comment":"Attempt to login using a non-existent user","sigid":5710,"group":["syslog","sshd","invalid_login","authentication_failed"],`+
				`"groups":["syslog","sshd"],"level":5,"location":"/var/log/auth.log",`+
				`"log":"Jul 22 04:26:40 web-1 sshd[%d]: Invalid user admin from 198.51.100.7 port 52044","src_ip":"198.51.100.7","user":"admin","pid":%d}`,
				id, ts, envelope, 4000+i, 4000+i)
		case 9:
			e = fmt.Sprintf(`{"_id":%q,"event_type":"file","timestamp":%d,%s,"type":"modify","filename":"/etc/nginx/sites-enabled/app%d.conf",`+
				`"command":"vim","exe":"/usr/bin/vim.basic","arguments":"vim /etc/nginx/sites-enabled/app.conf","user":"root","uid":0,"pid":%d,`+
				`"session":7,"src_user":"ubuntu","dst_user":"root"}`, id, ts, envelope, i, 3000+i)
		default:
			c := cmds[i%len(cmds)]
			e = fmt.Sprintf(`{"_id":%q,"event_type":"audit","timestamp":%d,%s,"syscall":"execve","type":"start","success":true,"exit":"0",`+
				`"exe":"/usr/bin/%s","command":%q,"args":[%q,"-la","/var/lib/app"],"arguments":"%s -la /var/lib/app","cwd":"/home/ubuntu",`+
				`"path":["/usr/bin/%s","/lib64/ld-linux-x86-64.so.2"],"pid":%d,"ppid":1187,"uid":1000,"gid":1000,"user":"ubuntu","group":"ubuntu",`+
				`"auid":1000,"auser":"ubuntu","session":7,"tty":"pts/0","parent_metadata":{"exe":"/usr/bin/bash","pid":1187,"timestamp":1689999999000},`+
				`"header":{"id":"a1b2","milliseconds":%d,"timestamp":"1690000000.000","sequenceId":%d}}`,
				id, ts, envelope, c, c, c, c, c, 20000+i, ts, 918273+i)
		}
		out = append(out, e)
	}
	return out
}

func BenchmarkDecode500(b *testing.B) {
	evs := benchEvents(500)
	array := []byte("[" + strings.Join(evs, ",") + "]")
	ndjson := []byte(strings.Join(evs, "\n") + "\n")
	pretty := []byte("[\n  " + strings.Join(evs, ",\n  ") + "\n]\n")
	cases := []struct {
		name    string
		body    []byte
		ce      string
		decoded int
	}{
		{"array", array, "", len(array)},
		{"ndjson", ndjson, "", len(ndjson)},
		{"pretty_array", pretty, "", len(pretty)},
		{"gzip_array", gz(b, string(array)), "gzip", len(array)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(c.decoded))
			b.ReportAllocs()
			r := bytes.NewReader(nil)
			for b.Loop() {
				r.Reset(c.body)
				batch, err := Decode(r, "", c.ce, Limits{})
				if err != nil || len(batch.Events) != 500 {
					b.Fatalf("Decode: %v, %d rejected", err, len(batch.Rejected))
				}
			}
			b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(c.decoded)/500, "B/event")
		})
	}
}
