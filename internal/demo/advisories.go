package demo

import (
	"embed"
	"fmt"
	"io/fs"
	"path"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/vuln/osv"
)

// advisoryFiles is the demo's advisory sample: OSV records written for
// the demo (not copied from a distribution's feed) about packages the
// fleet's inventories hold, most fixed in a version newer than the
// installed one and a few in an older one, so that the demo shows both a
// vulnerable fleet and advisories it is already patched against.
//
//go:embed advisories/*.json
var advisoryFiles embed.FS

// Advisories decodes the demo's advisory sample, in file name order. Every
// record must decode to an advisory: a broken sample is a bug of this
// package, reported with the file it is in.
func Advisories() ([]*aip.Advisory, error) {
	names, err := fs.Glob(advisoryFiles, "advisories/*.json")
	if err != nil {
		return nil, fmt.Errorf("demo advisories: %w", err)
	}
	advs := make([]*aip.Advisory, 0, len(names))
	for _, name := range names {
		data, err := advisoryFiles.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("demo advisories: %w", err)
		}
		rec := osv.Decode(data)
		switch {
		case rec.Err != nil:
			return nil, fmt.Errorf("demo advisory %s: %w", path.Base(name), rec.Err)
		case rec.Advisory == nil:
			return nil, fmt.Errorf("demo advisory %s: decodes to no advisory (withdrawn or no supported ecosystem)", path.Base(name))
		case rec.Unsupported > 0:
			return nil, fmt.Errorf("demo advisory %s: %d affected entries dropped", path.Base(name), rec.Unsupported)
		}
		advs = append(advs, rec.Advisory)
	}
	return advs, nil
}
