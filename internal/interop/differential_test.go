package interop_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
)

// endpoint is one server under test, with the host and port a client signs.
type endpoint struct {
	base, host, port string
}

func newEndpoint(t *testing.T, base string) endpoint {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return endpoint{base: base, host: u.Hostname(), port: u.Port()}
}

// probe is one raw request; auth "" sends no Authorization header.
type probe struct {
	method, path, contentType, body, auth string
}

// shape is what the differential test compares: the status, the
// WWW-Authenticate header (a verified ts/tsm normalized, see normalizeWWW),
// the message of the {"errors":[…]} body and whether Server-Authorization
// came back.
type shape struct {
	Status  int
	WWW     string
	Message string
	Signed  bool
}

const (
	getPath  = "/help/hawk/self-test"
	postPath = "/v2/organizations/invites"
	// staleWWW is a stale answer after normalizeWWW verified its tsm.
	staleWWW = `Hawk ts="<now>", tsm="<valid>", error="Stale timestamp"`
)

// differential signs requests for one endpoint as the bootstrap owner.
type differential struct {
	id, org string
	key     []byte
	now     int64
	emails  int // invites need distinct addresses on our side
}

// artifacts are the inputs of a valid MAC for method and path on e, now.
func (d *differential) artifacts(e endpoint, method, path string) *hawk.Artifacts {
	return &hawk.Artifacts{Method: method, Resource: path, Host: e.host, Port: e.port,
		TS: strconv.FormatInt(d.now, 10), Nonce: hawk.NewNonce(), Ext: d.org}
}

// header signs a with key and returns the parsed-form header, so vectors can
// still tamper with it.
func (d *differential) header(a *hawk.Artifacts, key []byte) hawk.Header {
	return hawk.Header{ID: d.id, TS: a.TS, Nonce: a.Nonce, Hash: a.Hash, Ext: a.Ext, App: a.App, Dlg: a.Dlg,
		MAC: hawk.MAC(key, "header", a)}
}

// get is a validly signed GET of the self-test, after mod changed the artifacts.
func (d *differential) get(e endpoint, mod func(*hawk.Artifacts)) probe {
	a := d.artifacts(e, "GET", getPath)
	if mod != nil {
		mod(a)
	}
	return probe{method: "GET", path: getPath, auth: d.header(a, d.key).String()}
}

// invite returns a fresh invite body our server accepts.
func (d *differential) invite() string {
	d.emails++
	return fmt.Sprintf(`{"email":"oracle-%d@example.com","role":"reader"}`, d.emails)
}

// vector is one request sequence of hawk.md §2 "negative vectors" (and a few
// parser cases of §1.5) sent to both servers; the last answer counts.
type vector struct {
	name  string
	build func(d *differential, e endpoint) []probe
	// ref is the hawk@9.0.2 oracle's answer. Ours must be the same, unless
	// ours is set: a deliberate difference, explained by why.
	ref  shape
	ours *shape
	why  string
}

