package keyring

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testMaster is a fixed master key; its hex form must never show up in output.
var testMaster = bytes.Repeat([]byte{0xA7}, KeySize)

func newTestKeyring(t testing.TB, master []byte) *Keyring {
	t.Helper()
	k, err := New(master)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return k
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		master  []byte
		wantErr bool
	}{
		{"accepts 32 bytes", testMaster, false},
		{"rejects nil", nil, true},
		{"rejects 31 bytes", testMaster[:31], true},
		{"rejects 33 bytes", append(append([]byte(nil), testMaster...), 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := New(tt.master)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("New(%d bytes) = %v, %v; want error %v", len(tt.master), k, err, tt.wantErr)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	k := newTestKeyring(t, testMaster)
	t.Run("opens what it sealed", func(t *testing.T) {
		for _, want := range []string{"x", NewAPIKey(), strings.Repeat("long key ", 100), "clé-ünïcode"} {
			sealed, err := k.Seal(testOwner, want)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			got, err := k.Open(testOwner, sealed)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got != want {
				t.Errorf("Open(Seal(%q)) = %q", want, got)
			}
		}
	})
	t.Run("lays out version, nonce, ciphertext and tag", func(t *testing.T) {
		sealed, err := k.Seal(testOwner, "0123456789")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(sealed), 1+12+10+16; got != want {
			t.Errorf("len(sealed) = %d; want %d", got, want)
		}
		if sealed[0] != sealVersion {
			t.Errorf("version byte = %d; want %d", sealed[0], sealVersion)
		}
	})
	t.Run("seals the same key differently each time", func(t *testing.T) {
		a, errA := k.Seal(testOwner, "same key")
		b, errB := k.Seal(testOwner, "same key")
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if bytes.Equal(a, b) || bytes.Equal(a[1:13], b[1:13]) {
			t.Errorf("two seals share a nonce or are equal: %x %x", a, b)
		}
	})
	t.Run("does not leave the key in clear", func(t *testing.T) {
		sealed, err := k.Seal(testOwner, "plaintext-api-key")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte("plaintext")) {
			t.Errorf("sealed value contains the plaintext: %q", sealed)
		}
	})
	t.Run("rejects an empty key", func(t *testing.T) {
		if sealed, err := k.Seal(testOwner, ""); err == nil {
			t.Errorf("Seal(\"\") = %x; want an error", sealed)
		}
	})
}

func TestOpenRejects(t *testing.T) {
	k := newTestKeyring(t, testMaster)
	const apiKey = "Zq3wY0oVh7Lr2pT9sNcX4mBdE6fGjK1uA8iHxRtW"
	sealed, err := k.Seal(testOwner, apiKey)
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte{0x5C}, KeySize)
	t.Run("rejects a flipped bit anywhere", func(t *testing.T) {
		for i := range sealed {
			for bit := range 8 {
				b := append([]byte(nil), sealed...)
				b[i] ^= 1 << bit
				if got, err := k.Open(testOwner, b); err == nil {
					t.Fatalf("byte %d bit %d flipped: opened as %q", i, bit, got)
				}
			}
		}
	})
	tests := []struct {
		name   string
		k      *Keyring
		sealed []byte
	}{
		{"rejects another master key", newTestKeyring(t, other), sealed},
		{"rejects nil", k, nil},
		{"rejects a version byte alone", k, []byte{sealVersion}},
		{"rejects a value one byte short of a tag", k, sealed[:1+12+15]},
		{"rejects a truncated value", k, sealed[:len(sealed)-1]},
		{"rejects an unknown version", k, append([]byte{2}, sealed[1:]...)},
		{"rejects an appended byte", k, append(append([]byte(nil), sealed...), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.k.Open(testOwner, tt.sealed)
			if err == nil {
				t.Fatalf("Open = %q; want an error", got)
			}
			if msg := err.Error(); strings.Contains(msg, apiKey) || strings.Contains(strings.ToLower(msg), hex.EncodeToString(testMaster)) {
				t.Errorf("error %q leaks key material", msg)
			}
		})
	}
}

