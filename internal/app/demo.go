package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/agent"
	"github.com/aipsec/aip/internal/demo"
	"github.com/aipsec/aip/internal/vuln"
)

// DemoAgents is the number of simulated agents `aipd serve --demo` runs.
const DemoAgents = 3

// Demo timing. Events go out once a second per host, which keeps all the
// agents (they share 127.0.0.1) far below the per-IP rate limit, and a
// heartbeat every 30 s keeps them online.
const (
	demoTick         = time.Second
	demoHeartbeat    = 30 * time.Second
	demoRequestLimit = 10 * time.Second
	demoMaxPending   = 10_000 // events held per host while the server refuses them
)

// DemoPath is where the demo remembers which organization it runs in, so
// that restarts keep adding to the same organization.
func (c Config) DemoPath() string { return filepath.Join(c.DataDir, "demo.env") }

// DemoAgentsPath is where the demo keeps its agents' credentials, so that
// a restart reuses the enrolled agents instead of piling up new ones that
// the old ones leave offline.
func (c Config) DemoAgentsPath() string { return filepath.Join(c.DataDir, "demo-agents.json") }

// DemoOrgID returns the organization the demo runs in: the one recorded in
// demo.env, else the one this start bootstrapped, else the one of
// credentials.env; the choice is then recorded in demo.env. Call it after
// Open.
func (m *Main) DemoOrgID(ctx context.Context) (string, error) {
	if m.store == nil {
		return "", errors.New("demo: the server is not open")
	}
	orgID, err := readEnvValue(m.Config.DemoPath(), "ORG_ID")
	if err != nil {
		return "", err
	}
	if orgID == "" && m.Bootstrap != nil {
		orgID = m.Bootstrap.OrgID
	}
	if orgID == "" {
		if orgID, err = readEnvValue(m.Config.CredentialsPath(), "TS_ORGANIZATION_ID"); err != nil {
			return "", err
		}
	}
	if orgID == "" {
		return "", fmt.Errorf("demo: no organization to run in: neither %s nor %s names one; "+
			"write ORG_ID=<organization id> to %s", m.Config.DemoPath(), m.Config.CredentialsPath(), m.Config.DemoPath())
	}
	if _, err := m.store.FindOrganizationByID(ctx, orgID); err != nil {
		return "", fmt.Errorf("demo: organization %s: %w", orgID, err)
	}
	if err := writeSecretFile(m.Config.DemoPath(), "ORG_ID="+orgID+"\n"); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return orgID, nil
}

// readEnvValue returns the value of key in a KEY=value file, "" when the
// file or the key is missing.
func readEnvValue(path, key string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && k == key {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return "", nil
}

// RunDemo runs the demo of an open Main in orgID until ctx ends: it
// connects to the API listener and signs for the public URL when one is
// configured, as the server checks Hawk against it.
func (m *Main) RunDemo(ctx context.Context, orgID string) error {
	if m.listener == nil {
		return errors.New("demo: the server is not open")
	}
	connect, err := url.Parse(advertisedEndpoint(m.listener.Addr()))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	sign := connect
	if m.Config.PublicURL != "" {
		if sign, err = url.Parse(m.Config.PublicURL); err != nil {
			return fmt.Errorf("demo: public URL: %w", err)
		}
	}
	return runDemo(ctx, connect, sign, m.store, orgID, m.Config.DemoAgentsPath(), m.Logger)
}

// RunDemo simulates a fleet of DemoAgents hosts in orgID through the real
// agent API at baseURL: it creates a deploy key, enrolls every host, then
// posts each host's events once a second and its heartbeat every 30 s,
// Hawk-signed with the agent's credentials, until ctx ends (it then
// returns nil). Events the server refuses are kept and sent again, which
// their _id makes safe. It fails only when the fleet cannot enroll.
func RunDemo(ctx context.Context, baseURL string, store aip.Store, orgID string, logger *slog.Logger) error {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("demo: invalid base URL %q", baseURL)
	}
	return runDemo(ctx, u, u, store, orgID, "", logger)
}

// demoAgent is one enrolled simulated host.
type demoAgent struct {
	host     demo.Host
	cred     demoCredential
	client   *agent.Client
	pending  [][]byte
	lastBeat time.Time
	// inventorySent is set once the server accepted the host's package
	// inventory. It is sent once per run: the simulated hosts never
	// install anything, so the daily resend of a real agent would only
	// repeat it.
	inventorySent bool
}

// demoClient speaks the agent API as the simulated hosts, through the
// same client as aip-agent.
type demoClient struct {
	api            *agent.Client
	http           *http.Client
	logger         *slog.Logger
	warnedOverflow bool
}

// demoState is the content of DemoAgentsPath: the credentials of the
// enrolled hosts of one organization, by hostname.
type demoState struct {
	OrgID  string                    `json:"orgId"`
	Agents map[string]demoCredential `json:"agents"`
}

