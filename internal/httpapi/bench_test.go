package httpapi_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/httpapi"
	"github.com/aipsec/aip/internal/ratelimit"
)

// BenchmarkSelfTestHandler runs signed GET /help/hawk/self-test through the
// whole pipeline in process (request id, IP limit, Hawk with the replay
// cache, membership lookup in SQLite, org limit, audit record, response
// signing), next to a bare handler writing the same bytes.
func BenchmarkSelfTestHandler(b *testing.B) {
	h := newHarness(b, func(c *httpapi.Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.OrgLimit = ratelimit.PerMinute(1 << 30)
		c.IPLimit = ratelimit.PerMinute(1 << 30)
		// Every round signs fresh nonces; keep them all.
		c.Nonces = hawk.NewMemoryNonceStore(1 << 24)
	})
	org := h.newOrg(b, "acme")
	owner := h.newAccount(b, org, "owner@acme.example", aip.RoleOwner)
	creds := hawk.Credentials{ID: owner.UserID, Key: []byte(owner.APIKey)}
	ts := strconv.FormatInt(h.clock.Now().Unix(), 10)
	want := []byte(`{"authenticated":true}`)

	// requests builds n signed requests up front, so that the timed loop
	// measures the server, not the client.
	requests := func(n int, signed bool) []*http.Request {
		reqs := make([]*http.Request, n)
		for i := range reqs {
			r := httptest.NewRequest(http.MethodGet, "http://api.example.com"+selfTestPath, nil)
			if signed {
				art := &hawk.Artifacts{Method: http.MethodGet, Resource: selfTestPath, Host: "api.example.com", Port: "80", TS: ts, Ext: org}
				r.Header.Set("Authorization", creds.RequestHeader(art))
			}
			reqs[i] = r
		}
		return reqs
	}
	run := func(b *testing.B, handler http.Handler, signed bool) {
		reqs := requests(b.N, signed)
		b.ReportAllocs()
		b.ResetTimer()
		var last *httptest.ResponseRecorder
		for i := 0; i < b.N; i++ {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, reqs[i])
			if rec.Code != http.StatusOK {
				b.Fatalf("request %d: status %d: %s", i, rec.Code, rec.Body)
			}
			last = rec
		}
		b.StopTimer()
		if !bytes.Equal(last.Body.Bytes(), want) {
			b.Fatalf("body %q, want %q", last.Body, want)
		}
	}

	b.Run("signed pipeline", func(b *testing.B) { run(b, h.srv, true) })
	b.Run("bare handler", func(b *testing.B) {
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(want)
		}), false)
	})
}