func vectors() []vector {
	one := func(f func(d *differential, e endpoint) probe) func(d *differential, e endpoint) []probe {
		return func(d *differential, e endpoint) []probe { return []probe{f(d, e)} }
	}
	raw := func(auth string) func(d *differential, e endpoint) []probe {
		return one(func(*differential, endpoint) probe { return probe{method: "GET", path: getPath, auth: auth} })
	}
	ok := shape{Status: 200, Signed: true}
	bad := func(msg string) shape { return shape{Status: 400, Message: msg} }
	unauthorized := func(msg string) shape {
		return shape{Status: 401, WWW: `Hawk error="` + msg + `"`, Message: msg}
	}
	stale := shape{Status: 401, WWW: staleWWW, Message: "Stale timestamp"}
	staleTS := func(a *hawk.Artifacts) { a.TS = "1353832234" }

	return []vector{
		{name: "no Authorization", build: raw(""),
			ref:  shape{Status: 401, WWW: "Hawk", Message: "Unauthorized"},
			ours: &shape{Status: 401, WWW: "Hawk", Message: "Missing authentication"},
			why:  "message only: Boom's generic 'Unauthorized' says nothing; ours names the problem"},
		{name: "Basic scheme", build: raw("Basic Zm9vOmJhcg=="),
			ref:  shape{Status: 401, WWW: "Hawk", Message: "Unauthorized"},
			ours: &shape{Status: 401, WWW: "Hawk", Message: "Unsupported authentication scheme"},
			why:  "message only, as above"},
		{name: "Hawk alone", build: raw("Hawk"), ref: bad("Invalid header syntax")},
		{name: "missing attributes", build: raw(`Hawk id="a", ts="1"`), ref: bad("Missing attributes")},
		{name: "unknown attribute", build: one(func(d *differential, e endpoint) probe {
			p := d.get(e, nil)
			p.auth += `, foo="x"`
			return p
		}), ref: bad("Unknown attribute: foo")},
		{name: "duplicate attribute", build: raw(`Hawk id="a", id="b", ts="1", nonce="n", mac="m"`), ref: bad("Duplicate attribute: id")},
		{name: "ext with a quote", build: one(func(d *differential, e endpoint) probe {
			a := d.artifacts(e, "GET", getPath)
			h := d.header(a, d.key)
			return probe{method: "GET", path: getPath, auth: fmt.Sprintf(`Hawk id="%s", ts="%s", nonce="%s", ext="a\"b", mac="%s"`, h.ID, h.TS, h.Nonce, h.MAC)}
		}), ref: bad("Bad header format")},
		{name: `ext=""`, build: one(func(d *differential, e endpoint) probe {
			a := d.artifacts(e, "GET", getPath)
			h := d.header(a, d.key)
			return probe{method: "GET", path: getPath, auth: fmt.Sprintf(`Hawk id="%s", ts="%s", nonce="%s", ext="", mac="%s"`, h.ID, h.TS, h.Nonce, h.MAC)}
		}), ref: bad("Bad attribute value: ext")},
		{name: "header over 4096 bytes", build: one(func(d *differential, e endpoint) probe {
			return d.get(e, func(a *hawk.Artifacts) { a.Ext = strings.Repeat("e", 4100) })
		}), ref: bad("Header length too long")},
		{name: "short mac", build: one(func(d *differential, e endpoint) probe {
			a := d.artifacts(e, "GET", getPath)
			h := d.header(a, d.key)
			h.MAC = "x"
			return probe{method: "GET", path: getPath, auth: h.String()}
		}), ref: unauthorized("Bad mac")},
		{name: "unknown id", build: one(func(d *differential, e endpoint) probe {
			a := d.artifacts(e, "GET", getPath)
			h := d.header(a, d.key)
			h.ID = aip.NewID24()
			return probe{method: "GET", path: getPath, auth: h.String()}
		}), ref: unauthorized("Unknown credentials")},
		{name: "wrong key", build: one(func(d *differential, e endpoint) probe {
			a := d.artifacts(e, "GET", getPath)
			return probe{method: "GET", path: getPath, auth: d.header(a, []byte("not-the-key")).String()}
		}), ref: unauthorized("Bad mac")},
		{name: "signed for port 9999", build: one(func(d *differential, e endpoint) probe {
			return d.get(e, func(a *hawk.Artifacts) { a.Port = "9999" })
		}), ref: unauthorized("Bad mac")},
		{name: "replayed request", build: func(d *differential, e endpoint) []probe {
			p := d.get(e, nil)
			return []probe{p, p}
		}, ref: unauthorized("Invalid nonce")},
		{name: "stale timestamp", build: one(func(d *differential, e endpoint) probe { return d.get(e, staleTS) }), ref: stale},
		{name: "61 s behind", build: one(func(d *differential, e endpoint) probe {
			return d.get(e, func(a *hawk.Artifacts) { a.TS = strconv.FormatInt(d.now-61, 10) })
		}), ref: stale},
		{name: "59 s ahead", build: one(func(d *differential, e endpoint) probe {
			return d.get(e, func(a *hawk.Artifacts) { a.TS = strconv.FormatInt(d.now+59, 10) })
		}), ref: ok},
		{name: "stale replay", build: func(d *differential, e endpoint) []probe {
			p := d.get(e, staleTS)
			return []probe{p, p}
		}, ref: unauthorized("Invalid nonce"), ours: &stale,
			why: "we check the timestamp before the nonce and never record stale nonces (hawk.md §1.6 order subtlety); both 401"},
		{name: "body differs from hash", build: one(func(d *differential, e endpoint) probe {
			a := d.artifacts(e, "POST", postPath)
			a.Hash = hawk.PayloadHash("application/json", []byte(d.invite()))
			return probe{method: "POST", path: postPath, contentType: "application/json", body: d.invite(), auth: d.header(a, d.key).String()}
		}), ref: unauthorized("Bad payload hash")},
		{name: "body without hash", build: one(func(d *differential, e endpoint) probe {
			a := d.artifacts(e, "POST", postPath)
			return probe{method: "POST", path: postPath, contentType: "application/json", body: d.invite(), auth: d.header(a, d.key).String()}
		}), ref: unauthorized("Missing required payload hash")},
		{name: "Content-Type case and parameters", build: one(func(d *differential, e endpoint) probe {
			body := d.invite()
			a := d.artifacts(e, "POST", postPath)
			a.Hash = hawk.PayloadHash("application/json", []byte(body))
			return probe{method: "POST", path: postPath, contentType: "Application/JSON; charset=utf-8", body: body, auth: d.header(a, d.key).String()}
		}), ref: ok},
		{name: "lower-case scheme", build: one(func(d *differential, e endpoint) probe {
			p := d.get(e, nil)
			p.auth = "hawk" + strings.TrimPrefix(p.auth, "Hawk")
			return p
		}), ref: ok},
		{name: "commas without spaces", build: one(func(d *differential, e endpoint) probe {
			p := d.get(e, nil)
			p.auth = strings.ReplaceAll(p.auth, `", `, `",`)
			return p
		}), ref: ok},
		{name: `ts="abc" with a valid mac`, build: one(func(d *differential, e endpoint) probe {
			return d.get(e, func(a *hawk.Artifacts) { a.TS = "abc" })
		}), ref: ok, ours: &shape{Status: 400, Message: "Bad attribute value: ts"},
			why: "the reference accepts a non-numeric ts and never finds it stale (NaN comparison), so such a request never expires"},
		{name: "dlg without app", build: one(func(d *differential, e endpoint) probe {
			return d.get(e, func(a *hawk.Artifacts) { a.Dlg = "delegate" })
		}), ref: ok, ours: &shape{Status: 400, Message: "Attribute dlg requires app"},
			why: "the MAC covers dlg only with app: the reference accepts an unsigned attribute"},
	}
}

