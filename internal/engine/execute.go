package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/killswitch"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// execute claims an APPROVED proposal and applies its plan.
func (e *Engine) execute(ctx context.Context, m Message) error {
	p, err := e.deps.Store.Proposal(ctx, m.Proposal)
	if errors.Is(err, store.ErrNotFound) {
		e.log.WarnContext(ctx, "execute: no such proposal", slog.String("proposal", m.Proposal))
		return nil
	}
	if err != nil {
		return fmt.Errorf("execute %s: %w", m.Proposal, err)
	}
	inc, err := e.deps.Store.Incident(ctx, p.Incident)
	if err != nil {
		return fmt.Errorf("execute %s: read incident: %w", p.ID, err)
	}
	switch p.State {
	case store.StateApproved:
	case store.StateSucceeded, store.StateFailed:
		// A repeated delivery: the result and what follows it were
		// recorded together; make sure the undo on recovery was queued.
		return e.queueRecoveryUndo(ctx, inc, p)
	default:
		return nil
	}
	if inc.State != store.IncidentOpen {
		return e.end(ctx, inc, p.ID, store.StateCancelled, "resolved before execution")
	}
	if e.deps.AlarmState == nil {
		return e.block(ctx, inc, p.ID, "the alarm's current state cannot be read (no reader), failing closed")
	}
	state, err := e.deps.AlarmState.AlarmState(ctx, &inc.Alarm)
	if err != nil {
		return e.block(ctx, inc, p.ID, "the alarm's current state cannot be read, failing closed: "+err.Error())
	}
	if state != alarm.StateAlarm {
		return e.end(ctx, inc, p.ID, store.StateCancelled, fmt.Sprintf("alarm is %s now; not executed", state))
	}
	// The kill switch is read last, after the slow checks, so that a pause
	// during them is seen (both sources; the SSM one cannot be part of a
	// transaction). The claim then re-checks the stored switch atomically:
	// a Pause committed after this read still stops it.
	if r := e.readSwitch(ctx).blocks(); r != "" {
		return e.block(ctx, inc, p.ID, r)
	}
	p, lease, err := e.claim(ctx, inc, p)
	if err != nil || p == nil {
		return err
	}
	res, applyErr := e.apply(ctx, p)
	var fresh *freshPlan
	if errors.Is(applyErr, remediations.ErrStalePlan) {
		fresh = e.replan(ctx, inc, p)
	}
	p, err = e.finish(ctx, inc, p, lease, res, applyErr, fresh)
	if err != nil || p.State == store.StateApproved || p.State == store.StateReplanned {
		// Re-planned after a stale plan: the new plan's execution (auto,
		// once) or its expiry was owed with it.
		return err
	}
	// The alarm may have recovered while the step ran. Read the incident
	// after recording the result: resolve reads the proposals after
	// recording the recovery, so one of the two sees the other (and
	// queueRecoveryUndo's key stops them both queuing the undo).
	cur, err := e.deps.Store.Incident(ctx, inc.ID)
	if err != nil {
		// A redelivery finds the result recorded and finishes from there.
		return fmt.Errorf("execute %s: read incident after the result: %w", p.ID, err)
	}
	if cur.State != store.IncidentOpen {
		return e.finishedAfterRecovery(ctx, cur, p)
	}
	return nil
}

// outcomeSummary is the thread's line about a finished execution.
func outcomeSummary(p *store.Proposal) string {
	if p.State == store.StateApproved || p.State == store.StateReplanned {
		return fmt.Sprintf("step %d of %s re-planned: %s", p.Step+1, p.Policy, p.Plan.Summary)
	}
	summary := fmt.Sprintf("step %d of %s %s", p.Step+1, p.Policy, p.State)
	if p.Result != nil {
		summary += ": " + p.Result.Summary
	} else if p.Error != "" {
		summary += ": " + p.Error
	}
	return summary
}

