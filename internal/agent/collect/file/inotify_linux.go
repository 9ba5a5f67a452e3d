//go:build linux

package file

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aipsec/aip/internal/agent/collect"
)

// selfMask follows a watched directory itself: its removal or move makes
// the watch plan change.
const selfMask = unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// structMask is what following a tree needs: new and moved subdirectories.
const structMask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM

// kindMask is the inotify mask of the event kinds s reports.
func (s *spec) kindMask() uint32 {
	var m uint32
	if s.kinds[kindOpen] {
		m |= unix.IN_OPEN
	}
	if s.kinds[kindCreate] {
		m |= unix.IN_CREATE | unix.IN_MOVED_TO
	}
	if s.kinds[kindModify] {
		m |= unix.IN_MODIFY
	}
	if s.kinds[kindDelete] {
		m |= unix.IN_DELETE | unix.IN_MOVED_FROM
	}
	if s.kinds[kindClose] {
		m |= unix.IN_CLOSE_WRITE
		if s.closeNoWrite {
			m |= unix.IN_CLOSE_NOWRITE
		}
	}
	if s.kinds[kindAttrib] {
		m |= unix.IN_ATTRIB
	}
	return m
}

// dirWatch is one inotify watch; every watch is on a directory (a watched
// file is followed through its parent, which survives the file being
// replaced by a rename, as editors and package managers do).
type dirWatch struct {
	wd   int
	path string
	mask uint32
}

type watcher struct {
	c      *Collector
	fd     int
	emit   collect.Emit
	specs  []*spec
	byWD   map[int]*dirWatch
	byPath map[string]*dirWatch
	// rootDir tells, per spec root, whether it was an existing directory
	// at the last plan; a root missing then and present now is scanned.
	rootDir    map[string]bool
	rootExists map[string]bool
	replan     bool
	capWarned  bool
	co         coalescer
}

// Run implements collect.Collector: it watches the paths of the latest
// Update until ctx is done.
func (c *Collector) Run(ctx context.Context, emit collect.Emit) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("inotify init: %w", err)
	}
	defer unix.Close(fd)
	w := &watcher{c: c, fd: fd, emit: emit, byWD: make(map[int]*dirWatch), byPath: make(map[string]*dirWatch),
		rootDir: make(map[string]bool), rootExists: make(map[string]bool), co: coalescer{window: c.opts.Coalesce}}
	gen := -1
	buf := make([]byte, 256*1024)
	for ctx.Err() == nil {
		if watches, g := c.current(); g != gen {
			gen = g
			w.setSpecs(watches)
		}
		if w.replan {
			w.plan()
		}
		r, err := collect.ReadInotify(fd, buf, 100*time.Millisecond)
		if err != nil {
			return err
		}
		if r == 0 {
			continue
		}
		w.handleBuffer(buf[:r])
	}
	return nil
}

