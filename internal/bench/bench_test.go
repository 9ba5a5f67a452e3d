// Package bench_test holds aipd's end-to-end benchmarks: the real server
// (app.Main on loopback) against a bare net/http handler writing the same
// bytes, both loaded by the same client in the same run.
//
// The target: GET /help/hawk/self-test, signed, reaches at least 60%
// of the bare handler's throughput. The benchmarks report both rates and
// their ratio, and the process CPU time per request of each; they assert
// nothing about speed, only that every request succeeded.
//
//	go test -run='^$' -bench=SelfTestVsBare -benchtime=1x -count=3 ./internal/bench/
//	go test -run='^$' -bench='SelfTest$' ./internal/bench/
//	go test -run='^$' -bench='SelfTest$/aipd' -benchtime=150000x -cpuprofile cpu.out ./internal/bench/
//
// Keep runs short: aipd's in-memory Hawk nonce store holds 1<<20 nonces for
// 120 to 240 s, so minutes of load at several thousand requests a second
// fill it and turn answers into 503s, which fail the benchmark.
package bench_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/app"
)

const (
	selfTestPath = "/help/hawk/self-test"
	// concurrency is the number of client workers and keep-alive
	// connections, the same against both servers.
	concurrency = 32
	// phase is how long each server is loaded in one round; rounds
	// alternate bare and aipd so that machine drift hits both alike.
	phase  = 750 * time.Millisecond
	rounds = 4
	// warmup loads each server once, unmeasured, to open the connections.
	warmup = 300 * time.Millisecond
	// unlimited is a rate limit (per minute) no benchmark reaches.
	unlimited = 1_000_000_000
)

// target is one server under load and the host and port a client signs.
type target struct {
	name, url, host, port string
}

func newTarget(name, addr string) target {
	host, port, _ := net.SplitHostPort(addr)
	return target{name: name, url: "http://" + addr + selfTestPath, host: host, port: port}
}

// signer signs the self-test for the bootstrap owner: a fresh ts and nonce
// per request, exactly what a real client pays.
type signer struct {
	creds hawk.Credentials
	org   string
}

func (s signer) authorization(t target) string {
	return s.creds.RequestHeader(&hawk.Artifacts{Method: http.MethodGet, Resource: selfTestPath, Host: t.host, Port: t.port, Ext: s.org})
}

// servers is one benchmark's pair of servers.
type servers struct {
	aipd, bare target
	sign       signer
}

// startServers boots aipd with limits that never throttle, captures one real
// self-test answer and starts a bare handler that replays its headers and
// body byte for byte.
func startServers(b *testing.B) servers {
	b.Helper()
	m := &app.Main{Config: app.Config{
		Addr: "127.0.0.1:0", DataDir: b.TempDir(),
		OrgRateLimit: unlimited, IPRateLimit: unlimited,
	}}
	if err := m.Open(context.Background()); err != nil {
		b.Fatalf("open aipd: %v", err)
	}
	b.Cleanup(func() {
		if err := m.Close(); err != nil {
			b.Errorf("close aipd: %v", err)
		}
	})
	s := servers{
		aipd: newTarget("aipd", m.Addr()),
		sign: signer{creds: hawk.Credentials{ID: m.Bootstrap.UserID, Key: []byte(m.Bootstrap.APIKey)}, org: m.Bootstrap.OrgID},
	}

	header, body := golden(b, s.aipd, s.sign)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bare := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			for k, v := range header {
				h[k] = v
			}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
		}),
		// The same timeouts as aipd's server: each costs a deadline per request.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go func() { _ = bare.Serve(ln) }()
	b.Cleanup(func() { _ = bare.Close() })
	s.bare = newTarget("bare", ln.Addr().String())
	return s
}

// golden fetches one signed self-test answer from aipd: the headers and body
// the bare handler writes.
func golden(b *testing.B, t target, s signer) (http.Header, []byte) {
	b.Helper()
	req, err := http.NewRequest(http.MethodGet, t.url, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", s.authorization(t))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		b.Fatalf("self-test: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Server-Authorization") == "" {
		b.Fatalf("self-test answered %d %q (%v), want a signed 200", resp.StatusCode, body, err)
	}
	h := resp.Header.Clone()
	h.Del("Date") // both servers add their own
	return h, body
}

// load runs one client against a target for d and returns the successful
// requests and the time they took.
type load func(b *testing.B, t target, s signer, d time.Duration) (requests uint64, elapsed time.Duration)

// tally sums the phases of one server.
type tally struct {
	requests uint64
	elapsed  time.Duration
	cpu      time.Duration // process CPU time; 0 when unavailable
}

func (t *tally) run(b *testing.B, l load, tg target, s signer, d time.Duration) {
	cpu0, ok0 := processCPU()
	n, elapsed := l(b, tg, s, d)
	cpu1, ok1 := processCPU()
	t.requests += n
	t.elapsed += elapsed
	if ok0 && ok1 {
		t.cpu += cpu1 - cpu0
	}
}

func (t *tally) rate() float64 { return float64(t.requests) / t.elapsed.Seconds() }

