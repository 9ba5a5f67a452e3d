//go:build !linux

package netconn

import (
	"context"
	"errors"

	"github.com/aipsec/aip/internal/agent/collect"
)

// Run implements collect.Collector; connections are only collected on
// Linux.
func (c *Collector) Run(ctx context.Context, emit collect.Emit) error {
	return errors.New("network collector: not supported on this OS")
}
