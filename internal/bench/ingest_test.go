package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/demo"
)

// The ingest target: at least 20k events/s on SQLite in batches of
// 500, each batch durable before its 202.
//
//	go test -run='^$' -bench=Ingest -benchtime=1x -count=3 ./internal/bench/
//	go test -run='^$' -bench=Ingest -benchtime=1x -cpuprofile cpu.out ./internal/bench/
const (
	ingestAgents = 4 // enrolled agents, one concurrent client each
	ingestBatch  = 500
	// ingestBatches is the number of batches each agent sends per
	// iteration: 4 × 25 × 500 = 50,000 events, a few seconds of load.
	ingestBatches = 25
	eventsPath    = "/agent/v1/events"
)

// ingestAgent is one enrolled agent and the client it sends with.
type ingestAgent struct {
	creds  hawk.Credentials
	client *http.Client
}

// ingestServer is a booted aipd and its enrolled agents.
type ingestServer struct {
	url, host, port string
	agents          []ingestAgent
}

// startIngest boots aipd with limits that never throttle and enrolls the
// fleet's hosts as agents with a fresh deploy key.
func startIngest(b *testing.B, hosts []demo.Host) ingestServer {
	b.Helper()
	ctx := context.Background()
	m := &app.Main{Config: app.Config{
		Addr: "127.0.0.1:0", DataDir: b.TempDir(),
		OrgRateLimit: unlimited, IPRateLimit: unlimited,
	}}
	if err := m.Open(ctx); err != nil {
		b.Fatalf("open aipd: %v", err)
	}
	b.Cleanup(func() {
		if err := m.Close(); err != nil {
			b.Errorf("close aipd: %v", err)
		}
	})
	deployKey, err := app.CreateDeployKey(ctx, m.Store(), m.Bootstrap.OrgID)
	if err != nil {
		b.Fatalf("create deploy key: %v", err)
	}
	host, port, _ := net.SplitHostPort(m.Addr())
	s := ingestServer{url: "http://" + m.Addr(), host: host, port: port}
	for _, h := range hosts {
		creds, err := enroll(s.url, deployKey, h)
		if err != nil {
			b.Fatalf("enroll %s: %v", h.Hostname, err)
		}
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
		b.Cleanup(client.CloseIdleConnections)
		s.agents = append(s.agents, ingestAgent{creds: creds, client: client})
	}
	return s
}

