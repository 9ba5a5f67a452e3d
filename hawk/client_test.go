package hawk

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRequestHeader(t *testing.T) {
	tests := []struct {
		name string
		id   string
		key  string
		art  Artifacts
		want string
	}{
		{"V1", "dh37fgj492je", k1, v1Art, v1Header},
		{"V2 with hash", "dh37fgj492je", k1,
			with(v1Art, func(a *Artifacts) { a.Method, a.Hash = "POST", "Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY=" }), v2Header},
		{"V5 without ext", "123456", k2,
			with(v3Art, func(a *Artifacts) { a.Hash = "q/t+NNAkQZNlq/aAD6PlexImwQTxwgT2MahfTa9XRLA=" }), v5Header},
		{"V13 app and dlg", "dh37fgj492je", k1, Artifacts{Method: "GET", Resource: "/resource/4?filter=a", Host: "example.com",
			Port: "8080", TS: "1353832234", Nonce: "k3j4h2", Ext: "hello", App: "asd23ased", Dlg: "23434szr3q4d"}, v13Header},
		{"V13 app only", "dh37fgj492je", k1, Artifacts{Method: "GET", Resource: "/resource/4?filter=a", Host: "example.com",
			Port: "8080", TS: "1353832234", Nonce: "k3j4h2", Ext: "hello", App: "asd23ased"},
			`Hawk id="dh37fgj492je", ts="1353832234", nonce="k3j4h2", ext="hello", mac="rECIg7rOKQN+O06Z4jU6zyQWtldSTvi/3zYSKpxkmCs=", app="asd23ased"`},
		{"dlg without app is not sent", "dh37fgj492je", k1, with(v1Art, func(a *Artifacts) { a.Dlg = "x" }), v1Header},
		{"ext escaped like the reference", "a", "k", Artifacts{Method: "GET", Resource: "/", Host: "h", Port: "80", TS: "1", Nonce: "n",
			Ext: `a"b\c`}, `Hawk id="a", ts="1", nonce="n", ext="a\"b\\c", mac="` +
			MAC([]byte("k"), "header", &Artifacts{Method: "GET", Resource: "/", Host: "h", Port: "80", TS: "1", Nonce: "n", Ext: `a"b\c`}) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.art
			got := Credentials{ID: tt.id, Key: []byte(tt.key)}.RequestHeader(&a)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if a != tt.art {
				t.Errorf("artifacts changed to %+v", a)
			}
		})
	}
}

func TestRequestHeaderStampsTimeAndNonce(t *testing.T) {
	a := Artifacts{Method: "GET", Resource: "/", Host: "h", Port: "80"}
	before := time.Now().Unix()
	header := Credentials{ID: "a", Key: []byte("k")}.RequestHeader(&a)
	after := time.Now().Unix()
	ts, err := strconv.ParseInt(a.TS, 10, 64)
	if err != nil || ts < before || ts > after {
		t.Errorf("TS = %q, want between %d and %d", a.TS, before, after)
	}
	if len(a.Nonce) != 8 {
		t.Errorf("Nonce = %q, want 8 characters", a.Nonce)
	}
	h, err := ParseHeader(header)
	if err != nil {
		t.Fatal(err)
	}
	if h.TS != a.TS || h.Nonce != a.Nonce || h.MAC != MAC([]byte("k"), "header", &a) {
		t.Errorf("header %+v does not match artifacts %+v", h, a)
	}
}

func TestNewNonce(t *testing.T) {
	seen := make(map[string]bool)
	for i := 0; i < 1000; i++ {
		n := NewNonce()
		if len(n) != 8 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			t.Fatalf("NewNonce = %q, want 8 URL-safe characters", n)
		}
		if seen[n] {
			t.Fatalf("NewNonce repeated %q", n)
		}
		seen[n] = true
	}
}

func TestVerifyResponseRejects(t *testing.T) {
	req := with(respReq, func(a *Artifacts) { a.TS, a.Nonce = "1398546787", "xUwusx" })
	good := `Hawk mac="6PrybJTJs20jsgBw5eilXpcytD8kUbaIKNYXL+6g0ns=", hash="f9cDF/TDm7TkYRLnGwRMfeDzT6LixQVLvrIKhh0vgmM="`
	tests := []struct {
		name, key, header, ctype, body string
		req                            Artifacts
		want                           string
	}{
		{"missing header", k1, "", "text/plain", "some reply", req, "missing Server-Authorization"},
		{"other scheme", k1, "Basic " + good[5:], "text/plain", "some reply", req, "Unsupported authentication scheme"},
		{"bad syntax", k1, `Hawk mac="x`, "text/plain", "some reply", req, "Bad header format"},
		{"request attribute", k1, good + `, id="x"`, "text/plain", "some reply", req, "Unknown attribute: id"},
		{"no mac", k1, `Hawk hash="f9cDF/TDm7TkYRLnGwRMfeDzT6LixQVLvrIKhh0vgmM="`, "text/plain", "some reply", req, "no mac"},
		{"other key", k2, good, "text/plain", "some reply", req, "bad response mac"},
		{"other request", k1, good, "text/plain", "some reply", with(req, func(a *Artifacts) { a.Nonce = "other" }), "bad response mac"},
		{"hash replaced", k1, strings.Replace(good, "f9cD", "f9cE", 1), "text/plain", "some reply", req, "bad response mac"},
		{"tampered body", k1, good, "text/plain", "some replY", req, "bad response payload hash"},
		{"other content type", k1, good, "application/json", "some reply", req, "bad response payload hash"},
		{"no hash", k1, `Hawk mac="` + MAC([]byte(k1), "response", &req) + `"`, "text/plain", "some reply", req, "missing response hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyResponse([]byte(tt.key), &tt.req, tt.header, tt.ctype, []byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("VerifyResponse = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseWWWAuthenticate(t *testing.T) {
	tests := []struct {
		name, header string
		wantTS       int64
		wantTSM      string
		wantErr      string
	}{
		{"V12 stale answer", staleV12, 1365741469, "b4Qqhz8OUBq21saghHLV1ktwlXE72T1xtTEZkSlWizA=", "Stale timestamp"},
		{"bare scheme", "Hawk", 0, "", ""},
		{"error only", `Hawk error="Bad mac"`, 0, "", "Bad mac"},
		{"any attribute order", `hawk error="Stale timestamp",tsm="abc",ts="12"`, 12, "abc", "Stale timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, tsm, msg, err := ParseWWWAuthenticate(tt.header)
			if err != nil {
				t.Fatalf("ParseWWWAuthenticate: %v", err)
			}
			if ts != tt.wantTS || tsm != tt.wantTSM || msg != tt.wantErr {
				t.Errorf("got %d, %q, %q; want %d, %q, %q", ts, tsm, msg, tt.wantTS, tt.wantTSM, tt.wantErr)
			}
		})
	}
	for _, header := range []string{"", "Basic realm=\"x\"", `Hawk ts="abc"`, `Hawk ts="1.5"`, `Hawk mac="x"`, `Hawk error="a\"b"`} {
		t.Run("rejects "+header, func(t *testing.T) {
			if ts, tsm, msg, err := ParseWWWAuthenticate(header); err == nil {
				t.Errorf("ParseWWWAuthenticate = %d, %q, %q, nil; want error", ts, tsm, msg)
			}
		})
	}
}
