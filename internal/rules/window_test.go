package rules

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const t0 = int64(1_690_000_000_000)

func sec(s int64) int64 { return t0 + s*1000 }

// step is one observed match and the decision expected for it.
type step struct {
	at   int64 // seconds after t0
	want Decision
}

func runSteps(t *testing.T, a *Aggregator, key string, window, threshold int, steps []step) {
	t.Helper()
	for i, s := range steps {
		got := a.ObserveKey(key, window, threshold, sec(s.at), fmt.Sprintf("e%d", i+1))
		want := s.want
		want.Key, want.Time = key, sec(s.at)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("step %d at +%ds (-want +got):\n%s", i+1, s.at, diff)
		}
	}
}

func alert(kind DecisionKind, created, count int, first, last int64, window int64, ids ...string) Decision {
	d := Decision{Kind: kind, Count: count, FirstEventAt: sec(first), LastEventAt: sec(last)}
	if kind != Pending {
		d.CreatedAt, d.ExpiresAt = sec(int64(created)), sec(int64(created)+window)
	}
	d.EventIDs = ids
	return d
}

func TestWindowSequences(t *testing.T) {
	tests := []struct {
		name      string
		window    int
		threshold int
		steps     []step
	}{
		{"threshold 1 fires at once and increments inside the window", 60, 1, []step{
			{0, alert(NewAlert, 0, 1, 0, 0, 60, "e1")},
			{10, alert(Increment, 0, 2, 0, 10, 60)},
			{59, alert(Increment, 0, 3, 0, 59, 60)},
			{60, alert(NewAlert, 60, 1, 60, 60, 60, "e4")},
			{61, alert(Increment, 60, 2, 60, 61, 60)},
		}},
		{"threshold 3 fires on the third match and anchors the alert there", 60, 3, []step{
			{0, alert(Pending, 0, 1, 0, 0, 60)},
			{10, alert(Pending, 0, 2, 0, 10, 60)},
			{20, alert(NewAlert, 20, 3, 0, 20, 60, "e1", "e2", "e3")},
			{70, alert(Increment, 20, 4, 0, 70, 60)}, // past the first window, inside the alert's
			{80, alert(Pending, 0, 1, 80, 80, 60)},
		}},
		{"a window that ends below the threshold starts over", 60, 3, []step{
			{0, alert(Pending, 0, 1, 0, 0, 60)},
			{30, alert(Pending, 0, 2, 0, 30, 60)},
			{61, alert(Pending, 0, 1, 61, 61, 60)},
			{70, alert(Pending, 0, 2, 61, 70, 60)},
			{80, alert(NewAlert, 80, 3, 61, 80, 60, "e3", "e4", "e5")},
		}},
		{"a late match counts in the current alert", 60, 1, []step{
			{20, alert(NewAlert, 20, 1, 20, 20, 60, "e1")},
			{5, alert(Increment, 20, 2, 5, 20, 60)},
		}},
		{"window 0 makes every match its own alert", 0, 1, []step{
			{0, alert(NewAlert, 0, 1, 0, 0, 0, "e1")},
			{0, alert(NewAlert, 0, 1, 0, 0, 0, "e2")},
		}},
		{"threshold 0 counts as 1", 60, 0, []step{
			{0, alert(NewAlert, 0, 1, 0, 0, 60, "e1")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, NewAggregator(), "k", tt.window, tt.threshold, tt.steps)
		})
	}
}

func TestWindowKeysAreIndependent(t *testing.T) {
	a := NewAggregator()
	if d := a.ObserveKey("a", 60, 2, sec(0), "1"); d.Kind != Pending {
		t.Fatalf("a first = %v", d.Kind)
	}
	if d := a.ObserveKey("b", 60, 2, sec(1), "2"); d.Kind != Pending {
		t.Fatalf("b first = %v, want Pending: keys must not share counts", d.Kind)
	}
	if d := a.ObserveKey("a", 60, 2, sec(2), "3"); d.Kind != NewAlert {
		t.Fatalf("a second = %v, want NewAlert", d.Kind)
	}
}

