// Package storetest is the conformance suite every store.Store
// implementation passes: the same conditions, the same atomicity, the same
// answers, whether the records live in bbolt or DynamoDB.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"an incident is created once and read back", testIncidentCreate},
		{"an expired incident reads as missing and can be created again", testIncidentExpired},
		{"incident updates are conditional on the version", testIncidentUpdate},
		{"incidents are listed by alarm, oldest first", testIncidentsByAlarm},
		{"proposals move only by allowed, conditional transitions", testProposalTransitions},
		{"proposals are listed by policy and step", testProposalsOrder},
		{"a failed condition writes nothing, not even the audit", testAtomicity},
		{"locks are exclusive, released by their holder, taken over only when stale", testLocks},
		{"cooldowns block until they pass", testCooldowns},
		{"counters stop at their limit", testCounters},
		{"the kill switch is stored", testSwitch},
		{"a paused kill switch fails a Tx that requires it off, writing nothing", testRequireNotPaused},
		{"concurrent claims and a pause: no claim commits after the pause", testConcurrentClaimsAndPause},
		{"audit entries are queried by incident and by time", testAudit},
		{"concurrent creations of one incident: one wins", testConcurrentCreate},
		{"concurrent transitions of one proposal: one wins", testConcurrentTransition},
		{"owed messages are written with the change that owes them, listed oldest first, updated conditionally and deleted", testOwed},
		{"a failed condition writes no owed message", testOwedAtomicity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var ctx = context.Background()

// base is a fixed time near now, so record TTLs behave like in production.
func base() time.Time { return time.Now().UTC().Truncate(time.Second) }

func newIncident(arn string, ts time.Time) *store.Incident {
	a := alarm.Alarm{Name: "checkout-5xx", ARN: arn, State: alarm.StateAlarm, Timestamp: ts}
	now := base()
	return &store.Incident{
		ID:        store.IncidentID(a.DedupKey()),
		DedupKey:  a.DedupKey(),
		Alarm:     a,
		Policies:  []string{"checkout"},
		State:     store.IncidentOpen,
		CreatedAt: now,
		UpdatedAt: now,
		ExpiresAt: now.Add(24 * time.Hour),
	}
}

func newProposal(inc *store.Incident, pol string, step int, state store.State) *store.Proposal {
	now := base()
	return &store.Proposal{
		ID:        store.ProposalID(inc.ID, pol, step),
		Incident:  inc.ID,
		Policy:    pol,
		Step:      step,
		Action:    "ecs.scale",
		Params:    remediations.Params{"min": float64(2)},
		Plan:      &remediations.Plan{Action: "ecs.scale", Target: "ecs:prod/checkout", Summary: "desired 4 -> 6"},
		Approval:  policy.ApprovalRequired,
		Approvers: []string{"U1", "U2"},
		Quorum:    2,
		State:     state,
		CreatedAt: now,
		UpdatedAt: now,
		// RecordExpiresAt a day away.
		RecordExpiresAt: now.Add(24 * time.Hour),
	}
}

const arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx"

func mustCommit(t *testing.T, s store.Store, tx *store.Tx) {
	t.Helper()
	if tx.Now.IsZero() {
		tx.Now = base()
	}
	if err := s.Commit(ctx, tx); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func wantConflict(t *testing.T, err error, kind string, exists bool) {
	t.Helper()
	var ce *store.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *store.ConflictError (%s), got %v", kind, err)
	}
	if ce.Kind != kind || ce.Exists != exists {
		t.Fatalf("want conflict on %s (exists=%v), got %+v", kind, exists, ce)
	}
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("errors.Is(%v, ErrConflict) = false", err)
	}
	if exists != errors.Is(err, store.ErrExists) {
		t.Fatalf("errors.Is(%v, ErrExists) = %v, want %v", err, !exists, exists)
	}
}

func createIncident(t *testing.T, s store.Store, inc *store.Incident, props ...*store.Proposal) {
	t.Helper()
	tx := &store.Tx{Now: base(), Incidents: []store.IncidentWrite{{Incident: inc, Create: true}}}
	for _, p := range props {
		tx.Proposals = append(tx.Proposals, store.ProposalWrite{Proposal: p, Create: true})
	}
	tx.Audit = []store.AuditEntry{{Incident: inc.ID, Event: "incident.opened", Who: "medic"}}
	mustCommit(t, s, tx)
}

