package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// Outcome is what HandleAlarm did.
type Outcome struct {
	// Incident is the incident opened, or found for a duplicate delivery.
	Incident *store.Incident
	// Proposals are the proposals created (step 0 of each matched policy).
	Proposals []*store.Proposal
	// Duplicate is true when this state change had already been handled.
	Duplicate bool
	// Ignored says why nothing was done, e.g. "no policy matches".
	Ignored string
	// Resolved are the incidents an OK state change resolved.
	Resolved []*store.Incident
}

// HandleAlarm handles one alarm state change, whichever route delivered
// it. ALARM opens one incident per state change (dedup on ARN + state
// timestamp) with a proposal for step 0 of each matching policy; OK
// resolves the alarm's open incidents, cancels what still waits and undoes
// reversible auto steps of policies with on_recovery: undo.
//
// An error means the state change should be delivered again; the engine
// then finishes what the failed attempt left undone without duplicating it.
func (e *Engine) HandleAlarm(ctx context.Context, a *alarm.Alarm) (Outcome, error) {
	if a == nil || a.ARN == "" || a.Timestamp.IsZero() || !a.State.Valid() {
		return Outcome{}, fmt.Errorf("handle alarm: %w: ARN, timestamp and state are required", ErrInvalidAlarm)
	}
	if a.State == alarm.StateOK {
		return e.recover(ctx, a)
	}
	if !policy.ActsOn(a.State) {
		// The one rule lint, policy test, simulate and Match apply too.
		return Outcome{Ignored: "state " + string(a.State) + " is not acted on"}, nil
	}
	id := store.IncidentID(a.DedupKey())
	existing, err := e.deps.Store.Incident(ctx, id)
	switch {
	case err == nil:
		return Outcome{Incident: existing, Duplicate: true}, e.repair(ctx, existing)
	case !errors.Is(err, store.ErrNotFound):
		return Outcome{}, fmt.Errorf("handle alarm %s: check for a duplicate: %w", a.Name, err)
	}
	pols := e.deps.Policies.Match(a)
	if len(pols) == 0 {
		return Outcome{Ignored: "no policy matches"}, nil
	}
	now := e.now()
	inc := &store.Incident{
		ID:        id,
		DedupKey:  a.DedupKey(),
		Alarm:     *a,
		State:     store.IncidentOpen,
		CreatedAt: now,
		UpdatedAt: now,
		ExpiresAt: now.Add(e.cfg.Retention),
	}
	suspects := onceSuspects(e.findSuspects(ctx, id, a, pols))
	evidence, followEvidence := e.gatherEvidence(ctx, a, pols)
	facts := func() policy.Facts {
		found, _ := suspects()
		return store.FactsOf(evidence(), found)
	}
	sw := e.readSwitch(ctx)
	tx := &store.Tx{Now: now, Incidents: []store.IncidentWrite{{Incident: inc, Create: true}}}
	tx.Audit = append(tx.Audit, store.AuditEntry{Incident: id, Event: "incident.opened", Who: Who,
		Why: fmt.Sprintf("alarm %s in ALARM at %s (via %s): %s", a.Name, a.Timestamp.UTC().Format(time.RFC3339), routeName(a.Route), a.Reason)})
	var props []*store.Proposal
	for _, pol := range pols {
		inc.Policies = append(inc.Policies, pol.Name)
		if inc.Channel == "" {
			inc.Channel = pol.SlackChannel
		}
		if len(pol.Steps) == 0 {
			continue
		}
		index, skipped := firstStep(pol, facts)
		if index < 0 {
			tx.Audit = append(tx.Audit, store.AuditEntry{Incident: id, Event: "policy.skipped", Who: Who,
				Why: "policy " + pol.Name + ": no step's when: conditions hold: " + strings.Join(skipped, "; ")})
			continue
		}
		p := e.propose(ctx, inc, pol, index, sw)
		p.Skipped = skipped
		props = append(props, p)
		tx.Proposals = append(tx.Proposals, store.ProposalWrite{Proposal: p, Create: true})
		tx.Audit = append(tx.Audit, createdAudit(p))
	}
	inc.Suspects, inc.SuspectsNote = suspects()
	inc.Evidence = evidence()
	if entry, ok := evidenceAudit(id, "evidence.gathered", inc.Evidence); ok {
		tx.Audit = append(tx.Audit, entry)
	}
	// What the new incident owes: its card, then what each proposal waits
	// for (its execution, its expiry or the ladder's next step).
	e.oweCard(tx, NoticeOpened, id, "", "alarm "+a.Name+" in ALARM", false)
	for _, p := range props {
		e.oweNext(tx, inc, p)
	}
	if err := e.commit(ctx, tx); err != nil {
		if errors.Is(err, store.ErrExists) {
			// Another delivery of the same state change won the race.
			winner, rerr := e.deps.Store.Incident(ctx, id)
			if rerr != nil {
				return Outcome{Duplicate: true}, nil
			}
			return Outcome{Incident: winner, Duplicate: true}, nil
		}
		return Outcome{}, fmt.Errorf("handle alarm %s: record incident: %w", a.Name, err)
	}
	followEvidence(id)
	e.log.InfoContext(ctx, "incident opened", slog.String("incident", id), slog.String("alarm", a.Name), slog.Int("proposals", len(props)))
	return Outcome{Incident: inc, Proposals: props}, nil
}

