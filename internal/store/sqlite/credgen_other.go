//go:build !unix

package sqlite

// credGen would be the cross-process generation counter; without a shared
// memory mapping there is none, and FindCredentials always queries.
type credGen struct{}

// openCredGen returns no counter, which disables the credentials cache.
func openCredGen(string) (*credGen, error) { return nil, nil }

func (*credGen) load() uint64 { return 0 }
func (*credGen) bump()        {}
func (*credGen) close() error { return nil }
