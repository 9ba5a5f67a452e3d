package vuln

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func TestDecodeInventory(t *testing.T) {
	in := `{"ecosystem":"deb","distro":"Debian","release":"12.5","packages":[
		{"name":"libssl3","version":"3.0.11-1~deb12u2","arch":"amd64","source":"openssl"},
		{"name":"","version":"1.0"},
		{"name":"bad","version":"1:"},
		{"name":"odd","version":"1.0","color":"blue"},
		"curl",
		{"name":"curl","version":"7.88.1-10+deb12u5","arch":"amd64"}]}`
	inv, rejected, err := DecodeInventory([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &aip.Inventory{Ecosystem: "deb", Distro: "debian", Release: "12", Packages: []aip.InstalledPackage{
		{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"},
		{Name: "curl", Version: "7.88.1-10+deb12u5", Arch: "amd64"},
	}}
	if diff := cmp.Diff(want, inv); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
	var idx []int
	for _, r := range rejected {
		idx = append(idx, r.Index)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4}, idx); diff != "" {
		t.Errorf("rejected indexes (-want +got):\n%s\n%v", diff, rejected)
	}
}

func TestDecodeInventoryRefuses(t *testing.T) {
	many := `{"ecosystem":"apk","distro":"alpine","release":"3.19","packages":[` +
		strings.Repeat(`{"name":"a","version":"1"},`, MaxPackages) + `{"name":"a","version":"1"}]}`
	tests := []struct {
		name, in, wantCode string
	}{
		{"refuses an unknown ecosystem", `{"ecosystem":"pip","distro":"debian","release":"12","packages":[]}`, aip.EINVALID},
		{"refuses a missing distro", `{"ecosystem":"deb","release":"12","packages":[]}`, aip.EINVALID},
		{"refuses a missing release", `{"ecosystem":"deb","distro":"debian","packages":[]}`, aip.EINVALID},
		{"refuses missing packages", `{"ecosystem":"deb","distro":"debian","release":"12"}`, aip.EINVALID},
		{"refuses unknown fields", `{"ecosystem":"deb","distro":"debian","release":"12","packages":[],"x":1}`, aip.EINVALID},
		{"refuses trailing data", `{"ecosystem":"deb","distro":"debian","release":"12","packages":[]} {}`, aip.EINVALID},
		{"refuses a non-object", `[]`, aip.EINVALID},
		{"refuses too many packages", many, aip.ETOOLARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeInventory([]byte(tt.in))
			if got := aip.ErrorCode(err); got != tt.wantCode {
				t.Errorf("error %v (code %q), want code %q", err, got, tt.wantCode)
			}
		})
	}
}

func FuzzDecodeInventory(f *testing.F) {
	f.Add([]byte(`{"ecosystem":"deb","distro":"debian","release":"12","packages":[{"name":"a","version":"1.0-1"}]}`))
	f.Add([]byte(`{"ecosystem":"rpm","distro":"rocky","release":"9.3","packages":[{"name":"a","version":"1:2-3.el9","arch":"x86_64"}]}`))
	f.Add([]byte(`{"ecosystem":"apk","distro":"alpine","release":"3.19.1","packages":[{"name":"a","version":"1.2_rc1-r0"},7]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, rejected, err := DecodeInventory(data)
		if err != nil {
			if c := aip.ErrorCode(err); c != aip.EINVALID && c != aip.ETOOLARGE {
				t.Fatalf("error code %q for client input: %v", c, err)
			}
			return
		}
		for _, p := range inv.Packages {
			if p.Name == "" || p.Version == "" {
				t.Errorf("kept package without name or version: %+v", p)
			}
		}
		// Whatever was kept matches without panicking.
		Match(inv, []*aip.Advisory{{ID: "A", CVEs: []string{"CVE-1"}, Affected: []aip.AffectedPackage{{
			Ecosystem: inv.Ecosystem, Distro: inv.Distro, Name: firstName(inv), Ranges: []aip.VersionRange{{Introduced: "0", Fixed: "2"}}}}}})
		_ = fmt.Sprint(rejected)
	})
}

func firstName(inv *aip.Inventory) string {
	if len(inv.Packages) == 0 {
		return ""
	}
	return inv.Packages[0].Name
}
