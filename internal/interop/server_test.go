// Package interop_test drives the real aipd (app.Main on 127.0.0.1:0) with
// Hawk implementations we did not write: npm hawk@9.0.2, the reference, as
// the Threat Stack node example uses it and as an oracle server
// (node_test.go), and github.com/tent/hawk-go the way the official ts CLI
// signs (tent_test.go). Nothing here reaches beyond loopback, except the
// one-time `npm ci` that installs hawk@9.0.2 into testdata/hawk-node.
package interop_test

import (
	"context"
	"testing"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/keyring"
)

// aipd is one running server and the owner credentials its first start made.
type aipd struct {
	m    *app.Main
	base string // http://127.0.0.1:port
	boot app.Bootstrap
}

// startAIPD boots app.Main on a free loopback port with a fresh data dir and
// stops it when the test ends.
func startAIPD(t *testing.T) *aipd {
	t.Helper()
	m := &app.Main{Config: app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open aipd: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close aipd: %v", err)
		}
	})
	if m.Bootstrap == nil {
		t.Fatal("aipd did not bootstrap its empty data dir")
	}
	return &aipd{m: m, base: "http://" + m.Addr(), boot: *m.Bootstrap}
}

// createUser makes a user with an API key, as `aipd admin user create` does,
// through the same master key file the server uses.
func (s *aipd) createUser(t *testing.T, email string) *aip.User {
	t.Helper()
	kr, _, err := keyring.LoadOrCreate(s.m.Config.MasterKeyPath())
	if err != nil {
		t.Fatalf("load master key: %v", err)
	}
	u, _, err := app.CreateUser(context.Background(), s.m.Store(), kr, email, "Interop "+email)
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// createOrg makes an organization the bootstrap owner is not a member of.
func (s *aipd) createOrg(t *testing.T, name string) string {
	t.Helper()
	o := &aip.Organization{Name: name}
	if err := s.m.Store().CreateOrganization(context.Background(), o); err != nil {
		t.Fatalf("create organization %s: %v", name, err)
	}
	return o.ID
}
