package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aipsec/aip/hawk"
)

// roundTripFunc lets a test answer requests without a network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// vectorClient is a client pinned to the clock and nonce of the hawk.md
// "TS profile vectors", whose transport records the request and answers
// with status 200, body and the given Server-Authorization.
func vectorClient(t testing.TB, base, body, serverAuth string, got **http.Request, opts ...Option) *Client {
	t.Helper()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		*got = r
		h := http.Header{"Content-Type": {"application/json"}}
		if serverAuth != "" {
			h.Set("Server-Authorization", serverAuth)
		}
		return &http.Response{StatusCode: 200, Status: "200 OK", Header: h, Body: io.NopCloser(bytes.NewReader([]byte(body))), Request: r}, nil
	})
	opts = append([]Option{
		WithHTTPClient(&http.Client{Transport: rt}),
		WithClock(func() time.Time { return time.Unix(1700000000, 0) }),
	}, opts...)
	c, err := New(base, testUserID, testKey, testOrgID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c.newNonce = func() string { return "Xy12Ab" }
	return c
}

func TestRequestVectors(t *testing.T) {
	tests := []struct {
		name, base, method, path string
		body                     any
		wantMAC, wantHash        string
	}{
		{name: "TS1 self-test on default https port", base: "https://api.threatstack.com", method: "GET", path: "/help/hawk/self-test",
			wantMAC: "k/cf0G4tA5XYhOZX7yWSVNxXP2vjbf3TV6bPIdTwwJU="},
		{name: "TS1 with upper-case host", base: "https://API.ThreatStack.com", method: "GET", path: "/help/hawk/self-test",
			wantMAC: "k/cf0G4tA5XYhOZX7yWSVNxXP2vjbf3TV6bPIdTwwJU="},
		{name: "TS2 POST with JSON body", base: "https://api.threatstack.com", method: "POST", path: "/v2/rulesets", body: map[string]string{"name": "x"},
			wantMAC: "wjnrR/WIEfAY9pSGEl4izJy9vj8s+ScqS8vewKVM/s0=", wantHash: "xRrmKVl8ck02tPu9eLSXWU4wttLHk9gq/ULG3w65I9g="},
		{name: "TS4 query kept verbatim", base: "https://api.threatstack.com", method: "GET", path: "/v2/alerts?status=active&from=2017-08-01T00:00:00",
			wantMAC: "7OC2U8DU/SAhgih750fBGPrQrr0EFm+rEsTIuqgsfpU="},
		{name: "TS5 explicit http port", base: "http://127.0.0.1:8080", method: "GET", path: "/v2/agents",
			wantMAC: "VR8296WRgIj+Xhn/DmTrTzD1q6eiN0qczdKAXby3Mt4="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent *http.Request
			c := vectorClient(t, tt.base, `{}`, "", &sent, WithoutResponseVerification())
			req, err := c.NewRequest(context.Background(), tt.method, tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Do(req, nil); err != nil {
				t.Fatalf("Do: %v", err)
			}
			h, err := hawk.ParseHeader(sent.Header.Get("Authorization"))
			if err != nil {
				t.Fatalf("parse Authorization: %v", err)
			}
			want := hawk.Header{ID: testUserID, TS: "1700000000", Nonce: "Xy12Ab", Hash: tt.wantHash, Ext: testOrgID, MAC: tt.wantMAC}
			if h != want {
				t.Errorf("Authorization = %+v\nwant            %+v", h, want)
			}
		})
	}
}

func TestResponseVector(t *testing.T) {
	const ts3 = `Hawk mac="11ubnDDzGvrdHz+rrhuQvUf4umWG8+bqywFfjf3MUxI=", hash="Q59P0F9qwriPU5ugE1Pc8hHecVcG2mRJYN2cGDx3KKw="`
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{name: "accepts TS3 signature of the TS1 answer", body: `{"ok":true}`},
		{name: "rejects TS3 signature on another body", body: `{"ok":false}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent *http.Request
			c := vectorClient(t, "https://api.threatstack.com", tt.body, ts3, &sent)
			_, _, err := c.Help.SelfTest(context.Background())
			if (err != nil) != tt.wantErr {
				t.Errorf("SelfTest error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
