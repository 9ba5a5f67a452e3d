package file

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip/internal/agent/collect"
)

var _ collect.Collector = (*Collector)(nil)

func TestSpecWants(t *testing.T) {
	tests := []struct {
		name       string
		watch      collect.FileWatch
		filename   string
		kind       string
		closeWrite bool
		want       bool
	}{
		{"reports a direct child", collect.FileWatch{Path: "/etc", Events: []string{"modify"}}, "/etc/hosts", "modify", false, true},
		{"skips a grandchild when not recursive", collect.FileWatch{Path: "/etc", Events: []string{"all"}}, "/etc/ssh/sshd_config", "modify", false, false},
		{"reports a grandchild when recursive", collect.FileWatch{Path: "/etc", Recursive: true, Events: []string{"all"}}, "/etc/ssh/sshd_config", "modify", false, true},
		{"skips a sibling sharing the prefix", collect.FileWatch{Path: "/etc", Recursive: true}, "/etcetera/x", "modify", false, false},
		{"skips unrequested kinds", collect.FileWatch{Path: "/etc", Events: []string{"Create", "DELETE"}}, "/etc/hosts", "modify", false, false},
		{"matches kinds case-insensitively", collect.FileWatch{Path: "/etc", Events: []string{"Create"}}, "/etc/hosts", "create", false, true},
		{"skips ignored base names", collect.FileWatch{Path: "/etc", Events: []string{"all"}, Ignore: []string{"*.swp"}}, "/etc/.hosts.swp", "modify", false, false},
		{"skips what is under an ignored directory", collect.FileWatch{Path: "/srv", Recursive: true, Ignore: []string{".git"}}, "/srv/.git/objects/ab", "create", false, false},
		{"reports a file root", collect.FileWatch{Path: "/etc/shadow", Events: []string{"all"}}, "/etc/shadow", "attrib", false, true},
		{"skips the file root's siblings", collect.FileWatch{Path: "/etc/shadow", Events: []string{"all"}}, "/etc/passwd", "attrib", false, false},
		{"skips a read-only close for all", collect.FileWatch{Path: "/etc", Events: []string{"all"}}, "/etc/hosts", "close", false, false},
		{"reports a write close for all", collect.FileWatch{Path: "/etc", Events: []string{"all"}}, "/etc/hosts", "close", true, true},
		{"reports a read-only close when close is named", collect.FileWatch{Path: "/etc", Events: []string{"close"}}, "/etc/hosts", "close", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newSpec(tt.watch)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.wants(tt.filename, tt.kind, tt.closeWrite); got != tt.want {
				t.Errorf("wants = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewSpecRejects(t *testing.T) {
	for name, w := range map[string]collect.FileWatch{
		"rejects a relative path":  {Path: "etc"},
		"rejects an unknown kind":  {Path: "/etc", Events: []string{"rename"}},
		"rejects a malformed glob": {Path: "/etc", Ignore: []string{"["}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := newSpec(w); err == nil {
				t.Error("newSpec succeeded")
			}
		})
	}
}

func TestCoalescerDropsRepeatsWithinWindow(t *testing.T) {
	c := coalescer{window: 100 * time.Millisecond}
	t0 := time.Now()
	got := []bool{
		c.allow("/a", "modify", t0),
		c.allow("/a", "modify", t0.Add(50*time.Millisecond)),
		c.allow("/a", "attrib", t0.Add(50*time.Millisecond)),
		c.allow("/b", "modify", t0.Add(50*time.Millisecond)),
		c.allow("/a", "modify", t0.Add(150*time.Millisecond)),
	}
	if diff := cmp.Diff([]bool{true, false, true, true, true}, got); diff != "" {
		t.Errorf("allow (-want +got):\n%s", diff)
	}
}

type recorder struct {
	mu  sync.Mutex
	evs []string
}

func (r *recorder) emit(ev collect.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev["event_type"] != "file" || ev["timestamp"].(int64) <= 0 {
		panic("malformed event")
	}
	r.evs = append(r.evs, ev["type"].(string)+" "+ev["filename"].(string))
}

// take returns and forgets the events seen so far.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.evs
	r.evs = nil
	return evs
}

// expect waits until every wanted event arrived, then checks that none
// of unwanted did.
func (r *recorder) expect(t *testing.T, want []string, unwanted ...string) {
	t.Helper()
	var got []string
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		got = append(got, r.take()...)
		missing := false
		for _, w := range want {
			if !slices.Contains(got, w) {
				missing = true
			}
		}
		if !missing {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
	got = append(got, r.take()...)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing event %q; got %q", w, got)
		}
	}
	for _, u := range unwanted {
		if slices.Contains(got, u) {
			t.Errorf("unexpected event %q; got %q", u, got)
		}
	}
}

func start(t *testing.T, c *Collector) *recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, rec.emit) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	time.Sleep(250 * time.Millisecond) // the first plan
	return rec
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunReportsChanges(t *testing.T) {
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	c := New(Options{})
	c.Update([]collect.FileWatch{{Path: dir, Events: []string{"create", "modify", "delete", "attrib"}, Ignore: []string{"*.swp"}}})
	rec := start(t, c)

	f := filepath.Join(dir, "a.conf")
	must(t, os.WriteFile(f, []byte("x"), 0o644))
	rec.expect(t, []string{"create " + f, "modify " + f})
	must(t, os.Chmod(f, 0o600))
	rec.expect(t, []string{"attrib " + f})
	must(t, os.WriteFile(filepath.Join(dir, ".a.conf.swp"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "deep"), []byte("x"), 0o644))
	must(t, os.Remove(f))
	rec.expect(t, []string{"delete " + f}, "create "+filepath.Join(dir, ".a.conf.swp"), "create "+filepath.Join(dir, "sub", "deep"))
	// open was not asked for.
	_, err := os.ReadFile(filepath.Join(dir, "sub", "deep"))
	must(t, err)
	must(t, os.Rename(filepath.Join(dir, "sub", "deep"), filepath.Join(dir, "moved")))
	rec.expect(t, []string{"create " + filepath.Join(dir, "moved")}, "open "+filepath.Join(dir, "sub", "deep"))
}

