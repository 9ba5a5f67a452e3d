package agent

import (
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aipsec/aip/internal/agent/collect"
	"github.com/aipsec/aip/internal/agent/collect/file"
	"github.com/aipsec/aip/internal/agent/collect/login"
	"github.com/aipsec/aip/internal/agent/collect/netconn"
	"github.com/aipsec/aip/internal/agent/collect/packages"
	"github.com/aipsec/aip/internal/agent/collect/process"
)

// CollectorConfig tunes the default collectors; zero values take each
// collector's defaults.
type CollectorConfig struct {
	// ProcessScanInterval is the /proc scan period when the kernel's
	// process-events connector cannot be used (unprivileged).
	ProcessScanInterval time.Duration
	// NetworkInterval is how often outbound connections are looked for.
	NetworkInterval time.Duration
	// AuthLog overrides /var/log/auth.log or /var/log/secure.
	AuthLog string
	// Disable names collectors not to run: process, login, file, network,
	// packages.
	Disable []string
}

// DefaultCollectors builds the host collectors of a state dir: process
// starts, logins (utmp and the auth log), file integrity (following the
// server's File rules), outbound connections, and the package inventory.
func DefaultCollectors(stateDir string, cfg CollectorConfig, logger *slog.Logger) (cols []collect.Collector, files FileWatcher, pkgs PackageSource) {
	off := make(map[string]bool, len(cfg.Disable))
	for _, d := range cfg.Disable {
		off[d] = true
	}
	names := process.NewNames("", "")
	if !off["process"] {
		cols = append(cols, process.New(process.Config{ScanInterval: cfg.ProcessScanInterval, Names: names, Logger: logger}))
	}
	if !off["login"] {
		cols = append(cols, login.New(login.Options{AuthLogPath: cfg.AuthLog,
			StatePath: filepath.Join(stateDir, "login-offsets.json"), Logger: logger}))
	}
	if !off["file"] {
		f := file.New(file.Options{Logger: logger})
		cols, files = append(cols, f), f
	}
	if !off["network"] {
		cols = append(cols, netconn.New(netconn.Config{Interval: cfg.NetworkInterval, Names: names, Logger: logger}))
	}
	if !off["packages"] {
		pkgs = packages.New(packages.Options{Logger: logger})
	}
	return cols, files, pkgs
}
