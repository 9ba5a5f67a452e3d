// Package demo simulates a small fleet of Linux hosts for `aipd serve
// --demo`: the hosts an agent would report and the events it would send.
//
// It is pure and deterministic: no I/O, no clock, no global randomness.
// A fleet is a function of its seed, its size and its options; the events
// of a host for a second of its life are a function of those and of the
// second alone, so the same seed gives the same bytes however the caller
// slices time into ticks. The HTTP driver that enrolls the hosts and posts
// their events through the ingest API lives elsewhere and uses this package.
//
// Most events are benign background (cron, package updates the Base Rule
// Set suppresses, ssh logins, ordinary outbound connections). On top of it
// the fleet replays attack scenarios (see Scenarios) a few seconds into
// its life and then once every ScenarioEvery, each of which the Base Rule
// Set alerts on, so a newcomer sees alerts within seconds of start.
package demo

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aipsec/aip"
)

// Host roles. The first three hosts are web-1, bastion and db-1; the rest
// are further web servers.
const (
	RoleWeb     = "web"
	RoleBastion = "bastion"
	RoleDB      = "db"
)

// AgentVersion is the agent version every simulated host reports.
const AgentVersion = "3.0.0"

// DefaultScenarioEvery is how often the scenarios are replayed when
// Options.ScenarioEvery is zero.
const DefaultScenarioEvery = 10 * time.Minute

// MinScenarioEvery is the shortest replay period: every scenario must end
// before the next replay starts.
const MinScenarioEvery = time.Minute

// Tag is a cloud tag of a host.
type Tag = aip.Tag

// IPs are a host's addresses by kind.
type IPs struct {
	Private, Public, LinkLocal []string
}

// Host is what a simulated agent reports about its host at enrollment and
// in heartbeats.
type Host struct {
	Hostname, AgentType string
	IPs                 IPs
	OSVersion, Kernel   string
	AgentVersion        string
	Tags                []Tag
	InstanceID          string // cloud metadata
	// Role is RoleWeb, RoleBastion or RoleDB.
	Role string
	// InstanceType and ImageID are the rest of the cloud metadata, which
	// events carry in host_metadata.
	InstanceType, ImageID string
	AvailabilityZone      string
}

// AgentHost returns h in the shape of the agent API's host info.
func (h Host) AgentHost() aip.AgentHost {
	return aip.AgentHost{
		InstanceID: h.InstanceID,
		Version:    h.AgentVersion,
		Hostname:   h.Hostname,
		IPAddresses: aip.IPAddresses{
			Private:   append([]string(nil), h.IPs.Private...),
			LinkLocal: append([]string(nil), h.IPs.LinkLocal...),
			Public:    append([]string(nil), h.IPs.Public...),
		},
		Tags:      append([]Tag(nil), h.Tags...),
		AgentType: h.AgentType,
		OSVersion: h.OSVersion,
		Kernel:    h.Kernel,
	}
}

// Options tune a fleet beyond its seed and size. The zero value is the
// demo's default.
type Options struct {
	// NoScenarios leaves only the benign background.
	NoScenarios bool
	// ScenarioEvery is the replay period of the scenarios: zero means
	// DefaultScenarioEvery, and shorter periods than MinScenarioEvery are
	// raised to it.
	ScenarioEvery time.Duration
	// Start is the start of the fleet's life, which the scenario schedule
	// counts from. Zero means the from of the first Tick.
	Start time.Time
}

// Fleet is a simulated fleet. It is safe for concurrent use.
type Fleet struct {
	seed      int64
	accountID string
	hosts     []Host
	procs     []procs
	scen      bool
	everyMs   int64

	mu       sync.Mutex
	epoch    int64 // ms; valid when epochSet
	epochSet bool
}

// procs are the long-lived process ids of a host, which its events refer
// to.
type procs struct {
	sshd, cron, nginx, phpfpm, postgres, ssm, chronyd int
	bootMs                                            int64 // parent timestamps, ms before the epoch
}

// NewFleet returns a fleet of n hosts with the default options. n below 1
// gives an empty fleet.
func NewFleet(seed int64, n int) *Fleet {
	return NewFleetOptions(seed, n, Options{})
}

// NewFleetOptions returns a fleet of n hosts tuned by opts.
func NewFleetOptions(seed int64, n int, opts Options) *Fleet {
	n = max(n, 0)
	f := &Fleet{seed: seed, scen: !opts.NoScenarios}
	every := opts.ScenarioEvery
	if every == 0 {
		every = DefaultScenarioEvery
	}
	f.everyMs = max(every, MinScenarioEvery).Milliseconds()
	if !opts.Start.IsZero() {
		f.epoch, f.epochSet = ceilMs(opts.Start), true
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x6465_6d6f_666c_6565)) // "demoflee"
	f.accountID = fmt.Sprintf("%012d", r.Int64N(1_000_000_000_000))
	webs := 0
	for i := 0; i < n; i++ {
		role := RoleWeb
		switch i {
		case 1:
			role = RoleBastion
		case 2:
			role = RoleDB
		}
		name := role
		switch role {
		case RoleWeb:
			webs++
			name = fmt.Sprintf("web-%d", webs)
		case RoleDB:
			name = "db-1"
		}
		f.hosts = append(f.hosts, newHost(r, i, role, name))
		f.procs = append(f.procs, procs{
			sshd: 600 + r.IntN(300), cron: 500 + r.IntN(100), nginx: 900 + r.IntN(200),
			phpfpm: 1200 + r.IntN(300), postgres: 800 + r.IntN(200), ssm: 400 + r.IntN(100),
			chronyd: 300 + r.IntN(100), bootMs: int64(86_400_000 + r.IntN(30*86_400_000)),
		})
	}
	return f
}

