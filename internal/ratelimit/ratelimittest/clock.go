package ratelimittest

import (
	"sync"
	"time"
)

// Clock is the time source a suite runs on. The suite reads it to tell a
// backend what time it is (for backends with an injectable clock) and to
// measure how much time passed between calls, and moves it forward with
// Advance to test recovery.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Advance lets d pass: a fake clock jumps, a real one sleeps.
	Advance(d time.Duration)
	// Tolerance is the error allowed on top of measured elapsed time when
	// comparing durations a backend reports: zero for a fake clock, a few
	// milliseconds for a backend that reads another clock (Redis TIME) or
	// stores coarse times (milliseconds).
	Tolerance() time.Duration
}

// FakeClock is a Clock that only moves when told to, so that a backend
// driven by it gives exact, reproducible results. It is safe for concurrent
// use.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewFakeClock returns a FakeClock showing start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Tolerance is zero: a fake clock is exact.
func (c *FakeClock) Tolerance() time.Duration { return 0 }

// RealClock is the wall clock, for backends whose time cannot be faked. The
// suite keeps its waits short (limits with 100 ms emission intervals), so a
// run on a RealClock takes about a second; Slack must stay well under those
// 100 ms.
type RealClock struct {
	// Slack is the Tolerance: how far durations a backend reports may
	// drift from what the local clock measured.
	Slack time.Duration
}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Advance sleeps for d.
func (RealClock) Advance(d time.Duration) { time.Sleep(d) }

// Tolerance returns c.Slack.
func (c RealClock) Tolerance() time.Duration { return c.Slack }
