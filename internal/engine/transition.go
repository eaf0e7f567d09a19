package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/store"
)

// errGone means the proposal moved on under us: somebody else decided.
var errGone = errors.New("proposal moved on")

// errNoChange means a transition's change found nothing to write.
var errNoChange = errors.New("nothing to change")

// transition moves a proposal from its current state with change applied,
// retrying from a fresh read on conflicts. want lists the states it may
// move from; when the proposal is elsewhere it returns errGone. extra adds
// the other writes of the same transaction.
func (e *Engine) transition(ctx context.Context, id string, want []store.State, who string,
	change func(p *store.Proposal, now time.Time) (why string, ok bool), extra func(tx *store.Tx, p *store.Proposal)) (*store.Proposal, error) {
	for attempt := 0; ; attempt++ {
		p, err := e.deps.Store.Proposal(ctx, id)
		if err != nil {
			return nil, err
		}
		wanted := false
		for _, s := range want {
			wanted = wanted || p.State == s
		}
		if !wanted {
			return p, errGone
		}
		from := p.State
		now := e.now()
		p.UpdatedAt = now
		why, ok := change(p, now)
		if !ok {
			return p, errNoChange
		}
		tx := &store.Tx{Now: now, Proposals: []store.ProposalWrite{{Proposal: p, From: from}}}
		a := transitionAudit(p, from, who, why)
		a.Result, a.Error = p.Result, p.Error
		if p.State == store.StateUndone || p.State == store.StateUndoFailed {
			a.Result = p.UndoResult
		}
		tx.Audit = append(tx.Audit, a)
		if extra != nil {
			extra(tx, p)
		}
		err = e.commit(ctx, tx)
		if err == nil {
			return p, nil
		}
		var ce *store.ConflictError
		if !errors.As(err, &ce) || (ce.Kind != store.KindProposal && !ce.Transient) || attempt >= maxAttempts {
			return p, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// block ends a waiting proposal as BLOCKED with reason, shows it and lets
// the ladder move on.
func (e *Engine) block(ctx context.Context, inc *store.Incident, id string, reason string) error {
	return e.end(ctx, inc, id, store.StateBlocked, reason)
}

// end moves a waiting or APPROVED proposal to a final state, owing the
// card update and the ladder's next step.
func (e *Engine) end(ctx context.Context, inc *store.Incident, id string, to store.State, reason string) error {
	_, err := e.transition(ctx, id, []store.State{store.StateProposed, store.StateReplanned, store.StateApproved}, Who,
		func(p *store.Proposal, _ time.Time) (string, bool) {
			p.State, p.Reason = to, reason
			return reason, true
		},
		func(tx *store.Tx, p *store.Proposal) {
			e.oweUpdate(tx, inc, p, fmt.Sprintf("step %d of %s: %s: %s", p.Step+1, p.Policy, to, reason))
		})
	if errors.Is(err, errGone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark %s %s: %w", id, to, err)
	}
	e.log.InfoContext(ctx, "proposal ended", slog.String("proposal", id), slog.String("state", string(to)), slog.String("reason", reason))
	return nil
}

// oweUpdate adds to tx the card update about p and what p waits for next.
func (e *Engine) oweUpdate(tx *store.Tx, inc *store.Incident, p *store.Proposal, summary string) {
	e.oweCard(tx, NoticeUpdated, p.Incident, p.ID, summary, false)
	e.oweNext(tx, inc, p)
}

func transitionAudit(p *store.Proposal, from store.State, who, why string) store.AuditEntry {
	return store.AuditEntry{Incident: p.Incident, Proposal: p.ID, Event: "proposal." + strings.ToLower(string(p.State)),
		From: from, To: p.State, Who: who, Why: why, Plan: p.Plan}
}