func newHost(r *rand.Rand, i int, role, name string) Host {
	subnet := map[string]int{RoleBastion: 0, RoleWeb: 1, RoleDB: 2}[role]
	h := Host{
		Hostname:         name,
		AgentType:        aip.AgentTypeMonitor,
		OSVersion:        "ubuntu-22.04",
		Kernel:           fmt.Sprintf("5.15.0-10%02d-aws", 40+r.IntN(20)),
		AgentVersion:     AgentVersion,
		InstanceID:       fmt.Sprintf("i-0%016x", r.Uint64()),
		ImageID:          fmt.Sprintf("ami-0%016x", r.Uint64()),
		InstanceType:     "t3.medium",
		AvailabilityZone: []string{"us-east-1a", "us-east-1b", "us-east-1c"}[i%3],
		Role:             role,
	}
	h.IPs.Private = []string{fmt.Sprintf("10.0.%d.%d", subnet, 10+4*i+r.IntN(4))}
	h.IPs.LinkLocal = []string{fmt.Sprintf("fe80::%x:%xff:fe%02x:%04x", r.IntN(0x10000), r.IntN(0x100), r.IntN(0x100), r.IntN(0x10000))}
	switch role {
	case RoleBastion:
		h.AgentType = aip.AgentTypeInvestigate
		h.InstanceType = "t3.micro"
	case RoleDB:
		// As many draws as the Amazon Linux 2 kernel this replaced took,
		// so that the hosts after db-1 keep their addresses and ids. The
		// kernel matches the kernel package of Inventory.
		_, _, _ = r.IntN(20), r.IntN(10), r.IntN(200)
		h.OSVersion, h.Kernel = "almalinux-9.3", "5.14.0-362.8.1.el9_3.x86_64"
		h.InstanceType = "r5.large"
	}
	if role != RoleDB {
		// TEST-NET-1 (RFC 5737): clearly not a real host's address.
		h.IPs.Public = []string{fmt.Sprintf("192.0.2.%d", 10+4*i+r.IntN(4))}
	}
	h.Tags = []Tag{
		{Source: "ec2", Key: "Name", Value: name},
		{Source: "ec2", Key: "role", Value: role},
		{Source: "ec2", Key: "env", Value: "production"},
	}
	return h
}

// Hosts returns the fleet's hosts, index i being host i of Tick. The
// slices are the caller's to change.
func (f *Fleet) Hosts() []Host {
	out := make([]Host, len(f.hosts))
	for i, h := range f.hosts {
		h.IPs = IPs{
			Private:   append([]string(nil), h.IPs.Private...),
			Public:    append([]string(nil), h.IPs.Public...),
			LinkLocal: append([]string(nil), h.IPs.LinkLocal...),
		}
		h.Tags = append([]Tag(nil), h.Tags...)
		out[i] = h
	}
	return out
}

// start returns the fleet's epoch (ms), fixing it at from when unset.
func (f *Fleet) start(fromMs int64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.epochSet {
		f.epoch, f.epochSet = fromMs, true
	}
	return f.epoch
}

// Tick returns the events each host emits in [from, to), by host index,
// each a JSON object in timestamp order. Every host has an entry, empty
// when it emitted nothing; to not after from gives only empty entries.
// Callers should tick in steps of seconds: a call builds every event of
// the interval in memory.
func (f *Fleet) Tick(from, to time.Time) map[int][][]byte {
	out := make(map[int][][]byte, len(f.hosts))
	for i := range f.hosts {
		out[i] = [][]byte{}
	}
	fromMs, toMs := ceilMs(from), ceilMs(to)
	if len(f.hosts) == 0 || toMs <= fromMs {
		return out
	}
	epoch := f.start(fromMs)
	for sec := floorDiv(fromMs-epoch, 1000); epoch+sec*1000 < toMs; sec++ {
		for i := range f.hosts {
			for _, ev := range f.second(i, sec, epoch) {
				if ev.ts >= fromMs && ev.ts < toMs {
					out[i] = append(out[i], ev.json)
				}
			}
		}
	}
	return out
}

// ceilMs is t in epoch milliseconds, rounded up, so that a millisecond
// timestamp at or after it is never before t.
func ceilMs(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
