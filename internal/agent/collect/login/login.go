// Package login is the login collector of aip-agent: it follows wtmp and
// btmp (logins, logouts, failed logins as `event_type:"login"` events) and
// the authentication log (sshd, sudo, su, login and PAM messages as
// `event_type:"host"` signature events that the Base Rule Set's login
// rules match).
package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aipsec/aip/internal/agent/collect"
)

// Options configures the collector; zero values pick the usual paths.
type Options struct {
	// WtmpPath and BtmpPath default to /var/log/wtmp and /var/log/btmp.
	WtmpPath, BtmpPath string
	// AuthLogPath defaults to /var/log/auth.log (Debian family) or
	// /var/log/secure (Red Hat family), whichever exists at start.
	AuthLogPath string
	// StatePath, when set, is a JSON file keeping the read offsets so that
	// a restart resumes where the last run stopped instead of skipping
	// what was written in between.
	StatePath string
	// PollInterval defaults to one second.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Collector follows the login records and the authentication log.
type Collector struct {
	opts Options
	log  *slog.Logger
}

// New returns a login collector.
func New(opts Options) *Collector {
	if opts.WtmpPath == "" {
		opts.WtmpPath = "/var/log/wtmp"
	}
	if opts.BtmpPath == "" {
		opts.BtmpPath = "/var/log/btmp"
	}
	if opts.AuthLogPath == "" {
		opts.AuthLogPath = "/var/log/auth.log"
		if _, err := os.Stat(opts.AuthLogPath); err != nil {
			if _, err := os.Stat("/var/log/secure"); err == nil {
				opts.AuthLogPath = "/var/log/secure"
			}
		}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Collector{opts: opts, log: log.With("collector", "login")}
}

// Name implements collect.Collector.
func (c *Collector) Name() string { return "login" }

// Run implements collect.Collector. It starts at the current end of each
// file (or at the saved offsets) and polls them every PollInterval; a
// file that is missing or unreadable is logged and retried, since a host
// may have no btmp or rotate the log away for a moment.
func (c *Collector) Run(ctx context.Context, emit collect.Emit) error {
	saved := c.loadState()
	wtmp := &tailer{path: c.opts.WtmpPath, record: utmpSize, saved: saved[c.opts.WtmpPath]}
	btmp := &tailer{path: c.opts.BtmpPath, record: utmpSize, saved: saved[c.opts.BtmpPath]}
	auth := &tailer{path: c.opts.AuthLogPath, saved: saved[c.opts.AuthLogPath]}
	tailers := []*tailer{wtmp, btmp, auth}
	failing := make(map[string]bool)
	tick := time.NewTicker(c.opts.PollInterval)
	defer tick.Stop()
	for {
		for _, t := range tailers {
			items, err := t.poll()
			if err != nil {
				if !failing[t.path] {
					c.log.Warn("cannot read file", "path", t.path, "err", err)
				}
				failing[t.path] = true
				continue
			}
			failing[t.path] = false
			for _, it := range items {
				var ev collect.Event
				var ok bool
				if t == auth {
					ev, ok = parseAuthLine(string(it), t.path, time.Now())
				} else {
					ev, ok = utmpEvent(parseUtmp(it), t == btmp)
				}
				if ok {
					emit(ev)
				}
			}
		}
		c.saveState(tailers)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (c *Collector) loadState() map[string]*fileState {
	st := make(map[string]*fileState)
	if c.opts.StatePath == "" {
		return st
	}
	b, err := os.ReadFile(c.opts.StatePath)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			c.log.Warn("cannot read login state", "path", c.opts.StatePath, "err", err)
		}
		return st
	}
	if err := json.Unmarshal(b, &st); err != nil {
		c.log.Warn("ignoring corrupt login state", "path", c.opts.StatePath, "err", err)
		return make(map[string]*fileState)
	}
	return st
}

// saveState writes the offsets atomically (temp file + rename) when a
// state path is set.
func (c *Collector) saveState(tailers []*tailer) {
	if c.opts.StatePath == "" {
		return
	}
	st := make(map[string]fileState)
	for _, t := range tailers {
		if s, ok := t.state(); ok {
			st[t.path] = s
		}
	}
	if err := writeFileAtomic(c.opts.StatePath, st); err != nil {
		c.log.Warn("cannot save login state", "err", err)
	}
}

func writeFileAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".login-state-*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
