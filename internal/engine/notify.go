package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/medicbot/medic/internal/killswitch"
	"github.com/medicbot/medic/internal/store"
)

// NoticeKind says why a notice is sent.
type NoticeKind string

// The kinds of notice.
const (
	// NoticeOpened: a new incident; post its card.
	NoticeOpened NoticeKind = "opened"
	// NoticeUpdated: a proposal changed (a vote, an approval, an execution,
	// a block, an expiry, an undo, the next ladder step); update the card.
	NoticeUpdated NoticeKind = "updated"
	// NoticeRecovered: the alarm returned to OK; Timeline summarises the
	// incident.
	NoticeRecovered NoticeKind = "recovered"
	// NoticeNeedsHuman: an executor lost its lease; a human must check
	// whether the change was applied.
	NoticeNeedsHuman NoticeKind = "needs_human"
)

// Notice is what the engine asks the Notifier to show.
type Notice struct {
	Kind     NoticeKind
	Incident *store.Incident
	// Proposals are all of the incident's proposals, as they are now.
	Proposals []*store.Proposal
	// Changed is the proposal the notice is about, if any.
	Changed *store.Proposal
	// Summary says in one line what happened.
	Summary string
	// Paused is set when medic is paused or its kill switch cannot be read
	// (Why says which): the card must say that nothing runs automatically.
	Paused *killswitch.State
	// Timeline is the incident's audit trail (NoticeRecovered only).
	Timeline []store.AuditEntry
	// Undoable holds the IDs of the proposals that can be undone now
	// (CanUndo): the card offers Undo on those and on no others.
	Undoable map[string]bool
	// InEffect holds the IDs of the SUCCEEDED proposals medic watches
	// until they may end (maintenance, see Watcher): the card shows for
	// how long each has been in effect.
	InEffect map[string]bool
}

// sendCard shows an owed card notice, rendered from the records as they are
// now (so a card sent late shows the current state, not the one it was
// owed for), and remembers where the card is. An error leaves the notice
// owed.
func (e *Engine) sendCard(ctx context.Context, incident string, cn cardNotice) error {
	if e.deps.Notifier == nil {
		return nil
	}
	inc, err := e.deps.Store.Incident(ctx, incident)
	if errors.Is(err, store.ErrNotFound) {
		return nil // expired: nothing left to show
	}
	if err != nil {
		return fmt.Errorf("card for incident %s: %w", incident, err)
	}
	props, err := e.deps.Store.Proposals(ctx, inc.ID)
	if err != nil {
		return fmt.Errorf("card for incident %s: %w", incident, err)
	}
	n := &Notice{Kind: cn.Kind, Incident: inc, Proposals: props, Summary: cn.Summary, Paused: e.readSwitch(ctx).pause()}
	for _, p := range props {
		if p.ID == cn.Changed {
			n.Changed = p
		}
		if CanUndo(p, e.deps.Actions) {
			if n.Undoable == nil {
				n.Undoable = map[string]bool{}
			}
			n.Undoable[p.ID] = true
		}
		if e.deps.Watcher != nil && p.State == store.StateSucceeded && e.deps.Watcher.Watches(p.Result) {
			if n.InEffect == nil {
				n.InEffect = map[string]bool{}
			}
			n.InEffect[p.ID] = true
		}
	}
	if cn.Timeline {
		if n.Timeline, err = e.deps.Store.Audit(ctx, store.AuditQuery{Incident: inc.ID}); err != nil {
			return fmt.Errorf("card for incident %s: read its timeline: %w", incident, err)
		}
	}
	ref, err := e.deps.Notifier.Notify(ctx, n)
	if !ref.IsZero() && inc.Message.IsZero() {
		// Remember the card even when a later part of the notice failed:
		// a retry must update this card, not post another.
		e.rememberCard(ctx, inc.ID, ref)
	}
	if err != nil {
		return fmt.Errorf("card for incident %s: %w", incident, err)
	}
	return nil
}

// rememberCard records where an incident's card was posted.
func (e *Engine) rememberCard(ctx context.Context, id string, ref store.MessageRef) {
	log := e.log.With(slog.String("incident", id))
	for attempt := range 5 {
		cur, err := e.deps.Store.Incident(ctx, id)
		if err != nil {
			log.WarnContext(ctx, "remember card", slog.Any("error", err))
			return
		}
		if !cur.Message.IsZero() {
			return
		}
		cur.Message = ref
		cur.UpdatedAt = e.now()
		err = e.deps.Store.Commit(ctx, &store.Tx{Now: e.now(), Incidents: []store.IncidentWrite{{Incident: cur}}})
		if err == nil || !errors.Is(err, store.ErrConflict) {
			if err != nil {
				log.WarnContext(ctx, "remember card", slog.Any("error", err))
			}
			return
		}
		if backoff(ctx, attempt) != nil {
			return
		}
	}
}
