// Package process is the process-start collector of aip-agent: it reports
// every program start as an audit `execve` event (rules-events.md §3.3).
//
// It has two sources, chosen at Run:
//
//   - "connector": the kernel process-events connector (netlink
//     NETLINK_CONNECTOR, CN_IDX_PROC). Needs root or CAP_NET_ADMIN. Every
//     exec is reported; the collector sleeps in the kernel between events.
//     The details (exe, args, cwd, ids) are read from /proc/PID right after
//     the event arrives. A process that already exited by then (a /bin/true
//     lives about a millisecond) is still reported, with only what survives:
//     pid, ppid (from /proc/PID/stat while it is a zombie, else from the
//     fork event seen earlier), comm, ids from the zombie's stat; fields
//     that could not be read are left out rather than guessed, and
//     `partial:true` is set so consumers can tell.
//   - "procscan": the fallback when the connector cannot be opened. /proc
//     is listed every ScanInterval (100 ms by default) and processes not
//     seen before are reported. Best effort: a process that starts and
//     exits between two scans is missed, and so is a pid that is reused
//     within one interval. The first scan is a baseline: processes already
//     running when the collector starts are not reported.
package process

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// Modes reported by Collector.Mode.
const (
	ModeConnector = "connector"
	ModeProcScan  = "procscan"
)

// Config tunes the collector. The zero value is ready to use.
type Config struct {
	// ScanInterval is the /proc scan period in procscan mode (default 100 ms).
	ScanInterval time.Duration
	// NoConnector forces procscan mode even when the connector could be
	// opened (tests, or hosts where another agent owns the connector).
	NoConnector bool
	// Names resolves user and group names; nil means /etc/passwd and
	// /etc/group.
	Names *Names
	// Logger receives warnings (lost events); nil means slog.Default().
	Logger *slog.Logger
}

// Collector reports process starts. Create it with New.
type Collector struct {
	cfg  Config
	mode atomic.Value // string
}

// New returns a collector with cfg's defaults filled in.
func New(cfg Config) *Collector {
	if cfg.ScanInterval <= 0 {
		cfg.ScanInterval = 100 * time.Millisecond
	}
	if cfg.Names == nil {
		cfg.Names = NewNames("", "")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Collector{cfg: cfg}
	c.mode.Store("")
	return c
}

// Name implements collect.Collector.
func (c *Collector) Name() string { return "process" }

// Mode tells which source Run uses: ModeConnector, ModeProcScan, or "" when
// Run has not chosen yet. The agent reports it in the module health so an
// operator knows whether short-lived processes can be missed.
func (c *Collector) Mode() string { return c.mode.Load().(string) }
