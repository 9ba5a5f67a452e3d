package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/rules"
)

// cluster is several aipd processes sharing one PostgreSQL schema and one
// Redis, all verifying Hawk against the same public URL (a load balancer
// address nobody listens on: tests connect to each node directly).
type cluster struct {
	bin, dbURL, redisURL, keyFile string
	public                        *url.URL
	nodes                         []*crashServer
	// dirs are the nodes' data dirs; dirs[0] holds the bootstrap
	// credentials.env.
	dirs []string
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startNode runs one aipd serve of the cluster over dir and waits until it
// answers /healthz.
func (c *cluster) startNode(t *testing.T, dir string) *crashServer {
	t.Helper()
	port := freePort(t)
	s := &crashServer{port: port, stderr: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(c.bin, "serve", "--data", dir, "--addr", "127.0.0.1:"+port,
		"--database-url", c.dbURL, "--redis-url", c.redisURL, "--master-key-file", c.keyFile,
		"--public-url", c.public.String(), "--org-rate-limit", "200",
		"--ip-rate-limit", "1000000", "--log-level", "warn")
	s.cmd.Env = append(os.Environ(), "AIP_DEMO=", "AIP_METRICS_ADDR=", "AIP_DATABASE_URL=", "AIP_REDIS_URL=")
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start aipd: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.kill)
	deadline := time.Now().Add(bound)
	for {
		resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("aipd exited at start; stderr:\n%s", s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("aipd not healthy; stderr:\n%s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// admin runs `aipd admin` against the cluster's database and returns its
// KEY=value lines as a map.
func (c *cluster) admin(t *testing.T, args ...string) map[string]string {
	t.Helper()
	full := append([]string{"admin", "--data", c.dirs[0], "--database-url", c.dbURL, "--master-key-file", c.keyFile}, args...)
	cmd := exec.Command(c.bin, full...)
	cmd.Env = append(os.Environ(), "AIP_DATABASE_URL=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aipd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	kv := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// tenant is an organization of its own with an owner: each subtest gets a
// fresh one, so that its org rate limit and its alerts start from zero.
type tenant struct {
	orgID, userID, apiKey string
}

// newTenant creates an organization and an owner through aipd admin.
func (c *cluster) newTenant(t *testing.T, name string) tenant {
	t.Helper()
	org := c.admin(t, "org", "create", "--name", name)["ORG_ID"]
	u := c.admin(t, "user", "create", "--org", org, "--email", "owner-"+aip.NewUUID()+"@example.com", "--role", "owner")
	if org == "" || u["USER_ID"] == "" || u["API_KEY"] == "" {
		t.Fatalf("admin printed no ids: org %q, user %v", org, u["USER_ID"])
	}
	return tenant{orgID: org, userID: u["USER_ID"], apiKey: u["API_KEY"]}
}

// nodeHTTP returns an HTTP client that connects to node whatever the URL's
// host: requests are signed for the public URL and sent to one node, as a
// load balancer would route them.
func nodeHTTP(node *crashServer) *http.Client {
	addr := "127.0.0.1:" + node.port
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: bound,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
			MaxIdleConnsPerHost: 64,
		},
	}
}

// clientOn returns an API client of tn that talks to node.
func (c *cluster) clientOn(t *testing.T, node *crashServer, tn tenant, hc *http.Client) *client.Client {
	t.Helper()
	if hc == nil {
		hc = nodeHTTP(node)
	}
	cl, err := client.New(c.public.String(), tn.userID, tn.apiKey, tn.orgID, client.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// deployKey creates a deploy key of org.
func (c *cluster) deployKey(t *testing.T, orgID string) string {
	t.Helper()
	k := c.admin(t, "deploykey", "create", "--org", orgID)["DEPLOY_KEY"]
	if k == "" {
		t.Fatal("deploykey create printed no DEPLOY_KEY")
	}
	return k
}

// enrollOn enrolls an agent through node and returns its credentials.
func enrollOn(t *testing.T, node *crashServer, deployKey, hostname string) hawk.Credentials {
	t.Helper()
	creds, err := enroll(node, deployKey, hostname)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// enroll is enrollOn for goroutines: it returns the failure.
func enroll(node *crashServer, deployKey, hostname string) (hawk.Credentials, error) {
	body, err := json.Marshal(map[string]any{"deployKey": deployKey, "hostname": hostname, "agentType": "monitor"})
	if err != nil {
		return hawk.Credentials{}, err
	}
	resp, err := http.Post("http://127.0.0.1:"+node.port+"/agent/v1/enroll", "application/json", bytes.NewReader(body))
	if err != nil {
		return hawk.Credentials{}, fmt.Errorf("enroll %s: %w", hostname, err)
	}
	defer resp.Body.Close()
	var creds struct{ AgentID, AgentKey string }
	err = json.NewDecoder(resp.Body).Decode(&creds)
	if resp.StatusCode != http.StatusOK || err != nil || creds.AgentID == "" {
		return hawk.Credentials{}, fmt.Errorf("enroll %s: %s, %v", hostname, resp.Status, err)
	}
	return hawk.Credentials{ID: creds.AgentID, Key: []byte(creds.AgentKey)}, nil
}

// postEventsTo sends an event batch signed for the public URL to node and
// reports whether the node acknowledged it with a 202. A transport error
// (a dead node) is returned as such.
func (c *cluster) postEventsTo(hc *http.Client, node *crashServer, creds hawk.Credentials, body []byte) (bool, error) {
	const path, contentType = "/agent/v1/events", "application/json"
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:"+node.port+path, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	art := &hawk.Artifacts{Method: http.MethodPost, Resource: path, Host: c.public.Hostname(), Port: c.public.Port(),
		Hash: hawk.PayloadHash(contentType, body)}
	req.Header.Set("Authorization", creds.RequestHeader(art))
	req.Header.Set("Content-Type", contentType)
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("post events to node %s: %w", node.port, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, fmt.Errorf("read events answer of node %s: %w", node.port, err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return false, &statusError{status: resp.StatusCode, body: string(got)}
	}
	return true, nil
}

// statusError is an answer other than the 202 an event batch expects.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("events answered %d: %s", e.status, e.body) }

// recorder remembers the last request sent through it.
type recorder struct {
	next http.RoundTripper
	last *http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.last = req.Clone(req.Context())
	return r.next.RoundTrip(req)
}

// ruleLister is the part of a store replayKeyedAlerts reads.
type ruleLister interface {
	ListRules(ctx context.Context, orgID, rulesetID string) ([]*aip.Rule, error)
}

// keyedCount is an alert's aggregation key and event count: what must be
// the same however the events were spread over the nodes.
type keyedCount struct {
	Key        string
	EventCount int
}

// replayKeyedAlerts evaluates batches in order with the organization's
// stored rules on one engine and one aggregator, as a single node would,
// and returns the alerts that pass makes, sorted.
func replayKeyedAlerts(t *testing.T, store ruleLister, orgID, agentID string, batches [][]byte) []keyedCount {
	t.Helper()
	list, err := store.ListRules(t.Context(), orgID, "")
	if err != nil {
		t.Fatal(err)
	}
	var rs []rules.Rule
	for _, r := range list {
		rs = append(rs, rules.FromAPI(r).Rule)
	}
	eng, err := rules.NewEngine(rs)
	if err != nil {
		t.Fatal(err)
	}
	agg := rules.NewAggregator()
	var out []*alertSummary
	byKey := map[string]*alertSummary{}
	ev := new(rules.Event)
	for _, body := range batches {
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			t.Fatal(err)
		}
		for _, raw := range raws {
			if err := ev.Decode(raw); err != nil {
				t.Fatal(err)
			}
			ts, _ := ev.Timestamp()
			eng.Evaluate(ev, func(m rules.Match) {
				d := agg.Observe(m, agentID, ts)
				switch d.Kind {
				case rules.NewAlert:
					a := &alertSummary{Key: d.Key, CreatedAt: d.CreatedAt, EventCount: len(d.EventIDs)}
					byKey[d.Key] = a
					out = append(out, a)
				case rules.Increment:
					byKey[d.Key].EventCount++
				}
			})
		}
	}
	got := make([]keyedCount, len(out))
	for i, a := range out {
		got[i] = keyedCount{Key: a.Key, EventCount: a.EventCount}
	}
	sortKeyed(got)
	return got
}

func sortKeyed(s []keyedCount) {
	slices.SortFunc(s, func(a, b keyedCount) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return a.EventCount - b.EventCount
	})
}
