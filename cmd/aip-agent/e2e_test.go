//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

// bound caps every wait of the end-to-end test.
const bound = 30 * time.Second

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a child process of the test.
type proc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

func start(t testing.TB, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), "AIP_DEMO=", "AIP_METRICS_ADDR=")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
	return p
}

// stop ends the process with SIGTERM (a clean shutdown) and waits.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(bound):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func build(t testing.TB, dir, name, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func startServer(t testing.TB, aipd, dataDir, port string) *proc {
	t.Helper()
	p := start(t, aipd, "serve", "--data", dataDir, "--addr", "127.0.0.1:"+port, "--log-level", "warn")
	deadline := time.Now().Add(bound)
	for {
		resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("aipd did not come up:\n%s", p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readEnv reads KEY=value lines.
func readEnv(t testing.TB, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

// waitAlerts polls the active alerts until cond holds for their titles.
func waitAlerts(t *testing.T, c *client.Client, what string, cond func(titles map[string]int) bool) map[string]int {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		titles := map[string]int{}
		alerts, _, err := c.Alerts.List(context.Background(), &client.AlertListOptions{Status: aip.AlertActive})
		if err == nil {
			for _, a := range alerts {
				titles[a.Title] += a.EventCount
			}
			if cond(titles) {
				return titles
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: alerts %v (last error %v)", what, titles, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAgentEndToEnd runs aipd and aip-agent on loopback: a file written
// under a watched directory raises the File rule's alert, a process a Host
// rule matches raises that alert, and events made while aipd is down are
// delivered once it is back.
func TestAgentEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs aipd and aip-agent")
	}
	tmp := t.TempDir()
	aipd, agentBin := build(t, tmp, "aipd", "../aipd"), build(t, tmp, "aip-agent", ".")
	dataDir, stateDir, watched := filepath.Join(tmp, "data"), filepath.Join(tmp, "agent"), filepath.Join(tmp, "watched")
	if err := os.MkdirAll(watched, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	server := startServer(t, aipd, dataDir, port)
	env := readEnv(t, filepath.Join(dataDir, "credentials.env"))
	c, err := client.New(env["TS_API_ENDPOINT"], env["TS_USER_ID"], env["TS_API_KEY"], env["TS_ORGANIZATION_ID"])
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// A ruleset of our own: a File rule on the watched dir, a Host rule on
	// a marker program.
	marker := filepath.Join(tmp, "aip-e2e-marker")
	sleepBin, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	if b, err := os.ReadFile(sleepBin); err != nil || os.WriteFile(marker, b, 0o755) != nil {
		t.Fatalf("copy sleep: %v", err)
	}
	rs, _, err := c.Rulesets.Create(ctx, &client.RulesetRequest{Name: "E2E", Description: "end-to-end test"})
	if err != nil {
		t.Fatal(err)
	}
	rules := []*aip.Rule{
		{Name: "watched file", Type: "File", Title: "watched file {{filename}}", SeverityOfAlerts: 1, AlertDescription: "e2e", Window: 3600, Threshold: 1,
			Filter: `event_type = "file"`, AggregateFields: []string{"filename"}, Enabled: true,
			FileIntegrityPaths: []aip.FileIntegrityPath{{Path: watched, Recursive: true}}, EventsToMonitor: []string{"create", "modify"}},
		{Name: "marker program", Type: "Host", Title: "marker ran: {{arguments}}", SeverityOfAlerts: 2, AlertDescription: "e2e", Window: 3600, Threshold: 1,
			Filter: `event_type = "audit" and exe = "` + marker + `"`, AggregateFields: []string{"arguments"}, Enabled: true},
	}
	for _, r := range rules {
		if _, _, err := c.Rules.Create(ctx, rs.ID, r); err != nil {
			t.Fatalf("create rule %q: %v", r.Name, err)
		}
	}

	out, err := exec.Command(aipd, "admin", "--data", dataDir, "deploykey", "create", "--org", env["TS_ORGANIZATION_ID"]).CombinedOutput()
	if err != nil {
		t.Fatalf("deploykey create: %v\n%s", err, out)
	}
	deployKey := strings.TrimPrefix(strings.TrimSpace(string(out)), "DEPLOY_KEY=")
	out, err = exec.Command(agentBin, "setup", "--server", env["TS_API_ENDPOINT"], "--deploy-key", deployKey,
		"--ruleset", "E2E", "--state-dir", stateDir).CombinedOutput()
	if err != nil {
		t.Fatalf("aip-agent setup: %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(stateDir, "identity.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	cfgPath := filepath.Join(tmp, "agent.yaml")
	if err := os.WriteFile(cfgPath, []byte("tags: {env: e2e}\ndisable: [packages]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	agentProc := start(t, agentBin, "run", "--state-dir", stateDir, "--config", cfgPath, "--log-level", "debug")
	// The agent watches the directory once it has fetched its config.
	deadline := time.Now().Add(bound)
	for !strings.Contains(agentProc.out.String(), "configuration applied") {
		if time.Now().After(deadline) {
			t.Fatalf("the agent applied no configuration:\n%s", agentProc.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the file collector applies an update within ~100 ms

	t.Run("writing a watched file raises the File rule's alert", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(watched, "one.conf"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		waitAlerts(t, c, "file alert", func(titles map[string]int) bool {
			return titles["watched file "+filepath.Join(watched, "one.conf")] > 0
		})
	})
	t.Run("a process the Host rule matches raises its alert", func(t *testing.T) {
		if out, err := exec.Command(marker, "0.3").CombinedOutput(); err != nil {
			t.Fatalf("run marker: %v\n%s", err, out)
		}
		waitAlerts(t, c, "process alert", func(titles map[string]int) bool {
			return titles["marker ran: "+marker+" 0.3"] > 0
		})
	})
	outer := t
	t.Run("events made while aipd is down arrive once it is back", func(t *testing.T) {
		server.stop()
		for i := range 3 {
			if err := os.WriteFile(filepath.Join(watched, fmt.Sprintf("offline-%d.conf", i)), []byte("y"), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(marker, fmt.Sprintf("0.%d", i+5)).CombinedOutput(); err != nil {
				t.Fatalf("run marker: %v\n%s", err, out)
			}
		}
		time.Sleep(1500 * time.Millisecond) // the agent tries, fails and keeps them spooled
		// Registered on the whole test: the server outlives this subtest.
		startServer(outer, aipd, dataDir, port)
		waitAlerts(t, c, "offline events", func(titles map[string]int) bool {
			for i := range 3 {
				if titles["watched file "+filepath.Join(watched, fmt.Sprintf("offline-%d.conf", i))] == 0 ||
					titles[fmt.Sprintf("marker ran: %s 0.%d", marker, i+5)] == 0 {
					return false
				}
			}
			return true
		})
	})
	t.Run("the agent reports online with its tags", func(t *testing.T) {
		agents, _, err := c.Agents.List(ctx, &client.AgentListOptions{Status: aip.AgentOnline})
		if err != nil || len(agents) != 1 {
			t.Fatalf("online agents = %v, %v; want 1", agents, err)
		}
		if !strings.Contains(fmt.Sprint(agents[0].Tags), "e2e") {
			t.Errorf("agent tags %v, want env=e2e", agents[0].Tags)
		}
	})
	agentProc.stop()
	select {
	case <-agentProc.exited:
		if code := agentProc.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("aip-agent exited with %d after SIGTERM:\n%s", code, agentProc.out)
		}
	default:
	}
}
