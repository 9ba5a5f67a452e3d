package noncetest_test

import (
	"testing"

	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/hawk/noncetest"
)

// TestMemoryNonceStore runs the suite on hawk.MemoryNonceStore. Its clock
// is not settable from outside package hawk, whose own tests cannot import
// this package (an import cycle), so it runs on the real clock.
func TestMemoryNonceStore(t *testing.T) {
	noncetest.Run(t,
		func(*testing.T) noncetest.Clock { return noncetest.RealClock{} },
		func(*testing.T, noncetest.Clock) hawk.NonceStore { return hawk.NewMemoryNonceStore(0) })
}
