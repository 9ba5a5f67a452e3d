package sqlite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aipsec/aip"
)

// disableCredCache replaces db's credentials cache with none, as on systems
// without shared memory mappings.
func disableCredCache(t testing.TB, db *DB) {
	t.Helper()
	if err := db.creds.close(); err != nil {
		t.Fatal(err)
	}
	db.creds = newCredCache(nil)
}

// fixture is one organization with one owner, stored through db.
type fixture struct {
	org, other, user string
}

func newFixture(t testing.TB, db *DB) fixture {
	t.Helper()
	ctx := context.Background()
	org, other := &aip.Organization{Name: "org"}, &aip.Organization{Name: "other"}
	for _, o := range []*aip.Organization{org, other} {
		if err := db.CreateOrganization(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	u := &aip.User{Email: "cached@example.com", Enabled: true}
	if err := db.CreateUser(ctx, u, []byte("key-0")); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMember(ctx, org.ID, u.ID, aip.RoleOwner); err != nil {
		t.Fatal(err)
	}
	return fixture{org: org.ID, other: other.ID, user: u.ID}
}

// find looks credentials up and returns them with the number of queries
// the lookup ran.
func find(t testing.TB, db *DB, userID, orgID string) (*aip.Credentials, uint64) {
	t.Helper()
	before := db.creds.queries.Load()
	c, err := db.FindCredentials(context.Background(), userID, orgID)
	if err != nil {
		t.Fatalf("FindCredentials(%s, %s): %v", userID, orgID, err)
	}
	return c, db.creds.queries.Load() - before
}

// skipWithoutCache skips tests of the cache where the system has none.
func skipWithoutCache(t *testing.T) {
	t.Helper()
	if openTemp(t).creds.gen == nil {
		t.Skip("no credentials cache without shared memory mappings")
	}
}

func TestFindCredentialsCache(t *testing.T) {
	skipWithoutCache(t)
	t.Run("repeated lookup runs one query", func(t *testing.T) {
		db := openTemp(t)
		f := newFixture(t, db)
		var got []uint64
		for range 3 {
			_, q := find(t, db, f.user, f.org)
			got = append(got, q)
		}
		if fmt.Sprint(got) != "[1 0 0]" {
			t.Errorf("queries per lookup = %v, want [1 0 0]", got)
		}
	})
	t.Run("each organization is its own entry", func(t *testing.T) {
		db := openTemp(t)
		f := newFixture(t, db)
		find(t, db, f.user, f.org)
		c, q := find(t, db, f.user, f.other)
		if q != 1 || c.Role != "" {
			t.Errorf("lookup in the other org: %d queries, role %q; want 1 query, no role", q, c.Role)
		}
		c, q = find(t, db, f.user, f.org)
		if q != 0 || c.Role != aip.RoleOwner {
			t.Errorf("lookup in the first org again: %d queries, role %q; want 0 queries, owner", q, c.Role)
		}
	})
	t.Run("non-member result is cached", func(t *testing.T) {
		db := openTemp(t)
		f := newFixture(t, db)
		find(t, db, f.user, f.other)
		if c, q := find(t, db, f.user, f.other); q != 0 || c.Role != "" {
			t.Errorf("second lookup: %d queries, role %q; want 0 queries, no role", q, c.Role)
		}
	})
	t.Run("unknown user is never cached", func(t *testing.T) {
		db := openTemp(t)
		f := newFixture(t, db)
		unknown := aip.NewID24()
		for i := range 2 {
			before := db.creds.queries.Load()
			_, err := db.FindCredentials(t.Context(), unknown, f.org)
			if aip.ErrorCode(err) != aip.ENOTFOUND {
				t.Fatalf("lookup %d: %v, want ENOTFOUND", i, err)
			}
			if q := db.creds.queries.Load() - before; q != 1 {
				t.Errorf("lookup %d ran %d queries, want 1", i, q)
			}
		}
	})
	t.Run("entry expires after the maximum age", func(t *testing.T) {
		db := openTemp(t)
		f := newFixture(t, db)
		now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		db.creds.now = func() time.Time { return now }
		steps := []struct {
			advance time.Duration
			queries uint64
		}{
			{0, 1},
			{credCacheMaxAge - time.Nanosecond, 0},
			{time.Nanosecond, 1}, // exactly the maximum age: expired, re-read
			{credCacheMaxAge / 2, 0},
		}
		for i, s := range steps {
			now = now.Add(s.advance)
			if _, q := find(t, db, f.user, f.org); q != s.queries {
				t.Errorf("step %d (+%v): %d queries, want %d", i, s.advance, q, s.queries)
			}
		}
	})
	t.Run("full cache evicts and keeps its count", func(t *testing.T) {
		db := openTemp(t)
		f := newFixture(t, db)
		db.creds.maxEntries = 8
		for range 50 {
			if c, _ := find(t, db, f.user, aip.NewID24()); c.Role != "" {
				t.Fatalf("role in an unknown org = %q", c.Role)
			}
		}
		if c, _ := find(t, db, f.user, f.org); c.Role != aip.RoleOwner {
			t.Errorf("role after evictions = %q, want owner", c.Role)
		}
		db.creds.mu.RLock()
		defer db.creds.mu.RUnlock()
		n := 0
		for _, orgs := range db.creds.users {
			n += len(orgs)
		}
		if n != db.creds.size || n > 8 || n == 0 {
			t.Errorf("entries = %d, counted %d, want the same, 1 to 8", n, db.creds.size)
		}
	})
	t.Run("without a generation counter every lookup queries", func(t *testing.T) {
		db := openTemp(t)
		disableCredCache(t, db)
		f := newFixture(t, db)
		for i := range 2 {
			if _, q := find(t, db, f.user, f.org); q != 1 {
				t.Errorf("lookup %d ran %d queries, want 1", i, q)
			}
		}
	})
}

// credentialChanges are the writes that must invalidate cached credentials,
// each with what a lookup of (user, org) must show afterwards.
var credentialChanges = []struct {
	name   string
	change func(ctx context.Context, db *DB, f fixture) error
	org    func(f fixture) string
	key    string
	role   aip.Role
}{
	{"SetAPIKey", func(ctx context.Context, db *DB, f fixture) error {
		return db.SetAPIKey(ctx, f.user, []byte("key-1"))
	}, func(f fixture) string { return f.org }, "key-1", aip.RoleOwner},
	{"PutMember changing a role", func(ctx context.Context, db *DB, f fixture) error {
		return db.PutMember(ctx, f.org, f.user, aip.RoleReader)
	}, func(f fixture) string { return f.org }, "key-0", aip.RoleReader},
	{"PutMember adding a membership", func(ctx context.Context, db *DB, f fixture) error {
		return db.PutMember(ctx, f.other, f.user, aip.RoleUser)
	}, func(f fixture) string { return f.other }, "key-0", aip.RoleUser},
	{"RemoveMember", func(ctx context.Context, db *DB, f fixture) error {
		return db.RemoveMember(ctx, f.org, f.user)
	}, func(f fixture) string { return f.org }, "key-0", ""},
	{"CreateUser", func(ctx context.Context, db *DB, f fixture) error {
		return db.CreateUser(ctx, &aip.User{Email: "new@example.com"}, []byte("k"))
	}, func(f fixture) string { return f.org }, "key-0", aip.RoleOwner},
}

func TestCredentialChangesInvalidateTheCache(t *testing.T) {
	skipWithoutCache(t)
	for _, handles := range []string{"same handle", "another handle on the file"} {
		for _, tt := range credentialChanges {
			t.Run(tt.name+" through the "+handles+" shows at once", func(t *testing.T) {
				ctx := t.Context()
				path := filepath.Join(t.TempDir(), "aip.db")
				server := openAt(t, path)
				writer := server
				if handles != "same handle" {
					writer = openAt(t, path)
				}
				f := newFixture(t, writer)
				org := tt.org(f)
				find(t, server, f.user, org)
				if _, q := find(t, server, f.user, org); q != 0 {
					t.Fatalf("warm lookup ran %d queries, want a cache hit", q)
				}
				if err := tt.change(ctx, writer, f); err != nil {
					t.Fatal(err)
				}
				c, q := find(t, server, f.user, org)
				if q != 1 {
					t.Errorf("lookup after %s ran %d queries, want 1", tt.name, q)
				}
				if string(c.EncryptedKey) != tt.key || c.Role != tt.role {
					t.Errorf("after %s: key %q role %q, want key %q role %q", tt.name, c.EncryptedKey, c.Role, tt.key, tt.role)
				}
			})
		}
	}
}

func TestTouchUpdatesCachedCredentials(t *testing.T) {
	skipWithoutCache(t)
	db := openTemp(t)
	f := newFixture(t, db)
	find(t, db, f.user, f.org)
	at := time.Date(2024, 3, 4, 5, 6, 7, 8_900_000, time.UTC)
	if err := db.TouchAuthenticated(t.Context(), f.user, at); err != nil {
		t.Fatal(err)
	}
	c, q := find(t, db, f.user, f.org)
	if want := at.Truncate(time.Millisecond); !c.User.LastAuthenticatedAt.Equal(want) {
		t.Errorf("LastAuthenticatedAt = %v, want %v", c.User.LastAuthenticatedAt, want)
	}
	if q != 0 {
		t.Errorf("lookup after a touch ran %d queries, want a cache hit: touches change no credentials", q)
	}
}

func TestChangeDuringTheQueryIsNotCachedAway(t *testing.T) {
	skipWithoutCache(t)
	path := filepath.Join(t.TempDir(), "aip.db")
	server, admin := openAt(t, path), openAt(t, path)
	f := newFixture(t, admin)
	// The rotation commits after the lookup read the old key and before it
	// caches it: the lookup may return the old key, which was current when
	// it started, but must not cache it for the next one.
	server.creds.afterQuery = func() {
		server.creds.afterQuery = nil
		if err := admin.SetAPIKey(t.Context(), f.user, []byte("key-1")); err != nil {
			t.Error(err)
		}
	}
	if c, _ := find(t, server, f.user, f.org); string(c.EncryptedKey) != "key-0" {
		t.Fatalf("racing lookup returned %q, want the key it read, key-0", c.EncryptedKey)
	}
	if c, _ := find(t, server, f.user, f.org); string(c.EncryptedKey) != "key-1" {
		t.Errorf("next lookup returned %q, want the rotated key-1", c.EncryptedKey)
	}
}

// TestConcurrentRotationNeverServesAStaleKey rotates a key through one handle
// while others look it up through another (run it with -race): a lookup
// that starts after a rotation committed must return that key or a newer one.
func TestConcurrentRotationNeverServesAStaleKey(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "aip.db")
	server, admin := openAt(t, path), openAt(t, path)
	f := newFixture(t, admin)

	const rotations, readers = 60, 4
	var committed atomic.Int64 // the last key version whose rotation returned
	var done atomic.Bool
	errs := make(chan error, readers+2)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer done.Store(true)
		for i := 1; i <= rotations; i++ {
			if err := admin.SetAPIKey(ctx, f.user, fmt.Appendf(nil, "key-%d", i)); err != nil {
				errs <- err
				return
			}
			committed.Store(int64(i))
		}
	})
	wg.Go(func() {
		for i := 0; !done.Load(); i++ {
			if err := server.TouchAuthenticated(ctx, f.user, time.Now()); err != nil {
				errs <- err
				return
			}
		}
	})
	for r := range readers {
		wg.Go(func() {
			org := f.org
			if r%2 == 1 {
				org = f.other
			}
			for !done.Load() {
				floor := committed.Load()
				c, err := server.FindCredentials(ctx, f.user, org)
				if err != nil {
					errs <- err
					return
				}
				v, err := strconv.ParseInt(strings.TrimPrefix(string(c.EncryptedKey), "key-"), 10, 64)
				if err != nil || v < floor {
					errs <- fmt.Errorf("reader %d got key %q after rotation %d committed", r, c.EncryptedKey, floor)
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
	c, _ := find(t, server, f.user, f.org)
	if want := fmt.Sprintf("key-%d", rotations); string(c.EncryptedKey) != want {
		t.Errorf("final key = %q, want %q", c.EncryptedKey, want)
	}
}

// helperEnv names the database a helper process rotates a key in.
const helperEnv = "AIP_SQLITE_TEST_ROTATE"

// TestHelperProcessRotateKey is not a test of its own: it is the other
// process of TestRotationByAnotherProcess, which runs the test binary with
// helperEnv set to "<db path>|<user id>|<new key>".
func TestHelperProcessRotateKey(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("runs only as the helper process of TestRotationByAnotherProcess")
	}
	parts := strings.Split(spec, "|")
	if len(parts) != 3 {
		t.Fatalf("%s = %q, want path|user|key", helperEnv, spec)
	}
	db := openAt(t, parts[0])
	if err := db.SetAPIKey(t.Context(), parts[1], []byte(parts[2])); err != nil {
		t.Fatal(err)
	}
}

// TestRotationByAnotherProcess is the admin CLI's key rotation for real: a
// separate process on the same file, while this one serves from its cache.
func TestRotationByAnotherProcess(t *testing.T) {
	skipWithoutCache(t)
	path := filepath.Join(t.TempDir(), "aip.db")
	server := openAt(t, path)
	f := newFixture(t, server)
	for i := 1; i <= 3; i++ {
		find(t, server, f.user, f.org)
		if _, q := find(t, server, f.user, f.org); q != 0 {
			t.Fatalf("round %d: warm lookup ran %d queries, want a cache hit", i, q)
		}
		key := fmt.Sprintf("key-from-process-%d", i)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessRotateKey$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+path+"|"+f.user+"|"+key)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "PASS") {
			t.Fatalf("helper process: %v\n%s", err, out)
		}
		c, q := find(t, server, f.user, f.org)
		if string(c.EncryptedKey) != key || q != 1 {
			t.Errorf("round %d: key %q after %d queries, want %q after 1", i, c.EncryptedKey, q, key)
		}
	}
}

func TestClosedDatabaseFailsCleanly(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "aip.db"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, db)
	find(t, db, f.user, f.org)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindCredentials(ctx, f.user, f.org); err == nil {
		t.Error("FindCredentials after Close succeeded, want an error")
	}
	if err := db.SetAPIKey(ctx, f.user, []byte("k")); err == nil {
		t.Error("SetAPIKey after Close succeeded, want an error")
	}
}
