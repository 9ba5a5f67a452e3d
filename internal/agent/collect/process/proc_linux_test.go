//go:build linux

package process

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    statInfo
		wantErr bool
	}{
		{
			name: "parses a plain comm",
			in:   "4242 (sleep) S 1187 4242 1187 34816 4242 4194304 100 0 0 0 0 0 0 0 20 0 1 0 987654 8192000 200 18446744073709551615",
			want: statInfo{comm: "sleep", ppid: 1187, ttyNr: 34816},
		},
		{
			name: "parses a comm with spaces and parentheses",
			in:   "7 (a b) (c)) R 1 7 7 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0 0",
			want: statInfo{comm: "a b) (c)", ppid: 1, ttyNr: 0},
		},
		{name: "rejects a truncated line", in: "7 (x) R 1 7", wantErr: true},
		{name: "rejects a line without comm", in: "garbage", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseStat error = %v, wantErr %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(statInfo{})); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStatusIDs(t *testing.T) {
	status := "Name:\tsudo\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1001\t0\t0\t0\nGroups:\t4 27\n"
	uid, gid, ok := parseStatusIDs([]byte(status))
	if !ok || uid != 1000 || gid != 1001 {
		t.Errorf("parseStatusIDs = %d, %d, %v; want the real ids 1000, 1001, true", uid, gid, ok)
	}
	if _, _, ok := parseStatusIDs([]byte("Name:\tx\nUid:\t5\t5\t5\t5\n")); ok {
		t.Error("parseStatusIDs without a Gid line reported ok")
	}
}

func TestSplitCmdline(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"splits on NUL and drops the terminator", "/bin/sleep\x001\x00", []string{"/bin/sleep", "1"}},
		{"keeps empty arguments", "sh\x00-c\x00\x00x\x00", []string{"sh", "-c", "", "x"}},
		{"keeps a rewritten cmdline whole", "nginx: worker process", []string{"nginx: worker process"}},
		{"returns nil for a kernel thread", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, splitCmdline([]byte(tc.in))); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
