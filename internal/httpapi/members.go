package httpapi

import (
	"net/http"

	"github.com/aipsec/aip"
)

// listMembers is GET /v2/organizations/members: the whole list, token null.
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, p *principal) {
	enabledOnly, err := parseBool(r.URL.Query().Get("enabledOnly"), "enabledOnly")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	members, err := s.cfg.Store.ListMembers(r.Context(), p.OrgID, enabledOnly)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if members == nil {
		members = []*aip.Member{}
	}
	writeOK(w, struct {
		Members []*aip.Member `json:"members"`
		Token   *string       `json:"token"`
	}{members, nil})
}

// addMember is POST /v2/organizations/members {"id","role"}: it adds an
// existing user to the caller's organization.
func (s *Server) addMember(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		ID   string   `json:"id"`
		Role aip.Role `json:"role"`
	}
	if err := decodeJSON(p.Body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !aip.IsID24(req.ID) {
		s.writeError(w, r, aip.Errorf(aip.EINVALID, `"id" must be a user id (24 lower-case hex characters).`))
		return
	}
	if err := checkGrant(p, req.Role); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	if _, err := s.cfg.Store.FindMember(ctx, p.OrgID, req.ID); err == nil {
		s.writeError(w, r, aip.Errorf(aip.ECONFLICT, "User %s is already a member of this organization.", req.ID))
		return
	} else if aip.ErrorCode(err) != aip.ENOTFOUND {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.PutMember(ctx, p.OrgID, req.ID, req.Role); err != nil {
		if aip.ErrorCode(err) == aip.ENOTFOUND {
			err = aip.Errorf(aip.ENOTFOUND, "User %s was not found.", req.ID)
		}
		s.writeError(w, r, err)
		return
	}
	m, err := s.cfg.Store.FindMember(ctx, p.OrgID, req.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, m)
}

// removeMember is DELETE /v2/organizations/members/{userId} → 204. Only
// owners remove owners, and the last owner stays.
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	userID := r.PathValue("userId")
	m, err := s.cfg.Store.FindMember(ctx, p.OrgID, userID)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		s.writeError(w, r, aip.Errorf(aip.ENOTFOUND, "User %s is not a member of this organization.", userID))
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	if m.Role == aip.RoleOwner {
		if p.Role != aip.RoleOwner {
			s.writeError(w, r, aip.Errorf(aip.EFORBIDDEN, "The user is not allowed to perform this action: only owners remove owners."))
			return
		}
		n, err := s.cfg.Store.CountOwners(ctx, p.OrgID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if n <= 1 {
			s.writeError(w, r, aip.Errorf(aip.ECONFLICT, "The last owner of an organization cannot be removed."))
			return
		}
	}
	if err := s.cfg.Store.RemoveMember(ctx, p.OrgID, userID); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// checkGrant validates a requested role and that the caller may grant it:
// owners grant any role, users grant user or reader (400 / 403).
func checkGrant(p *principal, role aip.Role) error {
	if !role.Valid() {
		return aip.Errorf(aip.EINVALID, `"role" must be one of owner, user, reader.`)
	}
	if !p.Role.CanGrant(role) {
		return aip.Errorf(aip.EFORBIDDEN, "The user is not allowed to perform this action: role %s cannot grant role %s.", p.Role, role)
	}
	return nil
}

// parseBool reads an optional true/false query flag.
func parseBool(v, name string) (bool, error) {
	switch v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, aip.Errorf(aip.EINVALID, "%q must be true or false.", name)
}
