package web

import (
	"log/slog"
	"net/http"

	"github.com/aipsec/aip"
)

// overviewView is the data of the overview page.
type overviewView struct {
	// Open counts the active alerts of the organization by severity
	// (1, 2, 3), over all time.
	Open      []aip.SeverityCount
	OpenTotal int
}

// overview is the landing page: who is signed in where, and the open
// alerts of the organization by severity.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request, s *Session) {
	counts, err := h.cfg.Store.CountAlertsBySeverity(r.Context(), s.OrgID, aip.AlertActive, aip.TimeRange{})
	if err != nil {
		h.cfg.Logger.Error("web overview: count alerts", slog.Any("error", err))
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong. Please try again.")
		return
	}
	v := overviewView{Open: counts}
	for _, c := range counts {
		v.OpenTotal += c.Count
	}
	h.renderPage(w, r, s, "overview", v)
}