func TestOpenIsSafeForConcurrentUse(t *testing.T) {
	k := newTestKeyring(t, testMaster)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			want := fmt.Sprintf("key-%d", i)
			for range 200 {
				sealed, err := k.Seal(testOwner, want)
				if err != nil {
					errs <- err
					return
				}
				got, err := k.Open(testOwner, sealed)
				if err != nil || got != want {
					errs <- fmt.Errorf("Open = %q, %v; want %q", got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDerive(t *testing.T) {
	k := newTestKeyring(t, testMaster)
	t.Run("returns 32 bytes", func(t *testing.T) {
		if got := len(k.Derive("aip/v1/webhook")); got != 32 {
			t.Errorf("len = %d; want 32", got)
		}
	})
	t.Run("is deterministic", func(t *testing.T) {
		if diff := cmp.Diff(k.Derive("aip/v1/webhook"), newTestKeyring(t, testMaster).Derive("aip/v1/webhook")); diff != "" {
			t.Errorf("(-first +second):\n%s", diff)
		}
	})
	t.Run("separates purposes and master keys", func(t *testing.T) {
		other := newTestKeyring(t, bytes.Repeat([]byte{1}, KeySize))
		keys := map[string][]byte{
			"webhook":        k.Derive("aip/v1/webhook"),
			"token":          k.TokenKey(),
			"api key":        k.Derive(purposeAPIKey),
			"other webhook":  other.Derive("aip/v1/webhook"),
			"other token":    other.TokenKey(),
			"master itself":  testMaster,
			"empty purpose":  k.Derive(""),
			"similar prefix": k.Derive("aip/v1/webhooks"),
		}
		seen := map[string]string{}
		for name, key := range keys {
			if prev, ok := seen[string(key)]; ok {
				t.Errorf("%s and %s share a key", prev, name)
			}
			seen[string(key)] = name
		}
	})
	t.Run("derives the token key as documented", func(t *testing.T) {
		if diff := cmp.Diff(k.Derive("aip/v1/page-token"), k.TokenKey()); diff != "" {
			t.Errorf("(-Derive +TokenKey):\n%s", diff)
		}
	})
	t.Run("hands out copies", func(t *testing.T) {
		a := k.TokenKey()
		a[0] ^= 0xff
		if bytes.Equal(a, k.TokenKey()) {
			t.Error("changing a returned key changed the keyring's")
		}
	})
	t.Run("copies the master key", func(t *testing.T) {
		master := append([]byte(nil), testMaster...)
		k2 := newTestKeyring(t, master)
		sealed, err := k2.Seal(testOwner, "key")
		if err != nil {
			t.Fatal(err)
		}
		before := k2.Derive("x")
		master[0] ^= 0xff
		if diff := cmp.Diff(before, k2.Derive("x")); diff != "" {
			t.Errorf("Derive changed with the caller's slice (-before +after):\n%s", diff)
		}
		if _, err := k2.Open(testOwner, sealed); err != nil {
			t.Errorf("Open after the caller changed its slice: %v", err)
		}
	})
}

func TestKeyringNeverPrintsTheKey(t *testing.T) {
	k := newTestKeyring(t, testMaster)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("start", "keyring", k)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "keyring", *k)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", k),
		"%+v":  fmt.Sprintf("%+v", k),
		"%#v":  fmt.Sprintf("%#v", k),
		"%s":   fmt.Sprintf("%s", k),
		"%x":   fmt.Sprintf("%x", k),
		"%d":   fmt.Sprintf("%d", k),
		"%v *": fmt.Sprintf("%v", *k),
		"%d *": fmt.Sprintf("%d", *k),
		"in a struct": fmt.Sprintf("%+v", struct {
			K *Keyring
		}{k}),
		"String":   k.String(),
		"GoString": k.GoString(),
		"slog":     logged.String(),
	}
	hexMaster := hex.EncodeToString(testMaster)
	for name, out := range outputs {
		t.Run(name+" shows no key", func(t *testing.T) {
			if !strings.Contains(out, redacted) {
				t.Errorf("output %q lacks %q", out, redacted)
			}
			lower := strings.ToLower(out)
			if strings.Contains(lower, hexMaster[:16]) || strings.Contains(out, "167 167") || strings.Contains(out, string(testMaster[:4])) {
				t.Errorf("output %q shows the master key", out)
			}
		})
	}
}

func TestNewAPIKey(t *testing.T) {
	valid := regexp.MustCompile(`^[0-9A-Za-z]{40}$`)
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 1000 {
		key := NewAPIKey()
		if !valid.MatchString(key) {
			t.Fatalf("NewAPIKey() = %q; want 40 base62 characters", key)
		}
		if seen[key] {
			t.Fatalf("NewAPIKey() repeated %q", key)
		}
		seen[key] = true
		for _, c := range key {
			counts[c]++
		}
	}
	// 40000 draws over 62 symbols: each is expected ~645 times; a symbol
	// never drawn, or one drawn 3x too often, means a broken mapping.
	if len(counts) != len(apiKeyAlphabet) {
		t.Errorf("used %d distinct characters; want %d", len(counts), len(apiKeyAlphabet))
	}
	for c, n := range counts {
		if n > 3*40000/len(apiKeyAlphabet) {
			t.Errorf("character %q drawn %d times out of 40000", c, n)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	t.Run("creates a 0600 hex file and reloads the same key", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "master.key")
		k, created, err := LoadOrCreate(path)
		if err != nil || !created {
			t.Fatalf("LoadOrCreate = %v, %v; want created", created, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("mode = %04o; want 0600", fi.Mode().Perm())
		}
		content, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(content) {
			t.Errorf("file content is not 64 hex characters and a newline (%d bytes)", len(content))
		}
		sealed, err := k.Seal(testOwner, "api key")
		if err != nil {
			t.Fatal(err)
		}
		k2, created, err := LoadOrCreate(path)
		if err != nil || created {
			t.Fatalf("second LoadOrCreate = %v, %v; want loaded", created, err)
		}
		if got, err := k2.Open(testOwner, sealed); err != nil || got != "api key" {
			t.Errorf("reloaded keyring opens %q, %v; want \"api key\"", got, err)
		}
		if diff := cmp.Diff(k.TokenKey(), k2.TokenKey()); diff != "" {
			t.Errorf("token keys differ (-created +reloaded):\n%s", diff)
		}
	})
	t.Run("creates missing directories 0700", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b")
		if _, created, err := LoadOrCreate(filepath.Join(dir, "master.key")); err != nil || !created {
			t.Fatalf("LoadOrCreate = %v, %v; want created", created, err)
		}
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("directory mode = %04o; want no group or other access", fi.Mode().Perm())
		}
	})
	t.Run("creates different keys each time", func(t *testing.T) {
		a, _, errA := LoadOrCreate(filepath.Join(t.TempDir(), "k"))
		b, _, errB := LoadOrCreate(filepath.Join(t.TempDir(), "k"))
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if bytes.Equal(a.TokenKey(), b.TokenKey()) {
			t.Error("two created key files hold the same key")
		}
	})
}

func TestLoadOrCreateReadsKeyFiles(t *testing.T) {
	hexMaster := hex.EncodeToString(testMaster)
	tests := []struct {
		name    string
		content string
	}{
		{"loads hex without newline", hexMaster},
		{"loads hex with a newline", hexMaster + "\n"},
		{"loads hex with CRLF", hexMaster + "\r\n"},
		{"loads upper-case hex", strings.ToUpper(hexMaster) + "\n"},
	}
	want := newTestKeyring(t, testMaster).TokenKey()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			k, created, err := LoadOrCreate(path)
			if err != nil || created {
				t.Fatalf("LoadOrCreate = %v, %v; want loaded", created, err)
			}
			if diff := cmp.Diff(want, k.TokenKey()); diff != "" {
				t.Errorf("token key (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadOrCreateRejects(t *testing.T) {
	hexMaster := hex.EncodeToString(testMaster)
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{"rejects an empty file", "", 0o600, "want 64 hex characters (a 32-byte key) and an optional newline, found 0 characters"},
		{"rejects a short key", hexMaster[:63] + "\n", 0o600, "found 63 characters"},
		{"rejects a long key", hexMaster + "00", 0o600, "found 66 characters"},
		{"rejects a huge file", strings.Repeat("0", 1<<20), 0o600, "found 67 characters"},
		{"rejects two newlines", hexMaster + "\n\n", 0o600, "found 65 characters"},
		{"rejects leading spaces", "  " + hexMaster[2:], 0o600, "found a character that is not hex"},
		{"rejects non-hex characters", hexMaster[:62] + "zz", 0o600, "found a character that is not hex"},
		{"rejects base64", strings.Repeat("QUFB", 16), 0o600, "found a character that is not hex"},
		{"rejects a group-readable file", hexMaster, 0o640, "is accessible by group or others (mode 0640); restrict it with: chmod 600"},
		{"rejects a world-readable file", hexMaster, 0o604, "is accessible by group or others (mode 0604); restrict it with: chmod 600"},
		{"rejects a group-writable file", hexMaster, 0o620, "is accessible by group or others (mode 0620)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.mode != 0o600 {
				t.Skip("Windows has no group or other permission bits")
			}
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			k, created, err := LoadOrCreate(path)
			if err == nil {
				t.Fatalf("LoadOrCreate = %v, %v; want an error", k, created)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantErr) || !strings.Contains(msg, path) {
				t.Errorf("error %q; want it to name %s and contain %q", msg, path, tt.wantErr)
			}
			if strings.Contains(strings.ToLower(msg), hexMaster[:8]) {
				t.Errorf("error %q quotes the key file", msg)
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != tt.content {
				t.Errorf("the rejected file was changed")
			}
		})
	}
	t.Run("rejects a directory", func(t *testing.T) {
		path := t.TempDir()
		if _, _, err := LoadOrCreate(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("LoadOrCreate(dir) error = %v; want \"not a regular file\"", err)
		}
	})
	t.Run("rejects an uncreatable path", func(t *testing.T) {
		parent := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(parent, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadOrCreate(filepath.Join(parent, "master.key")); err == nil {
			t.Error("LoadOrCreate under a regular file succeeded")
		}
	})
}

func BenchmarkOpen(b *testing.B) {
	k := newTestKeyring(b, testMaster)
	sealed, err := k.Seal(testOwner, NewAPIKey())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(testOwner, sealed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	k := newTestKeyring(b, testMaster)
	apiKey := NewAPIKey()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Seal(testOwner, apiKey); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewAPIKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewAPIKey()
	}
}

// testOwner is the user id the tests seal keys for.
const testOwner = "0123456789abcdef01234567"

func TestOpenRejectsAnotherOwner(t *testing.T) {
	k, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.Seal(testOwner, "the api key")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Open("76543210fedcba9876543210", sealed); err == nil {
		t.Errorf("Open with another owner = %q, want an error", got)
	}
	if got, err := k.Open(testOwner, sealed); err != nil || got != "the api key" {
		t.Errorf("Open with the owner = %q, %v; want the key", got, err)
	}
}
