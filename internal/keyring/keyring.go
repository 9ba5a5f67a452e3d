// Package keyring holds the server's master key and everything derived from
// it: the AEAD that keeps API keys encrypted at rest, the page-token MAC key
// and subkeys for later features.
//
// Subkeys are HMAC-SHA256(master, purpose). The master key is 32 uniformly
// random bytes, so HMAC acts as a PRF and subkeys for distinct purposes are
// independent; purposes are namespaced "aip/v1/<name>" and never reused.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
)

const (
	// KeySize is the length of the master key in bytes.
	KeySize = 32

	// Subkey purposes. Changing one makes every value derived from it
	// unreadable, so they are part of the storage format.
	purposeAPIKey    = "aip/v1/api-key-encryption"
	purposePageToken = "aip/v1/page-token"

	// sealVersion is the first byte of every sealed API key, so that the
	// format can change without guessing what old rows hold.
	sealVersion = 1

	redacted = "[redacted]"
)

// Keyring is the master key with the keys derived from it. It never prints
// its contents (see String) and is safe for concurrent use.
type Keyring struct {
	master []byte
	// aead is built once: key expansion and GCM setup cost more than the
	// decryption of a short API key, and Open runs on every request.
	aead cipher.AEAD
}

// New returns the keyring of master, which must be KeySize bytes. The
// bytes are copied.
func New(master []byte) (*Keyring, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("new keyring: master key is %d bytes, want %d", len(master), KeySize)
	}
	k := &Keyring{master: append([]byte(nil), master...)}
	block, err := aes.NewCipher(k.Derive(purposeAPIKey))
	if err != nil {
		return nil, fmt.Errorf("new keyring: %w", err)
	}
	// The random-nonce GCM prefixes a fresh 12-byte nonce to each output;
	// 2^32 seals per key stay far below the collision bound for API keys.
	if k.aead, err = cipher.NewGCMWithRandomNonce(block); err != nil {
		return nil, fmt.Errorf("new keyring: %w", err)
	}
	return k, nil
}

// LoadOrCreate returns the keyring of the master key file at path: 64 hex
// characters and an optional trailing newline. When the file does not exist
// it is created (and its directory, mode 0700, when missing) with a new
// random key, mode 0600, and created is true. A file readable or writable by
// group or others is refused, as is anything but a regular file.
//
// Losing this file makes every stored API key unreadable: back it up.
func LoadOrCreate(path string) (k *Keyring, created bool, err error) {
	k, err = load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	k, err = create(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our two attempts: use theirs.
		k, err = load(path)
		return k, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// load reads an existing key file; a missing file yields an error
// satisfying errors.Is(err, fs.ErrNotExist).
func load(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open master key file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the checks apply to what is read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat master key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("master key file %s is not a regular file", path)
	}
	// Windows has no such permission bits; its ACLs are the admin's job.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key file %s is accessible by group or others (mode %04o); "+
			"restrict it with: chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	// A valid file is at most 66 bytes; reading one more detects longer ones
	// without reading a huge file.
	b, err := io.ReadAll(io.LimitReader(f, 2*KeySize+3))
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	master, err := parseKeyFile(b)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return New(master)
}

// parseKeyFile decodes the file contents. Its errors never quote the
// contents, which may be most of a key.
func parseKeyFile(b []byte) ([]byte, error) {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	if len(b) != 2*KeySize {
		return nil, fmt.Errorf("want %d hex characters (a %d-byte key) and an optional newline, found %d characters",
			2*KeySize, KeySize, len(b))
	}
	master := make([]byte, KeySize)
	if _, err := hex.Decode(master, b); err != nil {
		return nil, fmt.Errorf("want %d hex characters (a %d-byte key) and an optional newline, found a character that is not hex",
			2*KeySize, KeySize)
	}
	return master, nil
}

// create writes a new random key to path, which must not exist. The file is
// synced, with its directory, before the key is used: a key that vanished in
// a crash after API keys were sealed with it would lose them all.
func create(path string) (*Keyring, error) {
	master := make([]byte, KeySize)
	if _, err := rand.Read(master); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create master key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create master key file: %w", err)
	}
	if err := writeKeyFile(f, master); err != nil {
		// A partial file would fail every later start; remove it so the
		// next start can try again.
		_ = os.Remove(path)
		return nil, fmt.Errorf("write master key file %s: %w", path, err)
	}
	if runtime.GOOS != "windows" {
		if err := syncDir(dir); err != nil {
			return nil, fmt.Errorf("write master key file %s: %w", path, err)
		}
	}
	return New(master)
}

