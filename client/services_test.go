package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func TestHelpSelfTest(t *testing.T) {
	tests := []struct {
		name, body string
		want       bool
	}{
		{name: "reports authenticated", body: `{"authenticated":true}`, want: true},
		{name: "reports not authenticated", body: `{"authenticated":false}`, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, ok(tt.body))
			got, _, err := f.client().Help.SelfTest(context.Background())
			if err != nil {
				t.Fatalf("SelfTest: %v", err)
			}
			if got != tt.want {
				t.Errorf("SelfTest = %v, want %v", got, tt.want)
			}
			if r := f.requests()[0]; r.method != http.MethodGet || r.uri != "/help/hawk/self-test" {
				t.Errorf("request = %s %s, want GET /help/hawk/self-test", r.method, r.uri)
			}
		})
	}
}

func TestMembersList(t *testing.T) {
	const body = `{"members":[{"id":"5d1fa0e1c2b3a4f5e6d7c8b9","displayName":"Ada","email":"ada@example.com",` +
		`"lastAuthenticatedAt":1700000000123,"role":"owner","ssoEnabled":false,"mfaEnabled":true,"userEnabled":true},` +
		`{"id":"aaaaaaaaaaaaaaaaaaaaaaaa","displayName":"Bob","email":"bob@example.com","lastAuthenticatedAt":0,` +
		`"role":"reader","ssoEnabled":true,"mfaEnabled":false,"userEnabled":false}],"token":null}`
	want := []*aip.Member{
		{ID: testUserID, DisplayName: "Ada", Email: "ada@example.com", LastAuthenticatedAt: 1700000000123, Role: aip.RoleOwner, MFAEnabled: true, UserEnabled: true},
		{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", DisplayName: "Bob", Email: "bob@example.com", Role: aip.RoleReader, SSOEnabled: true},
	}
	tests := []struct {
		name    string
		opts    *MemberListOptions
		wantURI string
	}{
		{name: "lists all members", opts: nil, wantURI: "/v2/organizations/members"},
		{name: "lists enabled members only", opts: &MemberListOptions{EnabledOnly: true}, wantURI: "/v2/organizations/members?enabledOnly=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, ok(body))
			got, resp, err := f.client().Members.List(context.Background(), tt.opts)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
			if resp.NextToken != "" {
				t.Errorf("NextToken = %q, want empty", resp.NextToken)
			}
			if uri := f.requests()[0].uri; uri != tt.wantURI {
				t.Errorf("request URI = %q, want %q", uri, tt.wantURI)
			}
		})
	}
}

func TestMembersAdd(t *testing.T) {
	f := newFake(t, ok(`{"id":"aaaaaaaaaaaaaaaaaaaaaaaa","displayName":"Bob","email":"bob@example.com",`+
		`"lastAuthenticatedAt":1600000000000,"role":"user","ssoEnabled":false,"mfaEnabled":false,"userEnabled":true}`))
	got, _, err := f.client().Members.Add(context.Background(), "aaaaaaaaaaaaaaaaaaaaaaaa", aip.RoleUser)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	want := &aip.Member{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", DisplayName: "Bob", Email: "bob@example.com",
		LastAuthenticatedAt: 1600000000000, Role: aip.RoleUser, UserEnabled: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("member (-want +got):\n%s", diff)
	}
	r := f.requests()[0]
	gotReq := []string{r.method, r.uri, r.contentType, string(r.body)}
	wantReq := []string{"POST", "/v2/organizations/members", "application/json", `{"id":"aaaaaaaaaaaaaaaaaaaaaaaa","role":"user"}`}
	if diff := cmp.Diff(wantReq, gotReq); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if r.header.Hash == "" {
		t.Error("POST with body was sent without payload hash")
	}
}

