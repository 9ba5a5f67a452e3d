package cli

// Test harness shared by every command's tests:
//
//	ts := newTestServer(t)                 // real aipd in-process, fresh data dir
//	out, errOut, code := ts.run(t, "agents", "list", "--json")
//	ag := ts.enrollAgent(t, "web-1")       // an online agent
//	ag.postEvents(t, map[string]any{...})  // Hawk-signed agent events
//	ts.seedAlerts(t, 3)                    // at least 3 active alerts
//
// run executes the CLI in-process with the server's TS_* variables and an
// empty config file of its own (never the user's); runCLI takes any env.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/hawk"
	aipd "github.com/aipsec/aip/internal/app"
)

// testServer is one aipd booted in-process for a test.
type testServer struct {
	main *aipd.Main
	// env holds the four TS_* variables of credentials.env.
	env map[string]string
}

// newTestServer boots the server on 127.0.0.1:0 in a temporary data dir and
// closes it at cleanup.
func newTestServer(t *testing.T) *testServer {
	t.Helper()
	m := &aipd.Main{
		Config: aipd.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0"},
		Logger: slog.New(slog.DiscardHandler),
		Stdout: io.Discard,
	}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open server: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	env, err := readEnvFile(m.Config.CredentialsPath())
	if err != nil {
		t.Fatalf("read credentials: %v", err)
	}
	return &testServer{main: m, env: env}
}

// readEnvFile reads the NAME=VALUE lines of path.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// run runs aip with args and the server's credentials in the environment.
func (ts *testServer) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runCLI(t, ts.env, "", args...)
}

// client is a Go client for the server, as the bootstrap owner.
func (ts *testServer) client(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(ts.env[envEndpoint], ts.env[envUserID], ts.env[envAPIKey], ts.env[envOrgID])
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

// runCLI runs aip in-process with env as the whole environment and stdin
// as standard input. Unless env sets AIP_CONFIG, the config file is a
// fresh one in a temporary dir. Output streams are buffers, so output is
// formatted as when piped.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	if _, ok := env["AIP_CONFIG"]; !ok {
		env = withEnv(env, "AIP_CONFIG", filepath.Join(t.TempDir(), "config.yaml"))
	}
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		Getenv:        func(k string) string { return env[k] },
		UserConfigDir: func() (string, error) { return "", fmt.Errorf("tests use AIP_CONFIG") },
		Version:       "test",
	})
	return out.String(), errOut.String(), code
}

// withEnv returns a copy of env with kv (name, value pairs) set.
func withEnv(env map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(env)+len(kv)/2)
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// testAgent is an agent enrolled on a testServer.
type testAgent struct {
	ts       *testServer
	ID       string
	Hostname string
	creds    hawk.Credentials
}

