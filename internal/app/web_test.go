package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aipsec/aip/internal/app"
)

func TestConsoleIsMounted(t *testing.T) {
	inst := start(t, app.Config{})
	base := "http://" + inst.Addr()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, path   string
		wantStatus   int
		wantLocation string
		wantBody     string
		wantType     string
	}{
		{"redirects the root to the console", "/", http.StatusFound, "/console/", "", ""},
		{"sends a signed-out visitor to the sign-in page", "/console/", http.StatusSeeOther, "/console/login", "", ""},
		{"serves the sign-in page", "/console/login", http.StatusOK, "", `<label for="password">`, "text/html; charset=utf-8"},
		{"keeps the API's JSON for other paths", "/v2/nope", http.StatusNotFound, "", "", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noFollow.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantBody, body)
			}
			if got := resp.Header.Get("Content-Type"); tt.wantType != "" && !strings.HasPrefix(got, tt.wantType) {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
		})
	}
}
