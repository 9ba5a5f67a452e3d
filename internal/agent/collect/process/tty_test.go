package process

import "testing"

func TestTTYName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ttyNr int64
		want  any
	}{
		{"no terminal is nil", 0, nil},
		{"pts 0", 136<<8 | 0, "pts/0"},
		{"pts 3", 136<<8 | 3, "pts/3"},
		{"pts above 255 uses the high minor bits", 136<<8 | (300 & 0xff) | (300&^0xff)<<12, "pts/300"},
		{"pts in second major", 137<<8 | 1, "pts/257"},
		{"virtual console", 4<<8 | 1, "tty1"},
		{"serial port", 4<<8 | 64, "ttyS0"},
		{"console", 5<<8 | 1, "console"},
		{"unknown terminal keeps numbers", 188<<8 | 0, "tty(188:0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TTYName(tc.ttyNr); got != tc.want {
				t.Errorf("TTYName(%#x) = %v, want %v", tc.ttyNr, got, tc.want)
			}
		})
	}
}
