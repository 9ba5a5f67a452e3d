// Package openapitest checks HTTP answers against the OpenAPI document of
// package api, so that tests of the HTTP layer fail when the server and its
// published contract disagree.
//
// Only responses are checked. Requests in tests are Hawk-signed or
// deliberately invalid (to provoke errors), so validating them against the
// document would test the tests, not the server.
package openapitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/aipsec/aip/api"
)

// maxBodyInMessage bounds how much of a failing body a message quotes.
const maxBodyInMessage = 512

// Validator matches requests to operations of the document and validates
// the answers. It is safe for concurrent use by parallel tests.
type Validator struct {
	router routers.Router
}

// New loads and validates api.Spec(); a broken document fails t at once.
func New(t testing.TB) *Validator {
	t.Helper()
	v, err := newValidator()
	if err != nil {
		t.Fatalf("openapitest: %v", err)
	}
	return v
}

func newValidator() (*Validator, error) {
	doc, err := api.Load(context.Background())
	if err != nil {
		return nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route openapi.yaml: %w", err)
	}
	return &Validator{router: router}, nil
}

// Check reports through t.Errorf every way the answer (status, header, body)
// to req departs from the document, including when the document has no
// operation for req's method and path. The host of req is ignored.
func (v *Validator) Check(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := v.validate(req, status, header, body); err != nil {
		t.Errorf("openapitest: %s %s answered %d against the spec: %v\nbody: %s",
			req.Method, req.URL.RequestURI(), status, err, quote(body))
	}
}

// CheckResponse is Check for a response of an http.Client (e.g. against an
// httptest.Server). It reads resp.Body and puts the bytes back, so the caller
// can still read it.
func (v *Validator) CheckResponse(t testing.TB, resp *http.Response) {
	t.Helper()
	if resp.Request == nil {
		t.Errorf("openapitest: response has no Request; use Check")
		return
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("openapitest: read body of %s %s: %v", resp.Request.Method, resp.Request.URL.RequestURI(), err)
		return
	}
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	v.Check(t, resp.Request, resp.StatusCode, resp.Header, body)
}

// validate returns nil when the answer conforms, or an error naming each
// problem found.
func (v *Validator) validate(req *http.Request, status int, header http.Header, body []byte) error {
	// Route on method and path alone: servers in tests listen on random
	// hosts and ports that the document cannot name.
	r := req.Clone(context.Background())
	r.URL.Scheme, r.URL.Host, r.Host = "", "", ""
	route, params, err := v.router.FindRoute(r)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return errors.New("the path is not in the spec")
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return fmt.Errorf("the spec has no %s operation for this path", req.Method)
	case err != nil:
		return fmt.Errorf("find the operation: %w", err)
	}

	if header == nil {
		header = http.Header{}
	}
	input := &openapi3filter.ResponseValidationInput{
		// The request is only used to find the operation: ValidateResponse
		// neither validates it nor runs the Hawk security scheme.
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      route,
		},
		Status: status,
		Header: header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus:   true,
			MultiError:              true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return err
	}

	// kin-openapi skips the body when the document defines no content for
	// the status; the document then means "no body" (e.g. 204).
	if ref := route.Operation.Responses.Status(status); ref != nil && ref.Value != nil &&
		len(ref.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("the spec defines no body for status %d, got %d bytes", status, len(body))
	}
	return nil
}

// quote renders a body for a failure message, cut to a readable length.
func quote(body []byte) string {
	if len(body) == 0 {
		return "(empty)"
	}
	s := string(body)
	if len(s) > maxBodyInMessage {
		s = s[:maxBodyInMessage] + fmt.Sprintf("… (%d bytes)", len(body))
	}
	return strings.TrimSpace(s)
}
