//go:build linux

package packages

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aipsec/aip/internal/agent/collect"
)

// Watch calls changed, at most once per Debounce of quiet, after the
// package database changes, until ctx is done (then it returns nil). It
// fails at once when no database directory can be watched.
func (s *Source) Watch(ctx context.Context, changed func()) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("inotify init: %w", err)
	}
	defer unix.Close(fd)
	const mask = unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_DELETE | unix.IN_MODIFY
	names := make(map[int][]string)
	for dir, want := range s.watchTargets() {
		wd, err := unix.InotifyAddWatch(fd, dir, mask)
		if err != nil {
			s.log.Warn("cannot watch package database", "path", dir, "err", err)
			continue
		}
		names[wd] = want
	}
	if len(names) == 0 {
		return errors.New("watch package database: no database directory to watch")
	}
	buf := make([]byte, 64*1024)
	var pending bool
	var last time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		if pending && time.Since(last) >= s.opts.Debounce {
			pending = false
			changed()
		}
		r, err := collect.ReadInotify(fd, buf, time.Second)
		if err != nil {
			return err
		}
		if r == 0 {
			continue
		}
		for off := 0; off+unix.SizeofInotifyEvent <= r; {
			wd := int(int32(binary.NativeEndian.Uint32(buf[off:])))
			nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := cName(buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+nameLen])
			off += unix.SizeofInotifyEvent + nameLen
			want, ok := names[wd]
			if ok && (slices.Contains(want, "") || slices.Contains(want, name)) {
				pending, last = true, time.Now()
			}
		}
	}
}

func cName(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