func routeName(r alarm.Route) string {
	if r == "" {
		return "unknown route"
	}
	return string(r)
}

func createdAudit(p *store.Proposal) store.AuditEntry {
	why := p.Reason
	if len(p.Warnings) > 0 {
		why = strings.TrimPrefix(why+"; warnings: "+strings.Join(p.Warnings, "; "), "; ")
	}
	if len(p.Skipped) > 0 {
		why = strings.TrimPrefix(why+"; "+strings.Join(p.Skipped, "; "), "; ")
	}
	return store.AuditEntry{Incident: p.Incident, Proposal: p.ID, Event: "proposal.created", To: p.State, Who: Who,
		Why: why, Plan: p.Plan, Error: p.PlanError}
}

// propose builds the proposal for step index of pol: it renders the
// parameters, asks the action for a plan and applies the guardrails that
// can be judged now. Failures are recorded on the proposal, never returned.
func (e *Engine) propose(ctx context.Context, inc *store.Incident, pol *policy.Policy, index int, sw switchState) *store.Proposal {
	step := pol.Steps[index]
	now := e.now()
	p := &store.Proposal{
		ID:              store.ProposalID(inc.ID, pol.Name, index),
		Incident:        inc.ID,
		Policy:          pol.Name,
		Step:            index,
		Action:          step.Action,
		Approval:        step.Approval,
		Approvers:       stepApprovers(pol, step),
		Quorum:          step.Quorum,
		Cooldown:        pol.Cooldown,
		MaxPerHour:      e.policyCap(pol.MaxPerHour),
		OnRecovery:      pol.OnRecovery,
		CreatedAt:       now,
		UpdatedAt:       now,
		RecordExpiresAt: now.Add(e.cfg.Retention),
	}
	a := &inc.Alarm
	var refusal string
	if e.cfg.Scope != nil {
		refusal = e.cfg.Scope.Refusal(a)
	}
	if params, err := e.deps.Render(step, a); err != nil {
		p.PlanError = "render parameters: " + err.Error()
	} else {
		p.Params = params
		if refusal != "" {
			// Planning would read the home region's resources of the same
			// name and show them as the alarm's.
		} else if act, ok := e.deps.Actions.Get(step.Action); !ok {
			p.PlanError = fmt.Sprintf("unknown action %q", step.Action)
		} else if plan, err := act.Plan(ctx, a, params); err != nil {
			p.PlanError = "plan: " + err.Error()
		} else if plan == nil || plan.Target == "" {
			p.PlanError = "plan: the action named no target to lock"
		} else {
			p.Plan = plan
		}
	}
	var guards []string
	if refusal != "" {
		guards = []string{refusal}
	} else if p.PlanError == "" {
		guards = e.guardrails(ctx, p, sw)
	}
	switch {
	case step.Approval == policy.ApprovalShadow:
		p.State = store.StateShadow
		switch {
		case refusal != "":
			p.Reason = "shadow: would have been blocked: " + refusal
		case p.PlanError != "":
			p.Reason = "shadow: would have run " + p.Action + ", but " + p.PlanError
		case len(guards) > 0:
			p.Reason = "shadow: would have been blocked: " + strings.Join(guards, "; ")
		default:
			p.Reason = "shadow: would have run: " + p.Plan.Summary
		}
	case refusal != "":
		p.State = store.StateBlocked
		p.Reason = refusal
	case p.PlanError != "":
		p.State = store.StateBlocked
		p.Reason = "cannot plan: " + p.PlanError
	case step.Approval == policy.ApprovalAuto && p.Plan.Hold == "":
		if len(guards) > 0 {
			p.State = store.StateBlocked
			p.Reason = strings.Join(guards, "; ")
		} else {
			p.State = store.StateApproved
			p.DecidedBy = Who
			p.Reason = "auto-approved by policy " + pol.Name
		}
	default:
		if p.Plan.Hold != "" {
			// The plan itself says a person must decide (an auto step is
			// held for approval by the approvers who could undo it).
			p.Approval = policy.ApprovalRequired
			guards = append([]string{p.Plan.Hold}, guards...)
		}
		p.State = store.StateProposed
		p.Warnings = guards
		p.ExpiresAt = now.Add(e.expiry(step.Expires))
	}
	return p
}

