// Package packages builds the agent's installed-package inventory (the
// body of PUT /agent/v1/packages) from the dpkg, rpm or apk database, and
// watches that database so the agent re-sends the inventory after an
// install, upgrade or removal.
package packages

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aipsec/aip"
)

// Options names the files read; zero values are the usual paths under
// Root ("" = "/"), which tests point at a temporary tree.
type Options struct {
	Root string
	// OSRelease defaults to /etc/os-release (then /usr/lib/os-release).
	OSRelease string
	// DpkgStatus defaults to /var/lib/dpkg/status.
	DpkgStatus string
	// APKInstalled defaults to /lib/apk/db/installed.
	APKInstalled string
	// RPMDBDirs default to /var/lib/rpm and /usr/lib/sysimage/rpm; the rpm
	// ecosystem is used when one exists and RPMCommand runs.
	RPMDBDirs []string
	// RPMCommand defaults to the rpm binary found in PATH.
	RPMCommand string
	// Debounce is the quiet time Watch waits after a change; 5 s by
	// default, since a package manager rewrites its database many times
	// during one transaction.
	Debounce time.Duration
	Logger   *slog.Logger
}

// Source reads the host's package inventory.
type Source struct {
	opts Options
	log  *slog.Logger
}

// New returns a Source reading the paths of opts.
func New(opts Options) *Source {
	root := func(p string) string { return filepath.Join(opts.Root, p) }
	if opts.Root == "" {
		root = func(p string) string { return p }
	}
	if opts.OSRelease == "" {
		opts.OSRelease = root("/etc/os-release")
		if _, err := os.Stat(opts.OSRelease); err != nil {
			opts.OSRelease = root("/usr/lib/os-release")
		}
	}
	if opts.DpkgStatus == "" {
		opts.DpkgStatus = root("/var/lib/dpkg/status")
	}
	if opts.APKInstalled == "" {
		opts.APKInstalled = root("/lib/apk/db/installed")
	}
	if opts.RPMDBDirs == nil {
		opts.RPMDBDirs = []string{root("/var/lib/rpm"), root("/usr/lib/sysimage/rpm")}
	}
	if opts.RPMCommand == "" {
		if p, err := exec.LookPath("rpm"); err == nil {
			opts.RPMCommand = p
		}
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Source{opts: opts, log: log.With("collector", "packages")}
}

// ErrNoPackageManager is returned by Inventory on a host with none of
// the supported package databases.
var ErrNoPackageManager = errors.New("no dpkg, apk or rpm package database found")

// Inventory reads the installed packages. dpkg wins over apk and rpm
// when several databases exist (Debian can install the rpm tool), since
// the distribution's own manager is the one advisories describe.
func (s *Source) Inventory() (*aip.Inventory, error) {
	inv := &aip.Inventory{}
	var err error
	switch {
	case exists(s.opts.DpkgStatus):
		inv.Ecosystem = aip.EcosystemDeb
		inv.Packages, err = readDpkg(s.opts.DpkgStatus)
	case exists(s.opts.APKInstalled):
		inv.Ecosystem = aip.EcosystemAPK
		inv.Packages, err = readAPK(s.opts.APKInstalled)
	case s.opts.RPMCommand != "" && s.rpmDBExists():
		inv.Ecosystem = aip.EcosystemRPM
		inv.Packages, err = readRPM(s.opts.RPMCommand)
	default:
		return nil, ErrNoPackageManager
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(inv.Packages, func(i, j int) bool {
		a, b := inv.Packages[i], inv.Packages[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Arch < b.Arch
	})
	osr, err := readOSRelease(s.opts.OSRelease)
	if err != nil {
		return nil, err
	}
	inv.Distro = osr["ID"]
	inv.Release = normalizeRelease(inv.Distro, osr["VERSION_ID"])
	return inv, nil
}

func (s *Source) rpmDBExists() bool {
	for _, d := range s.opts.RPMDBDirs {
		if exists(d) {
			return true
		}
	}
	return false
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// normalizeRelease cuts VERSION_ID to the granularity advisories use:
// Alpine's branch (3.19.1 → 3.19) and the Enterprise Linux major
// version (9.4 → 9); Debian and Ubuntu keep theirs (12, 22.04).
func normalizeRelease(distro, version string) string {
	parts := strings.Split(version, ".")
	switch distro {
	case "alpine":
		if len(parts) > 2 {
			return strings.Join(parts[:2], ".")
		}
	case "rhel", "almalinux", "rocky", "centos", "ol":
		return parts[0]
	}
	return version
}

// readOSRelease parses os-release(5): KEY=value lines, values optionally
// quoted.
func readOSRelease(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read os-release: %w", err)
	}
	out := make(map[string]string)
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			v = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(v)
		}
		out[k] = v
	}
	return out, nil
}

// stanzas reads RFC 822-like paragraphs (dpkg status, apk installed):
// blank-line separated, "Key: value" or apk's "K:value" lines; dpkg's
// continuation lines (leading space) are dropped, no field used here has
// them.
func stanzas(path string, each func(map[string]string)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read package database: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	cur := make(map[string]string)
	flush := func() {
		if len(cur) > 0 {
			each(cur)
			cur = make(map[string]string)
		}
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
		default:
			if k, v, ok := strings.Cut(line, ":"); ok {
				cur[k] = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	flush()
	return nil
}

// readDpkg lists the installed packages of a dpkg status file: those
// whose status (the third word of Status) is "installed", held ones
// included.
func readDpkg(path string) ([]aip.InstalledPackage, error) {
	pkgs := []aip.InstalledPackage{}
	err := stanzas(path, func(st map[string]string) {
		status := strings.Fields(st["Status"])
		if len(status) != 3 || status[2] != "installed" || st["Package"] == "" {
			return
		}
		p := aip.InstalledPackage{Name: st["Package"], Version: st["Version"], Arch: st["Architecture"]}
		if src := st["Source"]; src != "" {
			name, ver, _ := strings.Cut(src, " ")
			ver = strings.Trim(strings.TrimSpace(ver), "()")
			if name != p.Name {
				p.Source = name
			}
			if ver != "" && ver != p.Version {
				p.SourceVersion = ver
			}
		}
		pkgs = append(pkgs, p)
	})
	return pkgs, err
}

// readAPK lists the packages of apk's installed database; o: is the
// origin (source) package.
func readAPK(path string) ([]aip.InstalledPackage, error) {
	pkgs := []aip.InstalledPackage{}
	err := stanzas(path, func(st map[string]string) {
		if st["P"] == "" {
			return
		}
		p := aip.InstalledPackage{Name: st["P"], Version: st["V"], Arch: st["A"]}
		if o := st["o"]; o != "" && o != p.Name {
			p.Source = o
		}
		pkgs = append(pkgs, p)
	})
	return pkgs, err
}

// rpmQueryFormat prints one package a line: name, epoch:version-release,
// arch and source rpm file name.
const rpmQueryFormat = `%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n`

func readRPM(command string) ([]aip.InstalledPackage, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(command, "-qa", "--qf", rpmQueryFormat)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("rpm -qa: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return parseRPM(out), nil
}

// parseRPM parses rpm -qa output in rpmQueryFormat. gpg-pubkey entries
// are the imported signing keys, not packages.
func parseRPM(out []byte) []aip.InstalledPackage {
	pkgs := []aip.InstalledPackage{}
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimRight(line, "\r\n"), "\t")
		if len(f) != 4 || f[0] == "" || f[0] == "gpg-pubkey" {
			continue
		}
		p := aip.InstalledPackage{Name: f[0], Version: strings.TrimPrefix(f[1], "0:"), Arch: f[2]}
		if name, vr, ok := splitSourceRPM(f[3]); ok {
			if name != p.Name {
				p.Source = name
			}
			_, plain, hasEpoch := strings.Cut(p.Version, ":")
			if !hasEpoch {
				plain = p.Version
			}
			if vr != plain {
				p.SourceVersion = vr
			}
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// splitSourceRPM splits "bash-5.1.8-9.el9.src.rpm" into "bash" and
// "5.1.8-9.el9".
func splitSourceRPM(s string) (name, versionRelease string, ok bool) {
	s, found := strings.CutSuffix(s, ".src.rpm")
	if !found {
		s, found = strings.CutSuffix(s, ".nosrc.rpm")
	}
	if !found {
		return "", "", false
	}
	rel := strings.LastIndexByte(s, '-')
	if rel <= 0 {
		return "", "", false
	}
	ver := strings.LastIndexByte(s[:rel], '-')
	if ver <= 0 {
		return "", "", false
	}
	return s[:ver], s[ver+1:], true
}

// watchTargets are the directories Watch observes, each with the names
// of its entries that matter ("" = any entry): dpkg and apk replace their
// database file by a rename, so the directory is watched, not the file.
func (s *Source) watchTargets() map[string][]string {
	t := make(map[string][]string)
	for _, p := range []string{s.opts.DpkgStatus, s.opts.APKInstalled} {
		d := filepath.Dir(p)
		if exists(d) {
			t[d] = append(t[d], filepath.Base(p))
		}
	}
	for _, d := range s.opts.RPMDBDirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			t[d] = append(t[d], "")
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("cannot watch rpm database", "path", d, "err", err)
		}
	}
	return t
}
