// Package file is the file-integrity collector of aip-agent: it watches
// the paths of the File rules (GET /agent/v1/config) with inotify and
// emits `event_type:"file"` events. inotify does not say which process
// touched a file, so the events carry no exe, command, user or pid.
package file

import (
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aipsec/aip/internal/agent/collect"
)

// Options configures the collector.
type Options struct {
	// MaxWatches caps the inotify watches (one per directory); 100000 by
	// default, below the kernel's usual max_user_watches. Directories past
	// the cap are not watched and a warning is logged.
	MaxWatches int
	// Coalesce is the window in which repeats of the same (filename, type)
	// are dropped; 100 ms by default, negative to keep every event.
	Coalesce time.Duration
	Logger   *slog.Logger
}

// Collector watches files. Update may be called at any time, before or
// during Run.
type Collector struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	watches []collect.FileWatch
	gen     int // bumped by Update; Run applies a newer generation
}

// New returns a file collector with no watches.
func New(opts Options) *Collector {
	if opts.MaxWatches <= 0 {
		opts.MaxWatches = 100000
	}
	if opts.Coalesce == 0 {
		opts.Coalesce = 100 * time.Millisecond
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Collector{opts: opts, log: log.With("collector", "file")}
}

// Name implements collect.Collector.
func (c *Collector) Name() string { return "file" }

// Update replaces the watched paths; a running collector applies them
// within its poll interval (100 ms).
func (c *Collector) Update(watches []collect.FileWatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watches = slices.Clone(watches)
	c.gen++
}

func (c *Collector) current() ([]collect.FileWatch, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.watches, c.gen
}

// Event kinds.
const (
	kindOpen   = "open"
	kindCreate = "create"
	kindModify = "modify"
	kindDelete = "delete"
	kindClose  = "close"
	kindAttrib = "attrib"
)

var allKinds = []string{kindOpen, kindCreate, kindModify, kindDelete, kindClose, kindAttrib}

// spec is one FileWatch, normalized.
type spec struct {
	root      string
	recursive bool
	kinds     map[string]bool
	// closeNoWrite is set when "close" is asked for by name: "all" only
	// reports closes after a write, since every read ends in a close.
	closeNoWrite bool
	ignore       []string
}

func newSpec(w collect.FileWatch) (*spec, error) {
	if !filepath.IsAbs(w.Path) {
		return nil, fmt.Errorf("file watch %q: path is not absolute", w.Path)
	}
	s := &spec{root: filepath.Clean(w.Path), recursive: w.Recursive, kinds: make(map[string]bool)}
	events := w.Events
	if len(events) == 0 {
		events = []string{"all"}
	}
	for _, e := range events {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "all":
			for _, k := range allKinds {
				s.kinds[k] = true
			}
		case slices.Contains(allKinds, e):
			s.kinds[e] = true
			if e == kindClose {
				s.closeNoWrite = true
			}
		default:
			return nil, fmt.Errorf("file watch %q: unknown event kind %q", w.Path, e)
		}
	}
	for _, g := range w.Ignore {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("file watch %q: ignore glob %q: %w", w.Path, g, err)
		}
		s.ignore = append(s.ignore, g)
	}
	return s, nil
}

// ignored reports whether a base name matches an ignore glob.
func (s *spec) ignored(base string) bool {
	for _, g := range s.ignore {
		if ok, _ := path.Match(g, base); ok {
			return true
		}
	}
	return false
}

// covers reports whether filename is reported by s: the root itself, a
// direct child of a directory root, or any descendant when recursive.
func (s *spec) covers(filename string) bool {
	if filename == s.root {
		return true
	}
	rel, ok := strings.CutPrefix(filename, s.root)
	if !ok || (s.root != "/" && !strings.HasPrefix(rel, "/")) {
		return false
	}
	rel = strings.TrimPrefix(rel, "/")
	return s.recursive || !strings.Contains(rel, "/")
}

// wants reports whether s reports kind for filename; closeWrite tells a
// close after writing from one after reading.
func (s *spec) wants(filename, kind string, closeWrite bool) bool {
	if !s.kinds[kind] || !s.covers(filename) {
		return false
	}
	if kind == kindClose && !closeWrite && !s.closeNoWrite {
		return false
	}
	// An ignored name hides itself and, for a directory, what is under it.
	for p := filename; len(p) > len(s.root); p = filepath.Dir(p) {
		if s.ignored(filepath.Base(p)) {
			return false
		}
	}
	return true
}

// coalescer drops repeats of the same (filename, type) within a window:
// the first event is emitted at once (no added latency), the copies a
// write loop or a recursive re-scan produce are dropped.
type coalescer struct {
	window time.Duration
	last   map[[2]string]time.Time
}

func (c *coalescer) allow(filename, kind string, now time.Time) bool {
	if c.window < 0 {
		return true
	}
	if c.last == nil {
		c.last = make(map[[2]string]time.Time)
	}
	if len(c.last) > 4096 {
		for k, t := range c.last {
			if now.Sub(t) >= c.window {
				delete(c.last, k)
			}
		}
	}
	k := [2]string{filename, kind}
	if t, ok := c.last[k]; ok && now.Sub(t) < c.window {
		return false
	}
	c.last[k] = now
	return true
}

func fileEvent(filename, kind string, now time.Time) collect.Event {
	return collect.Event{
		"event_type": "file",
		"type":       kind,
		"filename":   filename,
		"timestamp":  now.UnixMilli(),
	}
}
