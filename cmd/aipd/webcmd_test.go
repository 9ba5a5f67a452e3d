package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aipsec/aip/internal/ratelimit"
	"github.com/aipsec/aip/internal/web"
)

// aipdStdin runs the command line with stdin and returns its output lines.
func aipdStdin(t *testing.T, stdin string, args ...string) ([]string, error) {
	t.Helper()
	var stdout, stderr syncBuffer
	root := newRootCommand(&stdout, &stderr)
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	err := root.ExecuteContext(context.Background())
	if strings.Contains(stdout.String()+stderr.String(), "correct horse") {
		t.Errorf("the password was echoed: %q %q", stdout.String(), stderr.String())
	}
	out := strings.TrimSpace(stdout.String())
	if out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), err
}

func TestAdminUserPasswd(t *testing.T) {
	dir, b := dataDir(t)
	const pw = "correct horse battery staple"

	t.Run("sets a password that signs in to the console", func(t *testing.T) {
		lines, err := aipdStdin(t, pw+"\n", "admin", "--data", dir, "user", "passwd", "--user", b.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if got := value(t, lines, "PASSWORD_SET"); got != "true" {
			t.Errorf("PASSWORD_SET = %q, want true", got)
		}
		db, _ := openStore(t, dir)
		u, err := db.FindUserByID(t.Context(), b.UserID)
		if err != nil {
			t.Fatal(err)
		}
		h, err := web.New(web.Config{Store: db, Limiter: ratelimit.NewMemory(nil)})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.Get(srv.URL + "/console/login")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
		if token == nil {
			t.Fatalf("no csrf field in the sign-in form")
		}
		resp, err = c.PostForm(srv.URL+"/console/login", url.Values{"email": {u.Email}, "password": {pw}, "csrf": {string(token[1])}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Request.URL.Path != "/console/" || !strings.Contains(string(body), "Signed in as <strong>"+u.Email) {
			t.Errorf("sign-in landed on %s (%d):\n%s", resp.Request.URL.Path, resp.StatusCode, body)
		}
	})

	tests := []struct {
		name  string
		stdin string
		user  string
		want  string
	}{
		{"rejects a short password", "short pw 11\n", b.UserID, "at least 12 characters"},
		{"rejects empty stdin", "", b.UserID, "no password on stdin"},
		{"rejects an unknown user", pw + "\n", "nosuchuser", "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := aipdStdin(t, tt.stdin, "admin", "--data", dir, "user", "passwd", "--user", tt.user)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("requires --user", func(t *testing.T) {
		if _, err := aipdStdin(t, pw+"\n", "admin", "--data", dir, "user", "passwd"); err == nil {
			t.Error("passwd without --user succeeded")
		}
	})
}
