package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/hawk"
)

// bound is how long the tests wait for something that must happen before
// declaring the server hung; a liveness limit, not a speed claim.
const bound = 30 * time.Second

var servingLine = regexp.MustCompile(`aipd: serving the API on http://(\S+) `)

// credentialsClient builds a client from <dir>/credentials.env.
func credentialsClient(t *testing.T, dir string) (*client.Client, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "credentials.env"))
	if err != nil {
		t.Fatalf("read credentials: %v", err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		env[k] = v
	}
	c, err := client.New(env[client.EnvEndpoint], env[client.EnvUserID], env[client.EnvAPIKey], env[client.EnvOrgID])
	if err != nil {
		t.Fatal(err)
	}
	return c, env
}

func TestServeInProcess(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AIP_ADDR", "127.0.0.1:0")
	t.Setenv("AIP_DATA", dir)
	var stdout, stderr syncBuffer
	root := newRootCommand(&stdout, &stderr)
	root.SetArgs([]string{"serve"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	var addr string
	deadline := time.Now().Add(bound)
	for addr == "" {
		if m := servingLine.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended early: %v\nstderr: %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no serving line; stdout: %s", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	c, env := credentialsClient(t, dir)
	if env[client.EnvEndpoint] != "http://"+addr {
		t.Errorf("credentials endpoint %q, want http://%s (AIP_ADDR)", env[client.EnvEndpoint], addr)
	}
	if ok, _, err := c.Help.SelfTest(ctx); err != nil || !ok {
		t.Fatalf("self-test: %v, %v", ok, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after its context ended, want nil", err)
		}
	case <-time.After(bound):
		t.Fatal("serve did not return after its context ended")
	}
	for _, msg := range []string{`"msg":"aipd shutting down"`, `"msg":"aipd stopped"`} {
		if !strings.Contains(stderr.String(), msg) {
			t.Errorf("stderr lacks %s:\n%s", msg, stderr.String())
		}
	}
}

// TestBinaryGracefulSIGTERM builds aipd, starts it, and sends SIGTERM while
// a request body is still arriving: the request must complete and the
// process exit 0.
func TestBinaryGracefulSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH to build aipd")
	}
	bin := filepath.Join(t.TempDir(), "aipd")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	dir := t.TempDir()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", dir)
	cmd.Env = append(os.Environ(), "AIP_ADDR=", "AIP_DATA=") // flags only
	// Writers rather than StdoutPipe: Wait then waits until all output is
	// copied, so the last log lines cannot be lost.
	stdout, stdoutW := io.Pipe()
	stderr, stderrW := io.Pipe()
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		stdoutW.Close()
		stderrW.Close()
		exited <- err
	}()
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	serving := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				serving <- m[1]
			}
		}
	}()
	shuttingDown := make(chan struct{})
	logs := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(stderr)
		signaled := false
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if !signaled && strings.Contains(sc.Text(), `"msg":"aipd shutting down"`) {
				signaled = true
				close(shuttingDown)
			}
		}
		logs <- all.String()
	}()

	var addr string
	select {
	case addr = <-serving:
	case <-time.After(bound):
		t.Fatal("aipd printed no serving line")
	}

	c, env := credentialsClient(t, dir)
	if env[client.EnvEndpoint] != "http://"+addr {
		t.Errorf("credentials endpoint %q, want http://%s", env[client.EnvEndpoint], addr)
	}
	ctx := context.Background()
	if ok, _, err := c.Help.SelfTest(ctx); err != nil || !ok {
		t.Fatalf("self-test: %v, %v", ok, err)
	}

	// The admin command works on the data dir while the server runs.
	org2 := value(t, mustAipd(t, "admin", "--data", dir, "org", "create", "--name", "Second"), "ORG_ID")
	bob := value(t, mustAipd(t, "admin", "--data", dir, "user", "create", "--org", org2, "--email", "bob@example.test", "--role", "user"), "USER_ID")

	body := []byte(`{"id":"` + bob + `","role":"reader"}`)
	conn, br, art := startSlowPost(t, addr, env[client.EnvUserID], env[client.EnvAPIKey], env[client.EnvOrgID], body)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-shuttingDown:
	case <-time.After(bound):
		t.Fatal("aipd did not log its shutdown after SIGTERM")
	}
	if _, err := conn.Write(body[len(body)/2:]); err != nil {
		t.Fatalf("write the rest of the body: %v", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read the in-flight response: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("in-flight request answered %s %s, want 200", resp.Status, got)
	}
	if err := hawk.VerifyResponse([]byte(env[client.EnvAPIKey]), art, resp.Header.Get("Server-Authorization"), resp.Header.Get("Content-Type"), got); err != nil {
		t.Errorf("in-flight response not authentic: %v", err)
	}
	var m aip.Member
	if err := json.Unmarshal(got, &m); err != nil || m.ID != bob || m.Role != aip.RoleReader {
		t.Errorf("in-flight request answered %s, want bob as reader", got)
	}

	select {
	case err := <-exited:
		waited = true
		if err != nil {
			t.Errorf("aipd exited with %v, want status 0\n%s", err, <-logs)
		}
	case <-time.After(bound):
		t.Fatal("aipd did not exit after SIGTERM")
	}
	if l := <-logs; !strings.Contains(l, `"msg":"aipd stopped"`) {
		t.Errorf("logs lack the clean stop:\n%s", l)
	}
}

// startSlowPost sends the headers of a signed POST /v2/organizations/members
// with Expect: 100-continue and the first half of body. When it returns the
// handler is running and reading the body.
func startSlowPost(t *testing.T, addr, userID, apiKey, orgID string, body []byte) (net.Conn, *bufio.Reader, *hawk.Artifacts) {
	t.Helper()
	const path = "/v2/organizations/members"
	host, port, _ := net.SplitHostPort(addr)
	art := &hawk.Artifacts{
		Method: http.MethodPost, Resource: path, Host: host, Port: port,
		Hash: hawk.PayloadHash("application/json", body), Ext: orgID,
	}
	auth := hawk.Credentials{ID: userID, Key: []byte(apiKey)}.RequestHeader(art)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(bound))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", path, addr, auth, len(body))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read 100 Continue: %v", err)
	}
	if resp.StatusCode != http.StatusContinue {
		t.Fatalf("got %s before the body, want 100 Continue", resp.Status)
	}
	if _, err := conn.Write(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	return conn, br, art
}
