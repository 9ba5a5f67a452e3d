package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/web"
)

// withConsole returns the server's root handler: /console/… goes to the web
// console, GET / redirects there, and everything else reaches api, which
// keeps its JSON contract for every other path.
func (m *Main) withConsole(api http.Handler, kr *keyring.Keyring, publicURL *url.URL) (http.Handler, error) {
	store := m.store
	console, err := web.New(web.Config{
		Store:             store,
		Limiter:           m.shared.limiter,
		TrustedProxies:    m.Config.TrustedProxies,
		PublicURL:         publicURL,
		Logger:            m.Logger,
		AgentOfflineAfter: m.Config.AgentOfflineAfter,
		RotateKey: func(ctx context.Context, userID string) (string, error) {
			return RotateKey(ctx, store, kr, userID)
		},
		CreateDeployKey: func(ctx context.Context, orgID string) (string, error) {
			return CreateDeployKey(ctx, store, orgID)
		},
	})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, web.Prefix) || r.URL.Path == strings.TrimSuffix(web.Prefix, "/"):
			console.ServeHTTP(w, r)
		case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			http.Redirect(w, r, web.Prefix, http.StatusFound)
		default:
			api.ServeHTTP(w, r)
		}
	}), nil
}
