package app_test

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/keyring"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}

func (b *syncBuffer) String() string { return string(b.Bytes()) }

// instance is one aipd booted in-process, with its captured output.
type instance struct {
	*app.Main
	logs, stdout *syncBuffer
	// closeFails tells the cleanup that the test expects Close to fail.
	closeFails bool
}

// start boots app.Main with cfg on 127.0.0.1:0 (unless cfg.Addr is set) in
// cfg.DataDir (a new temporary dir when empty) and closes it at cleanup.
func start(t *testing.T, cfg app.Config) *instance {
	t.Helper()
	inst, err := open(t, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return inst
}

// open is start without the failure: for tests of Open's errors.
func open(t *testing.T, cfg app.Config) (*instance, error) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	inst := &instance{logs: &syncBuffer{}, stdout: &syncBuffer{}}
	inst.Main = &app.Main{
		Config: cfg,
		Logger: slog.New(slog.NewJSONHandler(inst.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Stdout: inst.stdout,
	}
	if err := inst.Open(context.Background()); err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := inst.Close(); err != nil && !inst.closeFails {
			t.Errorf("Close: %v", err)
		}
	})
	return inst, nil
}

// clientFor signs as the bootstrap owner against the running instance.
func (inst *instance) client(t *testing.T, apiKey string) *client.Client {
	t.Helper()
	b := inst.Bootstrap
	if b == nil {
		t.Fatal("instance did not bootstrap")
	}
	return newClient(t, "http://"+inst.Addr(), b.UserID, apiKey, b.OrgID)
}

func newClient(t *testing.T, endpoint, userID, apiKey, orgID string) *client.Client {
	t.Helper()
	c, err := client.New(endpoint, userID, apiKey, orgID)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

// readLines returns the lines of the file at path.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// credentials parses credentials.env into its KEY=value pairs.
func credentials(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range readLines(t, path) {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("credentials line %q is not KEY=value", l)
		}
		out[k] = v
	}
	return out
}

// loadKeyring opens the master key of cfg as the admin CLI does.
func loadKeyring(t *testing.T, cfg app.Config) *keyring.Keyring {
	t.Helper()
	kr, created, err := keyring.LoadOrCreate(cfg.MasterKeyPath())
	if err != nil {
		t.Fatalf("load master key: %v", err)
	}
	if created {
		t.Fatal("the master key did not exist yet")
	}
	return kr
}

func selfTest(t *testing.T, c *client.Client) {
	t.Helper()
	ok, _, err := c.Help.SelfTest(context.Background())
	if err != nil || !ok {
		t.Fatalf("self-test = %v, %v; want true, nil", ok, err)
	}
}

// readMasterKey returns the hex master key stored at path.
func readMasterKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
