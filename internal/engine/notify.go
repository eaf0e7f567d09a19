package engine

import (
	"context"
	"errors"
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
}

// notify shows a notice and remembers where the card is. Failures are
// logged, not returned: a Slack outage must not stop remediation, and the
// records are the source of truth.
func (e *Engine) notify(ctx context.Context, kind NoticeKind, inc *store.Incident, changed *store.Proposal, summary string, timeline []store.AuditEntry) {
	if e.deps.Notifier == nil || inc == nil {
		return
	}
	log := e.log.With(slog.String("incident", inc.ID), slog.String("notice", string(kind)))
	props, err := e.deps.Store.Proposals(ctx, inc.ID)
	if err != nil {
		log.WarnContext(ctx, "notify without proposals", slog.Any("error", err))
	}
	if cur, err := e.deps.Store.Incident(ctx, inc.ID); err == nil {
		inc = cur
	}
	n := &Notice{Kind: kind, Incident: inc, Proposals: props, Changed: changed, Summary: summary,
		Paused: e.readSwitch(ctx).pause(), Timeline: timeline}
	ref, err := e.deps.Notifier.Notify(ctx, n)
	if err != nil {
		log.WarnContext(ctx, "notify failed", slog.Any("error", err))
		return
	}
	if ref.IsZero() || !inc.Message.IsZero() {
		return
	}
	for attempt := range 5 {
		cur, err := e.deps.Store.Incident(ctx, inc.ID)
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