// demoCredential is what an enrollment answered.
type demoCredential struct {
	AgentID  string `json:"agentId"`
	AgentKey string `json:"agentKey"`
}

// loadDemoState reads the state at path for orgID; a missing file, an
// empty path or a state of another organization give an empty state.
func loadDemoState(path, orgID string) (*demoState, error) {
	st := &demoState{OrgID: orgID, Agents: map[string]demoCredential{}}
	if path == "" {
		return st, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var got demoState
	if err := json.Unmarshal(b, &got); err != nil {
		return nil, fmt.Errorf("read %s: %w (delete it to enroll new demo agents)", path, err)
	}
	if got.OrgID != orgID {
		return st, nil
	}
	for host, c := range got.Agents {
		if c.AgentID != "" && c.AgentKey != "" {
			st.Agents[host] = c
		}
	}
	return st, nil
}

// save writes st to path atomically, readable by the owner only, as it
// holds agent keys; an empty path saves nothing.
func (st *demoState) save(path string) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode demo agents: %w", err)
	}
	return writeSecretFile(path, string(b)+"\n")
}

// fleet returns the enrolled hosts of fleet: the ones state holds
// credentials for and whose first heartbeat succeeds are reused, the
// others (unknown, or revoked: the heartbeat answers 401) enroll with a
// deploy key created when the first of them needs it. The state is saved
// when an enrollment changed it. It returns nil agents and no error when
// ctx ends.
func (c *demoClient) fleet(ctx context.Context, store aip.Store, orgID, statePath string, fleet *demo.Fleet) ([]*demoAgent, error) {
	st, err := loadDemoState(statePath, orgID)
	if err != nil {
		return nil, err
	}
	var (
		agents    []*demoAgent
		deployKey string
		changed   bool
		reused    int
	)
	for _, h := range fleet.Hosts() {
		if cred, ok := st.Agents[h.Hostname]; ok {
			a := &demoAgent{host: h, cred: cred, client: c.api.WithCredentials(cred.AgentID, cred.AgentKey)}
			err := c.heartbeat(ctx, a)
			if ctx.Err() != nil {
				return nil, nil
			}
			var se *agent.StatusError
			switch {
			case err == nil:
				a.lastBeat = time.Now()
				agents = append(agents, a)
				reused++
				continue
			case !errors.As(err, &se) || se.Status != http.StatusUnauthorized:
				// Not a verdict on the credentials: keep them, the
				// heartbeat is tried again on the next tick.
				c.logger.Warn("demo heartbeat failed", slog.String("hostname", h.Hostname), slog.Any("error", err))
				agents = append(agents, a)
				reused++
				continue
			}
			c.logger.Info("demo agent no longer accepted; enrolling it again",
				slog.String("hostname", h.Hostname), slog.String("agent_id", cred.AgentID))
		}
		if deployKey == "" {
			if deployKey, err = CreateDeployKey(ctx, store, orgID); err != nil {
				return nil, err
			}
		}
		a, err := c.enroll(ctx, deployKey, h)
		if ctx.Err() != nil {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("enroll %s: %w", h.Hostname, err)
		}
		agents = append(agents, a)
		st.Agents[h.Hostname] = a.cred
		changed = true
	}
	if changed {
		if err := st.save(statePath); err != nil {
			return nil, err
		}
	}
	c.logger.Info("demo fleet enrolled", slog.String("org_id", orgID), slog.Int("agents", len(agents)),
		slog.Int("reused", reused))
	return agents, nil
}

