package openapitest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aipsec/aip/api"
)

// recordingTB stands in for a test so the validator's failures can be
// observed instead of failing the real test.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) messages() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

const (
	serverAuth = `Hawk mac="hrKW+0n5m0Ntr0aNt5mzY1wB8m9n+o4mOTNs+IK9xqo=", hash="8ONUzoGGeYaAi6rb6f9dqc8NasvCfMHwxzl1M3CqZA4="`
	member     = `{"id":"563b7bf374c815ce60e67e50","displayName":"Ada","email":"ada@example.com","lastAuthenticatedAt":1595882489454,"role":"owner","ssoEnabled":false,"mfaEnabled":false,"userEnabled":true}`
	record     = `{"id":"0d72a9fc-e77c-11e9-a1ca-371a929df77a","userEmail":"ada@example.com","userId":"563b7bf374c815ce60e67e50","organizationId":"5537c4284e9684df7e000014","result":"success","crud":"delete","action":"user-revoke","source":"api","description":"x","eventTime":"2020-07-27T20:41:29.454Z","context":{}}`
)

// headers builds a response header with the rate-limit headers every answer
// carries, plus the given name/value pairs.
func headers(contentType string, kv ...string) http.Header {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("X-Rate-Limit-Limit", "200")
	h.Set("X-Rate-Limit-Remaining", "199")
	h.Set("X-Rate-Limit-Reset", "0")
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			h.Del(kv[i])
			continue
		}
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestCheck(t *testing.T) {
	v := New(t)
	const jsonCT = "application/json"
	tests := []struct {
		name   string
		method string
		target string
		status int
		header http.Header
		body   string
		// wantErr is "" when the answer conforms, else a fragment of the
		// expected failure message.
		wantErr string
	}{
		{
			name: "accepts member list", method: "GET", target: "/v2/organizations/members?enabledOnly=true",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth),
			body: `{"members":[` + member + `],"token":null}`,
		},
		{
			name: "accepts request with a full URL on another host", method: "GET", target: "http://127.0.0.1:41234/v2/organizations/members",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth),
			body: `{"members":[],"token":null}`,
		},
		{
			name: "accepts added member", method: "POST", target: "/v2/organizations/members",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth), body: member,
		},
		{
			name: "accepts member removal without body", method: "DELETE", target: "/v2/organizations/members/563b7bf374c815ce60e67e50",
			status: 204, header: headers("", "Server-Authorization", serverAuth),
		},
		{
			name: "accepts last-owner conflict", method: "DELETE", target: "/v2/organizations/members/563b7bf374c815ce60e67e50",
			status: 409, header: headers(jsonCT, "Server-Authorization", serverAuth), body: `{"errors":["cannot remove the last owner"]}`,
		},
		{
			name: "accepts invite by PUT", method: "PUT", target: "/v2/organizations/invites",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth),
			body: `{"sentToEmail":"grace@example.com","role":"reader","status":"pending"}`,
		},
		{
			name: "accepts invite acceptance with new api key", method: "POST", target: "/v2/organizations/invites/accept",
			status: 200, header: headers(jsonCT),
			body: `{"userId":"563b7bf374c815ce60e67e50","organizationId":"5537c4284e9684df7e000014","email":"grace@example.com","role":"user","apiKey":"k3y"}`,
		},
		{
			name: "accepts audit page with a token", method: "GET", target: "/v2/auditlogs?from=2022-09-01&until=2022-09-05",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth),
			body: `{"recs":[` + record + `],"token":"eyJvIjoiNTUzNyJ9"}`,
		},
		{
			name: "accepts last audit page", method: "GET", target: "/v2/auditlogs?token=abc",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth), body: `{"recs":[],"token":null}`,
		},
		{
			name: "accepts hawk failure with challenge", method: "GET", target: "/help/hawk/self-test",
			status: 401, header: headers(jsonCT, "WWW-Authenticate", `Hawk error="Bad mac"`), body: `{"errors":["Bad mac"]}`,
		},
		{
			name: "accepts rate limit with retry-after", method: "GET", target: "/v2/auditlogs",
			status: 429, header: headers(jsonCT, "Retry-After", "12", "X-Rate-Limit-Remaining", "0", "X-Rate-Limit-Reset", "11500"),
			body: `{"errors":["rate limit exceeded"]}`,
		},
		{
			name: "accepts health", method: "GET", target: "/healthz",
			status: 200, header: headers(jsonCT), body: `{"status":"ok"}`,
		},
		{
			name: "accepts the served document", method: "GET", target: "/v2/openapi.yaml",
			status: 200, header: headers("application/yaml"), body: string(api.Spec()),
		},
		{
			name: "accepts the docs page", method: "GET", target: "/docs",
			status: 200, header: headers("text/html; charset=utf-8"), body: "<!DOCTYPE html><title>x</title>",
		},
		{
			name: "accepts a docs script", method: "GET", target: "/docs/redoc.standalone.js",
			status: 200, header: headers("text/javascript; charset=utf-8"), body: "!function(){}();",
		},
		{
			name: "rejects member list without token", method: "GET", target: "/v2/organizations/members",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth),
			body: `{"members":[` + member + `]}`, wantErr: `property "token" is missing`,
		},
		{
			name: "rejects member list with a string token", method: "GET", target: "/v2/organizations/members",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth),
			body: `{"members":[],"token":"abc"}`, wantErr: "/token",
		},
		{
			name: "rejects lastAuthenticatedAt as a string", method: "GET", target: "/v2/organizations/members",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth),
			body:    `{"members":[` + strings.Replace(member, `1595882489454`, `"2020-07-27T20:41:29.454Z"`, 1) + `],"token":null}`,
			wantErr: "/members/0/lastAuthenticatedAt",
		},
		{
			name: "rejects a member with an extra field", method: "POST", target: "/v2/organizations/members",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth),
			body: strings.Replace(member, `"id"`, `"apiKey":"leak","id"`, 1), wantErr: "apiKey",
		},
		{
			name: "rejects an empty audit token", method: "GET", target: "/v2/auditlogs",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth), body: `{"recs":[],"token":""}`,
			wantErr: "/token",
		},
		{
			name: "rejects eventTime without milliseconds", method: "GET", target: "/v2/auditlogs",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth),
			body:    `{"recs":[` + strings.Replace(record, `29.454Z`, `29Z`, 1) + `],"token":null}`,
			wantErr: "/recs/0/eventTime",
		},
		{
			name: "rejects an undocumented status", method: "POST", target: "/v2/organizations/members",
			status: 201, header: headers(jsonCT, "Server-Authorization", serverAuth), body: member,
			wantErr: "status is not supported",
		},
		{
			name: "rejects a path not in the spec", method: "GET", target: "/v2/nope?status=online",
			status: 200, header: headers(jsonCT), body: `{"agents":[],"token":null}`,
			wantErr: "the path is not in the spec",
		},
		{
			name: "rejects a method not in the spec", method: "PATCH", target: "/v2/organizations/members",
			status: 200, header: headers(jsonCT), body: `{}`,
			wantErr: "no PATCH operation",
		},
		{
			name: "rejects a body on 204", method: "DELETE", target: "/v2/organizations/members/563b7bf374c815ce60e67e50",
			status: 204, header: headers(jsonCT, "Server-Authorization", serverAuth), body: `{}`,
			wantErr: "no body for status 204",
		},
		{
			name: "rejects a missing rate-limit header", method: "GET", target: "/help/hawk/self-test",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth, "X-Rate-Limit-Reset", ""), body: `{"authenticated":true}`,
			wantErr: `"X-Rate-Limit-Reset" missing`,
		},
		{
			name: "rejects a non-numeric rate-limit header", method: "GET", target: "/help/hawk/self-test",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth, "X-Rate-Limit-Reset", "soon"), body: `{"authenticated":true}`,
			wantErr: "X-Rate-Limit-Reset",
		},
		{
			name: "rejects a success without Server-Authorization", method: "GET", target: "/help/hawk/self-test",
			status: 200, header: headers(jsonCT), body: `{"authenticated":true}`,
			wantErr: `"Server-Authorization" missing`,
		},
		{
			name: "rejects Server-Authorization with ext", method: "GET", target: "/help/hawk/self-test",
			status: 200, header: headers(jsonCT, "Server-Authorization", serverAuth+`, ext="x"`), body: `{"authenticated":true}`,
			wantErr: "Server-Authorization",
		},
		{
			name: "rejects 401 without challenge", method: "GET", target: "/v2/auditlogs",
			status: 401, header: headers(jsonCT), body: `{"errors":["Bad mac"]}`,
			wantErr: `"WWW-Authenticate" missing`,
		},
		{
			name: "rejects 429 without Retry-After", method: "GET", target: "/v2/organizations/members",
			status: 429, header: headers(jsonCT), body: `{"errors":["rate limit exceeded"]}`,
			wantErr: `"Retry-After" missing`,
		},
		{
			name: "rejects an empty error list", method: "GET", target: "/v2/auditlogs",
			status: 400, header: headers(jsonCT), body: `{"errors":[]}`,
			wantErr: "/errors",
		},
		{
			name: "rejects a non-JSON error", method: "GET", target: "/v2/auditlogs",
			status: 500, header: headers(jsonCT), body: `internal error`,
			wantErr: "failed to decode response body",
		},
		{
			name: "rejects a JSON body sent as text", method: "GET", target: "/healthz",
			status: 200, header: headers("text/plain"), body: `{"status":"ok"}`,
			wantErr: "text/plain",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.target, nil)
			rec := &recordingTB{TB: t}
			v.Check(rec, req, tt.status, tt.header, []byte(tt.body))
			got := rec.messages()
			switch {
			case tt.wantErr == "" && got != "":
				t.Errorf("Check reported a conforming answer:\n%s", got)
			case tt.wantErr != "" && got == "":
				t.Errorf("Check accepted a non-conforming answer; want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(got, tt.wantErr):
				t.Errorf("Check error = %s\nwant it to contain %q", got, tt.wantErr)
			}
		})
	}
}

func TestCheckResponse(t *testing.T) {
	v := New(t)
	tests := []struct {
		name    string
		body    string
		wantErr bool
	}{
		{name: "accepts conforming response", body: `{"status":"ok"}`},
		{name: "rejects wrong body", body: `{"status":"down"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, vs := range headers("application/json") {
					w.Header()[k] = vs
				}
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatalf("GET /healthz: %v", err)
			}
			defer resp.Body.Close()

			rec := &recordingTB{TB: t}
			v.CheckResponse(rec, resp)
			if got := rec.messages() != ""; got != tt.wantErr {
				t.Errorf("CheckResponse failed = %v, want %v; messages: %s", got, tt.wantErr, rec.messages())
			}
			// The caller must still be able to read the body.
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body after CheckResponse: %v", err)
			}
			if string(got) != tt.body {
				t.Errorf("body after CheckResponse = %q, want %q", got, tt.body)
			}
		})
	}
}
