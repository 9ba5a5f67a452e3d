package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aipsec/aip"
)

// jsonlIDs reads the alert ids of jsonl export output, sorted.
func jsonlIDs(t *testing.T, out string) []string {
	t.Helper()
	var ids []string
	for line := range strings.Lines(out) {
		var al aip.Alert
		if err := json.Unmarshal([]byte(line), &al); err != nil || al.ID == "" {
			t.Fatalf("line %q: %v", line, err)
		}
		ids = append(ids, al.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestAlertsExport(t *testing.T) {
	ts := newTestServer(t)
	seeded := ts.seedAlerts(t, 3)
	want := alertIDs(seeded)
	t.Run("streams jsonl to stdout", func(t *testing.T) {
		out, errOut, code := ts.run(t, "alerts", "export", "--from", "2000-01-01")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if got := jsonlIDs(t, out); !slices.Equal(got, want) {
			t.Errorf("ids = %v, want %v", got, want)
		}
	})
	t.Run("writes csv with a header to -o", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "out.csv")
		out, errOut, code := ts.run(t, "alerts", "export", "--from", "2000-01-01", "--format", "csv", "-o", path)
		if code != 0 || out != "" {
			t.Fatalf("exit %d, stdout %q: %s", code, out, errOut)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != len(want)+1 || !strings.HasPrefix(lines[0], "id,createdAt,severity,title") {
			t.Errorf("csv = %q, want header and %d rows", b, len(want))
		}
	})
	t.Run("rejects bad usage", func(t *testing.T) {
		for _, args := range [][]string{{}, {"--from", "2000-01-01", "--format", "table"}, {"--from", "soon"}, {"--from", "2000-01-01", "--status", "x"}} {
			if _, _, code := ts.run(t, append([]string{"alerts", "export"}, args...)...); code != ExitUsage {
				t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
			}
		}
	})
}

func TestAlertsExportCheckpoint(t *testing.T) {
	ts := newTestServer(t)
	first := alertIDs(ts.seedAlerts(t, 2))
	dir := t.TempDir()
	cp, outPath := filepath.Join(dir, "alerts.ckpt"), filepath.Join(dir, "alerts.jsonl")
	export := func(t *testing.T, env map[string]string) (string, int) {
		t.Helper()
		_, errOut, code := runCLI(t, env, "", "alerts", "export", "--from", "2000-01-01", "--checkpoint", cp, "-o", outPath)
		return errOut, code
	}
	readOut := func(t *testing.T) []string {
		b, err := os.ReadFile(outPath)
		if err != nil {
			t.Fatal(err)
		}
		return jsonlIDs(t, string(b))
	}
	if errOut, code := export(t, ts.env); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	if got := readOut(t); !slices.Equal(got, first) {
		t.Fatalf("first run ids = %v, want %v", got, first)
	}
	t.Run("checkpoint file is 0600", func(t *testing.T) {
		st, err := os.Stat(cp)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode = %v, want 0600", st.Mode().Perm())
		}
	})
	// More alerts, from another agent (a new aggregation key).
	time.Sleep(5 * time.Millisecond)
	ts.enrollAgent(t, "late").postEvents(t, sudoEvent("sudo cat /etc/late-1"), sudoEvent("sudo cat /etc/late-2"))
	var all []string
	for deadline := time.Now().Add(10 * time.Second); len(all) < len(first)+2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no new alerts after 10s")
		}
		out, _, _ := ts.run(t, "alerts", "list", "--json")
		all = alertIDs(decodeAlerts(t, out))
	}
	t.Run("a failed run leaves the checkpoint unchanged", func(t *testing.T) {
		before, _ := os.ReadFile(cp)
		broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"errors":["boom"]}`, http.StatusInternalServerError)
		}))
		defer broken.Close()
		if _, code := export(t, withEnv(ts.env, envEndpoint, broken.URL)); code != ExitServer {
			t.Errorf("exit %d, want %d", code, ExitServer)
		}
		if after, _ := os.ReadFile(cp); string(after) != string(before) {
			t.Errorf("checkpoint changed from %s to %s", before, after)
		}
	})
	t.Run("the next run appends only the new alerts", func(t *testing.T) {
		if errOut, code := export(t, ts.env); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if got := readOut(t); !slices.Equal(got, all) {
			t.Errorf("ids = %v, want each of %v once", got, all)
		}
	})
	t.Run("a run with nothing new appends nothing", func(t *testing.T) {
		if errOut, code := export(t, ts.env); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if got := readOut(t); !slices.Equal(got, all) {
			t.Errorf("ids = %v, want %v", got, all)
		}
	})
}

func TestAlertsExportWaitsOutRateLimits(t *testing.T) {
	ts := newTestServer(t)
	want := alertIDs(ts.seedAlerts(t, 2))
	target, err := url.Parse(ts.env[envEndpoint])
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var limited atomic.Int32
	// The first four alert pages get a 429: more than the client's own
	// single retry, so only the export's loop gets through.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/alerts" && limited.Add(1) <= 4 {
			w.Header().Set("X-Rate-Limit-Reset", "30")
			w.Header().Set("Retry-After", "0")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"errors":["Rate limit exceeded"]}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	out, errOut, code := runCLI(t, withEnv(ts.env, envEndpoint, srv.URL), "", "alerts", "export", "--from", "2000-01-01")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := jsonlIDs(t, out); !slices.Equal(got, want) {
		t.Errorf("ids = %v, want %v", got, want)
	}
	if !strings.Contains(errOut, "rate limited") {
		t.Errorf("stderr %q does not report the waits", errOut)
	}
}

func TestCheckpointAdvance(t *testing.T) {
	prev := &exportCheckpoint{Status: "active", NewestCreatedAt: 100, IDs: []string{"a"}}
	tests := []struct {
		name    string
		prev    *exportCheckpoint
		newest  int64
		ids     []string
		wantAt  int64
		wantIDs []string
	}{
		{"starts from the first run's newest", nil, 50, []string{"x"}, 50, []string{"x"}},
		{"moves to a newer millisecond", prev, 200, []string{"b"}, 200, []string{"b"}},
		{"adds ids of the same millisecond", prev, 100, []string{"b"}, 100, []string{"a", "b"}},
		{"keeps the old position when nothing was written", prev, 0, nil, 100, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := advance(tt.prev, "active", tt.newest, tt.ids, time.Now())
			if got.NewestCreatedAt != tt.wantAt || !slices.Equal(got.IDs, tt.wantIDs) {
				t.Errorf("got %d %v, want %d %v", got.NewestCreatedAt, got.IDs, tt.wantAt, tt.wantIDs)
			}
		})
	}
}