// claim moves p APPROVED -> EXECUTING together with the lock on its target,
// the cooldown check and the hour's caps, in one transaction. It returns
// nil when p was blocked or somebody else moved it.
func (e *Engine) claim(ctx context.Context, inc *store.Incident, p *store.Proposal) (*store.Proposal, string, error) {
	lease, id := token(), p.ID
	var conflict *store.ConflictError
	p, err := e.transition(ctx, id, []store.State{store.StateApproved}, Who,
		func(p *store.Proposal, now time.Time) (string, bool) {
			p.State = store.StateExecuting
			p.Lease = &store.Lease{Token: lease, Until: now.Add(e.cfg.Lease)}
			p.Reason = ""
			return "executing " + p.Plan.Summary, true
		},
		func(tx *store.Tx, p *store.Proposal) {
			now := tx.Now
			tx.RequireNotPaused = true
			tx.Locks = []store.LockWrite{{Op: store.LockAcquire, Lock: store.Lock{Target: p.Target(), Holder: p.ID, LeaseUntil: p.Lease.Until}}}
			tx.Cooldowns = []store.CooldownWrite{{Cooldown: store.Cooldown{Policy: p.Policy, Target: p.Target()}, CheckOnly: true}}
			tx.Counters = []store.CounterWrite{
				{Key: store.GlobalCounter(now), Limit: e.cfg.MaxPerHour, ExpiresAt: store.HourEnd(now).Add(24 * time.Hour)},
				{Key: store.PolicyCounter(p.Policy, now), Limit: e.policyCap(p.MaxPerHour), ExpiresAt: store.HourEnd(now).Add(24 * time.Hour)},
			}
		})
	switch {
	case err == nil:
		return p, lease, nil
	case errors.Is(err, errGone):
		return nil, "", nil
	case errors.As(err, &conflict):
		return nil, "", e.block(ctx, inc, id, e.conflictReason(ctx, p, conflict))
	}
	return nil, "", fmt.Errorf("claim %s: %w", id, err)
}

// conflictReason explains a failed guardrail of a claim.
func (e *Engine) conflictReason(ctx context.Context, p *store.Proposal, c *store.ConflictError) string {
	switch c.Kind {
	case store.KindLock:
		if l, err := e.deps.Store.Lock(ctx, c.Key); err == nil {
			return fmt.Sprintf("locked: another remediation (%s) is running on %s", l.Holder, c.Key)
		}
		return "locked: another remediation is running on " + c.Key
	case store.KindCooldown:
		if cd, err := e.deps.Store.Cooldown(ctx, p.Policy, p.Target()); err == nil {
			return cooldownReason(cd)
		}
		return fmt.Sprintf("cooldown: policy %s acted on %s recently", p.Policy, p.Target())
	case store.KindCounter:
		if c.Key == store.GlobalCounter(e.now()) {
			return globalCapReason(e.cfg.MaxPerHour)
		}
		return policyCapReason(p.Policy, e.policyCap(p.MaxPerHour))
	case store.KindSwitch:
		// Paused after the switch was read: say by whom, as the read would.
		if sw, err := e.deps.Store.Switch(ctx); err == nil && sw.Paused {
			return switchState{st: killswitch.State{Paused: true, By: sw.By, Why: sw.Why, At: sw.At}}.blocks()
		}
		return "medic is paused"
	}
	return "guardrail: " + c.Error()
}

// apply runs the action's Apply. A panic in Apply becomes its error (see
// recovered): the step ends FAILED with the panic in its error and audit,
// its lock released and its cooldown started (what it changed is unknown).
func (e *Engine) apply(ctx context.Context, p *store.Proposal) (res *remediations.Result, err error) {
	act, ok := e.deps.Actions.Get(p.Action)
	if !ok {
		return nil, fmt.Errorf("unknown action %q", p.Action)
	}
	if p.Plan == nil {
		return nil, errors.New("no plan")
	}
	defer e.recovered(ctx, &err, p, "apply")
	return act.Apply(ctx, p.Plan)
}

// errPanicked marks the error of a remediation that panicked.
var errPanicked = errors.New("panicked")

