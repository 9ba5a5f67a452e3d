package storetest

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

// runWeb runs the web console store's part of the suite.
func runWeb(t *testing.T, open func(t *testing.T) aip.Store) {
	t.Run("web passwords", func(t *testing.T) { testWebPasswords(t, open) })
	t.Run("web memberships", func(t *testing.T) { testWebMemberships(t, open) })
	t.Run("web sessions", func(t *testing.T) { testWebSessions(t, open) })
	t.Run("web session expiry", func(t *testing.T) { testWebSessionExpiry(t, open) })
}

// webStore is the store's web console part.
func webStore(t *testing.T, s aip.Store) aip.WebStore {
	t.Helper()
	w, ok := any(s).(aip.WebStore)
	if !ok {
		t.Fatalf("%T does not implement aip.WebStore", s)
	}
	return w
}

func sessionHash(name string) []byte {
	h := sha256.Sum256([]byte(name))
	return h[:]
}

func mustSession(t *testing.T, w aip.WebStore, name, userID, orgID string, created time.Time) *aip.WebSession {
	t.Helper()
	s := &aip.WebSession{IDHash: sessionHash(name), UserID: userID, OrgID: orgID, CSRFToken: "csrf-" + name,
		CreatedAt: created, LastSeenAt: created}
	if err := w.CreateWebSession(t.Context(), s); err != nil {
		t.Fatalf("CreateWebSession(%s): %v", name, err)
	}
	return s
}

func testWebPasswords(t *testing.T, open func(t *testing.T) aip.Store) {
	t.Run("new user has no password", func(t *testing.T) {
		s := open(t)
		u := mustUser(t, s, "a@example.test", true)
		got, hash, err := webStore(t, s).FindPasswordHash(t.Context(), "a@example.test")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || hash != "" {
			t.Errorf("FindPasswordHash = (%s, %q), want (%s, \"\")", got.ID, hash, u.ID)
		}
	})
	t.Run("set password is found by email in any case", func(t *testing.T) {
		s := open(t)
		u := mustUser(t, s, "Mixed@Example.test", true)
		w := webStore(t, s)
		if err := w.SetPassword(t.Context(), u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"); err != nil {
			t.Fatal(err)
		}
		got, hash, err := w.FindPasswordHash(t.Context(), "mixed@example.TEST")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(u, got, timeOpts); diff != "" {
			t.Errorf("user (-want +got):\n%s", diff)
		}
		if want := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"; hash != want {
			t.Errorf("hash = %q, want %q", hash, want)
		}
	})
	t.Run("empty hash removes the password", func(t *testing.T) {
		s := open(t)
		u := mustUser(t, s, "a@example.test", true)
		w := webStore(t, s)
		for _, h := range []string{"first", ""} {
			if err := w.SetPassword(t.Context(), u.ID, h); err != nil {
				t.Fatal(err)
			}
		}
		if _, hash, err := w.FindPasswordHash(t.Context(), u.Email); err != nil || hash != "" {
			t.Errorf("FindPasswordHash = %q, %v; want \"\", nil", hash, err)
		}
	})
	t.Run("setting a password ends only that user's sessions", func(t *testing.T) {
		s := open(t)
		a := mustUser(t, s, "a@example.test", true)
		b := mustUser(t, s, "b@example.test", true)
		w := webStore(t, s)
		mustSession(t, w, "a1", a.ID, "", base)
		mustSession(t, w, "b1", b.ID, "", base)
		if err := w.SetPassword(t.Context(), a.ID, "new"); err != nil {
			t.Fatal(err)
		}
		_, err := w.FindWebSession(t.Context(), sessionHash("a1"))
		wantCode(t, err, aip.ENOTFOUND)
		if _, err := w.FindWebSession(t.Context(), sessionHash("b1")); err != nil {
			t.Errorf("other user's session: %v", err)
		}
	})
	t.Run("unknown user and email are not found", func(t *testing.T) {
		s := open(t)
		w := webStore(t, s)
		wantCode(t, w.SetPassword(t.Context(), "nosuchuser", "x"), aip.ENOTFOUND)
		_, _, err := w.FindPasswordHash(t.Context(), "nobody@example.test")
		wantCode(t, err, aip.ENOTFOUND)
	})
}

