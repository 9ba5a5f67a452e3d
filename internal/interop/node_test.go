package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// npmEnv makes an unusable npm registry a failure instead of a skip; CI sets it.
	npmEnv = "AIP_TEST_NPM_HAWK"
	// npmTimeout bounds `npm ci`: a registry that does not answer in time
	// counts as unreachable.
	npmTimeout = 3 * time.Minute
	// nodeTimeout bounds one run of a node script.
	nodeTimeout = 30 * time.Second
	// hawkVersion is the release pinned in testdata/hawk-node/package.json.
	hawkVersion = "9.0.2"
	// installStamp, inside node_modules, holds the SHA-256 of the
	// package-lock.json that node_modules was installed from.
	installStamp = ".aip-installed-from"
)

// hawkNodeInstall memoizes the one `npm ci` of a test binary.
var hawkNodeInstall struct {
	once sync.Once
	dir  string
	skip string // non-empty: why the npm tests cannot run here
	err  error
}

// hawkNodeDir returns the absolute path of testdata/hawk-node with hawk@9.0.2
// installed in its node_modules. It skips the test when node or npm is
// missing, or when the npm registry is unreachable (a failure instead when
// AIP_TEST_NPM_HAWK=1).
func hawkNodeDir(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv(npmEnv) == "1" {
				t.Fatalf("%s=1 but %s is not in PATH", npmEnv, tool)
			}
			t.Skipf("%s not found in PATH: skipping the npm hawk@%s interop tests (install Node.js and npm to run them)", tool, hawkVersion)
		}
	}
	hawkNodeInstall.once.Do(func() {
		dir, err := filepath.Abs(filepath.Join("testdata", "hawk-node"))
		if err != nil {
			hawkNodeInstall.err = fmt.Errorf("locate testdata/hawk-node: %w", err)
			return
		}
		hawkNodeInstall.dir = dir
		hawkNodeInstall.skip, hawkNodeInstall.err = installHawkNode(dir)
	})
	switch {
	case hawkNodeInstall.err != nil:
		t.Fatal(hawkNodeInstall.err)
	case hawkNodeInstall.skip != "" && os.Getenv(npmEnv) == "1":
		t.Fatalf("%s=1: %s", npmEnv, hawkNodeInstall.skip)
	case hawkNodeInstall.skip != "":
		t.Skip(hawkNodeInstall.skip)
	}
	return hawkNodeInstall.dir
}

