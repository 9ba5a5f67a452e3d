//go:build !unix

package interop_test

// lockFile is a no-op where flock is unavailable: the in-process sync.Once
// still serializes npm ci within one test binary.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
