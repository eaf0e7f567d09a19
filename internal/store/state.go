package store

// State is where a proposal is in its life.
type State string

// The proposal states. New proposals start in PROPOSED (waiting for votes),
// APPROVED (auto steps), BLOCKED (a guardrail or the plan said no) or SHADOW
// (recorded as "would have run", never runs).
const (
	StateNew       State = "" // not yet stored; only as a From state
	StateProposed  State = "PROPOSED"
	StateApproved  State = "APPROVED"
	StateExecuting State = "EXECUTING"
	StateSucceeded State = "SUCCEEDED"
	StateFailed    State = "FAILED"
	StateRejected  State = "REJECTED"
	StateExpired   State = "EXPIRED"
	StateCancelled State = "CANCELLED"
	StateBlocked   State = "BLOCKED"
	StateShadow    State = "SHADOW"
	// StateReplanned is a step whose approved plan went stale before it
	// could be applied (what it was planned from changed, e.g. auto scaling
	// moved the desired count): nothing was applied, the step holds a new
	// plan and waits for approval of it, as PROPOSED does.
	StateReplanned State = "REPLANNED"
	// StateUndoing, StateUndone and StateUndoFailed follow SUCCEEDED when a
	// reversible step is undone (on recovery or by a human).
	StateUndoing    State = "UNDOING"
	StateUndone     State = "UNDONE"
	StateUndoFailed State = "UNDO_FAILED"
)

// transitions is the proposal state machine, in one place: from -> allowed
// to. A state listed as its own successor may be rewritten in place (a vote
// on a PROPOSED proposal; the needs-human flag on an EXECUTING one).
var transitions = map[State][]State{
	StateNew:      {StateProposed, StateApproved, StateBlocked, StateShadow},
	StateProposed: {StateProposed, StateApproved, StateRejected, StateExpired, StateCancelled, StateBlocked},
	StateApproved: {StateExecuting, StateBlocked, StateCancelled},
	// EXECUTING -> APPROVED: an auto step whose plan went stale runs its
	// new plan once; EXECUTING -> REPLANNED: a person approves the new plan.
	StateExecuting: {StateExecuting, StateSucceeded, StateFailed, StateApproved, StateReplanned},
	StateReplanned: {StateReplanned, StateApproved, StateRejected, StateExpired, StateCancelled, StateBlocked},
	StateSucceeded: {StateUndoing},
	StateUndoing:   {StateUndoing, StateUndone, StateUndoFailed},
}

// CanTransition reports whether a proposal may move from one state to
// another.
func CanTransition(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether nothing more will happen to a proposal in s
// (SUCCEEDED is not terminal: it may still be undone).
func (s State) Terminal() bool {
	return s != StateNew && len(transitions[s]) == 0
}

// Pending reports whether s is waiting to run: PROPOSED, REPLANNED or
// APPROVED.
func (s State) Pending() bool { return s.AwaitsVote() || s == StateApproved }

// AwaitsVote reports whether a proposal in s waits for approvals: PROPOSED,
// or REPLANNED (a new plan after a stale one).
func (s State) AwaitsVote() bool { return s == StateProposed || s == StateReplanned }

// AwaitingVote lists the states that wait for approvals (see AwaitsVote).
var AwaitingVote = []State{StateProposed, StateReplanned}
