package storeutil

import "testing"

func TestSeverityRank(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{name: "ranks unknown lowest", in: "unknown", want: 0},
		{name: "ranks empty lowest", in: "", want: 0},
		{name: "ranks low", in: "low", want: 1},
		{name: "ranks medium", in: "medium", want: 2},
		{name: "ranks high", in: "high", want: 3},
		{name: "ranks critical highest", in: "critical", want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SeverityRank(tt.in); got != tt.want {
				t.Errorf("SeverityRank(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}
