package agent

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/aipsec/aip"
)

func TestOSRelease(t *testing.T) {
	tests := []struct {
		name, content, wantID, wantVersion string
	}{
		{"reads quoted values", "NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"22.04\"\n", "ubuntu", "22.04"},
		{"reads single quotes and spaces", "  ID='alpine'  \nVERSION_ID='3.19.1'\n", "alpine", "3.19.1"},
		{"ignores comments and ID_LIKE", "# ID=wrong\nID_LIKE=\"rhel fedora\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\n", "rocky", "9.3"},
		{"leaves a missing VERSION_ID empty", "ID=arch\nBUILD_ID=rolling\n", "arch", ""},
		{"gives nothing for an empty file", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "os-release")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			id, ver := osRelease(path)
			if id != tt.wantID || ver != tt.wantVersion {
				t.Errorf("osRelease = %q, %q; want %q, %q", id, ver, tt.wantID, tt.wantVersion)
			}
		})
	}
	t.Run("gives nothing for a missing file", func(t *testing.T) {
		if id, ver := osRelease(filepath.Join(t.TempDir(), "none")); id != "" || ver != "" {
			t.Errorf("osRelease = %q, %q; want empty", id, ver)
		}
	})
}

func TestIPAddresses(t *testing.T) {
	got := ipAddresses()
	if got.Private == nil || got.Public == nil || got.LinkLocal == nil {
		t.Fatalf("nil lists in %+v: the API wants [] not null", got)
	}
	check := func(kind string, list []string, ok func(netip.Addr) bool) {
		for _, s := range list {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				t.Errorf("%s address %q does not parse: %v", kind, s, err)
				continue
			}
			if ip.IsLoopback() || ip.IsUnspecified() {
				t.Errorf("%s address %s is loopback or unspecified", kind, s)
			}
			if !ok(ip) {
				t.Errorf("%s address %s misclassified", kind, s)
			}
		}
	}
	check("private", got.Private, netip.Addr.IsPrivate)
	check("link-local", got.LinkLocal, netip.Addr.IsLinkLocalUnicast)
	check("public", got.Public, func(ip netip.Addr) bool { return !ip.IsPrivate() && !ip.IsLinkLocalUnicast() })
}

func TestHostInfo(t *testing.T) {
	t.Run("fills the host's fields", func(t *testing.T) {
		tags := []aip.Tag{{Key: "env", Value: "test"}}
		got := hostInfo("given-name", tags)
		if got.Hostname != "given-name" || got.Version != Version || got.AgentType != aip.AgentTypeMonitor {
			t.Errorf("hostInfo = %+v: want hostname given-name, version %s, type monitor", got, Version)
		}
		if got.Kernel == "" {
			t.Error("kernel is empty")
		}
		if len(got.Tags) != 1 || got.Tags[0] != tags[0] {
			t.Errorf("tags %v, want %v", got.Tags, tags)
		}
		if id, ver := osRelease("/etc/os-release"); id != "" {
			want := id
			if ver != "" {
				want += "-" + ver
			}
			if got.OSVersion != want {
				t.Errorf("osVersion %q, want %q", got.OSVersion, want)
			}
		}
	})
	t.Run("defaults to the OS hostname and empty tags", func(t *testing.T) {
		want, err := os.Hostname()
		if err != nil {
			t.Skip("no hostname:", err)
		}
		got := hostInfo("", nil)
		if got.Hostname != want {
			t.Errorf("hostname %q, want %q", got.Hostname, want)
		}
		if got.Tags == nil {
			t.Error("tags are nil, want []")
		}
	})
}
