package httpapi

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"

	"github.com/aipsec/aip/api"
)

// selfTest is GET /help/hawk/self-test: it answers only once Hawk passed.
func (s *Server) selfTest(w http.ResponseWriter, r *http.Request, p *principal) {
	writeOK(w, map[string]bool{"authenticated": true})
}

// healthz is the unauthenticated liveness probe for load balancers.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeOK(w, map[string]string{"status": "ok"})
}

// openAPISpec serves api/openapi.yaml.
func (s *Server) openAPISpec(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	serveWhole(w, api.Spec())
}

// docsIndex serves the vendored page that renders the spec.
func (s *Server) docsIndex(w http.ResponseWriter, r *http.Request) {
	s.serveDoc(w, r, "index.html")
}

// docsAsset serves the vendored renderer's files.
func (s *Server) docsAsset(w http.ResponseWriter, r *http.Request) {
	s.serveDoc(w, r, r.PathValue("asset"))
}

func (s *Server) serveDoc(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(api.DocsFS(), path.Clean(name))
	if err != nil {
		writeErrorMessage(w, http.StatusNotFound, "The resource was not found.")
		return
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; script-src 'self'")
	serveWhole(w, b)
}

// serveWhole answers 200 with all of b. The files are small and fixed, so
// Range requests are ignored: http.ServeContent would answer them with a
// 206 or a plain-text 416, neither of which the API contract has.
func serveWhole(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
