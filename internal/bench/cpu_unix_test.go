//go:build unix

package bench_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used so far:
// client, servers, audit writer and GC together, but not other processes,
// which is what makes it steadier than wall-clock rates on a shared machine.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