func runDemo(ctx context.Context, connect, sign *url.URL, store aip.Store, orgID, statePath string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Requests are signed for sign (the public URL the server checks Hawk
	// against) and sent to connect (its listener).
	dialer := &net.Dialer{Timeout: demoRequestLimit}
	connectAddr := connect.Host
	if connect.Port() == "" {
		port := "80"
		if connect.Scheme == "https" {
			port = "443"
		}
		connectAddr = net.JoinHostPort(connect.Hostname(), port)
	}
	hc := &http.Client{Timeout: demoRequestLimit, Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, connectAddr)
		},
	}}
	defer hc.CloseIdleConnections()
	api, err := agent.NewClient(sign.String(), hc)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	c := &demoClient{api: api, http: hc, logger: logger}

	// Without its advisories the demo still shows alerts: a failure here
	// is worth a warning, not the end of the demo.
	if err := loadDemoAdvisories(ctx, store, logger); err != nil && ctx.Err() == nil {
		logger.Warn("demo advisories not loaded", slog.Any("error", err))
	}

	// A fresh seed per run: event ids derive from the seed, and a restart
	// replaying the ids of the last run would be taken for duplicates.
	fleet := demo.NewFleet(rand.Int64(), DemoAgents)
	agents, err := c.fleet(ctx, store, orgID, statePath, fleet)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if agents == nil {
		return nil
	}
	for _, a := range agents {
		c.sendInventoryOnce(ctx, a)
	}

	prev := time.Now()
	t := time.NewTicker(demoTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := time.Now()
		byHost := fleet.Tick(prev, now)
		prev = now
		for i, a := range agents {
			if ctx.Err() != nil {
				return nil
			}
			c.sendInventoryOnce(ctx, a)
			if now.Sub(a.lastBeat) >= demoHeartbeat {
				if err := c.heartbeat(ctx, a); err != nil {
					logger.Warn("demo heartbeat failed", slog.String("hostname", a.host.Hostname), slog.Any("error", err))
				} else {
					a.lastBeat = now
				}
			}
			a.pending = append(a.pending, byHost[i]...)
			if len(a.pending) > demoMaxPending {
				a.pending = a.pending[len(a.pending)-demoMaxPending:]
				if !c.warnedOverflow {
					c.warnedOverflow = true
					logger.Warn("demo events dropped: the server keeps refusing them", slog.String("hostname", a.host.Hostname))
				}
			}
			if len(a.pending) == 0 {
				continue
			}
			if err := c.sendEvents(ctx, a); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				logger.Warn("demo events not accepted; retrying next second", slog.String("hostname", a.host.Hostname),
					slog.Int("events", len(a.pending)), slog.Any("error", err))
				continue
			}
			a.pending = a.pending[:0]
		}
	}
}

// enroll enrolls h with the deploy key; enrollment counts as the first
// report, so the first heartbeat is due a period later.
func (c *demoClient) enroll(ctx context.Context, deployKey string, h demo.Host) (*demoAgent, error) {
	e, err := c.api.Enroll(ctx, deployKey, h.AgentHost(), nil)
	if err != nil {
		return nil, err
	}
	cred := demoCredential{AgentID: e.AgentID, AgentKey: e.AgentKey}
	return &demoAgent{host: h, cred: cred, client: c.api.WithCredentials(e.AgentID, e.AgentKey), lastBeat: time.Now()}, nil
}

// heartbeat reports a's host information.
func (c *demoClient) heartbeat(ctx context.Context, a *demoAgent) error {
	return a.client.Heartbeat(ctx, a.host.AgentHost())
}

// sendEvents posts a's pending events as one JSON array.
func (c *demoClient) sendEvents(ctx context.Context, a *demoAgent) error {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, ev := range a.pending {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(ev)
	}
	buf.WriteByte(']')
	_, err := a.client.SendEvents(ctx, buf.Bytes(), "application/json")
	return err
}

// sendInventory puts a's package inventory; the server then re-matches
// the agent against the advisory database.
func (c *demoClient) sendInventory(ctx context.Context, a *demoAgent) error {
	inv := a.host.Inventory()
	_, err := a.client.PutPackages(ctx, &inv)
	return err
}

// sendInventoryOnce sends a's inventory unless the server already
// accepted it; a failure is logged and the next tick tries again, as the
// vulnerabilities are a side show that must not stop the demo.
func (c *demoClient) sendInventoryOnce(ctx context.Context, a *demoAgent) {
	if a.inventorySent {
		return
	}
	if err := c.sendInventory(ctx, a); err != nil {
		if ctx.Err() == nil {
			c.logger.Warn("demo package inventory not accepted; retrying next second",
				slog.String("hostname", a.host.Hostname), slog.Any("error", err))
		}
		return
	}
	a.inventorySent = true
}

// loadDemoAdvisories stores the demo's advisory sample. Storing is
// idempotent; when it adds or changes advisories (a first start, or a
// new sample after an upgrade), the agents holding a package they name
// are re-matched, as an import would, since the advisory database is
// shared by every organization of the server.
func loadDemoAdvisories(ctx context.Context, store aip.Store, logger *slog.Logger) error {
	advs, err := demo.Advisories()
	if err != nil {
		return err
	}
	counts, ids, err := store.UpsertAdvisories(ctx, advs)
	if err != nil {
		return fmt.Errorf("store the demo advisories: %w", err)
	}
	logger.Info("demo advisories loaded", slog.Int("added", counts.Added), slog.Int("updated", counts.Updated),
		slog.Int("unchanged", counts.Unchanged))
	if len(ids) == 0 {
		return nil
	}
	refs, err := store.AgentsAffectedBy(ctx, ids)
	if err != nil {
		return fmt.Errorf("find agents to re-match: %w", err)
	}
	for _, r := range refs {
		if _, err := vuln.Rematch(ctx, store, r.OrgID, r.AgentID, time.Now()); err != nil {
			logger.Warn("demo advisories: re-match failed", slog.String("org_id", r.OrgID),
				slog.String("agent_id", r.AgentID), slog.Any("error", err))
		}
	}
	return nil
}
