package demo

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// fields is the body of an event under construction.
type fields map[string]any

// pending is an event before its envelope: its time and type.
type pending struct {
	ts   int64
	typ  string
	body fields
}

// event is a finished event.
type event struct {
	ts   int64
	json []byte
}

// unsetID is the audit id of a process with no login behind it.
const unsetID = 4294967295

// gen builds the events of one host for one second.
type gen struct {
	f    *Fleet
	i    int
	h    *Host
	p    *procs
	r    *rand.Rand
	base int64 // ms: the start of the second
	evs  []pending
}

// splitmix64 scrambles x so that neighbouring inputs give unrelated seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// second returns host i's events of second sec of the fleet's life (sec
// may be negative: the background runs before the epoch too), in time
// order. It depends on the fleet, i, sec and epoch only.
func (f *Fleet) second(i int, sec, epoch int64) []event {
	r := rand.New(rand.NewPCG(splitmix64(uint64(f.seed)^uint64(i)<<32), splitmix64(uint64(sec))))
	g := &gen{f: f, i: i, h: &f.hosts[i], p: &f.procs[i], r: r, base: epoch + sec*1000}
	g.background(sec)
	if f.scen && sec >= 0 {
		g.scenarios(sec)
	}
	slices.SortStableFunc(g.evs, func(a, b pending) int { return cmp.Compare(a.ts, b.ts) })
	out := make([]event, 0, len(g.evs))
	for _, p := range g.evs {
		out = append(out, event{ts: p.ts, json: g.envelope(p)})
	}
	return out
}

// envelope adds the fields of rules-events.md §3.2 an agent knows and
// returns the event's JSON. agent_id and organization_id are the server's
// to add: the agent does not know them in this shape.
func (g *gen) envelope(p pending) []byte {
	m := make(fields, len(p.body)+8)
	for k, v := range p.body {
		m[k] = v
	}
	m["_id"] = g.uuid()
	m["event_type"] = p.typ
	m["timestamp"] = p.ts
	m["event_time"] = p.ts
	m["agent_metadata"] = fields{"deployment_mode": "host", "version": g.h.AgentVersion}
	m["host_metadata"] = fields{
		"hostname": g.h.Hostname, "kernel": g.h.Kernel, "os_version": g.h.OSVersion, "image_id": g.h.ImageID,
		"instance_id": g.h.InstanceID, "instance_type": g.h.InstanceType, "server_name": g.h.Hostname,
	}
	m["provider_metadata"] = fields{"cloud_provider": "aws", "account_id": g.f.accountID, "availability_zone": g.h.AvailabilityZone}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Command lines read better with their '>' and '&' as they are.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		// Only values built here go in, all of them encodable.
		panic(fmt.Sprintf("demo: encode event: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// uuid draws a random (version 4) UUID from the second's generator.
func (g *gen) uuid() string {
	var b [16]byte
	for j := 0; j < 16; j += 8 {
		v := g.r.Uint64()
		for k := 0; k < 8; k++ {
			b[j+k] = byte(v >> (8 * k))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func (g *gen) add(offMs int64, typ string, body fields) {
	g.evs = append(g.evs, pending{ts: g.base + min(max(offMs, 0), 999), typ: typ, body: body})
}

// ms draws an offset within the second.
func (g *gen) ms() int64 { return int64(g.r.IntN(1000)) }

// proc describes a process start.
type proc struct {
	command, exe string
	argv         []string
	user         string
	uid          int
	auser        string // "" when no login is behind it
	auid         int
	tty          any // nil when non-interactive
	cwd          string
	pid, ppid    int
	parentExe    string
}

// execve is the audit event of p's start (rules-events.md §3.3).
func (g *gen) execve(p proc) fields {
	auser, auid, session := p.auser, p.auid, 1+g.i
	if auser == "" {
		auser, auid, session = "unset", unsetID, unsetID
	}
	return fields{
		"syscall": "execve", "type": "start", "success": true, "exit": "0",
		"exe": p.exe, "command": p.command, "args": p.argv, "arguments": strings.Join(p.argv, " "),
		"cwd": p.cwd, "path": []string{p.exe, "/lib64/ld-linux-x86-64.so.2"},
		"pid": p.pid, "ppid": p.ppid, "uid": p.uid, "gid": p.uid, "user": p.user, "group": p.user,
		"auid": auid, "auser": auser, "session": session, "tty": p.tty,
		"parent_metadata": fields{"exe": p.parentExe, "pid": p.ppid, "timestamp": g.base - g.p.bootMs},
	}
}

// syscallEv is the audit event of another syscall by a process.
func (g *gen) syscallEv(syscall, command, exe, user string, uid, pid int, auser string, auid int, tty any) fields {
	session := 1 + g.i
	if auser == "" {
		auser, auid, session = "unset", unsetID, unsetID
	}
	return fields{
		"syscall": syscall, "type": syscall, "success": true, "exit": "0", "exe": exe, "command": command,
		"arguments": command, "pid": pid, "uid": uid, "user": user, "auid": auid, "auser": auser,
		"session": session, "tty": tty,
	}
}

// connect is the audit event of a TCP or UDP connect.
func (g *gen) connect(command, exe, user string, uid, pid int, dstIP string, dstPort int, proto string) fields {
	src := g.h.IPs.Private[0]
	if strings.HasPrefix(dstIP, "127.") {
		src = "127.0.0.1"
	}
	return fields{
		"syscall": "connect", "type": "connect", "success": true, "exe": exe, "command": command,
		"src_ip": src, "src_port": 32768 + g.r.IntN(28232), "dst_ip": dstIP, "dst_port": dstPort, "protocol": proto,
		"pid": pid, "uid": uid, "user": user, "auid": unsetID, "auser": "unset", "session": unsetID, "tty": nil,
	}
}

// authLog is the host's authentication log.
func (g *gen) authLog() string {
	if g.h.Role == RoleDB {
		return "/var/log/secure"
	}
	return "/var/log/auth.log"
}

// logSig is a host (log signature) event for a line of program[pid]
// logged at atMs (epoch ms).
func (g *gen) logSig(atMs int64, sigid, level int, groups []string, comment, program string, pid int, msg string, extra fields) fields {
	stamp := time.UnixMilli(atMs).UTC().Format("Jan _2 15:04:05")
	f := fields{
		"_type": "host", "hostname": g.h.Hostname, "comment": comment, "sigid": sigid, "group": groups,
		"groups": groups[:1], "level": level, "location": g.authLog(), "pid": pid,
		"log": fmt.Sprintf("%s %s %s[%d]: %s", stamp, g.h.Hostname, program, pid, msg),
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

// fileEv is a FIM event; kind is the event kind in "type".
func (g *gen) fileEv(kind, filename, command, exe, user string, uid, pid int, argv []string) fields {
	return fields{
		"type": kind, "filename": filename, "command": command, "exe": exe, "arguments": strings.Join(argv, " "),
		"user": user, "uid": uid, "pid": pid, "session": unsetID, "src_user": user, "dst_user": user,
	}
}

// hostIP returns the private address of the first host with role, or
// fallback when the fleet has none.
func (f *Fleet) hostIP(role, fallback string) string {
	for _, h := range f.hosts {
		if h.Role == role {
			return h.IPs.Private[0]
		}
	}
	return fallback
}

// hostFor returns the index of the first host with role, or host 0.
func (f *Fleet) hostFor(role string) int {
	for i, h := range f.hosts {
		if h.Role == role {
			return i
		}
	}
	return 0
}

// mod is the non-negative remainder of a by b.
func mod(a, b int64) int64 { return (a%b + b) % b }
