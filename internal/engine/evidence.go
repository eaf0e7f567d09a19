package engine

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// EvidenceGatherer gathers the evidence of a new incident (the 5xx
// pattern, recent changes, target and task health); *evidence.Gatherer
// implements it. HandleAlarm calls it once per incident and stores the
// answer on the incident; cards render from the record and never call it.
// Gather must return within budget (and a little grace) with whatever
// arrived, naming what is missing and why.
type EvidenceGatherer interface {
	Gather(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy, budget time.Duration) *store.Evidence
}

// LateEvidenceGatherer is an EvidenceGatherer that also sends what
// arrives after the budget: the whole evidence again, updated, once per
// late answer, on a buffered channel it closes when done;
// *evidence.Gatherer implements it. The engine then stores each update on
// the incident and updates the card.
type LateEvidenceGatherer interface {
	GatherLate(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy, budget time.Duration) (*store.Evidence, <-chan *store.Evidence)
}

// DefaultEvidenceBudget bounds evidence gathering at intake when no
// matched policy sets evidence.budget.
const DefaultEvidenceBudget = 4 * time.Second

// evidenceGrace is how long past the budget the engine waits for the
// gatherer's own answer (which lists what timed out) before giving up.
const evidenceGrace = 250 * time.Millisecond

// evidenceBudget is the largest evidence.budget of matched, or the
// engine's default.
func (e *Engine) evidenceBudget(matched []*policy.Policy) time.Duration {
	budget := time.Duration(0)
	for _, p := range matched {
		if p != nil && p.EvidenceBudget > budget {
			budget = p.EvidenceBudget
		}
	}
	if budget == 0 {
		budget = e.cfg.EvidenceBudget
	}
	return budget
}

// gatherEvidence starts gathering a's evidence, in parallel with planning;
// the first function it returns waits for it (at most the budget and a
// little grace), the second follows late answers once the incident id is
// recorded (call it only then). Without an EvidenceGatherer it gathers
// nothing (nil).
func (e *Engine) gatherEvidence(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy) (func() *store.Evidence, func(id string)) {
	if e.deps.Evidence == nil {
		return func() *store.Evidence { return nil }, func(string) {}
	}
	budget := e.evidenceBudget(matched)
	type answer struct {
		ev   *store.Evidence
		late <-chan *store.Evidence
	}
	done := make(chan answer, 1)
	own := *a
	start := e.now()
	go func() {
		if lg, ok := e.deps.Evidence.(LateEvidenceGatherer); ok {
			ev, late := lg.GatherLate(ctx, &own, matched, budget)
			done <- answer{ev, late}
			return
		}
		done <- answer{ev: e.deps.Evidence.Gather(ctx, &own, matched, budget)}
	}()
	var ans answer
	var waited bool
	wait := func() *store.Evidence {
		if waited {
			return ans.ev
		}
		waited = true
		t := time.NewTimer(budget + evidenceGrace)
		defer t.Stop()
		select {
		case ans = <-done:
		case <-t.C:
			ans.ev = &store.Evidence{GatheredAt: start, Budget: budget,
				Missing: []store.MissingEvidence{{Collector: "all", Reason: "no answer within " + budget.String()}}}
		}
		ans.ev = store.BoundEvidence(ans.ev)
		return ans.ev
	}
	follow := func(id string) {
		if !waited || ans.late == nil {
			return
		}
		late := ans.late
		ctx := context.WithoutCancel(ctx)
		e.late.Add(1)
		go func() {
			defer e.late.Done()
			for ev := range late {
				e.lateEvidence(ctx, id, ev)
			}
		}()
	}
	return wait, follow
}

// WaitLateEvidence waits until every late evidence answer of the
// incidents this engine opened is stored and its card update sent (or
// owed), or until ctx is done (its error). A Lambda invocation calls it
// before it returns: once it returns the environment freezes, and late
// answers would wait for the next invocation, or never come.
func (e *Engine) WaitLateEvidence(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		e.late.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lateEvidence stores evidence that arrived after the incident opened and
// updates its card.
func (e *Engine) lateEvidence(ctx context.Context, id string, ev *store.Evidence) {
	log := e.log.With(slog.String("incident", id))
	for attempt := range maxAttempts {
		cur, err := e.deps.Store.Incident(ctx, id)
		if err != nil {
			log.WarnContext(ctx, "store late evidence", slog.Any("error", err))
			return
		}
		now := e.now()
		cur.Evidence = store.BoundEvidence(ev)
		cur.UpdatedAt = now
		tx := &store.Tx{Now: now, Incidents: []store.IncidentWrite{{Incident: cur}}}
		if entry, ok := evidenceAudit(id, "evidence.late", cur.Evidence); ok {
			tx.Audit = append(tx.Audit, entry)
		}
		e.oweCard(tx, NoticeUpdated, id, "", "", false)
		err = e.commit(ctx, tx)
		if err == nil || !errors.Is(err, store.ErrConflict) {
			if err != nil {
				log.WarnContext(ctx, "store late evidence", slog.Any("error", err))
			}
			return
		}
		if backoff(ctx, attempt) != nil {
			return
		}
	}
}

// firstStep is the ladder's first step of pol whose `when:` conditions
// hold for the facts (policy.FirstStep), with why each step before it was
// skipped; -1 when none holds. It asks for the facts (which wait for the
// evidence and the suspect deploys) only when pol has conditions.
func firstStep(pol *policy.Policy, facts func() policy.Facts) (int, []string) {
	if !pol.HasConditions() {
		return 0, nil
	}
	return pol.FirstStep(facts())
}

// onceSuspects makes the suspect-deploy answer readable more than once:
// the steps' conditions and the incident both need it.
func onceSuspects(wait func() ([]store.SuspectDeploy, string)) func() ([]store.SuspectDeploy, string) {
	var found []store.SuspectDeploy
	var note string
	done := false
	return func() ([]store.SuspectDeploy, string) {
		if !done {
			found, note = wait()
			done = true
		}
		return found, note
	}
}

// evidenceAudit is the audit entry that shows, in `medic audit`, what the
// evidence said: the reading, what it favours and what is missing.
func evidenceAudit(id, event string, ev *store.Evidence) (store.AuditEntry, bool) {
	if ev == nil {
		return store.AuditEntry{}, false
	}
	var parts []string
	if ev.Reading != "" {
		parts = append(parts, "reading: "+ev.Reading)
	}
	if ev.Favours != "" {
		parts = append(parts, "favours "+ev.Favours)
	}
	for _, m := range ev.Missing {
		parts = append(parts, m.Collector+" unavailable: "+m.Reason)
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing to say")
	}
	return store.AuditEntry{Incident: id, Event: event, Who: Who, Why: strings.Join(parts, "; ")}, true
}
