//go:build !linux

package file

import (
	"context"
	"errors"

	"github.com/aipsec/aip/internal/agent/collect"
)

// Run needs inotify: off Linux the collector reports itself unhealthy.
func (c *Collector) Run(ctx context.Context, emit collect.Emit) error {
	return errors.New("file collector: inotify is only available on Linux")
}