func TestDifferentialAgainstReferenceServer(t *testing.T) {
	dir := hawkNodeDir(t)
	s := startAIPD(t)
	oracle := newEndpoint(t, startOracle(t, dir, map[string]string{s.boot.UserID: s.boot.APIKey}))
	ours := newEndpoint(t, s.base)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	d := &differential{id: s.boot.UserID, org: s.boot.OrgID, key: []byte(s.boot.APIKey)}

	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			d.now = time.Now().Unix()
			gotRef := send(t, client, oracle, d.key, v.build(d, oracle))
			gotOurs := send(t, client, ours, d.key, v.build(d, ours))
			if diff := cmp.Diff(v.ref, gotRef); diff != "" {
				t.Errorf("hawk@9.0.2 answered differently than hawk.md says (-want +got):\n%s", diff)
			}
			want := v.ref
			if v.ours != nil {
				want = *v.ours
				t.Logf("deliberate difference: reference %+v, ours %+v: %s", v.ref, *v.ours, v.why)
			}
			if diff := cmp.Diff(want, gotOurs); diff != "" {
				t.Errorf("aipd answer (-want +got):\n%s", diff)
			}
		})
	}
}

// send sends probes in order and returns the shape of the last answer.
func send(t *testing.T, c *http.Client, e endpoint, key []byte, probes []probe) shape {
	t.Helper()
	var last shape
	for _, p := range probes {
		var body io.Reader
		if p.body != "" {
			body = strings.NewReader(p.body)
		}
		req, err := http.NewRequest(p.method, e.base+p.path, body)
		if err != nil {
			t.Fatal(err)
		}
		if p.auth != "" {
			req.Header.Set("Authorization", p.auth)
		}
		if p.contentType != "" {
			req.Header.Set("Content-Type", p.contentType)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s%s: %v", p.method, e.base, p.path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		last = shape{
			Status: resp.StatusCode,
			WWW:    normalizeWWW(t, resp.Header.Get("WWW-Authenticate"), key),
			Signed: resp.Header.Get("Server-Authorization") != "",
		}
		if resp.StatusCode >= 300 {
			var eb struct{ Errors []string }
			if err := json.Unmarshal(b, &eb); err != nil || len(eb.Errors) != 1 {
				t.Fatalf("%s answered %d with %q: want {\"errors\":[msg]}", e.base, resp.StatusCode, b)
			}
			last.Message = eb.Errors[0]
		}
	}
	return last
}

// staleHeader is a stale-timestamp WWW-Authenticate in the reference's order.
var staleHeader = regexp.MustCompile(`^Hawk ts="([0-9]+)", tsm="([^"]+)", error="([^"]*)"$`)

// normalizeWWW replaces the server time and tsm of a stale answer by
// placeholders once the tsm verifies and the time is near ours, so that two
// servers' answers compare equal.
func normalizeWWW(t *testing.T, h string, key []byte) string {
	t.Helper()
	m := staleHeader.FindStringSubmatch(h)
	if m == nil {
		return h
	}
	ts, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return h
	}
	tsm := "<valid>"
	if !hawk.VerifyTimestampMAC(key, ts, m[2]) {
		tsm = "<INVALID " + m[2] + ">"
	}
	now := "<now>"
	if d := time.Since(time.Unix(ts, 0)); d < -time.Minute || d > time.Minute {
		now = "<far from now: " + m[1] + ">"
	}
	return `Hawk ts="` + now + `", tsm="` + tsm + `", error="` + m[3] + `"`
}
