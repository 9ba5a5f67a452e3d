package cli

import (
	"errors"
	"net/http"

	"github.com/aipsec/aip/client"
)

// Exit codes of aip, stable for scripts (documented in the root help).
const (
	// ExitOK is success.
	ExitOK = 0
	// ExitError is any failure without a more precise code.
	ExitError = 1
	// ExitUsage is a bad command line or configuration, including a
	// missing credential.
	ExitUsage = 2
	// ExitAuth is an authentication or permission failure (401, 403).
	ExitAuth = 3
	// ExitNotFound is a 404: the named object does not exist.
	ExitNotFound = 4
	// ExitRateLimited is a 429 the client did not wait out.
	ExitRateLimited = 5
	// ExitServer is a 5xx answer.
	ExitServer = 6
)

// exitHelp is the exit code table printed in the root help.
const exitHelp = `Exit codes:
  0  success
  1  other error
  2  usage or configuration error (bad flag, missing credential)
  3  authentication or permission refused (HTTP 401, 403)
  4  not found (HTTP 404)
  5  rate limited (HTTP 429 not waited out)
  6  server error (HTTP 5xx)`

// errNotFound marks a lookup the CLI itself made and found nothing (a
// ruleset named on the command line, say), so that it exits like a 404.
var errNotFound = errors.New("not found")

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if isUsage(err) {
		return ExitUsage
	}
	if errors.Is(err, errNotFound) {
		return ExitNotFound
	}
	var rle *client.RateLimitError
	if errors.As(err, &rle) {
		return ExitRateLimited
	}
	var er *client.ErrorResponse
	if errors.As(err, &er) {
		switch s := er.StatusCode(); {
		case s == http.StatusUnauthorized || s == http.StatusForbidden:
			return ExitAuth
		case s == http.StatusNotFound:
			return ExitNotFound
		case s == http.StatusTooManyRequests:
			return ExitRateLimited
		case s >= 500:
			return ExitServer
		}
	}
	return ExitError
}
