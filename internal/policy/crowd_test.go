package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/policy"
)

// crowd builds one file of n policies; match gives the match block of the
// i-th and approval the approval of its second step.
func crowd(t *testing.T, n int, match func(i int) string, approval string) *policy.Set {
	t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\npolicies:\n")
	for i := range n {
		fmt.Fprintf(&b, `  - name: p%02d
    match: %s
    approvers: [U0ONCALL01]
    steps:
      - action: ecs.restart
        approval: auto
      - action: ecs.restart
        approval: %s
`, i, match(i), approval)
	}
	set, err := policy.Parse("crowd.yaml", []byte(b.String()), testCatalog)
	if err != nil {
		t.Fatalf("parse:\n%v\n%s", err, b.String())
	}
	return set
}

func TestApprovalCrowds(t *testing.T) {
	const limit = 3
	same := func(int) string { return `{alarm: ["checkout-*"]}` }
	tests := []struct {
		name     string
		n        int
		match    func(i int) string
		approval string
		warned   int
	}{
		{"as many policies asking for approval as a card holds", limit, same, "required", 0},
		{"one more than a card holds: each is warned of", limit + 1, same, "required", limit + 1},
		{"auto and shadow steps ask no one", limit + 5, same, "auto", 0},
		{"different alarm names cannot match together", limit + 5, func(i int) string { return fmt.Sprintf(`{alarm: ["api-%d-5xx"]}`, i) }, "required", 0},
		{"globs whose prefixes part ways cannot match together", limit + 5, func(i int) string { return fmt.Sprintf(`{alarm: ["svc%d-*"]}`, i+10) }, "required", 0},
		{"a glob and names it matches may match together", limit + 1, func(i int) string {
			if i == 0 {
				return `{alarm: ["checkout-*"]}`
			}
			return fmt.Sprintf(`{alarm: ["checkout-%d"]}`, i)
		}, "required", 1},
		{"different regions cannot match together", limit + 5, func(i int) string { return fmt.Sprintf(`{alarm: ["checkout-*"], regions: ["r-%d"]}`, i) }, "required", 0},
		{"one tag's different values cannot match together", limit + 5, func(i int) string { return fmt.Sprintf(`{alarm: ["checkout-*"], tags: {team: t%d}}`, i) }, "required", 0},
		{"different metrics may still match one alarm (it can watch several)", limit + 1, func(i int) string {
			return fmt.Sprintf(`{namespace: AWS/ApplicationELB, metric: ["M%d"]}`, i)
		}, "required", limit + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warns := crowd(t, tt.n, tt.match, tt.approval).ApprovalCrowds(limit)
			if len(warns) != tt.warned {
				t.Fatalf("%d warnings, want %d:\n%v", len(warns), tt.warned, &warns)
			}
			for _, w := range warns {
				if w.File != "crowd.yaml" || w.Line == 0 || !strings.HasPrefix(w.Path, "policies[") ||
					!strings.Contains(w.Msg, fmt.Sprintf("the buttons of only %d steps awaiting approval", limit)) {
					t.Errorf("warning does not locate the policy or say the limit: %v", w)
				}
			}
		})
	}
}

func TestApprovalCrowdsNamesTheOthers(t *testing.T) {
	set := crowd(t, 9, func(int) string { return `{alarm: ["checkout-*"]}` }, "required")
	warns := set.ApprovalCrowds(3)
	if len(warns) != 9 {
		t.Fatalf("%d warnings, want 9", len(warns))
	}
	want := "crowd.yaml:3: policies[0]: 8 policies that ask for approval may match the same alarm as this one (p01, p02, p03, p04, p05, and 3 more)"
	if got := warns[0].Error(); !strings.HasPrefix(got, want) {
		t.Errorf("first warning\n%s\nwant it to start\n%s", got, want)
	}
}
