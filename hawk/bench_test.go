package hawk

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkAuthenticate is a GET without body: parse, credentials from a
// map, MAC, timestamp and a fresh nonce in a MemoryNonceStore.
func BenchmarkAuthenticate(b *testing.B) {
	creds := make(map[string]*Credentials)
	for i := 0; i < 1000; i++ {
		id := "5d1fa0e1c2b3a4f5e6d" + strconv.Itoa(10000+i)
		creds[id] = &Credentials{ID: id, Key: []byte(tsKey)}
	}
	c := creds["5d1fa0e1c2b3a4f5e6d10042"]

	// Nonces cycle through a fixed set; the store's clock jumps one ttl per
	// cycle so that every use is fresh, as with real, ever-new nonces.
	const cycle = 4096
	reqs := make([]Request, cycle)
	for i := range reqs {
		a := Artifacts{Method: "GET", Resource: "/v2/alerts?status=active", Host: "api.threatstack.com", Port: "443",
			TS: "1700000000", Nonce: NewNonce(), Ext: tsOrg}
		reqs[i] = Request{Method: "GET", RequestURI: a.Resource, Host: a.Host, Port: a.Port, Authorization: c.RequestHeader(&a)}
	}
	store := NewMemoryNonceStore(0)
	storeNow := time.Unix(1700000000, 0)
	store.now = func() time.Time { return storeNow }
	now := time.Unix(1700000000, 0)
	srv := &Server{
		Credentials: func(_ context.Context, h *Header) (*Credentials, error) { return creds[h.ID], nil },
		Nonces:      store,
		Now:         func() time.Time { return now },
	}
	ctx := context.Background()

	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := srv.Authenticate(ctx, &reqs[i]); err != nil {
			b.Fatal(err)
		}
		if i++; i == cycle {
			i = 0
			storeNow = storeNow.Add(2 * DefaultSkew)
		}
	}
}

func BenchmarkParseHeader(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHeader(ts1Mohawk); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMAC(b *testing.B) {
	key := []byte(tsKey)
	a := ts1Art
	b.ReportAllocs()
	for b.Loop() {
		MAC(key, "header", &a)
	}
}
