package vuln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/vuln/version"
)

// Inventory limits: far above any real host (a large desktop has ~5,000
// packages), low enough that one agent cannot make matching expensive.
const (
	MaxPackages      = 50_000
	maxPackageField  = 512
	maxDistroRelease = 64
)

// Rejection is a package the server did not keep, by its index in the
// inventory's packages array.
type Rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// DecodeInventory decodes an agent's package snapshot (PUT
// /agent/v1/packages). The snapshot's own fields must be valid (an
// EINVALID error otherwise); a package with a missing name, an oversized
// field or a version its ecosystem cannot order is rejected with its index
// and the others are kept, so that one odd package does not hide the
// rest of the host. Distro and release are normalized (NormalizeRelease).
func DecodeInventory(data []byte) (*aip.Inventory, []Rejection, error) {
	var raw struct {
		Ecosystem string            `json:"ecosystem"`
		Distro    string            `json:"distro"`
		Release   string            `json:"release"`
		Packages  []json.RawMessage `json:"packages"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, aip.Errorf(aip.EINVALID, "Invalid inventory: %s.", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, aip.Errorf(aip.EINVALID, "Invalid inventory: unexpected data after the JSON object.")
	}
	switch raw.Ecosystem {
	case aip.EcosystemDeb, aip.EcosystemRPM, aip.EcosystemAPK:
	default:
		return nil, nil, aip.Errorf(aip.EINVALID, "Invalid ecosystem %q: must be deb, rpm or apk.", raw.Ecosystem)
	}
	distro := strings.ToLower(strings.TrimSpace(raw.Distro))
	switch {
	case distro == "" || len(distro) > maxDistroRelease:
		return nil, nil, aip.Errorf(aip.EINVALID, "Invalid distro: an os-release ID (debian, ubuntu, alpine, …) is required.")
	case strings.TrimSpace(raw.Release) == "" || len(raw.Release) > maxDistroRelease:
		return nil, nil, aip.Errorf(aip.EINVALID, "Invalid release: the os-release VERSION_ID is required.")
	case raw.Packages == nil:
		return nil, nil, aip.Errorf(aip.EINVALID, "Invalid inventory: packages is required (an empty array for none).")
	case len(raw.Packages) > MaxPackages:
		return nil, nil, aip.Errorf(aip.ETOOLARGE, "The inventory lists %d packages; at most %d are accepted.", len(raw.Packages), MaxPackages)
	}
	inv := &aip.Inventory{Ecosystem: raw.Ecosystem, Distro: distro, Release: NormalizeRelease(distro, raw.Release),
		Packages: make([]aip.InstalledPackage, 0, len(raw.Packages))}
	var rejected []Rejection
	for i, msg := range raw.Packages {
		p, err := decodePackage(raw.Ecosystem, msg)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, Error: err.Error()})
			continue
		}
		inv.Packages = append(inv.Packages, p)
	}
	return inv, rejected, nil
}

func decodePackage(ecosystem string, msg json.RawMessage) (aip.InstalledPackage, error) {
	var p aip.InstalledPackage
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("not a package object: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	switch {
	case p.Name == "":
		return p, errors.New("name is required")
	case p.Version == "":
		return p, errors.New("version is required")
	}
	for _, f := range []string{p.Name, p.Version, p.Arch, p.Source, p.SourceVersion} {
		if len(f) > maxPackageField {
			return p, fmt.Errorf("a field is longer than %d bytes", maxPackageField)
		}
	}
	for _, v := range []string{p.Version, p.SourceVersion} {
		if v == "" {
			continue
		}
		if _, err := version.Compare(ecosystem, v, v); err != nil {
			return p, fmt.Errorf("version %q: %v", v, err)
		}
	}
	return p, nil
}
