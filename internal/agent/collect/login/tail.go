package login

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// tailer follows one growing file by polling: it reads what was appended
// since the last poll and starts over from the beginning when the file is
// replaced (rotation: another inode) or truncated (size below the offset).
type tailer struct {
	path   string
	record int // > 0: fixed-size records; 0: lines
	fi     os.FileInfo
	off    int64
	// started is false until the first poll, which starts at the end of
	// an existing file (no history flood) unless a saved offset applies.
	started bool
	saved   *fileState
}

// maxChunk bounds one poll's read; the rest is read by the next polls.
const maxChunk = 4 << 20

// fileState is a tailer's position as the state file keeps it.
type fileState struct {
	Offset int64  `json:"offset"`
	Inode  uint64 `json:"inode"`
}

// poll returns the complete records (or lines, without the newline)
// appended since the last poll. A missing file is no error: it is picked
// up from its beginning when it appears.
func (t *tailer) poll() ([][]byte, error) {
	fi, err := os.Stat(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		t.fi, t.off, t.started = nil, 0, true
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", t.path, err)
	}
	switch {
	case !t.started:
		t.started = true
		t.off = fi.Size()
		if t.saved != nil && t.saved.Inode == inode(fi) && t.saved.Offset <= fi.Size() {
			t.off = t.saved.Offset
		}
	case t.fi == nil || !os.SameFile(t.fi, fi) || fi.Size() < t.off:
		t.off = 0
	}
	t.fi = fi
	if t.record > 0 {
		t.off -= t.off % int64(t.record)
	}
	if fi.Size() <= t.off {
		return nil, nil
	}
	f, err := os.Open(t.path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", t.path, err)
	}
	defer f.Close()
	// Re-check the identity of what was opened: the file may have been
	// rotated between the stat and the open.
	if ofi, err := f.Stat(); err == nil && !os.SameFile(ofi, fi) {
		t.fi, t.off = ofi, 0
		fi = ofi
	}
	buf := make([]byte, min(fi.Size()-t.off, maxChunk))
	n, err := f.ReadAt(buf, t.off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", t.path, err)
	}
	buf = buf[:n]
	var out [][]byte
	if t.record > 0 {
		for len(buf) >= t.record {
			out = append(out, buf[:t.record])
			buf = buf[t.record:]
			t.off += int64(t.record)
		}
		return out, nil
	}
	full := len(buf) == maxChunk
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			if full && len(out) == 0 {
				t.off += int64(len(buf)) // drop a line longer than a chunk
			}
			break // a partial last line waits for its newline
		}
		out = append(out, bytes.TrimRight(buf[:i], "\r"))
		buf = buf[i+1:]
		t.off += int64(i + 1)
	}
	return out, nil
}

// state is the position to save.
func (t *tailer) state() (fileState, bool) {
	if t.fi == nil {
		return fileState{}, false
	}
	return fileState{Offset: t.off, Inode: inode(t.fi)}, true
}
