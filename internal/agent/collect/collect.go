// Package collect holds the host collectors of aip-agent: each watches one
// source (process starts, logins, file changes, outbound connections,
// installed packages) and emits events in the envelope of rules-events.md
// §3.2–3.3. Collectors know nothing of the spool or the server: the agent
// core adds `_id`, `agent_id` and the host metadata, and ships the events.
package collect

import (
	"context"
	"time"
)

// Event is one event as a JSON object: `event_type`, `timestamp` (epoch
// ms) and the fields of its type. The core fills `_id`, `agent_id`,
// `_type` (a copy of event_type) and `host_metadata`.
type Event map[string]any

// Emit hands an event to the core. It never blocks for long (the core
// writes it to the on-disk spool) and is safe for concurrent use.
type Emit func(Event)

// Collector is one source of events.
type Collector interface {
	// Name names the collector in logs and in the heartbeat's module
	// health ("process", "login", "file", "network").
	Name() string
	// Run emits events until ctx is done, then returns nil. It returns an
	// error at once when the source cannot be watched at all (missing
	// permission, no such kernel interface); the core logs it and reports
	// the collector unhealthy, and the other collectors go on.
	Run(ctx context.Context, emit Emit) error
}

// FileWatch is one File rule's watch, as GET /agent/v1/config lists them:
// a path (file or directory), whether subdirectories are covered, the event
// kinds to report (open, create, modify, delete, close, attrib; "all" for
// every kind) and base-name globs to ignore.
type FileWatch struct {
	Path      string   `json:"path"`
	Recursive bool     `json:"recursive"`
	Events    []string `json:"events"`
	Ignore    []string `json:"ignore"`
}

// Now is the clock collectors stamp events with, in epoch milliseconds.
func Now() int64 { return time.Now().UnixMilli() }
