package client

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkSelfTestSigned measures the client's own cost of one call:
// building, signing, verifying the TS3 Server-Authorization and decoding,
// with the network replaced by a canned answer.
func BenchmarkSelfTestSigned(b *testing.B) {
	const ts3 = `Hawk mac="11ubnDDzGvrdHz+rrhuQvUf4umWG8+bqywFfjf3MUxI=", hash="Q59P0F9qwriPU5ugE1Pc8hHecVcG2mRJYN2cGDx3KKw="`
	var sent *http.Request
	c := vectorClient(b, "https://api.threatstack.com", `{"ok":true}`, ts3, &sent)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Help.SelfTest(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMembersAddLoopback measures a signed POST with a JSON body against
// the fake server over loopback, server-side Hawk verification included.
func BenchmarkMembersAddLoopback(b *testing.B) {
	f := newFake(b, ok(`{"id":"aaaaaaaaaaaaaaaaaaaaaaaa","role":"user"}`))
	c := f.client()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Members.Add(ctx, "aaaaaaaaaaaaaaaaaaaaaaaa", "user"); err != nil {
			b.Fatal(err)
		}
	}
}
