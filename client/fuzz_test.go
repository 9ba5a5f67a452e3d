package client

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

// FuzzCheckResponse feeds arbitrary error answers (status, body and the
// headers the client parses) through the error path: it must never panic,
// must keep the status and must never report a negative wait or rate.
func FuzzCheckResponse(f *testing.F) {
	f.Add(400, []byte(`{"errors":["bad from"]}`), "", "", "")
	f.Add(401, []byte(`{"errors":["Stale timestamp"]}`), `Hawk ts="1365741469", tsm="b4Qqhz8OUBq21saghHLV1ktwlXE72T1xtTEZkSlWizA=", error="Stale timestamp"`, "", "")
	f.Add(401, []byte(`{"errors":"x"}`), `Hawk`, "", "")
	f.Add(401, []byte(`nope`), `Hawk ts="abc", error="`, "", "")
	f.Add(429, []byte(`Too Many Requests`), "", "3", "2500")
	f.Add(429, []byte(`{"errors":[1,2]}`), "", "Sun, 06 Nov 1994 08:49:37 GMT", "-1")
	f.Add(429, []byte{}, "", "99999999999999999999", "99999999999999999999")
	f.Add(502, []byte("<html>"), "", "", "")
	f.Add(204, []byte(nil), "", "", "")
	f.Fuzz(func(t *testing.T, status int, body []byte, wwwAuth, retryAfter, reset string) {
		if status < 100 || status > 999 {
			t.Skip()
		}
		h := http.Header{}
		h.Set("WWW-Authenticate", wwwAuth)
		h.Set("Retry-After", retryAfter)
		h.Set("X-Rate-Limit-Reset", reset)
		resp := &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body))}
		err := checkResponse(resp, body, time.Unix(1700000000, 0))
		if status >= 200 && status <= 299 {
			if err != nil {
				t.Fatalf("status %d gave error %v", status, err)
			}
			return
		}
		var er *ErrorResponse
		if !errors.As(err, &er) || er.StatusCode() != status {
			t.Fatalf("status %d gave %v, want *ErrorResponse with that status", status, err)
		}
		_ = err.Error()
		var rle *RateLimitError
		if errors.As(err, &rle) {
			if rle.RetryAfter < 0 || rle.RetryAfter > 24*time.Hour || rle.Rate.Reset < 0 {
				t.Fatalf("RetryAfter %v, Reset %v out of range", rle.RetryAfter, rle.Rate.Reset)
			}
		}
	})
}

// FuzzParseRetryAfter checks that no header value yields a wait outside
// [0, 24h].
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "3", " 7 ", "-5", "soon", "99999999999999999999", "Sun, 06 Nov 1994 08:49:37 GMT", "Wed, 21 Oct 2099 07:28:00 GMT"} {
		f.Add(s)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, now); d < 0 || d > 24*time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v", v, d)
		}
	})
}