func testIncidentCreate(t *testing.T, s store.Store) {
	inc := newIncident(arn, base().Add(-time.Minute))
	p := newProposal(inc, "checkout", 0, store.StateProposed)
	createIncident(t, s, inc, p)
	if inc.Version != 1 || p.Version != 1 {
		t.Fatalf("versions after create: incident %d, proposal %d; want 1, 1", inc.Version, p.Version)
	}
	got, err := s.Incident(ctx, inc.ID)
	if err != nil {
		t.Fatalf("read incident: %v", err)
	}
	if got.DedupKey != inc.DedupKey || got.Version != 1 || got.Alarm.ARN != arn || !got.Alarm.Timestamp.Equal(inc.Alarm.Timestamp) {
		t.Fatalf("incident read back as %+v", got)
	}
	again := newIncident(arn, inc.Alarm.Timestamp)
	err = s.Commit(ctx, &store.Tx{Now: base(), Incidents: []store.IncidentWrite{{Incident: again, Create: true}},
		Audit: []store.AuditEntry{{Event: "incident.opened", Who: "medic", Incident: again.ID}}})
	wantConflict(t, err, store.KindIncident, true)
	if _, err := s.Incident(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing incident: want ErrNotFound, got %v", err)
	}
	gp, err := s.Proposal(ctx, p.ID)
	if err != nil {
		t.Fatalf("read proposal: %v", err)
	}
	if gp.Plan == nil || gp.Plan.Summary != "desired 4 -> 6" || gp.Quorum != 2 || gp.Params["min"] != float64(2) {
		t.Fatalf("proposal read back as %+v", gp)
	}
	if _, err := s.Proposal(ctx, store.ProposalID(inc.ID, "checkout", 5)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing proposal: want ErrNotFound, got %v", err)
	}
}

func testIncidentExpired(t *testing.T, s store.Store) {
	old := newIncident(arn, base().Add(-72*time.Hour))
	old.ExpiresAt = base().Add(-time.Hour)
	createIncident(t, s, old)
	if _, err := s.Incident(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired incident: want ErrNotFound, got %v", err)
	}
	list, err := s.IncidentsByAlarm(ctx, arn)
	if err != nil || len(list) != 0 {
		t.Fatalf("expired incidents by alarm: %v, %v", list, err)
	}
	again := newIncident(arn, old.Alarm.Timestamp)
	createIncident(t, s, again)
	if _, err := s.Incident(ctx, again.ID); err != nil {
		t.Fatalf("re-created incident: %v", err)
	}
}

func testIncidentUpdate(t *testing.T, s store.Store) {
	inc := newIncident(arn, base())
	createIncident(t, s, inc)
	stale := inc.Clone()
	inc.Message = store.MessageRef{Channel: "C1", TS: "1.2"}
	mustCommit(t, s, &store.Tx{Incidents: []store.IncidentWrite{{Incident: inc}}})
	if inc.Version != 2 {
		t.Fatalf("version after update = %d, want 2", inc.Version)
	}
	stale.State = store.IncidentResolved
	err := s.Commit(ctx, &store.Tx{Now: base(), Incidents: []store.IncidentWrite{{Incident: stale}}})
	wantConflict(t, err, store.KindIncident, false)
	got, _ := s.Incident(ctx, inc.ID)
	if got.State != store.IncidentOpen || got.Message.TS != "1.2" {
		t.Fatalf("incident after a stale update: %+v", got)
	}
}

func testIncidentsByAlarm(t *testing.T, s store.Store) {
	t2 := newIncident(arn, base().Add(-time.Minute))
	t1 := newIncident(arn, base().Add(-time.Hour))
	other := newIncident(arn+"-other", base())
	for _, inc := range []*store.Incident{t2, t1, other} {
		createIncident(t, s, inc)
	}
	list, err := s.IncidentsByAlarm(ctx, arn)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list) != 2 || list[0].ID != t1.ID || list[1].ID != t2.ID {
		t.Fatalf("incidents by alarm = %v, want [%s %s]", ids(list), t1.ID, t2.ID)
	}
}

func ids(list []*store.Incident) []string {
	var out []string
	for _, i := range list {
		out = append(out, i.ID)
	}
	return out
}

