package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// advances reports whether the ladder moves on after a proposal in s: after
// BLOCKED or EXPIRED only when its policy (pol, nil when it no longer
// matches) says on_blocked: continue.
func advances(s store.State, pol *policy.Policy) bool {
	switch s {
	case store.StateSucceeded, store.StateFailed, store.StateShadow:
		return true
	case store.StateBlocked, store.StateExpired:
		return pol != nil && pol.OnBlocked == policy.OnBlockedContinue
	}
	return false
}

// policyFor finds the named policy among those matching the incident's
// alarm now; nil when it no longer matches.
func (e *Engine) policyFor(inc *store.Incident, name string) *policy.Policy {
	for _, pol := range e.deps.Policies.Match(&inc.Alarm) {
		if pol.Name == name {
			return pol
		}
	}
	return nil
}

// followUp proposes the step after m.Proposal if the incident is open and
// the alarm is still in ALARM.
func (e *Engine) followUp(ctx context.Context, m Message) error {
	prev, err := e.deps.Store.Proposal(ctx, m.Proposal)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("follow up %s: %w", m.Proposal, err)
	}
	inc, err := e.deps.Store.Incident(ctx, prev.Incident)
	if err != nil {
		return fmt.Errorf("follow up %s: read incident: %w", prev.ID, err)
	}
	if inc.State != store.IncidentOpen || !advances(prev.State, e.policyFor(inc, prev.Policy)) {
		return nil
	}
	index := prev.Step + 1
	if _, err := e.deps.Store.Proposal(ctx, store.ProposalID(inc.ID, prev.Policy, index)); err == nil {
		return nil
	}
	pol := e.policyFor(inc, prev.Policy)
	if pol == nil {
		return e.stopLadder(ctx, inc, prev, "policy "+prev.Policy+" no longer matches the alarm")
	}
	if index >= len(pol.Steps) {
		return nil
	}
	// The later steps' when: conditions hold or not over the evidence
	// stored on the incident at intake (and any that arrived late).
	var skipped []string
	if pol.HasConditions() {
		var next int
		next, skipped = pol.FirstStepFrom(index, store.FactsOf(inc.Evidence, inc.Suspects))
		if next < 0 {
			return e.stopLadder(ctx, inc, prev, "no later step's when: conditions hold: "+strings.Join(skipped, "; "))
		}
		if next != index {
			if _, err := e.deps.Store.Proposal(ctx, store.ProposalID(inc.ID, prev.Policy, next)); err == nil {
				return nil
			}
		}
		index = next
	}
	var warn string
	if e.deps.AlarmState == nil {
		warn = "the alarm's current state cannot be read (no reader)"
	} else if state, err := e.deps.AlarmState.AlarmState(ctx, &inc.Alarm); err != nil {
		warn = "the alarm's current state cannot be read: " + err.Error()
	} else if state != alarm.StateAlarm {
		return e.stopLadder(ctx, inc, prev, fmt.Sprintf("alarm is %s now", state))
	}
	p := e.propose(ctx, inc, pol, index, e.readSwitch(ctx))
	p.Skipped = skipped
	if warn != "" {
		// Proposed anyway: the executor re-checks and fails closed.
		p.Warnings = append(p.Warnings, warn)
	}
	tx := &store.Tx{Now: e.now(),
		Proposals: []store.ProposalWrite{{Proposal: p, Create: true}},
		Audit:     []store.AuditEntry{createdAudit(p)}}
	e.oweUpdate(tx, inc, p, fmt.Sprintf("step %d of %s proposed: %s", p.Step+1, p.Policy, p.State))
	err = e.commit(ctx, tx)
	if errors.Is(err, store.ErrExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("follow up %s: record step %d: %w", prev.ID, index, err)
	}
	return nil
}

func (e *Engine) stopLadder(ctx context.Context, inc *store.Incident, prev *store.Proposal, why string) error {
	err := e.deps.Store.Commit(ctx, &store.Tx{Now: e.now(), Audit: []store.AuditEntry{{
		Incident: inc.ID, Proposal: prev.ID, Event: "ladder.stopped", Who: Who, Why: why}}})
	if err != nil {
		return fmt.Errorf("record the end of %s's ladder: %w", prev.Policy, err)
	}
	return nil
}
