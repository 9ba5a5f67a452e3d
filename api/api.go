// Package api holds the contract of the aip HTTP API: the OpenAPI document
// served at /v2/openapi.yaml and the documentation page served at /docs.
//
// The document is the single description of the routes; the HTTP layer
// compares its route table with Operations, and tests validate every answer
// against it (internal/openapitest), so the two cannot drift apart.
package api

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var spec []byte

// docs is the documentation page: index.html, its init.js, and Redoc 2.5.4
// (npm package "redoc", bundles/redoc.standalone.js) with its licenses. It is
// vendored so the page works offline and loads nothing from other hosts.
//
//go:embed docs
var docs embed.FS

// Spec returns the OpenAPI 3.0 document, as served at /v2/openapi.yaml.
// The slice is a copy: callers may keep or change it.
func Spec() []byte { return append([]byte(nil), spec...) }

// DocsFS returns the files of the documentation page, rooted so that
// "index.html" is the page and "redoc.standalone.js" the renderer it loads
// from /docs/.
func DocsFS() fs.FS {
	sub, err := fs.Sub(docs, "docs")
	if err != nil {
		// fs.Sub fails only on an invalid path, and "docs" is a constant.
		panic(fmt.Sprintf("api: sub docs: %v", err))
	}
	return sub
}

// Operation is one (method, path) pair of the document.
type Operation struct {
	// Method is the upper-case HTTP method, e.g. "GET".
	Method string
	// Path is the templated path, e.g. "/v2/organizations/members/{userId}".
	Path string
	// Authenticated reports whether the operation requires Hawk.
	Authenticated bool
}

// Load parses and validates the document with kin-openapi.
func Load(ctx context.Context) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate openapi.yaml: %w", err)
	}
	return doc, nil
}

// Operations lists every operation of the document, sorted by path and then
// method, so the HTTP layer can check its route table against the contract.
func Operations() ([]Operation, error) {
	doc, err := Load(context.Background())
	if err != nil {
		return nil, err
	}
	var ops []Operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			ops = append(ops, Operation{
				Method:        strings.ToUpper(method),
				Path:          path,
				Authenticated: requiresAuth(security),
			})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		ri, rj := methodRank(ops[i].Method), methodRank(ops[j].Method)
		if ri != rj {
			return ri < rj
		}
		return ops[i].Method < ops[j].Method
	})
	return ops, nil
}

// requiresAuth reports whether every alternative of the security
// requirements names a scheme: an empty requirement ({}) makes auth optional.
func requiresAuth(reqs openapi3.SecurityRequirements) bool {
	if len(reqs) == 0 {
		return false
	}
	for _, r := range reqs {
		if len(r) == 0 {
			return false
		}
	}
	return true
}

// methodOrder is the order people read an API in: reads before writes.
var methodOrder = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// methodRank places m in methodOrder; other methods sort last.
func methodRank(m string) int {
	for i, o := range methodOrder {
		if m == o {
			return i
		}
	}
	return len(methodOrder)
}
