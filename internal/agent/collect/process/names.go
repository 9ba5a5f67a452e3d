package process

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// Names resolves uids and gids to user and group names from /etc/passwd and
// /etc/group. Lookups are served from memory because a collector may resolve
// thousands of ids per second; the files are re-read only when their size,
// mtime or inode changed, and that is checked at most once per CheckEvery so a
// burst of lookups costs no syscalls. Safe for concurrent use.
type Names struct {
	passwdPath string
	groupPath  string
	checkEvery time.Duration

	mu        sync.Mutex
	checked   time.Time
	passwdSig fileSig
	groupSig  fileSig
	users     map[int]string
	groups    map[int]string
}

type fileSig struct {
	size  int64
	mtime time.Time
	ino   uint64
	ok    bool
}

// NewNames returns a resolver for the given passwd and group files; empty
// paths mean /etc/passwd and /etc/group.
func NewNames(passwdPath, groupPath string) *Names {
	if passwdPath == "" {
		passwdPath = "/etc/passwd"
	}
	if groupPath == "" {
		groupPath = "/etc/group"
	}
	return &Names{passwdPath: passwdPath, groupPath: groupPath, checkEvery: time.Second}
}

// User returns the name of uid, or false when no passwd entry has it.
func (n *Names) User(uid int) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.refresh()
	name, ok := n.users[uid]
	return name, ok
}

// Group returns the name of gid, or false when no group entry has it.
func (n *Names) Group(gid int) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.refresh()
	name, ok := n.groups[gid]
	return name, ok
}

// refresh re-reads a file whose signature changed; n.mu is held.
func (n *Names) refresh() {
	now := time.Now()
	if n.users != nil && now.Sub(n.checked) < n.checkEvery {
		return
	}
	n.checked = now
	if sig := statSig(n.passwdPath); n.users == nil || sig != n.passwdSig {
		n.passwdSig = sig
		n.users = readIDFile(n.passwdPath)
	}
	if sig := statSig(n.groupPath); n.groups == nil || sig != n.groupSig {
		n.groupSig = sig
		n.groups = readIDFile(n.groupPath)
	}
}

func statSig(path string) fileSig {
	fi, err := os.Stat(path)
	if err != nil {
		return fileSig{}
	}
	return fileSig{size: fi.Size(), mtime: fi.ModTime(), ino: inode(fi), ok: true}
}

// readIDFile maps the third field (the id) of each name:x:id:... line to
// the first; passwd and group share that layout. A missing or unreadable
// file yields an empty map: names are then left out of events, which is
// better than failing the collector.
func readIDFile(path string) map[int]string {
	m := make(map[int]string)
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		parts := bytes.SplitN(line, []byte(":"), 4)
		if len(parts) < 3 {
			continue
		}
		id, err := strconv.Atoi(string(parts[2]))
		if err != nil {
			continue
		}
		if _, dup := m[id]; !dup { // the first entry wins, as getpwuid does
			m[id] = string(parts[0])
		}
	}
	return m
}
