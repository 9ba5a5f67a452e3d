package storeutil

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/aipsec/aip"
)

// EncodedAdvisory is an advisory as stored: its JSON body and the hash a
// re-import compares to decide whether anything changed.
type EncodedAdvisory struct {
	Adv  *aip.Advisory
	Body []byte
	Sum  []byte
}

// EncodeAdvisories encodes advs for storage, in order of first appearance
// with the last copy winning when an id comes twice, and returns their
// ids. Modified is cut to the stored millisecond precision before hashing,
// so that the hash of a re-read advisory equals the stored one.
func EncodeAdvisories(advs []*aip.Advisory) ([]EncodedAdvisory, []string, error) {
	byID := make(map[string]int, len(advs))
	var encs []EncodedAdvisory
	for _, a := range advs {
		if a == nil || a.ID == "" {
			return nil, nil, aip.Errorf(aip.EINVALID, "An advisory needs an id.")
		}
		c := *a
		c.Modified = Normalize(c.Modified)
		body, err := json.Marshal(&c)
		if err != nil {
			return nil, nil, fmt.Errorf("encode advisory %s: %w", a.ID, err)
		}
		s := sha256.Sum256(body)
		e := EncodedAdvisory{Adv: &c, Body: body, Sum: s[:]}
		if i, ok := byID[a.ID]; ok {
			encs[i] = e
			continue
		}
		byID[a.ID] = len(encs)
		encs = append(encs, e)
	}
	ids := make([]string, len(encs))
	for i, e := range encs {
		ids[i] = e.Adv.ID
	}
	return encs, ids, nil
}

// EncodeInventory returns inv's packages as stored and the content hash
// that lets an identical snapshot be recognized and left alone.
func EncodeInventory(inv *aip.Inventory) (pkgs, sum []byte, err error) {
	pkgs, err = json.Marshal(NonNil(inv.Packages))
	if err != nil {
		return nil, nil, fmt.Errorf("encode inventory of agent %s: %w", inv.AgentID, err)
	}
	h := sha256.New()
	for _, s := range []string{inv.Ecosystem, inv.Distro, inv.Release} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(pkgs)
	return pkgs, h.Sum(nil), nil
}

// IndexNames returns, each once and in inventory order, the names that
// advisories key inv's packages by.
func IndexNames(inv *aip.Inventory) []string {
	seen := make(map[string]bool, len(inv.Packages))
	var names []string
	for _, p := range inv.Packages {
		if n := p.AdvisoryName(inv.Ecosystem); !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}
