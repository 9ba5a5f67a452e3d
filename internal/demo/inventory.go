package demo

import (
	"slices"
	"strings"

	"github.com/aipsec/aip"
)

// pkg is one installed package of a simulated host: name, version, arch,
// then the source package and its version when they differ from the
// binary's (Debian and Ubuntu advisories name source packages).
type pkg struct {
	name, version, arch, source, sourceVersion string
}

// ubuntuBase is what every Ubuntu 22.04 server of the fleet has installed:
// a cloud image with the usual tools, a few point releases behind the
// archive, so that the shipped advisories find something to report.
var ubuntuBase = []pkg{
	{"adduser", "3.118ubuntu5", "all", "", ""},
	{"apt", "2.4.11", "amd64", "", ""},
	{"base-files", "12ubuntu4.4", "amd64", "", ""},
	{"bash", "5.1-6ubuntu1", "amd64", "", ""},
	{"bsdutils", "1:2.37.2-4ubuntu3", "amd64", "util-linux", "2.37.2-4ubuntu3"},
	{"ca-certificates", "20230311ubuntu0.22.04.1", "all", "", ""},
	{"chrony", "4.2-2ubuntu2", "amd64", "", ""},
	{"coreutils", "8.32-4.1ubuntu1", "amd64", "", ""},
	{"cron", "3.0pl1-137ubuntu3", "amd64", "", ""},
	{"curl", "7.81.0-1ubuntu1.13", "amd64", "", ""},
	{"dash", "0.5.11+git20210903+057cd650a4ed-3build1", "amd64", "", ""},
	{"dbus", "1.12.20-2ubuntu4.1", "amd64", "", ""},
	{"debconf", "1.5.79ubuntu1", "all", "", ""},
	{"dpkg", "1.21.1ubuntu2.2", "amd64", "", ""},
	{"e2fsprogs", "1.46.5-2ubuntu1.1", "amd64", "", ""},
	{"findutils", "4.8.0-1ubuntu3", "amd64", "", ""},
	{"git", "1:2.34.1-1ubuntu1.10", "amd64", "", ""},
	{"git-man", "1:2.34.1-1ubuntu1.10", "all", "git", ""},
	{"gpgv", "2.2.27-3ubuntu2.1", "amd64", "gnupg2", ""},
	{"grep", "3.7-1build1", "amd64", "", ""},
	{"gzip", "1.10-4ubuntu4.1", "amd64", "", ""},
	{"less", "590-1ubuntu0.22.04.1", "amd64", "", ""},
	{"libc-bin", "2.35-0ubuntu3.4", "amd64", "glibc", ""},
	{"libc6", "2.35-0ubuntu3.4", "amd64", "glibc", ""},
	{"libcap2", "1:2.44-1ubuntu0.22.04.1", "amd64", "", ""},
	{"libcurl4", "7.81.0-1ubuntu1.13", "amd64", "curl", ""},
	{"libexpat1", "2.4.7-1ubuntu0.2", "amd64", "expat", ""},
	{"libgnutls30", "3.7.3-4ubuntu1.2", "amd64", "gnutls28", ""},
	{"libkrb5-3", "1.19.2-2ubuntu0.2", "amd64", "krb5", ""},
	{"libncursesw6", "6.3-2ubuntu0.1", "amd64", "ncurses", ""},
	{"libnghttp2-14", "1.43.0-1build3", "amd64", "nghttp2", ""},
	{"libpam-modules", "1.4.0-11ubuntu2.3", "amd64", "pam", ""},
	{"libpam0g", "1.4.0-11ubuntu2.3", "amd64", "pam", ""},
	{"libpcre2-8-0", "10.39-3ubuntu0.1", "amd64", "pcre2", ""},
	{"libpython3.10-minimal", "3.10.12-1~22.04.2", "amd64", "python3.10", ""},
	{"libsqlite3-0", "3.37.2-2ubuntu0.1", "amd64", "sqlite3", ""},
	{"libssl3", "3.0.2-0ubuntu1.10", "amd64", "openssl", ""},
	{"libsystemd0", "249.11-0ubuntu3.10", "amd64", "systemd", ""},
	{"libxml2", "2.9.13+dfsg-1ubuntu0.3", "amd64", "", ""},
	{"libzstd1", "1.4.8+dfsg-3build1", "amd64", "libzstd", ""},
	{"login", "1:4.8.1-2ubuntu2.1", "amd64", "shadow", ""},
	{"logrotate", "3.19.0-1ubuntu1.1", "amd64", "", ""},
	{"ncurses-base", "6.3-2ubuntu0.1", "all", "ncurses", ""},
	{"openssh-client", "1:8.9p1-3ubuntu0.4", "amd64", "openssh", ""},
	{"openssh-server", "1:8.9p1-3ubuntu0.4", "amd64", "openssh", ""},
	{"openssh-sftp-server", "1:8.9p1-3ubuntu0.4", "amd64", "openssh", ""},
	{"openssl", "3.0.2-0ubuntu1.10", "amd64", "", ""},
	{"passwd", "1:4.8.1-2ubuntu2.1", "amd64", "shadow", ""},
	{"perl-base", "5.34.0-3ubuntu1.2", "amd64", "perl", ""},
	{"procps", "2:3.3.17-6ubuntu2", "amd64", "", ""},
	{"python3-urllib3", "1.26.5-1~exp1ubuntu0.1", "all", "python-urllib3", ""},
	{"python3.10", "3.10.12-1~22.04.2", "amd64", "", ""},
	{"python3.10-minimal", "3.10.12-1~22.04.2", "amd64", "python3.10", ""},
	{"rsyslog", "8.2112.0-2ubuntu2.2", "amd64", "", ""},
	{"sudo", "1.9.9-1ubuntu2.3", "amd64", "", ""},
	{"systemd", "249.11-0ubuntu3.10", "amd64", "", ""},
	{"tar", "1.34+dfsg-1ubuntu0.1.22.04.1", "amd64", "", ""},
	{"tzdata", "2023c-0ubuntu0.22.04.2", "all", "", ""},
	{"util-linux", "2.37.2-4ubuntu3", "amd64", "", ""},
	{"vim", "2:8.2.3995-1ubuntu2.11", "amd64", "", ""},
	{"vim-common", "2:8.2.3995-1ubuntu2.11", "all", "vim", ""},
	{"vim-runtime", "2:8.2.3995-1ubuntu2.11", "all", "vim", ""},
	{"xxd", "2:8.2.3995-1ubuntu2.11", "amd64", "vim", ""},
	{"zlib1g", "1:1.2.11.dfsg-2ubuntu9.2", "amd64", "zlib", ""},
}