// enrollAgent enrolls a monitor agent with hostname through a fresh deploy
// key (POST /agent/v1/enroll); it is online from then on.
func (ts *testServer) enrollAgent(t *testing.T, hostname string) *testAgent {
	t.Helper()
	ctx := context.Background()
	deployKey, err := aipd.CreateDeployKey(ctx, ts.main.Store(), ts.env[envOrgID])
	if err != nil {
		t.Fatalf("CreateDeployKey: %v", err)
	}
	body, err := json.Marshal(struct {
		DeployKey string `json:"deployKey"`
		aip.AgentHost
	}{deployKey, aip.AgentHost{
		InstanceID: "i-" + randomHex(8), Version: "2.4.1", Hostname: hostname,
		IPAddresses: aip.IPAddresses{Private: []string{"10.0.0.1"}},
		AgentType:   "monitor", OSVersion: "Ubuntu 24.04", Kernel: "6.8.0",
	}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(ts.env[envEndpoint]+"/agent/v1/enroll", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("enroll answered %s: %s", resp.Status, got)
	}
	var out struct {
		AgentID  string `json:"agentId"`
		AgentKey string `json:"agentKey"`
	}
	if err := json.Unmarshal(got, &out); err != nil || out.AgentID == "" {
		t.Fatalf("enroll answer %q: %v", got, err)
	}
	return &testAgent{ts: ts, ID: out.AgentID, Hostname: hostname, creds: hawk.Credentials{ID: out.AgentID, Key: []byte(out.AgentKey)}}
}

// postEvents posts events as one Hawk-signed batch (POST /agent/v1/events)
// and fails the test unless the server accepts it. Missing _id,
// event_type ("host") and timestamp/event_time (now) are filled in.
func (ag *testAgent) postEvents(t *testing.T, events ...map[string]any) {
	t.Helper()
	now := time.Now().UnixMilli()
	batch := make([]map[string]any, len(events))
	for i, ev := range events {
		e := map[string]any{"_id": newUUID(), "event_type": "host", "timestamp": now, "event_time": now}
		for k, v := range ev {
			e[k] = v
		}
		batch[i] = e
	}
	body, err := json.Marshal(batch)
	if err != nil {
		t.Fatal(err)
	}
	const path, contentType = "/agent/v1/events", "application/json"
	req, err := http.NewRequest(http.MethodPost, ag.ts.env[envEndpoint]+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	host, port := req.URL.Hostname(), req.URL.Port()
	art := &hawk.Artifacts{Method: http.MethodPost, Resource: path, Host: host, Port: port, Hash: hawk.PayloadHash(contentType, body)}
	req.Header.Set("Authorization", ag.creds.RequestHeader(art))
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post events: %v", err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("post events answered %s: %s", resp.Status, got)
	}
}

// sudoEvent is an interactive sudo start matching the Base Rule Set's
// "User: Sudo Usage" rule, whose alerts aggregate by auser, user and
// arguments: each distinct arguments value makes its own alert.
func sudoEvent(arguments string) map[string]any {
	return map[string]any{
		"syscall": "execve", "type": "start", "success": true, "command": "sudo", "exe": "/usr/bin/sudo",
		"arguments": arguments, "args": strings.Fields(arguments), "user": "root", "uid": 0,
		"auser": "ubuntu", "auid": 1000, "tty": "pts/0", "pid": 4242, "ppid": 4241, "cwd": "/home/ubuntu",
	}
}

// seedAlerts posts n distinct sudo events from a new agent and waits (up
// to 10 s) until the organization has at least n active alerts, which it
// returns. Other rules may add alerts, so the count is "at least n".
func (ts *testServer) seedAlerts(t *testing.T, n int) []*aip.Alert {
	t.Helper()
	ag := ts.enrollAgent(t, "seed-"+randomHex(3))
	events := make([]map[string]any, n)
	for i := range events {
		events[i] = sudoEvent(fmt.Sprintf("sudo cat /etc/seed-%d", i))
	}
	ag.postEvents(t, events...)
	c := ts.client(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var alerts []*aip.Alert
		for al, err := range c.Alerts.All(context.Background(), &client.AlertListOptions{Status: "active"}) {
			if err != nil {
				t.Fatalf("list alerts: %v", err)
			}
			alerts = append(alerts, al)
		}
		if len(alerts) >= n {
			return alerts
		}
		if time.Now().After(deadline) {
			t.Fatalf("seedAlerts: %d active alerts after 10s, want at least %d", len(alerts), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newUUID is a random version 4 UUID, as event ids must be.
func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func TestHarness(t *testing.T) {
	ts := newTestServer(t)
	t.Run("enrolled agent is listed online", func(t *testing.T) {
		ag := ts.enrollAgent(t, "harness-1")
		got, _, err := ts.client(t).Agents.Get(context.Background(), ag.ID)
		if err != nil {
			t.Fatalf("get agent: %v", err)
		}
		if got.Hostname != "harness-1" || got.Status != "online" {
			t.Errorf("agent = %s %s, want harness-1 online", got.Hostname, got.Status)
		}
	})
	t.Run("seeded sudo events raise at least n alerts", func(t *testing.T) {
		alerts := ts.seedAlerts(t, 3)
		if len(alerts) < 3 {
			t.Errorf("got %d alerts, want at least 3", len(alerts))
		}
	})
}
