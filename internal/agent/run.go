package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/agent/collect"
	"github.com/aipsec/aip/internal/agent/spool"
)

// FileWatcher is the file-integrity collector's side that follows the
// server's configuration.
type FileWatcher interface {
	Update(watches []collect.FileWatch)
}

// PackageSource reads the host's package inventory and tells when the
// package database changed.
type PackageSource interface {
	Inventory() (*aip.Inventory, error)
	Watch(ctx context.Context, changed func()) error
}

// Options configure Run. Zero durations take the defaults in brackets.
type Options struct {
	StateDir string
	// Hostname overrides the host's name; Tags are reported in heartbeats.
	Hostname string
	Tags     []aip.Tag
	// Collectors produce the events; Files, when set, is one of them that
	// also follows GET /agent/v1/config; Packages sends the inventory.
	Collectors []collect.Collector
	Files      FileWatcher
	Packages   PackageSource

	HeartbeatEvery time.Duration // [30s]
	ConfigEvery    time.Duration // [10s]: a changed File rule applies within it
	InventoryEvery time.Duration // [24h]
	// RetryMax caps the backoff after failed sends [30s].
	RetryMax time.Duration
	// BatchRecords and BatchBytes bound one POST /agent/v1/events [500, 4 MiB].
	BatchRecords int
	BatchBytes   int

	Spool      spool.Options
	HTTPClient *http.Client
	Logger     *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HeartbeatEvery, 30*time.Second)
	def(&o.ConfigEvery, 10*time.Second)
	def(&o.InventoryEvery, 24*time.Hour)
	def(&o.RetryMax, 30*time.Second)
	if o.BatchRecords <= 0 {
		o.BatchRecords = 500
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 4 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	return o
}

// SetupOptions configure Setup.
type SetupOptions struct {
	Server, DeployKey string
	// Rulesets are the names of the rulesets the agent runs (none: the
	// server's default, the "Base Rule Set").
	Rulesets   []string
	Hostname   string
	Tags       []aip.Tag
	StateDir   string
	HTTPClient *http.Client
}

// Setup enrolls the host once and stores the agent's identity in the
// state dir (0600). An agent already enrolled there is refused: its
// events in the spool belong to that identity.
func Setup(ctx context.Context, o SetupOptions) (*Identity, error) {
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if id, err := LoadIdentity(o.StateDir); err == nil {
		return nil, fmt.Errorf("already enrolled as agent %s with %s: remove %s to enroll again",
			id.AgentID, id.Server, identityPath(o.StateDir))
	}
	c, err := NewClient(o.Server, o.HTTPClient)
	if err != nil {
		return nil, err
	}
	e, err := c.Enroll(ctx, o.DeployKey, hostInfo(o.Hostname, o.Tags), o.Rulesets)
	if err != nil {
		return nil, err
	}
	id := &Identity{Server: o.Server, AgentID: e.AgentID, AgentKey: e.AgentKey}
	if err := saveIdentity(o.StateDir, id); err != nil {
		return nil, err
	}
	return id, nil
}

// agent is one running aip-agent.
type agent struct {
	opts   Options
	id     *Identity
	client *Client
	spool  *spool.Spool
	log    *slog.Logger

	// meta is the host metadata added to every event.
	meta map[string]any

	mu     sync.Mutex
	health map[string]string // collector name → "ok" or the error

	rejected    atomic.Int64 // events the server refused for good
	spoolErrors atomic.Int64 // events that could not be spooled
}