// cpuPerRequest is the process CPU time (client and server together) per
// request, in microseconds.
func (t *tally) cpuPerRequest() float64 {
	return float64(t.cpu.Microseconds()) / float64(t.requests)
}

// compare loads bare and aipd in alternating rounds and reports both rates
// and aipd/bare. Client and servers share the machine's CPUs, so the rate
// ratio is also reported as the ratio of CPU time per request, which other
// processes on a busy machine disturb far less than wall-clock rates.
func compare(b *testing.B, l load) {
	s := startServers(b)
	var warm tally
	warm.run(b, l, s.bare, s.sign, warmup)
	warm.run(b, l, s.aipd, s.sign, warmup)
	var bare, aipd tally
	for b.Loop() {
		for range rounds {
			bare.run(b, l, s.bare, s.sign, phase)
			aipd.run(b, l, s.aipd, s.sign, phase)
		}
	}
	ratio := aipd.rate() / bare.rate()
	b.ReportMetric(bare.rate(), "bare-req/s")
	b.ReportMetric(aipd.rate(), "aipd-req/s")
	b.ReportMetric(ratio, "ratio")
	b.Logf("bare %.0f req/s (%d requests), aipd %.0f req/s (%d requests), aipd/bare = %.3f (issue target ≥ 0.60)",
		bare.rate(), bare.requests, aipd.rate(), aipd.requests, ratio)
	if bare.cpu > 0 && aipd.cpu > 0 {
		cpuRatio := bare.cpuPerRequest() / aipd.cpuPerRequest()
		b.ReportMetric(bare.cpuPerRequest(), "bare-cpu-us/req")
		b.ReportMetric(aipd.cpuPerRequest(), "aipd-cpu-us/req")
		b.ReportMetric(cpuRatio, "cpu-ratio")
		b.Logf("CPU per request, client included: bare %.1f µs, aipd %.1f µs, bare/aipd = %.3f",
			bare.cpuPerRequest(), aipd.cpuPerRequest(), cpuRatio)
	}
}

// BenchmarkSelfTestVsBare loads both servers with vegeta at its maximum rate
// (Rate{Freq: 0}) from a fixed pool of workers and keep-alive connections;
// a custom targeter signs every request.
func BenchmarkSelfTestVsBare(b *testing.B) { compare(b, vegetaLoad) }

// BenchmarkSelfTestVsBareLoop is the same comparison with wrk-style clients:
// plain goroutines looping over one keep-alive connection each, which costs
// less client CPU than vegeta's bookkeeping and so shows more of the server.
func BenchmarkSelfTestVsBareLoop(b *testing.B) { compare(b, loopLoad) }

func vegetaLoad(b *testing.B, t target, s signer, d time.Duration) (uint64, time.Duration) {
	b.Helper()
	atk := vegeta.NewAttacker(
		vegeta.Workers(concurrency), vegeta.MaxWorkers(concurrency),
		vegeta.Connections(concurrency), vegeta.MaxConnections(concurrency),
		vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second),
		vegeta.Proxy(nil), // loopback only, whatever the environment says
	)
	targeter := func(tgt *vegeta.Target) error {
		*tgt = vegeta.Target{Method: http.MethodGet, URL: t.url,
			Header: http.Header{"Authorization": {s.authorization(t)}}}
		return nil
	}
	var m vegeta.Metrics
	for res := range atk.Attack(targeter, vegeta.Rate{Freq: 0}, d, t.name) {
		m.Add(res)
	}
	m.Close()
	if m.Success != 1 {
		b.Fatalf("%s: success %.4f, status codes %v, errors %v: the rate would measure failures", t.name, m.Success, m.StatusCodes, m.Errors)
	}
	return m.Requests, m.Duration + m.Wait
}

func loopLoad(b *testing.B, t target, s signer, d time.Duration) (uint64, time.Duration) {
	b.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency, Proxy: nil,
	}}
	defer client.CloseIdleConnections()
	var ok atomic.Uint64
	var failure atomic.Pointer[string]
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range concurrency {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := selfTest(client, t, s); err != nil {
					msg := err.Error()
					failure.CompareAndSwap(nil, &msg)
					return
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failure.Load(); f != nil {
		b.Fatalf("%s: %s: the rate would measure failures", t.name, *f)
	}
	return ok.Load(), elapsed
}

// selfTest sends one signed self-test and drains the answer so that the
// connection is reused.
func selfTest(c *http.Client, t target, s signer) error {
	req, err := http.NewRequest(http.MethodGet, t.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", s.authorization(t))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// BenchmarkSelfTest measures one signed self-test round trip, client
// included, against each server with the standard parallel harness: ns/op
// and allocs/op per request, and the profile to read with -cpuprofile.
func BenchmarkSelfTest(b *testing.B) {
	s := startServers(b)
	for _, t := range []target{s.bare, s.aipd} {
		b.Run(t.name, func(b *testing.B) {
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency, Proxy: nil,
			}}
			defer client.CloseIdleConnections()
			// About as many client goroutines as the other benchmarks' workers.
			b.SetParallelism(max(1, concurrency/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := selfTest(client, t, s.sign); err != nil {
						b.Errorf("%s: %v", t.name, err)
						return
					}
				}
			})
		})
	}
}
