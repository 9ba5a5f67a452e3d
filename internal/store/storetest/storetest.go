// Package storetest is the conformance suite every aip.Store backend must
// pass, so that the SQLite and PostgreSQL backends behave identically.
package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Run runs the conformance suite against the backend that open creates.
// open must return a new, empty store and arrange for it to be closed when
// the test ends (t.Cleanup); Run calls it once per subtest.
func Run(t *testing.T, open func(t *testing.T) aip.Store) {
	t.Run("organizations", func(t *testing.T) { testOrganizations(t, open) })
	t.Run("users", func(t *testing.T) { testUsers(t, open) })
	t.Run("api keys", func(t *testing.T) { testSetAPIKey(t, open) })
	t.Run("credentials", func(t *testing.T) { testFindCredentials(t, open) })
	t.Run("credentials follow changes", func(t *testing.T) { testCredentialsFollowChanges(t, open) })
	t.Run("put member", func(t *testing.T) { testPutMember(t, open) })
	t.Run("list members", func(t *testing.T) { testListMembers(t, open) })
	t.Run("remove member", func(t *testing.T) { testRemoveMember(t, open) })
	t.Run("count owners", func(t *testing.T) { testCountOwners(t, open) })
	t.Run("invites", func(t *testing.T) { testInvites(t, open) })
	t.Run("touch authenticated", func(t *testing.T) { testTouchAuthenticated(t, open) })
	t.Run("audit records", func(t *testing.T) { testAuditRecords(t, open) })
	t.Run("audit filters", func(t *testing.T) { testAuditFilters(t, open) })
	t.Run("audit paging", func(t *testing.T) { testAuditPaging(t, open) })
	t.Run("audit isolation", func(t *testing.T) { testAuditIsolation(t, open) })
	runDetection(t, open)
	runWebhooks(t, open)
	runS3Export(t, open)
	runWeb(t, open)
}

// base is a fixed instant with sub-millisecond digits, to check that stores
// round to the millisecond consistently.
var base = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

