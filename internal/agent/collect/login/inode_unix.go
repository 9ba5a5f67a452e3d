//go:build unix

package login

import (
	"os"
	"syscall"
)

// inode identifies a file across restarts, so that a saved offset is only
// reused for the same file (rotation while the agent was down resets it).
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
