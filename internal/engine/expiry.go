package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medicbot/medic/internal/store"
)

// expire ends a proposal nobody approved in time.
func (e *Engine) expire(ctx context.Context, m Message) error {
	p, err := e.deps.Store.Proposal(ctx, m.Proposal)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("expire %s: %w", m.Proposal, err)
	}
	if !p.State.AwaitsVote() {
		return nil
	}
	if wait := p.ExpiresAt.Sub(e.now()); wait > 0 {
		return e.send(ctx, m, wait)
	}
	inc, err := e.deps.Store.Incident(ctx, p.Incident)
	if err != nil {
		return fmt.Errorf("expire %s: read incident: %w", p.ID, err)
	}
	return e.expireProposal(ctx, inc, p.ID)
}

func (e *Engine) expireProposal(ctx context.Context, inc *store.Incident, id string) error {
	_, err := e.transition(ctx, id, store.AwaitingVote, Who,
		func(p *store.Proposal, now time.Time) (string, bool) {
			p.State = store.StateExpired
			p.Reason = "no approval before " + p.ExpiresAt.UTC().Format(time.RFC3339)
			return p.Reason, true
		},
		func(tx *store.Tx, p *store.Proposal) {
			e.oweUpdate(tx, inc, p, fmt.Sprintf("step %d of %s expired", p.Step+1, p.Policy))
		})
	if errors.Is(err, errGone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("expire %s: %w", id, err)
	}
	return nil
}
