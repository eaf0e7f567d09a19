package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medicbot/medic/internal/store"
)

// VoteResult is what a button press did.
type VoteResult string

// The results of Vote and RequestUndo.
const (
	// VoteCounted: the approval was recorded; more are needed.
	VoteCounted VoteResult = "counted"
	// VoteApproved: the approval reached the quorum; execution is queued.
	VoteApproved VoteResult = "approved"
	// VoteRejected: the proposal was rejected.
	VoteRejected VoteResult = "rejected"
	// VoteNotAllowed: the user is not an approver of the step (recorded in
	// the audit trail); tell them privately.
	VoteNotAllowed VoteResult = "not_allowed"
	// VoteExpired: the proposal expired before the press.
	VoteExpired VoteResult = "expired"
	// VoteAlreadyVoted: this user had already approved.
	VoteAlreadyVoted VoteResult = "already_voted"
	// VoteClosed: the proposal is no longer waiting (Proposal.State says
	// where it is).
	VoteClosed VoteResult = "closed"
	// VoteNotFound: no such proposal.
	VoteNotFound VoteResult = "not_found"
	// UndoQueued: the undo was queued.
	UndoQueued VoteResult = "undo_queued"
	// UndoUnavailable: the step cannot be undone (see CanUndo).
	UndoUnavailable VoteResult = "undo_unavailable"
)

// VoteOutcome is Vote's and RequestUndo's answer, for the door to turn into
// a reply.
type VoteOutcome struct {
	Result VoteResult
	// Proposal is the proposal as it is after the press (nil when not
	// found).
	Proposal *store.Proposal
	// ApproversUnchecked: VoteNotAllowed because the approvers could not be
	// checked (the Authorizer failed), so trying again may work. Without
	// it, VoteNotAllowed means the user is not an approver of the step.
	// The words are the door's (package slack).
	ApproversUnchecked bool
}

// Vote records a user's approval or rejection of a proposal. The user must
// be allowed by the Authorizer for the step's approvers; a denied press is
// recorded in the audit trail and answered with VoteNotAllowed. Approvals
// count distinct users; the one that reaches the quorum approves the
// proposal and owes its execution in the same transaction, however many
// presses race: once the vote is recorded, the execution will be sent (now,
// or by the relay if the queue is down). Errors are store failures only.
func (e *Engine) Vote(ctx context.Context, proposalID, userID string, approve bool) (VoteOutcome, error) {
	p, out, err := e.pressed(ctx, proposalID, userID, "vote on", "vote.denied")
	if p == nil {
		return out, err
	}
	inc, err := e.deps.Store.Incident(ctx, p.Incident)
	if err != nil {
		return VoteOutcome{}, fmt.Errorf("vote on %s: read incident: %w", proposalID, err)
	}
	var result VoteResult
	p, err = e.transition(ctx, proposalID, store.AwaitingVote, userID,
		func(p *store.Proposal, now time.Time) (string, bool) {
			switch {
			case !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt):
				// Expire on the spot; the expire message will find it done.
				p.State = store.StateExpired
				p.Reason = "no approval before " + p.ExpiresAt.UTC().Format(time.RFC3339)
				result = VoteExpired
				return p.Reason, true
			case !approve:
				p.State, p.DecidedBy, p.Reason = store.StateRejected, userID, "rejected by "+userID
				result = VoteRejected
				return p.Reason, true
			case p.HasVoted(userID):
				result = VoteAlreadyVoted
				return "", false
			}
			p.Votes = append(p.Votes, store.Vote{User: userID, At: now})
			p.DecidedBy = userID
			if len(p.Votes) >= p.NeededVotes() {
				p.State = store.StateApproved
				p.Reason = fmt.Sprintf("approved by %d of %d", len(p.Votes), p.NeededVotes())
				result = VoteApproved
				return p.Reason, true
			}
			result = VoteCounted
			return fmt.Sprintf("approval %d of %d", len(p.Votes), p.NeededVotes()), true
		},
		func(tx *store.Tx, p *store.Proposal) {
			// The card update and what the new state waits for (the
			// execution, or the ladder's next step after an expiry) are
			// owed with the vote: an approved step is never left without
			// its execute message.
			e.oweUpdate(tx, inc, p, voteSummary(p, userID, result))
		})
	if errors.Is(err, errNoChange) {
		return VoteOutcome{Result: VoteAlreadyVoted, Proposal: p}, nil
	}
	switch {
	case errors.Is(err, errGone):
		return VoteOutcome{Result: VoteClosed, Proposal: p}, nil
	case err != nil:
		return VoteOutcome{}, fmt.Errorf("vote on %s: %w", proposalID, err)
	}
	e.log.InfoContext(ctx, "vote", slog.String("proposal", p.ID), slog.String("user", userID), slog.String("result", string(result)))
	return VoteOutcome{Result: result, Proposal: p}, nil
}

// voteSummary is the thread's line about a vote.
func voteSummary(p *store.Proposal, userID string, result VoteResult) string {
	switch result {
	case VoteApproved:
		return fmt.Sprintf("step %d of %s approved by %s", p.Step+1, p.Policy, userID)
	case VoteRejected:
		return fmt.Sprintf("step %d of %s rejected by %s", p.Step+1, p.Policy, userID)
	case VoteExpired:
		return fmt.Sprintf("step %d of %s expired", p.Step+1, p.Policy)
	}
	return fmt.Sprintf("%s approved step %d of %s (%d of %d)", userID, p.Step+1, p.Policy, len(p.Votes), p.NeededVotes())
}

// pressed reads the proposal a button press is about and checks the
// presser against its approvers. It returns a nil proposal when the press
// ends there, with the answer (VoteNotFound, VoteNotAllowed) or the error;
// doing says what the press was for ("vote on", "undo").
func (e *Engine) pressed(ctx context.Context, proposalID, userID, doing, deniedEvent string) (*store.Proposal, VoteOutcome, error) {
	p, err := e.deps.Store.Proposal(ctx, proposalID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, VoteOutcome{Result: VoteNotFound}, nil
	}
	if err != nil {
		return nil, VoteOutcome{}, fmt.Errorf("%s %s: %w", doing, proposalID, err)
	}
	if out, denied, err := e.authorize(ctx, p, userID, deniedEvent); denied || err != nil {
		return nil, out, err
	}
	return p, VoteOutcome{}, nil
}

// authorize checks userID against p's approvers. A denial (or an
// authoriser failure, which denies) is recorded under event and answered.
func (e *Engine) authorize(ctx context.Context, p *store.Proposal, userID, event string) (VoteOutcome, bool, error) {
	var allowed bool
	var aerr error
	if e.deps.Authorizer != nil && userID != "" {
		allowed, aerr = e.deps.Authorizer.Allowed(ctx, userID, p.Approvers)
	}
	if allowed && aerr == nil {
		return VoteOutcome{}, false, nil
	}
	why := userID + " is not an approver"
	if aerr != nil {
		why = "approvers could not be checked: " + aerr.Error()
	}
	err := e.deps.Store.Commit(ctx, &store.Tx{Now: e.now(), Audit: []store.AuditEntry{{
		Incident: p.Incident, Proposal: p.ID, Event: event, Who: userID, Why: why}}})
	if err != nil {
		return VoteOutcome{}, true, fmt.Errorf("record denied %s by %s: %w", event, userID, err)
	}
	return VoteOutcome{Result: VoteNotAllowed, Proposal: p, ApproversUnchecked: aerr != nil}, true, nil
}