func testProposalTransitions(t *testing.T, s store.Store) {
	inc := newIncident(arn, base())
	p := newProposal(inc, "checkout", 0, store.StateProposed)
	createIncident(t, s, inc, p)

	// A vote rewrites PROPOSED in place.
	p.Votes = append(p.Votes, store.Vote{User: "U1", At: base()})
	mustCommit(t, s, &store.Tx{Proposals: []store.ProposalWrite{{Proposal: p, From: store.StateProposed}}})

	// A stale version conflicts.
	stale := p.Clone()
	stale.Version--
	stale.State = store.StateApproved
	err := s.Commit(ctx, &store.Tx{Now: base(), Proposals: []store.ProposalWrite{{Proposal: stale, From: store.StateProposed}}})
	wantConflict(t, err, store.KindProposal, false)

	// A wrong from-state conflicts.
	wrong := p.Clone()
	wrong.State = store.StateExecuting
	err = s.Commit(ctx, &store.Tx{Now: base(), Proposals: []store.ProposalWrite{{Proposal: wrong, From: store.StateApproved}}})
	wantConflict(t, err, store.KindProposal, false)

	// A transition the state machine forbids is invalid, not a conflict.
	bad := p.Clone()
	bad.State = store.StateSucceeded
	err = s.Commit(ctx, &store.Tx{Now: base(), Proposals: []store.ProposalWrite{{Proposal: bad, From: store.StateProposed}}})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("PROPOSED -> SUCCEEDED: want ErrInvalid, got %v", err)
	}

	for _, step := range []struct{ from, to store.State }{
		{store.StateProposed, store.StateApproved},
		{store.StateApproved, store.StateExecuting},
		{store.StateExecuting, store.StateSucceeded},
		{store.StateSucceeded, store.StateUndoing},
		{store.StateUndoing, store.StateUndone},
	} {
		p.State = step.to
		mustCommit(t, s, &store.Tx{Proposals: []store.ProposalWrite{{Proposal: p, From: step.from}},
			Audit: []store.AuditEntry{{Incident: inc.ID, Proposal: p.ID, Event: "proposal.transition", From: step.from, To: step.to, Who: "medic"}}})
	}
	got, err := s.Proposal(ctx, p.ID)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if got.State != store.StateUndone || got.Version != p.Version || len(got.Votes) != 1 {
		t.Fatalf("proposal after transitions: state %s version %d (want %d) votes %v", got.State, got.Version, p.Version, got.Votes)
	}
	dup := newProposal(inc, "checkout", 0, store.StateProposed)
	err = s.Commit(ctx, &store.Tx{Now: base(), Proposals: []store.ProposalWrite{{Proposal: dup, Create: true}}})
	wantConflict(t, err, store.KindProposal, true)
}

func testProposalsOrder(t *testing.T, s store.Store) {
	inc := newIncident(arn, base())
	createIncident(t, s, inc,
		newProposal(inc, "b", 0, store.StateProposed),
		newProposal(inc, "a", 10, store.StateProposed),
		newProposal(inc, "a", 2, store.StateBlocked))
	other := newIncident(arn, base().Add(time.Second))
	createIncident(t, s, other, newProposal(other, "a", 0, store.StateProposed))
	list, err := s.Proposals(ctx, inc.ID)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var got []string
	for _, p := range list {
		got = append(got, fmt.Sprintf("%s/%d", p.Policy, p.Step))
	}
	if fmt.Sprint(got) != "[a/2 a/10 b/0]" {
		t.Fatalf("proposals = %v, want [a/2 a/10 b/0]", got)
	}
}

func testAtomicity(t *testing.T, s store.Store) {
	inc := newIncident(arn, base())
	p := newProposal(inc, "checkout", 0, store.StateApproved)
	q := newProposal(inc, "other", 0, store.StateApproved)
	createIncident(t, s, inc, p, q)
	now := base()
	// q holds the lock on the target.
	mustCommit(t, s, &store.Tx{Locks: []store.LockWrite{{Op: store.LockAcquire, Lock: store.Lock{Target: "ecs:prod/checkout", Holder: q.ID, LeaseUntil: now.Add(time.Minute)}}}})
	before, _ := s.Audit(ctx, store.AuditQuery{Incident: inc.ID})

	claim := p.Clone()
	claim.State = store.StateExecuting
	err := s.Commit(ctx, &store.Tx{
		Now:       now,
		Proposals: []store.ProposalWrite{{Proposal: claim, From: store.StateApproved}},
		Counters:  []store.CounterWrite{{Key: store.GlobalCounter(now), Limit: 10, ExpiresAt: now.Add(2 * time.Hour)}},
		Cooldowns: []store.CooldownWrite{{Cooldown: store.Cooldown{Policy: "checkout", Target: "x", Until: now.Add(time.Hour)}}},
		Locks:     []store.LockWrite{{Op: store.LockAcquire, Lock: store.Lock{Target: "ecs:prod/checkout", Holder: p.ID, LeaseUntil: now.Add(time.Minute)}}},
		Switch:    &store.Switch{Paused: true, By: "U1"},
		Audit:     []store.AuditEntry{{Incident: inc.ID, Proposal: p.ID, Event: "proposal.executing", From: store.StateApproved, To: store.StateExecuting, Who: "medic"}},
	})
	wantConflict(t, err, store.KindLock, false)
	if claim.Version != p.Version {
		t.Fatalf("version changed on a failed commit: %d -> %d", p.Version, claim.Version)
	}
	got, _ := s.Proposal(ctx, p.ID)
	if got.State != store.StateApproved || got.Version != p.Version {
		t.Fatalf("proposal half-applied: %s v%d", got.State, got.Version)
	}
	if n, _ := s.Counter(ctx, store.GlobalCounter(now)); n != 0 {
		t.Fatalf("counter half-applied: %d", n)
	}
	if _, err := s.Cooldown(ctx, "checkout", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cooldown half-applied: %v", err)
	}
	if sw, _ := s.Switch(ctx); sw.Paused {
		t.Fatal("switch half-applied")
	}
	after, _ := s.Audit(ctx, store.AuditQuery{Incident: inc.ID})
	if len(after) != len(before) {
		t.Fatalf("audit written on a failed commit: %d -> %d entries", len(before), len(after))
	}
}

