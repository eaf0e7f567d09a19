package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medicbot/medic/internal/store"
)

// The outbox: every message medic owes (a queue message, a card post or
// update) is written as a store.Owed entry in the same transaction as the
// record change that owes it (commit), then sent straight away by the
// writer (deliver) and deleted once sent. What could not be sent stays
// owed: Relay, run by the executor's schedule, `medic serve`'s timer and
// the tail of each invocation, sends it later with backoff. Handlers are
// idempotent, so a message sent twice is harmless; a committed change whose
// message is never sent cannot happen.

// Outbox timings.
const (
	// writerGrace is how long a relay leaves a new entry to its writer,
	// which sends it right after the commit.
	writerGrace = 30 * time.Second
	// relayLease is how long a relay holds an entry it is sending.
	relayLease = time.Minute
	// firstRetry and maxRetry bound the backoff between failed sends.
	firstRetry = 5 * time.Second
	maxRetry   = 5 * time.Minute
	// relayBatch is how many entries one Relay reads at most.
	relayBatch = 200
)

// cardNotice is the body of an owed card: what the card should say when it
// is sent. The card itself is rendered from the records as they are then.
type cardNotice struct {
	Kind     NoticeKind `json:"kind"`
	Changed  string     `json:"changed,omitempty"`
	Summary  string     `json:"summary,omitempty"`
	Timeline bool       `json:"timeline,omitempty"`
}

// oweMessage adds queue message m, due after delay, to tx.
func (e *Engine) oweMessage(tx *store.Tx, m Message, delay time.Duration) {
	due := tx.Now.Add(max(delay, 0))
	if delay > 0 {
		m.NotBefore = due
	}
	body, err := json.Marshal(m)
	if err != nil {
		// A Message always encodes; keep the commit honest anyway.
		e.log.Error("encode owed message", slog.String("proposal", m.Proposal), slog.Any("error", err))
		return
	}
	e.owe(tx, store.OwedQueue, m.Incident, m.Proposal, body, due)
}

// oweCard adds a card post or update for incident to tx. changed is the
// proposal the notice is about, if any; timeline asks for the incident's
// audit trail in the thread (a recovery).
func (e *Engine) oweCard(tx *store.Tx, kind NoticeKind, incident, changed, summary string, timeline bool) {
	if e.deps.Notifier == nil || incident == "" {
		return
	}
	body, _ := json.Marshal(cardNotice{Kind: kind, Changed: changed, Summary: summary, Timeline: timeline})
	e.owe(tx, store.OwedCard, incident, changed, body, time.Time{})
}

func (e *Engine) owe(tx *store.Tx, kind store.OwedKind, incident, proposal string, body []byte, due time.Time) {
	tx.Owed = append(tx.Owed, store.OwedWrite{Create: true, Owed: &store.Owed{
		ID: store.NewOwedID(tx.Now, len(tx.Owed)), Kind: kind, Incident: incident, Proposal: proposal,
		Body: body, DueAt: due, CreatedAt: tx.Now, NextAttemptAt: tx.Now.Add(writerGrace)}})
}

// oweNext adds to tx the message a proposal in its state waits for: its
// execution (APPROVED), its expiry (waiting for votes) or the follow-up
// that proposes the ladder's next step (after a state the ladder moves on
// from, while the incident is open).
func (e *Engine) oweNext(tx *store.Tx, inc *store.Incident, p *store.Proposal) {
	switch {
	case p.State == store.StateApproved:
		e.oweMessage(tx, Message{Kind: KindExecute, Incident: p.Incident, Proposal: p.ID}, 0)
	case p.State.AwaitsVote():
		if !p.ExpiresAt.IsZero() {
			e.oweMessage(tx, Message{Kind: KindExpire, Incident: p.Incident, Proposal: p.ID}, p.ExpiresAt.Sub(tx.Now))
		}
	case inc.State == store.IncidentOpen && (p.State == store.StateBlocked || p.State == store.StateExpired) &&
		!advances(p.State, e.policyFor(inc, p.Policy)):
		// on_blocked: stop (the default): say so where people look.
		if pol := e.policyFor(inc, p.Policy); pol != nil && p.Step+1 < len(pol.Steps) {
			why := fmt.Sprintf("step %d is %s and the policy's on_blocked is stop: step %d is not proposed", p.Step+1, p.State, p.Step+2)
			tx.Audit = append(tx.Audit, store.AuditEntry{Incident: inc.ID, Proposal: p.ID, Event: "ladder.stopped", Who: Who, Why: why})
			e.oweCard(tx, NoticeUpdated, inc.ID, p.ID, "The ladder stopped: "+why+".", false)
		}
	case advances(p.State, e.policyFor(inc, p.Policy)) && inc.State == store.IncidentOpen:
		pol := e.policyFor(inc, p.Policy)
		if pol == nil || p.Step+1 >= len(pol.Steps) {
			return
		}
		due := p.UpdatedAt.Add(pol.Steps[p.Step+1].After)
		e.oweMessage(tx, Message{Kind: KindFollowUp, Incident: inc.ID, Proposal: p.ID}, due.Sub(tx.Now))
	}
}

