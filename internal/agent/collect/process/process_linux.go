//go:build linux

package process

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aipsec/aip/internal/agent/collect"
)

// Run implements collect.Collector: it uses the connector when it can be
// opened and falls back to scanning /proc otherwise.
func (c *Collector) Run(ctx context.Context, emit collect.Emit) error {
	if !c.cfg.NoConnector {
		conn, err := openConnector()
		if err == nil {
			c.mode.Store(ModeConnector)
			return c.runConnector(ctx, conn, emit)
		}
		c.cfg.Logger.Info("process collector: connector unavailable, scanning /proc (short-lived processes may be missed)",
			"err", err, "interval", c.cfg.ScanInterval)
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return fmt.Errorf("process collector: /proc not available: %w", err)
	}
	return c.runScan(ctx, emit)
}

func (c *Collector) runConnector(ctx context.Context, conn *connector, emit collect.Emit) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() {
		if stop() { // ctx not done: Run is returning on an error
			conn.Close()
		}
	}()
	// parents maps a live process (tgid) to the tgid that forked it, from
	// fork events, so an exec whose process already exited still gets its
	// ppid. Exit events prune it, so it is bounded by the live processes.
	parents := make(map[uint32]uint32)
	ne := binary.NativeEndian
	buf := make([]byte, 64*1024)
	var lost int
	for {
		n, err := conn.recv(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, unix.ENOBUFS) {
				// The socket buffer overflowed: events were dropped by the
				// kernel. Say so and go on.
				lost++
				c.cfg.Logger.Warn("process collector: connector overflow, process starts lost", "overflows", lost)
				continue
			}
			return fmt.Errorf("process collector: read connector: %w", err)
		}
		eachProcEvent(buf[:n], func(_, what uint32, body []byte) {
			switch what {
			case procEventFork:
				if len(body) >= 16 {
					ptgid, cpid, ctgid := ne.Uint32(body[4:]), ne.Uint32(body[8:]), ne.Uint32(body[12:])
					if cpid == ctgid { // a new process, not a thread
						parents[ctgid] = ptgid
					}
				}
			case procEventExec:
				if len(body) >= 8 {
					tgid := ne.Uint32(body[4:])
					emit(procEvent("/proc", int(tgid), int(parents[tgid]), c.cfg.Names))
				}
			case procEventExit:
				if len(body) >= 8 && ne.Uint32(body[0:]) == ne.Uint32(body[4:]) {
					delete(parents, ne.Uint32(body[4:]))
				}
			}
		})
	}
}

func (c *Collector) runScan(ctx context.Context, emit collect.Emit) error {
	s := newScanner("/proc", c.cfg.Names)
	if err := s.scan(nil); err != nil {
		return fmt.Errorf("process collector: %w", err)
	}
	c.mode.Store(ModeProcScan) // only now: starts from here on are reported
	t := time.NewTicker(c.cfg.ScanInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.scan(emit); err != nil {
				c.cfg.Logger.Warn("process collector: scan /proc", "err", err)
			}
		}
	}
}

// forkGrace is how long the scanner waits for a forked child that still
// runs its parent's program to exec before deciding it is a plain fork
// (a worker process), which is not a program start.
const forkGrace = time.Second

// seenProc is a pid the scanner has looked at. Its identity is the pid
// alone: stat'ing every known pid on every scan to compare start times
// would multiply the idle cost, and a pid reused within one interval is
// already covered by the best-effort caveat.
type seenProc struct {
	gen uint64
	// pendingSince is set while the process looks like an un-exec'd fork
	// of its parent.
	pendingSince time.Time
	ppid         int
}

// scanner finds processes started since the previous scan. A scan costs a
// readdir of /proc plus, for new pids only, a few /proc/PID reads.
type scanner struct {
	root  string
	names *Names
	seen  map[int]*seenProc
	gen   uint64
	buf   []string
}

func newScanner(root string, names *Names) *scanner {
	return &scanner{root: root, names: names, seen: make(map[int]*seenProc)}
}

// scan lists /proc; emit nil makes it a baseline scan that reports nothing.
func (s *scanner) scan(emit collect.Emit) error {
	d, err := os.Open(s.root)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.root, err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("list %s: %w", s.root, err)
	}
	s.gen++
	now := time.Now()
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if p, ok := s.seen[pid]; ok {
			p.gen = s.gen
			if !p.pendingSince.IsZero() {
				s.recheck(pid, p, now, emit)
			}
			continue
		}
		st, err := readStat(s.root + "/" + name)
		if err != nil {
			continue // exited already
		}
		p := &seenProc{gen: s.gen, ppid: st.ppid}
		s.seen[pid] = p
		if emit == nil {
			continue
		}
		if s.sameImageAsParent(pid, st.ppid) {
			p.pendingSince = now
			continue
		}
		emit(procEvent(s.root, pid, st.ppid, s.names))
	}
	for pid, p := range s.seen {
		if p.gen != s.gen {
			delete(s.seen, pid)
		}
	}
	return nil
}

// recheck reports a pending fork once it has exec'd, or gives up on it
// after forkGrace.
func (s *scanner) recheck(pid int, p *seenProc, now time.Time, emit collect.Emit) {
	if !s.sameImageAsParent(pid, p.ppid) {
		p.pendingSince = time.Time{}
		if emit != nil {
			emit(procEvent(s.root, pid, p.ppid, s.names))
		}
		return
	}
	if now.Sub(p.pendingSince) > forkGrace {
		p.pendingSince = time.Time{}
	}
}

// sameImageAsParent tells a freshly forked child that has not exec'd yet
// (same exe and same cmdline as its parent) from a program start.
func (s *scanner) sameImageAsParent(pid, ppid int) bool {
	if ppid <= 0 {
		return false
	}
	dir, pdir := s.root+"/"+strconv.Itoa(pid), s.root+"/"+strconv.Itoa(ppid)
	exe, err1 := os.Readlink(dir + "/exe")
	pexe, err2 := os.Readlink(pdir + "/exe")
	if err1 != nil || err2 != nil || exe != pexe {
		return false
	}
	cmd, err1 := os.ReadFile(dir + "/cmdline")
	pcmd, err2 := os.ReadFile(pdir + "/cmdline")
	return err1 == nil && err2 == nil && bytes.Equal(cmd, pcmd)
}
