package netconn

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The hex fixtures are as a little-endian kernel (amd64, arm64) prints them.
func TestParseSockLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want sockEntry
	}{
		{
			name: "parses an IPv4 established socket",
			line: "   3: 0F01000A:A9F8 22D8B85D:01BB 01 00000000:00000000 02:000A7B3E 00000000    33        0 123456 2 0000000000000000 20 4 30 10 -1",
			want: sockEntry{
				local: netip.MustParseAddrPort("10.0.1.15:43512"), remote: netip.MustParseAddrPort("93.184.216.34:443"),
				state: stateEstablished, uid: 33, inode: 123456,
			},
		},
		{
			name: "parses an IPv4 listener",
			line: "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0",
			want: sockEntry{
				local: netip.MustParseAddrPort("127.0.0.1:8080"), remote: netip.MustParseAddrPort("0.0.0.0:0"),
				state: stateListen, uid: 0, inode: 4242,
			},
		},
		{
			name: "unmaps an IPv4-mapped IPv6 address",
			line: "   1: 0000000000000000FFFF00000100007F:D431 0000000000000000FFFF00000100007F:1F90 02 00000000:00000000 01:00000064 00000000  1000        0 777 1 0000000000000000 100 0 0 10 0",
			want: sockEntry{
				local: netip.MustParseAddrPort("127.0.0.1:54321"), remote: netip.MustParseAddrPort("127.0.0.1:8080"),
				state: stateSynSent, uid: 1000, inode: 777,
			},
		},
		{
			name: "parses IPv6 loopback and a global address",
			line: "   2: 00000000000000000000000001000000:C350 B80D0120000000000000000001000000:0050 01 00000000:00000000 00:00000000 00000000     0        0 888 1 0000000000000000 20 4 0 10 -1",
			want: sockEntry{
				local: netip.MustParseAddrPort("[::1]:50000"), remote: netip.MustParseAddrPort("[2001:db8::1]:80"),
				state: stateEstablished, uid: 0, inode: 888,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSockLine(tc.line)
			if err != nil {
				t.Fatalf("parseSockLine: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(sockEntry{}), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSockLineErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
	}{
		{"rejects a short line", "  0: 0100007F:1F90 00000000:0000 0A"},
		{"rejects a bad address length", "  0: 0100007F00:1F90 00000000:0000 0A 0:0 0:0 0 0 0 1 1"},
		{"rejects an address without port", "  0: 0100007F 00000000:0000 0A 0:0 0:0 0 0 0 1 1"},
		{"rejects a non-hex state", "  0: 0100007F:1F90 00000000:0000 ZZ 0:0 0:0 0 0 0 1 1"},
		{"rejects a non-numeric inode", "  0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 x 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := parseSockLine(tc.line); err == nil {
				t.Errorf("parseSockLine(%q) = %+v, want error", tc.line, got)
			}
		})
	}
}

func TestParseActiveOpens(t *testing.T) {
	const snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails\n" +
		"Tcp: 1 200 120000 -1 12345 67 8\nUdp: InDatagrams\nUdp: 5\n"
	tests := []struct {
		name, in string
		want     int64
		wantErr  bool
	}{
		{name: "reads the counter", in: snmp, want: 12345},
		{name: "fails without a Tcp section", in: "Ip: a\nIp: 1\n", wantErr: true},
		{name: "fails on a garbled value", in: "Tcp: ActiveOpens\nTcp: x\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseActiveOpens(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseActiveOpens = %d, %v; want %d (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
