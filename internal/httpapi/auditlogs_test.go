package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

// auditPage is the decoded answer of GET /v2/auditlogs.
type auditPage struct {
	Recs  []*aip.AuditRecord `json:"recs"`
	Token *string            `json:"token"`
}

// listAudit fetches one page as a with the raw query (without "?").
func (h *harness) listAudit(t testing.TB, a account, query string) (auditPage, reply) {
	t.Helper()
	target := "/v2/auditlogs"
	if query != "" {
		target += "?" + query
	}
	r, art := h.signedDo(t, a, http.MethodGet, target, nil)
	verifySigned(t, a, art, r)
	var p auditPage
	if r.Status == http.StatusOK {
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("decode page: %v", err)
		}
	}
	return p, r
}

// insertAudit stores records directly, bypassing the API.
func (h *harness) insertAudit(t testing.TB, recs ...*aip.AuditRecord) {
	t.Helper()
	if err := h.store.CreateAuditRecords(context.Background(), recs); err != nil {
		t.Fatalf("insert audit records: %v", err)
	}
}

// seedRecord is an audit record of a user who never calls the API.
func seedRecord(org, userID, email, crud string, at time.Time) *aip.AuditRecord {
	return &aip.AuditRecord{
		ID: aip.NewUUID(), UserEmail: email, UserID: userID, OrganizationID: org,
		Result: "success", CRUD: crud, Action: crud + "-thing", Source: "api",
		Description: userID + ": GET : /seeded", EventTime: aip.Time{Time: at.UTC().Truncate(time.Millisecond)},
		Context: json.RawMessage(`{}`),
	}
}

