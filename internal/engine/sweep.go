package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medicbot/medic/internal/store"
)

// SweepStale finds executions whose executor died: locks whose lease ran
// out. Their proposal keeps its state (EXECUTING or UNDOING) and is marked
// NeedsHuman, the lock is marked stale (so another remediation may take the
// target over), both in one transaction with the audit entry, and the card
// says a human must check. Nothing is ever run again. It returns how many
// it marked. The executor door and the local server call it periodically.
func (e *Engine) SweepStale(ctx context.Context) (int, error) {
	locks, err := e.deps.Store.Locks(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep stale executions: %w", err)
	}
	now := e.now()
	marked := 0
	var errs []error
	for _, l := range locks {
		if l.Stale || !l.LeaseUntil.Before(now) {
			continue
		}
		ok, err := e.markStale(ctx, l)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			marked++
		}
	}
	return marked, errors.Join(errs...)
}

func (e *Engine) markStale(ctx context.Context, l *store.Lock) (bool, error) {
	staleLock := []store.LockWrite{{Op: store.LockMarkStale, Lock: store.Lock{Target: l.Target, Holder: l.Holder}}}
	why := fmt.Sprintf("executor lost its lease on %s at %s: the change may or may not have been applied; medic will not run it again, a human must check and resolve it",
		l.Target, l.LeaseUntil.UTC().Format(time.RFC3339))
	p, err := e.transition(ctx, l.Holder, []store.State{store.StateExecuting, store.StateUndoing}, Who,
		func(p *store.Proposal, _ time.Time) (string, bool) {
			if p.NeedsHuman {
				return "", false
			}
			p.NeedsHuman = true
			p.Reason = why
			return why, true
		},
		func(tx *store.Tx, p *store.Proposal) {
			tx.Locks = staleLock
			tx.Audit[0].Event = "proposal.needs_human"
			e.oweCard(tx, NoticeNeedsHuman, p.Incident, p.ID, why, false)
		})
	switch {
	case err == nil:
		e.log.WarnContext(ctx, "execution needs a human", slog.String("proposal", p.ID), slog.String("target", l.Target))
		return true, nil
	case errors.Is(err, errGone), errors.Is(err, errNoChange), errors.Is(err, store.ErrNotFound):
		// The holder finished (or is gone) but its lock stayed: free the
		// target for others, on the record.
		err = e.deps.Store.Commit(ctx, &store.Tx{Now: e.now(), Locks: staleLock, Audit: []store.AuditEntry{{
			Proposal: l.Holder, Event: "lock.stale", Who: Who,
			Why: "lock on " + l.Target + " outlived its lease; its holder is no longer executing"}}})
		if errors.Is(err, store.ErrConflict) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("mark lock on %s stale: %w", l.Target, err)
		}
		return true, nil
	case errors.Is(err, store.ErrConflict):
		return false, nil // released or marked meanwhile
	}
	return false, fmt.Errorf("mark %s as needing a human: %w", l.Holder, err)
}
