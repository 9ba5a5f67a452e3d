package web_test

import (
	"strings"
	"testing"

	"github.com/aipsec/aip/internal/web"
)

func TestHashPassword(t *testing.T) {
	hash, err := web.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("encodes the OWASP parameters in PHC form", func(t *testing.T) {
		if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(hash, want) {
			t.Errorf("hash %q does not start with %q", hash, want)
		}
	})
	t.Run("salts every hash", func(t *testing.T) {
		again, err := web.HashPassword(password)
		if err != nil {
			t.Fatal(err)
		}
		if again == hash {
			t.Errorf("two hashes of one password are equal: %q", hash)
		}
	})
	tests := []struct {
		name string
		pw   string
		want bool
	}{
		{"accepts the password", password, true},
		{"rejects another password", password + "!", false},
		{"rejects the empty password", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := web.VerifyPassword(hash, tt.pw)
			if err != nil || got != tt.want {
				t.Errorf("VerifyPassword = %v, %v; want %v, nil", got, err, tt.want)
			}
		})
	}
}

func TestVerifyPasswordRejectsMalformedHashes(t *testing.T) {
	for _, tt := range []struct{ name, hash string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuv"},
		{"wrong version", "$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"},
		{"huge memory", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"},
		{"zero passes", "$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"},
		{"bad salt", "$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA"},
		{"short key", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"},
	} {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			ok, err := web.VerifyPassword(tt.hash, password)
			if err == nil || ok {
				t.Errorf("VerifyPassword(%q) = %v, %v; want false and an error", tt.hash, ok, err)
			}
		})
	}
}

func TestCheckPasswordPolicy(t *testing.T) {
	for _, tt := range []struct {
		name, pw string
		ok       bool
	}{
		{"rejects 11 characters", "abcdefghijk", false},
		{"accepts 12 characters", "abcdefghijkl", true},
		{"counts characters, not bytes", "ééééééééééé", false},
		{"rejects invalid UTF-8", "abcdefghijkl\xff", false},
		{"rejects more than 1024 bytes", strings.Repeat("a", 1025), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := web.CheckPasswordPolicy(tt.pw); (err == nil) != tt.ok {
				t.Errorf("CheckPasswordPolicy(%q) = %v, want ok %v", tt.pw, err, tt.ok)
			}
		})
	}
}