func testLocks(t *testing.T, s store.Store) {
	now := base()
	const target = "ecs:prod/checkout"
	lock := func(op store.LockOp, holder string, lease time.Time, at time.Time) error {
		return s.Commit(ctx, &store.Tx{Now: at, Locks: []store.LockWrite{{Op: op, Lock: store.Lock{Target: target, Holder: holder, LeaseUntil: lease}}}})
	}
	if err := lock(store.LockAcquire, "p1", now.Add(time.Minute), now); err != nil {
		t.Fatalf("acquire free lock: %v", err)
	}
	wantConflict(t, lock(store.LockAcquire, "p2", now.Add(time.Minute), now), store.KindLock, false)
	if err := lock(store.LockAcquire, "p1", now.Add(2*time.Minute), now); err != nil {
		t.Fatalf("re-acquire by holder: %v", err)
	}
	l, err := s.Lock(ctx, target)
	if err != nil || l.Holder != "p1" || !l.LeaseUntil.Equal(now.Add(2*time.Minute)) {
		t.Fatalf("lock = %+v, %v", l, err)
	}
	wantConflict(t, lock(store.LockRelease, "p2", time.Time{}, now), store.KindLock, false)
	// An expired lease is not enough to take over: the holder must be marked stale first.
	later := now.Add(5 * time.Minute)
	wantConflict(t, lock(store.LockAcquire, "p2", later.Add(time.Minute), later), store.KindLock, false)
	wantConflict(t, lock(store.LockMarkStale, "p1", time.Time{}, now), store.KindLock, false)
	wantConflict(t, lock(store.LockMarkStale, "p2", time.Time{}, later), store.KindLock, false)
	if err := lock(store.LockMarkStale, "p1", time.Time{}, later); err != nil {
		t.Fatalf("mark expired lease stale: %v", err)
	}
	locks, err := s.Locks(ctx)
	if err != nil || len(locks) != 1 || !locks[0].Stale {
		t.Fatalf("locks = %+v, %v", locks, err)
	}
	if err := lock(store.LockAcquire, "p2", later.Add(time.Minute), later); err != nil {
		t.Fatalf("take over a stale lock: %v", err)
	}
	wantConflict(t, lock(store.LockRelease, "p1", time.Time{}, later), store.KindLock, false)
	if err := lock(store.LockRelease, "p2", time.Time{}, later); err != nil {
		t.Fatalf("release by holder: %v", err)
	}
	if _, err := s.Lock(ctx, target); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("released lock: want ErrNotFound, got %v", err)
	}
	if locks, _ := s.Locks(ctx); len(locks) != 0 {
		t.Fatalf("locks after release = %+v", locks)
	}
}

