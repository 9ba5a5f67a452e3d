package web

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/aipsec/aip"
)

// inviteTTL is how long an invite stays valid, as in the API.
const inviteTTL = 7 * 24 * time.Hour

// settingsView is the data of the settings page.
type settingsView struct {
	Members    []*aip.Member
	Webhooks   []*aip.Webhook
	S3         []*aip.S3Enrollment
	Roles      []aip.Role // the roles the session may grant
	CanRotate  bool
	CanDeploy  bool
	InviteForm inviteForm
	// Notice is the outcome of the action that led here; Error a refusal.
	Notice, Error string
	// Secret is shown once, on the answer to the POST that made it; it is
	// never stored in the session or logged.
	Secret *secretView
}

// inviteForm is the invite form as typed.
type inviteForm struct {
	Email string
	Role  string
	Error string
}

// secretView is a credential shown once with what to do with it.
type secretView struct {
	Title, Label, Value, Help string
	// Command is an example of its use, empty when there is none.
	Command string
}

// settings is GET /console/settings.
func (h *Handler) settings(w http.ResponseWriter, r *http.Request, s *Session) {
	h.renderSettings(w, r, s, http.StatusOK, &settingsView{Notice: noticeOf(r.URL.Query().Get("done"))})
}

// noticeOf is the message of a finished action named in the redirect.
func noticeOf(done string) string {
	switch done {
	case "removed":
		return "The member was removed."
	}
	return ""
}

// renderSettings loads what the settings page lists into v and renders it.
func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, s *Session, status int, v *settingsView) {
	ctx := r.Context()
	var err error
	if v.Members, err = h.cfg.Store.ListMembers(ctx, s.OrgID, false); err != nil {
		h.internalError(w, r, "list members", err)
		return
	}
	if v.Webhooks, err = h.cfg.Store.ListWebhooks(ctx, s.OrgID); err != nil {
		h.internalError(w, r, "list webhooks", err)
		return
	}
	if v.S3, err = h.cfg.Store.ListS3Enrollments(ctx, s.OrgID); err != nil {
		h.internalError(w, r, "list s3 enrollments", err)
		return
	}
	for _, role := range []aip.Role{aip.RoleReader, aip.RoleUser, aip.RoleOwner} {
		if s.Role.CanGrant(role) {
			v.Roles = append(v.Roles, role)
		}
	}
	if v.InviteForm.Role == "" {
		v.InviteForm.Role = string(aip.RoleReader)
	}
	v.CanRotate = s.CanWrite() && h.cfg.RotateKey != nil
	v.CanDeploy = s.CanWrite() && h.cfg.CreateDeployKey != nil
	h.renderPageStatus(w, r, status, s, "settings", v)
}