func TestDismissOpensANewAlertOnTheNextMatch(t *testing.T) {
	for _, threshold := range []int{1, 5} {
		t.Run(fmt.Sprintf("threshold %d", threshold), func(t *testing.T) {
			a := NewAggregator()
			for i := 0; i < threshold; i++ {
				a.ObserveKey("k", 3600, threshold, sec(int64(i)), "pre")
			}
			if st, _ := a.State("k"); !st.Alerting {
				t.Fatal("no alert fired before the dismissal")
			}
			if !a.Dismiss("k") {
				t.Fatal("Dismiss reported no alert")
			}
			runSteps(t, a, "k", 3600, threshold, []step{
				{100, alert(NewAlert, 100, 1, 100, 100, 3600, "e1")},
				{101, alert(Increment, 100, 2, 100, 101, 3600)},
			})
		})
	}
	a := NewAggregator()
	a.ObserveKey("pending", 60, 2, sec(0), "1")
	if a.Dismiss("pending") || a.Dismiss("unknown") {
		t.Error("Dismiss reported an alert for a key without one")
	}
}

func TestDismissedWindowThatEndedStartsOver(t *testing.T) {
	a := NewAggregator()
	a.ObserveKey("k", 60, 2, sec(0), "1")
	a.ObserveKey("k", 60, 2, sec(1), "2")
	a.Dismiss("k")
	runSteps(t, a, "k", 60, 2, []step{{61, alert(Pending, 0, 1, 61, 61, 60)}})
}

func TestExpireDropsEndedWindows(t *testing.T) {
	a := NewAggregator()
	a.ObserveKey("short", 10, 1, sec(0), "1") // alert window ends at +10
	a.ObserveKey("long", 100, 1, sec(0), "2") // ends at +100
	a.ObserveKey("moved", 10, 2, sec(0), "3") // pending window ends at +10 ...
	a.ObserveKey("moved", 10, 2, sec(5), "4") // ... fires at +5: the alert's ends at +15
	if n := a.Expire(sec(9)); n != 0 || a.Len() != 3 {
		t.Fatalf("Expire(+9) dropped %d, Len %d; want 0, 3", n, a.Len())
	}
	if n := a.Expire(sec(10)); n != 1 || a.Len() != 2 {
		t.Fatalf("Expire(+10) dropped %d, Len %d; want 1 (short), 2", n, a.Len())
	}
	if _, ok := a.State("moved"); !ok {
		t.Fatal("Expire dropped a key whose window had moved on")
	}
	if n := a.Expire(sec(15)); n != 1 {
		t.Fatalf("Expire(+15) dropped %d, want 1 (moved)", n)
	}
	if n := a.Expire(sec(1000)); n != 1 || a.Len() != 0 {
		t.Fatalf("Expire(+1000) dropped %d, Len %d; want 1, 0", n, a.Len())
	}
	// A key seen again after expiry starts afresh.
	runSteps(t, a, "short", 10, 1, []step{{2000, alert(NewAlert, 2000, 1, 2000, 2000, 10, "e1")}})
}

func TestSnapshotRestore(t *testing.T) {
	a := NewAggregator()
	a.ObserveKey("alerting", 60, 1, sec(0), "1")
	a.ObserveKey("pending", 60, 3, sec(0), "2")
	a.ObserveKey("pending", 60, 3, sec(1), "3")
	b := NewAggregator()
	a.Snapshot(func(key string, st WindowState) { b.Restore(key, st) })
	if b.Len() != 2 {
		t.Fatalf("restored %d keys, want 2", b.Len())
	}
	runSteps(t, b, "alerting", 60, 1, []step{{30, alert(Increment, 0, 2, 0, 30, 60)}})
	runSteps(t, b, "pending", 60, 3, []step{{2, alert(NewAlert, 2, 3, 0, 2, 60, "2", "3", "e1")}})
	if n := b.Expire(sec(62)); n != 2 {
		t.Errorf("restored windows: Expire dropped %d, want 2", n)
	}
}

func TestEffectiveTime(t *testing.T) {
	arrival := t0
	tests := []struct{ ts, want int64 }{
		{t0 - 3_600_000, t0 - 3_600_000},
		{t0, t0},
		{t0 + MaxFutureSkew, t0 + MaxFutureSkew},
		{t0 + MaxFutureSkew + 1, t0},
	}
	for _, tt := range tests {
		if got := EffectiveTime(tt.ts, arrival); got != tt.want {
			t.Errorf("EffectiveTime(%d, %d) = %d, want %d", tt.ts, arrival, got, tt.want)
		}
	}
}