func testCooldowns(t *testing.T, s store.Store) {
	now := base()
	cd := store.Cooldown{Policy: "checkout", Target: "ecs:prod/checkout", Until: now.Add(10 * time.Minute)}
	check := func(at time.Time) error {
		return s.Commit(ctx, &store.Tx{Now: at, Cooldowns: []store.CooldownWrite{{Cooldown: store.Cooldown{Policy: cd.Policy, Target: cd.Target}, CheckOnly: true}}})
	}
	if err := check(now); err != nil {
		t.Fatalf("check without cooldown: %v", err)
	}
	mustCommit(t, s, &store.Tx{Now: now, Cooldowns: []store.CooldownWrite{{Cooldown: cd}}})
	wantConflict(t, check(now.Add(time.Minute)), store.KindCooldown, false)
	if err := check(now.Add(11 * time.Minute)); err != nil {
		t.Fatalf("check after the cooldown: %v", err)
	}
	got, err := s.Cooldown(ctx, cd.Policy, cd.Target)
	if err != nil || !got.Until.Equal(cd.Until) {
		t.Fatalf("cooldown = %+v, %v", got, err)
	}
	if _, err := s.Cooldown(ctx, "other", cd.Target); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other policy's cooldown: want ErrNotFound, got %v", err)
	}
	past := store.Cooldown{Policy: "old", Target: cd.Target, Until: now.Add(-time.Minute)}
	mustCommit(t, s, &store.Tx{Now: now, Cooldowns: []store.CooldownWrite{{Cooldown: past}}})
	if _, err := s.Cooldown(ctx, "old", cd.Target); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("passed cooldown: want ErrNotFound, got %v", err)
	}
}

func testCounters(t *testing.T, s store.Store) {
	now := base()
	key := store.PolicyCounter("checkout", now)
	for i := range 3 {
		mustCommit(t, s, &store.Tx{Now: now, Counters: []store.CounterWrite{{Key: key, Limit: 3, ExpiresAt: now.Add(2 * time.Hour)}}})
		if n, err := s.Counter(ctx, key); err != nil || n != i+1 {
			t.Fatalf("counter = %d, %v; want %d", n, err, i+1)
		}
	}
	err := s.Commit(ctx, &store.Tx{Now: now, Counters: []store.CounterWrite{{Key: key, Limit: 3, ExpiresAt: now.Add(2 * time.Hour)}}})
	wantConflict(t, err, store.KindCounter, false)
	mustCommit(t, s, &store.Tx{Now: now, Counters: []store.CounterWrite{{Key: key, ExpiresAt: now.Add(2 * time.Hour)}}})
	if n, _ := s.Counter(ctx, key); n != 4 {
		t.Fatalf("counter without limit = %d, want 4", n)
	}
	if n, err := s.Counter(ctx, "absent"); err != nil || n != 0 {
		t.Fatalf("absent counter = %d, %v", n, err)
	}
}

func testSwitch(t *testing.T, s store.Store) {
	sw, err := s.Switch(ctx)
	if err != nil || sw.Paused {
		t.Fatalf("initial switch = %+v, %v", sw, err)
	}
	at := base()
	mustCommit(t, s, &store.Tx{Switch: &store.Switch{Paused: true, By: "U1", Why: "deploy freeze", At: at},
		Audit: []store.AuditEntry{{Event: "switch.paused", Who: "U1", Why: "deploy freeze"}}})
	sw, err = s.Switch(ctx)
	if err != nil || !sw.Paused || sw.By != "U1" || sw.Why != "deploy freeze" || !sw.At.Equal(at) {
		t.Fatalf("switch = %+v, %v", sw, err)
	}
}

// claimTx is an executor's claim of p: APPROVED -> EXECUTING with the lock,
// the cooldown check, the hour's counter and the audit entry, conditional on
// the kill switch being off.
func claimTx(p *store.Proposal, holder string, now time.Time) (*store.Proposal, *store.Tx) {
	c := p.Clone()
	c.State = store.StateExecuting
	c.Lease = &store.Lease{Token: holder, Until: now.Add(time.Minute)}
	return c, &store.Tx{
		Now:              now,
		RequireNotPaused: true,
		Proposals:        []store.ProposalWrite{{Proposal: c, From: store.StateApproved}},
		Locks:            []store.LockWrite{{Op: store.LockAcquire, Lock: store.Lock{Target: p.ID, Holder: p.ID, LeaseUntil: now.Add(time.Minute)}}},
		Cooldowns:        []store.CooldownWrite{{Cooldown: store.Cooldown{Policy: p.Policy, Target: p.ID}, CheckOnly: true}},
		Counters:         []store.CounterWrite{{Key: store.GlobalCounter(now), Limit: 1000, ExpiresAt: now.Add(2 * time.Hour)}},
		Audit:            []store.AuditEntry{{Incident: p.Incident, Proposal: p.ID, Event: "proposal.executing", From: store.StateApproved, To: store.StateExecuting, Who: "medic"}},
	}
}

func wantPaused(t *testing.T, err error) {
	t.Helper()
	wantConflict(t, err, store.KindSwitch, false)
	if !errors.Is(err, store.ErrPaused) {
		t.Fatalf("errors.Is(%v, ErrPaused) = false", err)
	}
}