func testWebMemberships(t *testing.T, open func(t *testing.T) aip.Store) {
	t.Run("lists the user's organizations by name", func(t *testing.T) {
		s := open(t)
		beta := mustOrg(t, s, "Beta")
		alpha := mustOrg(t, s, "Alpha")
		other := mustOrg(t, s, "Other")
		u := mustUser(t, s, "a@example.test", true)
		v := mustUser(t, s, "v@example.test", true)
		mustPut(t, s, beta.ID, u.ID, aip.RoleReader)
		mustPut(t, s, alpha.ID, u.ID, aip.RoleOwner)
		mustPut(t, s, other.ID, v.ID, aip.RoleOwner)
		got, err := webStore(t, s).ListWebMemberships(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []aip.WebMembership{
			{OrgID: alpha.ID, OrgName: "Alpha", Role: aip.RoleOwner},
			{OrgID: beta.ID, OrgName: "Beta", Role: aip.RoleReader},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("memberships (-want +got):\n%s", diff)
		}
	})
	t.Run("user without memberships has none", func(t *testing.T) {
		s := open(t)
		u := mustUser(t, s, "a@example.test", true)
		got, err := webStore(t, s).ListWebMemberships(t.Context(), u.ID)
		if err != nil || len(got) != 0 {
			t.Errorf("ListWebMemberships = %v, %v; want none", got, err)
		}
	})
}

func testWebSessions(t *testing.T, open func(t *testing.T) aip.Store) {
	t.Run("create round-trips every field to the millisecond", func(t *testing.T) {
		s := open(t)
		o := mustOrg(t, s, "Org")
		u := mustUser(t, s, "a@example.test", true)
		w := webStore(t, s)
		created := mustSession(t, w, "s1", u.ID, o.ID, base)
		got, err := w.FindWebSession(t.Context(), sessionHash("s1"))
		if err != nil {
			t.Fatal(err)
		}
		want := &aip.WebSession{IDHash: sessionHash("s1"), UserID: u.ID, OrgID: o.ID, CSRFToken: "csrf-s1",
			CreatedAt: base.Truncate(time.Millisecond), LastSeenAt: base.Truncate(time.Millisecond)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("session (-want +got):\n%s", diff)
		}
		if !created.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("CreateWebSession left CreatedAt %v, want %v", created.CreatedAt, want.CreatedAt)
		}
	})
	t.Run("session without organization picks one", func(t *testing.T) {
		s := open(t)
		o := mustOrg(t, s, "Org")
		u := mustUser(t, s, "a@example.test", true)
		w := webStore(t, s)
		mustSession(t, w, "s1", u.ID, "", base)
		got, err := w.FindWebSession(t.Context(), sessionHash("s1"))
		if err != nil || got.OrgID != "" {
			t.Fatalf("FindWebSession = %+v, %v; want no organization", got, err)
		}
		if err := w.SetWebSessionOrg(t.Context(), sessionHash("s1"), o.ID); err != nil {
			t.Fatal(err)
		}
		if got, err = w.FindWebSession(t.Context(), sessionHash("s1")); err != nil || got.OrgID != o.ID {
			t.Errorf("after SetWebSessionOrg: %+v, %v; want org %s", got, err, o.ID)
		}
		wantCode(t, w.SetWebSessionOrg(t.Context(), sessionHash("s1"), "nosuchorg"), aip.ENOTFOUND)
		wantCode(t, w.SetWebSessionOrg(t.Context(), sessionHash("gone"), o.ID), aip.ENOTFOUND)
	})
	t.Run("touch moves last seen forward only", func(t *testing.T) {
		s := open(t)
		u := mustUser(t, s, "a@example.test", true)
		w := webStore(t, s)
		mustSession(t, w, "s1", u.ID, "", base)
		later := base.Add(10 * time.Minute)
		for _, at := range []time.Time{later, base.Add(time.Minute)} {
			if err := w.TouchWebSession(t.Context(), sessionHash("s1"), at); err != nil {
				t.Fatal(err)
			}
		}
		got, err := w.FindWebSession(t.Context(), sessionHash("s1"))
		if err != nil {
			t.Fatal(err)
		}
		if want := later.Truncate(time.Millisecond); !got.LastSeenAt.Equal(want) {
			t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, want)
		}
		wantCode(t, w.TouchWebSession(t.Context(), sessionHash("gone"), later), aip.ENOTFOUND)
	})
	t.Run("delete ends the session and is idempotent", func(t *testing.T) {
		s := open(t)
		u := mustUser(t, s, "a@example.test", true)
		w := webStore(t, s)
		mustSession(t, w, "s1", u.ID, "", base)
		mustSession(t, w, "s2", u.ID, "", base)
		for range 2 {
			if err := w.DeleteWebSession(t.Context(), sessionHash("s1")); err != nil {
				t.Fatal(err)
			}
		}
		_, err := w.FindWebSession(t.Context(), sessionHash("s1"))
		wantCode(t, err, aip.ENOTFOUND)
		if _, err := w.FindWebSession(t.Context(), sessionHash("s2")); err != nil {
			t.Errorf("other session: %v", err)
		}
	})
	t.Run("rejects bad sessions", func(t *testing.T) {
		s := open(t)
		u := mustUser(t, s, "a@example.test", true)
		w := webStore(t, s)
		mustSession(t, w, "s1", u.ID, "", base)
		tests := []struct {
			name string
			s    *aip.WebSession
			code string
		}{
			{"duplicate id hash conflicts", &aip.WebSession{IDHash: sessionHash("s1"), UserID: u.ID, CSRFToken: "x", CreatedAt: base, LastSeenAt: base}, aip.ECONFLICT},
			{"unknown user is not found", &aip.WebSession{IDHash: sessionHash("s2"), UserID: "nosuchuser", CSRFToken: "x", CreatedAt: base, LastSeenAt: base}, aip.ENOTFOUND},
			{"unknown organization is not found", &aip.WebSession{IDHash: sessionHash("s3"), UserID: u.ID, OrgID: "nosuchorg", CSRFToken: "x", CreatedAt: base, LastSeenAt: base}, aip.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, w.CreateWebSession(t.Context(), tt.s), tt.code)
			})
		}
		if _, err := w.FindWebSession(t.Context(), sessionHash("s2")); aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Errorf("failed create left a session: %v", err)
		}
	})
}

