package api

import (
	"context"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
)

func TestLoad(t *testing.T) {
	doc, err := Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := doc.OpenAPI, "3.0.3"; got != want {
		t.Errorf("openapi = %q, want %q", got, want)
	}
}

func TestSpecReturnsACopy(t *testing.T) {
	a := Spec()
	for i := range a {
		a[i] = 0
	}
	if b := Spec(); !strings.HasPrefix(string(b), "openapi: 3.0.3") {
		t.Errorf("Spec() after changing an earlier result starts with %q, want it unchanged", b[:min(len(b), 20)])
	}
}

func TestOperations(t *testing.T) {
	got, err := Operations()
	if err != nil {
		t.Fatalf("Operations: %v", err)
	}
	want := []Operation{
		{Method: "GET", Path: "/agent/v1/config", Authenticated: true},
		{Method: "POST", Path: "/agent/v1/enroll"},
		{Method: "POST", Path: "/agent/v1/events", Authenticated: true},
		{Method: "POST", Path: "/agent/v1/heartbeat", Authenticated: true},
		{Method: "PUT", Path: "/agent/v1/packages", Authenticated: true},
		{Method: "GET", Path: "/docs"},
		{Method: "GET", Path: "/docs/{asset}"},
		{Method: "GET", Path: "/healthz"},
		{Method: "GET", Path: "/help/hawk/self-test", Authenticated: true},
		{Method: "GET", Path: "/v2/agents", Authenticated: true},
		{Method: "GET", Path: "/v2/agents/{agentId}", Authenticated: true},
		{Method: "GET", Path: "/v2/alerts", Authenticated: true},
		{Method: "POST", Path: "/v2/alerts/dismiss", Authenticated: true},
		{Method: "GET", Path: "/v2/alerts/severity-counts", Authenticated: true},
		{Method: "GET", Path: "/v2/alerts/{alertId}", Authenticated: true},
		{Method: "GET", Path: "/v2/alerts/{alertId}/events", Authenticated: true},
		{Method: "GET", Path: "/v2/auditlogs", Authenticated: true},
		{Method: "GET", Path: "/v2/aws/ec2", Authenticated: true},
		{Method: "GET", Path: "/v2/aws/ec2/", Authenticated: true},
		{Method: "GET", Path: "/v2/integrations/s3export", Authenticated: true},
		{Method: "PUT", Path: "/v2/integrations/s3export", Authenticated: true},
		{Method: "DELETE", Path: "/v2/integrations/s3export", Authenticated: true},
		{Method: "GET", Path: "/v2/integrations/webhooks", Authenticated: true},
		{Method: "POST", Path: "/v2/integrations/webhooks", Authenticated: true},
		{Method: "DELETE", Path: "/v2/integrations/webhooks/{webhookId}", Authenticated: true},
		{Method: "GET", Path: "/v2/openapi.yaml"},
		{Method: "POST", Path: "/v2/organizations/invites", Authenticated: true},
		{Method: "PUT", Path: "/v2/organizations/invites", Authenticated: true},
		{Method: "POST", Path: "/v2/organizations/invites/accept"},
		{Method: "GET", Path: "/v2/organizations/members", Authenticated: true},
		{Method: "POST", Path: "/v2/organizations/members", Authenticated: true},
		{Method: "DELETE", Path: "/v2/organizations/members/{userId}", Authenticated: true},
		{Method: "GET", Path: "/v2/rules/{ruleId}/tags", Authenticated: true},
		{Method: "POST", Path: "/v2/rules/{ruleId}/tags", Authenticated: true},
		{Method: "GET", Path: "/v2/rulesets", Authenticated: true},
		{Method: "POST", Path: "/v2/rulesets", Authenticated: true},
		{Method: "GET", Path: "/v2/rulesets/{rulesetId}", Authenticated: true},
		{Method: "PUT", Path: "/v2/rulesets/{rulesetId}", Authenticated: true},
		{Method: "DELETE", Path: "/v2/rulesets/{rulesetId}", Authenticated: true},
		{Method: "GET", Path: "/v2/rulesets/{rulesetId}/rules", Authenticated: true},
		{Method: "POST", Path: "/v2/rulesets/{rulesetId}/rules", Authenticated: true},
		{Method: "GET", Path: "/v2/rulesets/{rulesetId}/rules/{ruleId}", Authenticated: true},
		{Method: "PUT", Path: "/v2/rulesets/{rulesetId}/rules/{ruleId}", Authenticated: true},
		{Method: "DELETE", Path: "/v2/rulesets/{rulesetId}/rules/{ruleId}", Authenticated: true},
		{Method: "GET", Path: "/v2/vulnerabilities", Authenticated: true},
		{Method: "GET", Path: "/v2/vulnerabilities/agent/{agentId}", Authenticated: true},
		{Method: "GET", Path: "/v2/vulnerabilities/agent/{agentId}/suppressed", Authenticated: true},
		{Method: "GET", Path: "/v2/vulnerabilities/package/{package}", Authenticated: true},
		{Method: "GET", Path: "/v2/vulnerabilities/package/{package}/suppressed", Authenticated: true},
		{Method: "GET", Path: "/v2/vulnerabilities/server/{hostname}", Authenticated: true},
		{Method: "GET", Path: "/v2/vulnerabilities/server/{hostname}/suppressed", Authenticated: true},
		{Method: "GET", Path: "/v2/vulnerabilities/suppressions", Authenticated: true},
		{Method: "POST", Path: "/v2/vulnerabilities/suppressions", Authenticated: true},
		{Method: "DELETE", Path: "/v2/vulnerabilities/suppressions/{suppressionId}", Authenticated: true},
		{Method: "GET", Path: "/v2/vulnerabilities/{cveNumber}", Authenticated: true},
		{Method: "GET", Path: "/v2/vulnerabilities/{cveNumber}/servers", Authenticated: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Operations() mismatch (-want +got):\n%s", diff)
	}
}

func TestRequiresAuth(t *testing.T) {
	hawk := openapi3.SecurityRequirement{"hawk": {}}
	tests := []struct {
		name string
		reqs openapi3.SecurityRequirements
		want bool
	}{
		{name: "public without requirements", reqs: nil, want: false},
		{name: "authenticated with hawk", reqs: openapi3.SecurityRequirements{hawk}, want: true},
		{name: "public when one alternative is empty", reqs: openapi3.SecurityRequirements{hawk, {}}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requiresAuth(tt.reqs); got != tt.want {
				t.Errorf("requiresAuth(%v) = %v, want %v", tt.reqs, got, tt.want)
			}
		})
	}
}

