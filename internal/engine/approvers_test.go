package engine_test

import (
	"slices"
	"testing"

	"github.com/medicbot/medic/internal/policy"
)

// An auto step has no approvers of its own; its proposal records the
// policy's (policy-level, then those of the other steps) so that they can
// undo it from the card. Shadow steps never run and record none.
func TestAutoStepsRecordThePolicysApproversForUndo(t *testing.T) {
	scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", reversible: true}
	for _, tc := range []struct {
		name  string
		pol   *policy.Policy
		index int
		want  []string
	}{
		{"policy-level approvers", &policy.Policy{Name: "checkout", Approvers: []string{"S-oncall"},
			Steps: []*policy.Step{{Action: "ecs.scale", Approval: policy.ApprovalAuto}}}, 0, []string{"S-oncall"}},
		{"the approvers of a later required step", autoPolicy("checkout", "",
			&policy.Step{Action: "ecs.scale", Approval: policy.ApprovalAuto}, requiredStep("ecs.scale", 1)), 0, []string{"S-oncall"}},
		{"both, each once", &policy.Policy{Name: "checkout", Approvers: []string{"S-oncall", "U-lead"},
			Steps: []*policy.Step{{Action: "ecs.scale", Approval: policy.ApprovalAuto},
				{Action: "ecs.scale", Approval: policy.ApprovalRequired, Approvers: []string{"U-lead", "U-sre"}, Quorum: 1}}},
			0, []string{"S-oncall", "U-lead", "U-sre"}},
		{"a shadow step gets none", &policy.Policy{Name: "checkout", Approvers: []string{"S-oncall"},
			Steps: []*policy.Step{{Action: "ecs.scale", Approval: policy.ApprovalShadow}}}, 0, nil},
		{"a required step keeps its own", autoPolicy("checkout", "", requiredStep("ecs.scale", 1)), 0, []string{"S-oncall"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, s := range tc.pol.Steps {
				s.Index = i
			}
			f := newFixture(t, []*policy.Policy{tc.pol}, []*action{scale})
			out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
			if err != nil || len(out.Proposals) != 1 {
				t.Fatalf("handle alarm: %+v, %v", out, err)
			}
			if got := out.Proposals[tc.index].Approvers; !slices.Equal(got, tc.want) {
				t.Fatalf("approvers = %v, want %v", got, tc.want)
			}
		})
	}
}
