package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// recover handles an OK state change: it resolves the alarm's open
// incidents from before it. A repeated delivery re-queues, once only, the
// undos of the incidents it resolved, in case the first stopped half way.
func (e *Engine) recover(ctx context.Context, a *alarm.Alarm) (Outcome, error) {
	incs, err := e.deps.Store.IncidentsByAlarm(ctx, a.ARN)
	if err != nil {
		return Outcome{}, fmt.Errorf("handle recovery of %s: list incidents: %w", a.Name, err)
	}
	var out Outcome
	var errs []error
	for _, inc := range incs {
		if inc.State == store.IncidentResolved && inc.RecoveredBy == a.DedupKey() {
			// This state change resolved it already; a failure may have
			// stopped that delivery before every undo was queued.
			errs = append(errs, e.queueRecoveryUndos(ctx, inc))
			continue
		}
		if inc.State != store.IncidentOpen || !inc.Alarm.Timestamp.Before(a.Timestamp) {
			continue
		}
		resolved, err := e.resolve(ctx, inc, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if resolved != nil {
			out.Resolved = append(out.Resolved, resolved)
		}
	}
	if len(out.Resolved) == 0 && len(errs) == 0 {
		out.Ignored = "no open incident to resolve"
	}
	return out, errors.Join(errs...)
}

// resolve marks one incident RESOLVED and cancels its waiting proposals in
// one transaction, then queues undos and posts the summary. It returns nil
// when another delivery resolved it first.
func (e *Engine) resolve(ctx context.Context, inc *store.Incident, a *alarm.Alarm) (*store.Incident, error) {
	var props []*store.Proposal
	for attempt := 0; ; attempt++ {
		cur, err := e.deps.Store.Incident(ctx, inc.ID)
		if err != nil {
			return nil, fmt.Errorf("resolve incident %s: %w", inc.ID, err)
		}
		if cur.State != store.IncidentOpen {
			return nil, nil
		}
		props, err = e.deps.Store.Proposals(ctx, inc.ID)
		if err != nil {
			return nil, fmt.Errorf("resolve incident %s: %w", inc.ID, err)
		}
		now := e.now()
		cur.State = store.IncidentResolved
		cur.RecoveredBy = a.DedupKey()
		cur.UpdatedAt = now
		tx := &store.Tx{Now: now, Incidents: []store.IncidentWrite{{Incident: cur}}}
		tx.Audit = append(tx.Audit, store.AuditEntry{Incident: inc.ID, Event: "incident.resolved", Who: Who,
			Why: fmt.Sprintf("alarm %s back to OK at %s", a.Name, a.Timestamp.UTC().Format(time.RFC3339))})
		e.oweCard(tx, NoticeRecovered, inc.ID, "", "alarm "+a.Name+" recovered", true)
		for _, p := range props {
			if !p.State.Pending() {
				continue
			}
			from := p.State
			p.State = store.StateCancelled
			p.Reason = "resolved before approval"
			if from == store.StateApproved {
				p.Reason = "resolved before execution"
			}
			p.UpdatedAt = now
			tx.Proposals = append(tx.Proposals, store.ProposalWrite{Proposal: p, From: from})
			tx.Audit = append(tx.Audit, transitionAudit(p, from, Who, p.Reason))
		}
		err = e.commit(ctx, tx)
		if err == nil {
			inc = cur
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= maxAttempts {
			return nil, fmt.Errorf("resolve incident %s: %w", inc.ID, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, fmt.Errorf("resolve incident %s: %w", inc.ID, err)
		}
	}
	e.log.InfoContext(ctx, "incident resolved", slog.String("incident", inc.ID))
	return inc, e.queueRecoveryUndos(ctx, inc)
}

// queueRecoveryUndos queues the undos on recovery of a resolved incident's
// succeeded steps. It reads the proposals after the incident was recorded
// RESOLVED: a step still running then is either seen here once it has
// succeeded, or its executor sees the incident resolved after recording
// the result (see execute), so its undo is queued either way.
func (e *Engine) queueRecoveryUndos(ctx context.Context, inc *store.Incident) error {
	props, err := e.deps.Store.Proposals(ctx, inc.ID)
	if err != nil {
		return fmt.Errorf("queue undos of incident %s: %w", inc.ID, err)
	}
	var errs []error
	for _, p := range props {
		errs = append(errs, e.queueRecoveryUndo(ctx, inc, p))
	}
	return errors.Join(errs...)
}

// queueRecoveryUndo queues the undo of p on recovery when its incident is
// resolved and p's policy asks for it (see undoOnRecovery), at most once:
// the counter store.RecoveryUndoKey(p.ID), limited to 1, is its idempotency
// key, recorded with an "undo.queued" audit entry and the owed undo
// message in one transaction. Resolve, the executor of a step finishing after the recovery and
// repeated deliveries of either all go through here; only the one that
// takes the key queues the undo.
func (e *Engine) queueRecoveryUndo(ctx context.Context, inc *store.Incident, p *store.Proposal) error {
	if inc.State != store.IncidentResolved || !e.undoOnRecovery(p) {
		return nil
	}
	for attempt := 0; ; attempt++ {
		now := e.now()
		expires := p.RecordExpiresAt
		if expires.IsZero() {
			expires = now.Add(e.cfg.Retention)
		}
		tx := &store.Tx{Now: now,
			Counters: []store.CounterWrite{{Key: store.RecoveryUndoKey(p.ID), Limit: 1, ExpiresAt: expires}},
			Audit: []store.AuditEntry{{Incident: p.Incident, Proposal: p.ID, Event: "undo.queued", Who: Who,
				Why: "alarm recovered; policy " + p.Policy + " undoes on recovery"}}}
		e.oweMessage(tx, Message{Kind: KindUndo, Incident: p.Incident, Proposal: p.ID, By: Who}, 0)
		err := e.commit(ctx, tx)
		var ce *store.ConflictError
		switch {
		case err == nil:
			e.log.InfoContext(ctx, "undo on recovery queued", slog.String("proposal", p.ID))
			return nil
		case errors.As(err, &ce) && ce.Kind == store.KindCounter && !ce.Transient:
			return nil // queued already
		case errors.As(err, &ce) && ce.Transient && attempt < maxAttempts:
			if err := backoff(ctx, attempt); err != nil {
				return fmt.Errorf("queue undo of %s: %w", p.ID, err)
			}
		default:
			return fmt.Errorf("queue undo of %s: %w", p.ID, err)
		}
	}
}

// undoOnRecovery reports whether p is an auto-run step that can be undone
// (CanUndo) of a policy that asks for undo on recovery.
func (e *Engine) undoOnRecovery(p *store.Proposal) bool {
	return p.OnRecovery == policy.OnRecoveryUndo && p.Approval == policy.ApprovalAuto && CanUndo(p, e.deps.Actions)
}

// finishedAfterRecovery handles a step that finished after its incident was
// resolved: resolve saw it running, so it neither undid it nor showed its
// result. It queues the undo the policy asks for on recovery and owes the
// recovery timeline again, now with the late result.
func (e *Engine) finishedAfterRecovery(ctx context.Context, inc *store.Incident, p *store.Proposal) error {
	e.log.InfoContext(ctx, "step finished after the alarm recovered", slog.String("proposal", p.ID), slog.String("state", string(p.State)))
	err := e.queueRecoveryUndo(ctx, inc, p)
	tx := &store.Tx{Now: e.now()}
	e.oweCard(tx, NoticeRecovered, inc.ID, p.ID, outcomeSummary(p)+" (finished after the alarm recovered)", true)
	if len(tx.Owed) > 0 {
		if cerr := e.commit(ctx, tx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("owe the recovery summary of %s: %w", inc.ID, cerr))
		}
	}
	return err
}
