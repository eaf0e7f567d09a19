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
	StateNew:       {StateProposed, StateApproved, StateBlocked, StateShadow},
	StateProposed:  {StateProposed, StateApproved, StateRejected, StateExpired, StateCancelled, StateBlocked},
	StateApproved:  {StateExecuting, StateBlocked, StateCancelled},
	StateExecuting: {StateExecuting, StateSucceeded, StateFailed},
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

// Pending reports whether s is waiting to run: PROPOSED or APPROVED.
func (s State) Pending() bool { return s == StateProposed || s == StateApproved }