// writeKeyFile writes master as hex with a newline, syncs and closes f.
func writeKeyFile(f *os.File, master []byte) error {
	// The umask may have narrowed the mode further; set exactly 0600.
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(append(hex.AppendEncode(nil, master), '\n'))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// sealAD is the additional data of a sealed key: the version byte, so it
// cannot be relabelled as another format, and the owner's user id, so that
// someone able to write the database cannot copy their own sealed key onto
// another user's row.
func sealAD(owner string) []byte { return append([]byte{sealVersion}, owner...) }

// Seal encrypts an API key for storage with AES-256-GCM under a subkey of
// the master key. The result is a version byte, a random 12-byte nonce, the
// ciphertext and the 16-byte tag; sealing the same key twice gives
// different results. owner (the user id) is bound to the result: Open
// succeeds only with the same owner.
func (k *Keyring) Seal(owner, apiKey string) ([]byte, error) {
	if apiKey == "" {
		return nil, errors.New("seal api key: empty key")
	}
	out := make([]byte, 1, 1+k.aead.Overhead()+len(apiKey))
	out[0] = sealVersion
	return k.aead.Seal(out, nil, []byte(apiKey), sealAD(owner)), nil
}

// Open decrypts a value made by Seal for the same owner. Its errors never
// include key material.
func (k *Keyring) Open(owner string, sealed []byte) (string, error) {
	if len(sealed) < 1+k.aead.Overhead() {
		return "", fmt.Errorf("open sealed api key: %d bytes is too short", len(sealed))
	}
	if sealed[0] != sealVersion {
		return "", fmt.Errorf("open sealed api key: unknown format version %d", sealed[0])
	}
	plain, err := k.aead.Open(nil, nil, sealed[1:], sealAD(owner))
	if err != nil {
		return "", fmt.Errorf("open sealed api key (wrong master key, wrong owner or corrupted value): %w", err)
	}
	return string(plain), nil
}

// TokenKey returns the page-token MAC key (aip.NewTokenCodec).
func (k *Keyring) TokenKey() []byte { return k.Derive(purposePageToken) }

// Derive returns the 32-byte subkey HMAC-SHA256(master, purpose). Each
// feature needs its own purpose, "aip/v1/<name>"; the caller owns the slice.
func (k *Keyring) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.master)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// String returns "[redacted]", so that printing a Keyring never shows a key.
func (Keyring) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (Keyring) GoString() string { return redacted }

// Format prints "[redacted]" for every verb; without it, verbs such as %d
// or %x would print the fields.
func (Keyring) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue returns "[redacted]", so that log/slog never shows a key.
func (Keyring) LogValue() slog.Value { return slog.StringValue(redacted) }

const (
	// APIKeyLen is the length of the keys NewAPIKey returns.
	APIKeyLen = 40
	// apiKeyAlphabet is base62: printable ASCII without '"' or '\\', which
	// Hawk header values cannot carry unescaped, and without characters
	// that URLs, shells or config files would need to quote.
	apiKeyAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// NewAPIKey returns a new API key: APIKeyLen characters of base62 from
// crypto/rand, about 238 bits of entropy.
func NewAPIKey() string {
	// Bytes of 248 and above are skipped: 248 = 4*62, so the remaining ones
	// map onto the alphabet without bias.
	const limit = 256 - 256%len(apiKeyAlphabet)
	key := make([]byte, 0, APIKeyLen)
	var buf [64]byte
	for len(key) < APIKeyLen {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails on supported platforms.
		for _, b := range buf {
			if int(b) < limit && len(key) < APIKeyLen {
				key = append(key, apiKeyAlphabet[int(b)%len(apiKeyAlphabet)])
			}
		}
	}
	return string(key)
}
