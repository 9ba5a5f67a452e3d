package aip

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in the HTTP layer; the
// store and service layers return them so that handlers never guess.
const (
	EINVALID      = "invalid"      // 400: bad parameters or body
	EUNAUTHORIZED = "unauthorized" // 401: authentication failed
	EFORBIDDEN    = "forbidden"    // 403: authenticated but not allowed
	ENOTFOUND     = "not_found"    // 404
	EMETHOD       = "method"       // 405
	ECONFLICT     = "conflict"     // 409: already exists
	ETOOLARGE     = "too_large"    // 413: body over the limit
	ERATELIMIT    = "rate_limited" // 429
	EINTERNAL     = "internal"     // 500: never shown to clients verbatim
	EUNAVAILABLE  = "unavailable"  // 503: overloaded, try again
)

// Error is the application error: a code from the list above and a
// human-readable message that is safe to show to API clients.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("aip error: code=%s message=%s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted, client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain,
// EINTERNAL for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of the first *Error in err's
// chain; any other error yields a generic message so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error has occurred."
}