// ubuntuWeb is what a web server adds: nginx in front of PHP-FPM, as its
// events show.
var ubuntuWeb = []pkg{
	{"libnginx-mod-http-geoip2", "1.18.0-6ubuntu14.4", "amd64", "nginx", ""},
	{"nginx", "1.18.0-6ubuntu14.4", "amd64", "", ""},
	{"nginx-common", "1.18.0-6ubuntu14.4", "all", "nginx", ""},
	{"nginx-core", "1.18.0-6ubuntu14.4", "amd64", "nginx", ""},
	{"php8.1-cli", "8.1.2-1ubuntu2.14", "amd64", "php8.1", ""},
	{"php8.1-common", "8.1.2-1ubuntu2.14", "amd64", "php8.1", ""},
	{"php8.1-fpm", "8.1.2-1ubuntu2.14", "amd64", "php8.1", ""},
}

// ubuntuBastion is what the bastion adds: session and audit tooling.
var ubuntuBastion = []pkg{
	{"auditd", "1:3.0.7-1build1", "amd64", "audit", ""},
	{"fail2ban", "0.11.2-6", "all", "", ""},
	{"tmux", "3.2a-4ubuntu0.2", "amd64", "", ""},
}

// almaDB is the database server: a minimal AlmaLinux 9.3 install with
// PostgreSQL, a few updates behind.
var almaDB = []pkg{
	{"amazon-ssm-agent", "3.2.1542.0-1", "x86_64", "", ""},
	{"audit", "3.0.7-104.el9", "x86_64", "", ""},
	{"bash", "5.1.8-6.el9_1", "x86_64", "", ""},
	{"ca-certificates", "2023.2.60_v7.0.306-90.1.el9_2", "noarch", "", ""},
	{"chrony", "4.3-1.el9", "x86_64", "", ""},
	{"coreutils", "8.32-34.el9", "x86_64", "", ""},
	{"cronie", "1.5.7-8.el9", "x86_64", "", ""},
	{"curl", "7.76.1-26.el9_3.2", "x86_64", "", ""},
	{"dnf", "4.14.0-8.el9.alma", "noarch", "", ""},
	{"expat", "2.5.0-1.el9", "x86_64", "", ""},
	{"glibc", "2.34-83.el9_3.7", "x86_64", "", ""},
	{"glibc-common", "2.34-83.el9_3.7", "x86_64", "", ""},
	{"glibc-minimal-langpack", "2.34-83.el9_3.7", "x86_64", "", ""},
	{"gnupg2", "2.3.3-4.el9", "x86_64", "", ""},
	{"gnutls", "3.7.6-23.el9", "x86_64", "", ""},
	{"kernel", "5.14.0-362.8.1.el9_3", "x86_64", "", ""},
	{"krb5-libs", "1.21.1-1.el9", "x86_64", "", ""},
	{"less", "590-2.el9_2", "x86_64", "", ""},
	{"libcurl", "7.76.1-26.el9_3.2", "x86_64", "", ""},
	{"libgcrypt", "1.10.0-10.el9_2", "x86_64", "", ""},
	{"libssh", "0.10.4-11.el9", "x86_64", "", ""},
	{"libxml2", "2.9.13-5.el9_3", "x86_64", "", ""},
	{"ncurses-libs", "6.2-10.20210508.el9", "x86_64", "", ""},
	{"nss", "3.90.0-3.el9_2", "x86_64", "", ""},
	{"openssh", "8.7p1-34.el9", "x86_64", "", ""},
	{"openssh-clients", "8.7p1-34.el9", "x86_64", "", ""},
	{"openssh-server", "8.7p1-34.el9", "x86_64", "", ""},
	{"openssl", "1:3.0.7-24.el9", "x86_64", "", ""},
	{"openssl-libs", "1:3.0.7-24.el9", "x86_64", "", ""},
	{"pam", "1.5.1-15.el9", "x86_64", "", ""},
	{"postgresql", "13.11-1.el9", "x86_64", "", ""},
	{"postgresql-private-libs", "13.11-1.el9", "x86_64", "", ""},
	{"postgresql-server", "13.11-1.el9", "x86_64", "", ""},
	{"procps-ng", "3.3.17-13.el9", "x86_64", "", ""},
	{"python3", "3.9.18-1.el9_3", "x86_64", "", ""},
	{"python3-libs", "3.9.18-1.el9_3", "x86_64", "", ""},
	{"rpm", "4.16.1.3-25.el9", "x86_64", "", ""},
	{"rpm-libs", "4.16.1.3-25.el9", "x86_64", "", ""},
	{"rsyslog", "8.2102.0-117.el9", "x86_64", "", ""},
	{"shadow-utils", "2:4.9-8.el9", "x86_64", "", ""},
	{"sqlite-libs", "3.34.1-6.el9_1", "x86_64", "", ""},
	{"sudo", "1.9.5p2-9.el9", "x86_64", "", ""},
	{"systemd", "252-18.el9", "x86_64", "", ""},
	{"systemd-libs", "252-18.el9", "x86_64", "", ""},
	{"tar", "2:1.34-6.el9_1", "x86_64", "", ""},
	{"tzdata", "2023c-1.el9", "noarch", "", ""},
	{"util-linux", "2.37.4-15.el9", "x86_64", "", ""},
	{"vim-minimal", "2:8.2.2637-20.el9_1", "x86_64", "", ""},
	{"zlib", "1.2.11-40.el9", "x86_64", "", ""},
}