func TestMembersRemove(t *testing.T) {
	t.Run("sends DELETE and accepts 204", func(t *testing.T) {
		f := newFake(t, func(int, *http.Request, []byte) reply { return reply{status: http.StatusNoContent} })
		resp, err := f.client().Members.Remove(context.Background(), "aaaaaaaaaaaaaaaaaaaaaaaa")
		if err != nil {
			t.Fatalf("Remove: %v", err)
		}
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("status = %d, want 204", resp.StatusCode)
		}
		if r := f.requests()[0]; r.method != http.MethodDelete || r.uri != "/v2/organizations/members/aaaaaaaaaaaaaaaaaaaaaaaa" {
			t.Errorf("request = %s %s", r.method, r.uri)
		}
	})
	t.Run("escapes the user id", func(t *testing.T) {
		f := newFake(t, func(int, *http.Request, []byte) reply { return reply{status: http.StatusNoContent} })
		if _, err := f.client().Members.Remove(context.Background(), "a/b?c"); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		if uri := f.requests()[0].uri; uri != "/v2/organizations/members/a%2Fb%3Fc" {
			t.Errorf("request URI = %q", uri)
		}
	})
	t.Run("rejects empty user id", func(t *testing.T) {
		f := newFake(t, ok(""))
		if _, err := f.client().Members.Remove(context.Background(), ""); err == nil {
			t.Fatal("Remove(\"\") = nil error")
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("server saw %d requests, want 0", n)
		}
	})
	t.Run("reports 404", func(t *testing.T) {
		f := newFake(t, func(int, *http.Request, []byte) reply {
			return reply{status: 404, body: `{"errors":["The resource was not found"]}`}
		})
		_, err := f.client().Members.Remove(context.Background(), "aaaaaaaaaaaaaaaaaaaaaaaa")
		var er *ErrorResponse
		if !errors.As(err, &er) || er.StatusCode() != 404 {
			t.Fatalf("error = %v, want 404 *ErrorResponse", err)
		}
	})
}

func TestInvitesSend(t *testing.T) {
	f := newFake(t, ok(`{"sentToEmail":"new@example.com","role":"reader","status":"pending"}`))
	got, _, err := f.client().Invites.Send(context.Background(), "new@example.com", aip.RoleReader)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff(&Invite{SentToEmail: "new@example.com", Role: aip.RoleReader, Status: "pending"}, got); diff != "" {
		t.Errorf("invite (-want +got):\n%s", diff)
	}
	r := f.requests()[0]
	gotReq := []string{r.method, r.uri, string(r.body)}
	wantReq := []string{"PUT", "/v2/organizations/invites", `{"email":"new@example.com","role":"reader"}`}
	if diff := cmp.Diff(wantReq, gotReq); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

func TestInvitesAccept(t *testing.T) {
	const apiKey = "freshly-minted-api-key-0123456789"
	body := fmt.Sprintf(`{"userId":"bbbbbbbbbbbbbbbbbbbbbbbb","organizationId":"%s","email":"new@example.com","role":"user","apiKey":"%s"}`, testOrgID, apiKey)
	// Unsigned requests get unsigned answers: the fake only signs what it
	// authenticated, so a successful Accept also proves no verification ran.
	f := newFake(t, ok(body))
	got, _, err := f.client().Invites.Accept(context.Background(), "invite-token", "New User")
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	want := &InviteAcceptance{UserID: "bbbbbbbbbbbbbbbbbbbbbbbb", OrganizationID: testOrgID, Email: "new@example.com", Role: aip.RoleUser, APIKey: apiKey}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("acceptance (-want +got):\n%s", diff)
	}
	r := f.requests()[0]
	if r.signed {
		t.Errorf("Accept sent Authorization %q, want none", r.authorization)
	}
	gotReq := []string{r.method, r.uri, r.contentType, string(r.body)}
	wantReq := []string{"POST", "/v2/organizations/invites/accept", "application/json", `{"token":"invite-token","displayName":"New User"}`}
	if diff := cmp.Diff(wantReq, gotReq); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}

	t.Run("never prints the API key", func(t *testing.T) {
		var printed []string
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			printed = append(printed, fmt.Sprintf(format, got), fmt.Sprintf(format, *got), fmt.Sprintf(format, []*InviteAcceptance{got}))
		}
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("accepted", "acceptance", got)
		slog.New(slog.NewTextHandler(&logs, nil)).Info("accepted", "acceptance", *got)
		printed = append(printed, logs.String())
		for _, p := range printed {
			if strings.Contains(p, apiKey) {
				t.Errorf("printed %q contains the API key", p)
			}
		}
		if !strings.Contains(fmt.Sprintf("%+v", got), "REDACTED") || !strings.Contains(fmt.Sprint(got), "new@example.com") {
			t.Errorf("%%+v = %+v, want the fields with the key REDACTED", got)
		}
	})
	t.Run("keeps the API key in JSON", func(t *testing.T) {
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), apiKey) {
			t.Errorf("json = %s, want the API key kept", b)
		}
	})
}

