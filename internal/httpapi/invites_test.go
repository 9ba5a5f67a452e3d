package httpapi_test

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/httpapi"
)

// mailToken finds the invite token in the accept instructions of a mail.
var mailToken = regexp.MustCompile(`"token":"([A-Za-z0-9_-]+)"`)

func tokenFromMail(t testing.TB, ml sentMail) string {
	t.Helper()
	m := mailToken.FindStringSubmatch(ml.Body)
	if m == nil {
		t.Fatalf("mail to %s holds no invite token:\n%s", ml.To, ml.Body)
	}
	return m[1]
}

// invite sends an invite as a and returns the token mailed for it.
func (h *harness) invite(t testing.TB, a account, method, email string, role aip.Role) string {
	t.Helper()
	c := h.client(t, a)
	req, err := c.NewRequest(h.ctx(t), method, "v2/organizations/invites", map[string]string{"email": email, "role": string(role)})
	if err != nil {
		t.Fatal(err)
	}
	var got client.Invite
	if _, err := c.Do(req, &got); err != nil {
		t.Fatalf("%s invite: %v", method, err)
	}
	if want := (client.Invite{SentToEmail: email, Role: role, Status: "pending"}); got != want {
		t.Errorf("%s invite answered %+v, want %+v", method, got, want)
	}
	ml := h.mailer.next(t)
	if ml.To != email {
		t.Errorf("mail sent to %q, want %q", ml.To, email)
	}
	return tokenFromMail(t, ml)
}

