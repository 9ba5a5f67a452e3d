package hawk

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Keys and credentials of hawk.md §2.
const (
	k1    = "werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn"
	k2    = "2983d45yun89q"
	tsKey = "tsapikey-0123456789abcdef0123456789abcdef"
	tsID  = "5d1fa0e1c2b3a4f5e6d7c8b9"
	tsOrg = "5a0f1e2d3c4b5a6978877665"
)

// Artifacts of the vectors, shared by several tests.
var (
	v1Art = Artifacts{Method: "GET", Resource: "/resource/1?b=1&a=2", Host: "example.com", Port: "8000",
		TS: "1353832234", Nonce: "j4h3g2", Ext: "some-app-ext-data"}
	v3Art = Artifacts{Method: "POST", Resource: "/somewhere/over/the/rainbow", Host: "example.net", Port: "443",
		TS: "1353809207", Nonce: "Ygvqdz", Hash: "2QfCt3GuY9HQnHWyWD3wX68ZOKbynqlfYmuO2ZBRqtY="}
	ts1Art = Artifacts{Method: "GET", Resource: "/help/hawk/self-test", Host: "api.threatstack.com", Port: "443",
		TS: "1700000000", Nonce: "Xy12Ab", Ext: tsOrg}
	// respReq are the request artifacts of V9/V10 (ts and nonce set per row).
	respReq = Artifacts{Method: "POST", Resource: "/resource/4?filter=a", Host: "example.com", Port: "8080"}
)

// with returns a copy of a changed by f.
func with(a Artifacts, f func(*Artifacts)) Artifacts {
	f(&a)
	return a
}

