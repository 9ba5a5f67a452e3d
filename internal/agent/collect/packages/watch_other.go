//go:build !linux

package packages

import (
	"context"
	"errors"
)

// Watch needs inotify: off Linux it fails, and the agent falls back to
// sending the inventory on its periodic schedule.
func (s *Source) Watch(ctx context.Context, changed func()) error {
	return errors.New("watch package database: only supported on Linux")
}
