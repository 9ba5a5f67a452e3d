package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/aipsec/aip"
)

// contentTypeJSON is the type of every JSON response. The charset parameter
// keeps Python clients from guessing; Hawk strips it before hashing.
const contentTypeJSON = "application/json; charset=utf-8"

// errorBody is the one error shape of the v2 API.
type errorBody struct {
	Errors []string `json:"errors"`
}

// statusByCode maps application error codes to HTTP statuses.
var statusByCode = map[string]int{
	aip.EINVALID:      http.StatusBadRequest,
	aip.EUNAUTHORIZED: http.StatusUnauthorized,
	aip.EFORBIDDEN:    http.StatusForbidden,
	aip.ENOTFOUND:     http.StatusNotFound,
	aip.EMETHOD:       http.StatusMethodNotAllowed,
	aip.ECONFLICT:     http.StatusConflict,
	aip.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	aip.ERATELIMIT:    http.StatusTooManyRequests,
	aip.EINTERNAL:     http.StatusInternalServerError,
	aip.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// errorStatus returns the HTTP status for err.
func errorStatus(err error) int {
	if s, ok := statusByCode[aip.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// writeJSON writes v as compact JSON with status. Encoding into a buffer
// first means a marshalling failure still produces a clean 500.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"errors":["An internal error has occurred."]}`)
	} else {
		buf.Truncate(buf.Len() - 1) // Encode's trailing newline: keep bodies byte-identical to the reference.
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeOK writes a 200 JSON response.
func writeOK(w http.ResponseWriter, v any) { writeJSON(w, http.StatusOK, v) }

// writeNoContent writes a 204 without a body.
func writeNoContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// writeErrorMessage writes {"errors":[msg]} with status.
func writeErrorMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Errors: []string{msg}})
}

// writeError writes err as the v2 error body. Internal errors are logged
// with the request id and answered with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := errorStatus(err)
	if status >= 500 {
		s.logger.ErrorContext(r.Context(), "request failed",
			slog.String("request_id", requestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Any("error", err))
	}
	if status == http.StatusServiceUnavailable {
		// Unavailable is temporary by definition: say when to come back.
		w.Header().Set("Retry-After", "1")
	}
	writeErrorMessage(w, status, aip.ErrorMessage(err))
}
