package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultStateDir is where the agent keeps its identity and spool.
const DefaultStateDir = "/var/lib/aip-agent"

// Identity is what enrollment gave the agent; the key is a secret.
type Identity struct {
	Server   string `json:"server"`
	AgentID  string `json:"agentId"`
	AgentKey string `json:"agentKey"`
}

// identityPath is the identity file of a state dir.
func identityPath(stateDir string) string { return filepath.Join(stateDir, "identity.json") }

// spoolDir is the spool of a state dir.
func spoolDir(stateDir string) string { return filepath.Join(stateDir, "spool") }

// LoadIdentity reads the identity of a state dir. A missing file says to
// run setup first.
func LoadIdentity(stateDir string) (*Identity, error) {
	b, err := os.ReadFile(identityPath(stateDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no identity in %s: enroll first with `aip-agent setup --server URL --deploy-key KEY --state-dir %s`",
			stateDir, stateDir)
	} else if err != nil {
		return nil, fmt.Errorf("read identity: %w", err)
	}
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil || id.Server == "" || id.AgentID == "" || id.AgentKey == "" {
		return nil, fmt.Errorf("identity file %s is damaged: enroll again with `aip-agent setup`", identityPath(stateDir))
	}
	return &id, nil
}

// saveIdentity writes the identity atomically, readable by the agent's
// user only: the state dir is 0700 and the file 0600.
func saveIdentity(stateDir string, id *Identity) error {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	if err := os.Chmod(stateDir, 0o700); err != nil {
		return fmt.Errorf("protect state dir: %w", err)
	}
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return fmt.Errorf("encode identity: %w", err)
	}
	tmp, err := os.CreateTemp(stateDir, ".identity-*")
	if err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write identity: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write identity: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write identity: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	if err := os.Rename(tmp.Name(), identityPath(stateDir)); err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	return nil
}
