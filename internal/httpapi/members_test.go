package httpapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

// statusOf returns the HTTP status of a client error (0 for nil, -1 for an
// error without a response).
func statusOf(err error) int {
	if err == nil {
		return 0
	}
	var er *client.ErrorResponse
	if errors.As(err, &er) {
		return er.StatusCode()
	}
	return -1
}

// member is the wire member a test expects for a user created by newUser.
func member(a account, role aip.Role, enabled bool, lastAuthMs int64) *aip.Member {
	return &aip.Member{
		ID: a.UserID, DisplayName: "User " + a.Email, Email: a.Email, Role: role,
		UserEnabled: enabled, LastAuthenticatedAt: lastAuthMs,
	}
}

func TestListMembers(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "a-owner@acme.example", aip.RoleOwner)
	user := h.newAccount(t, org, "b-user@acme.example", aip.RoleUser)
	reader := h.newAccount(t, org, "c-reader@acme.example", aip.RoleReader)
	offID, _ := h.newUser(t, "d-off@acme.example", false)
	h.addMember(t, org, offID, aip.RoleUser)
	off := account{UserID: offID, Email: "d-off@acme.example"}
	now := h.clock.Now().UnixMilli()

	cases := []struct {
		name string
		opts *client.MemberListOptions
		want []*aip.Member
	}{
		{name: "lists every member by email", want: []*aip.Member{
			member(owner, aip.RoleOwner, true, now), member(user, aip.RoleUser, true, 0),
			member(reader, aip.RoleReader, true, 0), member(off, aip.RoleUser, false, 0),
		}},
		{name: "leaves out disabled users with enabledOnly", opts: &client.MemberListOptions{EnabledOnly: true}, want: []*aip.Member{
			member(owner, aip.RoleOwner, true, now), member(user, aip.RoleUser, true, 0),
			member(reader, aip.RoleReader, true, 0),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, resp, err := h.client(t, owner).Members.List(h.ctx(t), tc.opts)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
			if resp.NextToken != "" {
				t.Errorf("NextToken = %q, want none", resp.NextToken)
			}
		})
	}

	t.Run("answers token null", func(t *testing.T) {
		r, _ := h.signedDo(t, reader, http.MethodGet, "/v2/organizations/members", nil)
		var env map[string]any
		if err := json.Unmarshal(r.Body, &env); err != nil {
			t.Fatal(err)
		}
		tok, ok := env["token"]
		if !ok || tok != nil {
			t.Errorf("token = %v (present %v), want null", tok, ok)
		}
	})

	t.Run("rejects a malformed enabledOnly", func(t *testing.T) {
		r, _ := h.signedDo(t, owner, http.MethodGet, "/v2/organizations/members?enabledOnly=yes", nil)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", r.Status)
		}
		if diff := cmp.Diff([]string{`"enabledOnly" must be true or false.`}, errorsOf(t, r)); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})
}

