package httpapi

import (
	"net/url"
	"testing"
)

// FuzzValidWebhookURL checks that an accepted webhook URL is always an
// absolute http(s) URL with a host and no credentials, whatever the input.
func FuzzValidWebhookURL(f *testing.F) {
	for _, s := range []string{
		"https://hooks.example/aip", "http://10.0.0.1:8080/x?y=z", "ftp://x", "/relative", "https://u:p@x.example",
		"https://", "HTTPS://X.EXAMPLE", "http://[::1]:80/", "javascript:alert(1)", "https://x.example/%zz", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if validWebhookURL(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("accepted %q that does not parse: %v", raw, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || len(raw) > maxWebhookURL {
			t.Fatalf("accepted %q: scheme %q host %q user %v", raw, u.Scheme, u.Hostname(), u.User)
		}
	})
}
