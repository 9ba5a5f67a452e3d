package hawk

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
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

	// Nonces cycle through a fixed set; a new store per cycle makes every use
	// fresh, as with real, ever-new nonces. (A store remembers a triple as
	// long as its ts is within the skew, so moving the store's clock instead
	// would only get replays refused.)
	const cycle = 4096
	reqs := make([]Request, cycle)
	for i := range reqs {
		a := Artifacts{Method: "GET", Resource: "/v2/alerts?status=active", Host: "api.threatstack.com", Port: "443",
			TS: "1700000000", Nonce: NewNonce(), Ext: tsOrg}
		reqs[i] = Request{Method: "GET", RequestURI: a.Resource, Host: a.Host, Port: a.Port, Authorization: c.RequestHeader(&a)}
	}
	now := time.Unix(1700000000, 0)
	newStore := func() *MemoryNonceStore {
		store := NewMemoryNonceStore(0)
		store.now = func() time.Time { return now }
		return store
	}
	srv := &Server{
		Credentials: func(_ context.Context, h *Header) (*Credentials, error) { return creds[h.ID], nil },
		Nonces:      newStore(),
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
			srv.Nonces = newStore()
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

// BenchmarkMemoryNonceStoreUse records fresh triples from all cores, as
// clients with synchronized clocks send them: ts is the store's current
// second, and the fake clock moves one second every 16,384 uses, so the store
// holds about a million triples and drops one second's worth each second.
func BenchmarkMemoryNonceStoreUse(b *testing.B) {
	const perSec, seconds = 1 << 14, 1 << 14
	nonces := make([]string, perSec)
	for i := range nonces {
		nonces[i] = NewNonce()
	}
	stamps := make([]string, seconds)
	for i := range stamps {
		stamps[i] = strconv.Itoa(1700000000 + i)
	}
	store := NewMemoryNonceStore(0)
	var ops atomic.Int64
	store.now = func() time.Time { return time.Unix(1700000000+ops.Load()/perSec, 0) }
	ctx := context.Background()

	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := ops.Add(1) - 1
			if i/perSec >= seconds {
				b.Error("ran past the prepared timestamps")
				return
			}
			fresh, err := store.Use(ctx, "5d1fa0e1c2b3a4f5e6d10042", stamps[i/perSec], nonces[i%perSec], 2*DefaultSkew)
			if err != nil || !fresh {
				b.Errorf("Use %d = %v, %v; want fresh", i, fresh, err)
				return
			}
		}
	})
}

// BenchmarkMemoryNonceStoreBytesPerEntry reports the heap a MemoryNonceStore
// holds per triple in steady state at 16,384 requests a second: with
// synchronized client clocks (ts = now), and with client clocks spread over
// the whole ±skew.
func BenchmarkMemoryNonceStoreBytesPerEntry(b *testing.B) {
	const rate, seconds = 1 << 14, 200
	for _, bc := range []struct {
		name   string
		spread int64 // ts = now - spread/2 ... now + spread/2
	}{{"synced clocks", 0}, {"clocks spread over the skew", 118}} {
		b.Run(bc.name, func(b *testing.B) {
			nonces := make([]string, rate)
			for i := range nonces {
				nonces[i] = strconv.Itoa(i)
			}
			ctx := context.Background()
			var perEntry float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				store := NewMemoryNonceStore(0)
				var now time.Time
				store.now = func() time.Time { return now }
				for sec := int64(0); sec < seconds; sec++ {
					id := strconv.FormatInt(sec, 10)
					for i := 0; i < rate; i++ {
						now = time.Unix(1700000000+sec, int64(i)*int64(time.Second)/rate+1)
						ts := 1700000000 + sec
						if bc.spread > 0 {
							ts += int64(i)%(bc.spread+1) - bc.spread/2
						}
						if _, err := store.Use(ctx, id, strconv.FormatInt(ts, 10), nonces[i], 2*DefaultSkew); err != nil {
							b.Fatal(err)
						}
					}
				}
				n := store.Len()
				runtime.GC()
				runtime.ReadMemStats(&after)
				perEntry = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
				runtime.KeepAlive(store)
				b.ReportMetric(float64(n), "entries")
			}
			b.ReportMetric(perEntry, "B/entry")
		})
	}
}
