package engine

import (
	"context"
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
// the function it returns waits for it (at most the budget and a little
// grace). Without an EvidenceGatherer it gathers nothing (nil).
func (e *Engine) gatherEvidence(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy) func() *store.Evidence {
	if e.deps.Evidence == nil {
		return func() *store.Evidence { return nil }
	}
	budget := e.evidenceBudget(matched)
	done := make(chan *store.Evidence, 1)
	own := *a
	start := e.now()
	go func() { done <- e.deps.Evidence.Gather(ctx, &own, matched, budget) }()
	var ev *store.Evidence
	var waited bool
	return func() *store.Evidence {
		if waited {
			return ev
		}
		waited = true
		t := time.NewTimer(budget + evidenceGrace)
		defer t.Stop()
		select {
		case ev = <-done:
		case <-t.C:
			ev = &store.Evidence{GatheredAt: start, Budget: budget,
				Missing: []store.MissingEvidence{{Collector: "all", Reason: "no answer within " + budget.String()}}}
		}
		return store.BoundEvidence(ev)
	}
}

// firstStep is the ladder's first step of pol whose `when:` conditions
// hold for the evidence (policy.FirstStep), with why each step before it
// was skipped; -1 when none holds. It waits for the evidence (ev) only
// when pol has conditions.
func firstStep(pol *policy.Policy, ev func() *store.Evidence) (int, []string) {
	if !pol.HasConditions() {
		return 0, nil
	}
	return pol.FirstStep(ev().Facts())
}