// enroll enrolls h with the deploy key and returns the agent's credentials.
func enroll(baseURL, deployKey string, h demo.Host) (hawk.Credentials, error) {
	body, err := json.Marshal(struct {
		DeployKey string `json:"deployKey"`
		aip.AgentHost
	}{deployKey, h.AgentHost()})
	if err != nil {
		return hawk.Credentials{}, err
	}
	resp, err := http.Post(baseURL+"/agent/v1/enroll", "application/json", bytes.NewReader(body))
	if err != nil {
		return hawk.Credentials{}, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return hawk.Credentials{}, fmt.Errorf("read answer: %w", err)
	}
	var out struct {
		AgentID  string `json:"agentId"`
		AgentKey string `json:"agentKey"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(got, &out) != nil || out.AgentID == "" || out.AgentKey == "" {
		return hawk.Credentials{}, fmt.Errorf("answered %d %q, want credentials", resp.StatusCode, got)
	}
	return hawk.Credentials{ID: out.AgentID, Key: []byte(out.AgentKey)}, nil
}

// eventSource cuts the demo fleet's events into batches: the background
// traffic of web, bastion and database hosts with the attack scenarios on
// their default schedule among it. Every event has its own _id.
type eventSource struct {
	fleet         *demo.Fleet
	next          time.Time        // the start of the next tick
	queue         map[int][][]byte // events ticked but not yet batched, by host
	bytes, events int
}

func newEventSource(hosts int) *eventSource {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &eventSource{
		fleet: demo.NewFleetOptions(1, hosts, demo.Options{Start: start}),
		next:  start,
		queue: make(map[int][][]byte),
	}
}

// batches returns n JSON array bodies of ingestBatch events for each host.
func (e *eventSource) batches(n int) [][][]byte {
	hosts := len(e.fleet.Hosts())
	const step = time.Minute
	for {
		enough := true
		for i := range hosts {
			if len(e.queue[i]) < n*ingestBatch {
				enough = false
			}
		}
		if enough {
			break
		}
		for i, evs := range e.fleet.Tick(e.next, e.next.Add(step)) {
			e.queue[i] = append(e.queue[i], evs...)
		}
		e.next = e.next.Add(step)
	}
	out := make([][][]byte, hosts)
	for i := range hosts {
		for range n {
			var buf bytes.Buffer
			buf.WriteByte('[')
			for j, ev := range e.queue[i][:ingestBatch] {
				if j > 0 {
					buf.WriteByte(',')
				}
				buf.Write(ev)
				e.bytes += len(ev)
			}
			buf.WriteByte(']')
			e.events += ingestBatch
			e.queue[i] = e.queue[i][ingestBatch:]
			out[i] = append(out[i], buf.Bytes())
		}
	}
	return out
}

// ingestAnswer is the part of the 202 answer the benchmark checks.
type ingestAnswer struct {
	Accepted   int               `json:"accepted"`
	Duplicates int               `json:"duplicates"`
	Rejected   []json.RawMessage `json:"rejected"`
}

// send posts one signed batch and returns the events stored by it: those
// the 202 counts as accepted, which must be the whole batch, all fresh.
func (s ingestServer) send(a ingestAgent, body []byte) (int, error) {
	const contentType = "application/json"
	req, err := http.NewRequest(http.MethodPost, s.url+eventsPath, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	art := &hawk.Artifacts{
		Method: http.MethodPost, Resource: eventsPath, Host: s.host, Port: s.port,
		Hash: hawk.PayloadHash(contentType, body),
	}
	req.Header.Set("Authorization", a.creds.RequestHeader(art))
	req.Header.Set("Content-Type", contentType)
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("answered %d: %s", resp.StatusCode, bytes.TrimSpace(got))
	}
	var ans ingestAnswer
	if err := json.Unmarshal(got, &ans); err != nil {
		return 0, fmt.Errorf("decode answer %q: %w", got, err)
	}
	if ans.Accepted != ingestBatch || ans.Duplicates != 0 || len(ans.Rejected) != 0 {
		return 0, fmt.Errorf("answer %s: want every event fresh and valid", bytes.TrimSpace(got))
	}
	return ans.Accepted - ans.Duplicates, nil
}

// BenchmarkIngest posts batches of 500 demo events from one concurrent
// client per enrolled agent and reports the events per second that aipd
// acknowledged with a 202, which it sends only after the batch committed.
// Generating the events is left out of the rate; each iteration sends
// fresh events, as duplicates would cost less than new rows.
func BenchmarkIngest(b *testing.B) {
	src := newEventSource(ingestAgents)
	s := startIngest(b, src.fleet.Hosts())
	var stored atomic.Int64
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		batches := src.batches(ingestBatches)
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		var failure atomic.Pointer[string]
		for i, a := range s.agents {
			wg.Go(func() {
				for _, body := range batches[i] {
					n, err := s.send(a, body)
					if err != nil {
						msg := fmt.Sprintf("agent %d: %v", i, err)
						failure.CompareAndSwap(nil, &msg)
						return
					}
					stored.Add(int64(n))
				}
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
		if f := failure.Load(); f != nil {
			b.Fatalf("%s: the rate would measure failures", *f)
		}
	}
	rate := float64(stored.Load()) / elapsed.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(float64(src.bytes)/float64(src.events), "B/event")
	b.Logf("%d events acknowledged in %v by %d agents in batches of %d: %.0f events/s (issue target ≥ 20000), %d B per event on average",
		stored.Load(), elapsed.Round(time.Millisecond), len(s.agents), ingestBatch, rate, src.bytes/src.events)
}
