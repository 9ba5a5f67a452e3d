//go:build linux

package collect

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// ReadInotify waits up to timeout for events on the inotify descriptor fd
// and reads them into buf. It returns (0, nil) when none arrived (or the
// wait was interrupted), so that callers can check their context and
// configuration between reads.
func ReadInotify(fd int, buf []byte, timeout time.Duration) (int, error) {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, int(timeout.Milliseconds()))
	if err != nil && !errors.Is(err, unix.EINTR) {
		return 0, fmt.Errorf("poll inotify: %w", err)
	}
	if n <= 0 {
		return 0, nil
	}
	r, err := unix.Read(fd, buf)
	if err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return 0, nil
		}
		return 0, fmt.Errorf("read inotify: %w", err)
	}
	return r, nil
}
