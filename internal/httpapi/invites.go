package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/keyring"
)

// inviteTTL is how long an invite link stays valid.
const inviteTTL = 7 * 24 * time.Hour

// invite is PUT or POST /v2/organizations/invites {"email","role"}: it
// stores a pending invite and mails the accept link (or logs it when no
// SMTP server is configured).
func (s *Server) invite(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Email string   `json:"email"`
		Role  aip.Role `json:"role"`
	}
	if err := decodeJSON(p.Body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	email, err := parseEmail(req.Email)
	if err == nil {
		err = checkGrant(p, req.Role)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	token := newInviteToken()
	sum := sha256.Sum256([]byte(token))
	now := s.now().UTC()
	inv := &aip.Invite{
		OrgID: p.OrgID, Email: email, Role: req.Role, Status: aip.InviteStatusPending,
		InvitedBy: p.User.ID, TokenHash: sum[:], CreatedAt: now, ExpiresAt: now.Add(inviteTTL),
	}
	if err := s.cfg.Store.CreateInvite(r.Context(), inv); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.deliverInvite(r, inv, token)
	writeOK(w, map[string]string{"sentToEmail": email, "role": string(req.Role), "status": inv.Status})
}

// deliverInvite mails the accept instructions in the background, or logs
// them when no mailer is configured so that an operator can pass them on.
func (s *Server) deliverInvite(r *http.Request, inv *aip.Invite, token string) {
	link := s.baseURL(r) + "/v2/organizations/invites/accept"
	body := fmt.Sprintf("You have been invited to an aip organization (%s) with the role %q.\n\n"+
		"To accept, send the invite token to %s, for example:\n\n"+
		"  curl -X POST %s -H 'Content-Type: application/json' -d '{\"token\":\"%s\"}'\n\n"+
		"The answer holds your user id and, if you have no account yet, your API key (shown only once).\n"+
		"The invite expires at %s.\n", inv.OrgID, inv.Role, link, link, token, aip.FormatTime(inv.ExpiresAt))
	if s.cfg.Mailer == nil {
		s.logger.Info("invite created; no SMTP server configured, pass the accept instructions on",
			slog.String("org_id", inv.OrgID), slog.String("email", inv.Email),
			slog.String("accept_url", link), slog.String("invite_token", token))
		return
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.cfg.Mailer.Send(ctx, inv.Email, "Your aip invitation", body); err != nil {
			s.logger.Error("send invite mail", slog.String("org_id", inv.OrgID), slog.String("email", inv.Email), slog.Any("error", err))
		}
	}()
}

// acceptInvite is POST /v2/organizations/invites/accept {"token",
// "displayName"?}. The token is the credential, so Hawk does not apply. A
// new user is created with an API key that is shown once, in this answer.
func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Token       string `json:"token"`
		DisplayName string `json:"displayName"`
	}
	if err := decodeJSON(body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Token == "" {
		s.writeError(w, r, aip.Errorf(aip.EINVALID, `"token" is required.`))
		return
	}
	if len(req.DisplayName) > 200 {
		s.writeError(w, r, aip.Errorf(aip.EINVALID, `"displayName" must be at most 200 characters.`))
		return
	}
	ctx := r.Context()
	sum := sha256.Sum256([]byte(req.Token))
	inv, err := s.cfg.Store.FindPendingInvite(ctx, sum[:])
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		s.writeError(w, r, aip.Errorf(aip.ENOTFOUND, "The invite was not found or was already used."))
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.now().Before(inv.ExpiresAt) {
		s.writeError(w, r, aip.Errorf(aip.EINVALID, "The invite has expired; ask for a new one."))
		return
	}
	// Claim the invite first: of two concurrent accepts only one proceeds.
	if err := s.cfg.Store.AcceptInvite(ctx, inv.ID); err != nil {
		if aip.ErrorCode(err) == aip.ENOTFOUND {
			err = aip.Errorf(aip.ENOTFOUND, "The invite was not found or was already used.")
		}
		s.writeError(w, r, err)
		return
	}
	resp := struct {
		UserID         string   `json:"userId"`
		OrganizationID string   `json:"organizationId"`
		Email          string   `json:"email"`
		Role           aip.Role `json:"role"`
		APIKey         string   `json:"apiKey,omitempty"`
	}{OrganizationID: inv.OrgID, Email: inv.Email, Role: inv.Role}

	u, err := s.cfg.Store.FindUserByEmail(ctx, inv.Email)
	switch aip.ErrorCode(err) {
	case "":
	case aip.ENOTFOUND:
		name := strings.TrimSpace(req.DisplayName)
		if name == "" {
			name = inv.Email
		}
		key := keyring.NewAPIKey()
		u = &aip.User{ID: aip.NewID24(), Email: inv.Email, DisplayName: name, Enabled: true}
		sealed, serr := s.cfg.Keyring.Seal(u.ID, key)
		if serr != nil {
			s.writeError(w, r, serr)
			return
		}
		if err := s.cfg.Store.CreateUser(ctx, u, sealed); err != nil {
			s.writeError(w, r, err)
			return
		}
		resp.APIKey = key
	default:
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.PutMember(ctx, inv.OrgID, u.ID, inv.Role); err != nil {
		s.writeError(w, r, err)
		return
	}
	resp.UserID = u.ID
	w.Header().Set("Cache-Control", "no-store")
	writeOK(w, resp)
}

// parseEmail accepts a bare address ("a@b.example"), nothing else.
func parseEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(s) || len(s) > 254 {
		return "", aip.Errorf(aip.EINVALID, `"email" must be a plain email address.`)
	}
	return a.Address, nil
}

func newInviteToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// baseURL is the URL clients reach this server at: the configured public
// URL, else the scheme and Host of the request.
func (s *Server) baseURL(r *http.Request) string {
	if u := s.cfg.PublicURL; u != nil {
		return strings.TrimSuffix(u.String(), "/")
	}
	scheme := "http"
	if s.isHTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
