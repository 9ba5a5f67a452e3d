package web_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/web"
	"github.com/google/go-cmp/cmp"
)

// settingsEnv is a console whose key rotation and deploy keys work as in
// aipd: the same keyring seals the keys the test opens.
type settingsEnv struct {
	*env
	kr *keyring.Keyring
}

func newSettingsEnv(t *testing.T) *settingsEnv {
	t.Helper()
	master := make([]byte, keyring.KeySize)
	_, _ = rand.Read(master)
	kr, err := keyring.New(master)
	if err != nil {
		t.Fatal(err)
	}
	se := &settingsEnv{kr: kr}
	se.env = newEnv(t, func(c *web.Config) {
		c.RotateKey = func(ctx context.Context, userID string) (string, error) {
			key := keyring.NewAPIKey()
			sealed, err := kr.Seal(userID, key)
			if err != nil {
				return "", err
			}
			return key, c.Store.SetAPIKey(ctx, userID, sealed)
		}
		c.CreateDeployKey = func(ctx context.Context, orgID string) (string, error) {
			key := "aipdk_" + aip.NewUUID()
			sum := sha256.Sum256([]byte(key))
			return key, c.Store.CreateDeployKey(ctx, &aip.DeployKey{OrgID: orgID, KeyHash: sum[:]})
		}
	})
	return se
}

// settingsBrowser signs a new browser in as email (member of one org).
func (e *env) settingsBrowser(t *testing.T, email string) *browser {
	t.Helper()
	b := e.browser(t)
	if p := b.signIn(email, password); p.status != http.StatusOK {
		t.Fatalf("sign in %s: %d on %s", email, p.status, p.path)
	}
	return b
}

var secretRe = regexp.MustCompile(`readonly value="([^"]*)" data-secret`)

