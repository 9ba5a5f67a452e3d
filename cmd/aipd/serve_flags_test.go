package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

// serveConfigOf parses args as serve flags, with env set first, and returns
// the ingest limits of the resulting configuration.
func serveConfigOf(t *testing.T, env map[string]string, args ...string) ([2]int64, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	cmd := &cobra.Command{Use: "serve"}
	o := addServeFlags(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		return [2]int64{}, err
	}
	cfg, _, err := o.config(cmd)
	return [2]int64{cfg.AgentMaxBodyBytes, int64(cfg.MaxConcurrentIngests)}, err
}

func TestServeIngestLimitFlags(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want [2]int64 // agent body cap, concurrent ingests
	}{
		{"defaults to 16 MiB and the server's own concurrency", nil, nil, [2]int64{16 << 20, 0}},
		{"takes plain bytes and a count from flags", nil,
			[]string{"--agent-max-body", "1024", "--max-concurrent-ingests", "3"}, [2]int64{1024, 3}},
		{"takes a MiB suffix", nil, []string{"--agent-max-body", "4MiB"}, [2]int64{4 << 20, 0}},
		{"takes the environment", map[string]string{"AIP_AGENT_MAX_BODY": "64KiB", "AIP_MAX_CONCURRENT_INGESTS": "7"},
			nil, [2]int64{64 << 10, 7}},
		{"prefers flags over the environment", map[string]string{"AIP_AGENT_MAX_BODY": "64KiB", "AIP_MAX_CONCURRENT_INGESTS": "7"},
			[]string{"--agent-max-body", "2048", "--max-concurrent-ingests", "1"}, [2]int64{2048, 1}},
		{"ignores a bad variable whose flag is set", map[string]string{"AIP_AGENT_MAX_BODY": "huge", "AIP_MAX_CONCURRENT_INGESTS": "many"},
			[]string{"--agent-max-body", "2048", "--max-concurrent-ingests", "1"}, [2]int64{2048, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := serveConfigOf(t, tt.env, tt.args...)
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ingest limits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServeRejectsBadIngestLimits(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // a part of the error
	}{
		{"rejects a body cap that is no size", nil, []string{"--agent-max-body", "big"}, "--agent-max-body"},
		{"rejects a zero body cap", nil, []string{"--agent-max-body", "0"}, "--agent-max-body"},
		{"rejects a negative body cap", nil, []string{"--agent-max-body", "-1"}, "--agent-max-body"},
		{"rejects an overflowing body cap", nil, []string{"--agent-max-body", "9223372036854775807GiB"}, "--agent-max-body"},
		{"names the variable of a bad body cap", map[string]string{"AIP_AGENT_MAX_BODY": "lots"}, nil, "AIP_AGENT_MAX_BODY"},
		{"rejects a negative concurrency", nil, []string{"--max-concurrent-ingests", "-2"}, "--max-concurrent-ingests"},
		{"names the variable of a concurrency that is no integer", map[string]string{"AIP_MAX_CONCURRENT_INGESTS": "many"}, nil, "AIP_MAX_CONCURRENT_INGESTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := serveConfigOf(t, tt.env, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1024", 1024},
		{"512B", 512},
		{"16MiB", 16 << 20},
		{"16 mib", 16 << 20},
		{"2KiB", 2 << 10},
		{"1GiB", 1 << 30},
	}
	for _, tt := range tests {
		t.Run("reads "+tt.in, func(t *testing.T) {
			got, err := parseBytes(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("parseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
	for _, in := range []string{"", "MiB", "1.5MiB", "16MB", "0x10"} {
		t.Run("rejects "+in, func(t *testing.T) {
			if got, err := parseBytes(in); err == nil {
				t.Errorf("parseBytes(%q) = %d, want an error", in, got)
			}
		})
	}
}
