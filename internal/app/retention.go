package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aipsec/aip"
)

// Event retention defaults.
const (
	// DefaultEventRetention is how long events no alert links to are kept
	// (the --event-retention default).
	DefaultEventRetention = 72 * time.Hour
	// DefaultRetentionInterval is how often expired events are swept.
	DefaultRetentionInterval = time.Minute
	// retentionBatch bounds one DELETE, so that a large backlog does not
	// hold the single SQLite writer (and with it ingest) for long.
	retentionBatch = 1000
)

// PurgeExpiredEvents deletes every event received before cutoff that no
// alert links to, in batches, and returns how many it deleted. The
// retention job calls it with now - Config.EventRetention.
func (m *Main) PurgeExpiredEvents(ctx context.Context, cutoff time.Time) (int, error) {
	if m.store == nil {
		return 0, errors.New("app: PurgeExpiredEvents before Open")
	}
	total := 0
	for {
		n, err := m.store.DeleteExpiredEvents(ctx, cutoff, retentionBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("purge events received before %v: %w", cutoff, err)
		}
		if n < retentionBatch {
			return total, nil
		}
	}
}

// PurgeExpiredWindows deletes the rule engine's windows that ended before
// cutoff, in batches, and returns how many it deleted. The retention job
// calls it with now - aip.AlertWindowRetention, the horizon beyond which
// the engine no longer loads them.
func (m *Main) PurgeExpiredWindows(ctx context.Context, cutoff time.Time) (int, error) {
	if m.store == nil {
		return 0, errors.New("app: PurgeExpiredWindows before Open")
	}
	total := 0
	for {
		n, err := m.store.DeleteExpiredAlertWindows(ctx, cutoff, retentionBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("purge windows ended before %v: %w", cutoff, err)
		}
		if n < retentionBatch {
			return total, nil
		}
	}
}

// startRetention sweeps expired events once now and then every
// RetentionInterval until Close; with retention disabled it starts nothing.
func (m *Main) startRetention() {
	m.retentionDone = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	m.stopRetention = cancel
	if m.Config.EventRetention <= 0 {
		close(m.retentionDone)
		return
	}
	interval := m.Config.RetentionInterval
	if interval <= 0 {
		interval = DefaultRetentionInterval
	}
	go func() {
		defer close(m.retentionDone)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			now := time.Now()
			if _, err := m.PurgeExpiredWindows(ctx, now.Add(-aip.AlertWindowRetention)); err != nil && ctx.Err() == nil {
				m.Logger.Error("alert window sweep failed", slog.Any("error", err))
			}
			n, err := m.PurgeExpiredEvents(ctx, now.Add(-m.Config.EventRetention))
			switch {
			case err != nil && ctx.Err() == nil:
				// Logged and retried next tick: a failed sweep only delays
				// the deletion.
				m.Logger.Error("event retention sweep failed", slog.Any("error", err))
			case n > 0:
				m.Logger.Info("expired events deleted", slog.Int("count", n))
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
}
