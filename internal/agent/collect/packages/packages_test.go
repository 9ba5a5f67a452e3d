package packages

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

const dpkgStatus = `Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2+b1
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.
 .
 Source: not-a-field

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b7
Source: bash

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: held
Status: hold ok installed
Architecture: all
Version: 2:1.2-3
Source: held-src
`

const apkInstalled = `C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
o:musl

C:Q1def=
P:libcrypto3
V:3.1.4-r5
A:x86_64
o:openssl
`

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInventory(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  *aip.Inventory
	}{
		{"reads a dpkg status file", map[string]string{
			"etc/os-release":      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
			"var/lib/dpkg/status": dpkgStatus,
		}, &aip.Inventory{Ecosystem: "deb", Distro: "debian", Release: "12", Packages: []aip.InstalledPackage{
			{Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64"},
			{Name: "held", Version: "2:1.2-3", Arch: "all", Source: "held-src"},
			{Name: "libssl3", Version: "3.0.11-1~deb12u2+b1", Arch: "amd64", Source: "openssl", SourceVersion: "3.0.11-1~deb12u2"},
		}}},
		{"reads an apk database", map[string]string{
			"usr/lib/os-release":   "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n",
			"lib/apk/db/installed": apkInstalled,
		}, &aip.Inventory{Ecosystem: "apk", Distro: "alpine", Release: "3.19", Packages: []aip.InstalledPackage{
			{Name: "libcrypto3", Version: "3.1.4-r5", Arch: "x86_64", Source: "openssl"},
			{Name: "musl", Version: "1.2.4-r2", Arch: "x86_64"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for p, c := range tt.files {
				writeFile(t, filepath.Join(root, p), c)
			}
			got, err := New(Options{Root: root, RPMCommand: "/nonexistent/rpm"}).Inventory()
			if err != nil {
				t.Fatalf("Inventory: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("inventory (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInventoryRunsRPM(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/os-release"), "ID=\"almalinux\"\nVERSION_ID=\"9.4\"\n")
	if err := os.MkdirAll(filepath.Join(root, "var/lib/rpm"), 0o755); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(root, "rpm")
	writeFile(t, fake, "#!/bin/sh\nprintf 'openssl-libs\\t1:3.0.7-27.el9\\tx86_64\\topenssl-3.0.7-27.el9.src.rpm\\n"+
		"bash\\t0:5.1.8-9.el9\\tx86_64\\tbash-5.1.8-9.el9.src.rpm\\n"+
		"gpg-pubkey\\t0:3abb34f8-5ffd890e\\t(none)\\t(none)\\n"+
		"kernel-core\\t0:5.14.0-427.el9\\tx86_64\\tkernel-5.14.0-427.el9.src.rpm\\n'\n")
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := New(Options{Root: root, RPMCommand: fake}).Inventory()
	if err != nil {
		t.Fatalf("Inventory: %v", err)
	}
	want := &aip.Inventory{Ecosystem: "rpm", Distro: "almalinux", Release: "9", Packages: []aip.InstalledPackage{
		{Name: "bash", Version: "5.1.8-9.el9", Arch: "x86_64"},
		{Name: "kernel-core", Version: "5.14.0-427.el9", Arch: "x86_64", Source: "kernel"},
		{Name: "openssl-libs", Version: "1:3.0.7-27.el9", Arch: "x86_64", Source: "openssl"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
}

func TestInventoryFailsWithoutPackageManager(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/os-release"), "ID=debian\n")
	_, err := New(Options{Root: root, RPMCommand: "/nonexistent/rpm"}).Inventory()
	if !errors.Is(err, ErrNoPackageManager) {
		t.Errorf("err = %v, want ErrNoPackageManager", err)
	}
}

func TestReadOSRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "os-release")
	writeFile(t, path, "# comment\nNAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\nVERSION='22.04.4 LTS (Jammy \\\"J\\\")'\n\n")
	got, err := readOSRelease(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"NAME": "Ubuntu", "ID": "ubuntu", "ID_LIKE": "debian", "VERSION_ID": "22.04", "VERSION": `22.04.4 LTS (Jammy "J")`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("os-release (-want +got):\n%s", diff)
	}
}

func TestReadDpkgParsesThisMachine(t *testing.T) {
	const path = "/var/lib/dpkg/status"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no dpkg database: %v", err)
	}
	pkgs, err := readDpkg(path)
	if err != nil {
		t.Fatalf("readDpkg: %v", err)
	}
	if len(pkgs) <= 50 {
		t.Errorf("got %d packages, want > 50", len(pkgs))
	}
	for _, p := range pkgs {
		if p.Name == "" || p.Version == "" {
			t.Errorf("package without name or version: %+v", p)
		}
	}
}

func TestWatchFiresAfterChange(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("inotify only")
	}
	root := t.TempDir()
	status := filepath.Join(root, "var/lib/dpkg/status")
	writeFile(t, status, dpkgStatus)
	writeFile(t, filepath.Join(root, "var/lib/dpkg/other"), "")
	s := New(Options{Root: root, Debounce: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	fired := make(chan struct{}, 10)
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, func() { fired <- struct{}{} }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	time.Sleep(100 * time.Millisecond)

	// An unrelated file in the directory does not count.
	writeFile(t, filepath.Join(root, "var/lib/dpkg/other"), "x")
	select {
	case <-fired:
		t.Fatal("fired for an unrelated file")
	case <-time.After(500 * time.Millisecond):
	}
	// dpkg's way: write status-new, rename over status; a burst fires once.
	start := time.Now()
	for range 3 {
		writeFile(t, status+"-new", dpkgStatus+"\n")
		if err := os.Rename(status+"-new", status); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-fired:
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("fired after %v, before the debounce", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Watch did not fire")
	}
	select {
	case <-fired:
		t.Error("fired twice for one burst")
	case <-time.After(500 * time.Millisecond):
	}
}

func TestWatchFailsWithNothingToWatch(t *testing.T) {
	s := New(Options{Root: t.TempDir(), RPMDBDirs: []string{}})
	if err := s.Watch(context.Background(), func() {}); err == nil {
		t.Error("Watch succeeded with no database")
	}
}
