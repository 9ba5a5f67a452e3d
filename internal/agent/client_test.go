package agent

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip/hawk"
)

func TestClientVerifiesAnswers(t *testing.T) {
	tests := []struct {
		name    string
		header  http.Header
		wantErr string
	}{
		{"accepts a signed answer", nil, ""},
		{"rejects a tampered signature", http.Header{"Server-Authorization": {`Hawk mac="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", hash="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="`}}, "not authentic"},
		{"rejects a missing signature", http.Header{"Server-Authorization": {"-"}}, "without Server-Authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSignedServer(t, nil, func(*http.Request, []byte) reply {
				return reply{status: http.StatusOK, header: tt.header, body: []byte(`{}`)}
			})
			err := testClient(t, srv.URL).Heartbeat(context.Background(), testHost())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Heartbeat: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Heartbeat = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
	t.Run("rejects a body changed after signing", func(t *testing.T) {
		srv := newSignedServer(t, nil, func(r *http.Request, _ []byte) reply {
			// The signature of one body with another one sent.
			return reply{status: http.StatusAccepted, body: []byte(`{"accepted":1}`)}
		})
		// Sign {"accepted":1} but send a different body: wrap by a
		// handler that rewrites the body after the signature is made.
		inner := srv.Config.Handler
		srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(&rewriter{ResponseWriter: w, from: "1", to: "9"}, r)
		})
		_, err := testClient(t, srv.URL).SendEvents(context.Background(), []byte(`[]`), "application/json")
		if err == nil || !strings.Contains(err.Error(), "not authentic") {
			t.Errorf("SendEvents = %v, want not authentic", err)
		}
	})
}

// rewriter replaces from with to in the body written through it.
type rewriter struct {
	http.ResponseWriter
	from, to string
}

func (w *rewriter) Write(b []byte) (int, error) {
	return w.ResponseWriter.Write([]byte(strings.ReplaceAll(string(b), w.from, w.to)))
}

func TestClientRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		want       time.Duration
		temporary  bool
	}{
		{"429 with Retry-After is temporary", http.StatusTooManyRequests, "7", 7 * time.Second, true},
		{"503 with Retry-After is temporary", http.StatusServiceUnavailable, "2", 2 * time.Second, true},
		{"500 without Retry-After is temporary", http.StatusInternalServerError, "", 0, true},
		{"400 is not temporary", http.StatusBadRequest, "", 0, false},
		{"garbage Retry-After is ignored", http.StatusTooManyRequests, "soon", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSignedServer(t, nil, func(*http.Request, []byte) reply {
				h := http.Header{"Server-Authorization": {"-"}}
				if tt.retryAfter != "" {
					h.Set("Retry-After", tt.retryAfter)
				}
				return reply{status: tt.status, header: h, body: []byte(`{"errors":["busy"]}`)}
			})
			_, err := testClient(t, srv.URL).SendEvents(context.Background(), []byte(`[]`), "application/json")
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("SendEvents = %v, want *StatusError", err)
			}
			if se.Status != tt.status || se.RetryAfter != tt.want || se.Temporary() != tt.temporary {
				t.Errorf("got status %d retryAfter %v temporary %v; want %d %v %v",
					se.Status, se.RetryAfter, se.Temporary(), tt.status, tt.want, tt.temporary)
			}
			if !strings.Contains(se.Error(), "busy") {
				t.Errorf("error %q does not carry the server's message", se.Error())
			}
		})
	}
}

func TestClientAdoptsServerClock(t *testing.T) {
	ahead := func() time.Time { return time.Now().Add(10 * time.Minute) }

	t.Run("retries once with the server's clock", func(t *testing.T) {
		srv := newSignedServer(t, ahead, func(*http.Request, []byte) reply {
			return reply{status: http.StatusOK, body: []byte(`{}`)}
		})
		c := testClient(t, srv.URL)
		if err := c.Heartbeat(context.Background(), testHost()); err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		if got := srv.count(); got != 2 {
			t.Errorf("%d requests, want 2 (stale, then retried)", got)
		}
		// The offset is kept: the next request is right the first time.
		if err := c.Heartbeat(context.Background(), testHost()); err != nil {
			t.Fatalf("second Heartbeat: %v", err)
		}
		if got := srv.count(); got != 3 {
			t.Errorf("%d requests after the second heartbeat, want 3", got)
		}
		// A client derived from it keeps the learnt clock too.
		if err := c.WithCredentials("agent-1", testKey).Heartbeat(context.Background(), testHost()); err != nil {
			t.Fatalf("derived client Heartbeat: %v", err)
		}
		if got := srv.count(); got != 4 {
			t.Errorf("%d requests after the derived client's heartbeat, want 4", got)
		}
	})

	forged := []struct {
		name string
		www  func() string
	}{
		{"does not retry on a forged tsm", func() string {
			ts := strconv.FormatInt(ahead().Unix(), 10)
			return `Hawk ts="` + ts + `", tsm="` + hawk.TimestampMAC([]byte("other key"), ahead().Unix()) + `", error="Stale timestamp"`
		}},
		{"does not retry without ts", func() string { return `Hawk error="Bad mac"` }},
	}
	for _, tt := range forged {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSignedServer(t, nil, nil)
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				srv.mu.Lock()
				srv.requests = append(srv.requests, r)
				srv.mu.Unlock()
				w.Header().Set("WWW-Authenticate", tt.www())
				http.Error(w, "Stale timestamp", http.StatusUnauthorized)
			})
			err := testClient(t, srv.URL).Heartbeat(context.Background(), testHost())
			var se *StatusError
			if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
				t.Fatalf("Heartbeat = %v, want *StatusError 401", err)
			}
			if got := srv.count(); got != 1 {
				t.Errorf("%d requests, want 1 (no retry)", got)
			}
		})
	}
}

func TestClientSignsResourceWithLeadingSlash(t *testing.T) {
	tests := []struct {
		name, prefix, wantPath string
	}{
		{"server URL without path", "", "/agent/v1/heartbeat"},
		{"server URL with a path prefix", "/aip", "/aip/agent/v1/heartbeat"},
		{"server URL with a trailing slash", "/", "/agent/v1/heartbeat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSignedServer(t, nil, func(*http.Request, []byte) reply {
				return reply{status: http.StatusOK, body: []byte(`{}`)}
			})
			// The hawk.Server in newSignedServer verifies the MAC over
			// the request-target as received: success proves it.
			if err := testClient(t, srv.URL+tt.prefix).Heartbeat(context.Background(), testHost()); err != nil {
				t.Fatalf("Heartbeat: %v", err)
			}
			srv.mu.Lock()
			got := srv.requests[0].URL.Path
			srv.mu.Unlock()
			if got != tt.wantPath {
				t.Errorf("path %q, want %q", got, tt.wantPath)
			}
		})
	}
}

func TestNewClientRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "ftp://host", "http://", "not a url", "host:8080"} {
		if _, err := NewClient(u, nil); err == nil {
			t.Errorf("NewClient(%q) succeeded, want an error", u)
		}
	}
}