func testRequireNotPaused(t *testing.T, s store.Store) {
	now := base()
	inc := newIncident(arn, now)
	p := newProposal(inc, "checkout", 0, store.StateApproved)
	createIncident(t, s, inc, p)
	check := &store.Tx{Now: now, RequireNotPaused: true}

	// A switch never set is off: the condition alone holds.
	if err := s.Commit(ctx, check); err != nil {
		t.Fatalf("require not paused, switch never set: %v", err)
	}
	// Writing the switch in the same Tx that requires it off is a bug.
	err := s.Commit(ctx, &store.Tx{Now: now, RequireNotPaused: true, Switch: &store.Switch{Paused: true}})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("switch written and required off: want ErrInvalid, got %v", err)
	}

	mustCommit(t, s, &store.Tx{Switch: &store.Switch{Paused: true, By: "U1", Why: "game day", At: now},
		Audit: []store.AuditEntry{{Event: "switch.paused", Who: "U1", Why: "game day"}}})
	before, _ := s.Audit(ctx, store.AuditQuery{Incident: inc.ID})
	claim, tx := claimTx(p, "a", now)
	wantPaused(t, s.Commit(ctx, tx))
	wantPaused(t, s.Commit(ctx, check))
	if claim.Version != p.Version {
		t.Fatalf("version changed on a paused claim: %d -> %d", p.Version, claim.Version)
	}
	got, _ := s.Proposal(ctx, p.ID)
	if got.State != store.StateApproved || got.Version != p.Version {
		t.Fatalf("paused claim half-applied: %s v%d", got.State, got.Version)
	}
	if _, err := s.Lock(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("paused claim took the lock: %v", err)
	}
	if n, _ := s.Counter(ctx, store.GlobalCounter(now)); n != 0 {
		t.Fatalf("paused claim counted: %d", n)
	}
	if after, _ := s.Audit(ctx, store.AuditQuery{Incident: inc.ID}); len(after) != len(before) {
		t.Fatalf("paused claim audited: %d -> %d entries", len(before), len(after))
	}
	// Other transactions do not care about the switch.
	mustCommit(t, s, &store.Tx{Counters: []store.CounterWrite{{Key: "other", ExpiresAt: now.Add(time.Hour)}}})

	// Resumed, the same claim commits.
	mustCommit(t, s, &store.Tx{Switch: &store.Switch{Paused: false, By: "U1", At: now}})
	claim, tx = claimTx(p, "a", now)
	if err := s.Commit(ctx, tx); err != nil {
		t.Fatalf("claim after resume: %v", err)
	}
	got, _ = s.Proposal(ctx, p.ID)
	if got.State != store.StateExecuting || got.Version != claim.Version || claim.Version != p.Version+1 {
		t.Fatalf("claim after resume: %s v%d (want v%d)", got.State, got.Version, p.Version+1)
	}
}

// testConcurrentClaimsAndPause races claims of many proposals against one
// Pause. Every claim either commits or fails with ErrPaused, and a claim
// attempted after the Pause returned always fails.
func testConcurrentClaimsAndPause(t *testing.T, s store.Store) {
	now := base()
	inc := newIncident(arn, now)
	var props []*store.Proposal
	for i := range 12 {
		props = append(props, newProposal(inc, fmt.Sprintf("p%02d", i), 0, store.StateApproved))
	}
	createIncident(t, s, inc, props...)
	var wins, paused atomic.Int32
	var wg sync.WaitGroup
	for _, p := range props[:8] {
		wg.Go(func() {
			_, tx := claimTx(p, p.ID, now)
			err := s.Commit(ctx, tx)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrPaused):
				paused.Add(1)
			default:
				t.Errorf("claim %s: %v", p.ID, err)
			}
		})
	}
	wg.Go(func() {
		mustCommit(t, s, &store.Tx{Switch: &store.Switch{Paused: true, By: "U1", At: now}})
	})
	wg.Wait()
	if wins.Load()+paused.Load() != 8 {
		t.Fatalf("claims: %d won, %d paused; want 8 in all", wins.Load(), paused.Load())
	}
	for _, p := range props[8:] {
		_, tx := claimTx(p, p.ID, now)
		wantPaused(t, s.Commit(ctx, tx))
	}
	if n, _ := s.Counter(ctx, store.GlobalCounter(now)); n != int(wins.Load()) {
		t.Fatalf("counter = %d, want the %d claims that won", n, wins.Load())
	}
}