// secret returns the credential shown once on p, "" when none.
func secret(p page) string {
	m := secretRe.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestRotateKey(t *testing.T) {
	e := newSettingsEnv(t)
	u := e.user(t, "user@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleUser})
	ctx := t.Context()
	oldKey := keyring.NewAPIKey()
	sealed, err := e.kr.Seal(u.ID, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetAPIKey(ctx, u.ID, sealed); err != nil {
		t.Fatal(err)
	}
	b := e.settingsBrowser(t, "user@example.test")

	settings := b.get("/console/settings")
	p := b.post("/console/settings/apikey", url.Values{"csrf": {csrf(t, settings)}})
	if p.status != http.StatusOK {
		t.Fatalf("rotate: %d:\n%s", p.status, p.body)
	}
	key := secret(p)
	if len(key) != keyring.APIKeyLen {
		t.Fatalf("the page shows %q, want a new %d-character key", key, keyring.APIKeyLen)
	}
	c, err := e.store.FindCredentials(ctx, u.ID, e.orgA.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.kr.Open(u.ID, c.EncryptedKey)
	if err != nil {
		t.Fatal(err)
	}
	if stored != key || stored == oldKey {
		t.Errorf("stored key equals shown key: %v; equals the old key: %v; want true, false", stored == key, stored == oldKey)
	}
	if again := b.get("/console/settings"); strings.Contains(again.body, key) {
		t.Error("the settings page shows the key a second time")
	}
	if strings.Contains(b.sessionCookie(), key) {
		t.Error("the key is in the session cookie")
	}
}

func TestCreateDeployKey(t *testing.T) {
	e := newSettingsEnv(t)
	e.user(t, "owner@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
	b := e.settingsBrowser(t, "owner@example.test")

	p := b.post("/console/settings/deploykeys", url.Values{"csrf": {csrf(t, b.get("/console/settings"))}})
	key := secret(p)
	if p.status != http.StatusOK || !strings.HasPrefix(key, "aipdk_") {
		t.Fatalf("create deploy key: %d, shown %q", p.status, key)
	}
	sum := sha256.Sum256([]byte(key))
	dk, err := e.store.FindDeployKey(t.Context(), sum[:])
	if err != nil {
		t.Fatal(err)
	}
	if dk.OrgID != e.orgA.ID {
		t.Errorf("deploy key of %s, want %s", dk.OrgID, e.orgA.ID)
	}
}

func TestRemoveMember(t *testing.T) {
	for _, tt := range []struct {
		name       string
		actor      aip.Role
		target     aip.Role
		moreOwners bool // a second owner besides the target
		wantStatus int
		wantGone   bool
	}{
		{"lets an owner remove a reader", aip.RoleOwner, aip.RoleReader, false, http.StatusOK, true},
		{"lets a user remove a user", aip.RoleUser, aip.RoleUser, true, http.StatusOK, true},
		{"refuses a user removing an owner", aip.RoleUser, aip.RoleOwner, true, http.StatusForbidden, false},
		{"lets an owner remove another owner", aip.RoleOwner, aip.RoleOwner, false, http.StatusOK, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newSettingsEnv(t)
			e.user(t, "actor@example.test", map[string]aip.Role{e.orgA.ID: tt.actor})
			target := e.user(t, "target@example.test", map[string]aip.Role{e.orgA.ID: tt.target, e.orgB.ID: aip.RoleOwner})
			if tt.moreOwners {
				e.user(t, "owner2@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
			}
			b := e.settingsBrowser(t, "actor@example.test")
			p := b.post("/console/settings/members/"+target.ID+"/remove", url.Values{"csrf": {csrf(t, b.get("/console/settings"))}})
			if p.status != tt.wantStatus {
				t.Errorf("status %d, want %d", p.status, tt.wantStatus)
			}
			_, err := e.store.FindMember(t.Context(), e.orgA.ID, target.ID)
			if gone := aip.ErrorCode(err) == aip.ENOTFOUND; gone != tt.wantGone {
				t.Errorf("removed: %v, want %v", gone, tt.wantGone)
			}
			if _, err := e.store.FindMember(t.Context(), e.orgB.ID, target.ID); err != nil {
				t.Errorf("membership in org B: %v", err)
			}
		})
	}
	t.Run("keeps the last owner", func(t *testing.T) {
		e := newSettingsEnv(t)
		owner := e.user(t, "owner@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
		b := e.settingsBrowser(t, "owner@example.test")
		p := b.post("/console/settings/members/"+owner.ID+"/remove", url.Values{"csrf": {csrf(t, b.get("/console/settings"))}})
		if p.status != http.StatusConflict || !strings.Contains(p.body, "The last owner of an organization cannot be removed.") {
			t.Errorf("status %d, want 409 with the reason", p.status)
		}
		if _, err := e.store.FindMember(t.Context(), e.orgA.ID, owner.ID); err != nil {
			t.Errorf("the last owner is gone: %v", err)
		}
	})
	t.Run("answers 404 for a member of another organization", func(t *testing.T) {
		e := newSettingsEnv(t)
		e.user(t, "owner@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner})
		other := e.user(t, "b@example.test", map[string]aip.Role{e.orgB.ID: aip.RoleReader})
		b := e.settingsBrowser(t, "owner@example.test")
		p := b.post("/console/settings/members/"+other.ID+"/remove", url.Values{"csrf": {csrf(t, b.get("/console/settings"))}})
		if p.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", p.status)
		}
		if _, err := e.store.FindMember(t.Context(), e.orgB.ID, other.ID); err != nil {
			t.Errorf("org B's member is gone: %v", err)
		}
	})
}

func TestInvite(t *testing.T) {
	e := newSettingsEnv(t)
	e.user(t, "user@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleUser})
	b := e.settingsBrowser(t, "user@example.test")

	t.Run("stores a pending invite and shows its token once", func(t *testing.T) {
		p := b.post("/console/settings/invites", url.Values{"csrf": {csrf(t, b.get("/console/settings"))},
			"email": {"new@example.test"}, "role": {"reader"}})
		token := secret(p)
		if p.status != http.StatusOK || token == "" {
			t.Fatalf("invite: %d, token %q", p.status, token)
		}
		sum := sha256.Sum256([]byte(token))
		inv, err := e.store.FindPendingInvite(t.Context(), sum[:])
		if err != nil {
			t.Fatal(err)
		}
		got := []string{inv.OrgID, inv.Email, string(inv.Role), inv.Status}
		want := []string{e.orgA.ID, "new@example.test", "reader", aip.InviteStatusPending}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("invite (-want +got):\n%s", diff)
		}
		if ttl := inv.ExpiresAt.Sub(inv.CreatedAt); ttl != 7*24*time.Hour {
			t.Errorf("invite valid for %v, want 7 days", ttl)
		}
	})
	for _, tt := range []struct {
		name, email, role, want string
	}{
		{"refuses a role the inviter cannot grant", "x@example.test", "owner", "Your role (user) cannot grant the role owner."},
		{"refuses an address with a name", "X <x@example.test>", "reader", "Enter a plain email address, like name@example.com."},
		{"refuses an unknown role", "x@example.test", "admin", "Choose one of the roles owner, user or reader."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.post("/console/settings/invites", url.Values{"csrf": {csrf(t, b.get("/console/settings"))},
				"email": {tt.email}, "role": {tt.role}})
			m := regexp.MustCompile(`id="invite-error">([^<]*)<`).FindStringSubmatch(p.body)
			if p.status != http.StatusUnprocessableEntity || m == nil || html.UnescapeString(m[1]) != tt.want {
				t.Errorf("status %d, message %q; want 422 with %q", p.status, m, tt.want)
			}
			if secret(p) != "" {
				t.Error("a refused invite shows a token")
			}
		})
	}
}

func TestSettingsIntegrations(t *testing.T) {
	e := newSettingsEnv(t)
	e.user(t, "reader@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleReader})
	ctx := t.Context()
	hook := &aip.Webhook{OrgID: e.orgA.ID, URL: "https://hooks.example.test/aip", SecretSealed: []byte("sealed")}
	if err := e.store.CreateWebhook(ctx, hook); err != nil {
		t.Fatal(err)
	}
	idle := &aip.Webhook{OrgID: e.orgA.ID, URL: "https://idle.example.test/", SecretSealed: []byte("sealed")}
	if err := e.store.CreateWebhook(ctx, idle); err != nil {
		t.Fatal(err)
	}
	hidden := &aip.Webhook{OrgID: e.orgB.ID, URL: "https://org-b.example.test/", SecretSealed: []byte("sealed")}
	if err := e.store.CreateWebhook(ctx, hidden); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.EnqueueDeliveries(ctx, e.orgA.ID, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	due, err := e.store.LeaseDueDeliveries(ctx, time.Now().Add(time.Minute), 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range due {
		if d.WebhookID != hook.ID {
			continue
		}
		a := aip.DeliveryAttempt{DeliveryStatus: aip.DeliveryStatus{State: aip.DeliveryAbandoned, Status: 410, At: time.Now(), Error: "gone"}}
		if err := e.store.RecordDeliveryAttempt(ctx, d.ID, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.PutS3Enrollment(ctx, &aip.S3Enrollment{OrgID: e.orgA.ID, S3Bucket: "aip-events", Region: "eu-west-1", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.RecordExportError(ctx, e.orgA.ID, "aip-events", "access denied"); err != nil {
		t.Fatal(err)
	}
	b := e.settingsBrowser(t, "reader@example.test")
	p := b.get("/console/settings")
	if p.status != http.StatusOK {
		t.Fatalf("GET settings: %d", p.status)
	}
	rowText := func(attr, key string) string {
		m := regexp.MustCompile(`(?s)<tr ` + attr + `="` + regexp.QuoteMeta(key) + `">(.*?)</tr>`).FindStringSubmatch(p.body)
		if m == nil {
			return ""
		}
		return strings.Join(strings.Fields(html.UnescapeString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], " "))), " ")
	}

	t.Run("shows webhooks with their last delivery", func(t *testing.T) {
		if got := rowText("data-webhook", hook.ID); !strings.HasPrefix(got, hook.URL) || !strings.Contains(got, "abandoned (HTTP 410) at ") || !strings.HasSuffix(got, ": gone") {
			t.Errorf("webhook row %q", got)
		}
		if got := rowText("data-webhook", idle.ID); !strings.HasSuffix(got, "No delivery yet") {
			t.Errorf("idle webhook row %q", got)
		}
		if strings.Contains(p.body, hidden.URL) {
			t.Error("org A's settings show org B's webhook")
		}
	})
	t.Run("shows the S3 export status", func(t *testing.T) {
		if got, want := rowText("data-bucket", "aip-events"), "aip-events Enabled Never 0 access denied"; got != want {
			t.Errorf("S3 row %q, want %q", got, want)
		}
	})
	t.Run("shows a reader no action", func(t *testing.T) {
		for _, action := range []string{"/console/settings/apikey", "/console/settings/deploykeys", "/console/settings/invites", "/remove"} {
			if strings.Contains(p.body, action) {
				t.Errorf("the reader's settings page offers %s", action)
			}
		}
	})
	t.Run("refuses a reader every action", func(t *testing.T) {
		owner := e.user(t, "owner@example.test", map[string]aip.Role{e.orgA.ID: aip.RoleOwner, e.orgB.ID: aip.RoleOwner})
		token := csrf(t, p)
		for _, path := range []string{"/console/settings/apikey", "/console/settings/deploykeys", "/console/settings/invites",
			"/console/settings/members/" + owner.ID + "/remove"} {
			r := b.post(path, url.Values{"csrf": {token}, "email": {"x@example.test"}, "role": {"reader"}})
			if r.status != http.StatusForbidden || secret(r) != "" {
				t.Errorf("POST %s: %d, want 403 and no secret", path, r.status)
			}
		}
		if _, err := e.store.FindMember(ctx, e.orgA.ID, owner.ID); err != nil {
			t.Errorf("the reader removed a member: %v", err)
		}
	})
	t.Run("refuses posts without the CSRF token", func(t *testing.T) {
		ob := e.settingsBrowser(t, "owner@example.test")
		// The owner belongs to two organizations: pick A.
		if r := ob.post("/console/orgs", url.Values{"csrf": {csrf(t, ob.get("/console/orgs"))}, "org": {e.orgA.ID}}); r.status != http.StatusOK {
			t.Fatalf("pick org A: %d", r.status)
		}
		for _, path := range []string{"/console/settings/apikey", "/console/settings/deploykeys", "/console/settings/invites"} {
			r := ob.post(path, url.Values{"email": {"x@example.test"}, "role": {"reader"}})
			if r.status != http.StatusForbidden || secret(r) != "" {
				t.Errorf("POST %s without CSRF: %d, want 403 and no secret", path, r.status)
			}
		}
	})
}