// commit commits tx and then sends what it owes. Only the commit's error
// is returned: what could not be sent stays owed and is relayed later.
func (e *Engine) commit(ctx context.Context, tx *store.Tx) error {
	if err := e.deps.Store.Commit(ctx, tx); err != nil {
		return err
	}
	if len(tx.Owed) > 0 {
		entries := make([]*store.Owed, 0, len(tx.Owed))
		for _, w := range tx.Owed {
			if w.Create {
				entries = append(entries, w.Owed)
			}
		}
		e.deliver(ctx, entries)
	}
	return nil
}

// deliver sends entries, in order, deleting those sent in one commit and
// recording the failures for the relay. It returns how many were sent.
func (e *Engine) deliver(ctx context.Context, entries []*store.Owed) int {
	var done []store.OwedWrite
	failedCards := map[string]bool{}
	for _, o := range entries {
		if o.Kind == store.OwedCard && failedCards[o.Incident] {
			continue // keep an incident's cards in order
		}
		err := e.sendOwed(ctx, o)
		if err == nil {
			done = append(done, store.OwedWrite{Owed: &store.Owed{ID: o.ID}, Delete: true})
			continue
		}
		if o.Kind == store.OwedCard {
			failedCards[o.Incident] = true
		}
		e.log.WarnContext(ctx, "owed message not sent; it stays owed", slog.String("owed", o.ID), slog.String("kind", string(o.Kind)),
			slog.String("incident", o.Incident), slog.Int("attempts", o.Attempts+1), slog.Any("error", err))
		failed := *o
		failed.Attempts++
		failed.LastError = err.Error()
		failed.NextAttemptAt = e.now().Add(retryAfter(failed.Attempts))
		if cerr := e.deps.Store.Commit(ctx, &store.Tx{Now: e.now(), Owed: []store.OwedWrite{{Owed: &failed}}}); cerr != nil && !errors.Is(cerr, store.ErrConflict) {
			e.log.WarnContext(ctx, "record a failed send", slog.String("owed", o.ID), slog.Any("error", cerr))
		}
	}
	if len(done) > 0 {
		if err := e.deps.Store.Commit(ctx, &store.Tx{Now: e.now(), Owed: done}); err != nil {
			// Sent but still listed: a relay sends them again, harmlessly.
			e.log.WarnContext(ctx, "mark owed messages sent", slog.Int("sent", len(done)), slog.Any("error", err))
		}
	}
	return len(done)
}

