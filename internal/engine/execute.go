package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/killswitch"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// errGone means the proposal moved on under us: somebody else decided.
var errGone = errors.New("proposal moved on")

// errNoChange means a transition's change found nothing to write.
var errNoChange = errors.New("nothing to change")

// transition moves a proposal from its current state with change applied,
// retrying from a fresh read on conflicts. want lists the states it may
// move from; when the proposal is elsewhere it returns errGone. extra adds
// the other writes of the same transaction.
func (e *Engine) transition(ctx context.Context, id string, want []store.State, who string,
	change func(p *store.Proposal, now time.Time) (why string, ok bool), extra func(tx *store.Tx, p *store.Proposal)) (*store.Proposal, error) {
	for attempt := 0; ; attempt++ {
		p, err := e.deps.Store.Proposal(ctx, id)
		if err != nil {
			return nil, err
		}
		wanted := false
		for _, s := range want {
			wanted = wanted || p.State == s
		}
		if !wanted {
			return p, errGone
		}
		from := p.State
		now := e.now()
		p.UpdatedAt = now
		why, ok := change(p, now)
		if !ok {
			return p, errNoChange
		}
		tx := &store.Tx{Now: now, Proposals: []store.ProposalWrite{{Proposal: p, From: from}}}
		a := transitionAudit(p, from, who, why)
		a.Result, a.Error = p.Result, p.Error
		if p.State == store.StateUndone || p.State == store.StateUndoFailed {
			a.Result = p.UndoResult
		}
		tx.Audit = append(tx.Audit, a)
		if extra != nil {
			extra(tx, p)
		}
		err = e.commit(ctx, tx)
		if err == nil {
			return p, nil
		}
		var ce *store.ConflictError
		if !errors.As(err, &ce) || (ce.Kind != store.KindProposal && !ce.Transient) || attempt >= maxAttempts {
			return p, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// block ends a waiting proposal as BLOCKED with reason, shows it and lets
// the ladder move on.
func (e *Engine) block(ctx context.Context, inc *store.Incident, id string, reason string) error {
	return e.end(ctx, inc, id, store.StateBlocked, reason)
}

// end moves a waiting or APPROVED proposal to a final state, owing the
// card update and the ladder's next step.
func (e *Engine) end(ctx context.Context, inc *store.Incident, id string, to store.State, reason string) error {
	_, err := e.transition(ctx, id, []store.State{store.StateProposed, store.StateReplanned, store.StateApproved}, Who,
		func(p *store.Proposal, _ time.Time) (string, bool) {
			p.State, p.Reason = to, reason
			return reason, true
		},
		func(tx *store.Tx, p *store.Proposal) {
			e.oweUpdate(tx, inc, p, fmt.Sprintf("step %d of %s: %s: %s", p.Step+1, p.Policy, to, reason))
		})
	if errors.Is(err, errGone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark %s %s: %w", id, to, err)
	}
	e.log.InfoContext(ctx, "proposal ended", slog.String("proposal", id), slog.String("state", string(to)), slog.String("reason", reason))
	return nil
}

// oweUpdate adds to tx the card update about p and what p waits for next.
func (e *Engine) oweUpdate(tx *store.Tx, inc *store.Incident, p *store.Proposal, summary string) {
	e.oweCard(tx, NoticeUpdated, p.Incident, p.ID, summary, false)
	e.oweNext(tx, inc, p)
}

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

// finishedAfterRecovery handles a step that finished after its incident was
// resolved: resolve saw it running, so it neither undid it nor showed its
// result. It queues the undo the policy asks for on recovery and owes the
// recovery timeline again, now with the late result.
func (e *Engine) finishedAfterRecovery(ctx context.Context, inc *store.Incident, p *store.Proposal) error {
	e.log.InfoContext(ctx, "step finished after the alarm recovered", slog.String("proposal", p.ID), slog.String("state", string(p.State)))
	err := e.queueRecoveryUndo(ctx, inc, p)
	tx := &store.Tx{Now: e.now()}
	e.oweCard(tx, NoticeRecovered, inc.ID, p.ID, outcomeSummary(p)+" (finished after the alarm recovered)", true)
	if len(tx.Owed) > 0 {
		if cerr := e.commit(ctx, tx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("owe the recovery summary of %s: %w", inc.ID, cerr))
		}
	}
	return err
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

// apply runs the action's Apply, turning a panic-free failure into an
// error.
func (e *Engine) apply(ctx context.Context, p *store.Proposal) (*remediations.Result, error) {
	act, ok := e.deps.Actions.Get(p.Action)
	if !ok {
		return nil, fmt.Errorf("unknown action %q", p.Action)
	}
	if p.Plan == nil {
		return nil, errors.New("no plan")
	}
	return act.Apply(ctx, p.Plan)
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
	var warn string
	if e.deps.AlarmState == nil {
		warn = "the alarm's current state cannot be read (no reader)"
	} else if state, err := e.deps.AlarmState.AlarmState(ctx, &inc.Alarm); err != nil {
		warn = "the alarm's current state cannot be read: " + err.Error()
	} else if state != alarm.StateAlarm {
		return e.stopLadder(ctx, inc, prev, fmt.Sprintf("alarm is %s now", state))
	}
	p := e.propose(ctx, inc, pol, index, e.readSwitch(ctx))
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

func (e *Engine) undoer(action string) remediations.Undoer {
	act, ok := e.deps.Actions.Get(action)
	if !ok {
		return nil
	}
	u, _ := act.(remediations.Undoer)
	return u
}

// undo reverses a SUCCEEDED step: claim (SUCCEEDED -> UNDOING with the
// target's lock), Undo, record.
func (e *Engine) undo(ctx context.Context, m Message) error {
	p, err := e.deps.Store.Proposal(ctx, m.Proposal)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("undo %s: %w", m.Proposal, err)
	}
	if p.State != store.StateSucceeded {
		return nil
	}
	inc, err := e.deps.Store.Incident(ctx, p.Incident)
	if err != nil {
		return fmt.Errorf("undo %s: read incident: %w", p.ID, err)
	}
	who := m.By
	if who == "" {
		who = Who
	}
	u := e.undoer(p.Action)
	if u == nil || p.Result == nil {
		return e.note(ctx, p, "undo.unavailable", who, "action "+p.Action+" cannot undo", "")
	}
	// Read right before the claim, which re-checks the stored switch
	// atomically.
	if r := e.readSwitch(ctx).blocks(); r != "" {
		return e.undoBlocked(ctx, inc, p, who, r)
	}
	lease := token()
	var conflict *store.ConflictError
	succeeded := p
	p, err = e.transition(ctx, p.ID, []store.State{store.StateSucceeded}, who,
		func(p *store.Proposal, now time.Time) (string, bool) {
			p.State = store.StateUndoing
			p.Lease = &store.Lease{Token: lease, Until: now.Add(e.cfg.Lease)}
			p.DecidedBy = who
			return "undoing " + p.Result.Summary, true
		},
		func(tx *store.Tx, p *store.Proposal) {
			tx.RequireNotPaused = true
			tx.Locks = []store.LockWrite{{Op: store.LockAcquire, Lock: store.Lock{Target: p.Target(), Holder: p.ID, LeaseUntil: p.Lease.Until}}}
		})
	switch {
	case errors.Is(err, errGone):
		return nil
	case errors.As(err, &conflict):
		return e.undoBlocked(ctx, inc, succeeded, who, e.conflictReason(ctx, succeeded, conflict))
	case err != nil:
		return fmt.Errorf("undo %s: claim: %w", m.Proposal, err)
	}
	res, undoErr := u.Undo(ctx, p.Result)
	p, err = e.transition(ctx, p.ID, []store.State{store.StateUndoing}, who,
		func(p *store.Proposal, now time.Time) (string, bool) {
			p.Lease = nil
			if undoErr != nil {
				p.State, p.Error = store.StateUndoFailed, undoErr.Error()
				return "undo failed: " + undoErr.Error(), true
			}
			p.State, p.UndoResult = store.StateUndone, res
			if res != nil {
				return "undone: " + res.Summary, true
			}
			return "undone", true
		},
		func(tx *store.Tx, p *store.Proposal) {
			tx.Locks = []store.LockWrite{{Op: store.LockRelease, Lock: store.Lock{Target: p.Target(), Holder: p.ID}}}
			e.oweCard(tx, NoticeUpdated, p.Incident, p.ID, fmt.Sprintf("step %d of %s %s", p.Step+1, p.Policy, p.State), false)
		})
	if errors.Is(err, errGone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("undo %s: record: %w", m.Proposal, err)
	}
	return nil
}

// undoBlocked records that p's undo was not run (it stays SUCCEEDED) and
// says so on the card: nobody else would learn that an undo on recovery
// did not happen.
func (e *Engine) undoBlocked(ctx context.Context, inc *store.Incident, p *store.Proposal, who, why string) error {
	return e.note(ctx, p, "undo.blocked", who, why, fmt.Sprintf("undo of step %d of %s not run: %s", p.Step+1, p.Policy, why))
}

// note records an audit entry about p without changing it and, with a
// summary, owes the card update saying so.
func (e *Engine) note(ctx context.Context, p *store.Proposal, event, who, why, summary string) error {
	e.log.InfoContext(ctx, event, slog.String("proposal", p.ID), slog.String("why", why))
	tx := &store.Tx{Now: e.now(), Audit: []store.AuditEntry{{
		Incident: p.Incident, Proposal: p.ID, Event: event, Who: who, Why: why}}}
	if summary != "" {
		e.oweCard(tx, NoticeUpdated, p.Incident, p.ID, summary, false)
	}
	if err := e.commit(ctx, tx); err != nil {
		return fmt.Errorf("record %s for %s: %w", event, p.ID, err)
	}
	return nil
}
