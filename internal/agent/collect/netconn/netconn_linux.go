//go:build linux

package netconn

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aipsec/aip/internal/agent/collect"
	"github.com/aipsec/aip/internal/agent/collect/process"
)

// Run implements collect.Collector.
//
// Reading the socket tables walks the kernel's whole connection hash
// table (some 16 ms a cycle on a large-memory host, even when idle), so
// each tick first reads the TCP ActiveOpens counter of /proc/net/snmp (a
// few microseconds) and walks the tables only when it moved, or every
// FullEvery for connected UDP sockets, which no counter announces. An idle
// host thus costs almost nothing.
func (c *Collector) Run(ctx context.Context, emit collect.Emit) error {
	p := newPoller("/proc", c.cfg.Names)
	// The counter is read before the tables: a connection opened while
	// they are read moves it past this value, so the next tick looks again.
	opens, _ := activeOpens("/proc")
	if err := p.poll(emit); err != nil {
		return fmt.Errorf("network collector: %w", err)
	}
	lastFull := time.Now()
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			n, err := activeOpens("/proc")
			if err == nil && n == opens && now.Sub(lastFull) < c.cfg.FullEvery {
				continue
			}
			opens, lastFull = n, now
			if err := p.poll(emit); err != nil {
				c.cfg.Logger.Warn("network collector: poll", "err", err)
			}
		}
	}
}

// activeOpens reads the TCP ActiveOpens counter (outgoing connection
// attempts, IPv4 and IPv6) from root/net/snmp.
func activeOpens(root string) (int64, error) {
	b, err := os.ReadFile(root + "/net/snmp")
	if err != nil {
		return 0, err
	}
	return parseActiveOpens(string(b))
}

// table is one /proc/net socket table and the protocol it holds.
type table struct {
	file, proto string
}

var tables = []table{{"tcp", "tcp"}, {"tcp6", "tcp"}, {"udp", "udp"}, {"udp6", "udp"}}

// poller remembers the socket inodes already reported (or judged inbound)
// so each is looked at once; gen marks the ones still present so closed
// sockets are forgotten.
type poller struct {
	root  string
	names *process.Names
	seen  map[uint64]uint64 // inode → generation last present
	gen   uint64
}

func newPoller(root string, names *process.Names) *poller {
	return &poller{root: root, names: names, seen: make(map[uint64]uint64)}
}

type candidate struct {
	e     sockEntry
	proto string
}

// poll reads the socket tables once and emits the new outbound sockets. A
// missing table (no IPv6 in the kernel) is skipped; only when no table at
// all can be read is it an error.
func (p *poller) poll(emit collect.Emit) error {
	p.gen++
	listening := map[string]map[uint16]bool{"tcp": {}, "udp": {}}
	var entries []candidate
	read := 0
	for _, t := range tables {
		b, err := os.ReadFile(p.root + "/net/" + t.file)
		if err != nil {
			continue
		}
		read++
		lines := strings.Split(string(b), "\n")
		for _, line := range lines[1:] {
			if strings.TrimSpace(line) == "" {
				continue
			}
			e, err := parseSockLine(line)
			if err != nil {
				continue
			}
			switch {
			case t.proto == "tcp" && e.state == stateListen,
				t.proto == "udp" && e.state == stateClose: // a bound, unconnected UDP socket serves its port
				listening[t.proto][e.local.Port()] = true
			}
			entries = append(entries, candidate{e, t.proto})
		}
	}
	if read == 0 {
		return fmt.Errorf("no socket table readable under %s/net", p.root)
	}
	var fresh []candidate
	for _, c := range entries {
		e := c.e
		if e.inode == 0 {
			continue // TIME_WAIT and friends: no socket left
		}
		outbound := e.state == stateEstablished || (c.proto == "tcp" && e.state == stateSynSent)
		if !outbound || e.remote.Port() == 0 {
			continue
		}
		if _, ok := p.seen[e.inode]; ok {
			p.seen[e.inode] = p.gen
			continue
		}
		p.seen[e.inode] = p.gen
		if listening[c.proto][e.local.Port()] {
			continue // the accepted side of an inbound connection
		}
		fresh = append(fresh, c)
	}
	for ino, g := range p.seen {
		if g != p.gen {
			delete(p.seen, ino)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	want := make(map[uint64]int, len(fresh))
	for _, c := range fresh {
		want[c.e.inode] = 0
	}
	p.findOwners(want)
	now := collect.Now()
	for _, c := range fresh {
		emit(p.event(c, want[c.e.inode], now))
	}
	return nil
}

func (p *poller) event(c candidate, pid int, now int64) collect.Event {
	e := c.e
	ev := collect.Event{
		"event_type": "audit", "syscall": "connect", "type": "connect", "success": true,
		"protocol": c.proto,
		"src_ip":   e.local.Addr().String(), "src_port": int(e.local.Port()),
		"dst_ip": e.remote.Addr().String(), "dst_port": int(e.remote.Port()),
		"uid": e.uid, "timestamp": now,
	}
	if name, ok := p.names.User(e.uid); ok {
		ev["user"] = name
	}
	if pid > 0 {
		ev["pid"] = pid
		if exe, err := os.Readlink(p.root + "/" + strconv.Itoa(pid) + "/exe"); err == nil {
			ev["exe"] = exe
			ev["command"] = filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
		} else if b, err := os.ReadFile(p.root + "/" + strconv.Itoa(pid) + "/comm"); err == nil {
			ev["command"] = strings.TrimSpace(string(b))
		}
	}
	return ev
}

// findOwners fills want (inode → pid) by reading the fd symlinks of every
// process, stopping as soon as all inodes are found. A socket shared by
// several processes is attributed to the first one found.
func (p *poller) findOwners(want map[uint64]int) {
	d, err := os.Open(p.root)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	left := len(want)
	for _, name := range names {
		if left == 0 {
			return
		}
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		fdDir := p.root + "/" + name + "/fd"
		fd, err := os.Open(fdDir)
		if err != nil {
			continue // exited, or not ours to read
		}
		fds, _ := fd.Readdirnames(-1) // on error: the names read so far
		fd.Close()
		for _, f := range fds {
			target, err := os.Readlink(fdDir + "/" + f)
			if err != nil || !strings.HasPrefix(target, "socket:[") {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(target[len("socket:["):], "]"), 10, 64)
			if err != nil {
				continue
			}
			if owner, ok := want[ino]; ok && owner == 0 {
				want[ino] = pid
				left--
			}
		}
	}
}