func testWebSessionExpiry(t *testing.T, open func(t *testing.T) aip.Store) {
	s := open(t)
	u := mustUser(t, s, "a@example.test", true)
	w := webStore(t, s)
	mustSession(t, w, "old", u.ID, "", base.Add(-13*time.Hour))
	if err := w.TouchWebSession(t.Context(), sessionHash("old"), base); err != nil {
		t.Fatal(err)
	}
	mustSession(t, w, "idle", u.ID, "", base.Add(-time.Hour))
	mustSession(t, w, "fresh", u.ID, "", base.Add(-time.Hour))
	if err := w.TouchWebSession(t.Context(), sessionHash("fresh"), base); err != nil {
		t.Fatal(err)
	}
	n, err := w.DeleteExpiredWebSessions(t.Context(), base.Add(-30*time.Minute), base.Add(-12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("deleted %d sessions, want 2", n)
	}
	var left []string
	for _, name := range []string{"old", "idle", "fresh"} {
		got, err := w.FindWebSession(t.Context(), sessionHash(name))
		if err == nil && bytes.Equal(got.IDHash, sessionHash(name)) {
			left = append(left, name)
		} else if aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Fatalf("FindWebSession(%s): %v", name, err)
		}
	}
	if diff := cmp.Diff([]string{"fresh"}, left); diff != "" {
		t.Errorf("sessions left (-want +got):\n%s", diff)
	}
}