func (w *watcher) setSpecs(watches []collect.FileWatch) {
	w.specs = w.specs[:0]
	for _, fw := range watches {
		s, err := newSpec(fw)
		if err != nil {
			w.c.log.Warn("ignoring file watch", "err", err)
			continue
		}
		w.specs = append(w.specs, s)
	}
	// Roots new to this spec set are not scanned: only a root appearing
	// while watched reports what it already holds.
	known := make(map[string]bool)
	for _, s := range w.specs {
		known[s.root] = true
		if _, ok := w.rootExists[s.root]; !ok {
			w.rootExists[s.root] = exists(s.root)
		}
	}
	for r := range w.rootExists {
		if !known[r] {
			delete(w.rootExists, r)
			delete(w.rootDir, r)
		}
	}
	w.plan()
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// plan computes the directories to watch for the current specs and
// brings the inotify watches in line with it.
func (w *watcher) plan() {
	w.replan = false
	want := make(map[string]uint32)
	capped := false
	add := func(dir string, mask uint32) bool {
		if _, ok := want[dir]; !ok && len(want) >= w.c.opts.MaxWatches {
			capped = true
			return false
		}
		want[dir] |= mask
		return true
	}
	var appeared []*spec
	// followed is the ancestor each path not there yet is followed
	// through, to check after the watches are in place.
	followed := make(map[string]string)
	for _, s := range w.specs {
		fi, err := os.Stat(s.root)
		switch {
		case err == nil && fi.IsDir():
			add(s.root, s.kindMask()|selfMask)
			if s.recursive {
				w.walkDirs(s.root, s, func(dir string) bool { return add(dir, s.kindMask()|selfMask|structMask) })
				want[s.root] |= structMask
			}
		default:
			// A file, or a path to come: follow its nearest existing
			// ancestor, reporting the path's own events when that is its
			// parent.
			dir := nearestDir(s.root)
			mask := uint32(selfMask | unix.IN_CREATE | unix.IN_MOVED_TO)
			if dir == filepath.Dir(s.root) {
				mask |= s.kindMask()
			}
			add(dir, mask)
			followed[s.root] = dir
		}
		now := err == nil
		if now && !w.rootExists[s.root] {
			appeared = append(appeared, s)
		}
		w.rootExists[s.root] = now
		w.rootDir[s.root] = err == nil && fi.IsDir()
	}
	if capped && !w.capWarned {
		w.capWarned = true
		w.c.log.Warn("file watch limit reached; some directories are not watched", "max_watches", w.c.opts.MaxWatches)
	}
	for p, dw := range w.byPath {
		if _, ok := want[p]; !ok {
			w.remove(dw, true)
		}
	}
	for p, mask := range want {
		if dw, ok := w.byPath[p]; ok && dw.mask == mask {
			continue
		}
		w.addWatch(p, mask)
	}
	for _, s := range appeared {
		w.scan(s.root, s)
	}
	// A root, or a directory on the way to it, made between its stat and
	// the watch on its ancestor gave no event: look again.
	for _, s := range w.specs {
		if isDir(s.root) != w.rootDir[s.root] {
			w.replan = true
		}
		if dir, ok := followed[s.root]; ok && nearestDir(s.root) != dir {
			w.replan = true
		}
	}
}

// nearestDir is the nearest existing directory above p.
func nearestDir(p string) string {
	dir := filepath.Dir(p)
	for !isDir(dir) && dir != filepath.Dir(dir) {
		dir = filepath.Dir(dir)
	}
	return dir
}

// walkDirs calls add for every directory under root (root excluded) that
// s covers, skipping ignored names; it stops when add refuses (the cap).
func (w *watcher) walkDirs(root string, s *spec, add func(string) bool) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == root {
			return nil // unreadable entries are skipped, not fatal
		}
		if s.ignored(d.Name()) {
			return filepath.SkipDir
		}
		if !add(p) {
			return filepath.SkipAll
		}
		return nil
	})
}

func (w *watcher) addWatch(p string, mask uint32) {
	wd, err := unix.InotifyAddWatch(w.fd, p, mask|unix.IN_ONLYDIR)
	if err != nil {
		if errors.Is(err, unix.ENOSPC) && !w.capWarned {
			w.capWarned = true
			w.c.log.Warn("kernel inotify watch limit reached (fs.inotify.max_user_watches)", "path", p)
		} else if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			w.c.log.Warn("cannot watch directory", "path", p, "err", err)
		}
		return
	}
	if old, ok := w.byPath[p]; ok && old.wd != wd {
		delete(w.byWD, old.wd)
	}
	if other, ok := w.byWD[wd]; ok && other.path != p {
		delete(w.byPath, other.path) // the same directory under a new name
	}
	dw := &dirWatch{wd: wd, path: p, mask: mask}
	w.byWD[wd] = dw
	w.byPath[p] = dw
}

func (w *watcher) remove(dw *dirWatch, rm bool) {
	if rm {
		_, _ = unix.InotifyRmWatch(w.fd, uint32(dw.wd))
	}
	delete(w.byWD, dw.wd)
	if w.byPath[dw.path] == dw {
		delete(w.byPath, dw.path)
	}
}

