package postgres

import (
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

// openNode opens another handle on db's schema, as a second aipd node
// sharing the database would.
func openNode(t *testing.T, db *DB) *DB {
	t.Helper()
	var schema string
	if err := db.sql.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	node, err := Open(t.Context(), u.String())
	if err != nil {
		t.Fatalf("Open second node: %v", err)
	}
	t.Cleanup(func() { node.Close() })
	return node
}

func mustAccount(t *testing.T, db *DB, email string) *aip.User {
	t.Helper()
	u := &aip.User{Email: email, Enabled: true}
	if err := db.CreateUser(t.Context(), u, []byte("sealed:"+email)); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func TestRemoveLastOwner(t *testing.T) {
	db := openSchema(t)
	ctx := t.Context()
	org := &aip.Organization{Name: "org"}
	if err := db.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	owner := mustAccount(t, db, "owner@example.com")
	reader := mustAccount(t, db, "reader@example.com")
	if err := db.PutMember(ctx, org.ID, owner.ID, aip.RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMember(ctx, org.ID, reader.ID, aip.RoleReader); err != nil {
		t.Fatal(err)
	}

	t.Run("refuses to remove the only owner", func(t *testing.T) {
		err := db.RemoveMember(ctx, org.ID, owner.ID)
		if got := aip.ErrorCode(err); got != aip.ECONFLICT {
			t.Fatalf("RemoveMember(only owner) code = %q (%v), want %q", got, err, aip.ECONFLICT)
		}
		if _, err := db.FindMember(ctx, org.ID, owner.ID); err != nil {
			t.Errorf("owner after refused removal: %v", err)
		}
	})
	t.Run("removes a non-owner", func(t *testing.T) {
		if err := db.RemoveMember(ctx, org.ID, reader.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("removes a demoted owner once another owner exists", func(t *testing.T) {
		if err := db.PutMember(ctx, org.ID, reader.ID, aip.RoleOwner); err != nil {
			t.Fatal(err)
		}
		if err := db.RemoveMember(ctx, org.ID, owner.ID); err != nil {
			t.Fatal(err)
		}
		got, err := db.CountOwners(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != 1 {
			t.Errorf("CountOwners = %d, want 1", got)
		}
	})
}

// TestConcurrentOwnerRemovals removes the last two owners of an
// organization at once from two nodes, many times over: exactly one
// removal must succeed and one owner must stay.
func TestConcurrentOwnerRemovals(t *testing.T) {
	db := openSchema(t)
	nodes := []*DB{db, openNode(t, db)}
	ctx := t.Context()
	for round := range 20 {
		org := &aip.Organization{Name: "org"}
		if err := db.CreateOrganization(ctx, org); err != nil {
			t.Fatal(err)
		}
		owners := []*aip.User{
			mustAccount(t, db, "a"+org.ID+"@example.com"),
			mustAccount(t, db, "b"+org.ID+"@example.com"),
		}
		for _, u := range owners {
			if err := db.PutMember(ctx, org.ID, u.ID, aip.RoleOwner); err != nil {
				t.Fatal(err)
			}
		}
		start := make(chan struct{})
		errs := make([]error, len(owners))
		var wg sync.WaitGroup
		for i, u := range owners {
			wg.Go(func() {
				<-start
				errs[i] = nodes[i].RemoveMember(ctx, org.ID, u.ID)
			})
		}
		close(start)
		wg.Wait()

		var codes []string
		for _, err := range errs {
			codes = append(codes, aip.ErrorCode(err))
		}
		if !cmp.Equal(codes, []string{"", aip.ECONFLICT}) && !cmp.Equal(codes, []string{aip.ECONFLICT, ""}) {
			t.Fatalf("round %d: removal errors = %v, want one success and one %s", round, errs, aip.ECONFLICT)
		}
		n, err := db.CountOwners(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("round %d: CountOwners = %d, want 1", round, n)
		}
	}
}

// TestCredentialsSeenByOtherNodes checks that FindCredentials on one node
// shows a change committed by another on its very next call: nothing is
// cached per node.
func TestCredentialsSeenByOtherNodes(t *testing.T) {
	db := openSchema(t)
	other := openNode(t, db)
	ctx := t.Context()
	org := &aip.Organization{Name: "org"}
	if err := db.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	u := mustAccount(t, db, "rotating@example.com")
	if err := db.PutMember(ctx, org.ID, u.ID, aip.RoleUser); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func() error
		key    string
		role   aip.Role
	}{
		{"rotated key", func() error { return db.SetAPIKey(ctx, u.ID, []byte("rotated")) }, "rotated", aip.RoleUser},
		{"changed role", func() error { return db.PutMember(ctx, org.ID, u.ID, aip.RoleReader) }, "rotated", aip.RoleReader},
		{"removed membership", func() error { return db.RemoveMember(ctx, org.ID, u.ID) }, "rotated", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+" shows on the other node at once", func(t *testing.T) {
			if _, err := other.FindCredentials(ctx, u.ID, org.ID); err != nil {
				t.Fatal(err)
			}
			if err := tt.change(); err != nil {
				t.Fatal(err)
			}
			got, err := other.FindCredentials(ctx, u.ID, org.ID)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.EncryptedKey) != tt.key || got.Role != tt.role {
				t.Errorf("credentials = key %q role %q, want key %q role %q", got.EncryptedKey, got.Role, tt.key, tt.role)
			}
		})
	}
}

// TestConcurrentInvites creates invites for one address from several
// nodes at once: each replaces the previous one and one stays pending.
func TestConcurrentInvites(t *testing.T) {
	db := openSchema(t)
	nodes := []*DB{db, openNode(t, db)}
	ctx := t.Context()
	org := &aip.Organization{Name: "org"}
	if err := db.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	const n = 8
	invs := make([]*aip.Invite, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		invs[i] = &aip.Invite{
			OrgID: org.ID, Email: "Same@Example.com", Role: aip.RoleUser,
			InvitedBy: "inviter", TokenHash: []byte{byte(i)}, ExpiresAt: time.Now().Add(time.Hour),
		}
		if i%2 == 0 {
			invs[i].Email = "same@example.com" // the same address in another case
		}
		wg.Go(func() { errs[i] = nodes[i%2].CreateInvite(ctx, invs[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("CreateInvite %d: %v", i, err)
		}
	}
	var pending int
	for _, inv := range invs {
		if _, err := db.FindPendingInvite(ctx, inv.TokenHash); err == nil {
			pending++
		} else if aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Fatal(err)
		}
	}
	if pending != 1 {
		t.Errorf("pending invites = %d, want 1", pending)
	}
}

func TestAuditContextChecks(t *testing.T) {
	db := openSchema(t)
	ctx := t.Context()
	org := &aip.Organization{Name: "org"}
	if err := db.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	deep := func(n int) string {
		return `{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`
	}
	tests := []struct {
		name    string
		context string
		code    string
	}{
		{"accepts a context nested at the limit", deep(maxContextDepth), ""},
		{"rejects a context nested beyond the limit", deep(maxContextDepth + 1), aip.EINVALID},
		{"brackets inside strings do not count", `{"a":"` + strings.Repeat("[", 2000) + `"}`, ""},
		{"rejects invalid UTF-8", "{\"a\":\"\xff\"}", aip.EINVALID},
		{"rejects an escaped quote ending nothing", `{"a":"\"}`, aip.EINVALID},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &aip.AuditRecord{
				ID: aip.NewUUID(), OrganizationID: org.ID, UserID: "u", UserEmail: "a@example.com",
				Result: "success", CRUD: "read", Action: "test.read", Source: "api",
				EventTime: aip.Time{Time: time.UnixMilli(int64(i + 1))},
				Context:   json.RawMessage(tt.context),
			}
			err := db.CreateAuditRecords(ctx, []*aip.AuditRecord{r})
			if got := aip.ErrorCode(err); got != tt.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.code)
			}
			if tt.code != "" {
				return
			}
			got, err := db.ListAuditRecords(ctx, aip.AuditFilter{OrgID: org.ID, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || string(got[0].Context) != tt.context {
				t.Errorf("stored context differs from %.40q", tt.context)
			}
		})
	}
}
