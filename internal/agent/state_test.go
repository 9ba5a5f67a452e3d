package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadIdentity(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" = no file
		wantErr string
	}{
		{"fails for a missing file", "", "enroll first"},
		{"fails for broken JSON", "{not json", "damaged"},
		{"fails for a missing key", `{"server":"http://x","agentId":"a"}`, "damaged"},
		{"fails for a missing server", `{"agentId":"a","agentKey":"k"}`, "damaged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != "" {
				if err := os.WriteFile(filepath.Join(dir, "identity.json"), []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			id, err := LoadIdentity(dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("LoadIdentity = %+v, %v; want error containing %q", id, err, tt.wantErr)
			}
		})
	}
	t.Run("round-trips a saved identity", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new")
		want := &Identity{Server: "http://127.0.0.1:1", AgentID: "a1", AgentKey: "k1"}
		if err := saveIdentity(dir, want); err != nil {
			t.Fatalf("saveIdentity: %v", err)
		}
		got, err := LoadIdentity(dir)
		if err != nil {
			t.Fatalf("LoadIdentity: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("identity (-saved +loaded):\n%s", diff)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Errorf("state dir holds %d entries, want identity.json alone (no temp file left)", len(entries))
		}
	})
}

func TestLockStateDir(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockStateDir(dir)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	if _, err := lockStateDir(dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second lock = %v, want in use", err)
	}
	unlock()
	again, err := lockStateDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}
