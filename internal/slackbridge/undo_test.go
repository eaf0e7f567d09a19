package slackbridge_test

import (
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/store"
)

// An auto step has no approvers of its own. The policy's on-call people
// (its approvers, or those of its other steps) may undo it from the card;
// nobody else may.
func TestTheUndoButtonOfAnAutoStep(t *testing.T) {
	for _, tc := range []struct {
		name            string
		policy          string
		allowed, denied string
	}{
		{
			name:    "the policy's approvers may undo it",
			allowed: carol, denied: mallory,
			policy: `version: 1
policies:
  - name: checkout
    match: {alarm: ["checkout-*-5xx"]}
    slack: {channel: ` + channel + `}
    approvers: [` + sreGroup + `]
    steps:
      - action: test.scale
        approval: auto
        params: {service: checkout}
`,
		},
		{
			name:    "the approvers of the policy's other steps may undo it",
			allowed: bob, denied: alice,
			policy: `version: 1
policies:
  - name: checkout
    match: {alarm: ["checkout-*-5xx"]}
    slack: {channel: ` + channel + `}
    steps:
      - action: test.scale
        approval: auto
        params: {service: checkout}
      - action: test.scale
        approval: required
        approvers: [` + bob + `]
        params: {service: payments}
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.policy)
			inc := h.fire()
			id := firstProposal(inc)
			h.drain()
			if p := h.proposal(id); p.State != store.StateSucceeded {
				t.Fatalf("auto step is %s, want SUCCEEDED", p.State)
			}
			mustContain(t, "the card", h.lastCard(inc), "*Done*"+at(h.auditTime(inc.ID, id, store.StateSucceeded))+": desired 4 -&gt; 6 tasks", "[medic:undo "+id+"]")

			h.click(inc, tc.denied, "undo", id)
			h.drain()
			if got := h.ephemerals(tc.denied); len(got) != 1 || !strings.Contains(got[0], "Not allowed") {
				t.Fatalf("%s was told %q, want one reply saying not allowed", tc.denied, got)
			}
			if n := h.action.undos.Load(); n != 0 {
				t.Fatalf("Undo ran %d times for someone not allowed", n)
			}

			h.click(inc, tc.allowed, "undo", id)
			if got := h.ephemerals(tc.allowed); len(got) != 0 {
				t.Errorf("%s was told %q, want no private reply", tc.allowed, got)
			}
			h.drain()
			if n := h.action.undos.Load(); n != 1 {
				t.Fatalf("Undo ran %d times, want 1", n)
			}
			p := h.proposal(id)
			if p.State != store.StateUndone || p.DecidedBy != tc.allowed {
				t.Fatalf("proposal is %s by %s, want UNDONE by %s", p.State, p.DecidedBy, tc.allowed)
			}
			card := h.lastCard(inc)
			mustContain(t, "the card", card, "*Undone* by <@"+tc.allowed+">"+at(h.auditTime(inc.ID, id, store.StateUndone))+": desired 6 -&gt; 4 tasks")
			mustNotContain(t, "the card", card, "[medic:undo")

			// A second press finds nothing left to undo.
			h.click(inc, tc.allowed, "undo", id)
			h.drain()
			if got := h.ephemerals(tc.allowed); len(got) != 1 || !strings.Contains(got[0], "cannot be undone") {
				t.Errorf("second undo press: %s was told %q", tc.allowed, got)
			}
			if n := h.action.undos.Load(); n != 1 {
				t.Fatalf("Undo ran %d times after a second press, want 1", n)
			}
		})
	}
}
