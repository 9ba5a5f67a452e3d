package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

// TestTenantIsolation calls every endpoint with organization B's
// credentials against organization A's data.
func TestTenantIsolation(t *testing.T) {
	h := newHarness(t)
	orgA, orgB := h.newOrg(t, "a"), h.newOrg(t, "b")
	ownerA := h.newAccount(t, orgA, "owner@a.example", aip.RoleOwner)
	memberA := h.newAccount(t, orgA, "member@a.example", aip.RoleUser)
	ownerB := h.newAccount(t, orgB, "owner@b.example", aip.RoleOwner)
	// both is an owner in A and only a reader in B.
	both := h.newAccount(t, orgA, "both@a.example", aip.RoleOwner)
	h.addMember(t, orgB, both.UserID, aip.RoleReader)
	bothInB := both
	bothInB.OrgID, bothInB.Role = orgB, aip.RoleReader

	// Activity in A, some of it with many records so A has page tokens.
	for range 3 {
		h.signedDo(t, ownerA, http.MethodGet, "/v2/organizations/members", nil)
		h.signedDo(t, memberA, http.MethodGet, selfTestPath, nil)
	}
	var seeded []*aip.AuditRecord
	for i := range 60 {
		seeded = append(seeded, seedRecord(orgA, ownerA.UserID, ownerA.Email, "read", h.clock.Now().Add(-time.Duration(i+1)*time.Minute)))
	}
	h.insertAudit(t, seeded...)
	h.signedDo(t, ownerB, http.MethodGet, selfTestPath, nil)
	h.flushAudit(t)
	h.clock.Advance(time.Second)

	t.Run("lists only the members of B", func(t *testing.T) {
		got, _, err := h.client(t, ownerB).Members.List(h.ctx(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []*aip.Member{member(bothInB, aip.RoleReader, true, 0), member(ownerB, aip.RoleOwner, true, h.clock.Now().Add(-time.Second).UnixMilli())}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("members of B (-want +got):\n%s", diff)
		}
	})

	for _, victim := range []account{memberA, ownerA} {
		t.Run("does not find a member of A when B deletes it", func(t *testing.T) {
			r, art := h.signedDo(t, ownerB, http.MethodDelete, "/v2/organizations/members/"+victim.UserID, nil)
			if r.Status != http.StatusNotFound {
				t.Fatalf("status = %d, want 404: %s", r.Status, r.Body)
			}
			verifySigned(t, ownerB, art, r)
			m, err := h.store.FindMember(h.ctx(t), orgA, victim.UserID)
			if err != nil || m.Role != victim.Role {
				t.Errorf("member of A after B's delete: %+v, %v; want unchanged role %s", m, err, victim.Role)
			}
		})
	}

	t.Run("applies the role of B to a member of both", func(t *testing.T) {
		spare, _ := h.newUser(t, "spare@b.example", true)
		r, _ := h.signedDo(t, bothInB, http.MethodPost, "/v2/organizations/members", []byte(`{"id":"`+spare+`","role":"reader"}`))
		if r.Status != http.StatusForbidden {
			t.Errorf("reader of B adding a member: status %d, want 403", r.Status)
		}
		r, _ = h.signedDo(t, bothInB, http.MethodDelete, "/v2/organizations/members/"+memberA.UserID, nil)
		if r.Status != http.StatusForbidden {
			t.Errorf("reader of B deleting: status %d, want 403", r.Status)
		}
	})

	t.Run("forbids B's user signing for A", func(t *testing.T) {
		intruder := ownerB
		intruder.OrgID = orgA
		for _, target := range []string{selfTestPath, "/v2/organizations/members", "/v2/auditlogs"} {
			r, art := h.signedDo(t, intruder, http.MethodGet, target, nil)
			if r.Status != http.StatusForbidden {
				t.Errorf("GET %s as B with ext=A: status %d, want 403", target, r.Status)
				continue
			}
			verifySigned(t, intruder, art, r)
		}
		r, _ := h.signedDo(t, intruder, http.MethodDelete, "/v2/organizations/members/"+memberA.UserID, nil)
		if r.Status != http.StatusForbidden {
			t.Errorf("DELETE as B with ext=A: status %d, want 403", r.Status)
		}
		if _, err := h.store.FindMember(h.ctx(t), orgA, memberA.UserID); err != nil {
			t.Errorf("member of A after the intrusion: %v", err)
		}
	})

	h.flushAudit(t)
	h.clock.Advance(time.Second)
	auditCases := []struct {
		name string
		as   account
		org  string
	}{
		{name: "lists only B's audit records to B", as: ownerB, org: orgB},
		{name: "lists only A's audit records to A", as: ownerA, org: orgA},
		{name: "lists only B's audit records to a member of both acting in B", as: bothInB, org: orgB},
	}
	for _, tc := range auditCases {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			for rec, err := range h.client(t, tc.as).AuditLogs.All(h.ctx(t), nil) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				if rec.OrganizationID != tc.org {
					t.Errorf("record %s of organization %s listed for %s: %s", rec.ID, rec.OrganizationID, tc.org, rec.Description)
				}
			}
			if n == 0 {
				t.Error("no records listed")
			}
		})
	}

	t.Run("records B's intrusion attempts nowhere in A", func(t *testing.T) {
		for rec, err := range h.client(t, ownerA).AuditLogs.All(h.ctx(t), nil) {
			if err != nil {
				t.Fatal(err)
			}
			if rec.UserID == ownerB.UserID {
				t.Errorf("A's audit log holds a record of B's user: %s", rec.Description)
			}
		}
	})

	t.Run("rejects A's page token for B", func(t *testing.T) {
		p, _ := h.listAudit(t, ownerA, "")
		if p.Token == nil {
			t.Fatal("A's first page has no token")
		}
		_, r := h.listAudit(t, ownerB, "token="+*p.Token)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", r.Status, r.Body)
		}
		if diff := cmp.Diff([]string{"page token belongs to another listing"}, errorsOf(t, r)); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})

	t.Run("filters by a user of A find nothing in B", func(t *testing.T) {
		for _, q := range []string{"userId=" + ownerA.UserID, "userEmail=owner%40a.example", "userID=" + memberA.UserID} {
			p, r := h.listAudit(t, ownerB, q)
			if r.Status != http.StatusOK || len(p.Recs) != 0 {
				t.Errorf("B listing %s: status %d, %d records; want 200 and none", q, r.Status, len(p.Recs))
			}
		}
	})
}
