//go:build linux

package netconn

import (
	"context"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aipsec/aip/internal/agent/collect"
	"github.com/aipsec/aip/internal/agent/collect/process"
)

func TestRunReportsOutboundConnection(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lport := ln.Addr().(*net.TCPAddr).Port

	var mu sync.Mutex
	var events []collect.Event
	c := New(Config{Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(ev collect.Event) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	}()

	conn, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	accepted, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	sport := conn.LocalAddr().(*net.TCPAddr).Port

	var got collect.Event
	deadline := time.Now().Add(5 * time.Second)
	for got == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		for _, ev := range events {
			if ev["dst_port"] == lport && ev["src_port"] == sport {
				got = ev
			}
		}
		mu.Unlock()
	}
	if got == nil {
		t.Fatalf("no connect event for 127.0.0.1:%d → :%d within 5s", sport, lport)
	}
	exe, _ := os.Readlink("/proc/self/exe")
	want := map[string]any{
		"event_type": "audit", "syscall": "connect", "type": "connect", "protocol": "tcp",
		"src_ip": "127.0.0.1", "dst_ip": "127.0.0.1", "pid": os.Getpid(), "exe": exe, "uid": os.Getuid(),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (event %v)", k, got[k], v, got)
		}
	}
	if _, ok := got["user"]; !ok {
		if _, known := process.NewNames("", "").User(os.Getuid()); known {
			t.Errorf("event lacks user: %v", got)
		}
	}

	// Two more polls: the accepted side must never show up as outbound,
	// and the connection must not be reported twice.
	time.Sleep(60 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, ev := range events {
		if ev["src_port"] == lport {
			t.Errorf("accepted side reported as outbound: %v", ev)
		}
		if ev["dst_port"] == lport && ev["src_port"] == sport {
			n++
		}
	}
	if n != 1 {
		t.Errorf("connection reported %d times, want once", n)
	}
}

func BenchmarkPollCycle(b *testing.B) {
	p := newPoller("/proc", process.NewNames("", ""))
	emit := func(collect.Event) {}
	if err := p.poll(emit); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := p.poll(emit); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(p.seen)), "sockets")
}