// newestFirst sorts records the way the API lists them.
func newestFirst(recs []*aip.AuditRecord) []*aip.AuditRecord {
	out := append([]*aip.AuditRecord(nil), recs...)
	sort.Slice(out, func(i, j int) bool {
		if !out[i].EventTime.Equal(out[j].EventTime.Time) {
			return out[i].EventTime.After(out[j].EventTime.Time)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

func ids(recs []*aip.AuditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// withoutUser drops the records of the user listing, whose own listing
// requests are recorded too.
func withoutUser(recs []*aip.AuditRecord, userID string) []*aip.AuditRecord {
	var out []*aip.AuditRecord
	for _, r := range recs {
		if r.UserID != userID {
			out = append(out, r)
		}
	}
	return out
}

func TestAuditRecordsEveryAuthenticatedRequest(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	other := h.newOrg(t, "other")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	reader := h.newAccount(t, org, "reader@acme.example", aip.RoleReader)
	outsider, _ := h.newUser(t, "outsider@elsewhere.example", true)

	type call struct {
		as     account
		method string
		target string
		body   string
		status int
		crud   string
		action string
	}
	calls := []call{
		{owner, http.MethodGet, selfTestPath, "", 200, "read", "read-hawk-self-test"},
		{owner, http.MethodGet, "/v2/organizations/members?enabledOnly=true", "", 200, "read", "read-members"},
		{reader, http.MethodPost, "/v2/organizations/members", `{"id":"` + outsider + `","role":"reader"}`, 403, "create", "create-member"},
		{owner, http.MethodPost, "/v2/organizations/members", `{"id":"` + outsider + `","role":"reader"}`, 200, "create", "create-member"},
		{owner, http.MethodDelete, "/v2/organizations/members/" + aip.NewID24(), "", 404, "delete", "user-revoke"},
		{owner, http.MethodDelete, "/v2/organizations/members/" + outsider, "", 204, "delete", "user-revoke"},
		{owner, http.MethodPut, "/v2/organizations/invites", `{"email":"a@acme.example","role":"user"}`, 200, "create", "user-invite"},
		{reader, http.MethodPost, "/v2/organizations/invites", `{"email":"b@acme.example","role":"user"}`, 403, "create", "user-invite"},
		{owner, http.MethodGet, "/v2/auditlogs?from=yesterday", "", 400, "read", "read-auditlogs"},
	}
	var want []*aip.AuditRecord
	for _, c := range calls {
		h.clock.Advance(time.Second)
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		r, _ := h.signedDo(t, c.as, c.method, c.target, body)
		if r.Status != c.status {
			t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.target, r.Status, c.status, r.Body)
		}
		path, _, _ := strings.Cut(c.target, "?")
		result := "success"
		if c.status >= 400 {
			result = "failure"
		}
		want = append(want, &aip.AuditRecord{
			UserEmail: c.as.Email, UserID: c.as.UserID, OrganizationID: org, Result: result, CRUD: c.crud,
			Action: c.action, Source: "api", Description: c.as.UserID + ": " + c.method + " : " + path,
			EventTime: aip.Time{Time: h.clock.Now()},
		})
	}
	h.mailer.next(t) // the one invite sent

	// Requests that never authenticated, or not into this organization,
	// leave no record here.
	h.clock.Advance(time.Second)
	bad := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
	h.sign(t, bad, account{UserID: owner.UserID, APIKey: "wrong", OrgID: org}, nil, nil)
	if r := h.do(t, bad); r.Status != http.StatusUnauthorized {
		t.Fatalf("bad mac: status %d", r.Status)
	}
	foreign := h.rawRequest(h.ctx(t), t, http.MethodGet, selfTestPath, nil)
	h.sign(t, foreign, account{UserID: owner.UserID, APIKey: owner.APIKey, OrgID: other}, nil, nil)
	if r := h.do(t, foreign); r.Status != http.StatusForbidden {
		t.Fatalf("foreign org: status %d", r.Status)
	}

	h.flushAudit(t)
	h.clock.Advance(time.Second)
	got, _, err := h.client(t, owner).AuditLogs.List(h.ctx(t), nil)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	// Newest first: the calls in reverse.
	for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
		want[i], want[j] = want[j], want[i]
	}
	opts := cmp.Options{
		cmp.FilterPath(func(p cmp.Path) bool {
			f := p.Last().String()
			return f == ".ID" || f == ".Context"
		}, cmp.Ignore()),
		cmp.Comparer(func(a, b aip.Time) bool { return a.Equal(b.Time) }),
	}
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Errorf("audit records (-want +got):\n%s", diff)
	}

	t.Run("records request details in the context", func(t *testing.T) {
		if len(got) != len(calls) {
			t.Fatalf("got %d records", len(got))
		}
		seen := map[string]bool{}
		for i, rec := range got {
			c := calls[len(calls)-1-i]
			path, query, _ := strings.Cut(c.target, "?")
			var gotCtx map[string]any
			if err := json.Unmarshal(rec.Context, &gotCtx); err != nil {
				t.Fatalf("record %d context %s: %v", i, rec.Context, err)
			}
			id, _ := gotCtx["requestId"].(string)
			if id == "" || seen[id] {
				t.Errorf("record %d: requestId %q, want a unique id", i, id)
			}
			seen[id] = true
			wantCtx := map[string]any{
				"method": c.method, "path": path, "query": query, "status": float64(c.status),
				"requestId": id, "clientIp": "127.0.0.1", "userAgent": "Go-http-client/1.1",
			}
			if diff := cmp.Diff(wantCtx, gotCtx); diff != "" {
				t.Errorf("record %d context (-want +got):\n%s", i, diff)
			}
			if !aip.IsUUID(rec.ID) {
				t.Errorf("record %d id %q is not a UUID", i, rec.ID)
			}
		}
	})
}

func TestAuditLogContextIsAlwaysAnObject(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	at := h.clock.Now().Add(-time.Minute)
	bare := seedRecord(org, aip.NewID24(), "bare@acme.example", "read", at)
	bare.Context = nil
	detailed := seedRecord(org, aip.NewID24(), "detailed@acme.example", "read", at.Add(time.Second))
	detailed.Context = json.RawMessage(`{"agentIds":["a","b"],"count":2}`)
	h.insertAudit(t, bare, detailed)

	p, r := h.listAudit(t, owner, "")
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	got := map[string]string{}
	for _, rec := range p.Recs {
		got[rec.ID] = string(rec.Context)
	}
	want := map[string]string{bare.ID: `{}`, detailed.ID: `{"agentIds":["a","b"],"count":2}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contexts by record (-want +got):\n%s", diff)
	}
}

func TestAuditLogPaging(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	seedUser := aip.NewID24()

	// 125 records, three to a second so that the keyset needs its id
	// tiebreak; every second one is a delete.
	var seeded []*aip.AuditRecord
	base := h.clock.Now().Add(-time.Hour)
	for i := range 125 {
		crud := "read"
		if i%2 == 0 {
			crud = "delete"
		}
		seeded = append(seeded, seedRecord(org, seedUser, "seed@acme.example", crud, base.Add(-time.Duration(i/3)*time.Second)))
	}
	h.insertAudit(t, seeded...)
	want := ids(newestFirst(seeded))

	// pages walks a listing from its first page; next builds the query of
	// the following pages from the token.
	pages := func(t *testing.T, first string, next func(token string) string) (pageIDs [][]string, lastToken *string, firstToken string) {
		t.Helper()
		query := first
		for n := 0; ; n++ {
			if n > 10 {
				t.Fatal("listing does not end")
			}
			p, r := h.listAudit(t, owner, query)
			if r.Status != http.StatusOK {
				t.Fatalf("page %d (%s): status %d: %s", n, query, r.Status, r.Body)
			}
			pageIDs = append(pageIDs, ids(p.Recs))
			if n == 0 && p.Token != nil {
				firstToken = *p.Token
			}
			if p.Token == nil {
				if !strings.Contains(string(r.Body), `"token":null`) {
					t.Errorf("last page does not answer token null: %s", r.Body)
				}
				return pageIDs, nil, firstToken
			}
			if *p.Token == "" {
				t.Fatalf("page %d: empty token, want a token or null", n)
			}
			query = next(*p.Token)
		}
	}
	flatten := func(pp [][]string) []string {
		var out []string
		for _, p := range pp {
			out = append(out, p...)
		}
		return out
	}
	sizes := func(pp [][]string) []int {
		var out []int
		for _, p := range pp {
			out = append(out, len(p))
		}
		return out
	}

	var someToken string
	t.Run("lists every record once, 50 a page, newest first", func(t *testing.T) {
		got, _, first := pages(t, "", func(tok string) string { return "token=" + tok })
		someToken = first
		if diff := cmp.Diff([]int{50, 50, 25}, sizes(got)); diff != "" {
			t.Errorf("page sizes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, flatten(got)); diff != "" {
			t.Errorf("records across pages (-want +got):\n%s", diff)
		}
	})

	t.Run("client iterates every record once", func(t *testing.T) {
		var got []string
		for rec, err := range h.client(t, owner).AuditLogs.All(h.ctx(t), &client.AuditLogListOptions{UserID: seedUser}) {
			if err != nil {
				t.Fatalf("All: %v", err)
			}
			got = append(got, rec.ID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	})

	// A filtered listing continued both ways must give the same pages.
	from := base.Add(-40 * time.Second).Format("2006-01-02T15:04:05")
	var wantFiltered []*aip.AuditRecord
	for _, r := range seeded {
		if r.CRUD == "delete" && !r.EventTime.Before(base.Add(-40*time.Second)) {
			wantFiltered = append(wantFiltered, r)
		}
	}
	query := "operation=delete&from=" + url.QueryEscape(from)
	first, r := h.listAudit(t, owner, query)
	if r.Status != http.StatusOK || first.Token == nil {
		t.Fatalf("first filtered page: status %d token %v: %s", r.Status, first.Token, r.Body)
	}
	continuations := []struct {
		name string
		next func(tok string) string
	}{
		{name: "continues with the token alone", next: func(tok string) string { return "token=" + tok }},
		{name: "continues with the same query and the token", next: func(tok string) string { return query + "&token=" + tok }},
		{name: "continues with the query reordered around the token", next: func(tok string) string {
			return "from=" + url.QueryEscape(from) + "&token=" + tok + "&operation=delete&unknownKey=1"
		}},
	}
	var results [][]string
	for _, c := range continuations {
		t.Run(c.name, func(t *testing.T) {
			rest, _, _ := pages(t, c.next(*first.Token), c.next)
			got := append(ids(first.Recs), flatten(rest)...)
			if diff := cmp.Diff(ids(newestFirst(wantFiltered)), got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			results = append(results, got)
		})
	}
	t.Run("both continuations agree", func(t *testing.T) {
		for i := 1; i < len(results); i++ {
			if diff := cmp.Diff(results[0], results[i]); diff != "" {
				t.Errorf("continuation %d differs (-first +this):\n%s", i, diff)
			}
		}
	})

	t.Run("new records do not shift the pages of a listing", func(t *testing.T) {
		p1, r := h.listAudit(t, owner, "userId="+seedUser)
		if p1.Token == nil {
			t.Fatalf("first page has no token: %s", r.Body)
		}
		// Newer than the listing's frozen upper bound, older than its
		// second page.
		h.clock.Advance(time.Second)
		late := seedRecord(org, seedUser, "seed@acme.example", "read", h.clock.Now().Add(-time.Millisecond))
		h.insertAudit(t, late)
		rest, _, _ := pages(t, "token="+*p1.Token, func(tok string) string { return "token=" + tok })
		if diff := cmp.Diff(want, append(ids(p1.Recs), flatten(rest)...)); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
		fresh, _ := h.listAudit(t, owner, "userId="+seedUser)
		if len(fresh.Recs) == 0 || fresh.Recs[0].ID != late.ID {
			t.Errorf("a new listing does not start with the new record")
		}
	})

	if len(someToken) < 8 {
		t.Fatalf("no page token to tamper with (%q)", someToken)
	}
	otherOrg := h.newOrg(t, "other")
	stranger := h.newAccount(t, otherOrg, "stranger@other.example", aip.RoleOwner)
	tampered := []byte(someToken)
	if tampered[len(tampered)/2] == 'A' {
		tampered[len(tampered)/2] = 'B'
	} else {
		tampered[len(tampered)/2] = 'A'
	}
	bad := []struct {
		name    string
		as      account
		query   string
		wantMsg string
	}{
		{name: "rejects a tampered token", as: owner, query: "token=" + string(tampered), wantMsg: "invalid page token"},
		{name: "rejects a truncated token", as: owner, query: "token=" + someToken[:len(someToken)-4], wantMsg: "invalid page token"},
		{name: "rejects a garbage token", as: owner, query: "token=%21%21%21", wantMsg: "invalid page token"},
		{name: "rejects a huge token", as: owner, query: "token=" + strings.Repeat("A", 20000), wantMsg: "invalid page token"},
		{name: "rejects a token of another organization", as: stranger, query: "token=" + someToken,
			wantMsg: "page token belongs to another listing"},
		{name: "rejects a token whose filters differ from the query", as: owner, query: "operation=read&token=" + someToken,
			wantMsg: "The page token does not match the query's filters; repeat the same query with the token, or send the token alone."},
		{name: "rejects a filtered token with other filters", as: owner, query: "operation=read&token=" + *first.Token,
			wantMsg: "The page token does not match the query's filters; repeat the same query with the token, or send the token alone."},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, r := h.listAudit(t, tc.as, tc.query)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400: %s", r.Status, r.Body)
			}
			if diff := cmp.Diff([]string{tc.wantMsg}, errorsOf(t, r)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("rejects an expired token", func(t *testing.T) {
		h.clock.Advance(25 * time.Hour)
		_, r := h.listAudit(t, owner, "token="+someToken)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", r.Status, r.Body)
		}
		if diff := cmp.Diff([]string{"expired page token"}, errorsOf(t, r)); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})
}

func TestAuditLogFilters(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	owner := h.newAccount(t, org, "owner@acme.example", aip.RoleOwner)
	now := h.clock.Now() // 2025-06-02T12:00:00Z
	alice, bob, carol := aip.NewID24(), aip.NewID24(), aip.NewID24()
	day := 24 * time.Hour
	recs := map[string]*aip.AuditRecord{
		"alice-create-1d":  seedRecord(org, alice, "alice@acme.example", "create", now.Add(-1*day)),
		"alice-read-2d":    seedRecord(org, alice, "alice@acme.example", "read", now.Add(-2*day)),
		"bob-delete-3d":    seedRecord(org, bob, "bob@acme.example", "delete", now.Add(-3*day)),
		"bob-read-10d":     seedRecord(org, bob, "bob@acme.example", "read", now.Add(-10*day)),
		"alice-update-20d": seedRecord(org, alice, "alice@acme.example", "update", now.Add(-20*day)),
		"carol-delete-35d": seedRecord(org, carol, "carol@acme.example", "delete", now.Add(-35*day)),
	}
	var all []*aip.AuditRecord
	for _, r := range recs {
		all = append(all, r)
	}
	h.insertAudit(t, all...)

	cases := []struct {
		name  string
		query string
		want  []string
	}{
		{name: "defaults to the last 30 days", query: "",
			want: []string{"alice-create-1d", "alice-read-2d", "bob-delete-3d", "bob-read-10d", "alice-update-20d"}},
		{name: "shows older records when from is given", query: "from=2025-04-01",
			want: []string{"alice-create-1d", "alice-read-2d", "bob-delete-3d", "bob-read-10d", "alice-update-20d", "carol-delete-35d"}},
		{name: "filters by operation", query: "operation=delete", want: []string{"bob-delete-3d"}},
		{name: "filters by operation in the whole range", query: "operation=delete&from=2025-01-01",
			want: []string{"bob-delete-3d", "carol-delete-35d"}},
		{name: "filters by userEmail", query: "userEmail=alice%40acme.example",
			want: []string{"alice-create-1d", "alice-read-2d", "alice-update-20d"}},
		{name: "filters by userEmail in any case", query: "userEmail=ALICE%40acme.example",
			want: []string{"alice-create-1d", "alice-read-2d", "alice-update-20d"}},
		{name: "filters by userId", query: "userId=" + bob, want: []string{"bob-delete-3d", "bob-read-10d"}},
		{name: "filters by userID", query: "userID=" + bob, want: []string{"bob-delete-3d", "bob-read-10d"}},
		{name: "combines filters", query: "operation=read&userId=" + bob, want: []string{"bob-read-10d"}},
		{name: "filters from a date on", query: "from=2025-05-28",
			want: []string{"alice-create-1d", "alice-read-2d", "bob-delete-3d"}},
		{name: "covers the whole last unit of until", query: "from=2025-05-30T12:00&until=2025-05-31T12",
			want: []string{"alice-read-2d", "bob-delete-3d"}},
		{name: "excludes records before from", query: "from=2025-05-30T12:00:00.001Z&until=2025-05-31T12",
			want: []string{"alice-read-2d"}},
		{name: "takes the 30 days before a lone until", query: "until=2025-05-23",
			want: []string{"bob-read-10d", "alice-update-20d", "carol-delete-35d"}},
		{name: "honours zone offsets", query: "from=2025-05-31T14:00%2B02:00&until=2025-05-31T14:00%2B02:00",
			want: []string{"alice-read-2d"}},
		{name: "finds nothing for an unknown user", query: "userId=" + aip.NewID24(), want: []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, r := h.listAudit(t, owner, tc.query)
			if r.Status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Status, r.Body)
			}
			want := []*aip.AuditRecord{}
			for _, k := range tc.want {
				want = append(want, recs[k])
			}
			got := withoutUser(p.Recs, owner.UserID)
			if diff := cmp.Diff(ids(newestFirst(want)), append([]string{}, ids(got)...)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if p.Token != nil {
				t.Errorf("token = %q, want null", *p.Token)
			}
		})
	}

	invalid := []struct {
		name    string
		query   string
		wantMsg string
	}{
		{name: "rejects a word for from", query: "from=yesterday", wantMsg: `invalid "from" parameter "yesterday": `},
		{name: "rejects month 13", query: "from=2022-13-01", wantMsg: `invalid "from" parameter "2022-13-01": `},
		{name: "rejects day 31 of June", query: "until=2022-06-31", wantMsg: `invalid "until" parameter "2022-06-31": `},
		{name: "rejects hour 25", query: "until=2022-09-05T25", wantMsg: `invalid "until" parameter "2022-09-05T25": `},
		{name: "rejects a space separator", query: "from=2022-09-05%2010:00", wantMsg: `invalid "from" parameter "2022-09-05 10:00": `},
		{name: "rejects an offset without colon", query: "until=2022-09-05T10:00%2B0200", wantMsg: `invalid "until" parameter "2022-09-05T10:00+0200": `},
		{name: "rejects an unencoded plus", query: "until=2022-09-05T10:00+02:00", wantMsg: `invalid "until" parameter "2022-09-05T10:00 02:00": `},
		{name: "rejects epoch milliseconds", query: "from=1600000000000", wantMsg: `invalid "from" parameter "1600000000000": `},
		{name: "rejects a comma decimal", query: "from=2022-09-05T10:00:00,5", wantMsg: `invalid "from" parameter "2022-09-05T10:00:00,5": `},
		{name: "rejects until before from", query: "from=2022-09-05&until=2022-09-01",
			wantMsg: `invalid "until" parameter "2022-09-01": it is before "from" ("2022-09-05")`},
		{name: "rejects an unknown operation", query: "operation=destroy",
			wantMsg: `"operation" must be one of create, read, update, delete.`},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, r := h.listAudit(t, owner, tc.query)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400: %s", r.Status, r.Body)
			}
			msgs := errorsOf(t, r)
			if len(msgs) != 1 || !strings.HasPrefix(msgs[0], tc.wantMsg) {
				t.Errorf("errors = %q, want one starting with %q", msgs, tc.wantMsg)
			}
			if strings.HasPrefix(tc.wantMsg, "invalid \"") && !strings.Contains(tc.wantMsg, "before") &&
				!strings.Contains(msgs[0], "yyyy-mm-dd") {
				t.Errorf("error %q does not list the accepted forms", msgs[0])
			}
		})
	}
}

func TestAuditUnderConcurrency(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "acme")
	const workers, each = 8, 25
	accounts := make([]account, workers)
	for i := range accounts {
		accounts[i] = h.newAccount(t, org, "w"+strconv.Itoa(i)+"@acme.example", aip.RoleUser)
	}
	var wg sync.WaitGroup
	for _, a := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.client(t, a)
			for range each {
				if _, _, err := c.Help.SelfTest(h.ctx(t)); err != nil {
					t.Errorf("SelfTest: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	h.flushAudit(t)

	perUser := map[string]int{}
	seen := map[string]bool{}
	recs, err := h.store.ListAuditRecords(h.ctx(t), aip.AuditFilter{OrgID: org, Limit: 10 * workers * each})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if seen[r.ID] {
			t.Errorf("record %s stored twice", r.ID)
		}
		seen[r.ID] = true
		perUser[r.UserID]++
	}
	want := map[string]int{}
	for _, a := range accounts {
		want[a.UserID] = each
	}
	if diff := cmp.Diff(want, perUser); diff != "" {
		t.Errorf("records per user (-want +got):\n%s", diff)
	}
}
