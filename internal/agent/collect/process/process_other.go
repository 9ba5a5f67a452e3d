//go:build !linux

package process

import (
	"context"
	"errors"

	"github.com/aipsec/aip/internal/agent/collect"
)

// Run implements collect.Collector; process starts are only collected on
// Linux.
func (c *Collector) Run(ctx context.Context, emit collect.Emit) error {
	return errors.New("process collector: not supported on this OS")
}
