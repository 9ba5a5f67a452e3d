//go:build unix

package sqlite

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// credGenSize is the length of the generation file: one uint64. The file
// only ever grows to this size; a larger file (from a later version) is
// left as it is and its first 8 bytes are the counter.
const credGenSize = 8

// credGen is the cross-process generation counter of credential changes: a
// uint64 in the file <db>-credgen, memory-mapped MAP_SHARED by every handle
// on the database in every process, the way SQLite shares its -shm file.
// Atomic operations on the mapping are atomic across processes on one
// machine because they all reach the same physical page.
//
// The file must not be deleted or truncated while a process has the
// database open: a process that recreated it would count on a page the
// others no longer see, and truncation turns their accesses into SIGBUS.
type credGen struct {
	mem  []byte
	word *uint64
}

// openCredGen maps the generation file of the database file at dbPath,
// creating it next to the database with the database's permissions (and,
// when running as root, its owner) so that every process able to open the
// database can open it too.
func openCredGen(dbPath string) (*credGen, error) {
	path := dbPath + "-credgen"
	dbInfo, err := os.Stat(dbPath)
	if err != nil {
		return nil, fmt.Errorf("credential generation file: %w", err)
	}
	perm := dbInfo.Mode().Perm()
	// O_CREATE without O_EXCL: whichever process comes first creates the
	// file, and the others open that same file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return nil, fmt.Errorf("credential generation file: %w", err)
	}
	// The mapping stays valid after the descriptor is closed.
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("credential generation file %s: %w", path, err)
	}
	if fi.Size() == 0 {
		// Freshly created: like SQLite for -wal and -shm, undo the umask
		// and let the database's owner (say, the service user after a root
		// admin command created the file) use it.
		if fi.Mode().Perm() != perm {
			if err := f.Chmod(perm); err != nil {
				return nil, fmt.Errorf("credential generation file %s: %w", path, err)
			}
		}
		if st, ok := dbInfo.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
				return nil, fmt.Errorf("credential generation file %s: %w", path, err)
			}
		}
	}
	if fi.Size() < credGenSize {
		// Extending keeps any bytes already there, so two processes doing
		// this at once both end up with the same 8-byte file.
		if err := f.Truncate(credGenSize); err != nil {
			return nil, fmt.Errorf("credential generation file %s: %w", path, err)
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, credGenSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map credential generation file %s: %w", path, err)
	}
	// mmap returns page-aligned memory, so the word is 8-byte aligned as
	// 64-bit atomics require.
	return &credGen{mem: mem, word: (*uint64)(unsafe.Pointer(&mem[0]))}, nil
}

// load returns the current generation.
func (g *credGen) load() uint64 { return atomic.LoadUint64(g.word) }

// bump announces a committed credential change to every process.
func (g *credGen) bump() { atomic.AddUint64(g.word, 1) }

// close unmaps the file; g must not be used afterwards.
func (g *credGen) close() error {
	if err := syscall.Munmap(g.mem); err != nil {
		return fmt.Errorf("unmap credential generation file: %w", err)
	}
	return nil
}