func TestRunFollowsRecursiveTrees(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, ".git"), 0o755))
	c := New(Options{})
	c.Update([]collect.FileWatch{{Path: dir, Recursive: true, Events: []string{"all"}, Ignore: []string{".git"}}})
	rec := start(t, c)

	existing := filepath.Join(dir, "a", "b", "f")
	must(t, os.WriteFile(existing, []byte("x"), 0o644))
	rec.expect(t, []string{"create " + existing, "modify " + existing, "close " + existing})
	// A new tree is watched, and what it holds before the watch is reported.
	must(t, os.MkdirAll(filepath.Join(dir, "n1", "n2"), 0o755))
	n := filepath.Join(dir, "n1", "n2", "g")
	must(t, os.WriteFile(n, []byte("x"), 0o644))
	rec.expect(t, []string{"create " + filepath.Join(dir, "n1"), "create " + n})
	time.Sleep(150 * time.Millisecond)
	must(t, os.WriteFile(n, []byte("y"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, ".git", "index"), []byte("x"), 0o644))
	rec.expect(t, []string{"modify " + n}, "create "+filepath.Join(dir, ".git", "index"))
}

func TestRunPicksUpPathCreatedLater(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "x", "y", "app.conf")
	tdir := filepath.Join(dir, "later")
	c := New(Options{})
	c.Update([]collect.FileWatch{
		{Path: target, Events: []string{"all"}},
		{Path: tdir, Recursive: true, Events: []string{"create", "modify", "delete"}},
	})
	rec := start(t, c)

	must(t, os.MkdirAll(filepath.Dir(target), 0o755))
	time.Sleep(150 * time.Millisecond)
	must(t, os.WriteFile(target, []byte("x"), 0o644))
	rec.expect(t, []string{"create " + target, "modify " + target}, "create "+filepath.Join(dir, "x"))
	time.Sleep(150 * time.Millisecond)
	must(t, os.WriteFile(target, []byte("y"), 0o644))
	rec.expect(t, []string{"modify " + target})

	must(t, os.MkdirAll(filepath.Join(tdir, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(tdir, "d", "f"), []byte("x"), 0o644))
	rec.expect(t, []string{"create " + tdir, "create " + filepath.Join(tdir, "d", "f")})
	// The root removed and made again is followed again.
	must(t, os.RemoveAll(tdir))
	rec.expect(t, []string{"delete " + tdir})
	time.Sleep(150 * time.Millisecond)
	must(t, os.Mkdir(tdir, 0o755))
	time.Sleep(300 * time.Millisecond)
	must(t, os.WriteFile(filepath.Join(tdir, "again"), []byte("x"), 0o644))
	rec.expect(t, []string{"create " + filepath.Join(tdir, "again")})
}

func TestUpdateAddsAndRemovesWatches(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	c := New(Options{})
	rec := start(t, c)
	must(t, os.WriteFile(filepath.Join(d1, "before"), []byte("x"), 0o644))
	rec.expect(t, nil, "create "+filepath.Join(d1, "before"))

	c.Update([]collect.FileWatch{{Path: d1, Events: []string{"create"}}})
	time.Sleep(300 * time.Millisecond)
	must(t, os.WriteFile(filepath.Join(d1, "one"), []byte("x"), 0o644))
	rec.expect(t, []string{"create " + filepath.Join(d1, "one")})

	c.Update([]collect.FileWatch{{Path: d2, Events: []string{"create"}}})
	time.Sleep(300 * time.Millisecond)
	must(t, os.WriteFile(filepath.Join(d1, "two"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(d2, "three"), []byte("x"), 0o644))
	rec.expect(t, []string{"create " + filepath.Join(d2, "three")}, "create "+filepath.Join(d1, "two"))
}

func TestRunCapsWatches(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b", "c", "d"} {
		must(t, os.Mkdir(filepath.Join(dir, d), 0o755))
	}
	c := New(Options{MaxWatches: 2})
	c.Update([]collect.FileWatch{{Path: dir, Recursive: true, Events: []string{"create"}}})
	rec := start(t, c)
	for _, d := range []string{"a", "b", "c", "d"} {
		must(t, os.WriteFile(filepath.Join(dir, d, "f"), []byte("x"), 0o644))
	}
	time.Sleep(300 * time.Millisecond)
	got := 0
	for _, ev := range rec.take() {
		if filepath.Base(ev) == "f" {
			got++
		}
	}
	if got != 1 { // the root plus one subdirectory
		t.Errorf("got %d events from subdirectories, want 1", got)
	}
}
