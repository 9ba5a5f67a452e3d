package web

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/ratelimit"
	"github.com/aipsec/aip/internal/store/sqlite"
)

func TestWritePage(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "aip.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h, err := New(Config{Store: db, Limiter: ratelimit.NewMemory(nil)})
	if err != nil {
		t.Fatal(err)
	}
	org := &aip.Organization{Name: "Org"}
	if err := db.CreateOrganization(t.Context(), org); err != nil {
		t.Fatal(err)
	}
	// session signs in a user with role and returns its cookie value.
	session := func(t *testing.T, role aip.Role) string {
		t.Helper()
		u := &aip.User{Email: string(role) + "@example.test", Enabled: true}
		if err := db.CreateUser(t.Context(), u, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.PutMember(t.Context(), org.ID, u.ID, role); err != nil {
			t.Fatal(err)
		}
		id := []byte(strings.Repeat(string(role[0]), 32))
		sum := sha256.Sum256(id)
		now := time.Now()
		if err := db.CreateWebSession(t.Context(), &aip.WebSession{IDHash: sum[:], UserID: u.ID, OrgID: org.ID,
			CSRFToken: "token", CreatedAt: now, LastSeenAt: now}); err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(id)
	}
	var ran []aip.Role
	page := h.writePage(func(w http.ResponseWriter, r *http.Request, s *Session) {
		if SessionFrom(r.Context()) != s {
			t.Errorf("SessionFrom does not return the page's session")
		}
		ran = append(ran, s.Role)
		w.WriteHeader(http.StatusNoContent)
	})
	tests := []struct {
		name string
		role aip.Role
		want int
	}{
		{"lets an owner act", aip.RoleOwner, http.StatusNoContent},
		{"lets a user act", aip.RoleUser, http.StatusNoContent},
		{"refuses a reader", aip.RoleReader, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/console/thing", strings.NewReader(url.Values{"csrf": {"token"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: SessionCookie, Value: session(t, tt.role)})
			rec := httptest.NewRecorder()
			page.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
		})
	}
	if want := []aip.Role{aip.RoleOwner, aip.RoleUser}; len(ran) != 2 || ran[0] != want[0] || ran[1] != want[1] {
		t.Errorf("page ran for %v, want %v", ran, want)
	}
}