// installHawkNode runs `npm ci` in dir unless node_modules was already
// installed from the current package-lock.json. It returns a skip reason
// when the registry cannot be reached and an error for any other failure.
func installHawkNode(dir string) (skip string, err error) {
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return "", fmt.Errorf("read package-lock.json: %w", err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	if installedFrom(dir) == want {
		return "", nil
	}
	dirSum := sha256.Sum256([]byte(dir))
	unlock, err := lockFile(filepath.Join(os.TempDir(), "aip-hawk-node-"+hex.EncodeToString(dirSum[:8])+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if installedFrom(dir) == want { // another test process installed it while we waited
		return "", nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil || registryUnreachable(out) {
			return fmt.Sprintf("npm registry unreachable, cannot install hawk@%s (npm ci: %v): %s", hawkVersion, err, npmErrorSummary(out)), nil
		}
		return "", fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	var pkg struct{ Version string }
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "hawk", "package.json"))
	if err != nil {
		return "", fmt.Errorf("npm ci did not install hawk: %w", err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != hawkVersion {
		return "", fmt.Errorf("npm ci installed hawk %q, want %s (%v)", pkg.Version, hawkVersion, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node_modules", installStamp), []byte(want), 0o644); err != nil {
		return "", fmt.Errorf("write install stamp: %w", err)
	}
	return "", nil
}

// installedFrom returns the lock file hash node_modules was installed from,
// "" when it is missing or incomplete (npm ci removes the stamp with the
// rest of node_modules).
func installedFrom(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "hawk", "package.json")); err != nil {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", installStamp))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// registryUnreachable recognizes npm's network failures (as opposed to a
// broken lock file or an integrity mismatch, which must fail the test).
func registryUnreachable(out []byte) bool {
	for _, code := range []string{"ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT",
		"ENETUNREACH", "EHOSTUNREACH", "ESOCKETTIMEDOUT", "network request", "socket hang up", "E502", "E503", "E504"} {
		if bytes.Contains(out, []byte(code)) {
			return true
		}
	}
	return false
}

// npmErrorSummary keeps the lines of npm's output that say what failed
// (the error code and the failed request), or its last line.
func npmErrorSummary(out []byte) string {
	var keep []string
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "npm error code") || strings.Contains(l, "FetchError") {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	if len(keep) == 0 {
		return lines[len(lines)-1]
	}
	return strings.Join(keep, "; ")
}

// nodeVerdict is one line of client-check.js: the status, whether the node
// client accepted the response, and the headers it parsed and verified.
type nodeVerdict struct {
	status        int
	authenticated bool
	rejection     string
	// headers is client.authenticate's result.headers: "www-authenticate"
	// and/or "server-authorization", each attribute → value.
	headers map[string]map[string]string
	raw     string
}

// clientCheck runs client-check.js: the node client signs, sends, and
// validates the answer the way the Threat Stack node example does.
func clientCheck(t *testing.T, dir string, env []string, method, url string, body *string) nodeVerdict {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	args := []string{"client-check.js", method, url}
	if body != nil {
		args = append(args, *body)
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("node client-check.js: %v; stderr: %s", err, stderr.String())
	}
	raw := strings.TrimSpace(stdout.String())
	v := nodeVerdict{raw: raw}
	code, rest, _ := strings.Cut(raw, " ")
	if v.status, err = strconv.Atoi(code); err != nil {
		t.Fatalf("client-check.js printed %q (stderr %q): no status", raw, stderr.String())
	}
	if js, ok := strings.CutPrefix(rest, "response authenticated "); ok {
		v.authenticated = true
		if err := json.Unmarshal([]byte(js), &v.headers); err != nil {
			t.Fatalf("client-check.js headers %q: %v", js, err)
		}
	} else {
		v.rejection = strings.TrimPrefix(rest, "RESPONSE REJECTED: ")
	}
	if v.authenticated == (exit != nil) {
		t.Fatalf("client-check.js printed %q but exited with %v", raw, err)
	}
	return v
}

func TestNodeClient(t *testing.T) {
	dir := hawkNodeDir(t)
	s := startAIPD(t)
	otherOrg := s.createOrg(t, "node-other")
	// "%2B00:00" keeps the offset's "+" encoded: the MAC covers the query
	// exactly as sent, so a server that signed the decoded query would fail.
	from := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04") + "%2B00:00"
	invite := `{"email":"node-invite@example.com","role":"user"}`

	tests := []struct {
		name, method, path string
		body               *string
		ext, key, offsetMS string // "" = the bootstrap owner's org and key, no offset
		wantStatus         int
		// wantSigned: the node client found Server-Authorization and
		// verified its mac and hash (it throws otherwise).
		wantSigned bool
		// wantWWWError is the verified WWW-Authenticate error attribute.
		wantWWWError string
	}{
		{name: "authenticates GET self-test", method: "GET", path: "/help/hawk/self-test",
			wantStatus: 200, wantSigned: true},
		{name: "authenticates GET members", method: "GET", path: "/v2/organizations/members",
			wantStatus: 200, wantSigned: true},
		{name: "authenticates GET auditlogs with a raw query", method: "GET", path: "/v2/auditlogs?from=" + from,
			wantStatus: 200, wantSigned: true},
		{name: "authenticates POST invites with a hashed JSON body", method: "POST", path: "/v2/organizations/invites", body: &invite,
			wantStatus: 200, wantSigned: true},
		{name: "verifies the tsm of a stale-clock 401", method: "GET", path: "/help/hawk/self-test", offsetMS: "-600000",
			wantStatus: 401, wantWWWError: "Stale timestamp"},
		{name: "gets an unsigned 401 for a wrong key", method: "GET", path: "/help/hawk/self-test", key: "not-the-key",
			wantStatus: 401, wantWWWError: "Bad mac"},
		// client-check.js passes required:false for non-200 answers; the
		// node client still verifies a Server-Authorization that is present,
		// mac and hash, so this 403 is proven signed.
		{name: "verifies the signed 403 for an organization the user is not in", method: "GET", path: "/help/hawk/self-test", ext: otherOrg,
			wantStatus: 403, wantSigned: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ext, key := s.boot.OrgID, s.boot.APIKey
			if tt.ext != "" {
				ext = tt.ext
			}
			if tt.key != "" {
				key = tt.key
			}
			env := []string{"HAWK_ID=" + s.boot.UserID, "HAWK_KEY=" + key, "HAWK_EXT=" + ext, "HAWK_OFFSET_MS=" + tt.offsetMS}
			v := clientCheck(t, dir, env, tt.method, s.base+tt.path, tt.body)
			if !v.authenticated {
				t.Fatalf("node client rejected the response: %s", v.raw)
			}
			if v.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", v.status, tt.wantStatus, v.raw)
			}
			sa, signed := v.headers["server-authorization"]
			if signed != tt.wantSigned {
				t.Errorf("Server-Authorization verified = %v, want %v (%s)", signed, tt.wantSigned, v.raw)
			}
			if signed && sa["hash"] == "" {
				t.Errorf("Server-Authorization has no hash: %s", v.raw)
			}
			www := v.headers["www-authenticate"]
			if got := www["error"]; got != tt.wantWWWError {
				t.Errorf("WWW-Authenticate error = %q, want %q (%s)", got, tt.wantWWWError, v.raw)
			}
			if tt.wantWWWError == "Stale timestamp" && (www["ts"] == "" || www["tsm"] == "") {
				t.Errorf("stale 401 lacks ts/tsm, so the node client verified nothing: %s", v.raw)
			}
		})
	}
}

// startOracle runs ref-server.js, the hawk@9.0.2 reference server, on a free
// loopback port for the given credentials and returns its base URL.
func startOracle(t *testing.T, dir string, creds map[string]string) string {
	t.Helper()
	js, err := json.Marshal(creds)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", "ref-server.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HAWK_CREDS="+string(js), "PORT=0", "SKEW=60")
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start ref-server.js: %v", err)
	}
	t.Cleanup(func() {
		cancel() // kills the node process we started
		_ = cmd.Wait()
	})
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		port <- strings.TrimSpace(line)
	}()
	select {
	case p := <-port:
		if _, err := strconv.Atoi(p); err != nil {
			t.Fatalf("ref-server.js printed %q, want its port; stderr: %s", p, stderr.String())
		}
		return "http://127.0.0.1:" + p
	case <-time.After(nodeTimeout):
		t.Fatalf("ref-server.js did not start within %v; stderr: %s", nodeTimeout, stderr.String())
	}
	return ""
}