// TestContractConventions keeps operations added later consistent with the
// cross-cutting rules of DECISIONS.md: rate-limit headers on every answer,
// Retry-After on 429, the full error set and Hawk headers on authenticated
// operations, and the one error body shape.
func TestContractConventions(t *testing.T) {
	doc, err := Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ops, err := Operations()
	if err != nil {
		t.Fatalf("Operations: %v", err)
	}
	authErrors := []int{400, 401, 403, 404, 405, 413, 429, 500}
	for _, o := range ops {
		op := doc.Paths.Value(o.Path).GetOperation(o.Method)
		t.Run(o.Method+" "+o.Path, func(t *testing.T) {
			if op.OperationID == "" {
				t.Errorf("no operationId")
			}
			if len(op.Tags) == 0 {
				t.Errorf("no tag")
			}
			statuses := sortedStatuses(t, op.Responses)
			if o.Authenticated {
				for _, s := range authErrors {
					if op.Responses.Status(s) == nil {
						t.Errorf("authenticated operation does not document %d", s)
					}
				}
			}
			// The liveness probe is the one route outside the limits, so
			// that probes from a shared address can never lock it out.
			limited := o.Path != "/healthz"
			if limited && op.Responses.Status(429) == nil {
				t.Errorf("does not document 429 (the per-IP limit applies to every request)")
			}
			for _, s := range statuses {
				resp := op.Responses.Status(s).Value
				for _, h := range []string{"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"} {
					if limited {
						requireHeader(t, s, resp, h)
					}
				}
				switch {
				case s == 429:
					requireHeader(t, s, resp, "Retry-After")
				case s == 401:
					requireHeader(t, s, resp, "WWW-Authenticate")
				case s < 300 && o.Authenticated:
					requireHeader(t, s, resp, "Server-Authorization")
				}
				if s >= 400 {
					mt := resp.Content.Get("application/json")
					if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Error" {
						t.Errorf("%d: body is not the Error schema", s)
					}
				}
			}
		})
	}
}

