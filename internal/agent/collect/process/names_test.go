package process

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	group := filepath.Join(dir, "group")
	write := func(path, body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(passwd, "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\nalice:x:1000:1000::/home/alice:/bin/sh\nalias:x:1000:1000::/:/bin/sh\n")
	write(group, "root:x:0:\nstaff:x:50:alice\n")
	n := NewNames(passwd, group)
	n.checkEvery = 0 // check the files on every lookup

	t.Run("resolves known ids", func(t *testing.T) {
		if got, ok := n.User(1000); !ok || got != "alice" {
			t.Errorf("User(1000) = %q, %v; want alice (first entry wins)", got, ok)
		}
		if got, ok := n.Group(50); !ok || got != "staff" {
			t.Errorf("Group(50) = %q, %v; want staff", got, ok)
		}
	})
	t.Run("reports unknown ids", func(t *testing.T) {
		if got, ok := n.User(4242); ok {
			t.Errorf("User(4242) = %q, true; want not found", got)
		}
	})
	t.Run("rereads a changed file", func(t *testing.T) {
		write(passwd, "root:x:0:0:root:/root:/bin/bash\nbob:x:4242:4242::/:/bin/sh\n")
		// Make the change visible even on coarse-mtime filesystems.
		future := time.Now().Add(time.Minute)
		if err := os.Chtimes(passwd, future, future); err != nil {
			t.Fatal(err)
		}
		if got, ok := n.User(4242); !ok || got != "bob" {
			t.Errorf("User(4242) = %q, %v after edit; want bob", got, ok)
		}
	})
	t.Run("serves from cache between checks", func(t *testing.T) {
		n.checkEvery = time.Hour
		n.User(0) // stamps the check time
		write(passwd, "root:x:0:0:root:/root:/bin/bash\ncarol:x:4243:4243::/:/bin/sh\n")
		if _, ok := n.User(4243); ok {
			t.Error("User(4243) found before the next check; want the cached table")
		}
	})
}