// Inventory returns the package snapshot h's agent reports (PUT
// /agent/v1/packages): a fixed list per distribution and role, so that the
// demo's vulnerabilities are the same on every run. OrgID and AgentID are
// left to the caller. A host of an operating system the demo has no list
// for gets an empty deb inventory of its os-release id.
func (h Host) Inventory() aip.Inventory {
	distro, release, _ := strings.Cut(h.OSVersion, "-")
	inv := aip.Inventory{Ecosystem: aip.EcosystemDeb, Distro: distro, Release: release}
	var lists [][]pkg
	switch distro {
	case "ubuntu":
		lists = append(lists, ubuntuBase)
		switch h.Role {
		case RoleWeb:
			lists = append(lists, ubuntuWeb)
		case RoleBastion:
			lists = append(lists, ubuntuBastion)
		}
	case "almalinux":
		// Advisories key AlmaLinux by major release, as os-release's
		// VERSION_ID does not: 9.3 reports as 9.
		major, _, _ := strings.Cut(release, ".")
		inv.Ecosystem, inv.Release = aip.EcosystemRPM, major
		lists = append(lists, almaDB)
	}
	inv.Packages = []aip.InstalledPackage{}
	for _, l := range lists {
		for _, p := range l {
			inv.Packages = append(inv.Packages, aip.InstalledPackage{
				Name: p.name, Version: p.version, Arch: p.arch, Source: p.source, SourceVersion: p.sourceVersion,
			})
		}
	}
	// By name, as dpkg -l and rpm -qa | sort list them.
	slices.SortFunc(inv.Packages, func(a, b aip.InstalledPackage) int { return strings.Compare(a.Name, b.Name) })
	return inv
}
