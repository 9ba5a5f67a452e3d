//go:build linux

package process

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip/internal/agent/collect"
)

// recorder collects emitted events by pid.
type recorder struct {
	mu    sync.Mutex
	byPID map[int]collect.Event
	count int
}

func (r *recorder) emit(ev collect.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count++
	if pid, ok := ev["pid"].(int); ok {
		r.byPID[pid] = ev
	}
}

func (r *recorder) get(pid int) (collect.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev, ok := r.byPID[pid]
	return ev, ok
}

// startCollector runs a collector until the test ends and waits until it
// has chosen its mode (from then on starts are reported).
func startCollector(t testing.TB, cfg Config) (*Collector, *recorder) {
	t.Helper()
	c := New(cfg)
	r := &recorder{byPID: make(map[int]collect.Event)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, r.emit) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for c.Mode() == "" {
		select {
		case err := <-done:
			t.Fatalf("Run: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("collector did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c, r
}

// connectorOrSkip skips when the connector cannot be used here.
func connectorOrSkip(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("connector mode needs root (or CAP_NET_ADMIN); running as uid " + strconv.Itoa(os.Geteuid()))
	}
	conn, err := openConnector()
	if err != nil {
		t.Skipf("process-events connector unavailable here: %v", err)
	}
	conn.Close()
}

func waitEvent(t *testing.T, r *recorder, pid int) collect.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ev, ok := r.get(pid); ok {
			return ev
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no event for pid %d within 5s", pid)
	return nil
}

func TestRunReportsChildProcess(t *testing.T) {
	sleepExe, err := filepath.EvalSymlinks("/bin/sleep")
	if err != nil {
		t.Skipf("no /bin/sleep: %v", err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		cfg      Config
		wantMode string
	}{
		{"reports exec via connector", Config{}, ModeConnector},
		{"reports exec via proc scan", Config{NoConnector: true, ScanInterval: 20 * time.Millisecond}, ModeProcScan},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantMode == ModeConnector {
				connectorOrSkip(t)
			}
			c, r := startCollector(t, tc.cfg)
			if got := c.Mode(); got != tc.wantMode {
				t.Fatalf("Mode() = %q, want %q", got, tc.wantMode)
			}
			dir, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("/bin/sleep", "0.5", "0.5")
			cmd.Dir = dir
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			ev := waitEvent(t, r, cmd.Process.Pid)

			myExe, _ := os.Readlink("/proc/self/exe")
			wantTTY := TTYName(mustStat(t).ttyNr)
			want := collect.Event{
				"event_type": "audit", "syscall": "execve", "type": "start", "success": true, "exit": "0",
				"exe": sleepExe, "command": "sleep", "args": []string{"/bin/sleep", "0.5", "0.5"},
				"arguments": "/bin/sleep 0.5 0.5", "cwd": dir, "pid": cmd.Process.Pid, "ppid": os.Getpid(),
				"uid": os.Getuid(), "gid": os.Getgid(), "user": me.Username,
				"parent_metadata": map[string]any{"exe": myExe, "pid": os.Getpid()},
				"tty":             wantTTY,
			}
			got := collect.Event{}
			for k := range want {
				if v, ok := ev[k]; ok {
					got[k] = v
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("event mismatch (-want +got):\n%s\nfull event: %v", diff, ev)
			}
			for _, k := range []string{"group", "auid", "session", "timestamp"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("event lacks %q: %v", k, ev)
				}
			}
			if ev["auid"] == unsetID && ev["auser"] != "unset" {
				t.Errorf("auser = %v for unset auid, want \"unset\"", ev["auser"])
			}
			if _, ok := ev["partial"]; ok {
				t.Errorf("event of a live process marked partial: %v", ev)
			}
		})
	}
}

func mustStat(t *testing.T) statInfo {
	t.Helper()
	st, err := readStat("/proc/self")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRunConnectorBurst(t *testing.T) {
	connectorOrSkip(t)
	if testing.Short() {
		t.Skip("burst of 1000 processes skipped in -short")
	}
	_, r := startCollector(t, Config{})
	const total = 1000
	const workers = 8
	pids := make(chan int, total)
	var wg sync.WaitGroup
	begin := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += workers {
				cmd := exec.Command("/bin/true")
				if err := cmd.Run(); err != nil {
					t.Errorf("run /bin/true: %v", err)
					return
				}
				pids <- cmd.ProcessState.Pid()
			}
		}()
	}
	wg.Wait()
	close(pids)
	elapsed := time.Since(begin)
	var started []int
	for pid := range pids {
		started = append(started, pid)
	}
	// Even when the process is gone, the fork event gives the ppid. Other
	// processes of the machine may reuse a burst pid meanwhile, so a few
	// events of a pid may be someone else's: they are counted, not failed.
	var foreign int
	countSeen := func() (seen, full int) {
		foreign = 0
		for _, pid := range started {
			if ev, ok := r.get(pid); ok {
				seen++
				if ev["ppid"] != os.Getpid() {
					foreign++
				}
				if _, ok := ev["exe"]; ok {
					full++
				}
			}
		}
		return seen, full
	}
	deadline := time.Now().Add(5 * time.Second)
	seen, full := countSeen()
	for seen < len(started) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		seen, full = countSeen()
	}
	t.Logf("burst: %d processes started in %v (%.0f/s); %d reported (%d with exe, %d partial)",
		len(started), elapsed, float64(len(started))/elapsed.Seconds(), seen, full, seen-full)
	if len(started) != total {
		t.Fatalf("started %d processes, want %d", len(started), total)
	}
	if seen*100 < total*99 {
		t.Errorf("reported %d of %d process starts, want at least 99%%", seen, total)
	}
	if foreign*100 > total {
		t.Errorf("%d of %d events carry another ppid than the test's, want at most 1%%", foreign, total)
	}
}

func BenchmarkScanCycle(b *testing.B) {
	s := newScanner("/proc", NewNames("", ""))
	if err := s.scan(nil); err != nil {
		b.Fatal(err)
	}
	emit := func(collect.Event) {}
	for b.Loop() {
		if err := s.scan(emit); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s.seen)), "procs")
}

func BenchmarkProcEvent(b *testing.B) {
	names := NewNames("", "")
	pid := os.Getpid()
	for b.Loop() {
		procEvent("/proc", pid, 0, names)
	}
}
