package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// Watcher checks whether a step that is still in effect may end, on
// evidence rather than on the alarm it silenced (maintenance stops traffic
// to the targets, so the alarm that triggered it recovers by itself).
// Watches says, without I/O, whether a result is watched at all; Check
// evaluates its exit condition now. The wiring's adapter of
// alb.ExitCheck implements it.
type Watcher interface {
	Watches(res *remediations.Result) bool
	Check(ctx context.Context, res *remediations.Result) (WatchStatus, error)
}

// WatchStatus is one evaluation of a watched step's exit condition.
type WatchStatus struct {
	// Holds is true when the step may end now; Auto when the policy lets
	// medic end it by itself.
	Holds, Auto bool
	// Evidence says what was found, part by part.
	Evidence []string
	// InFor is how long the step has been in effect.
	InFor time.Duration
}

// oweWatch adds to tx the next check of p's exit condition, when p's result
// is watched.
func (e *Engine) oweWatch(tx *store.Tx, p *store.Proposal) {
	if e.deps.Watcher == nil || p.State != store.StateSucceeded || !e.deps.Watcher.Watches(p.Result) {
		return
	}
	e.oweMessage(tx, Message{Kind: KindWatch, Incident: p.Incident, Proposal: p.ID}, e.cfg.WatchEvery)
}

// watch checks a SUCCEEDED step's exit condition. While it does not hold
// (or cannot be read) the next check is owed; when it holds, the step is
// undone (the policy says auto) or the card proposes ending it (Undo), on
// the record, and the watch ends. A step no longer SUCCEEDED (undone, being
// undone) is not watched any more.
func (e *Engine) watch(ctx context.Context, m Message) error {
	p, err := e.deps.Store.Proposal(ctx, m.Proposal)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("watch %s: %w", m.Proposal, err)
	}
	if e.deps.Watcher == nil || p.State != store.StateSucceeded || !e.deps.Watcher.Watches(p.Result) {
		return nil
	}
	st, cerr := e.deps.Watcher.Check(ctx, p.Result)
	tx := &store.Tx{Now: e.now()}
	switch {
	case cerr != nil:
		e.log.WarnContext(ctx, "exit condition cannot be read; checking again later", slog.String("proposal", p.ID), slog.Any("error", cerr))
		e.oweMessage(tx, Message{Kind: KindWatch, Incident: p.Incident, Proposal: p.ID}, e.cfg.WatchEvery)
	case !st.Holds:
		e.oweMessage(tx, Message{Kind: KindWatch, Incident: p.Incident, Proposal: p.ID}, e.cfg.WatchEvery)
	case st.Auto:
		why := fmt.Sprintf("exit condition holds after %s (%s); policy %s ends it automatically", st.InFor, strings.Join(st.Evidence, "; "), p.Policy)
		tx.Audit = append(tx.Audit, store.AuditEntry{Incident: p.Incident, Proposal: p.ID, Event: "watch.exit", Who: Who, Why: why})
		e.oweMessage(tx, Message{Kind: KindUndo, Incident: p.Incident, Proposal: p.ID, By: Who}, 0)
		e.oweCard(tx, NoticeUpdated, p.Incident, p.ID, fmt.Sprintf("step %d of %s: %s; ending it", p.Step+1, p.Policy, why), false)
	default:
		why := fmt.Sprintf("exit condition holds after %s in effect (%s)", st.InFor, strings.Join(st.Evidence, "; "))
		tx.Audit = append(tx.Audit, store.AuditEntry{Incident: p.Incident, Proposal: p.ID, Event: "watch.exit_ready", Who: Who, Why: why})
		e.oweCard(tx, NoticeUpdated, p.Incident, p.ID,
			fmt.Sprintf("step %d of %s can end: %s. Press Undo on the card to end it", p.Step+1, p.Policy, why), false)
	}
	if err := e.commit(ctx, tx); err != nil {
		return fmt.Errorf("watch %s: %w", p.ID, err)
	}
	return nil
}