// recovered, deferred by the caller of a remediation's Apply or Undo, turns
// a panic into *err, so that a bug in one action ends its step FAILED (or
// UNDO_FAILED) with the panic on record instead of killing the executor
// with the step left EXECUTING for the sweep (and the rest of its batch
// undelivered). The stack goes to the log only.
func (e *Engine) recovered(ctx context.Context, err *error, p *store.Proposal, doing string) {
	r := recover()
	if r == nil {
		return
	}
	*err = fmt.Errorf("%s %s of %s %w: %v", p.Action, doing, p.Target(), errPanicked, r)
	e.log.ErrorContext(ctx, "remediation panicked", slog.String("proposal", p.ID), slog.String("action", p.Action),
		slog.String("doing", doing), slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
}

// freshPlan is the outcome of planning a step again after its plan went
// stale: a new plan, or why there is none.
type freshPlan struct {
	plan *remediations.Plan
	err  error
}

// replan asks p's action for a new plan from the current state, with the
// same rendered parameters (so within the step's own bounds).
func (e *Engine) replan(ctx context.Context, inc *store.Incident, p *store.Proposal) *freshPlan {
	act, ok := e.deps.Actions.Get(p.Action)
	if !ok {
		return &freshPlan{err: fmt.Errorf("unknown action %q", p.Action)}
	}
	plan, err := act.Plan(ctx, &inc.Alarm, p.Params)
	switch {
	case err != nil:
		return &freshPlan{err: err}
	case plan == nil || plan.Target == "":
		return &freshPlan{err: errors.New("the action named no target to lock")}
	case plan.Target != p.Target():
		return &freshPlan{err: fmt.Errorf("the new plan targets %s, not %s", plan.Target, p.Target())}
	}
	return &freshPlan{plan: plan}
}

// notApplied reports whether an Apply error means nothing was changed.
func notApplied(err error) bool {
	return errors.Is(err, remediations.ErrStalePlan) || errors.Is(err, remediations.ErrNotApplied)
}

// finish records the outcome of an execution, releases the lock and sets
// the cooldown (unless nothing was applied), in one transaction. A stale
// plan with a fresh one moves the step to APPROVED (an auto step's first
// re-plan) or REPLANNED (waiting for approval of the new plan). It records
// the outcome even when the proposal was marked NeedsHuman meanwhile: the
// human wants to know.
func (e *Engine) finish(ctx context.Context, inc *store.Incident, p *store.Proposal, lease string, res *remediations.Result, applyErr error, fresh *freshPlan) (*store.Proposal, error) {
	dropLock := false
	for attempt := 0; ; attempt++ {
		var why string
		replanned := false
		q, err := e.transition(ctx, p.ID, []store.State{store.StateExecuting}, Who,
			func(q *store.Proposal, now time.Time) (string, bool) {
				q.Lease = nil
				switch {
				case applyErr == nil:
					q.State, q.Result, q.Reason = store.StateSucceeded, res, ""
					why = "applied"
					if res != nil {
						why = "applied: " + res.Summary
					}
				case errors.Is(applyErr, remediations.ErrStalePlan) && fresh != nil && fresh.plan != nil && !q.NeedsHuman:
					replanned = true
					why = e.replanned(q, fresh.plan, applyErr, now)
				case errors.Is(applyErr, remediations.ErrStalePlan):
					q.State, q.Error = store.StateFailed, applyErr.Error()
					q.Reason = "stale plan: what the plan was made from has changed; nothing was applied"
					if fresh != nil && fresh.err != nil {
						q.Reason += "; planning again failed: " + fresh.err.Error()
					}
					why = q.Reason
				default:
					q.State, q.Error, q.Reason = store.StateFailed, applyErr.Error(), "apply failed"
					why = "apply failed: " + applyErr.Error()
				}
				if q.NeedsHuman {
					why += " (finished after its lease ran out)"
				}
				return why, true
			},
			func(tx *store.Tx, q *store.Proposal) {
				if !dropLock {
					tx.Locks = []store.LockWrite{{Op: store.LockRelease, Lock: store.Lock{Target: q.Target(), Holder: q.ID}}}
				}
				if replanned {
					tx.Audit[0].Event = "proposal.replanned"
				}
				if q.Cooldown > 0 && !notApplied(applyErr) {
					tx.Cooldowns = []store.CooldownWrite{{Cooldown: store.Cooldown{Policy: q.Policy, Target: q.Target(), Until: tx.Now.Add(q.Cooldown)}}}
				}
				e.oweUpdate(tx, inc, q, outcomeSummary(q))
				e.oweWatch(tx, q)
			})
		var ce *store.ConflictError
		switch {
		case err == nil:
			e.log.InfoContext(ctx, "proposal executed", slog.String("proposal", q.ID), slog.String("state", string(q.State)))
			return q, nil
		case errors.Is(err, errGone):
			e.log.ErrorContext(ctx, "execution finished but the proposal moved on", slog.String("proposal", p.ID),
				slog.String("state", string(q.State)), slog.String("lease", lease), slog.Any("apply_error", applyErr))
			return q, nil
		case errors.As(err, &ce) && ce.Kind == store.KindLock && !dropLock && attempt < 2:
			// The lock was taken over after our lease ran out.
			dropLock = true
			continue
		}
		return nil, fmt.Errorf("record execution of %s: %w", p.ID, err)
	}
}

// replanned puts plan in place of q's stale one: an auto step that has not
// been re-planned before runs it once (APPROVED); otherwise the new plan
// waits for approval (REPLANNED), with the votes for the old plan dropped.
// It returns the audit text saying what changed between the plans.
func (e *Engine) replanned(q *store.Proposal, plan *remediations.Plan, staleErr error, now time.Time) string {
	diff := planDiff(q.Plan, plan)
	q.StalePlan, q.Plan = q.Plan, plan
	q.Replans++
	q.Error = staleErr.Error()
	if q.Approval == policy.ApprovalAuto && q.Replans == 1 && plan.Hold == "" {
		q.State = store.StateApproved
		q.Reason = "the plan went stale before it was applied (nothing was applied); running the new plan once"
		return "re-planned, running the new plan once: " + diff
	}
	window := q.ExpiresAt.Sub(q.CreatedAt)
	if q.ExpiresAt.IsZero() || window <= 0 {
		window = e.cfg.DefaultExpires
	}
	q.State = store.StateReplanned
	q.Approval = policy.ApprovalRequired
	q.Votes = nil
	q.ExpiresAt = now.Add(window)
	q.Reason = "the approved plan went stale before it was applied (nothing was applied); approve the new plan"
	if plan.Hold != "" {
		q.Warnings = append(q.Warnings, plan.Hold)
	}
	return "re-planned, waiting for approval of the new plan: " + diff
}

// planDiff says in words what changed between two plans of one step.
func planDiff(old, cur *remediations.Plan) string {
	if old == nil || cur == nil {
		return "no earlier plan"
	}
	was := map[string]remediations.Change{}
	for _, c := range old.Changes {
		was[c.Resource+"\x00"+c.Field] = c
	}
	var parts []string
	for _, c := range cur.Changes {
		k := c.Resource + "\x00" + c.Field
		if o, ok := was[k]; ok {
			delete(was, k)
			if o.From != c.From || o.To != c.To {
				parts = append(parts, fmt.Sprintf("%s %s: %s -> %s became %s -> %s", c.Resource, c.Field, o.From, o.To, c.From, c.To))
			}
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s: now also %s -> %s", c.Resource, c.Field, c.From, c.To))
	}
	for _, c := range old.Changes {
		if _, gone := was[c.Resource+"\x00"+c.Field]; gone {
			parts = append(parts, fmt.Sprintf("%s %s: %s -> %s no longer planned", c.Resource, c.Field, c.From, c.To))
		}
	}
	text := fmt.Sprintf("was %q, now %q", old.Summary, cur.Summary)
	if len(parts) > 0 {
		text += " (" + strings.Join(parts, "; ") + ")"
	}
	return text
}