func TestInvites(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	user := h.newAccount(t, org, "user@acme.example", aip.RoleUser)
	reader := h.newAccount(t, org, "reader@acme.example", aip.RoleReader)
	otherOrg := h.newOrg(t, "other")
	existing := h.newAccount(t, otherOrg, "existing@other.example", aip.RoleOwner)

	for _, method := range []string{http.MethodPut, http.MethodPost} {
		t.Run("invites a new user with "+method, func(t *testing.T) {
			email := strings.ToLower(method) + "-new@acme.example"
			token := h.invite(t, owner, method, email, aip.RoleUser)

			acc, resp, err := h.client(t, owner).Invites.Accept(h.ctx(t), token, "New Person")
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store on an answer holding an API key", resp.Header.Get("Cache-Control"))
			}
			if !aip.IsID24(acc.UserID) || acc.APIKey == "" {
				t.Fatalf("acceptance %+v: want a user id and an API key", acc)
			}
			want := client.InviteAcceptance{UserID: acc.UserID, OrganizationID: org, Email: email, Role: aip.RoleUser, APIKey: acc.APIKey}
			if diff := cmp.Diff(want, *acc); diff != "" {
				t.Errorf("acceptance (-want +got):\n%s", diff)
			}

			newcomer := account{OrgID: org, UserID: acc.UserID, APIKey: acc.APIKey, Email: email}
			if ok, _, err := h.client(t, newcomer).Help.SelfTest(h.ctx(t)); err != nil || !ok {
				t.Errorf("self-test with the new API key = %v, %v; want true", ok, err)
			}
			m, err := h.store.FindMember(h.ctx(t), org, acc.UserID)
			if err != nil || m.Role != aip.RoleUser || m.DisplayName != "New Person" {
				t.Errorf("membership = %+v, %v; want role user, display name New Person", m, err)
			}

			_, _, err = h.client(t, owner).Invites.Accept(h.ctx(t), token, "")
			if got := statusOf(err); got != http.StatusNotFound {
				t.Errorf("second Accept: status %d (%v), want 404", got, err)
			}
		})
	}

	t.Run("makes an existing user a member without a new key", func(t *testing.T) {
		token := h.invite(t, user, http.MethodPut, existing.Email, aip.RoleReader)
		acc, _, err := h.client(t, owner).Invites.Accept(h.ctx(t), token, "")
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		want := client.InviteAcceptance{UserID: existing.UserID, OrganizationID: org, Email: existing.Email, Role: aip.RoleReader}
		if diff := cmp.Diff(want, *acc); diff != "" {
			t.Errorf("acceptance (-want +got):\n%s", diff)
		}
		inOrg := existing
		inOrg.OrgID = org
		if ok, _, err := h.client(t, inOrg).Help.SelfTest(h.ctx(t)); err != nil || !ok {
			t.Errorf("self-test of the existing user in the new organization = %v, %v", ok, err)
		}
	})

	rejected := []struct {
		name    string
		as      account
		body    string
		status  int
		wantMsg string
	}{
		{name: "forbids a user inviting an owner", as: user, body: `{"email":"boss@acme.example","role":"owner"}`,
			status: http.StatusForbidden, wantMsg: "The user is not allowed to perform this action: role user cannot grant role owner."},
		{name: "forbids a reader inviting", as: reader, body: `{"email":"x@acme.example","role":"reader"}`,
			status: http.StatusForbidden, wantMsg: "The user is not allowed to perform this action (role reader is read-only)."},
		{name: "rejects a malformed email", as: owner, body: `{"email":"not an email","role":"user"}`,
			status: http.StatusBadRequest, wantMsg: `"email" must be a plain email address.`},
		{name: "rejects an email with a name", as: owner, body: `{"email":"Ada <ada@acme.example>","role":"user"}`,
			status: http.StatusBadRequest, wantMsg: `"email" must be a plain email address.`},
		{name: "rejects an empty email", as: owner, body: `{"email":"","role":"user"}`,
			status: http.StatusBadRequest, wantMsg: `"email" must be a plain email address.`},
		{name: "rejects an unknown role", as: owner, body: `{"email":"x@acme.example","role":"root"}`,
			status: http.StatusBadRequest, wantMsg: `"role" must be one of owner, user, reader.`},
		{name: "rejects unknown fields", as: owner, body: `{"email":"x@acme.example","role":"user","org":"x"}`,
			status: http.StatusBadRequest, wantMsg: `Invalid JSON body: unknown field "org".`},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			r, art := h.signedDo(t, tc.as, http.MethodPut, "/v2/organizations/invites", []byte(tc.body))
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if diff := cmp.Diff([]string{tc.wantMsg}, errorsOf(t, r)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			verifySigned(t, tc.as, art, r)
		})
	}

	acceptRejected := []struct {
		name    string
		body    string
		status  int
		wantMsg string
	}{
		{name: "does not find an unknown token", body: `{"token":"bm90LWEtdG9rZW4"}`, status: http.StatusNotFound,
			wantMsg: "The invite was not found or was already used."},
		{name: "requires a token", body: `{"displayName":"x"}`, status: http.StatusBadRequest, wantMsg: `"token" is required.`},
		{name: "rejects unknown fields", body: `{"token":"x","apiKey":"mine"}`, status: http.StatusBadRequest,
			wantMsg: `Invalid JSON body: unknown field "apiKey".`},
		{name: "rejects an empty body", body: ``, status: http.StatusBadRequest, wantMsg: "A JSON request body is required."},
		{name: "rejects a long display name", body: `{"token":"x","displayName":"` + strings.Repeat("n", 201) + `"}`,
			status: http.StatusBadRequest, wantMsg: `"displayName" must be at most 200 characters.`},
	}
	for _, tc := range acceptRejected {
		t.Run("accept "+tc.name, func(t *testing.T) {
			req := h.rawRequest(h.ctx(t), t, http.MethodPost, "/v2/organizations/invites/accept", []byte(tc.body))
			req.Header.Set("Content-Type", "application/json")
			r := h.do(t, req)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if diff := cmp.Diff([]string{tc.wantMsg}, errorsOf(t, r)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInviteExpires(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)

	early := h.invite(t, owner, http.MethodPut, "early@acme.example", aip.RoleUser)
	late := h.invite(t, owner, http.MethodPut, "late@acme.example", aip.RoleUser)

	h.clock.Advance(7*24*time.Hour - time.Millisecond)
	t.Run("accepts just before expiry", func(t *testing.T) {
		if _, _, err := h.client(t, owner).Invites.Accept(h.ctx(t), early, ""); err != nil {
			t.Errorf("Accept: %v", err)
		}
	})
	h.clock.Advance(time.Millisecond)
	t.Run("rejects an expired invite", func(t *testing.T) {
		_, _, err := h.client(t, owner).Invites.Accept(h.ctx(t), late, "")
		var er *client.ErrorResponse
		if statusOf(err) != http.StatusBadRequest || !errors.As(err, &er) ||
			!cmp.Equal(er.Errors, []string{"The invite has expired; ask for a new one."}) {
			t.Errorf("Accept of an expired invite: %v, want 400 The invite has expired", err)
		}
		if _, err := h.store.FindUserByEmail(h.ctx(t), "late@acme.example"); aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Errorf("user of the expired invite: %v, want none", err)
		}
	})
}

func TestInviteWithoutMailer(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) { c.Mailer = nil })
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)

	inv, _, err := h.client(t, owner).Invites.Send(h.ctx(t), "grace@acme.example", aip.RoleReader)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if inv.Status != "pending" {
		t.Errorf("status = %q, want pending", inv.Status)
	}
	logged := h.logs.find("invite created; no SMTP server configured, pass the accept instructions on")
	if len(logged) != 1 {
		t.Fatalf("logged %d invite records, want 1: %+v", len(logged), h.logs.records())
	}
	rec := logged[0]
	wantAttrs := map[string]string{"org_id": org, "email": "grace@acme.example", "accept_url": h.ts.URL + "/v2/organizations/invites/accept"}
	for k, v := range wantAttrs {
		if rec.Attrs[k] != v {
			t.Errorf("log attr %s = %q, want %q", k, rec.Attrs[k], v)
		}
	}
	token := rec.Attrs["invite_token"]
	if token == "" {
		t.Fatalf("the invite token was not logged: %+v", rec.Attrs)
	}

	acc, _, err := h.client(t, owner).Invites.Accept(h.ctx(t), token, "")
	if err != nil {
		t.Fatalf("Accept with the logged token: %v", err)
	}
	if acc.APIKey == "" || acc.Role != aip.RoleReader {
		t.Fatalf("acceptance %v: want a new reader with an API key", acc)
	}
	t.Run("never logs the API key", func(t *testing.T) {
		for _, r := range h.logs.records() {
			for k, v := range r.Attrs {
				if strings.Contains(v, acc.APIKey) {
					t.Errorf("log %q attribute %s holds the API key", r.Message, k)
				}
			}
		}
	})
}

func TestInviteAcceptedOnceUnderConcurrency(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	token := h.invite(t, owner, http.MethodPut, "race@acme.example", aip.RoleUser)

	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, resp, err := h.client(t, owner).Invites.Accept(h.ctx(t), token, "")
			switch {
			case err == nil:
				statuses[i] = resp.StatusCode
			default:
				statuses[i] = statusOf(err)
			}
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if diff := cmp.Diff(map[int]int{http.StatusOK: 1, http.StatusNotFound: n - 1}, count); diff != "" {
		t.Errorf("answers to %d concurrent accepts (-want +got):\n%s", n, diff)
	}
}
