package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// After a step ends EXPIRED (nobody approved in time), the ladder stops
// unless the policy says on_blocked: continue; stopping is recorded in the
// audit trail and told on the card's thread.
func TestOnBlockedDecidesWhetherTheLadderMovesOnAfterAnExpiredStep(t *testing.T) {
	for _, tc := range []struct {
		onBlocked   string
		wantStep2   bool
		wantStopped bool
	}{
		{onBlocked: "", wantStep2: false, wantStopped: true}, // the default: stop
		{onBlocked: policy.OnBlockedStop, wantStep2: false, wantStopped: true},
		{onBlocked: policy.OnBlockedContinue, wantStep2: true, wantStopped: false},
	} {
		name := "on_blocked " + tc.onBlocked
		if tc.onBlocked == "" {
			name = "on_blocked left out"
		}
		t.Run(name, func(t *testing.T) {
			first := requiredStep("ecs.scale", 1)
			first.Expires = 5 * time.Minute
			second := &policy.Step{Action: "ecs.restart", Approval: policy.ApprovalRequired, Approvers: []string{"S-oncall"}, Quorum: 1,
				Expires: 30 * time.Minute, After: time.Minute}
			pol := autoPolicy("checkout", "", first, second)
			pol.OnBlocked = tc.onBlocked
			f := newFixture(t, []*policy.Policy{pol}, []*action{{name: "ecs.scale", target: "prod/checkout"}, {name: "ecs.restart", target: "prod/checkout"}})
			out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
			if err != nil || len(out.Proposals) != 1 {
				t.Fatalf("handle alarm = %+v, %v", out, err)
			}
			inc := out.Incident.ID
			f.drain(t, time.Hour)
			if p := f.proposal(t, out.Proposals[0].ID); p.State != store.StateExpired {
				t.Fatalf("step 1 = %s, want EXPIRED", p.State)
			}
			_, err = f.st.Proposal(ctx, store.ProposalID(inc, "checkout", 1))
			if got := err == nil; got != tc.wantStep2 {
				t.Errorf("step 2 proposed = %v, want %v (err %v)", got, tc.wantStep2, err)
			}
			if got := slices.Contains(events(f.audit(t, inc)), "ladder.stopped"); got != tc.wantStopped {
				t.Errorf("ladder.stopped in the audit = %v, want %v: %v", got, tc.wantStopped, events(f.audit(t, inc)))
			}
			// ... and the card's thread is told.
			told := false
			f.notes.mu.Lock()
			for _, n := range f.notes.notices {
				told = told || strings.HasPrefix(n.Summary, "The ladder stopped: step 1 is EXPIRED and the policy's on_blocked is stop: step 2 is not proposed")
			}
			f.notes.mu.Unlock()
			if told != tc.wantStopped {
				t.Errorf("a notice told the ladder stopped = %v, want %v", told, tc.wantStopped)
			}
		})
	}
}
