package webhook

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSignVectors(t *testing.T) {
	// Expected values computed independently with Python's hmac module.
	tests := []struct {
		name   string
		secret string
		ts     int64
		body   string
		want   string
	}{
		{"typical payload", "whsec_test", 1700000000, `{"alerts":[]}`,
			"t=1700000000,v1=6639f61a08667f0ecee837605b08fed3f01d74521e17ca6e686d09081a54150d"},
		{"empty secret and body", "", 0, "",
			"t=0,v1=b849d5a581847b281957065739df36df2463d1977ea8d6e1e4e6cf33fadc68c3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sign([]byte(tt.secret), time.Unix(tt.ts, 999_000_000), []byte(tt.body))
			if got != tt.want {
				t.Errorf("Sign() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("whsec_test")
	body := []byte(`{"alerts":[{"id":"a1"}]}`)
	now := time.Unix(1_700_000_000, 0)
	valid := Sign(secret, now, body)
	sig := strings.TrimPrefix(valid, "t=1700000000,")
	other := Sign([]byte("old secret"), now, body)
	tests := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"accepts own signature", secret, valid, body, now, nil},
		{"accepts signature at edge of tolerance", secret, valid, body, now.Add(5 * time.Minute), nil},
		{"accepts any matching v1 among several", secret, other + "," + sig, body, now, nil},
		{"accepts spaces and unknown keys", secret, "t=1700000000, v0=zz, " + sig, body, now, nil},
		{"rejects tampered body", secret, valid, []byte(`{"alerts":[{"id":"a2"}]}`), now, ErrSignatureMismatch},
		{"rejects wrong secret", []byte("whsec_other"), valid, body, now, ErrSignatureMismatch},
		{"rejects stale timestamp", secret, valid, body, now.Add(5*time.Minute + time.Second), ErrStaleSignature},
		{"rejects future timestamp", secret, valid, body, now.Add(-6 * time.Minute), ErrStaleSignature},
		{"rejects other timestamp with same mac", secret, "t=1700000001," + sig, body, now, ErrSignatureMismatch},
		{"rejects non-canonical timestamp", secret, "t=+1700000000," + sig, body, now, ErrMalformedSignature},
		{"rejects huge timestamp", secret, "t=9223372036854775807," + sig, body, now, ErrStaleSignature},
		{"rejects missing t", secret, sig, body, now, ErrMalformedSignature},
		{"rejects missing v1", secret, "t=1700000000", body, now, ErrMalformedSignature},
		{"rejects duplicate t", secret, "t=1700000000,t=1700000000," + sig, body, now, ErrMalformedSignature},
		{"rejects short v1", secret, "t=1700000000,v1=abcd", body, now, ErrMalformedSignature},
		{"rejects non-hex v1", secret, "t=1700000000,v1=" + strings.Repeat("g", 64), body, now, ErrMalformedSignature},
		{"rejects element without equals", secret, valid + ",junk", body, now, ErrMalformedSignature},
		{"rejects empty header", secret, "", body, now, ErrMalformedSignature},
		{"rejects oversized header", secret, valid + "," + strings.Repeat("x=y,", 2000) + "x=y", body, now, ErrMalformedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.header, tt.body, tt.now, 5*time.Minute)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify() = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify() = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	secret := []byte("whsec_fuzz")
	body := []byte(`{"alerts":[]}`)
	f.Add(Sign(secret, time.Unix(1_700_000_000, 0), body), body, int64(1_700_000_000))
	f.Add("t=1700000000,v1=00", body, int64(0))
	f.Add("t=,v1=", []byte{}, int64(-1))
	f.Add("t=-9223372036854775808,v1="+strings.Repeat("ab", 32), []byte("x"), int64(9_000_000_000))
	f.Add(",,,=,t=1,t=2", []byte(nil), int64(1))
	f.Fuzz(func(t *testing.T, header string, body []byte, unix int64) {
		now := time.Unix(unix, 0)
		if err := Verify(secret, header, body, now, 5*time.Minute); err == nil {
			// Acceptance must mean the header carries the MAC Sign produces for its own t.
			var signedAt int64
			for part := range strings.SplitSeq(header, ",") {
				if k, v, _ := strings.Cut(strings.TrimSpace(part), "="); k == "t" {
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						t.Fatalf("accepted header %q with bad t: %v", header, err)
					}
					signedAt = n
				}
			}
			_, wantMAC, _ := strings.Cut(Sign(secret, time.Unix(signedAt, 0), body), ",")
			if !strings.Contains(strings.ToLower(header), wantMAC) { // hex is case-insensitive
				t.Fatalf("accepted header %q lacking %q", header, wantMAC)
			}
		}
		// Whatever the fuzzer found, a fresh signature of the same body must verify.
		if err := Verify(secret, Sign(secret, now, body), body, now, 0); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}
