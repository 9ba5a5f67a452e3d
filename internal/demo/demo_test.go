package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip/internal/ingest"
	"github.com/aipsec/aip/internal/rules"
)

var t0 = time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)

// run ticks f over [start, start+d) in steps and returns every host's
// events in order.
func run(f *Fleet, start time.Time, d, step time.Duration) map[int][][]byte {
	out := make(map[int][][]byte)
	end := start.Add(d)
	for from := start; from.Before(end); from = from.Add(step) {
		to := from.Add(step)
		if to.After(end) {
			to = end
		}
		for i, evs := range f.Tick(from, to) {
			out[i] = append(out[i], evs...)
		}
	}
	return out
}

// asStrings makes byte slices comparable with cmp.
func asStrings(m map[int][][]byte) map[int][]string {
	out := make(map[int][]string, len(m))
	for i, evs := range m {
		out[i] = []string{}
		for _, e := range evs {
			out[i] = append(out[i], string(e))
		}
	}
	return out
}

func TestTickIsDeterministic(t *testing.T) {
	want := asStrings(run(NewFleet(42, 3), t0, 30*time.Second, time.Second))
	tests := []struct {
		name string
		got  map[int][]string
	}{
		{"gives the same bytes for the same seed", asStrings(run(NewFleet(42, 3), t0, 30*time.Second, time.Second))},
		{"gives the same bytes in 250 ms ticks", asStrings(run(NewFleet(42, 3), t0, 30*time.Second, 250*time.Millisecond))},
		{"gives the same bytes in 7.3 s ticks", asStrings(run(NewFleet(42, 3), t0, 30*time.Second, 7300*time.Millisecond))},
		{"gives the same bytes in one tick", asStrings(run(NewFleet(42, 3), t0, 30*time.Second, 30*time.Second))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(want, tc.got); diff != "" {
				t.Errorf("events differ (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("gives other events for another seed", func(t *testing.T) {
		got := asStrings(run(NewFleet(43, 3), t0, 30*time.Second, time.Second))
		if cmp.Equal(want, got) {
			t.Error("seeds 42 and 43 gave the same events")
		}
	})
	t.Run("gives the same hosts for the same seed", func(t *testing.T) {
		if diff := cmp.Diff(NewFleet(42, 5).Hosts(), NewFleet(42, 5).Hosts()); diff != "" {
			t.Errorf("hosts differ (-want +got):\n%s", diff)
		}
	})
}

func TestTickEventsPassIngest(t *testing.T) {
	f := NewFleet(7, 4)
	seen := make(map[string]bool)
	for s := 0; s < 60; s++ {
		from, to := t0.Add(time.Duration(s)*time.Second), t0.Add(time.Duration(s+1)*time.Second)
		for i, evs := range f.Tick(from, to) {
			if len(evs) == 0 {
				continue
			}
			body, err := json.Marshal(rawList(evs))
			if err != nil {
				t.Fatalf("marshal batch: %v", err)
			}
			b, err := ingest.Decode(bytes.NewReader(body), "application/json", "", ingest.Limits{})
			if err != nil {
				t.Fatalf("second %d host %d: Decode: %v", s, i, err)
			}
			if len(b.Rejected) != 0 || len(b.Events) != len(evs) {
				t.Fatalf("second %d host %d: %d kept of %d, rejected %+v", s, i, len(b.Events), len(evs), b.Rejected)
			}
			for _, ev := range b.Events {
				if ev.Timestamp < from.UnixMilli() || ev.Timestamp >= to.UnixMilli() {
					t.Errorf("event %s at %d is outside [%d, %d)", ev.ID, ev.Timestamp, from.UnixMilli(), to.UnixMilli())
				}
				if seen[ev.ID] {
					t.Errorf("event id %s repeats", ev.ID)
				}
				seen[ev.ID] = true
			}
		}
	}
}

func rawList(evs [][]byte) []json.RawMessage {
	out := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		out[i] = e
	}
	return out
}

func TestTickKeepsEventsInTheInterval(t *testing.T) {
	f := NewFleet(3, 3)
	tests := []struct {
		name     string
		from, to time.Time
	}{
		{"keeps a sub-second interval", t0.Add(1300 * time.Millisecond), t0.Add(1700 * time.Millisecond)},
		{"keeps an interval with sub-millisecond ends", t0.Add(2*time.Second + 400*time.Microsecond), t0.Add(5*time.Second + 900*time.Microsecond)},
		{"keeps an interval before the first tick", t0.Add(-10 * time.Second), t0.Add(-5 * time.Second)},
	}
	f.Tick(t0, t0) // fixes the epoch at t0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, evs := range f.Tick(tc.from, tc.to) {
				for _, e := range evs {
					var ev struct {
						Timestamp int64 `json:"timestamp"`
					}
					if err := json.Unmarshal(e, &ev); err != nil {
						t.Fatalf("host %d: %v", i, err)
					}
					if at := time.UnixMilli(ev.Timestamp); at.Before(tc.from) || !at.Before(tc.to) {
						t.Errorf("host %d: event at %v is outside [%v, %v)", i, at, tc.from, tc.to)
					}
				}
			}
		})
	}
	t.Run("gives empty entries for an empty interval", func(t *testing.T) {
		want := map[int][]string{0: {}, 1: {}, 2: {}}
		if diff := cmp.Diff(want, asStrings(f.Tick(t0.Add(time.Second), t0))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// alerts feeds host events through the Base Rule Set and an aggregator as
// the pipeline does and returns the new alerts' rule names with their
// times.
func alerts(t *testing.T, byHost map[int][][]byte) map[string][]int64 {
	t.Helper()
	eng, err := rules.NewEngine(rules.BaseRuleSet())
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	agg := rules.NewAggregator()
	out := make(map[string][]int64)
	hosts := make([]int, 0, len(byHost))
	for i := range byHost {
		hosts = append(hosts, i)
	}
	sort.Ints(hosts)
	for _, i := range hosts {
		agent := fmt.Sprintf("agent-%d", i)
		for _, js := range byHost[i] {
			ev, err := rules.DecodeEvent(js)
			if err != nil {
				t.Fatalf("DecodeEvent: %v\n%s", err, js)
			}
			ts, _ := ev.Timestamp()
			eng.Evaluate(ev, func(m rules.Match) {
				if d := agg.Observe(m, agent, ts); d.Kind == rules.NewAlert {
					out[m.Rule.Name] = append(out[m.Rule.Name], d.CreatedAt)
					t.Logf("alert on host %d at +%d ms: %s", i, d.CreatedAt-t0.UnixMilli(), d.Title)
				}
			})
		}
	}
	return out
}

func TestScenariosRaiseAlerts(t *testing.T) {
	for _, n := range []int{3, 1} {
		got := alerts(t, run(NewFleet(11, n), t0, 60*time.Second, time.Second))
		expected := make(map[string]bool)
		for _, s := range Scenarios() {
			for _, r := range s.Rules {
				expected[r] = true
				t.Run(fmt.Sprintf("%d hosts/%s/alerts on %s within 15 s", n, s.Name, r), func(t *testing.T) {
					times := got[r]
					if len(times) == 0 {
						t.Fatalf("no alert")
					}
					if first := times[0] - t0.UnixMilli(); first >= 15000 {
						t.Errorf("first alert at +%d ms", first)
					}
				})
			}
		}
		t.Run(fmt.Sprintf("%d hosts/raises no other alert", n), func(t *testing.T) {
			for r := range got {
				if !expected[r] {
					t.Errorf("unexpected alert of %q", r)
				}
			}
		})
	}
}

func TestScenariosReplay(t *testing.T) {
	f := NewFleetOptions(11, 3, Options{ScenarioEvery: time.Minute})
	got := alerts(t, run(f, t0, 3*time.Minute, time.Second))
	// The brute force comes from a new address each replay.
	if n := len(got["User Activity: Repeated Login Failures"]); n != 3 {
		t.Errorf("%d brute force alerts in 3 one-minute replays, want 3", n)
	}
}

func TestOptionsStart(t *testing.T) {
	tests := []struct {
		name  string
		start time.Time
		want  bool
	}{
		{"replays from the first tick without a start", time.Time{}, true},
		{"replays from the start before the first tick", t0.Add(-20 * time.Second), false},
		{"replays from a start after the first tick", t0.Add(30 * time.Second), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFleetOptions(11, 3, Options{Start: tc.start})
			got := alerts(t, run(f, t0, 60*time.Second, time.Second))
			if has := len(got["User Activity: Repeated Login Failures"]) > 0; has != tc.want {
				t.Errorf("brute force alert = %v, want %v", has, tc.want)
			}
		})
	}
}

func TestTickIsSafeForConcurrentUse(t *testing.T) {
	want := asStrings(run(NewFleet(9, 3), t0, 5*time.Second, time.Second))
	f := NewFleet(9, 3)
	f.Tick(t0, t0)
	results := make(chan map[int][]string, 4)
	for range 4 {
		go func() { results <- asStrings(run(f, t0, 5*time.Second, time.Second)) }()
	}
	for range 4 {
		if diff := cmp.Diff(want, <-results); diff != "" {
			t.Errorf("concurrent ticks differ (-want +got):\n%s", diff)
		}
	}
}

func TestBackgroundRaisesNoAlerts(t *testing.T) {
	f := NewFleetOptions(11, 4, Options{NoScenarios: true})
	byHost := run(f, t0, 10*time.Minute, time.Second)
	if got := alerts(t, byHost); len(got) != 0 {
		t.Errorf("alerts from benign background: %v", got)
	}
	for i, evs := range byHost {
		rate := float64(len(evs)) / 600
		t.Logf("host %d (%s): %d events in 10 min, %.2f events/s", i, f.Hosts()[i].Hostname, len(evs), rate)
		if rate < 0.5 || rate > 20 {
			t.Errorf("host %d sends %.2f events/s, want a modest 0.5..20", i, rate)
		}
	}
}

func TestHosts(t *testing.T) {
	hosts := NewFleet(5, 5).Hosts()
	var names []string
	ips, ids := make(map[string]bool), make(map[string]bool)
	for _, h := range hosts {
		names = append(names, h.Hostname)
		if ips[h.IPs.Private[0]] || ids[h.InstanceID] {
			t.Errorf("%s repeats an address or instance id", h.Hostname)
		}
		ips[h.IPs.Private[0]], ids[h.InstanceID] = true, true
		if h.AgentVersion == "" || h.Kernel == "" || h.OSVersion == "" || len(h.Tags) == 0 || len(h.IPs.LinkLocal) == 0 {
			t.Errorf("%s lacks host info: %+v", h.Hostname, h)
		}
		if ah := h.AgentHost(); ah.Hostname != h.Hostname || ah.InstanceID != h.InstanceID {
			t.Errorf("AgentHost of %s is %+v", h.Hostname, ah)
		}
	}
	if diff := cmp.Diff([]string{"web-1", "bastion", "db-1", "web-2", "web-3"}, names); diff != "" {
		t.Errorf("hostnames (-want +got):\n%s", diff)
	}
	t.Run("returns copies", func(t *testing.T) {
		f := NewFleet(5, 1)
		f.Hosts()[0].Tags[0].Value = "changed"
		if f.Hosts()[0].Tags[0].Value == "changed" {
			t.Error("changing a returned host changed the fleet")
		}
	})
	for _, n := range []int{0, -3} {
		t.Run(fmt.Sprintf("gives an empty fleet for %d hosts", n), func(t *testing.T) {
			f := NewFleet(5, n)
			if len(f.Hosts()) != 0 || len(f.Tick(t0, t0.Add(time.Minute))) != 0 {
				t.Error("fleet is not empty")
			}
		})
	}
}

func BenchmarkTick(b *testing.B) {
	f := NewFleet(1, 3)
	var n int
	for i := 0; b.Loop(); i++ {
		from := t0.Add(time.Duration(i) * time.Second)
		for _, evs := range f.Tick(from, from.Add(time.Second)) {
			n += len(evs)
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "events/tick")
}
