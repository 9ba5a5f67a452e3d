//go:build !unix

package sqlite

import "time"

// processCPU is unavailable here; the CPU metrics are then not reported.
func processCPU() (time.Duration, bool) { return 0, false }
