package app

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAdvertisedEndpoint(t *testing.T) {
	tests := []struct {
		name string
		addr net.Addr
		want string
	}{
		{"keeps a loopback address", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://127.0.0.1:8080"},
		{"keeps a specific address", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 80}, "http://192.0.2.7:80"},
		{"brackets an IPv6 address", &net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, "http://[::1]:8080"},
		{"replaces 0.0.0.0 by 127.0.0.1", &net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "http://127.0.0.1:8080"},
		{"replaces [::] by localhost", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "http://localhost:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := advertisedEndpoint(tt.addr); got != tt.want {
				t.Errorf("advertisedEndpoint(%v) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Run("fills zero limits with the defaults", func(t *testing.T) {
		got := Config{}.withDefaults()
		want := Config{
			ShutdownTimeout:   30 * time.Second,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("withDefaults (-want +got):\n%s", diff)
		}
	})
	t.Run("keeps set limits and applies them to the server", func(t *testing.T) {
		cfg := Config{ReadHeaderTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second,
			IdleTimeout: 4 * time.Second, MaxHeaderBytes: 5}.withDefaults()
		srv := cfg.httpServer(nil, slog.New(slog.DiscardHandler))
		got := []any{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes}
		want := []any{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("server limits (-want +got):\n%s", diff)
		}
	})
}

func TestAgentMaxBodyBytesReachesTheServer(t *testing.T) {
	const limit = 1024
	m := &Main{Config: Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AgentMaxBodyBytes: limit}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	// The body is read, and capped, before the Hawk header is checked, so
	// an unknown agent id tells the cap (413) from the check (401).
	tests := []struct {
		name string
		size int
		want int
	}{
		{"answers 413 beyond the cap", limit + 1, http.StatusRequestEntityTooLarge},
		{"reads a body within the cap", limit, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "http://"+m.Addr()+"/agent/v1/events", bytes.NewReader(bytes.Repeat([]byte(" "), tt.size)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", `Hawk id="unknown", ts="1", nonce="n", mac="bWFj"`)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