// Run runs the agent of opts.StateDir until ctx is done: the collectors
// write events into the spool, a sender ships them, and heartbeats, the
// configuration and the inventory follow their own schedules. It returns
// after everything stopped and the spool was closed.
func Run(ctx context.Context, opts Options) error {
	opts = opts.withDefaults()
	id, err := LoadIdentity(opts.StateDir)
	if err != nil {
		return err
	}
	unlock, err := lockStateDir(opts.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	c, err := NewClient(id.Server, opts.HTTPClient)
	if err != nil {
		return err
	}
	if opts.Spool.Logger == nil {
		opts.Spool.Logger = opts.Logger
	}
	sp, err := spool.Open(spoolDir(opts.StateDir), opts.Spool)
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	host := hostInfo(opts.Hostname, opts.Tags)
	a := &agent{
		opts: opts, id: id, client: c.WithCredentials(id.AgentID, id.AgentKey), spool: sp, log: opts.Logger,
		health: make(map[string]string),
		meta:   map[string]any{"hostname": host.Hostname, "kernel": host.Kernel, "os_version": host.OSVersion},
	}
	a.log.Info("aip-agent running", slog.String("agent_id", id.AgentID), slog.String("server", id.Server),
		slog.Int("collectors", len(opts.Collectors)))

	var collectors, loops sync.WaitGroup
	cctx, stopCollectors := context.WithCancel(ctx)
	for _, col := range opts.Collectors {
		a.setHealth(col.Name(), "ok")
		collectors.Add(1)
		go func() {
			defer collectors.Done()
			if err := col.Run(cctx, a.emit); err != nil && cctx.Err() == nil {
				a.log.Error("collector stopped", slog.String("collector", col.Name()), slog.Any("error", err))
				a.setHealth(col.Name(), err.Error())
			}
		}()
	}
	lctx, stopLoops := context.WithCancel(context.Background())
	for _, loop := range []func(context.Context){a.sendLoop, a.heartbeatLoop, a.configLoop, a.inventoryLoop} {
		loops.Add(1)
		go func() { defer loops.Done(); loop(lctx) }()
	}

	<-ctx.Done()
	// Collectors first, so that their last events are spooled; the
	// loops then stop where they are (an unacknowledged batch stays in
	// the spool and goes out after the restart).
	stopCollectors()
	collectors.Wait()
	stopLoops()
	loops.Wait()
	if err := sp.Close(); err != nil {
		return fmt.Errorf("close spool: %w", err)
	}
	a.log.Info("aip-agent stopped")
	return nil
}

// emit completes a collector's event with the envelope and spools it.
func (a *agent) emit(ev collect.Event) {
	typ, _ := ev["event_type"].(string)
	if typ == "" {
		return
	}
	ev["_id"] = aip.NewUUID()
	ev["_type"] = typ
	ev["agent_id"] = a.id.AgentID
	if _, ok := ev["timestamp"]; !ok {
		ev["timestamp"] = collect.Now()
	}
	ev["host_metadata"] = a.meta
	ev["agent_metadata"] = map[string]any{"agent_id": a.id.AgentID, "version": Version, "deployment_mode": "host"}
	b, err := json.Marshal(ev)
	if err == nil {
		err = a.spool.Append(b)
	}
	if err != nil {
		if a.spoolErrors.Add(1) == 1 || errors.Is(err, spool.ErrClosed) {
			a.log.Error("event not spooled", slog.String("event_type", typ), slog.Any("error", err))
		}
	}
}

func (a *agent) setHealth(name, state string) {
	a.mu.Lock()
	a.health[name] = state
	a.mu.Unlock()
}

// sendLoop ships the spool's oldest events, one batch at a time, and
// acknowledges a batch only once the server stored it (202).
func (a *agent) sendLoop(ctx context.Context) {
	maxRecords := a.opts.BatchRecords
	backoff := time.Second
	for ctx.Err() == nil {
		b, err := a.spool.Next(maxRecords, a.opts.BatchBytes)
		if err != nil {
			a.log.Error("read spool", slog.Any("error", err))
			sleep(ctx, time.Second)
			continue
		}
		if b.Len() == 0 {
			select {
			case <-ctx.Done():
			case <-a.spool.Notify():
			case <-time.After(time.Second):
			}
			continue
		}
		body := joinArray(b.Records)
		res, err := a.client.SendEvents(ctx, body, "application/json")
		var se *StatusError
		switch {
		case err == nil:
			if len(res.Rejected) > 0 {
				// Never accepted in any form: keeping them would block
				// the spool forever.
				a.rejected.Add(int64(len(res.Rejected)))
				a.log.Warn("events refused by the server", slog.Int("count", len(res.Rejected)),
					slog.String("first_error", res.Rejected[0].Error))
			}
			if err := a.spool.Ack(b); err != nil {
				a.log.Error("acknowledge spooled events", slog.Any("error", err))
			}
			backoff, maxRecords = time.Second, a.opts.BatchRecords
		case errors.As(err, &se) && (se.Status == http.StatusRequestEntityTooLarge || se.Status == http.StatusBadRequest):
			if b.Len() > 1 {
				// Too large, or one bad record: smaller batches isolate it.
				maxRecords = max(1, b.Len()/2)
				continue
			}
			a.rejected.Add(1)
			a.log.Warn("event refused by the server; dropped", slog.Any("error", err))
			if err := a.spool.Ack(b); err != nil {
				a.log.Error("acknowledge spooled events", slog.Any("error", err))
			}
		default:
			wait := backoff
			if errors.As(err, &se) && se.RetryAfter > 0 {
				wait = se.RetryAfter
			}
			if ctx.Err() == nil {
				a.log.Warn("events not delivered; will retry", slog.Int("events", b.Len()),
					slog.Duration("retry_in", wait), slog.Any("error", err))
			}
			sleep(ctx, wait)
			backoff = min(2*backoff, a.opts.RetryMax)
		}
	}
}

// joinArray makes a JSON array of JSON records.
func joinArray(records [][]byte) []byte {
	n := 2
	for _, r := range records {
		n += len(r) + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	buf.WriteByte('[')
	for i, r := range records {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(r)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// heartbeatLoop reports the host at once and then every HeartbeatEvery,
// with the collectors' health and the spool's counters.
func (a *agent) heartbeatLoop(ctx context.Context) {
	for {
		host := hostInfo(a.opts.Hostname, a.opts.Tags)
		st := a.spool.Stats()
		a.mu.Lock()
		collectors := make(map[string]string, len(a.health))
		for k, v := range a.health {
			collectors[k] = v
		}
		a.mu.Unlock()
		// A collector with several ways of working (the process collector:
		// kernel connector or /proc scanning) says which one it uses.
		modes := map[string]string{}
		for _, col := range a.opts.Collectors {
			if m, ok := col.(interface{ Mode() string }); ok && m.Mode() != "" {
				modes[col.Name()] = m.Mode()
			}
		}
		health, _ := json.Marshal(map[string]any{
			"collectors": collectors,
			"modes":      modes,
			"spool": map[string]int64{"pendingEvents": st.PendingRecords, "pendingBytes": st.PendingBytes,
				"droppedEvents": st.Dropped},
			"rejectedEvents": a.rejected.Load(),
		})
		host.AgentModuleHealth = health
		if err := a.client.Heartbeat(ctx, host); err != nil && ctx.Err() == nil {
			a.log.Warn("heartbeat failed", slog.Any("error", err))
		}
		if !sleep(ctx, a.opts.HeartbeatEvery) {
			return
		}
	}
}

// configLoop pulls the File rules' watches and hands changes to the file
// collector.
func (a *agent) configLoop(ctx context.Context) {
	if a.opts.Files == nil {
		return
	}
	version := ""
	for {
		rc, err := a.client.Config(ctx, version)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				a.log.Warn("configuration not fetched", slog.Any("error", err))
			}
		case rc != nil:
			a.opts.Files.Update(rc.FileWatches)
			version = rc.Version
			a.log.Info("configuration applied", slog.String("version", rc.Version), slog.Int("file_watches", len(rc.FileWatches)))
		}
		if !sleep(ctx, a.opts.ConfigEvery) {
			return
		}
	}
}

// inventoryLoop sends the package inventory at start, every
// InventoryEvery and whenever the package database changes; a failed send
// is tried again a minute later.
func (a *agent) inventoryLoop(ctx context.Context) {
	if a.opts.Packages == nil {
		return
	}
	changed := make(chan struct{}, 1)
	go func() {
		err := a.opts.Packages.Watch(ctx, func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
		if err != nil && ctx.Err() == nil {
			a.log.Warn("package database not watched; the inventory follows the daily schedule only", slog.Any("error", err))
		}
	}()
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-time.After(wait):
		}
		wait = a.opts.InventoryEvery
		inv, err := a.opts.Packages.Inventory()
		if err == nil {
			var res *PackagesResult
			if res, err = a.client.PutPackages(ctx, inv); err == nil {
				a.log.Info("package inventory sent", slog.Int("packages", res.Packages),
					slog.Int("vulnerabilities", res.Vulnerabilities))
				continue
			}
		}
		if ctx.Err() == nil {
			a.log.Warn("package inventory not sent; retrying in a minute", slog.Any("error", err))
		}
		wait = time.Minute
	}
}

// sleep waits d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// lockStateDir takes an exclusive lock on the state dir, so that two
// agents never share one spool and identity.
func lockStateDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("state dir %s is in use by another aip-agent", dir)
	}
	return func() { f.Close() }, nil
}