func sortedStatuses(t *testing.T, rs *openapi3.Responses) []int {
	t.Helper()
	var out []int
	for k := range rs.Map() {
		s, err := strconv.Atoi(k)
		if err != nil {
			t.Errorf("response key %q is not a status code", k)
			continue
		}
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

// requireHeader fails t unless resp documents header name as required.
func requireHeader(t *testing.T, status int, resp *openapi3.Response, name string) {
	t.Helper()
	h := resp.Headers[name]
	if h == nil || h.Value == nil {
		t.Errorf("%d: header %s not documented", status, name)
		return
	}
	if !h.Value.Required {
		t.Errorf("%d: header %s is not required", status, name)
	}
}

func TestDocsPageIsSelfContained(t *testing.T) {
	docs := DocsFS()
	for _, name := range []string{"index.html", "init.js"} {
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(docs, name)
			if err != nil {
				t.Fatalf("read %s: %v", name, err)
			}
			s := strings.ToLower(string(b))
			for _, ref := range []string{"http://", "https://", `src="//`, `href="//`, "url(//"} {
				if strings.Contains(s, ref) {
					t.Errorf("%s references another host (%q)", name, ref)
				}
			}
		})
	}
}

// cspSource is a Content-Security-Policy source that names no host.
var cspSource = regexp.MustCompile(`^('self'|'none'|'unsafe-inline'|data:|blob:)$`)

func TestDocsPageForbidsOtherHosts(t *testing.T) {
	b, err := fs.ReadFile(DocsFS(), "index.html")
	if err != nil {
		t.Fatalf("read index.html: %v", err)
	}
	m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("index.html has no Content-Security-Policy meta tag")
	}
	directives := map[string]bool{}
	for _, d := range strings.Split(string(m[1]), ";") {
		fields := strings.Fields(d)
		if len(fields) == 0 {
			continue
		}
		directives[fields[0]] = true
		for _, src := range fields[1:] {
			if !cspSource.MatchString(src) {
				t.Errorf("directive %s allows %q, which may name another host", fields[0], src)
			}
		}
	}
	if !directives["default-src"] {
		t.Errorf("the policy has no default-src, so unlisted kinds of resource may load from anywhere")
	}
}

func TestDocsFSHoldsThePage(t *testing.T) {
	docs := DocsFS()
	tests := []struct {
		name    string
		minSize int
		// contains must appear in the file.
		contains string
	}{
		{name: "index.html", contains: `<script src="/docs/redoc.standalone.js"></script>`},
		{name: "init.js", contains: `Redoc.init("/v2/openapi.yaml"`},
		{name: "redoc.standalone.js", minSize: 500_000, contains: `ReDoc Version: ","2.5.4"`},
		{name: "redoc.standalone.js.LICENSE.txt", contains: "github.com/Redocly/redoc"},
		{name: "redoc.LICENSE", contains: "Rebilly, Inc."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := fs.ReadFile(docs, tt.name)
			if err != nil {
				t.Fatalf("read %s: %v", tt.name, err)
			}
			if len(b) < tt.minSize {
				t.Errorf("%s is %d bytes, want at least %d", tt.name, len(b), tt.minSize)
			}
			if !strings.Contains(string(b), tt.contains) {
				t.Errorf("%s does not contain %q", tt.name, tt.contains)
			}
		})
	}
}

// TestDocsPageLoadsOnlyEmbeddedFiles guards against a page that refers to a
// file under /docs/ that DocsFS does not hold.
func TestDocsPageLoadsOnlyEmbeddedFiles(t *testing.T) {
	docs := DocsFS()
	b, err := fs.ReadFile(docs, "index.html")
	if err != nil {
		t.Fatalf("read index.html: %v", err)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllSubmatch(b, -1)
	if len(refs) == 0 {
		t.Fatalf("index.html loads no script")
	}
	for _, r := range refs {
		ref := string(r[1])
		name, ok := strings.CutPrefix(ref, "/docs/")
		if !ok {
			t.Errorf("index.html loads %q, outside /docs/", ref)
			continue
		}
		if _, err := fs.Stat(docs, name); err != nil {
			t.Errorf("index.html loads %q, which DocsFS lacks: %v", ref, err)
		}
	}
}