func TestMAC(t *testing.T) {
	tests := []struct {
		name, key, kind string
		art             Artifacts
		normalized      string // checked when not empty
		want            string
	}{
		{"V1 GET with ext", k1, "header", v1Art,
			"hawk.1.header\n1353832234\nj4h3g2\nGET\n/resource/1?b=1&a=2\nexample.com\n8000\n\nsome-app-ext-data\n",
			"6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE="},
		{"V1 with lower-case method and upper-case host", k1, "header",
			with(v1Art, func(a *Artifacts) { a.Method, a.Host = "get", "EXAMPLE.COM" }),
			"hawk.1.header\n1353832234\nj4h3g2\nGET\n/resource/1?b=1&a=2\nexample.com\n8000\n\nsome-app-ext-data\n",
			"6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE="},
		{"V2 POST with payload hash", k1, "header",
			with(v1Art, func(a *Artifacts) { a.Method, a.Hash = "POST", "Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY=" }),
			"hawk.1.header\n1353832234\nj4h3g2\nPOST\n/resource/1?b=1&a=2\nexample.com\n8000\nYi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY=\nsome-app-ext-data\n",
			"aSe1DERmZuRl3pI36/9BdZmnErTw3sNzOOAUlfeKjVw="},
		{"V3 port 443 with ext", k2, "header", with(v3Art, func(a *Artifacts) { a.Ext = "Bazinga!" }), "",
			"q1CwFoSHzPZSkbIvl0oYlD+91rBUEvFk763nMjMndj8="},
		{"V3 port 443 without ext", k2, "header", v3Art, "",
			"HTgtd0jPI6E4izx8e4OHdO36q00xFCU0FolNq3RiCYs="},
		{"V5 empty payload", k2, "header",
			with(v3Art, func(a *Artifacts) { a.Hash = "q/t+NNAkQZNlq/aAD6PlexImwQTxwgT2MahfTa9XRLA=" }), "",
			"U5k16YEzn3UnBHKeBzsDXn067Gu3R4YaY6xOt9PYRZM="},
		{"V7 GET", k1, "header", with(v1Art, func(a *Artifacts) { a.Ext = "some-app-data" }), "",
			"m8r1rHbXN6NgO+KIIhjO7sFRyd78RNGVUwehe8Cp2dU="},
		{"V8 POST with hash", k1, "header", Artifacts{Method: "POST", Resource: "/resource/4?filter=a", Host: "example.com",
			Port: "8080", TS: "1357926341", Nonce: "1AwuJD", Hash: "qAiXIVv+yjDATneWxZP2YCTa9aHRgQdnH9b3Wc+o3dg=", Ext: "some-app-data"}, "",
			"UeYcj5UoTVaAWXNvJfLVia7kU3VabxCqrccXP8sUGC4="},
		{"V8b GET", k1, "header", Artifacts{Method: "GET", Resource: "/resource/4?filter=a", Host: "example.com",
			Port: "8080", TS: "1353788437", Nonce: "k3j4h2", Ext: "hello"}, "",
			"bXx7a7p1h9QYQNZ8x7QhvDQym8ACgab4m3lVSFn4DBw="},
		{"V9 response normalized string", k1, "response", with(respReq, func(a *Artifacts) {
			a.TS, a.Nonce, a.Hash, a.Ext = "1362336900", "eb5S_L", "f9cDF/TDm7TkYRLnGwRMfeDzT6LixQVLvrIKhh0vgmM=", "response-specific"
		}),
			"hawk.1.response\n1362336900\neb5S_L\nPOST\n/resource/4?filter=a\nexample.com\n8080\nf9cDF/TDm7TkYRLnGwRMfeDzT6LixQVLvrIKhh0vgmM=\nresponse-specific\n",
			"XIJRsMl/4oL+nn+vKoeVZPdCHXB4yJkNnBbTbHFZUYE="},
		{"V11 bewit", k2, "bewit", Artifacts{Method: "GET", Resource: "/somewhere/over/the/rainbow", Host: "example.com",
			Port: "443", TS: "1356420707", Ext: "xandyandz"},
			"hawk.1.bewit\n1356420707\n\nGET\n/somewhere/over/the/rainbow\nexample.com\n443\n\nxandyandz\n",
			"kscxwNR2tJpP1T1zDLNPbB5UiKIU9tOSJXTUdG7X9h8="},
		{"V13 app and dlg", k1, "header", Artifacts{Method: "GET", Resource: "/resource/4?filter=a", Host: "example.com",
			Port: "8080", TS: "1353832234", Nonce: "k3j4h2", Ext: "hello", App: "asd23ased", Dlg: "23434szr3q4d"},
			"hawk.1.header\n1353832234\nk3j4h2\nGET\n/resource/4?filter=a\nexample.com\n8080\n\nhello\nasd23ased\n23434szr3q4d\n",
			"dbkpKc+e+hFbYaM/DO5+Esw9pNvmPm1Q/xp7e/BTO/A="},
		{"V13 app only", k1, "header", Artifacts{Method: "GET", Resource: "/resource/4?filter=a", Host: "example.com",
			Port: "8080", TS: "1353832234", Nonce: "k3j4h2", Ext: "hello", App: "asd23ased"},
			"hawk.1.header\n1353832234\nk3j4h2\nGET\n/resource/4?filter=a\nexample.com\n8080\n\nhello\nasd23ased\n\n",
			"rECIg7rOKQN+O06Z4jU6zyQWtldSTvi/3zYSKpxkmCs="},
		{"TS1 self-test", tsKey, "header", ts1Art,
			"hawk.1.header\n1700000000\nXy12Ab\nGET\n/help/hawk/self-test\napi.threatstack.com\n443\n\n5a0f1e2d3c4b5a6978877665\n",
			"k/cf0G4tA5XYhOZX7yWSVNxXP2vjbf3TV6bPIdTwwJU="},
		{"TS2 POST ruleset", tsKey, "header", with(ts1Art, func(a *Artifacts) {
			a.Method, a.Resource, a.Hash = "POST", "/v2/rulesets", "xRrmKVl8ck02tPu9eLSXWU4wttLHk9gq/ULG3w65I9g="
		}), "", "wjnrR/WIEfAY9pSGEl4izJy9vj8s+ScqS8vewKVM/s0="},
		{"TS4 query kept verbatim", tsKey, "header", with(ts1Art, func(a *Artifacts) {
			a.Resource = "/v2/alerts?status=active&from=2017-08-01T00:00:00"
		}), "", "7OC2U8DU/SAhgih750fBGPrQrr0EFm+rEsTIuqgsfpU="},
		{"TS5 plain http on 8080", tsKey, "header", with(ts1Art, func(a *Artifacts) {
			a.Resource, a.Host, a.Port = "/v2/agents", "127.0.0.1", "8080"
		}), "", "VR8296WRgIj+Xhn/DmTrTzD1q6eiN0qczdKAXby3Mt4="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.normalized != "" {
				if got := string(appendNormalized(nil, tt.kind, &tt.art)); got != tt.normalized {
					t.Errorf("normalized = %q, want %q", got, tt.normalized)
				}
			}
			if got := MAC([]byte(tt.key), tt.kind, &tt.art); got != tt.want {
				t.Errorf("MAC = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBewitEncodingOfV11(t *testing.T) {
	// Bewits are not implemented; this pins that MAC's "bewit" kind yields
	// the reference bewit once wrapped as getBewit does.
	a := Artifacts{Method: "GET", Resource: "/somewhere/over/the/rainbow", Host: "example.com", Port: "443", TS: "1356420707", Ext: "xandyandz"}
	raw := "123456\\" + a.TS + "\\" + MAC([]byte(k2), "bewit", &a) + "\\" + a.Ext
	got := base64.RawURLEncoding.EncodeToString([]byte(raw))
	want := "MTIzNDU2XDEzNTY0MjA3MDdca3NjeHdOUjJ0SnBQMVQxekRMTlBiQjVVaUtJVTl0T1NKWFRVZEc3WDloOD1ceGFuZHlhbmR6"
	if got != want {
		t.Errorf("bewit = %q, want %q", got, want)
	}
}

func TestMACEscapesExt(t *testing.T) {
	a := Artifacts{Method: "GET", Resource: "/", Host: "h", Port: "80", TS: "1", Nonce: "n", Ext: "a\\b\nc"}
	got := string(appendNormalized(nil, "header", &a))
	want := "hawk.1.header\n1\nn\nGET\n/\nh\n80\n\na\\\\b\\nc\n"
	if got != want {
		t.Errorf("normalized = %q, want %q", got, want)
	}
}

func TestMACMatchesCryptoHMACForLongInputs(t *testing.T) {
	// Keys longer than the SHA-256 block and resources longer than the
	// pooled buffer take the less common paths.
	key := make([]byte, 200)
	for i := range key {
		key[i] = byte(i)
	}
	long := make([]byte, 40000)
	for i := range long {
		long[i] = 'a' + byte(i%26)
	}
	a := Artifacts{Method: "GET", Resource: "/" + string(long), Host: "h", Port: "80", TS: "1", Nonce: "n"}
	m := hmac.New(sha256.New, key)
	m.Write(appendNormalized(nil, "header", &a))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	for i := 0; i < 3; i++ { // again, through the pool
		if got := MAC(key, "header", &a); got != want {
			t.Fatalf("MAC = %q, want %q", got, want)
		}
	}
}

func TestPayloadHash(t *testing.T) {
	tests := []struct {
		name, contentType, body, want string
	}{
		{"V2 text/plain", "text/plain", "Thank you for flying Hawk", "Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY="},
		{"V3 text/plain", "text/plain", "something to write about", "2QfCt3GuY9HQnHWyWD3wX68ZOKbynqlfYmuO2ZBRqtY="},
		{"empty payload text/plain", "text/plain", "", "q/t+NNAkQZNlq/aAD6PlexImwQTxwgT2MahfTa9XRLA="},
		{"empty payload without content type", "", "", "B0weSUXsMcb5UhL41FZbrUJCAotzSI3HawE1NPLRUz8="},
		{"empty payload application/json", "application/json", "", "NVuBm+XMyya3Tq4EhpZ0cQWjVUyIA8sKnySkKDOIM4M="},
		{"media type case and parameters ignored", " Application/JSON ; charset=utf-8", "", "NVuBm+XMyya3Tq4EhpZ0cQWjVUyIA8sKnySkKDOIM4M="},
		{"TS2 JSON body", "application/json", `{"name":"x"}`, "xRrmKVl8ck02tPu9eLSXWU4wttLHk9gq/ULG3w65I9g="},
		{"V9 response body", "text/plain", "some reply", "f9cDF/TDm7TkYRLnGwRMfeDzT6LixQVLvrIKhh0vgmM="},
		{"TS3 response body", "application/json; charset=utf-8", `{"ok":true}`, "Q59P0F9qwriPU5ugE1Pc8hHecVcG2mRJYN2cGDx3KKw="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PayloadHash(tt.contentType, []byte(tt.body)); got != tt.want {
				t.Errorf("PayloadHash = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSHA1Vectors checks V4, V5b and V6 through the hash-independent parts
// (normalized string, payload framing): only the digest differs from sha256.
func TestSHA1Vectors(t *testing.T) {
	sha1MAC := func(key string, a *Artifacts) string {
		m := hmac.New(sha1.New, []byte(key))
		m.Write(appendNormalized(nil, "header", a))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	http80 := Artifacts{Method: "POST", Resource: "/somewhere/over/the/rainbow", Host: "example.net", Port: "80",
		TS: "1353809207", Nonce: "Ygvqdz", Ext: "Bazinga!"}
	tests := []struct {
		name, key, body   string
		art               Artifacts
		wantHash, wantMAC string
		hashed            bool
	}{
		{"V4 POST without content type", k2, "something to write about", http80,
			"bsvY3IfUllw6V5rvk4tStEvpBhE=", "qbf1ZPG/r/e06F4ht+T77LXi5vw=", true},
		{"V5b empty payload", k2, "", http80,
			"404ghL7K+hfyhByKKejFBRGgTjU=", "Bh1sj1DOfFRWOdi3ww52nLCJdBE=", true},
		{"V6 GET", k1, "", Artifacts{Method: "GET", Resource: "/resource/4?filter=a", Host: "example.com", Port: "8080",
			TS: "1353788437", Nonce: "k3j4h2", Ext: "hello"}, "", "zy79QQ5/EYFmQqutVnYb73gAc/U=", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.art
			if tt.hashed {
				a.Hash = payloadHashWith(sha1.New(), "", []byte(tt.body))
				if a.Hash != tt.wantHash {
					t.Errorf("hash = %q, want %q", a.Hash, tt.wantHash)
				}
			}
			if got := sha1MAC(tt.key, &a); got != tt.wantMAC {
				t.Errorf("mac = %q, want %q", got, tt.wantMAC)
			}
		})
	}
}

func TestTimestampMAC(t *testing.T) {
	tests := []struct {
		name string
		ts   int64
		want string
	}{
		{"V12 stale header ts", 1365741469, "b4Qqhz8OUBq21saghHLV1ktwlXE72T1xtTEZkSlWizA="},
		{"V12 README ts", 1353832234, "2mw1eh/qXzl0wJZ/E6XvBhRMEJN7L3j8AyMA8eItEb0="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TimestampMAC([]byte(k1), tt.ts); got != tt.want {
				t.Errorf("TimestampMAC = %q, want %q", got, tt.want)
			}
			if !VerifyTimestampMAC([]byte(k1), tt.ts, tt.want) {
				t.Error("VerifyTimestampMAC rejects the vector")
			}
			if VerifyTimestampMAC([]byte(k1), tt.ts+1, tt.want) {
				t.Error("VerifyTimestampMAC accepts another ts")
			}
			if VerifyTimestampMAC([]byte(k2), tt.ts, tt.want) {
				t.Error("VerifyTimestampMAC accepts another key")
			}
		})
	}
}

// responseRows are V9, V10 and TS3: request artifacts, response and the
// expected Server-Authorization.
var responseRows = []struct {
	name, key        string
	req              Artifacts
	body, ctype, ext string
	want             string
}{
	{"V9 body and ext", k1, with(respReq, func(a *Artifacts) { a.TS, a.Nonce = "1398546787", "xUwusx" }),
		"some reply", "text/plain", "response-specific",
		`Hawk mac="n14wVJK4cOxAytPUMc5bPezQzuJGl5n7MYXhFQgEKsE=", hash="f9cDF/TDm7TkYRLnGwRMfeDzT6LixQVLvrIKhh0vgmM=", ext="response-specific"`},
	{"V9 empty body and ext", k1, with(respReq, func(a *Artifacts) { a.TS, a.Nonce = "1398546787", "xUwusx" }),
		"", "text/plain", "response-specific",
		`Hawk mac="i8/kUBDx0QF+PpCtW860kkV/fa9dbwEoe/FpGUXowf0=", hash="q/t+NNAkQZNlq/aAD6PlexImwQTxwgT2MahfTa9XRLA=", ext="response-specific"`},
	{"V9 empty body without ext", k1, with(respReq, func(a *Artifacts) { a.TS, a.Nonce = "1398546787", "xUwusx" }),
		"", "text/plain", "",
		`Hawk mac="q+fdjQv3kF56JGKLYeLzAS9dYGcvDqAXRG7MTVHAFKE=", hash="q/t+NNAkQZNlq/aAD6PlexImwQTxwgT2MahfTa9XRLA="`},
	{"V9 body without ext", k1, with(respReq, func(a *Artifacts) { a.TS, a.Nonce = "1398546787", "xUwusx" }),
		"some reply", "text/plain", "",
		`Hawk mac="6PrybJTJs20jsgBw5eilXpcytD8kUbaIKNYXL+6g0ns=", hash="f9cDF/TDm7TkYRLnGwRMfeDzT6LixQVLvrIKhh0vgmM="`},
	{"V9 tent row", k1, with(respReq, func(a *Artifacts) { a.TS, a.Nonce = "1362336900", "eb5S_L" }),
		"some reply", "text/plain", "response-specific",
		`Hawk mac="XIJRsMl/4oL+nn+vKoeVZPdCHXB4yJkNnBbTbHFZUYE=", hash="f9cDF/TDm7TkYRLnGwRMfeDzT6LixQVLvrIKhh0vgmM=", ext="response-specific"`},
	{"V10 client-accepted row", k1, with(respReq, func(a *Artifacts) { a.TS, a.Nonce = "1453070933", "3hOHpR" }),
		"some reply", "text/plain", "response-specific",
		`Hawk mac="odsVGUq0rCoITaiNagW22REIpqkwP9zt5FyqqOW9Zj8=", hash="f9cDF/TDm7TkYRLnGwRMfeDzT6LixQVLvrIKhh0vgmM=", ext="response-specific"`},
	{"TS3 response to TS1", tsKey, ts1Art, `{"ok":true}`, "application/json", "",
		`Hawk mac="11ubnDDzGvrdHz+rrhuQvUf4umWG8+bqywFfjf3MUxI=", hash="Q59P0F9qwriPU5ugE1Pc8hHecVcG2mRJYN2cGDx3KKw="`},
}

func TestResponseHeader(t *testing.T) {
	for _, tt := range responseRows {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			got := responseHeader([]byte(tt.key), &req, PayloadHash(tt.ctype, []byte(tt.body)), tt.ext)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if tt.ext == "" {
				if got := ResponseHeader([]byte(tt.key), &req, tt.ctype, []byte(tt.body)); got != tt.want {
					t.Errorf("ResponseHeader = %q, want %q", got, tt.want)
				}
			}
			if req != tt.req {
				t.Errorf("request artifacts changed to %+v", req)
			}
		})
	}
}

func TestVerifyResponseAcceptsVectors(t *testing.T) {
	for _, tt := range responseRows {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if err := VerifyResponse([]byte(tt.key), &req, tt.want, tt.ctype, []byte(tt.body)); err != nil {
				t.Errorf("VerifyResponse: %v", err)
			}
		})
	}
}
