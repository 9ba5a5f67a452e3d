package storeutil

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/aipsec/aip"
)

// agentHost is the JSON column of an agent's host details.
type agentHost struct {
	IPAddresses       aip.IPAddresses `json:"ipAddresses"`
	Tags              []aip.Tag       `json:"tags"`
	AgentModuleHealth json.RawMessage `json:"agentModuleHealth"`
}

// EncodeHost validates and encodes the JSON column of h. The column is
// text in both stores, not JSONB, so the health object keeps its key order
// and duplicate keys as the agent sent them.
func EncodeHost(h *aip.AgentHost) (string, error) {
	if len(h.AgentModuleHealth) > 0 && !bytes.Equal(bytes.TrimSpace(h.AgentModuleHealth), []byte("null")) &&
		(!json.Valid(h.AgentModuleHealth) || !LooksLikeObject(h.AgentModuleHealth)) {
		return "", aip.Errorf(aip.EINVALID, "agentModuleHealth must be a JSON object.")
	}
	b, err := json.Marshal(agentHost{IPAddresses: h.IPAddresses, Tags: h.Tags, AgentModuleHealth: h.AgentModuleHealth})
	if err != nil {
		return "", fmt.Errorf("encode host details: %w", err)
	}
	return string(b), nil
}

// DecodeHost sets the addresses, tags and module health of dst from the
// JSON column host, with empty lists rather than nil and JSON null as no
// health; the JSON error is returned as is for the caller to name the agent.
func DecodeHost(host string, dst *aip.AgentHost) error {
	var h agentHost
	if err := json.Unmarshal([]byte(host), &h); err != nil {
		return err
	}
	dst.IPAddresses = aip.IPAddresses{
		Private:   NonNil(h.IPAddresses.Private),
		LinkLocal: NonNil(h.IPAddresses.LinkLocal),
		Public:    NonNil(h.IPAddresses.Public),
	}
	dst.Tags = NonNil(h.Tags)
	if !bytes.Equal(h.AgentModuleHealth, []byte("null")) {
		dst.AgentModuleHealth = h.AgentModuleHealth
	}
	return nil
}
