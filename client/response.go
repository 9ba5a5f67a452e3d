package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aipsec/aip/hawk"
)

// Rate is the organization's request budget as the server reported it on a
// response (X-Rate-Limit-* headers; zero when absent).
type Rate struct {
	// Limit is the number of requests allowed per window.
	Limit int
	// Remaining is how many of them are left.
	Remaining int
	// Reset is how long until a request would be allowed again; zero when
	// not limited. The wire value is milliseconds.
	Reset time.Duration
}

// Response wraps the HTTP response of an API call. Its Body stays readable:
// the client buffered it to check the response signature.
type Response struct {
	*http.Response
	// NextToken continues a paged listing; "" on the last page.
	NextToken string
	// Rate is the rate limit state carried by the response.
	Rate Rate
}

// ErrorResponse is a non-2xx answer. The server's body is
// {"errors":["message", …]}; a body of another shape leaves Errors empty.
type ErrorResponse struct {
	// Response is the HTTP response; its Body is still readable.
	Response *http.Response
	// Errors are the server's human-readable messages.
	Errors []string
}

// Error reports the request, the status and the server's messages.
func (e *ErrorResponse) Error() string {
	var b strings.Builder
	b.WriteString("client: ")
	if e.Response == nil {
		b.WriteString("error response")
	} else {
		if req := e.Response.Request; req != nil {
			fmt.Fprintf(&b, "%s %s: ", req.Method, req.URL.Redacted())
		}
		if e.Response.Status != "" {
			b.WriteString(e.Response.Status)
		} else {
			fmt.Fprintf(&b, "%d %s", e.Response.StatusCode, http.StatusText(e.Response.StatusCode))
		}
	}
	if len(e.Errors) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Errors, "; "))
	}
	return b.String()
}

// StatusCode is the HTTP status of the answer, 0 if unknown.
func (e *ErrorResponse) StatusCode() int {
	if e.Response == nil {
		return 0
	}
	return e.Response.StatusCode
}

// AuthError is a 401: the server did not accept the Hawk signature.
type AuthError struct {
	ErrorResponse
	// WWWAuthenticate is the raw WWW-Authenticate header of the answer.
	WWWAuthenticate string
	// Reason is its error attribute, e.g. "Bad mac" or "Stale timestamp".
	Reason string
}

// Error adds the Hawk reason when the body named none.
func (e *AuthError) Error() string {
	s := e.ErrorResponse.Error()
	if e.Reason != "" && len(e.Errors) == 0 {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap exposes the embedded *ErrorResponse to errors.As.
func (e *AuthError) Unwrap() error { return &e.ErrorResponse }

// RateLimitError is a 429: the organization's or the caller's IP's request
// budget is spent.
type RateLimitError struct {
	// Rate is the rate limit state sent with the answer.
	Rate Rate
	// RetryAfter is how long the server asks the client to wait.
	RetryAfter time.Duration
	ErrorResponse
}

// Error adds how long to wait.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s (retry after %v)", e.ErrorResponse.Error(), e.RetryAfter)
}

// Unwrap exposes the embedded *ErrorResponse to errors.As.
func (e *RateLimitError) Unwrap() error { return &e.ErrorResponse }

// checkResponse turns a non-2xx answer into the matching typed error;
// now estimates the server's clock, for a Retry-After given as a date.
func checkResponse(resp *http.Response, body []byte, now time.Time) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	er := ErrorResponse{Response: resp}
	var env struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil {
		er.Errors = env.Errors
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		ae := &AuthError{ErrorResponse: er, WWWAuthenticate: resp.Header.Get("WWW-Authenticate")}
		if ae.WWWAuthenticate != "" {
			if _, _, reason, err := hawk.ParseWWWAuthenticate(ae.WWWAuthenticate); err == nil {
				ae.Reason = reason
			}
		}
		return ae
	case http.StatusTooManyRequests:
		return &RateLimitError{
			Rate:          parseRate(resp.Header),
			RetryAfter:    parseRetryAfter(resp.Header.Get("Retry-After"), now),
			ErrorResponse: er,
		}
	}
	return &er
}

// parseRate reads the X-Rate-Limit-* headers; a missing or malformed one
// counts as zero, a reset over a day as a day.
func parseRate(h http.Header) Rate {
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	// Capped at a day so that a hostile value cannot overflow the Duration.
	resetMs := min(num("X-Rate-Limit-Reset"), int(24*time.Hour/time.Millisecond))
	return Rate{
		Limit:     num("X-Rate-Limit-Limit"),
		Remaining: num("X-Rate-Limit-Remaining"),
		Reset:     time.Duration(resetMs) * time.Millisecond,
	}
}

// parseRetryAfter accepts both forms of Retry-After: delay seconds and an
// HTTP date (measured from now). Anything else, or a past date, is zero;
// anything over a day is a day.
func parseRetryAfter(v string, now time.Time) time.Duration {
	// Capped so that a hostile value cannot overflow the Duration.
	const most = 24 * time.Hour
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		switch {
		case n < 0:
			return 0
		case n > int64(most/time.Second):
			return most
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), most)
	}
	return 0
}