func testAudit(t *testing.T, s store.Store) {
	now := base()
	inc := newIncident(arn, now)
	createIncident(t, s, inc)
	plan := &remediations.Plan{Action: "ecs.scale", Target: "ecs:prod/checkout", Summary: "desired 4 -> 6"}
	res := &remediations.Result{Action: "ecs.scale", Target: "ecs:prod/checkout", Summary: "desired 4 -> 6"}
	mustCommit(t, s, &store.Tx{Now: now.Add(time.Second), Audit: []store.AuditEntry{
		{Incident: inc.ID, Proposal: "p", Event: "proposal.executing", From: store.StateApproved, To: store.StateExecuting, Who: "medic", Plan: plan},
		{Incident: inc.ID, Proposal: "p", Event: "proposal.succeeded", From: store.StateExecuting, To: store.StateSucceeded, Who: "medic", Result: res},
	}})
	mustCommit(t, s, &store.Tx{Now: now.Add(2 * time.Second), Audit: []store.AuditEntry{{Event: "switch.paused", Who: "U9", Why: "freeze"}}})
	old := now.Add(-48 * time.Hour)
	mustCommit(t, s, &store.Tx{Now: old, Audit: []store.AuditEntry{{Event: "switch.resumed", Who: "U9"}}})

	byInc, err := s.Audit(ctx, store.AuditQuery{Incident: inc.ID})
	if err != nil {
		t.Fatalf("audit by incident: %v", err)
	}
	var events []string
	for _, a := range byInc {
		events = append(events, a.Event)
	}
	if fmt.Sprint(events) != "[incident.opened proposal.executing proposal.succeeded]" {
		t.Fatalf("audit by incident = %v", events)
	}
	if byInc[1].Plan == nil || byInc[1].Plan.Summary != "desired 4 -> 6" || byInc[2].Result == nil || byInc[2].To != store.StateSucceeded {
		t.Fatalf("audit entries lost their plan or result: %+v", byInc)
	}
	if byInc[0].ID == "" || !byInc[1].Time.Equal(now.Add(time.Second)) {
		t.Fatalf("audit IDs and times not kept: %+v", byInc[:2])
	}

	recent, err := s.Audit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatalf("recent audit: %v", err)
	}
	if len(recent) != 4 || recent[3].Event != "switch.paused" {
		t.Fatalf("default window = %d entries (%v), want the 4 of the last day", len(recent), recent)
	}
	all, err := s.Audit(ctx, store.AuditQuery{Since: now.Add(-72 * time.Hour)})
	if err != nil || len(all) != 5 || all[0].Event != "switch.resumed" {
		t.Fatalf("audit since 72h = %d entries, %v", len(all), err)
	}
	since, err := s.Audit(ctx, store.AuditQuery{Since: now.Add(1500 * time.Millisecond)})
	if err != nil || len(since) != 1 || since[0].Event != "switch.paused" {
		t.Fatalf("audit since +1.5s = %v, %v", since, err)
	}
}

func testConcurrentCreate(t *testing.T, s store.Store) {
	ts := base()
	var wins, exists atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			inc := newIncident(arn, ts)
			err := s.Commit(ctx, &store.Tx{Now: base(), Incidents: []store.IncidentWrite{{Incident: inc, Create: true}},
				Proposals: []store.ProposalWrite{{Proposal: newProposal(inc, "checkout", 0, store.StateProposed), Create: true}},
				Audit:     []store.AuditEntry{{Incident: inc.ID, Event: "incident.opened", Who: "medic"}}})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict):
				exists.Add(1)
			default:
				t.Errorf("create: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || exists.Load() != 9 {
		t.Fatalf("wins = %d, conflicts = %d; want 1, 9", wins.Load(), exists.Load())
	}
	a, _ := s.Audit(ctx, store.AuditQuery{Incident: store.IncidentID((&alarm.Alarm{ARN: arn, Timestamp: ts}).DedupKey())})
	if len(a) != 1 {
		t.Fatalf("audit entries = %d, want 1", len(a))
	}
}

func testConcurrentTransition(t *testing.T, s store.Store) {
	inc := newIncident(arn, base())
	p := newProposal(inc, "checkout", 0, store.StateApproved)
	createIncident(t, s, inc, p)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			c := p.Clone()
			c.State = store.StateExecuting
			err := s.Commit(ctx, &store.Tx{Now: base(), Proposals: []store.ProposalWrite{{Proposal: c, From: store.StateApproved}},
				Locks: []store.LockWrite{{Op: store.LockAcquire, Lock: store.Lock{Target: "t", Holder: fmt.Sprint("claim-", i), LeaseUntil: base().Add(time.Minute)}}}})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrConflict):
			default:
				t.Errorf("transition: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("wins = %d, want 1", wins.Load())
	}
}

