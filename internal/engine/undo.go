package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

func (e *Engine) undoer(action string) remediations.Undoer { return undoer(e.deps.Actions, action) }

func undoer(actions Actions, action string) remediations.Undoer {
	act, ok := actions.Get(action)
	if !ok {
		return nil
	}
	u, _ := act.(remediations.Undoer)
	return u
}

// CanUndo is the one rule for whether step p can be undone: it SUCCEEDED
// with a recorded result, its plan is reversible and changed something
// (a no-op has nothing to undo), and its action can undo. Cards offer the
// Undo button exactly when it holds (Notice.Undoable); RequestUndo and the
// undo on recovery refuse otherwise.
func CanUndo(p *store.Proposal, actions Actions) bool {
	if p.State != store.StateSucceeded || p.Result == nil || p.Plan == nil || !p.Plan.Reversible || p.Plan.NoOp {
		return false
	}
	return actions != nil && undoer(actions, p.Action) != nil
}

// undo reverses a SUCCEEDED step: claim (SUCCEEDED -> UNDOING with the
// target's lock), Undo, record.
func (e *Engine) undo(ctx context.Context, m Message) error {
	p, err := e.deps.Store.Proposal(ctx, m.Proposal)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("undo %s: %w", m.Proposal, err)
	}
	if p.State != store.StateSucceeded {
		return nil
	}
	inc, err := e.deps.Store.Incident(ctx, p.Incident)
	if err != nil {
		return fmt.Errorf("undo %s: read incident: %w", p.ID, err)
	}
	who := m.By
	if who == "" {
		who = Who
	}
	u := e.undoer(p.Action)
	if u == nil || p.Result == nil {
		return e.note(ctx, p, "undo.unavailable", who, "action "+p.Action+" cannot undo", "")
	}
	// Read right before the claim, which re-checks the stored switch
	// atomically.
	if r := e.readSwitch(ctx).blocks(); r != "" {
		return e.undoBlocked(ctx, inc, p, who, r)
	}
	lease := token()
	var conflict *store.ConflictError
	succeeded := p
	p, err = e.transition(ctx, p.ID, []store.State{store.StateSucceeded}, who,
		func(p *store.Proposal, now time.Time) (string, bool) {
			p.State = store.StateUndoing
			p.Lease = &store.Lease{Token: lease, Until: now.Add(e.cfg.Lease)}
			p.DecidedBy = who
			return "undoing " + p.Result.Summary, true
		},
		func(tx *store.Tx, p *store.Proposal) {
			tx.RequireNotPaused = true
			tx.Locks = []store.LockWrite{{Op: store.LockAcquire, Lock: store.Lock{Target: p.Target(), Holder: p.ID, LeaseUntil: p.Lease.Until}}}
		})
	switch {
	case errors.Is(err, errGone):
		return nil
	case errors.As(err, &conflict):
		return e.undoBlocked(ctx, inc, succeeded, who, e.conflictReason(ctx, succeeded, conflict))
	case err != nil:
		return fmt.Errorf("undo %s: claim: %w", m.Proposal, err)
	}
	res, undoErr := e.runUndo(ctx, u, p)
	p, err = e.transition(ctx, p.ID, []store.State{store.StateUndoing}, who,
		func(p *store.Proposal, now time.Time) (string, bool) {
			p.Lease = nil
			if undoErr != nil {
				p.State, p.Error = store.StateUndoFailed, undoErr.Error()
				return "undo failed: " + undoErr.Error(), true
			}
			p.State, p.UndoResult = store.StateUndone, res
			if res != nil {
				return "undone: " + res.Summary, true
			}
			return "undone", true
		},
		func(tx *store.Tx, p *store.Proposal) {
			tx.Locks = []store.LockWrite{{Op: store.LockRelease, Lock: store.Lock{Target: p.Target(), Holder: p.ID}}}
			e.oweCard(tx, NoticeUpdated, p.Incident, p.ID, fmt.Sprintf("step %d of %s %s", p.Step+1, p.Policy, p.State), false)
		})
	if errors.Is(err, errGone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("undo %s: record: %w", m.Proposal, err)
	}
	return nil
}

// runUndo runs u's Undo of p's result; a panic becomes its error (see
// recovered) and the step ends UNDO_FAILED.
func (e *Engine) runUndo(ctx context.Context, u remediations.Undoer, p *store.Proposal) (res *remediations.Result, err error) {
	defer e.recovered(ctx, &err, p, "undo")
	return u.Undo(ctx, p.Result)
}

// undoBlocked records that p's undo was not run (it stays SUCCEEDED) and
// says so on the card: nobody else would learn that an undo on recovery
// did not happen.
func (e *Engine) undoBlocked(ctx context.Context, inc *store.Incident, p *store.Proposal, who, why string) error {
	return e.note(ctx, p, "undo.blocked", who, why, fmt.Sprintf("undo of step %d of %s not run: %s", p.Step+1, p.Policy, why))
}

// note records an audit entry about p without changing it and, with a
// summary, owes the card update saying so.
func (e *Engine) note(ctx context.Context, p *store.Proposal, event, who, why, summary string) error {
	e.log.InfoContext(ctx, event, slog.String("proposal", p.ID), slog.String("why", why))
	tx := &store.Tx{Now: e.now(), Audit: []store.AuditEntry{{
		Incident: p.Incident, Proposal: p.ID, Event: event, Who: who, Why: why}}}
	if summary != "" {
		e.oweCard(tx, NoticeUpdated, p.Incident, p.ID, summary, false)
	}
	if err := e.commit(ctx, tx); err != nil {
		return fmt.Errorf("record %s for %s: %w", event, p.ID, err)
	}
	return nil
}

// RequestUndo queues the undo of a SUCCEEDED, reversible step at a user's
// request (the card's Undo button). The user must be allowed for the
// step's approvers; an auto step's are its policy's (see stepApprovers).
func (e *Engine) RequestUndo(ctx context.Context, proposalID, userID string) (VoteOutcome, error) {
	p, out, err := e.pressed(ctx, proposalID, userID, "undo", "undo.denied")
	if p == nil {
		return out, err
	}
	if !CanUndo(p, e.deps.Actions) {
		return VoteOutcome{Result: UndoUnavailable, Proposal: p}, nil
	}
	// The request is recorded with the undo message it owes.
	tx := &store.Tx{Now: e.now(), Audit: []store.AuditEntry{{Incident: p.Incident, Proposal: p.ID, Event: "undo.requested", Who: userID,
		Why: "undo of step " + fmt.Sprint(p.Step+1) + " of " + p.Policy + " requested"}}}
	e.oweMessage(tx, Message{Kind: KindUndo, Incident: p.Incident, Proposal: p.ID, By: userID}, 0)
	if err := e.commit(ctx, tx); err != nil {
		return VoteOutcome{}, fmt.Errorf("undo %s: %w", proposalID, err)
	}
	return VoteOutcome{Result: UndoQueued, Proposal: p}, nil
}
