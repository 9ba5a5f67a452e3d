package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/rules"
	"github.com/aipsec/aip/internal/store/sqlite"
)

var (
	id24   = regexp.MustCompile(`^[0-9a-f]{24}$`)
	apiKey = regexp.MustCompile(`^[0-9A-Za-z]{40}$`)
)

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if runtime.GOOS == "windows" {
		return // no Unix permission bits
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

func TestFirstStartBootstraps(t *testing.T) {
	inst := start(t, app.Config{})
	cfg := inst.Config
	b := inst.Bootstrap
	if b == nil {
		t.Fatal("Bootstrap is nil after the first start")
	}

	checkMode(t, cfg.MasterKeyPath(), 0o600)
	checkMode(t, cfg.CredentialsPath(), 0o600)

	lines := readLines(t, cfg.CredentialsPath())
	want := []string{
		"TS_API_ENDPOINT=http://" + inst.Addr(),
		"TS_USER_ID=" + b.UserID,
		"TS_API_KEY=" + b.APIKey,
		"TS_ORGANIZATION_ID=" + b.OrgID,
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("credentials.env (-want +got):\n%s", diff)
	}
	if !id24.MatchString(b.UserID) || !id24.MatchString(b.OrgID) || !apiKey.MatchString(b.APIKey) {
		t.Errorf("bootstrap ids/key have the wrong shape: %+v", b)
	}

	out := inst.stdout.String()
	for _, w := range []string{
		cfg.CredentialsPath(),
		"set -a; . " + cfg.CredentialsPath() + "; set +a;",
		"/help/hawk/self-test",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout %q does not contain %q", out, w)
		}
	}

	t.Run("credentials from the file pass the self-test", func(t *testing.T) {
		env := credentials(t, cfg.CredentialsPath())
		c := newClient(t, env[client.EnvEndpoint], env[client.EnvUserID], env[client.EnvAPIKey], env[client.EnvOrgID])
		selfTest(t, c)
	})
	t.Run("the owner is the only member", func(t *testing.T) {
		members, _, err := inst.client(t, b.APIKey).Members.List(context.Background(), nil)
		if err != nil {
			t.Fatalf("list members: %v", err)
		}
		if len(members) != 1 || members[0].ID != b.UserID || members[0].Role != aip.RoleOwner {
			t.Errorf("members = %+v, want the owner %s alone", members, b.UserID)
		}
	})
	t.Run("the organization has the Base Rule Set", func(t *testing.T) {
		c := inst.client(t, b.APIKey)
		sets, _, err := c.Rulesets.List(context.Background(), nil)
		if err != nil {
			t.Fatalf("list rulesets: %v", err)
		}
		if len(sets) != 1 || sets[0].Name != rules.BaseRuleSetName {
			t.Fatalf("rulesets = %+v, want the Base Rule Set alone", sets)
		}
		got, _, err := c.Rules.List(context.Background(), sets[0].ID)
		if err != nil {
			t.Fatalf("list rules: %v", err)
		}
		var names, want []string
		for _, r := range got {
			names = append(names, r.Name)
		}
		for _, r := range rules.BaseRules() {
			want = append(want, r.Name)
		}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("rule names (-want +got):\n%s", diff)
		}
	})
}

