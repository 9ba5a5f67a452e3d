//go:build linux

package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aipsec/aip/internal/agent/collect"
)

// unsetID is the value of loginuid and sessionid for a process outside any
// login session.
const unsetID = 4294967295

// statInfo is the part of /proc/PID/stat the collector needs.
type statInfo struct {
	comm  string
	ppid  int
	ttyNr int64
}

// parseStat parses /proc/PID/stat. comm may hold spaces and parentheses, so
// the fields are counted from the last ')'.
func parseStat(b []byte) (statInfo, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return statInfo{}, errors.New("parse stat: no comm")
	}
	st := statInfo{comm: string(b[open+1 : end])}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state): field n is f[n-3].
	if len(f) < 5 {
		return statInfo{}, errors.New("parse stat: too few fields")
	}
	var err error
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return statInfo{}, fmt.Errorf("parse stat ppid: %w", err)
	}
	if st.ttyNr, err = strconv.ParseInt(f[4], 10, 64); err != nil {
		return statInfo{}, fmt.Errorf("parse stat tty_nr: %w", err)
	}
	return st, nil
}

func readStat(dir string) (statInfo, error) {
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return statInfo{}, fmt.Errorf("read stat: %w", err)
	}
	return parseStat(b)
}

// parseStatusIDs returns the real uid and gid from /proc/PID/status (audit
// reports the real ids in uid/gid).
func parseStatusIDs(b []byte) (uid, gid int, ok bool) {
	var gotU, gotG bool
	for len(b) > 0 && !(gotU && gotG) {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		var dst *int
		switch {
		case bytes.HasPrefix(line, []byte("Uid:")):
			dst, gotU = &uid, true
		case bytes.HasPrefix(line, []byte("Gid:")):
			dst, gotG = &gid, true
		default:
			continue
		}
		f := bytes.Fields(line[4:])
		if len(f) == 0 {
			return 0, 0, false
		}
		v, err := strconv.Atoi(string(f[0]))
		if err != nil {
			return 0, 0, false
		}
		*dst = v
	}
	return uid, gid, gotU && gotG
}

func readUint(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	return v, err == nil
}

// splitCmdline splits /proc/PID/cmdline on NUL, dropping the terminator.
func splitCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	parts := bytes.Split(b, []byte{0})
	args := make([]string, len(parts))
	for i, p := range parts {
		args[i] = string(p)
	}
	return args
}

// procEvent builds the execve event of pid from /proc (root is normally
// "/proc"). fallbackPPID (0 = none) is used when the process is already
// gone and its stat cannot be read. The most short-lived data (exe,
// cmdline, cwd vanish at exit) is read first.
func procEvent(root string, pid, fallbackPPID int, names *Names) collect.Event {
	dir := root + "/" + strconv.Itoa(pid)
	ev := collect.Event{
		"event_type": "audit", "syscall": "execve", "type": "start",
		"success": true, "exit": "0", "pid": pid, "timestamp": collect.Now(),
	}
	partial := false
	exe, err := os.Readlink(dir + "/exe")
	if err == nil {
		ev["exe"] = exe
	} else {
		partial = true
	}
	if b, err := os.ReadFile(dir + "/cmdline"); err == nil && len(b) > 0 {
		args := splitCmdline(b)
		ev["args"] = args
		ev["arguments"] = strings.Join(args, " ")
	} else {
		partial = true
	}
	if cwd, err := os.Readlink(dir + "/cwd"); err == nil {
		ev["cwd"] = cwd
	} else {
		partial = true
	}
	ppid := fallbackPPID
	st, err := readStat(dir)
	if err == nil {
		if st.ppid > 0 {
			// 0 while the process is being reaped: keep the fork event's ppid.
			ppid = st.ppid
		}
		ev["tty"] = TTYName(st.ttyNr)
	} else {
		partial = true
	}
	switch {
	case exe != "":
		ev["command"] = filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
	case st.comm != "":
		ev["command"] = st.comm
	}
	if ppid > 0 {
		ev["ppid"] = ppid
		pm := map[string]any{"pid": ppid}
		if pexe, err := os.Readlink(root + "/" + strconv.Itoa(ppid) + "/exe"); err == nil {
			pm["exe"] = pexe
		}
		ev["parent_metadata"] = pm
	}
	if b, err := os.ReadFile(dir + "/status"); err == nil {
		if uid, gid, ok := parseStatusIDs(b); ok {
			ev["uid"], ev["gid"] = uid, gid
			if n, ok := names.User(uid); ok {
				ev["user"] = n
			}
			if n, ok := names.Group(gid); ok {
				ev["group"] = n
			}
		}
	} else {
		partial = true
	}
	if auid, ok := readUint(dir + "/loginuid"); ok {
		ev["auid"] = int(auid)
		if auid == unsetID {
			ev["auser"] = "unset"
		} else if n, ok := names.User(int(auid)); ok {
			ev["auser"] = n
		}
	}
	if ses, ok := readUint(dir + "/sessionid"); ok {
		ev["session"] = int(ses)
	}
	if partial {
		ev["partial"] = true
	}
	return ev
}
