package webhook

import (
	"net/netip"
	"testing"
)

func TestForbiddenAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true},
		{"0.0.0.0", true},
		{"100.64.0.1", true},
		{"255.255.255.255", true},
		{"224.0.0.1", true},
		{"::1", true},
		{"::", true},
		{"fe80::1", true},
		{"fc00::1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"64:ff9b::a00:1", true},   // NAT64 of 10.0.0.1
		{"2002:c0a8:101::1", true}, // 6to4 of 192.168.1.1
		{"8.8.8.8", false},
		{"93.184.216.34", false},
		{"2001:4860:4860::8888", false},
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"::ffff:8.8.8.8", false},
	}
	for _, tt := range tests {
		name := "allows " + tt.addr
		if tt.want {
			name = "refuses " + tt.addr
		}
		t.Run(name, func(t *testing.T) {
			if got := forbiddenAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("forbiddenAddr(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestRefusePrivateRejectsUnparsableAddress(t *testing.T) {
	if err := refusePrivate("tcp", "not-an-address", nil); err == nil {
		t.Error("refusePrivate() accepted an unparsable address")
	}
}