// retryAfter is the backoff after the n-th failed send.
func retryAfter(n int) time.Duration {
	d := firstRetry
	for i := 1; i < n && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// sendOwed sends one owed entry.
func (e *Engine) sendOwed(ctx context.Context, o *store.Owed) error {
	switch o.Kind {
	case store.OwedQueue:
		if err := e.deps.Queue.Send(ctx, o.Body, o.DueAt.Sub(e.now())); err != nil {
			return fmt.Errorf("queue message for %s: %w", o.Proposal, err)
		}
		return nil
	case store.OwedCard:
		var n cardNotice
		if err := json.Unmarshal(o.Body, &n); err != nil {
			return fmt.Errorf("decode owed card %s: %w", o.ID, err)
		}
		return e.sendCard(ctx, o.Incident, n)
	}
	return fmt.Errorf("owed message %s: unknown kind %q", o.ID, o.Kind)
}

// RelayResult is what one Relay did.
type RelayResult struct {
	// Sent is how many owed messages were sent.
	Sent int
	// Waiting is how many are still owed (not yet due for a retry, held by
	// another relay, or failed again).
	Waiting int
	// StuckCards are the incidents whose card has been owed for longer
	// than Config.CardAlertAfter.
	StuckCards []string
}

// Relay sends the owed messages that are due for an attempt, oldest first:
// each is claimed (so concurrent relays do not both send it), sent, and
// deleted, or its failure recorded with a backoff. Cards owed for longer
// than Config.CardAlertAfter are reported once to the Ops notifier. Run it
// on a timer and at the end of each invocation.
func (e *Engine) Relay(ctx context.Context) (RelayResult, error) {
	var res RelayResult
	owed, err := e.deps.Store.Owed(ctx, relayBatch)
	if err != nil {
		return res, fmt.Errorf("relay owed messages: %w", err)
	}
	now := e.now()
	var claimed []*store.Owed
	for _, o := range owed {
		if o.NextAttemptAt.After(now) {
			continue
		}
		c := *o
		c.NextAttemptAt = now.Add(relayLease)
		err := e.deps.Store.Commit(ctx, &store.Tx{Now: now, Owed: []store.OwedWrite{{Owed: &c}}})
		if errors.Is(err, store.ErrConflict) {
			continue // sent or claimed by another relay meanwhile
		}
		if err != nil {
			return res, fmt.Errorf("relay owed messages: claim %s: %w", o.ID, err)
		}
		claimed = append(claimed, &c)
	}
	res.Sent = e.deliver(ctx, claimed)
	res.Waiting = len(owed) - res.Sent
	res.StuckCards = e.alertStuckCards(ctx, now)
	return res, nil
}

// alertStuckCards tells operators about the incidents whose card has been
// owed for longer than Config.CardAlertAfter (each relay, so a metric can
// stay raised; New names those not reported before), and returns them.
func (e *Engine) alertStuckCards(ctx context.Context, now time.Time) []string {
	// Read again: the claims and failures of this relay moved the entries'
	// versions, and marking one alerted is conditional on its version.
	owed, err := e.deps.Store.Owed(ctx, relayBatch)
	if err != nil {
		e.log.WarnContext(ctx, "check for stuck cards", slog.Any("error", err))
		return nil
	}
	var stuck, fresh []string
	var toMark []*store.Owed
	seen := map[string]bool{}
	for _, o := range owed {
		if o.Kind != store.OwedCard || now.Sub(o.CreatedAt) < e.cfg.CardAlertAfter || seen[o.Incident] {
			continue
		}
		seen[o.Incident] = true
		stuck = append(stuck, o.Incident)
		if o.AlertedAt.IsZero() {
			fresh = append(fresh, o.Incident)
			toMark = append(toMark, o)
		}
	}
	if len(stuck) == 0 || e.deps.Ops == nil {
		return stuck
	}
	if err := e.deps.Ops.CardsStuck(ctx, StuckCards{Incidents: stuck, New: fresh, After: e.cfg.CardAlertAfter}); err != nil {
		e.log.WarnContext(ctx, "tell operators about stuck cards", slog.Any("error", err))
		return stuck
	}
	for _, o := range toMark {
		m := *o
		m.AlertedAt = now
		if err := e.deps.Store.Commit(ctx, &store.Tx{Now: now, Owed: []store.OwedWrite{{Owed: &m}}}); err != nil && !errors.Is(err, store.ErrConflict) {
			e.log.WarnContext(ctx, "record the stuck-card alert", slog.String("owed", o.ID), slog.Any("error", err))
		}
	}
	return stuck
}

// StuckCards is what operators are told when Slack has not taken an
// incident's card for a while.
type StuckCards struct {
	// Incidents are every incident waiting that long for its card; New are
	// those not reported before.
	Incidents []string
	New       []string
	// After is how long they have waited at least.
	After time.Duration
}

// Ops tells the people running medic what medic's users cannot see: cards
// that Slack has not taken (the stack's ops topic and a metric in AWS, the
// log locally). CardsStuck is called at each relay while any card is stuck.
type Ops interface {
	CardsStuck(ctx context.Context, s StuckCards) error
}
