package client

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

const testWebhookID = "5d1c7a3e-8b2f-4e6a-9c0d-1e2f3a4b5c6d"

func TestWebhookServices(t *testing.T) {
	at := aip.Time{Time: time.Date(2026, 11, 23, 12, 0, 0, 123e6, time.UTC)}
	tests := []struct {
		name       string
		answer     string
		call       func(c *Client) (any, error)
		want       any
		wantMethod string
		wantURI    string
		wantBody   string
	}{
		{
			name: "lists webhooks with their last delivery",
			answer: `{"webhooks":[{"id":"` + testWebhookID + `","url":"https://x.example","createdAt":"2026-11-23T12:00:00.123Z",` +
				`"lastDelivery":{"status":503,"at":"2026-11-23T12:00:00.123Z","error":"HTTP 503","state":"pending"}}],"token":null}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Webhooks.List(context.Background())
				return got, err
			},
			want: []*Webhook{{ID: testWebhookID, URL: "https://x.example", CreatedAt: at,
				LastDelivery: &WebhookDelivery{Status: 503, At: at, Error: "HTTP 503", State: "pending"}}},
			wantMethod: http.MethodGet, wantURI: "/v2/integrations/webhooks",
		},
		{
			name:   "creates a webhook",
			answer: `{"id":"` + testWebhookID + `","url":"https://x.example","createdAt":"2026-11-23T12:00:00.123Z","lastDelivery":null}`,
			call: func(c *Client) (any, error) {
				got, _, err := c.Webhooks.Create(context.Background(), &WebhookRequest{URL: "https://x.example", Secret: "0123456789abcdef"})
				return got, err
			},
			want:       &Webhook{ID: testWebhookID, URL: "https://x.example", CreatedAt: at},
			wantMethod: http.MethodPost, wantURI: "/v2/integrations/webhooks",
			wantBody: `{"url":"https://x.example","secret":"0123456789abcdef"}`,
		},
	}
	opt := cmp.Comparer(func(a, b aip.Time) bool { return a.Equal(b.Time) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, ok(tt.answer))
			got, err := tt.call(f.client())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, opt); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			r := f.requests()[0]
			if r.method != tt.wantMethod || r.uri != tt.wantURI {
				t.Errorf("request = %s %s, want %s %s", r.method, r.uri, tt.wantMethod, tt.wantURI)
			}
			if string(r.body) != tt.wantBody {
				t.Errorf("body = %s, want %s", r.body, tt.wantBody)
			}
		})
	}

	t.Run("deletes with 204", func(t *testing.T) {
		f := newFake(t, func(int, *http.Request, []byte) reply { return reply{status: http.StatusNoContent} })
		resp, err := f.client().Webhooks.Delete(context.Background(), testWebhookID)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("Delete = %v, %v; want 204", resp, err)
		}
		if r := f.requests()[0]; r.method != http.MethodDelete || r.uri != "/v2/integrations/webhooks/"+testWebhookID {
			t.Errorf("request = %s %s", r.method, r.uri)
		}
	})
	t.Run("refuses an empty webhook id", func(t *testing.T) {
		f := newFake(t, ok(`{}`))
		if _, err := f.client().Webhooks.Delete(context.Background(), ""); err == nil {
			t.Error("Delete with an empty id succeeded")
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("%d requests sent, want none", n)
		}
	})
}
