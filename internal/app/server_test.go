package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/store/sqlite"
)

// bound is how long a test waits for something that must happen promptly
// before declaring it hung; it is a liveness limit, not a speed claim.
const bound = 10 * time.Second

// cutoffBound limits the wait for the server to drop a stalled connection.
// It is far above the test's 200 ms timeouts yet below the 10 s defaults,
// so the tests fail when the configured timeouts are not applied.
const cutoffBound = app.DefaultReadHeaderTimeout / 2

// waitRefused dials addr until the connection is refused: the server has
// closed its listener.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slowPost is a signed POST written by hand on a raw connection, so that
// the test controls when each part of it reaches the server.
type slowPost struct {
	conn net.Conn
	br   *bufio.Reader
	art  *hawk.Artifacts
	key  []byte
	body []byte
}

// startSlowPost sends the headers of a signed POST path with body (Expect:
// 100-continue) and the first half of the body. When it returns, the server
// is running the handler, which is reading the body.
func startSlowPost(t *testing.T, addr, userID, apiKey, orgID, path string, body []byte) *slowPost {
	t.Helper()
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
	p := &slowPost{conn: conn, br: bufio.NewReader(conn), art: art, key: []byte(apiKey), body: body}
	// The server sends 100 Continue when the handler first reads the body.
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		t.Fatalf("read 100 Continue: %v", err)
	}
	if resp.StatusCode != http.StatusContinue {
		t.Fatalf("got %s before the body, want 100 Continue", resp.Status)
	}
	if _, err := conn.Write(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	return p
}

// finish sends the rest of the body and returns the verified answer.
func (p *slowPost) finish(t *testing.T) (*http.Response, []byte) {
	t.Helper()
	if _, err := p.conn.Write(p.body[len(p.body)/2:]); err != nil {
		t.Fatalf("write the rest of the body: %v", err)
	}
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	if err := hawk.VerifyResponse(p.key, p.art, resp.Header.Get("Server-Authorization"), resp.Header.Get("Content-Type"), b); err != nil {
		t.Errorf("response not authentic: %v", err)
	}
	return resp, b
}

// countAudit reopens the database of cfg and counts the audit records of org.
func countAudit(t *testing.T, cfg app.Config, orgID string) (total int, actions map[string]int) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, cfg.DatabasePath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.ListAuditRecords(ctx, aip.AuditFilter{
		OrgID: orgID,
		Range: aip.TimeRange{From: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)},
		Limit: 100000,
	})
	if err != nil {
		t.Fatal(err)
	}
	actions = map[string]int{}
	for _, r := range recs {
		actions[r.Action+" "+r.Result]++
	}
	return len(recs), actions
}

func TestGracefulShutdown(t *testing.T) {
	t.Run("finishes a request whose body is still arriving", func(t *testing.T) {
		inst := start(t, app.Config{})
		b := inst.Bootstrap
		owner := inst.client(t, b.APIKey)
		const before = 5
		for range before {
			selfTest(t, owner)
		}
		bob, _, err := app.CreateUser(context.Background(), inst.Store(), loadKeyring(t, inst.Config), "bob@example.test", "Bob")
		if err != nil {
			t.Fatal(err)
		}

		body := []byte(`{"id":"` + bob.ID + `","role":"reader"}`)
		post := startSlowPost(t, inst.Addr(), b.UserID, b.APIKey, b.OrgID, "/v2/organizations/members", body)
		closed := make(chan error, 1)
		go func() { closed <- inst.Close() }()
		waitRefused(t, inst.Addr())
		select {
		case err := <-closed:
			t.Fatalf("Close returned (%v) while a request was in flight", err)
		default:
		}

		resp, got := post.finish(t)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("in-flight request answered %s %s, want 200", resp.Status, got)
		}
		var m aip.Member
		if err := json.Unmarshal(got, &m); err != nil || m.ID != bob.ID || m.Role != aip.RoleReader {
			t.Errorf("in-flight request answered %s (%v), want bob as reader", got, err)
		}
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
		case <-time.After(bound):
			t.Fatal("Close did not return after the last request finished")
		}
		if _, err := net.Dial("tcp", inst.Addr()); err == nil {
			t.Error("the server still accepts connections after Close")
		}

		total, actions := countAudit(t, inst.Config, b.OrgID)
		if total != before+1 || actions["read-hawk-self-test success"] != before || actions["create-member success"] != 1 {
			t.Errorf("audit log after Close holds %d records %v, want %d self-tests and 1 create-member", total, actions, before)
		}
	})

	t.Run("cuts off a request still running at the shutdown timeout", func(t *testing.T) {
		inst := start(t, app.Config{ShutdownTimeout: 200 * time.Millisecond})
		inst.closeFails = true
		b := inst.Bootstrap
		post := startSlowPost(t, inst.Addr(), b.UserID, b.APIKey, b.OrgID, "/v2/organizations/members", []byte(`{"id":"`+b.UserID+`","role":"owner"}`))
		closed := make(chan error, 1)
		go func() { closed <- inst.Close() }()
		select {
		case err := <-closed:
			if err == nil || !strings.Contains(err.Error(), "shutdown api") {
				t.Errorf("Close = %v, want a shutdown error naming the api listener", err)
			}
		case <-time.After(bound):
			t.Fatal("Close hangs on a request that never finishes")
		}
		_ = post.conn.SetReadDeadline(time.Now().Add(bound))
		if got, err := io.ReadAll(post.br); err != nil && !isClosedByPeer(err) || len(got) > 0 {
			t.Errorf("the stuck connection got %q, %v; want it closed", got, err)
		}
	})

	t.Run("loses no audit record of concurrent requests", func(t *testing.T) {
		inst := start(t, app.Config{OrgRateLimit: 1 << 20, IPRateLimit: 1 << 20})
		b := inst.Bootstrap
		c := inst.client(t, b.APIKey)
		var (
			succeeded atomic.Int64
			started   = make(chan struct{})
			once      sync.Once
			wg        sync.WaitGroup
		)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ok, _, err := c.Help.SelfTest(context.Background())
					if err != nil {
						var er *client.ErrorResponse
						if errors.As(err, &er) {
							t.Errorf("self-test during shutdown answered %v, want success or a refused connection", err)
						}
						return
					}
					if ok {
						succeeded.Add(1)
						once.Do(func() { close(started) })
					}
				}
			}()
		}
		<-started
		if err := inst.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		wg.Wait()
		total, _ := countAudit(t, inst.Config, b.OrgID)
		if int64(total) != succeeded.Load() {
			t.Errorf("audit log holds %d records, want one per successful request: %d", total, succeeded.Load())
		}
	})
}

