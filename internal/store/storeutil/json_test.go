package storeutil

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNonNil(t *testing.T) {
	tests := []struct {
		name string
		in   []int
		want []int
	}{
		{name: "makes nil empty", in: nil, want: []int{}},
		{name: "keeps a list", in: []int{1, 2}, want: []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NonNil(tt.in)
			if got == nil {
				t.Fatal("NonNil returned nil")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NonNil (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLooksLikeObject(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "accepts an object", in: `{}`, want: true},
		{name: "accepts an object after white space", in: " \t\r\n{\"a\":1}", want: true},
		{name: "rejects an array", in: `[]`, want: false},
		{name: "rejects a string", in: `"{"`, want: false},
		{name: "rejects empty input", in: ``, want: false},
		{name: "rejects only white space", in: "  ", want: false},
		{name: "rejects a NUL byte", in: "{\"a\":\"\x00\"}", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLikeObject([]byte(tt.in)); got != tt.want {
				t.Errorf("LooksLikeObject(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
