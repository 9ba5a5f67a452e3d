package aip

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestNewIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		u := NewUUID()
		if !IsUUID(u) {
			t.Fatalf("NewUUID() = %q, not a canonical UUID", u)
		}
		if u[14] != '4' || !containsByte("89ab", u[19]) {
			t.Fatalf("NewUUID() = %q, want version 4, RFC 4122 variant", u)
		}
		id := NewID24()
		if !IsID24(id) {
			t.Fatalf("NewID24() = %q, want 24 lower-case hex", id)
		}
		if seen[u] || seen[id] {
			t.Fatalf("duplicate id after %d draws", i)
		}
		seen[u], seen[id] = true, true
	}
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

func TestIDShapes(t *testing.T) {
	tests := []struct {
		in         string
		id24, uuid bool
	}{
		{"563b7bf374c815ce60e67e50", true, false},
		{"563B7BF374C815CE60E67E50", false, false},
		{"563b7bf374c815ce60e67e5", false, false},
		{"cc3c6e27-4262-4b22-89a3-d00f0c6d7e3b", false, true},
		{"cc3c6e27-4262-4b22-89a3-d00f0c6d7e3", false, false},
		{"CC3C6E27-4262-4B22-89A3-D00F0C6D7E3B", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := IsID24(tt.in); got != tt.id24 {
			t.Errorf("IsID24(%q) = %v, want %v", tt.in, got, tt.id24)
		}
		if got := IsUUID(tt.in); got != tt.uuid {
			t.Errorf("IsUUID(%q) = %v, want %v", tt.in, got, tt.uuid)
		}
	}
}

func TestTimeJSON(t *testing.T) {
	t.Run("renders UTC with milliseconds", func(t *testing.T) {
		in := Time{time.Date(2020, 7, 27, 16, 41, 29, 454_999_000, time.FixedZone("EDT", -4*3600))}
		got, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if want := `"2020-07-27T20:41:29.454Z"`; string(got) != want {
			t.Errorf("got %s, want %s", got, want)
		}
		var back Time
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if !back.Equal(in.Truncate(time.Millisecond)) {
			t.Errorf("round trip = %v, want %v", back, in.Truncate(time.Millisecond))
		}
	})
	t.Run("renders zero as null", func(t *testing.T) {
		got, _ := json.Marshal(Time{})
		if string(got) != "null" {
			t.Errorf("got %s, want null", got)
		}
	})
	t.Run("rejects a non-time", func(t *testing.T) {
		var v Time
		if err := json.Unmarshal([]byte(`"yesterday"`), &v); err == nil {
			t.Error("want an error")
		}
	})
}

func TestErrorHelpers(t *testing.T) {
	tests := []struct {
		name              string
		err               error
		wantCode, wantMsg string
	}{
		{"nil", nil, "", ""},
		{"application error", Errorf(ENOTFOUND, "User %s was not found.", "x"), ENOTFOUND, "User x was not found."},
		{"wrapped application error", fmt.Errorf("ctx: %w", Errorf(ECONFLICT, "dup")), ECONFLICT, "dup"},
		{"other error hides internals", errors.New("disk I/O error at /var/lib"), EINTERNAL, "An internal error has occurred."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tt.wantCode)
			}
			if got := ErrorMessage(tt.err); got != tt.wantMsg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.wantMsg)
			}
		})
	}
}

func BenchmarkNewUUID(b *testing.B) {
	for b.Loop() {
		_ = NewUUID()
	}
}
