package httpapi_test

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip/api"
	"github.com/aipsec/aip/internal/httpapi"
)

func TestRoutesMatchSpec(t *testing.T) {
	h := newHarness(t)
	ops, err := api.Operations()
	if err != nil {
		t.Fatalf("api.Operations: %v", err)
	}
	key := func(method, path string) string { return method + " " + path }
	registered := map[string]httpapi.Route{}
	for _, r := range h.srv.Routes() {
		if _, dup := registered[key(r.Method, r.Path)]; dup {
			t.Errorf("route %s %s registered twice", r.Method, r.Path)
		}
		registered[key(r.Method, r.Path)] = r
	}
	documented := map[string]api.Operation{}
	for _, op := range ops {
		documented[key(op.Method, op.Path)] = op
	}

	t.Run("every registered route is in the spec with the same authentication", func(t *testing.T) {
		for k, r := range registered {
			op, ok := documented[k]
			if !ok {
				t.Errorf("route %s is not in api/openapi.yaml", k)
				continue
			}
			if op.Authenticated != r.Authenticated {
				t.Errorf("route %s: server authenticated=%v, spec authenticated=%v", k, r.Authenticated, op.Authenticated)
			}
		}
	})
	t.Run("every spec operation is a registered route", func(t *testing.T) {
		for k := range documented {
			if _, ok := registered[k]; !ok {
				t.Errorf("operation %s of api/openapi.yaml is not served", k)
			}
		}
	})
	t.Run("tables are equal", func(t *testing.T) {
		var got, want []api.Operation
		for _, r := range h.srv.Routes() {
			got = append(got, api.Operation{Method: r.Method, Path: r.Path, Authenticated: r.Authenticated})
		}
		want = append(want, ops...)
		less := func(s []api.Operation) func(i, j int) bool {
			return func(i, j int) bool { return key(s[i].Method, s[i].Path) < key(s[j].Method, s[j].Path) }
		}
		sort.Slice(got, less(got))
		sort.Slice(want, less(want))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("server.Routes() vs api.Operations() (-spec +server):\n%s", diff)
		}
	})
}
