//go:build unix

package sqlite

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func TestCredGenFile(t *testing.T) {
	// prepare creates the database, closes it and leaves the generation
	// file as setup says; the test then opens the database again.
	prepare := func(t *testing.T, setup func(gen string)) (db, gen string) {
		t.Helper()
		db = filepath.Join(t.TempDir(), "aip.db")
		first, err := Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		gen = db + "-credgen"
		setup(gen)
		return db, gen
	}
	remove := func(gen string) {
		if err := os.Remove(gen); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("creates the file with the database's permissions", func(t *testing.T) {
		db, gen := prepare(t, remove)
		// 0666 is more than a usual umask lets through: only an explicit
		// chmod gives the file the same mode.
		if err := os.Chmod(db, 0o666); err != nil {
			t.Fatal(err)
		}
		openAt(t, db)
		fi, err := os.Stat(gen)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o666 || fi.Size() != credGenSize {
			t.Errorf("generation file mode %v size %d, want -rw-rw-rw- and %d bytes", fi.Mode().Perm(), fi.Size(), credGenSize)
		}
	})
	t.Run("extends a short file", func(t *testing.T) {
		db, gen := prepare(t, func(gen string) {
			if err := os.WriteFile(gen, []byte{1, 2, 3}, 0o600); err != nil {
				t.Fatal(err)
			}
		})
		openAt(t, db)
		got, err := os.ReadFile(gen)
		if err != nil {
			t.Fatal(err)
		}
		if want := []byte{1, 2, 3, 0, 0, 0, 0, 0}; !bytes.Equal(got, want) {
			t.Errorf("generation file = %v, want %v", got, want)
		}
	})
	t.Run("keeps a larger file and counts in its first word", func(t *testing.T) {
		content := bytes.Repeat([]byte{0xab}, 64)
		binary.NativeEndian.PutUint64(content, 41)
		db, gen := prepare(t, func(gen string) {
			if err := os.WriteFile(gen, content, 0o600); err != nil {
				t.Fatal(err)
			}
		})
		h := openAt(t, db)
		f := newFixture(t, h) // CreateUser and PutMember: two bumps
		if err := h.SetAPIKey(t.Context(), f.user, []byte("k")); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(gen)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Clone(content)
		binary.NativeEndian.PutUint64(want, 44)
		if !bytes.Equal(got, want) {
			t.Errorf("generation file = %v, want %v", got, want)
		}
	})
	t.Run("handles share one counter", func(t *testing.T) {
		db, _ := prepare(t, func(string) {})
		a, b := openAt(t, db), openAt(t, db)
		before := b.creds.gen.load()
		a.creds.bump()
		a.creds.bump()
		if got := b.creds.gen.load() - before; got != 2 {
			t.Errorf("other handle saw %d bumps, want 2", got)
		}
	})
}