func TestAuditLogsListQuery(t *testing.T) {
	tests := []struct {
		name    string
		opts    *AuditLogListOptions
		wantURI string
	}{
		{name: "sends no query without options", opts: nil, wantURI: "/v2/auditlogs"},
		{name: "sends no query for empty options", opts: &AuditLogListOptions{}, wantURI: "/v2/auditlogs"},
		{
			name:    "sends every filter",
			opts:    &AuditLogListOptions{From: "2018-11-01", Until: "2018-11-05T10:30", Operation: "delete", UserEmail: "a+b@example.com", UserID: testUserID, Token: "abc_-"},
			wantURI: "/v2/auditlogs?from=2018-11-01&operation=delete&token=abc_-&until=2018-11-05T10%3A30&userEmail=a%2Bb%40example.com&userId=" + testUserID,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, ok(`{"recs":[],"token":null}`))
			if _, _, err := f.client().AuditLogs.List(context.Background(), tt.opts); err != nil {
				t.Fatalf("List: %v", err)
			}
			if uri := f.requests()[0].uri; uri != tt.wantURI {
				t.Errorf("request URI = %q, want %q", uri, tt.wantURI)
			}
		})
	}
}

func TestAuditLogsListDecodes(t *testing.T) {
	f := newFake(t, ok(`{"recs":[{"id":"r1","userEmail":"ada@example.com","userId":"`+testUserID+`","organizationId":"`+testOrgID+
		`","result":"success","crud":"delete","action":"delete-member","source":"api","description":"x: DELETE : /v2/organizations/members/y",`+
		`"eventTime":"2020-07-27T20:41:29.454Z","context":{"status":204}}],"token":"next_page"}`))
	got, resp, err := f.client().AuditLogs.List(context.Background(), nil)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := []*aip.AuditRecord{{
		ID: "r1", UserEmail: "ada@example.com", UserID: testUserID, OrganizationID: testOrgID, Result: "success", CRUD: "delete",
		Action: "delete-member", Source: "api", Description: "x: DELETE : /v2/organizations/members/y",
		EventTime: aip.Time{Time: time.Date(2020, 7, 27, 20, 41, 29, 454e6, time.UTC)}, Context: json.RawMessage(`{"status":204}`),
	}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b aip.Time) bool { return a.Equal(b.Time) })); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if resp.NextToken != "next_page" {
		t.Errorf("NextToken = %q, want next_page", resp.NextToken)
	}
}

// pagedAuditLogs serves pages of records named "p<page>-<i>"; tokens names
// the token ending each page, as raw JSON ("null", `""`, `"t1"`), or "" to
// leave the key out.
func pagedAuditLogs(tokens []string) func(int, *http.Request, []byte) reply {
	return func(_ int, r *http.Request, _ []byte) reply {
		page := 0
		if tok := r.URL.Query().Get("token"); tok != "" {
			if _, err := fmt.Sscanf(tok, "t%d", &page); err != nil || page >= len(tokens) {
				return reply{status: 400, body: `{"errors":["bad token"]}`}
			}
		}
		recs := fmt.Sprintf(`"recs":[{"id":"p%d-0"},{"id":"p%d-1"}]`, page, page)
		if tokens[page] == "" {
			return reply{body: "{" + recs + "}"}
		}
		return reply{body: "{" + recs + `,"token":` + tokens[page] + "}"}
	}
}

