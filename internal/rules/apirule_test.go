package rules_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/aipsec/aip/internal/rules"
)

func TestAPIRoundTrip(t *testing.T) {
	for _, b := range rules.BaseRules() {
		t.Run("maps "+b.Name+" both ways unchanged", func(t *testing.T) {
			b.ID, b.RulesetID = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
			got := rules.FromAPI(rules.ToAPI(b))
			if diff := cmp.Diff(b, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("leaves an unknown type empty", func(t *testing.T) {
		r := rules.ToAPI(rules.BaseRules()[0])
		r.Type = "nope"
		if got := rules.FromAPI(r).Type; got != "" {
			t.Errorf("Type = %q, want empty", got)
		}
	})
}
