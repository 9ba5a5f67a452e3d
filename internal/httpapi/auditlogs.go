package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/aipsec/aip"
)

const (
	auditPageSize      = 50
	auditDefaultWindow = 30 * 24 * time.Hour
)

// listAuditLogs is GET /v2/auditlogs: newest first, 50 a page, 30 days by
// default, filtered by from, until, operation, userEmail and userId.
func (s *Server) listAuditLogs(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	// The old docs spell it userID; clients use both.
	if q.Get("userId") == "" && q.Get("userID") != "" {
		q.Set("userId", q.Get("userID"))
	}
	lq, err := s.parseListQuery(q, p.OrgID, "auditlogs", "from", "until", "operation", "userEmail", "userId")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := lq.Filters
	rng, err := lq.timeRange(auditDefaultWindow)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch op := f.Get("operation"); op {
	case "", "create", "read", "update", "delete":
	default:
		s.writeError(w, r, aip.Errorf(aip.EINVALID, `"operation" must be one of create, read, update, delete.`))
		return
	}
	recs, err := s.cfg.Store.ListAuditRecords(r.Context(), aip.AuditFilter{
		OrgID:     p.OrgID,
		Range:     rng,
		Operation: f.Get("operation"),
		UserEmail: f.Get("userEmail"),
		UserID:    f.Get("userId"),
		After:     lq.After,
		Limit:     auditPageSize + 1,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	recs, token := cutPage(s, lq, p.OrgID, recs, auditPageSize, func(rec *aip.AuditRecord) aip.Cursor {
		return aip.Cursor{Time: rec.EventTime.Time, ID: rec.ID}
	})
	for _, rec := range recs {
		if len(rec.Context) == 0 {
			rec.Context = json.RawMessage(`{}`)
		}
	}
	writeOK(w, struct {
		Recs  []*aip.AuditRecord `json:"recs"`
		Token *string            `json:"token"`
	}{recs, token})
}