// invite is POST /console/settings/invites {email, role}: it stores a
// pending invite as the API's invite does (same address rule, same grant
// rule, same expiry, only the token's SHA-256 stored). The console has no
// mailer, so the accept instructions are shown once on the answer, where
// the API would mail or log them, for the inviter to pass on.
func (h *Handler) invite(w http.ResponseWriter, r *http.Request, s *Session) {
	f := inviteForm{Email: strings.TrimSpace(r.PostForm.Get("email")), Role: r.PostForm.Get("role")}
	role := aip.Role(f.Role)
	a, err := mail.ParseAddress(f.Email)
	switch {
	case err != nil || a.Name != "" || a.Address != f.Email || len(f.Email) > 254:
		f.Error = "Enter a plain email address, like name@example.com."
	case !role.Valid():
		f.Error = "Choose one of the roles owner, user or reader."
	case !s.Role.CanGrant(role):
		f.Error = "Your role (" + string(s.Role) + ") cannot grant the role " + string(role) + "."
	}
	if f.Error != "" {
		h.Audit(r, s, "create", "user-invite", false)
		h.renderSettings(w, r, s, http.StatusUnprocessableEntity, &settingsView{InviteForm: f})
		return
	}
	b, err := randomToken(32)
	if err != nil {
		h.internalError(w, r, "invite token", err)
		return
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	now := h.now()
	inv := &aip.Invite{
		OrgID: s.OrgID, Email: a.Address, Role: role, Status: aip.InviteStatusPending,
		InvitedBy: s.User.ID, TokenHash: sum[:], CreatedAt: now, ExpiresAt: now.Add(inviteTTL),
	}
	if err := h.cfg.Store.CreateInvite(r.Context(), inv); err != nil {
		h.Audit(r, s, "create", "user-invite", false)
		h.internalError(w, r, "create invite", err)
		return
	}
	h.Audit(r, s, "create", "user-invite", true)
	link := h.baseURL(r) + "/v2/organizations/invites/accept"
	h.renderSettings(w, r, s, http.StatusOK, &settingsView{
		Notice: "Invited " + a.Address + " as " + string(role) + ".",
		Secret: &secretView{
			Title: "Invite token", Label: "Accept token for " + a.Address, Value: token,
			Help: "Pass this token on to " + a.Address + ": it is shown only now. The invite expires at " +
				aip.FormatTime(inv.ExpiresAt) + ". The answer to the accept request holds the new user's API key.",
			Command: "curl -X POST " + link + " -H 'Content-Type: application/json' -d '{\"token\":\"" + token + "\"}'",
		},
	})
}

// removeMember is POST /console/settings/members/{userId}/remove, with the
// API's rules: only owners remove owners, and the last owner stays.
func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, s *Session) {
	ctx := r.Context()
	userID := r.PathValue("userId")
	fail := func(status int, msg string) {
		h.Audit(r, s, "delete", "user-revoke", false)
		h.renderSettings(w, r, s, status, &settingsView{Error: msg})
	}
	m, err := h.cfg.Store.FindMember(ctx, s.OrgID, userID)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		fail(http.StatusNotFound, "That user is not a member of this organization.")
		return
	} else if err != nil {
		h.internalError(w, r, "find member", err)
		return
	}
	if m.Role == aip.RoleOwner {
		if s.Role != aip.RoleOwner {
			fail(http.StatusForbidden, "Only owners remove owners.")
			return
		}
		n, err := h.cfg.Store.CountOwners(ctx, s.OrgID)
		if err != nil {
			h.internalError(w, r, "count owners", err)
			return
		}
		if n <= 1 {
			fail(http.StatusConflict, "The last owner of an organization cannot be removed.")
			return
		}
	}
	if err := h.cfg.Store.RemoveMember(ctx, s.OrgID, userID); err != nil {
		h.Audit(r, s, "delete", "user-revoke", false)
		h.internalError(w, r, "remove member", err)
		return
	}
	h.Audit(r, s, "delete", "user-revoke", true)
	http.Redirect(w, r, Prefix+"settings?done=removed", http.StatusSeeOther)
}

// rotateKey is POST /console/settings/apikey: the signed-in user gets a
// new API key, shown once on this answer; the old one stops working.
func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, s *Session) {
	if h.cfg.RotateKey == nil {
		h.renderError(w, r, http.StatusNotFound, "API key rotation is not available on this server.")
		return
	}
	key, err := h.cfg.RotateKey(r.Context(), s.User.ID)
	if err != nil {
		h.Audit(r, s, "update", "rotate-api-key", false)
		h.internalError(w, r, "rotate api key", err)
		return
	}
	h.Audit(r, s, "update", "rotate-api-key", true)
	h.renderSettings(w, r, s, http.StatusOK, &settingsView{
		Notice: "Your API key was replaced; the old one no longer works.",
		Secret: &secretView{Title: "Your new API key", Label: "API key of user " + s.User.ID, Value: key,
			Help: "Copy it now: it is shown only once. Update TS_API_KEY wherever you used the old key."},
	})
}

// createDeployKey is POST /console/settings/deploykeys: a new agent deploy
// key for the organization, shown once on this answer.
func (h *Handler) createDeployKey(w http.ResponseWriter, r *http.Request, s *Session) {
	if h.cfg.CreateDeployKey == nil {
		h.renderError(w, r, http.StatusNotFound, "Deploy keys cannot be created on this server.")
		return
	}
	key, err := h.cfg.CreateDeployKey(r.Context(), s.OrgID)
	if err != nil {
		h.Audit(r, s, "create", "create-deploy-key", false)
		h.internalError(w, r, "create deploy key", err)
		return
	}
	h.Audit(r, s, "create", "create-deploy-key", true)
	h.renderSettings(w, r, s, http.StatusOK, &settingsView{
		Notice: "A deploy key was created.",
		Secret: &secretView{Title: "New deploy key", Label: "Deploy key of " + s.OrgName, Value: key,
			Help: "Agents enroll into this organization with it. Copy it now: only its SHA-256 is stored."},
	})
}

// baseURL is the URL clients reach this server at: the public URL, else
// the scheme and host of the request (the API's rule).
func (h *Handler) baseURL(r *http.Request) string {
	if u := h.cfg.PublicURL; u != nil {
		return strings.TrimSuffix(u.String(), "/")
	}
	scheme := "http"
	if h.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