func TestAuditLogsAll(t *testing.T) {
	tests := []struct {
		name     string
		tokens   []string
		want     []string
		wantURIs []string
		wantErr  bool
	}{
		{
			name:   "pages until token is null",
			tokens: []string{`"t1"`, `"t2"`, `null`},
			want:   []string{"p0-0", "p0-1", "p1-0", "p1-1", "p2-0", "p2-1"},
			wantURIs: []string{
				"/v2/auditlogs?from=2018-11-01&operation=delete",
				"/v2/auditlogs?token=t1",
				"/v2/auditlogs?token=t2",
			},
		},
		{
			name:     "treats empty token as the end",
			tokens:   []string{`"t1"`, `""`, `"t9"`},
			want:     []string{"p0-0", "p0-1", "p1-0", "p1-1"},
			wantURIs: []string{"/v2/auditlogs?from=2018-11-01&operation=delete", "/v2/auditlogs?token=t1"},
		},
		{
			name:     "treats missing token as the end",
			tokens:   []string{`"t1"`, ""},
			want:     []string{"p0-0", "p0-1", "p1-0", "p1-1"},
			wantURIs: []string{"/v2/auditlogs?from=2018-11-01&operation=delete", "/v2/auditlogs?token=t1"},
		},
		{
			name:     "stops on a repeated token",
			tokens:   []string{`"t1"`, `"t1"`},
			want:     []string{"p0-0", "p0-1", "p1-0", "p1-1"},
			wantURIs: []string{"/v2/auditlogs?from=2018-11-01&operation=delete", "/v2/auditlogs?token=t1"},
			wantErr:  true,
		},
		{
			name:     "yields a server error last",
			tokens:   []string{`"t5"`},
			want:     []string{"p0-0", "p0-1"},
			wantURIs: []string{"/v2/auditlogs?from=2018-11-01&operation=delete", "/v2/auditlogs?token=t5"},
			wantErr:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, pagedAuditLogs(tt.tokens))
			var got []string
			var gotErr error
			for rec, err := range f.client().AuditLogs.All(context.Background(), &AuditLogListOptions{From: "2018-11-01", Operation: "delete"}) {
				if err != nil {
					if gotErr != nil {
						t.Fatalf("second error %v after %v", err, gotErr)
					}
					gotErr = err
					continue
				}
				if gotErr != nil {
					t.Fatalf("record %s after error %v", rec.ID, gotErr)
				}
				got = append(got, rec.ID)
			}
			if (gotErr != nil) != tt.wantErr {
				t.Errorf("error = %v, want error %v", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			var uris []string
			for _, r := range f.requests() {
				uris = append(uris, r.uri)
			}
			if diff := cmp.Diff(tt.wantURIs, uris); diff != "" {
				t.Errorf("request URIs (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("stops fetching when the loop breaks", func(t *testing.T) {
		f := newFake(t, pagedAuditLogs([]string{`"t1"`, `"t2"`, `null`}))
		for rec, err := range f.client().AuditLogs.All(context.Background(), nil) {
			if err != nil {
				t.Fatal(err)
			}
			if rec.ID == "p1-0" {
				break
			}
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("server saw %d requests, want 2", n)
		}
	})
}

func TestTimeParams(t *testing.T) {
	tm := time.Date(2022, 9, 5, 23, 30, 1, 123456789, time.FixedZone("x", 2*3600))
	got := []string{TimeParam(tm), DateParam(tm)}
	want := []string{"2022-09-05T21:30:01.123Z", "2022-09-05"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
}