// expiry is how long a step waits for approval: its own Expires or the
// default.
func (e *Engine) expiry(d time.Duration) time.Duration {
	if d <= 0 {
		return e.cfg.DefaultExpires
	}
	return d
}

// stepApprovers returns who may decide on a step: its own approvers, or
// for an auto step (which has none) the policy's approvers and those of its
// other steps, so that the policy's on-call people can undo it from the
// card. Shadow steps never run and get none.
func stepApprovers(pol *policy.Policy, step *policy.Step) []string {
	if len(step.Approvers) > 0 || step.Approval != policy.ApprovalAuto {
		return append([]string(nil), step.Approvers...)
	}
	var out []string
	add := func(ids []string) {
		for _, id := range ids {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	add(pol.Approvers)
	for _, st := range pol.Steps {
		add(st.Approvers)
	}
	return out
}

func (e *Engine) policyCap(n int) int {
	if n > 0 {
		return n
	}
	return e.cfg.PolicyMaxPerHour
}

// guardrails lists what would stop p executing now. A guardrail that cannot
// be read counts as stopping it (fail closed). The claim re-checks all of
// them atomically before anything runs.
func (e *Engine) guardrails(ctx context.Context, p *store.Proposal, sw switchState) []string {
	var out []string
	if r := sw.blocks(); r != "" {
		out = append(out, r)
	}
	now := e.now()
	cd, err := e.deps.Store.Cooldown(ctx, p.Policy, p.Target())
	switch {
	case err == nil && cd.Until.After(now):
		out = append(out, cooldownReason(cd))
	case err != nil && !errors.Is(err, store.ErrNotFound):
		out = append(out, "cooldown cannot be read, failing closed: "+err.Error())
	}
	if n, err := e.deps.Store.Counter(ctx, store.GlobalCounter(now)); err != nil {
		out = append(out, "global cap cannot be read, failing closed: "+err.Error())
	} else if n >= e.cfg.MaxPerHour {
		out = append(out, globalCapReason(e.cfg.MaxPerHour))
	}
	if n, err := e.deps.Store.Counter(ctx, store.PolicyCounter(p.Policy, now)); err != nil {
		out = append(out, "policy cap cannot be read, failing closed: "+err.Error())
	} else if n >= p.MaxPerHour {
		out = append(out, policyCapReason(p.Policy, p.MaxPerHour))
	}
	return out
}

func cooldownReason(cd *store.Cooldown) string {
	return fmt.Sprintf("cooldown: policy %s acted on %s recently; next allowed at %s", cd.Policy, cd.Target, cd.Until.UTC().Format(time.RFC3339))
}

func globalCapReason(n int) string {
	return fmt.Sprintf("global cap reached: %d executions this hour", n)
}

func policyCapReason(pol string, n int) string {
	return fmt.Sprintf("policy cap reached: %s ran %d times this hour", pol, n)
}

// repair handles a state change delivered again well after the first
// delivery: it relays whatever is still owed (the first delivery recorded
// the incident and its messages together; sending may have failed).
func (e *Engine) repair(ctx context.Context, inc *store.Incident) error {
	if inc.State != store.IncidentOpen || e.now().Sub(inc.CreatedAt) < e.cfg.RepairAfter {
		return nil
	}
	if _, err := e.Relay(ctx); err != nil {
		return fmt.Errorf("repair incident %s: %w", inc.ID, err)
	}
	return nil
}