// TestObserveMatches runs the Base Rule Set's "5 sudo in an hour" through
// the engine and the aggregator, with event timestamps deciding windows.
func TestObserveMatches(t *testing.T) {
	rule := Rule{ID: "11111111-1111-4111-8111-111111111111", Type: TypeHost, Name: "Privilege Escalations", Enabled: true,
		Title: "User: Privilege Escalation: {{user}} ran {{command}}", Filter: `command = "sudo" and type = "start"`,
		Window: 3600, Threshold: 5, AggregateFields: []string{"user"}}
	eng, err := NewEngine([]Rule{rule})
	if err != nil {
		t.Fatal(err)
	}
	a := NewAggregator()
	observe := func(id string, ts int64, arrival int64) Decision {
		js := fmt.Sprintf(`{"_id":%q,"event_type":"audit","command":"sudo","type":"start","user":"bob","timestamp":%d}`, id, ts)
		var d Decision
		n := eng.Evaluate(mustEvent(t, js), func(m Match) {
			d = a.Observe(m, "agent-1", arrival)
			if d.Key != m.Key("agent-1") {
				t.Errorf("decision key %q, want the match's key %q", d.Key, m.Key("agent-1"))
			}
		})
		if n != 1 {
			t.Fatalf("event %s matched %d rules, want 1", id, n)
		}
		return d
	}
	for i := 1; i <= 4; i++ {
		if d := observe(fmt.Sprintf("e%d", i), sec(int64(i*60)), sec(int64(i*60))); d.Kind != Pending || d.Count != i {
			t.Fatalf("sudo %d: %v count %d, want Pending count %d", i, d.Kind, d.Count, i)
		}
	}
	// The fifth arrives late (its own timestamp counts) ...
	d := observe("e5", sec(300), sec(900))
	want := Decision{Kind: NewAlert, Key: d.Key, Time: sec(300), CreatedAt: sec(300), ExpiresAt: sec(300 + 3600), Count: 5,
		FirstEventAt: sec(60), LastEventAt: sec(300), Title: "User: Privilege Escalation: bob ran sudo",
		Aggregates: []Aggregate{{"user", "bob"}}, EventIDs: []string{"e1", "e2", "e3", "e4", "e5"}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("fifth sudo (-want +got):\n%s", diff)
	}
	// ... and one stamped an hour ahead counts at its arrival.
	d = observe("e6", sec(7200), sec(400))
	if d.Kind != Increment || d.Time != sec(400) || d.Count != 6 {
		t.Errorf("future-stamped sudo: %v at %d count %d, want Increment at %d count 6", d.Kind, d.Time, d.Count, sec(400))
	}
	// An event without a timestamp counts at its arrival too.
	var got Decision
	eng.Evaluate(mustEvent(t, `{"_id":"e7","event_type":"audit","command":"sudo","type":"start","user":"bob"}`), func(m Match) {
		got = a.Observe(m, "agent-1", sec(500))
	})
	if got.Kind != Increment || got.Time != sec(500) {
		t.Errorf("untimed sudo: %v at %d, want Increment at %d", got.Kind, got.Time, sec(500))
	}
}

func TestPendingEventIDsAreBounded(t *testing.T) {
	a := NewAggregator()
	threshold := MaxPendingEventIDs + 10
	var d Decision
	for i := 0; i < threshold; i++ {
		d = a.ObserveKey("k", 3600, threshold, sec(int64(i)), fmt.Sprintf("e%d", i))
	}
	if d.Kind != NewAlert || d.Count != threshold {
		t.Fatalf("last match: %v count %d, want NewAlert count %d", d.Kind, d.Count, threshold)
	}
	if len(d.EventIDs) != MaxPendingEventIDs+1 || d.EventIDs[0] != "e0" || d.EventIDs[len(d.EventIDs)-1] != fmt.Sprintf("e%d", threshold-1) {
		t.Errorf("EventIDs has %d ids from %q to %q", len(d.EventIDs), d.EventIDs[0], d.EventIDs[len(d.EventIDs)-1])
	}
}
