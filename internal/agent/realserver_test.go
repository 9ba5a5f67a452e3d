package agent_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/agent"
	"github.com/aipsec/aip/internal/app"
)

// realServer is one aipd booted in-process with a deploy key of its
// bootstrap organization.
type realServer struct {
	m         *app.Main
	url       string
	orgID     string
	deployKey string
}

// startServer boots the real server on 127.0.0.1:0 and closes it at cleanup.
func startServer(t *testing.T) *realServer {
	t.Helper()
	m := &app.Main{Config: app.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0"}}
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		t.Fatalf("open server: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	if m.Bootstrap == nil {
		t.Fatal("server did not bootstrap")
	}
	key, err := app.CreateDeployKey(ctx, m.Store(), m.Bootstrap.OrgID)
	if err != nil {
		t.Fatalf("create deploy key: %v", err)
	}
	return &realServer{m: m, url: "http://" + m.Addr(), orgID: m.Bootstrap.OrgID, deployKey: key}
}

// enroll enrolls a host named hostname and returns a client signing as it.
func (s *realServer) enroll(t *testing.T, hostname string) (*agent.Client, *agent.Enrollment) {
	t.Helper()
	c, err := agent.NewClient(s.url, nil)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	e, err := c.Enroll(context.Background(), s.deployKey, aip.AgentHost{Hostname: hostname}, nil)
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	return c.WithCredentials(e.AgentID, e.AgentKey), e
}

// waitFor polls cond every 20 ms until it holds or d passed.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertMode fails unless path has permission bits want.
func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s mode %v, want %v", path, got, want)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