// timeOpts compares times by instant and the wire time type likewise.
var timeOpts = cmp.Options{
	cmp.Comparer(func(a, b aip.Time) bool { return a.Equal(b.Time) }),
	cmpopts.EquateEmpty(),
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := aip.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func mustOrg(t *testing.T, s aip.Store, name string) *aip.Organization {
	t.Helper()
	o := &aip.Organization{Name: name}
	if err := s.CreateOrganization(t.Context(), o); err != nil {
		t.Fatalf("CreateOrganization(%s): %v", name, err)
	}
	return o
}

func mustUser(t *testing.T, s aip.Store, email string, enabled bool) *aip.User {
	t.Helper()
	u := &aip.User{Email: email, DisplayName: "User " + email, Enabled: enabled}
	if err := s.CreateUser(t.Context(), u, []byte("sealed:"+email)); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func mustPut(t *testing.T, s aip.Store, orgID, userID string, role aip.Role) {
	t.Helper()
	if err := s.PutMember(t.Context(), orgID, userID, role); err != nil {
		t.Fatalf("PutMember(%s, %s, %s): %v", orgID, userID, role, err)
	}
}

// checkStoredTime checks that a time filled or normalized by the store is
// set, UTC and whole milliseconds.
func checkStoredTime(t *testing.T, name string, got time.Time) {
	t.Helper()
	if got.IsZero() || got.Location() != time.UTC || got.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("%s = %v, want a UTC time at millisecond precision", name, got)
	}
}

func testOrganizations(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	t.Run("counts organizations from zero", func(t *testing.T) {
		s := open(t)
		for want := range 3 {
			if got, err := s.CountOrganizations(ctx); err != nil || got != want {
				t.Fatalf("CountOrganizations = %d, %v; want %d", got, err, want)
			}
			mustOrg(t, s, fmt.Sprintf("org %d", want))
		}
	})
	t.Run("create fills ID and CreatedAt", func(t *testing.T) {
		s := open(t)
		o := &aip.Organization{Name: "Acme"}
		if err := s.CreateOrganization(ctx, o); err != nil {
			t.Fatal(err)
		}
		if !aip.IsID24(o.ID) {
			t.Errorf("ID = %q, want 24 hex characters", o.ID)
		}
		checkStoredTime(t, "CreatedAt", o.CreatedAt)
		got, err := s.FindOrganizationByID(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(o, got); diff != "" {
			t.Errorf("FindOrganizationByID mismatch (-want +got):\n%s", diff)
		}
		checkStoredTime(t, "found CreatedAt", got.CreatedAt)
	})
	t.Run("create keeps given ID and truncates CreatedAt to ms", func(t *testing.T) {
		s := open(t)
		o := &aip.Organization{ID: "0123456789abcdef01234567", Name: "Given", CreatedAt: base.In(time.FixedZone("X", 3600))}
		if err := s.CreateOrganization(ctx, o); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindOrganizationByID(ctx, "0123456789abcdef01234567")
		if err != nil {
			t.Fatal(err)
		}
		want := &aip.Organization{ID: "0123456789abcdef01234567", Name: "Given", CreatedAt: base.Truncate(time.Millisecond)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FindOrganizationByID mismatch (-want +got):\n%s", diff)
		}
		checkStoredTime(t, "CreatedAt", got.CreatedAt)
	})
	t.Run("unknown id is not found", func(t *testing.T) {
		s := open(t)
		_, err := s.FindOrganizationByID(ctx, aip.NewID24())
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("duplicate id conflicts", func(t *testing.T) {
		s := open(t)
		o := mustOrg(t, s, "first")
		err := s.CreateOrganization(ctx, &aip.Organization{ID: o.ID, Name: "second"})
		wantCode(t, err, aip.ECONFLICT)
	})
}

func testUsers(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	t.Run("create fills ID and CreatedAt and round-trips every field", func(t *testing.T) {
		tests := []struct {
			name string
			user aip.User
		}{
			{"all flags off", aip.User{Email: "off@example.com", DisplayName: "Off"}},
			{"all flags on", aip.User{Email: "on@example.com", DisplayName: "On", Enabled: true, SSOEnabled: true, MFAEnabled: true}},
			{"mixed flags", aip.User{Email: "mixed@example.com", DisplayName: "", Enabled: true, MFAEnabled: true}},
		}
		s := open(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := tt.user
				if err := s.CreateUser(ctx, &u, []byte("key")); err != nil {
					t.Fatal(err)
				}
				if !aip.IsID24(u.ID) {
					t.Errorf("ID = %q, want 24 hex characters", u.ID)
				}
				checkStoredTime(t, "CreatedAt", u.CreatedAt)
				want := tt.user
				want.ID, want.CreatedAt = u.ID, u.CreatedAt
				got, err := s.FindUserByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(&want, got); diff != "" {
					t.Errorf("FindUserByID mismatch (-want +got):\n%s", diff)
				}
				if !got.LastAuthenticatedAt.IsZero() {
					t.Errorf("LastAuthenticatedAt = %v, want zero for a new user", got.LastAuthenticatedAt)
				}
			})
		}
	})
	t.Run("find by email ignores case", func(t *testing.T) {
		s := open(t)
		u := mustUser(t, s, "Mixed.Case@Example.com", true)
		for _, email := range []string{"Mixed.Case@Example.com", "mixed.case@example.com", "MIXED.CASE@EXAMPLE.COM"} {
			got, err := s.FindUserByEmail(ctx, email)
			if err != nil {
				t.Fatalf("FindUserByEmail(%q): %v", email, err)
			}
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("FindUserByEmail(%q) mismatch (-want +got):\n%s", email, diff)
			}
		}
	})
	t.Run("unknown user is not found", func(t *testing.T) {
		s := open(t)
		mustUser(t, s, "someone@example.com", true)
		_, err := s.FindUserByID(ctx, aip.NewID24())
		wantCode(t, err, aip.ENOTFOUND)
		_, err = s.FindUserByEmail(ctx, "nobody@example.com")
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("duplicate email conflicts in any case", func(t *testing.T) {
		for _, email := range []string{"dup@example.com", "DUP@example.com", "Dup@Example.Com"} {
			t.Run(email, func(t *testing.T) {
				s := open(t)
				mustUser(t, s, "dup@example.com", true)
				err := s.CreateUser(ctx, &aip.User{Email: email}, nil)
				wantCode(t, err, aip.ECONFLICT)
			})
		}
	})
	t.Run("duplicate id conflicts", func(t *testing.T) {
		s := open(t)
		u := mustUser(t, s, "a@example.com", true)
		err := s.CreateUser(ctx, &aip.User{ID: u.ID, Email: "b@example.com"}, nil)
		wantCode(t, err, aip.ECONFLICT)
	})
}

func testSetAPIKey(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	t.Run("new key replaces the old one", func(t *testing.T) {
		s := open(t)
		u := mustUser(t, s, "key@example.com", true)
		other := mustUser(t, s, "other@example.com", true)
		if err := s.SetAPIKey(ctx, u.ID, []byte("sealed-2")); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			userID string
			want   []byte
		}{
			{u.ID, []byte("sealed-2")},
			{other.ID, []byte("sealed:other@example.com")},
		}
		for _, tt := range tests {
			c, err := s.FindCredentials(ctx, tt.userID, "")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.EncryptedKey, tt.want) {
				t.Errorf("EncryptedKey of %s = %q, want %q", tt.userID, c.EncryptedKey, tt.want)
			}
		}
	})
	t.Run("unknown user is not found", func(t *testing.T) {
		s := open(t)
		err := s.SetAPIKey(ctx, aip.NewID24(), []byte("x"))
		wantCode(t, err, aip.ENOTFOUND)
	})
}

func testFindCredentials(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	orgA, orgB, orgC := mustOrg(t, s, "A"), mustOrg(t, s, "B"), mustOrg(t, s, "C")
	owner := mustUser(t, s, "owner@example.com", true)
	user := mustUser(t, s, "user@example.com", true)
	reader := mustUser(t, s, "reader@example.com", false)
	mustPut(t, s, orgA.ID, owner.ID, aip.RoleOwner)
	mustPut(t, s, orgB.ID, owner.ID, aip.RoleReader)
	mustPut(t, s, orgA.ID, user.ID, aip.RoleUser)
	mustPut(t, s, orgA.ID, reader.ID, aip.RoleReader)

	tests := []struct {
		name   string
		user   *aip.User
		orgID  string
		role   aip.Role
		code   string
		userID string // overrides user.ID
	}{
		{name: "owner gets owner role", user: owner, orgID: orgA.ID, role: aip.RoleOwner},
		{name: "same user gets its role of the other org", user: owner, orgID: orgB.ID, role: aip.RoleReader},
		{name: "member gets user role", user: user, orgID: orgA.ID, role: aip.RoleUser},
		{name: "disabled member gets reader role and disabled user", user: reader, orgID: orgA.ID, role: aip.RoleReader},
		{name: "non-member gets empty role", user: user, orgID: orgB.ID, role: ""},
		{name: "membership elsewhere never leaks", user: owner, orgID: orgC.ID, role: ""},
		{name: "unknown org gets empty role", user: owner, orgID: aip.NewID24(), role: ""},
		{name: "unknown user is not found", userID: aip.NewID24(), orgID: orgA.ID, code: aip.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.userID
			if tt.user != nil {
				id = tt.user.ID
			}
			got, err := s.FindCredentials(ctx, id, tt.orgID)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &aip.Credentials{User: tt.user, EncryptedKey: []byte("sealed:" + tt.user.Email), Role: tt.role}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("FindCredentials mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// testCredentialsFollowChanges reads credentials before and after each kind
// of change, as a server does on every request, so that a backend caching
// them must show every change on the very next read.
func testCredentialsFollowChanges(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "org")
	u := mustUser(t, s, "changing@example.com", true)
	mustPut(t, s, org.ID, u.ID, aip.RoleOwner)

	find := func(t *testing.T) *aip.Credentials {
		t.Helper()
		c, err := s.FindCredentials(ctx, u.ID, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name   string
		change func(t *testing.T)
		key    string
		role   aip.Role
	}{
		{"rotated key shows at once", func(t *testing.T) {
			if err := s.SetAPIKey(ctx, u.ID, []byte("rotated")); err != nil {
				t.Fatal(err)
			}
		}, "rotated", aip.RoleOwner},
		{"changed role shows at once", func(t *testing.T) { mustPut(t, s, org.ID, u.ID, aip.RoleReader) }, "rotated", aip.RoleReader},
		{"removal shows at once", func(t *testing.T) {
			if err := s.RemoveMember(ctx, org.ID, u.ID); err != nil {
				t.Fatal(err)
			}
		}, "rotated", ""},
		{"new membership shows at once", func(t *testing.T) { mustPut(t, s, org.ID, u.ID, aip.RoleUser) }, "rotated", aip.RoleUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			find(t)
			find(t)
			tt.change(t)
			got := find(t)
			if string(got.EncryptedKey) != tt.key || got.Role != tt.role {
				t.Errorf("credentials = key %q role %q, want key %q role %q", got.EncryptedKey, got.Role, tt.key, tt.role)
			}
		})
	}
	t.Run("new user is found after a miss", func(t *testing.T) {
		nu := &aip.User{ID: aip.NewID24(), Email: "late@example.com", Enabled: true}
		_, err := s.FindCredentials(ctx, nu.ID, org.ID)
		wantCode(t, err, aip.ENOTFOUND)
		if err := s.CreateUser(ctx, nu, []byte("late")); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindCredentials(ctx, nu.ID, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.User.ID != nu.ID || string(got.EncryptedKey) != "late" || got.Role != "" {
			t.Errorf("credentials = %+v, want user %s with key late and no role", got, nu.ID)
		}
	})
	t.Run("caller may modify what it gets", func(t *testing.T) {
		want := find(t)
		wantUser := *want.User
		wantKey := bytes.Clone(want.EncryptedKey)
		got := find(t)
		got.User.Email = "changed@example.com"
		got.User.Enabled = false
		got.EncryptedKey[0] ^= 0xff
		got.Role = aip.RoleOwner
		again := find(t)
		if diff := cmp.Diff(&aip.Credentials{User: &wantUser, EncryptedKey: wantKey, Role: want.Role}, again); diff != "" {
			t.Errorf("credentials changed by the previous caller (-want +got):\n%s", diff)
		}
	})
}

func testPutMember(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "org")
	other := mustOrg(t, s, "other")
	u := mustUser(t, s, "member@example.com", true)

	t.Run("adds a member", func(t *testing.T) {
		mustPut(t, s, org.ID, u.ID, aip.RoleUser)
		got, err := s.FindMember(ctx, org.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := &aip.Member{ID: u.ID, DisplayName: u.DisplayName, Email: u.Email, Role: aip.RoleUser, UserEnabled: true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FindMember mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("changes the role of a member", func(t *testing.T) {
		for _, role := range []aip.Role{aip.RoleOwner, aip.RoleReader, aip.RoleUser} {
			mustPut(t, s, org.ID, u.ID, role)
			got, err := s.FindMember(ctx, org.ID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Role != role {
				t.Errorf("Role = %q, want %q", got.Role, role)
			}
		}
	})
	t.Run("non-member is not found in another org", func(t *testing.T) {
		_, err := s.FindMember(ctx, other.ID, u.ID)
		wantCode(t, err, aip.ENOTFOUND)
	})
	tests := []struct {
		name   string
		orgID  string
		userID string
		role   aip.Role
		code   string
	}{
		{"unknown user is not found", org.ID, aip.NewID24(), aip.RoleUser, aip.ENOTFOUND},
		{"unknown org is not found", aip.NewID24(), u.ID, aip.RoleUser, aip.ENOTFOUND},
		{"invalid role is rejected", org.ID, u.ID, "admin", aip.EINVALID},
		{"empty role is rejected", org.ID, u.ID, "", aip.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.PutMember(ctx, tt.orgID, tt.userID, tt.role)
			wantCode(t, err, tt.code)
		})
	}
	t.Run("failed puts leave the member unchanged", func(t *testing.T) {
		got, err := s.FindMember(ctx, org.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Role != aip.RoleUser {
			t.Errorf("Role = %q, want %q", got.Role, aip.RoleUser)
		}
	})
}

func testListMembers(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "org")
	other := mustOrg(t, s, "other")
	empty := mustOrg(t, s, "empty")
	carol := mustUser(t, s, "carol@example.com", true)
	bob := mustUser(t, s, "Bob@example.com", false)
	alice := mustUser(t, s, "alice@example.com", true)
	dave := mustUser(t, s, "dave@example.com", true)
	mustPut(t, s, org.ID, carol.ID, aip.RoleReader)
	mustPut(t, s, org.ID, bob.ID, aip.RoleUser)
	mustPut(t, s, org.ID, alice.ID, aip.RoleOwner)
	mustPut(t, s, other.ID, dave.ID, aip.RoleOwner)
	mustPut(t, s, other.ID, alice.ID, aip.RoleReader)

	member := func(u *aip.User, r aip.Role) *aip.Member {
		return &aip.Member{ID: u.ID, DisplayName: u.DisplayName, Email: u.Email, Role: r, UserEnabled: u.Enabled}
	}
	tests := []struct {
		name        string
		orgID       string
		enabledOnly bool
		want        []*aip.Member
	}{
		{"all members ordered by email ignoring case", org.ID, false,
			[]*aip.Member{member(alice, aip.RoleOwner), member(bob, aip.RoleUser), member(carol, aip.RoleReader)}},
		{"enabled only drops disabled users", org.ID, true,
			[]*aip.Member{member(alice, aip.RoleOwner), member(carol, aip.RoleReader)}},
		{"other org lists only its own members and roles", other.ID, false,
			[]*aip.Member{member(alice, aip.RoleReader), member(dave, aip.RoleOwner)}},
		{"org without members is empty", empty.ID, false, nil},
		{"unknown org is empty", aip.NewID24(), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListMembers(ctx, tt.orgID, tt.enabledOnly)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ListMembers mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testRemoveMember(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "org")
	other := mustOrg(t, s, "other")
	u := mustUser(t, s, "gone@example.com", true)
	mustPut(t, s, org.ID, u.ID, aip.RoleUser)
	mustPut(t, s, other.ID, u.ID, aip.RoleOwner)

	t.Run("removes the membership", func(t *testing.T) {
		if err := s.RemoveMember(ctx, org.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.FindMember(ctx, org.ID, u.ID)
		wantCode(t, err, aip.ENOTFOUND)
		c, err := s.FindCredentials(ctx, u.ID, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Role != "" {
			t.Errorf("Role after removal = %q, want empty", c.Role)
		}
	})
	t.Run("keeps the membership of another org", func(t *testing.T) {
		got, err := s.FindMember(ctx, other.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Role != aip.RoleOwner {
			t.Errorf("Role = %q, want %q", got.Role, aip.RoleOwner)
		}
	})
	t.Run("removing again is not found", func(t *testing.T) {
		wantCode(t, s.RemoveMember(ctx, org.ID, u.ID), aip.ENOTFOUND)
	})
	t.Run("unknown user is not found", func(t *testing.T) {
		wantCode(t, s.RemoveMember(ctx, org.ID, aip.NewID24()), aip.ENOTFOUND)
	})
}

func testCountOwners(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	one, two, none := mustOrg(t, s, "one"), mustOrg(t, s, "two"), mustOrg(t, s, "none")
	a := mustUser(t, s, "a@example.com", true)
	b := mustUser(t, s, "b@example.com", true)
	c := mustUser(t, s, "c@example.com", true)
	mustPut(t, s, one.ID, a.ID, aip.RoleOwner)
	mustPut(t, s, one.ID, b.ID, aip.RoleUser)
	mustPut(t, s, one.ID, c.ID, aip.RoleReader)
	mustPut(t, s, two.ID, a.ID, aip.RoleOwner)
	mustPut(t, s, two.ID, b.ID, aip.RoleOwner)
	mustPut(t, s, none.ID, c.ID, aip.RoleUser)

	tests := []struct {
		name  string
		orgID string
		want  int
	}{
		{"counts only owners", one.ID, 1},
		{"counts several owners", two.ID, 2},
		{"org without owners has zero", none.ID, 0},
		{"unknown org has zero", aip.NewID24(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CountOwners(ctx, tt.orgID)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("CountOwners = %d, want %d", got, tt.want)
			}
		})
	}
	t.Run("demoting an owner lowers the count", func(t *testing.T) {
		mustPut(t, s, two.ID, b.ID, aip.RoleUser)
		got, err := s.CountOwners(ctx, two.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != 1 {
			t.Errorf("CountOwners = %d, want 1", got)
		}
	})
}

func testInvites(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	newInvite := func(orgID, email string, token string) *aip.Invite {
		return &aip.Invite{
			OrgID:     orgID,
			Email:     email,
			Role:      aip.RoleUser,
			Status:    aip.InviteStatusPending,
			InvitedBy: "inviter",
			TokenHash: []byte(token),
			ExpiresAt: base.Add(72 * time.Hour),
		}
	}
	t.Run("create fills ID and CreatedAt and is found by token", func(t *testing.T) {
		s := open(t)
		org := mustOrg(t, s, "org")
		inv := newInvite(org.ID, "new@example.com", "token-1")
		if err := s.CreateInvite(ctx, inv); err != nil {
			t.Fatal(err)
		}
		if inv.ID == "" {
			t.Error("ID is empty, want it filled")
		}
		checkStoredTime(t, "CreatedAt", inv.CreatedAt)
		got, err := s.FindPendingInvite(ctx, []byte("token-1"))
		if err != nil {
			t.Fatal(err)
		}
		want := *inv
		want.ExpiresAt = base.Add(72 * time.Hour).Truncate(time.Millisecond)
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("FindPendingInvite mismatch (-want +got):\n%s", diff)
		}
		checkStoredTime(t, "ExpiresAt", got.ExpiresAt)
	})
	t.Run("second pending invite for the same email replaces the first", func(t *testing.T) {
		s := open(t)
		org := mustOrg(t, s, "org")
		other := mustOrg(t, s, "other")
		first := newInvite(org.ID, "twice@example.com", "token-first")
		elsewhere := newInvite(other.ID, "twice@example.com", "token-elsewhere")
		second := newInvite(org.ID, "TWICE@example.com", "token-second")
		second.Role = aip.RoleReader
		for _, inv := range []*aip.Invite{first, elsewhere, second} {
			if err := s.CreateInvite(ctx, inv); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.FindPendingInvite(ctx, []byte("token-first"))
		wantCode(t, err, aip.ENOTFOUND)
		for _, want := range []*aip.Invite{second, elsewhere} {
			got, err := s.FindPendingInvite(ctx, want.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != want.ID || got.Role != want.Role || got.OrgID != want.OrgID {
				t.Errorf("FindPendingInvite(%s) = %+v, want %+v", want.TokenHash, got, want)
			}
		}
	})
	t.Run("accepted invite works once", func(t *testing.T) {
		s := open(t)
		org := mustOrg(t, s, "org")
		inv := newInvite(org.ID, "once@example.com", "token-once")
		if err := s.CreateInvite(ctx, inv); err != nil {
			t.Fatal(err)
		}
		if err := s.AcceptInvite(ctx, inv.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.FindPendingInvite(ctx, []byte("token-once"))
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.AcceptInvite(ctx, inv.ID), aip.ENOTFOUND)
		// A fresh invite for the same email is possible after acceptance.
		again := newInvite(org.ID, "once@example.com", "token-again")
		if err := s.CreateInvite(ctx, again); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindPendingInvite(ctx, []byte("token-again")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("rejects bad invites", func(t *testing.T) {
		s := open(t)
		org := mustOrg(t, s, "org")
		tests := []struct {
			name   string
			modify func(*aip.Invite)
			code   string
		}{
			{"unknown org is not found", func(i *aip.Invite) { i.OrgID = aip.NewID24() }, aip.ENOTFOUND},
			{"invalid role is invalid", func(i *aip.Invite) { i.Role = "admin" }, aip.EINVALID},
			{"missing email is invalid", func(i *aip.Invite) { i.Email = "" }, aip.EINVALID},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				inv := newInvite(org.ID, "bad@example.com", "token-bad")
				tt.modify(inv)
				wantCode(t, s.CreateInvite(ctx, inv), tt.code)
			})
		}
		_, err := s.FindPendingInvite(ctx, []byte("token-bad"))
		wantCode(t, err, aip.ENOTFOUND)
	})
	t.Run("unknown token and id are not found", func(t *testing.T) {
		s := open(t)
		_, err := s.FindPendingInvite(ctx, []byte("nope"))
		wantCode(t, err, aip.ENOTFOUND)
		wantCode(t, s.AcceptInvite(ctx, aip.NewUUID()), aip.ENOTFOUND)
	})
}

func testTouchAuthenticated(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "org")
	u := mustUser(t, s, "touch@example.com", true)
	never := mustUser(t, s, "never@example.com", true)
	mustPut(t, s, org.ID, u.ID, aip.RoleUser)
	mustPut(t, s, org.ID, never.ID, aip.RoleUser)

	later := base.Add(time.Hour)
	tests := []struct {
		name  string
		touch time.Time
		want  time.Time
	}{
		{"first touch is recorded", base, base},
		{"later touch moves it forward", later, later},
		{"earlier touch never moves it back", base, later},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.TouchAuthenticated(ctx, u.ID, tt.touch); err != nil {
				t.Fatal(err)
			}
			want := tt.want.Truncate(time.Millisecond)
			got, err := s.FindUserByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.LastAuthenticatedAt.Equal(want) {
				t.Errorf("User.LastAuthenticatedAt = %v, want %v", got.LastAuthenticatedAt, want)
			}
			checkStoredTime(t, "User.LastAuthenticatedAt", got.LastAuthenticatedAt)
			c, err := s.FindCredentials(ctx, u.ID, org.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !c.User.LastAuthenticatedAt.Equal(want) {
				t.Errorf("Credentials.User.LastAuthenticatedAt = %v, want %v", c.User.LastAuthenticatedAt, want)
			}
			m, err := s.FindMember(ctx, org.ID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if m.LastAuthenticatedAt != want.UnixMilli() {
				t.Errorf("Member.LastAuthenticatedAt = %d, want %d", m.LastAuthenticatedAt, want.UnixMilli())
			}
		})
	}
	t.Run("never authenticated user has zero times", func(t *testing.T) {
		got, err := s.FindUserByID(ctx, never.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastAuthenticatedAt.IsZero() {
			t.Errorf("User.LastAuthenticatedAt = %v, want zero", got.LastAuthenticatedAt)
		}
		m, err := s.FindMember(ctx, org.ID, never.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.LastAuthenticatedAt != 0 {
			t.Errorf("Member.LastAuthenticatedAt = %d, want 0", m.LastAuthenticatedAt)
		}
	})
	t.Run("list members shows the epoch milliseconds", func(t *testing.T) {
		ms, err := s.ListMembers(ctx, org.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, m := range ms {
			got[m.Email] = m.LastAuthenticatedAt
		}
		want := map[string]int64{"never@example.com": 0, "touch@example.com": later.UnixMilli()}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("LastAuthenticatedAt by email mismatch (-want +got):\n%s", diff)
		}
	})
}

// record builds an audit record of orgID at time at.
func record(orgID string, at time.Time, crud, email, userID string) *aip.AuditRecord {
	return &aip.AuditRecord{
		ID:             aip.NewUUID(),
		UserEmail:      email,
		UserID:         userID,
		OrganizationID: orgID,
		Result:         "success",
		CRUD:           crud,
		Action:         "test." + crud,
		Source:         "api",
		Description:    fmt.Sprintf("%s at %s", crud, at.Format(time.RFC3339Nano)),
		EventTime:      aip.Time{Time: at},
	}
}

// ids returns the IDs of recs in order.
func ids(recs []*aip.AuditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// newestFirst returns the IDs of recs ordered by (EventTime, ID) descending,
// the order every listing must return.
func newestFirst(recs []*aip.AuditRecord) []string {
	sorted := slices.Clone(recs)
	slices.SortFunc(sorted, func(a, b *aip.AuditRecord) int {
		ta, tb := a.EventTime.Truncate(time.Millisecond), b.EventTime.Truncate(time.Millisecond)
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return ids(sorted)
}

func mustAudit(t *testing.T, s aip.Store, recs []*aip.AuditRecord) {
	t.Helper()
	if err := s.CreateAuditRecords(t.Context(), recs); err != nil {
		t.Fatalf("CreateAuditRecords: %v", err)
	}
}

func testAuditRecords(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	t.Run("batch round-trips every field newest first", func(t *testing.T) {
		s := open(t)
		org := mustOrg(t, s, "org")
		older := record(org.ID, base, "read", "a@example.com", "user-a")
		older.Result = "failure"
		newer := record(org.ID, base.Add(time.Second), "delete", "b@example.com", "user-b")
		// Stored and returned byte for byte, whitespace included.
		newer.Context = json.RawMessage(`{"agentIds":["x","y"], "count":3,"dryRun":true,"nested":{"name":"n","none":null}}`)
		mustAudit(t, s, []*aip.AuditRecord{older, newer})
		got, err := s.ListAuditRecords(ctx, aip.AuditFilter{OrgID: org.ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		wantNewer, wantOlder := *newer, *older
		wantNewer.EventTime = aip.Time{Time: newer.EventTime.Truncate(time.Millisecond)}
		wantOlder.EventTime = aip.Time{Time: older.EventTime.Truncate(time.Millisecond)}
		if diff := cmp.Diff([]*aip.AuditRecord{&wantNewer, &wantOlder}, got, timeOpts); diff != "" {
			t.Errorf("ListAuditRecords mismatch (-want +got):\n%s", diff)
		}
		for _, r := range got {
			checkStoredTime(t, "EventTime", r.EventTime.Time)
		}
	})
	t.Run("empty batch is a no-op", func(t *testing.T) {
		s := open(t)
		if err := s.CreateAuditRecords(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("re-sent record conflicts and its batch stores nothing", func(t *testing.T) {
		s := open(t)
		org := mustOrg(t, s, "org")
		kept := record(org.ID, base, "read", "a@example.com", "u")
		mustAudit(t, s, []*aip.AuditRecord{kept})
		fresh := record(org.ID, base.Add(time.Second), "read", "a@example.com", "u")
		resent := *kept
		err := s.CreateAuditRecords(ctx, []*aip.AuditRecord{fresh, &resent})
		wantCode(t, err, aip.ECONFLICT)
		got, err := s.ListAuditRecords(ctx, aip.AuditFilter{OrgID: org.ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{kept.ID}, ids(got)); diff != "" {
			t.Errorf("stored IDs mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("large batches round-trip whole", func(t *testing.T) {
		for _, n := range []int{1, 63, 64, 65, 200, 500} {
			t.Run(fmt.Sprintf("%d records", n), func(t *testing.T) {
				s := open(t)
				org := mustOrg(t, s, "org")
				recs := make([]*aip.AuditRecord, n)
				for i := range recs {
					recs[i] = record(org.ID, base.Add(time.Duration(i)*time.Millisecond), "read", "a@example.com", "u")
					if i%2 == 0 {
						recs[i].Context = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
					}
				}
				mustAudit(t, s, recs)
				got, err := s.ListAuditRecords(ctx, aip.AuditFilter{OrgID: org.ID, Limit: n + 1})
				if err != nil {
					t.Fatal(err)
				}
				want := make([]*aip.AuditRecord, n)
				for i, r := range recs {
					w := *r
					w.EventTime = aip.Time{Time: r.EventTime.Truncate(time.Millisecond)}
					want[n-1-i] = &w
				}
				if diff := cmp.Diff(want, got, timeOpts); diff != "" {
					t.Errorf("ListAuditRecords mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})
	t.Run("conflict deep in a large batch stores nothing", func(t *testing.T) {
		s := open(t)
		org := mustOrg(t, s, "org")
		kept := record(org.ID, base, "read", "a@example.com", "u")
		mustAudit(t, s, []*aip.AuditRecord{kept})
		recs := make([]*aip.AuditRecord, 150)
		for i := range recs {
			recs[i] = record(org.ID, base.Add(time.Duration(i+1)*time.Second), "read", "a@example.com", "u")
		}
		resent := *kept
		recs[140] = &resent
		err := s.CreateAuditRecords(ctx, recs)
		wantCode(t, err, aip.ECONFLICT)
		if !strings.Contains(err.Error(), kept.ID) {
			t.Errorf("error %q does not name the conflicting record %s", err, kept.ID)
		}
		got, err := s.ListAuditRecords(ctx, aip.AuditFilter{OrgID: org.ID, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{kept.ID}, ids(got)); diff != "" {
			t.Errorf("stored IDs mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("duplicate inside one batch conflicts", func(t *testing.T) {
		s := open(t)
		org := mustOrg(t, s, "org")
		r := record(org.ID, base, "read", "a@example.com", "u")
		dup := *r
		err := s.CreateAuditRecords(ctx, []*aip.AuditRecord{r, &dup})
		wantCode(t, err, aip.ECONFLICT)
	})
	t.Run("unknown org deep in a large batch is not found", func(t *testing.T) {
		s := open(t)
		org := mustOrg(t, s, "org")
		missing := aip.NewID24()
		recs := make([]*aip.AuditRecord, 100)
		for i := range recs {
			recs[i] = record(org.ID, base.Add(time.Duration(i)*time.Second), "read", "a@example.com", "u")
		}
		recs[99].OrganizationID = missing
		err := s.CreateAuditRecords(ctx, recs)
		wantCode(t, err, aip.ENOTFOUND)
		if !strings.Contains(err.Error(), missing) {
			t.Errorf("error %q does not name the missing organization %s", err, missing)
		}
		got, err := s.ListAuditRecords(ctx, aip.AuditFilter{OrgID: org.ID, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("stored %d records of a failed batch, want 0", len(got))
		}
	})
	t.Run("rejects bad batches and filters", func(t *testing.T) {
		s := open(t)
		org := mustOrg(t, s, "org")
		noID := record(org.ID, base, "read", "a@example.com", "u")
		noID.ID = ""
		noTime := record(org.ID, time.Time{}, "read", "a@example.com", "u")
		withContext := func(c string) *aip.AuditRecord {
			r := record(org.ID, base, "read", "a@example.com", "u")
			r.Context = json.RawMessage(c)
			return r
		}
		tests := []struct {
			name string
			err  func() error
			code string
		}{
			{"record without id is invalid", func() error { return s.CreateAuditRecords(ctx, []*aip.AuditRecord{noID}) }, aip.EINVALID},
			{"record without event time is invalid", func() error { return s.CreateAuditRecords(ctx, []*aip.AuditRecord{noTime}) }, aip.EINVALID},
			{"record of unknown org is not found", func() error {
				return s.CreateAuditRecords(ctx, []*aip.AuditRecord{record(aip.NewID24(), base, "read", "a@example.com", "u")})
			}, aip.ENOTFOUND},
			{"context that is an array is invalid", func() error { return s.CreateAuditRecords(ctx, []*aip.AuditRecord{withContext(`["x"]`)}) }, aip.EINVALID},
			{"context that is a string is invalid", func() error { return s.CreateAuditRecords(ctx, []*aip.AuditRecord{withContext(`"x"`)}) }, aip.EINVALID},
			{"context that is null is invalid", func() error { return s.CreateAuditRecords(ctx, []*aip.AuditRecord{withContext(`null`)}) }, aip.EINVALID},
			{"truncated context is invalid", func() error { return s.CreateAuditRecords(ctx, []*aip.AuditRecord{withContext(`{"a":`)}) }, aip.EINVALID},
			{"context with trailing data is invalid", func() error { return s.CreateAuditRecords(ctx, []*aip.AuditRecord{withContext(`{"a":1} {}`)}) }, aip.EINVALID},
			{"listing without org is invalid", func() error {
				_, err := s.ListAuditRecords(ctx, aip.AuditFilter{Limit: 10})
				return err
			}, aip.EINVALID},
			{"listing without limit is invalid", func() error {
				_, err := s.ListAuditRecords(ctx, aip.AuditFilter{OrgID: org.ID})
				return err
			}, aip.EINVALID},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, tt.err(), tt.code)
			})
		}
		t.Run("invalid context is named among records without one", func(t *testing.T) {
			bad := withContext(`{"a":`)
			bad.EventTime = aip.Time{Time: base.Add(time.Second)}
			err := s.CreateAuditRecords(ctx, []*aip.AuditRecord{withContext(``), bad})
			wantCode(t, err, aip.EINVALID)
			if !strings.Contains(err.Error(), bad.ID) {
				t.Errorf("error %q does not name the record %s", err, bad.ID)
			}
		})
	})
}

func testAuditFilters(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "org")
	t0 := base.Truncate(time.Millisecond)
	r0 := record(org.ID, t0, "create", "alice@example.com", "user-a")
	r1 := record(org.ID, t0.Add(1*time.Minute), "read", "Alice@Example.com", "user-a")
	r2 := record(org.ID, t0.Add(2*time.Minute), "delete", "bob@example.com", "user-b")
	r3 := record(org.ID, t0.Add(3*time.Minute), "delete", "alice@example.com", "user-a")
	r4 := record(org.ID, t0.Add(4*time.Minute), "update", "carol@example.com", "user-c")
	all := []*aip.AuditRecord{r0, r1, r2, r3, r4}
	mustAudit(t, s, all)

	tests := []struct {
		name string
		f    aip.AuditFilter
		want []*aip.AuditRecord
	}{
		{"no filter lists all newest first", aip.AuditFilter{}, []*aip.AuditRecord{r4, r3, r2, r1, r0}},
		{"limit cuts the newest", aip.AuditFilter{Limit: 2}, []*aip.AuditRecord{r4, r3}},
		{"from is inclusive", aip.AuditFilter{Range: aip.TimeRange{From: r2.EventTime.Time}}, []*aip.AuditRecord{r4, r3, r2}},
		{"until is exclusive", aip.AuditFilter{Range: aip.TimeRange{Until: r2.EventTime.Time}}, []*aip.AuditRecord{r1, r0}},
		{"until one ms later includes the record", aip.AuditFilter{Range: aip.TimeRange{Until: r2.EventTime.Add(time.Millisecond)}}, []*aip.AuditRecord{r2, r1, r0}},
		{"from one ms later excludes the record", aip.AuditFilter{Range: aip.TimeRange{From: r2.EventTime.Add(time.Millisecond)}}, []*aip.AuditRecord{r4, r3}},
		{"from and until bound both sides", aip.AuditFilter{Range: aip.TimeRange{From: r1.EventTime.Time, Until: r4.EventTime.Time}}, []*aip.AuditRecord{r3, r2, r1}},
		{"range in another zone means the same instants", aip.AuditFilter{Range: aip.TimeRange{
			From: r1.EventTime.In(time.FixedZone("EST", -5*3600)), Until: r3.EventTime.In(time.FixedZone("CEST", 2*3600)),
		}}, []*aip.AuditRecord{r2, r1}},
		{"operation matches crud", aip.AuditFilter{Operation: "delete"}, []*aip.AuditRecord{r3, r2}},
		{"unknown operation matches nothing", aip.AuditFilter{Operation: "purge"}, nil},
		{"user email ignores case", aip.AuditFilter{UserEmail: "ALICE@example.COM"}, []*aip.AuditRecord{r3, r1, r0}},
		{"user id matches exactly", aip.AuditFilter{UserID: "user-b"}, []*aip.AuditRecord{r2}},
		{"filters combine", aip.AuditFilter{Operation: "delete", UserEmail: "alice@example.com", Range: aip.TimeRange{From: r1.EventTime.Time}}, []*aip.AuditRecord{r3}},
		{"after continues past the cursor", aip.AuditFilter{After: &aip.Cursor{Time: r3.EventTime.Time, ID: r3.ID}}, []*aip.AuditRecord{r2, r1, r0}},
		{"after combines with filters", aip.AuditFilter{UserID: "user-a", After: &aip.Cursor{Time: r3.EventTime.Time, ID: r3.ID}}, []*aip.AuditRecord{r1, r0}},
		{"after below until is bounded by the cursor", aip.AuditFilter{Range: aip.TimeRange{Until: r4.EventTime.Time}, After: &aip.Cursor{Time: r3.EventTime.Time, ID: r3.ID}}, []*aip.AuditRecord{r2, r1, r0}},
		{"until below after is bounded by until", aip.AuditFilter{Range: aip.TimeRange{Until: r2.EventTime.Time}, After: &aip.Cursor{Time: r3.EventTime.Time, ID: r3.ID}}, []*aip.AuditRecord{r1, r0}},
		{"until at the cursor time stays exclusive", aip.AuditFilter{Range: aip.TimeRange{Until: r3.EventTime.Time}, After: &aip.Cursor{Time: r3.EventTime.Time, ID: r3.ID}}, []*aip.AuditRecord{r2, r1, r0}},
		{"after and from bound a window", aip.AuditFilter{Range: aip.TimeRange{From: r1.EventTime.Time}, After: &aip.Cursor{Time: r3.EventTime.Time, ID: r3.ID}}, []*aip.AuditRecord{r2, r1}},
		{"after the oldest is empty", aip.AuditFilter{After: &aip.Cursor{Time: r0.EventTime.Time, ID: r0.ID}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			f.OrgID = org.ID
			if f.Limit == 0 {
				f.Limit = 100
			}
			got, err := s.ListAuditRecords(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ids(tt.want), ids(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ListAuditRecords IDs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testAuditPaging(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	org := mustOrg(t, s, "org")
	other := mustOrg(t, s, "other")
	// 25 records over 4 distinct instants, so pages of 10 split ties, and the
	// same number in another org at the same instants.
	var recs, otherRecs []*aip.AuditRecord
	for i := range 25 {
		at := base.Add(time.Duration(i%4) * time.Second)
		recs = append(recs, record(org.ID, at, "read", "p@example.com", "user-p"))
		otherRecs = append(otherRecs, record(other.ID, at, "read", "p@example.com", "user-p"))
	}
	mustAudit(t, s, recs)
	mustAudit(t, s, otherRecs)

	tests := []struct {
		name  string
		limit int
		pages []int
	}{
		{"pages of 10 return every record once", 10, []int{10, 10, 5}},
		{"pages of 1 return every record once", 1, append(slices.Repeat([]int{1}, 25), 0)},
		{"exact pages of 5 end with an empty page", 5, []int{5, 5, 5, 5, 5, 0}},
		{"one page larger than the listing", 100, []int{25}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				got   []string
				sizes []int
				after *aip.Cursor
			)
			for range len(tt.pages) + 1 {
				page, err := s.ListAuditRecords(ctx, aip.AuditFilter{OrgID: org.ID, After: after, Limit: tt.limit})
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(page))
				got = append(got, ids(page)...)
				if len(page) < tt.limit {
					break
				}
				last := page[len(page)-1]
				after = &aip.Cursor{Time: last.EventTime.Time, ID: last.ID}
			}
			if diff := cmp.Diff(tt.pages, sizes); diff != "" {
				t.Errorf("page sizes mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(newestFirst(recs), got); diff != "" {
				t.Errorf("paged IDs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testAuditIsolation(t *testing.T, open func(t *testing.T) aip.Store) {
	ctx := t.Context()
	s := open(t)
	mine := mustOrg(t, s, "mine")
	theirs := mustOrg(t, s, "theirs")
	var own []*aip.AuditRecord
	var foreign []*aip.AuditRecord
	for i := range 6 {
		at := base.Add(time.Duration(i) * time.Minute)
		own = append(own, record(mine.ID, at, "delete", "shared@example.com", "shared-user"))
		// Theirs are interleaved in time and share every filterable value.
		foreign = append(foreign, record(theirs.ID, at.Add(30*time.Second), "delete", "shared@example.com", "shared-user"))
	}
	// One batch with both orgs: the store must file each record under its own org.
	mustAudit(t, s, append(append([]*aip.AuditRecord(nil), own...), foreign...))

	last := foreign[len(foreign)-1]
	filters := []struct {
		name string
		f    aip.AuditFilter
	}{
		{"no filter", aip.AuditFilter{}},
		{"operation", aip.AuditFilter{Operation: "delete"}},
		{"user email", aip.AuditFilter{UserEmail: "shared@example.com"}},
		{"user id", aip.AuditFilter{UserID: "shared-user"}},
		{"range", aip.AuditFilter{Range: aip.TimeRange{From: base.Truncate(time.Millisecond), Until: base.Add(time.Hour)}}},
		{"cursor from the other org", aip.AuditFilter{After: &aip.Cursor{Time: last.EventTime.Add(time.Hour), ID: last.ID}}},
	}
	for _, org := range []struct {
		name string
		id   string
		want []*aip.AuditRecord
	}{{"own org", mine.ID, own}, {"other org", theirs.ID, foreign}} {
		for _, tt := range filters {
			t.Run(fmt.Sprintf("%s lists only its own records with %s", org.name, tt.name), func(t *testing.T) {
				f := tt.f
				f.OrgID, f.Limit = org.id, 100
				got, err := s.ListAuditRecords(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got {
					if r.OrganizationID != org.id {
						t.Errorf("record %s of org %s listed for org %s", r.ID, r.OrganizationID, org.id)
					}
				}
				if diff := cmp.Diff(newestFirst(org.want), ids(got)); diff != "" {
					t.Errorf("ListAuditRecords IDs mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
	t.Run("unknown org lists nothing", func(t *testing.T) {
		got, err := s.ListAuditRecords(ctx, aip.AuditFilter{OrgID: aip.NewID24(), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("got %d records, want none", len(got))
		}
	})
}
