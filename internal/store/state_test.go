package store_test

import (
	"testing"

	"github.com/medicbot/medic/internal/store"
)

func TestTransitions(t *testing.T) {
	all := []store.State{store.StateProposed, store.StateApproved, store.StateExecuting, store.StateSucceeded, store.StateFailed,
		store.StateRejected, store.StateExpired, store.StateCancelled, store.StateBlocked, store.StateShadow,
		store.StateUndoing, store.StateUndone, store.StateUndoFailed, store.StateReplanned}
	allowed := map[[2]store.State]bool{}
	for _, p := range [][2]store.State{
		{store.StateNew, store.StateProposed}, {store.StateNew, store.StateApproved}, {store.StateNew, store.StateBlocked}, {store.StateNew, store.StateShadow},
		{store.StateProposed, store.StateProposed}, {store.StateProposed, store.StateApproved}, {store.StateProposed, store.StateRejected},
		{store.StateProposed, store.StateExpired}, {store.StateProposed, store.StateCancelled}, {store.StateProposed, store.StateBlocked},
		{store.StateApproved, store.StateExecuting}, {store.StateApproved, store.StateBlocked}, {store.StateApproved, store.StateCancelled},
		{store.StateExecuting, store.StateExecuting}, {store.StateExecuting, store.StateSucceeded}, {store.StateExecuting, store.StateFailed},
		{store.StateExecuting, store.StateApproved}, {store.StateExecuting, store.StateReplanned},
		{store.StateReplanned, store.StateReplanned}, {store.StateReplanned, store.StateApproved}, {store.StateReplanned, store.StateRejected},
		{store.StateReplanned, store.StateExpired}, {store.StateReplanned, store.StateCancelled}, {store.StateReplanned, store.StateBlocked},
		{store.StateSucceeded, store.StateUndoing},
		{store.StateUndoing, store.StateUndoing}, {store.StateUndoing, store.StateUndone}, {store.StateUndoing, store.StateUndoFailed},
	} {
		allowed[p] = true
	}
	for _, from := range append([]store.State{store.StateNew}, all...) {
		for _, to := range all {
			if got := store.CanTransition(from, to); got != allowed[[2]store.State{from, to}] {
				t.Errorf("CanTransition(%q, %s) = %v", from, to, got)
			}
		}
	}
	for _, s := range []store.State{store.StateFailed, store.StateRejected, store.StateExpired, store.StateCancelled, store.StateBlocked, store.StateShadow, store.StateUndone, store.StateUndoFailed} {
		if !s.Terminal() {
			t.Errorf("%s is not terminal", s)
		}
	}
	for _, s := range []store.State{store.StateProposed, store.StateApproved, store.StateExecuting, store.StateSucceeded, store.StateUndoing, store.StateReplanned} {
		if s.Terminal() {
			t.Errorf("%s is terminal", s)
		}
	}
}

func TestProposalIDs(t *testing.T) {
	id := store.ProposalID("abc", "checkout-5xx", 12)
	inc, pol, step, err := store.ParseProposalID(id)
	if err != nil || inc != "abc" || pol != "checkout-5xx" || step != 12 {
		t.Fatalf("parse %q = %q %q %d %v", id, inc, pol, step, err)
	}
	for _, bad := range []string{"", "abc", "abc/x", "abc//1", "/x/1", "abc/x/-1", "abc/x/y"} {
		if _, _, _, err := store.ParseProposalID(bad); err == nil {
			t.Errorf("ParseProposalID(%q) succeeded", bad)
		}
	}
	if a, b := store.IncidentID("arn@1"), store.IncidentID("arn@1"); a != b || len(a) != 16 || a == store.IncidentID("arn@2") {
		t.Fatalf("incident IDs %q %q", a, b)
	}
}
