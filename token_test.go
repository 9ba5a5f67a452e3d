package aip

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	testTokenKey = []byte("0123456789abcdef0123456789abcdef")
	testTokenNow = time.Date(2022, 9, 5, 15, 4, 5, 123456789, time.UTC)
)

// fixedClock returns a clock that reads *t, so a test can move time.
func fixedClock(t *time.Time) func() time.Time { return func() time.Time { return *t } }

// typicalToken is a realistic second-page token of the alert listing.
func typicalToken() PageToken {
	return PageToken{
		OrgID:    "5f2b1c3d4e5f60718293a4b5",
		Endpoint: "/v2/alerts",
		Filters:  "from=2022-09-01T00:00:00.000Z&severity=1&status=active&until=2022-09-06T00:00:00.000Z",
		Upper:    time.Date(2022, 9, 5, 15, 0, 0, 0, time.UTC),
		After:    Cursor{Time: time.Date(2022, 9, 5, 14, 59, 58, 454e6, time.UTC), ID: "8a6f0e2c-3b1d-4c5e-9f7a-0b1c2d3e4f5a"},
	}
}

func wantTokenError(t *testing.T, err error, wantMessage string) {
	t.Helper()
	var aerr *Error
	if !errors.As(err, &aerr) {
		t.Fatalf("error = %v; want an *Error", err)
	}
	if diff := cmp.Diff(&Error{Code: EINVALID, Message: wantMessage}, aerr); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

func TestTokenCodecRoundTrip(t *testing.T) {
	now := testTokenNow
	c := NewTokenCodec(testTokenKey, fixedClock(&now))
	issued := now.Truncate(time.Millisecond)
	tests := []struct {
		name string
		in   PageToken
		want PageToken
	}{
		{
			name: "keeps a typical token",
			in:   typicalToken(),
			want: func() PageToken { p := typicalToken(); p.IssuedAt = issued; return p }(),
		},
		{
			name: "keeps empty strings and zero times",
			in:   PageToken{},
			want: PageToken{IssuedAt: issued},
		},
		{
			name: "keeps ids that only look almost compact",
			in: PageToken{
				OrgID:    "5F2B1C3D4E5F60718293A4B5", // upper case: kept verbatim
				Endpoint: "/v2/auditlogs",
				After:    Cursor{ID: "8A6F0E2C-3B1D-4C5E-9F7A-0B1C2D3E4F5A"},
			},
			want: PageToken{
				OrgID:    "5F2B1C3D4E5F60718293A4B5",
				Endpoint: "/v2/auditlogs",
				After:    Cursor{ID: "8A6F0E2C-3B1D-4C5E-9F7A-0B1C2D3E4F5A"},
				IssuedAt: issued,
			},
		},
		{
			name: "keeps arbitrary bytes in strings",
			in:   PageToken{OrgID: "org\x00\xff", Endpoint: "/v2/é", Filters: "q=\"a\\b\"&x=\n", After: Cursor{ID: "42"}},
			want: PageToken{OrgID: "org\x00\xff", Endpoint: "/v2/é", Filters: "q=\"a\\b\"&x=\n", After: Cursor{ID: "42"}, IssuedAt: issued},
		},
		{
			name: "truncates times to milliseconds",
			in: PageToken{
				Upper: time.Date(2022, 9, 5, 15, 0, 0, 999999, time.UTC),
				After: Cursor{Time: time.Date(2022, 9, 5, 14, 0, 0, 1999999, time.FixedZone("", 7200))},
			},
			want: PageToken{
				Upper:    time.Date(2022, 9, 5, 15, 0, 0, 0, time.UTC),
				After:    Cursor{Time: time.Date(2022, 9, 5, 12, 0, 0, 1e6, time.UTC)},
				IssuedAt: issued,
			},
		},
		{
			name: "keeps times before 1970",
			in:   PageToken{Upper: time.Date(1, 1, 1, 0, 0, 0, 1e6, time.UTC), After: Cursor{Time: time.Date(1969, 12, 31, 23, 59, 59, 999e6, time.UTC)}},
			want: PageToken{Upper: time.Date(1, 1, 1, 0, 0, 0, 1e6, time.UTC), After: Cursor{Time: time.Date(1969, 12, 31, 23, 59, 59, 999e6, time.UTC)}, IssuedAt: issued},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := c.Encode(tt.in)
			got, err := c.Decode(s, tt.in.OrgID, tt.in.Endpoint)
			if err != nil {
				t.Fatalf("Decode(Encode(%+v)): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("token (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenCodecEncode(t *testing.T) {
	now := testTokenNow
	c := NewTokenCodec(testTokenKey, fixedClock(&now))
	s := c.Encode(typicalToken())
	t.Run("is URL-safe base64 without padding", func(t *testing.T) {
		if !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(s) {
			t.Errorf("token %q has characters outside base64url", s)
		}
	})
	t.Run("stays short for a typical listing", func(t *testing.T) {
		if len(s) > 300 {
			t.Errorf("len(token) = %d; want <= 300 (%s)", len(s), s)
		}
	})
	t.Run("does not show ids or filters in clear", func(t *testing.T) {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"5f2b1c3d4e5f60718293a4b5", "8a6f0e2c"} {
			if strings.Contains(s, secret) || strings.Contains(string(raw), secret) {
				t.Errorf("token contains %q", secret)
			}
		}
	})
	t.Run("differs for another key", func(t *testing.T) {
		other := NewTokenCodec([]byte("another key, also 32 bytes long!"), fixedClock(&now))
		if o := other.Encode(typicalToken()); o == s {
			t.Errorf("two keys made the same token %q", s)
		}
	})
}

func TestTokenCodecDecodeRejects(t *testing.T) {
	now := testTokenNow
	c := NewTokenCodec(testTokenKey, fixedClock(&now))
	tok := typicalToken()
	valid := c.Encode(tok)
	raw, err := base64.RawURLEncoding.DecodeString(valid)
	if err != nil {
		t.Fatal(err)
	}
	// signed wraps an arbitrary payload in a valid MAC, to reach the checks
	// behind it.
	signed := func(payload []byte) string {
		return base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), payload...), c.tag(payload)...))
	}
	payload := raw[:len(raw)-tokenTagLen]
	// std is a valid token re-encoded with the standard alphabet; the loop
	// finds filters whose token holds a '-' or '_', where the alphabets differ.
	var std string
	for i := 0; std == ""; i++ {
		other := tok
		other.Filters = fmt.Sprintf("page=%d", i)
		if s := c.Encode(other); strings.ContainsAny(s, "-_") {
			b, _ := base64.RawURLEncoding.DecodeString(s)
			std = base64.RawStdEncoding.EncodeToString(b)
		}
	}

	tests := []struct {
		name        string
		token       string
		org, ep     string
		wantMessage string
	}{
		{"rejects empty", "", tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects junk", "not a token!", tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects a lone tag length of bytes", base64.RawURLEncoding.EncodeToString(raw[len(raw)-tokenTagLen:]), tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects padded base64", base64.URLEncoding.EncodeToString(raw), tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects standard base64", std, tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects an embedded newline", valid[:10] + "\n" + valid[10:], tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects surrounding spaces", " " + valid + " ", tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects an oversized token", strings.Repeat("A", maxTokenLen+1), tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects a token of another key", NewTokenCodec([]byte("another key, also 32 bytes long!"), fixedClock(&now)).Encode(tok), tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects another org", valid, "000000000000000000000000", tok.Endpoint, "page token belongs to another listing"},
		{"rejects another endpoint", valid, tok.OrgID, "/v2/agents", "page token belongs to another listing"},
		{"rejects an unknown version", signed(append([]byte{2}, payload[1:]...)), tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects unknown flags", signed(append([]byte{tokenVersion, 0x80}, payload[2:]...)), tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects trailing bytes", signed(append(append([]byte(nil), payload...), 0)), tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects a cut payload", signed(payload[:len(payload)-1]), tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects an unknown string kind", signed([]byte{tokenVersion, 0, 9}), tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects a string longer than the payload", signed([]byte{tokenVersion, 0, strRaw, 100, 'a'}), tok.OrgID, tok.Endpoint, "invalid page token"},
		{"rejects an empty payload", signed(nil), tok.OrgID, tok.Endpoint, "invalid page token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decode(tt.token, tt.org, tt.ep)
			if err == nil {
				t.Fatalf("Decode accepted %q as %+v", tt.token, got)
			}
			wantTokenError(t, err, tt.wantMessage)
		})
	}
}

func TestTokenCodecDecodeRejectsOutOfRangeTimes(t *testing.T) {
	now := testTokenNow
	c := NewTokenCodec(testTokenKey, fixedClock(&now))
	for _, tt := range []struct {
		name string
		ms   int64
	}{
		{"rejects a time before year 1", minTokenMs - 1},
		{"rejects a time after year 9999", maxTokenMs + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte{tokenVersion, flagUpper, strRaw, 0, 0, 0}
			b = binary.AppendVarint(b, tt.ms)
			b = append(b, strRaw, 0)
			b = binary.AppendVarint(b, now.UnixMilli())
			s := base64.RawURLEncoding.EncodeToString(append(b, c.tag(b)...))
			_, err := c.Decode(s, "", "")
			wantTokenError(t, err, "invalid page token")
		})
	}
	t.Run("accepts the bounds themselves", func(t *testing.T) {
		b := []byte{tokenVersion, flagUpper | flagAfterTime, strRaw, 0, 0, 0}
		b = binary.AppendVarint(b, maxTokenMs)
		b = binary.AppendVarint(b, minTokenMs+1)
		b = append(b, strRaw, 0)
		b = binary.AppendVarint(b, now.UnixMilli())
		s := base64.RawURLEncoding.EncodeToString(append(b, c.tag(b)...))
		if _, err := c.Decode(s, "", ""); err != nil {
			t.Errorf("Decode: %v", err)
		}
	})
}

func TestTokenCodecRejectsEveryTamperedByte(t *testing.T) {
	now := testTokenNow
	c := NewTokenCodec(testTokenKey, fixedClock(&now))
	tok := typicalToken()
	valid := c.Encode(tok)
	raw, err := base64.RawURLEncoding.DecodeString(valid)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("rejects a flipped bit in any byte", func(t *testing.T) {
		for i := range raw {
			for bit := range 8 {
				b := append([]byte(nil), raw...)
				b[i] ^= 1 << bit
				if got, err := c.Decode(base64.RawURLEncoding.EncodeToString(b), tok.OrgID, tok.Endpoint); err == nil {
					t.Fatalf("byte %d bit %d flipped: accepted as %+v", i, bit, got)
				}
			}
		}
	})
	t.Run("rejects any other character at any position", func(t *testing.T) {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		for i := range len(valid) {
			for _, ch := range alphabet {
				if byte(ch) == valid[i] {
					continue
				}
				s := valid[:i] + string(ch) + valid[i+1:]
				if got, err := c.Decode(s, tok.OrgID, tok.Endpoint); err == nil {
					t.Fatalf("char %d set to %q: accepted as %+v", i, ch, got)
				}
			}
		}
	})
	t.Run("rejects every truncation", func(t *testing.T) {
		for n := range len(valid) {
			if got, err := c.Decode(valid[:n], tok.OrgID, tok.Endpoint); err == nil {
				t.Fatalf("truncated to %d chars: accepted as %+v", n, got)
			}
		}
	})
	t.Run("rejects an extended token", func(t *testing.T) {
		for _, suffix := range []string{"A", "AA", "AAA", "AAAA"} {
			if got, err := c.Decode(valid+suffix, tok.OrgID, tok.Endpoint); err == nil {
				t.Fatalf("suffix %q: accepted as %+v", suffix, got)
			}
		}
	})
}

func TestTokenCodecExpiry(t *testing.T) {
	issued := testTokenNow
	tests := []struct {
		name        string
		checkAt     time.Time
		wantMessage string // "" = accepted
	}{
		{"accepts a token at once", issued, ""},
		{"accepts a token 24 h old", issued.Add(24 * time.Hour), ""},
		{"rejects a token older than 24 h as expired", issued.Add(24*time.Hour + time.Millisecond), "expired page token"},
		{"rejects a token a year old as expired", issued.AddDate(1, 0, 0), "expired page token"},
		{"accepts a token issued 5 min in the future", issued.Add(-5 * time.Minute), ""},
		{"rejects a token issued more than 5 min in the future", issued.Add(-5*time.Minute - time.Millisecond), "invalid page token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := issued.Truncate(time.Millisecond)
			c := NewTokenCodec(testTokenKey, fixedClock(&now))
			s := c.Encode(typicalToken())
			now = tt.checkAt.Truncate(time.Millisecond)
			_, err := c.Decode(s, typicalToken().OrgID, typicalToken().Endpoint)
			if tt.wantMessage == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			wantTokenError(t, err, tt.wantMessage)
		})
	}
}

func TestNewTokenCodecDefaultsToTheWallClock(t *testing.T) {
	c := NewTokenCodec(testTokenKey, nil)
	tok := typicalToken()
	got, err := c.Decode(c.Encode(tok), tok.OrgID, tok.Endpoint)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.IssuedAt.IsZero() || got.IssuedAt.After(time.Now()) {
		t.Errorf("IssuedAt = %v; want a past wall-clock time", got.IssuedAt)
	}
}

func TestNewTokenCodecCopiesTheKey(t *testing.T) {
	key := append([]byte(nil), testTokenKey...)
	now := testTokenNow
	c := NewTokenCodec(key, fixedClock(&now))
	s := c.Encode(typicalToken())
	key[0] ^= 0xff
	if _, err := c.Decode(s, typicalToken().OrgID, typicalToken().Endpoint); err != nil {
		t.Errorf("Decode after the caller changed its key slice: %v", err)
	}
}

func FuzzDecodeToken(f *testing.F) {
	now := testTokenNow
	c := NewTokenCodec(testTokenKey, fixedClock(&now))
	org, ep := typicalToken().OrgID, typicalToken().Endpoint
	for _, tok := range []PageToken{
		typicalToken(),
		{OrgID: org, Endpoint: ep},
		{OrgID: org, Endpoint: ep, Filters: "é\x00", After: Cursor{ID: "x"}},
	} {
		s := c.Encode(tok)
		f.Add(s)
		raw, _ := base64.RawURLEncoding.DecodeString(s)
		f.Add(string(raw[:len(raw)-tokenTagLen])) // a bare payload, for the parser
	}
	for _, junk := range []string{"", "A", "AAAA", "====", "not a token", "\x01\x00\x00\x00\x00\x00\x00\x00"} {
		f.Add(junk)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tok, err := c.Decode(s, org, ep); err == nil {
			again, err := c.Decode(c.Encode(tok), org, ep)
			if err != nil {
				t.Fatalf("re-encoded token rejected: %v", err)
			}
			if diff := cmp.Diff(tok, again); diff != "" {
				t.Fatalf("re-encoded token differs (-first +again):\n%s", diff)
			}
		} else if ErrorCode(err) != EINVALID {
			t.Fatalf("Decode error %v; want EINVALID", err)
		}
		// The MAC keeps nearly every input away from the payload parser, so
		// feed it the raw input too.
		tok, err := parseTokenPayload([]byte(s))
		if err != nil {
			return
		}
		again, err := parseTokenPayload(appendTokenPayload(nil, tok))
		if err != nil {
			t.Fatalf("re-encoded payload rejected: %v", err)
		}
		if diff := cmp.Diff(tok, again); diff != "" {
			t.Fatalf("re-encoded payload differs (-first +again):\n%s", diff)
		}
	})
}

func BenchmarkTokenEncode(b *testing.B) {
	c := NewTokenCodec(testTokenKey, nil)
	tok := typicalToken()
	b.ReportAllocs()
	for b.Loop() {
		c.Encode(tok)
	}
}

func BenchmarkTokenDecode(b *testing.B) {
	c := NewTokenCodec(testTokenKey, nil)
	tok := typicalToken()
	s := c.Encode(tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(s, tok.OrgID, tok.Endpoint); err != nil {
			b.Fatal(err)
		}
	}
}