func TestAddMember(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	user := h.newAccount(t, org, "user@acme.example", aip.RoleUser)
	reader := h.newAccount(t, org, "reader@acme.example", aip.RoleReader)
	newcomer := func(email string) account {
		id, _ := h.newUser(t, email, true)
		return account{UserID: id, Email: email}
	}

	t.Run("adds a user", func(t *testing.T) {
		n := newcomer("new1@acme.example")
		got, _, err := h.client(t, owner).Members.Add(h.ctx(t), n.UserID, aip.RoleUser)
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		if diff := cmp.Diff(member(n, aip.RoleUser, true, 0), got); diff != "" {
			t.Errorf("member (-want +got):\n%s", diff)
		}
		list, _, err := h.client(t, owner).Members.List(h.ctx(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range list {
			found = found || m.ID == n.UserID
		}
		if !found {
			t.Errorf("member %s not listed after Add", n.UserID)
		}
	})

	t.Run("lets a user grant reader", func(t *testing.T) {
		n := newcomer("new2@acme.example")
		if _, _, err := h.client(t, user).Members.Add(h.ctx(t), n.UserID, aip.RoleReader); err != nil {
			t.Errorf("Add: %v", err)
		}
	})

	clientCases := []struct {
		name   string
		as     account
		id     string
		role   aip.Role
		status int
	}{
		{name: "conflicts on an existing member", as: owner, id: user.UserID, role: aip.RoleReader, status: http.StatusConflict},
		{name: "does not find an unknown user", as: owner, id: aip.NewID24(), role: aip.RoleUser, status: http.StatusNotFound},
		{name: "forbids a user granting owner", as: user, id: newcomer("new3@acme.example").UserID, role: aip.RoleOwner, status: http.StatusForbidden},
		{name: "forbids a reader writing", as: reader, id: newcomer("new4@acme.example").UserID, role: aip.RoleReader, status: http.StatusForbidden},
		{name: "rejects a malformed id", as: owner, id: "12345", role: aip.RoleUser, status: http.StatusBadRequest},
		{name: "rejects an unknown role", as: owner, id: newcomer("new5@acme.example").UserID, role: "admin", status: http.StatusBadRequest},
	}
	for _, tc := range clientCases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := h.client(t, tc.as).Members.Add(h.ctx(t), tc.id, tc.role)
			if got := statusOf(err); got != tc.status {
				t.Errorf("Add: status %d (%v), want %d", got, err, tc.status)
			}
		})
	}

	spare := newcomer("spare@acme.example").UserID
	rawCases := []struct {
		name    string
		body    string
		wantMsg string
	}{
		{name: "rejects unknown fields", body: `{"id":"` + spare + `","role":"user","admin":true}`,
			wantMsg: `Invalid JSON body: unknown field "admin".`},
		{name: "rejects trailing data", body: `{"id":"` + spare + `","role":"user"} {}`,
			wantMsg: "Invalid JSON body: unexpected data after the JSON value."},
		{name: "rejects trailing garbage", body: `{"id":"` + spare + `","role":"user"}x`,
			wantMsg: "Invalid JSON body: unexpected data after the JSON value."},
		{name: "rejects an empty body", body: "",
			wantMsg: "A JSON request body is required."},
		{name: "rejects a blank body", body: " \n",
			wantMsg: "A JSON request body is required."},
		{name: "rejects a wrong type", body: `{"id":42,"role":"user"}`,
			wantMsg: `Invalid JSON body: field "id" has the wrong type (number).`},
		{name: "rejects an array", body: `[]`,
			wantMsg: "Invalid JSON body: the body must be a JSON object."},
		{name: "rejects truncated JSON", body: `{"id":"`,
			wantMsg: "Invalid JSON body: unexpected end of JSON input."},
		{name: "rejects a missing role", body: `{"id":"` + spare + `"}`,
			wantMsg: `"role" must be one of owner, user, reader.`},
	}
	for _, tc := range rawCases {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			r, art := h.signedDo(t, owner, http.MethodPost, "/v2/organizations/members", body)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400: %s", r.Status, r.Body)
			}
			if diff := cmp.Diff([]string{tc.wantMsg}, errorsOf(t, r)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			verifySigned(t, owner, art, r)
		})
	}
	t.Run("did not add the user of a rejected body", func(t *testing.T) {
		if _, err := h.store.FindMember(h.ctx(t), org, spare); aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Errorf("FindMember(spare) = %v, want ENOTFOUND", err)
		}
	})
}

func TestRemoveMember(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	user := h.newAccount(t, org, "user@acme.example", aip.RoleUser)
	reader := h.newAccount(t, org, "reader@acme.example", aip.RoleReader)
	gone := h.newAccount(t, org, "gone@acme.example", aip.RoleReader)
	outsider, _ := h.newUser(t, "outsider@elsewhere.example", true)

	t.Run("removes a member with 204", func(t *testing.T) {
		r, art := h.signedDo(t, owner, http.MethodDelete, "/v2/organizations/members/"+gone.UserID, nil)
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("status = %d body %q, want 204 without body", r.Status, r.Body)
		}
		verifySigned(t, owner, art, r)
		if _, err := h.store.FindMember(h.ctx(t), org, gone.UserID); aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Errorf("FindMember after removal = %v, want ENOTFOUND", err)
		}
	})

	cases := []struct {
		name    string
		as      account
		id      string
		status  int
		wantMsg string
	}{
		{name: "does not find a non-member", as: owner, id: outsider, status: http.StatusNotFound,
			wantMsg: "User " + outsider + " is not a member of this organization."},
		{name: "does not find a removed member", as: owner, id: gone.UserID, status: http.StatusNotFound,
			wantMsg: "User " + gone.UserID + " is not a member of this organization."},
		{name: "does not find a malformed id", as: owner, id: "nope", status: http.StatusNotFound,
			wantMsg: "User nope is not a member of this organization."},
		{name: "forbids a user removing an owner", as: user, id: owner.UserID, status: http.StatusForbidden,
			wantMsg: "The user is not allowed to perform this action: only owners remove owners."},
		{name: "forbids a reader removing anyone", as: reader, id: user.UserID, status: http.StatusForbidden,
			wantMsg: "The user is not allowed to perform this action (role reader is read-only)."},
		{name: "keeps the last owner", as: owner, id: owner.UserID, status: http.StatusConflict,
			wantMsg: "The last owner of an organization cannot be removed."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, art := h.signedDo(t, tc.as, http.MethodDelete, "/v2/organizations/members/"+tc.id, nil)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if diff := cmp.Diff([]string{tc.wantMsg}, errorsOf(t, r)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			verifySigned(t, tc.as, art, r)
		})
	}

	t.Run("lets an owner remove another owner", func(t *testing.T) {
		second := h.newAccount(t, org, "second@acme.example", aip.RoleOwner)
		if _, err := h.client(t, second).Members.Remove(h.ctx(t), owner.UserID); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		if _, err := h.client(t, second).Members.Remove(h.ctx(t), second.UserID); statusOf(err) != http.StatusConflict {
			t.Errorf("removing the now last owner: %v, want 409", err)
		}
	})

	t.Run("lets a user remove a reader", func(t *testing.T) {
		if _, err := h.client(t, user).Members.Remove(h.ctx(t), reader.UserID); err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
}
