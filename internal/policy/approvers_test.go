package policy_test

import (
	"slices"
	"testing"

	"github.com/medicbot/medic/internal/policy"
)

// The policy-level approvers stay on the compiled policy: an auto-only
// policy has no required step to inherit them, and the engine needs them
// to let on-call people undo its auto steps.
func TestPolicyLevelApproversAreKept(t *testing.T) {
	set, err := policy.Parse("checkout.yaml", []byte(`version: 1
policies:
  - name: checkout
    match: {alarm: ["checkout-*"]}
    approvers: [S0ONCALL01, U0LEAD0001]
    steps:
      - action: ecs.restart
        approval: auto
`), testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	pol := set.Policy("checkout")
	if want := []string{"S0ONCALL01", "U0LEAD0001"}; !slices.Equal(pol.Approvers, want) {
		t.Fatalf("policy approvers = %v, want %v", pol.Approvers, want)
	}
	if len(pol.Steps[0].Approvers) != 0 {
		t.Fatalf("the auto step got approvers %v", pol.Steps[0].Approvers)
	}
}