func TestSecondStartDoesNotBootstrap(t *testing.T) {
	first := start(t, app.Config{})
	cfg := first.Config
	b := first.Bootstrap
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	before, err := os.ReadFile(cfg.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	fiBefore, err := os.Stat(cfg.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}

	second := start(t, app.Config{DataDir: cfg.DataDir})
	if second.Bootstrap != nil {
		t.Errorf("second start bootstrapped again: %+v", second.Bootstrap)
	}
	if out := second.stdout.String(); out != "" {
		t.Errorf("second start printed %q, want nothing", out)
	}
	after, err := os.ReadFile(cfg.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	fiAfter, err := os.Stat(cfg.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(before), string(after)); diff != "" || !fiAfter.ModTime().Equal(fiBefore.ModTime()) {
		t.Errorf("credentials.env was rewritten (-before +after):\n%s", diff)
	}

	c := newClient(t, "http://"+second.Addr(), b.UserID, b.APIKey, b.OrgID)
	selfTest(t, c)
	members, _, err := c.Members.List(context.Background(), nil)
	if err != nil {
		t.Fatalf("list members: %v", err)
	}
	if len(members) != 1 || members[0].ID != b.UserID {
		t.Errorf("members = %+v, want the first start's owner alone", members)
	}
	owner, err := second.Store().FindUserByEmail(context.Background(), "owner@localhost")
	if err != nil || owner.ID != b.UserID {
		t.Errorf("owner@localhost = %+v, %v; want the first start's user %s", owner, err, b.UserID)
	}
}

func TestMasterKeyFileElsewhere(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "secrets", "aip.key")
	dataDir := t.TempDir()
	first := start(t, app.Config{DataDir: dataDir, MasterKeyFile: keyPath})
	checkMode(t, keyPath, 0o600)
	if _, err := os.Stat(filepath.Join(dataDir, "master.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a master.key was created in the data dir too (stat: %v)", err)
	}
	b := first.Bootstrap
	selfTest(t, first.client(t, b.APIKey))
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	t.Run("a restart with the same key file verifies the stored key", func(t *testing.T) {
		second := start(t, app.Config{DataDir: dataDir, MasterKeyFile: keyPath})
		selfTest(t, newClient(t, "http://"+second.Addr(), b.UserID, b.APIKey, b.OrgID))
	})
}

func TestOpenRefusesUnsafeMasterKey(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits on Windows")
	}
	dataDir := t.TempDir()
	keyPath := filepath.Join(dataDir, "master.key")
	if err := os.WriteFile(keyPath, []byte(hex.EncodeToString(make([]byte, keyring.KeySize))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyPath, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := open(t, app.Config{DataDir: dataDir})
	if err == nil {
		t.Fatal("Open succeeded with a group-readable master key")
	}
	for _, w := range []string{keyPath, "group or others", "chmod 600"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "aip.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a database was created despite the refusal (stat: %v)", err)
	}
}

func TestOpenRefusesMissingMasterKeyOfExistingDatabase(t *testing.T) {
	first := start(t, app.Config{})
	cfg := first.Config
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(cfg.MasterKeyPath()); err != nil {
		t.Fatal(err)
	}
	_, err := open(t, app.Config{DataDir: cfg.DataDir})
	if err == nil || !strings.Contains(err.Error(), "is missing but database") {
		t.Fatalf("Open error = %v, want a refusal naming the missing key", err)
	}
	if _, err := os.Stat(cfg.MasterKeyPath()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a new master key was created (stat: %v)", err)
	}
}

func TestFailedFirstStartBootstrapsOnRetry(t *testing.T) {
	dataDir := t.TempDir()
	cfg := app.Config{DataDir: dataDir}
	// A directory where credentials.env goes makes the bootstrap fail after
	// the database was created.
	blocker := filepath.Join(dataDir, "credentials.env")
	if err := os.Mkdir(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, cfg); err == nil || !strings.Contains(err.Error(), "bootstrap") {
		t.Fatalf("Open error = %v, want a bootstrap failure", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "aip.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the failed first start left its database behind (stat: %v)", err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	inst := start(t, cfg)
	if inst.Bootstrap == nil {
		t.Fatal("the retry did not bootstrap")
	}
	selfTest(t, inst.client(t, inst.Bootstrap.APIKey))
}

func TestOpenReportsBusyPort(t *testing.T) {
	busy := start(t, app.Config{})
	dataDir := t.TempDir()
	_, err := open(t, app.Config{DataDir: dataDir, Addr: busy.Addr()})
	if err == nil || !strings.Contains(err.Error(), "listen on "+busy.Addr()) {
		t.Fatalf("Open error = %v, want a listen error", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "aip.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a database was created despite the failed listen (stat: %v)", err)
	}
}

func TestKeyRotationWhileRunning(t *testing.T) {
	inst := start(t, app.Config{})
	b := inst.Bootstrap
	oldClient := inst.client(t, b.APIKey)
	selfTest(t, oldClient)

	// A second handle on the same file, as `aipd admin key rotate` opens.
	ctx := context.Background()
	db, err := sqlite.Open(ctx, inst.Config.DatabasePath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	newKey, err := app.RotateKey(ctx, db, loadKeyring(t, inst.Config), b.UserID)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if newKey == b.APIKey || !apiKey.MatchString(newKey) {
		t.Fatalf("RotateKey returned %q", newKey)
	}

	t.Run("rejects the old key at once", func(t *testing.T) {
		_, _, err := oldClient.Help.SelfTest(ctx)
		var ae *client.AuthError
		if !errors.As(err, &ae) || ae.Response.StatusCode != 401 {
			t.Fatalf("self-test with the old key: %v, want a 401 *client.AuthError", err)
		}
	})
	t.Run("accepts the new key", func(t *testing.T) {
		selfTest(t, inst.client(t, newKey))
	})
	t.Run("rejects an unknown user", func(t *testing.T) {
		if _, err := app.RotateKey(ctx, db, loadKeyring(t, inst.Config), aip.NewID24()); aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Errorf("RotateKey of an unknown user: %v, want ENOTFOUND", err)
		}
	})
}

func TestOpenDataDir(t *testing.T) {
	ctx := context.Background()
	t.Run("opens a data dir set up by a first start", func(t *testing.T) {
		inst := start(t, app.Config{})
		db, kr, err := app.OpenDataDir(ctx, inst.Config)
		if err != nil {
			t.Fatalf("OpenDataDir: %v", err)
		}
		defer db.Close()
		c, err := db.FindCredentials(ctx, inst.Bootstrap.UserID, inst.Bootstrap.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		if key, err := kr.Open(inst.Bootstrap.UserID, c.EncryptedKey); err != nil || key != inst.Bootstrap.APIKey {
			t.Errorf("the stored key does not open to the bootstrap key (%v)", err)
		}
	})
	t.Run("creates nothing in an empty dir", func(t *testing.T) {
		dir := t.TempDir()
		_, _, err := app.OpenDataDir(ctx, app.Config{DataDir: dir})
		if err == nil || !strings.Contains(err.Error(), "no database") {
			t.Fatalf("OpenDataDir error = %v, want no database", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("OpenDataDir created %d files", len(entries))
		}
	})
	t.Run("refuses a database without its master key", func(t *testing.T) {
		inst := start(t, app.Config{})
		_, _, err := app.OpenDataDir(ctx, app.Config{DataDir: inst.Config.DataDir, MasterKeyFile: filepath.Join(t.TempDir(), "none.key")})
		if err == nil || !strings.Contains(err.Error(), "is missing") {
			t.Fatalf("OpenDataDir error = %v, want a missing master key", err)
		}
	})
}

func TestCreateDeployKey(t *testing.T) {
	ctx := context.Background()
	inst := start(t, app.Config{})
	db, _, err := app.OpenDataDir(ctx, inst.Config)
	if err != nil {
		t.Fatalf("OpenDataDir: %v", err)
	}
	defer db.Close()
	t.Run("stores only the hash of a fresh key", func(t *testing.T) {
		k1, err := app.CreateDeployKey(ctx, db, inst.Bootstrap.OrgID)
		if err != nil {
			t.Fatalf("CreateDeployKey: %v", err)
		}
		k2, err := app.CreateDeployKey(ctx, db, inst.Bootstrap.OrgID)
		if err != nil {
			t.Fatalf("CreateDeployKey: %v", err)
		}
		if k1 == k2 {
			t.Fatal("two deploy keys are equal")
		}
		sum := sha256.Sum256([]byte(k1))
		dk, err := db.FindDeployKey(ctx, sum[:])
		if err != nil {
			t.Fatalf("FindDeployKey: %v", err)
		}
		if dk.OrgID != inst.Bootstrap.OrgID || !bytes.Equal(dk.KeyHash, sum[:]) {
			t.Errorf("stored deploy key %+v, want organization %s and the key's SHA-256", dk, inst.Bootstrap.OrgID)
		}
	})
	t.Run("rejects an unknown organization", func(t *testing.T) {
		if _, err := app.CreateDeployKey(ctx, db, aip.NewID24()); aip.ErrorCode(err) != aip.ENOTFOUND {
			t.Errorf("error %v, want ENOTFOUND", err)
		}
	})
}