func newOwed(t time.Time, i int, kind store.OwedKind, inc string) *store.Owed {
	return &store.Owed{ID: store.NewOwedID(t, i), Kind: kind, Incident: inc, Body: []byte(`{"kind":"execute"}`),
		CreatedAt: t, NextAttemptAt: t.Add(30 * time.Second)}
}

func testOwed(t *testing.T, s store.Store) {
	inc := newIncident(arn, base())
	p := newProposal(inc, "checkout", 0, store.StateApproved)
	now := base()
	first, second := newOwed(now, 0, store.OwedCard, inc.ID), newOwed(now, 1, store.OwedQueue, inc.ID)
	later := newOwed(now.Add(time.Second), 0, store.OwedQueue, inc.ID)
	later.DueAt = now.Add(10 * time.Minute)
	// Written together with the records that owe them, out of order.
	mustCommit(t, s, &store.Tx{Now: now,
		Incidents: []store.IncidentWrite{{Incident: inc, Create: true}},
		Proposals: []store.ProposalWrite{{Proposal: p, Create: true}},
		Owed:      []store.OwedWrite{{Owed: later, Create: true}, {Owed: second, Create: true}, {Owed: first, Create: true}}})
	got, err := s.Owed(ctx, 0)
	if err != nil {
		t.Fatalf("list owed: %v", err)
	}
	var ids []string
	for _, o := range got {
		ids = append(ids, o.ID)
	}
	if want := []string{first.ID, second.ID, later.ID}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("owed = %v, want oldest first %v", ids, want)
	}
	if got[2].Kind != store.OwedQueue || !got[2].DueAt.Equal(later.DueAt) || string(got[2].Body) != `{"kind":"execute"}` || got[2].Version != 1 {
		t.Fatalf("owed read back as %+v", got[2])
	}
	if limited, _ := s.Owed(ctx, 2); len(limited) != 2 || limited[0].ID != first.ID {
		t.Fatalf("owed with limit 2 = %d entries", len(limited))
	}
	// Creating an existing entry is a conflict.
	err = s.Commit(ctx, &store.Tx{Now: now, Owed: []store.OwedWrite{{Owed: newOwedCopy(first), Create: true}}})
	wantConflict(t, err, store.KindOwed, true)

	// Updates are conditional on the version: a relay claims an entry once.
	claim := *got[0]
	claim.NextAttemptAt = now.Add(time.Minute)
	mustCommit(t, s, &store.Tx{Now: now, Owed: []store.OwedWrite{{Owed: &claim}}})
	if claim.Version != 2 {
		t.Fatalf("version after update = %d, want 2", claim.Version)
	}
	stale := *got[0] // version 1
	stale.Attempts = 5
	err = s.Commit(ctx, &store.Tx{Now: now, Owed: []store.OwedWrite{{Owed: &stale}}})
	wantConflict(t, err, store.KindOwed, false)

	// Deleting is idempotent; an update of a deleted entry is a conflict.
	for range 2 {
		mustCommit(t, s, &store.Tx{Now: now, Owed: []store.OwedWrite{{Owed: &store.Owed{ID: first.ID}, Delete: true}}})
	}
	err = s.Commit(ctx, &store.Tx{Now: now, Owed: []store.OwedWrite{{Owed: &claim}}})
	wantConflict(t, err, store.KindOwed, false)
	if left, _ := s.Owed(ctx, 0); len(left) != 2 || left[0].ID != second.ID {
		t.Fatalf("after deleting the first, owed = %d entries", len(left))
	}
}

func newOwedCopy(o *store.Owed) *store.Owed { c := *o; c.Version = 0; return &c }

func testOwedAtomicity(t *testing.T, s store.Store) {
	inc := newIncident(arn, base())
	p := newProposal(inc, "checkout", 0, store.StateApproved)
	createIncident(t, s, inc, p)
	stale := p.Clone()
	stale.Version = 99
	stale.State = store.StateExecuting
	err := s.Commit(ctx, &store.Tx{Now: base(),
		Proposals: []store.ProposalWrite{{Proposal: stale, From: store.StateApproved}},
		Owed:      []store.OwedWrite{{Owed: newOwed(base(), 0, store.OwedQueue, inc.ID), Create: true}}})
	wantConflict(t, err, store.KindProposal, false)
	if got, _ := s.Owed(ctx, 0); len(got) != 0 {
		t.Fatalf("an owed message was written by a failed commit: %+v", got[0])
	}
}