// isRootOrAncestor reports whether p is a spec root or above one: a
// change there changes the plan.
func (w *watcher) isRootOrAncestor(p string) bool {
	for _, s := range w.specs {
		if s.root == p || strings.HasPrefix(s.root, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// leadsToMissingRoot reports whether a new directory is, or is on the way
// to, a root that was no directory at the last plan.
func (w *watcher) leadsToMissingRoot(dir string) bool {
	for _, s := range w.specs {
		if !w.rootDir[s.root] && (s.root == dir || strings.HasPrefix(s.root, dir+"/")) {
			return true
		}
	}
	return false
}

func (w *watcher) handleBuffer(buf []byte) {
	for off := 0; off+unix.SizeofInotifyEvent <= len(buf); {
		wd := int(int32(binary.NativeEndian.Uint32(buf[off:])))
		mask := binary.NativeEndian.Uint32(buf[off+4:])
		nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
		end := min(off+unix.SizeofInotifyEvent+nameLen, len(buf))
		name := string(buf[off+unix.SizeofInotifyEvent : end])
		if i := strings.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		off = end
		w.handle(wd, mask, name)
	}
}

func (w *watcher) handle(wd int, mask uint32, name string) {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		w.c.log.Warn("inotify queue overflow; file events were lost")
		return
	}
	dw, ok := w.byWD[wd]
	if !ok {
		return // a watch removed since
	}
	filename := dw.path
	if name != "" {
		filename = filepath.Join(dw.path, name)
	}
	if mask&unix.IN_IGNORED != 0 {
		w.remove(dw, false)
		if w.isRootOrAncestor(dw.path) {
			w.replan = true
		}
		return
	}
	isDirEv := mask&unix.IN_ISDIR != 0
	now := time.Now()
	if name == "" && mask&unix.IN_DELETE_SELF != 0 {
		if w.isRootOrAncestor(dw.path) {
			w.replan = true
			w.report(filename, kindDelete, false, now)
		}
		return
	}
	if name == "" && mask&unix.IN_MOVE_SELF != 0 {
		if w.isRootOrAncestor(dw.path) {
			w.replan = true
		}
		return
	}
	switch {
	case mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
		w.report(filename, kindCreate, false, now)
		if isDirEv && w.leadsToMissingRoot(filename) {
			w.replan = true
		} else if isDirEv {
			w.addTree(filename)
		}
	case mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
		w.report(filename, kindDelete, false, now)
		if isDirEv && mask&unix.IN_MOVED_FROM != 0 {
			w.removeTree(filename)
		}
	case mask&unix.IN_MODIFY != 0:
		w.report(filename, kindModify, false, now)
	case mask&unix.IN_ATTRIB != 0:
		w.report(filename, kindAttrib, false, now)
	case mask&unix.IN_OPEN != 0:
		w.report(filename, kindOpen, false, now)
	case mask&unix.IN_CLOSE_WRITE != 0:
		w.report(filename, kindClose, true, now)
	case mask&unix.IN_CLOSE_NOWRITE != 0:
		w.report(filename, kindClose, false, now)
	}
}

// report emits one event when a spec wants it and it is no repeat.
func (w *watcher) report(filename, kind string, closeWrite bool, now time.Time) {
	for _, s := range w.specs {
		if s.wants(filename, kind, closeWrite) {
			if w.co.allow(filename, kind, now) {
				w.emit(fileEvent(filename, kind, now))
			}
			return
		}
	}
}

// recursiveMask is the mask a directory under recursive roots needs; 0
// when no recursive spec covers it.
func (w *watcher) recursiveMask(dir string) uint32 {
	var m uint32
	for _, s := range w.specs {
		if s.recursive && dir != s.root && s.covers(dir) && !w.ignoredUnder(s, dir) {
			m |= s.kindMask() | selfMask | structMask
		}
	}
	return m
}

func (w *watcher) ignoredUnder(s *spec, p string) bool {
	for ; len(p) > len(s.root); p = filepath.Dir(p) {
		if s.ignored(filepath.Base(p)) {
			return true
		}
	}
	return false
}

// addTree watches a directory that appeared under a recursive root, and
// what it already holds, reporting its entries as created: they may have
// been made before the watch was in place (mkdir -p a/b; touch a/b/c).
func (w *watcher) addTree(dir string) {
	if w.recursiveMask(dir) == 0 {
		return
	}
	count := len(w.byPath)
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if p != dir {
			w.report(p, kindCreate, false, time.Now())
		}
		if !d.IsDir() {
			return nil
		}
		mask := w.recursiveMask(p)
		if mask == 0 {
			return filepath.SkipDir
		}
		if count >= w.c.opts.MaxWatches {
			if !w.capWarned {
				w.capWarned = true
				w.c.log.Warn("file watch limit reached; some directories are not watched", "max_watches", w.c.opts.MaxWatches)
			}
			return filepath.SkipAll
		}
		w.addWatch(p, mask)
		count++
		return nil
	})
}

// removeTree drops the watches of a directory moved out of the watched
// tree: their paths no longer name them.
func (w *watcher) removeTree(dir string) {
	for p, dw := range w.byPath {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			w.remove(dw, true)
		}
	}
}

// scan reports the content of a root that appeared while watched.
func (w *watcher) scan(root string, s *spec) {
	now := time.Now()
	w.report(root, kindCreate, false, now)
	if !isDir(root) {
		return
	}
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return nil
		}
		w.report(p, kindCreate, false, now)
		if d.IsDir() && (!s.recursive || s.ignored(d.Name())) {
			return filepath.SkipDir
		}
		return nil
	})
}