// isClosedByPeer reports whether err is how a read sees a connection the
// other side closed: EOF or a reset.
func isClosedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

func TestStalledConnectionsAreCutOff(t *testing.T) {
	const stalled = 300
	inst := start(t, app.Config{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond})
	owner := inst.client(t, inst.Bootstrap.APIKey)

	partial := []string{
		"GET /help/hawk/self-test HTTP/1.1\r\nHost: " + inst.Addr() + "\r\nX-Slow: a",
		"GET /help/hawk/self-t",
		"", // connects and says nothing
	}
	conns := make([]net.Conn, stalled)
	for i := range conns {
		conn, err := net.Dial("tcp", inst.Addr())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, partial[i%len(partial)]); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		conns[i] = conn
	}
	// A slow body: complete headers, one byte of a 100-byte body.
	slowBody, err := net.Dial("tcp", inst.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer slowBody.Close()
	// An Authorization header makes the server read the body (without one it
	// answers 401 at once); the body then stalls.
	fmt.Fprintf(slowBody, "POST /v2/organizations/members HTTP/1.1\r\nHost: %s\r\nAuthorization: Hawk id=\"x\"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", inst.Addr())

	t.Run("serves signed requests meanwhile", func(t *testing.T) {
		selfTest(t, owner)
	})

	t.Run("closes every stalled connection", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, len(conns))
		for i, conn := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = conn.SetReadDeadline(time.Now().Add(cutoffBound))
				// net/http answers a request line cut short with a plain
				// 400 before closing; anything else is closed silently.
				got, err := io.ReadAll(conn)
				switch {
				case err != nil && !isClosedByPeer(err):
					errs[i] = fmt.Errorf("connection not closed by the server: %w", err)
				case len(got) > 0 && !bytes.HasPrefix(got, []byte("HTTP/1.1 4")):
					errs[i] = fmt.Errorf("got %q, want a closed connection or a 4xx", got)
				}
			}()
		}
		wg.Wait()
		failed := 0
		for i, err := range errs {
			if err != nil {
				failed++
				if failed <= 3 {
					t.Errorf("connection %d: %v", i, err)
				}
			}
		}
		if failed > 0 {
			t.Errorf("%d of %d stalled connections were not closed", failed, len(conns))
		}
	})

	t.Run("answers a stalled body with a 400 JSON error", func(t *testing.T) {
		_ = slowBody.SetReadDeadline(time.Now().Add(cutoffBound))
		resp, err := http.ReadResponse(bufio.NewReader(slowBody), nil)
		if err != nil {
			t.Fatalf("slow body: %v, want a 400 answer", err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !bytes.HasPrefix(got, []byte(`{"errors":[`)) {
			t.Errorf("slow body answered %s %s, want a 400 JSON error", resp.Status, got)
		}
	})

	t.Run("still serves signed requests after", func(t *testing.T) {
		selfTest(t, owner)
	})
}

func TestMetricsListener(t *testing.T) {
	inst := start(t, app.Config{MetricsAddr: "127.0.0.1:0"})
	if inst.MetricsAddr() == "" || inst.MetricsAddr() == inst.Addr() {
		t.Fatalf("MetricsAddr = %q, want its own listener", inst.MetricsAddr())
	}
	owner := inst.client(t, inst.Bootstrap.APIKey)
	const n = 3
	for range n {
		selfTest(t, owner)
	}

	t.Run("the API listener does not serve metrics", func(t *testing.T) {
		resp, err := http.Get("http://" + inst.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			!bytes.HasPrefix(got, []byte(`{"errors":[`)) {
			t.Errorf("GET /metrics on the API answered %s %q %s, want a 404 JSON error", resp.Status, resp.Header.Get("Content-Type"), got)
		}
	})

	t.Run("the metrics listener counts requests", func(t *testing.T) {
		resp, err := http.Get("http://" + inst.MetricsAddr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics answered %s", resp.Status)
		}
		var value string
		for _, line := range strings.Split(string(got), "\n") {
			if strings.HasPrefix(line, "aip_http_requests_total{") &&
				strings.Contains(line, `route="GET /help/hawk/self-test"`) && strings.Contains(line, `status="200"`) {
				value = line[strings.LastIndexByte(line, ' ')+1:]
			}
		}
		if value != strconv.Itoa(n) {
			t.Errorf("aip_http_requests_total of the self-test = %q, want %d; metrics:\n%s", value, n, got)
		}
	})
}

func TestLogs(t *testing.T) {
	inst := start(t, app.Config{})
	cfg := inst.Config
	b := inst.Bootstrap
	ctx := context.Background()
	selfTest(t, inst.client(t, b.APIKey))
	if _, _, err := inst.client(t, strings.Repeat("x", 40)).Help.SelfTest(ctx); err == nil {
		t.Fatal("self-test with a wrong key succeeded")
	}
	kr := loadKeyring(t, cfg)
	_, bobKey, err := app.CreateUser(ctx, inst.Store(), kr, "bob@example.test", "Bob")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := app.RotateKey(ctx, inst.Store(), kr, b.UserID)
	if err != nil {
		t.Fatal(err)
	}
	selfTest(t, inst.client(t, rotated))
	if _, err := http.Get("http://" + inst.Addr() + "/no/such/route"); err != nil {
		t.Fatal(err)
	}
	if err := inst.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	logs, stdout := inst.logs.Bytes(), inst.stdout.Bytes()

	t.Run("every line is a JSON record", func(t *testing.T) {
		for i, line := range bytes.Split(bytes.TrimSpace(logs), []byte("\n")) {
			var rec map[string]any
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Errorf("log line %d is not JSON: %s", i, line)
				continue
			}
			for _, k := range []string{"time", "level", "msg"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("log line %d has no %q: %s", i, k, line)
				}
			}
		}
	})

	t.Run("requests are logged with id and status", func(t *testing.T) {
		statuses := map[string][]float64{}
		for _, line := range bytes.Split(bytes.TrimSpace(logs), []byte("\n")) {
			var rec struct {
				Msg       string  `json:"msg"`
				RequestID string  `json:"request_id"`
				Path      string  `json:"path"`
				Status    float64 `json:"status"`
			}
			if json.Unmarshal(line, &rec) != nil || rec.Msg != "request" {
				continue
			}
			if len(rec.RequestID) != 16 {
				t.Errorf("request log without a request id: %s", line)
			}
			statuses[rec.Path] = append(statuses[rec.Path], rec.Status)
		}
		want := map[string][]float64{
			"/help/hawk/self-test": {200, 401, 200},
			"/no/such/route":       {404},
		}
		for path, w := range want {
			if got := statuses[path]; fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("logged statuses of %s = %v, want %v", path, got, w)
			}
		}
	})

	t.Run("no secret is ever logged or printed", func(t *testing.T) {
		master, err := readMasterKey(cfg.MasterKeyPath())
		if err != nil {
			t.Fatal(err)
		}
		secrets := map[string]string{"bootstrap API key": b.APIKey, "created user's API key": bobKey, "rotated API key": rotated, "master key": master}
		for name, s := range secrets {
			if bytes.Contains(logs, []byte(s)) {
				t.Errorf("the %s appears in the logs", name)
			}
			if bytes.Contains(stdout, []byte(s)) {
				t.Errorf("the %s appears on stdout", name)
			}
		}
		creds := credentials(t, cfg.CredentialsPath())
		if creds[client.EnvAPIKey] != b.APIKey {
			t.Errorf("credentials.env holds key %q, want the bootstrap key", creds[client.EnvAPIKey])
		}
	})
}
