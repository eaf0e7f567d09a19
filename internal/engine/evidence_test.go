package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// gatherer is a fake engine.EvidenceGatherer.
type gatherer struct {
	calls  atomic.Int32
	budget atomic.Int64
	ev     *store.Evidence
	// ignore makes it answer long after its budget.
	ignore bool
}

func (g *gatherer) Gather(_ context.Context, _ *alarm.Alarm, _ []*policy.Policy, budget time.Duration) *store.Evidence {
	g.calls.Add(1)
	g.budget.Store(int64(budget))
	if g.ignore {
		time.Sleep(5 * time.Second)
	}
	return g.ev
}

// spike is evidence of ELB 502s from 3 unhealthy targets, beginning 4
// minutes after a deployment.
func spike(now time.Time) *store.Evidence {
	began := now.Add(-5 * time.Minute)
	return &store.Evidence{
		Pattern: &store.Pattern{Source: "elb", Code: "502", ErrorRate: 0.1, StartedAt: began},
		Health:  &store.Health{TargetGroup: "checkout", Healthy: 3, Unhealthy: 3},
		Changes: &store.Changes{Service: "prod/checkout", Deployments: []store.ECSDeployment{
			{Status: "PRIMARY", TaskDefinition: "checkout:42", CreatedAt: began.Add(-4 * time.Minute)}}},
		Reading: "ELB 502s, 3 of 6 targets unhealthy",
	}
}

func TestEvidenceChoosesTheFirstStepWhoseConditionsHold(t *testing.T) {
	cases := []struct {
		name        string
		ev          func(now time.Time) *store.Evidence
		wantStep    int // -1: nothing proposed
		wantSkipped []string
	}{
		{name: "a recent deploy with unhealthy targets skips scaling for the rollback", ev: spike, wantStep: 1,
			wantSkipped: []string{"step 1 (ecs.scale) skipped: unhealthy_targets == 0: 3 unhealthy"}},
		{name: "healthy targets keep the first step", ev: func(now time.Time) *store.Evidence {
			ev := spike(now)
			ev.Health.Unhealthy = 0
			return ev
		}, wantStep: 0},
		{name: "unknown evidence holds no condition: the unconditional last step is proposed", ev: func(time.Time) *store.Evidence {
			return &store.Evidence{Missing: []store.MissingEvidence{{Collector: "health", Reason: "timed out after 4s"}}}
		}, wantStep: 2, wantSkipped: []string{
			"step 1 (ecs.scale) skipped: unhealthy_targets: target health unknown",
			"step 2 (ecs.rollback) skipped: deploy_within: no deployment time or spike start known"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pol := autoPolicy("checkout", "",
				&policy.Step{Action: "ecs.scale", Approval: policy.ApprovalAuto, When: &policy.When{Op: "==", Unhealthy: 0}},
				&policy.Step{Action: "ecs.rollback", Approval: policy.ApprovalAuto, When: &policy.When{DeployWithin: 30 * time.Minute, Op: ">=", Unhealthy: 1}},
				&policy.Step{Action: "ecs.restart", Approval: policy.ApprovalAuto},
			)
			acts := []*action{{name: "ecs.scale", target: "ecs:prod/checkout"}, {name: "ecs.rollback", target: "ecs:prod/checkout"},
				{name: "ecs.restart", target: "ecs:prod/checkout"}}
			clk := newClock()
			g := &gatherer{ev: tc.ev(clk.Now())}
			f := newFixture(t, []*policy.Policy{pol}, acts, withDeps(func(d *engine.Deps) { d.Evidence = g; d.Clock = clk }))
			out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
			if err != nil || out.Incident == nil {
				t.Fatalf("handle alarm = %+v, %v", out, err)
			}
			if len(out.Proposals) != 1 {
				t.Fatalf("%d proposals, want 1", len(out.Proposals))
			}
			p := out.Proposals[0]
			if p.Step != tc.wantStep {
				t.Errorf("proposed step %d (%s), want step %d", p.Step+1, p.Action, tc.wantStep+1)
			}
			if strings.Join(p.Skipped, "|") != strings.Join(tc.wantSkipped, "|") {
				t.Errorf("skipped:\n got %q\nwant %q", p.Skipped, tc.wantSkipped)
			}
			inc, err := f.st.Incident(ctx, out.Incident.ID)
			if err != nil {
				t.Fatalf("read incident: %v", err)
			}
			if inc.Evidence == nil {
				t.Fatal("the evidence was not stored on the incident")
			}
			entries, err := f.e.Audit(ctx, store.AuditQuery{Incident: out.Incident.ID})
			if err != nil {
				t.Fatalf("audit: %v", err)
			}
			found := len(tc.wantSkipped) == 0
			for _, e := range entries {
				if e.Event == "proposal.created" && len(tc.wantSkipped) > 0 && strings.Contains(e.Why, tc.wantSkipped[0]) {
					found = true
				}
			}
			if !found {
				t.Errorf("the audit does not say why steps were skipped: %+v", entries)
			}
		})
	}
}

func TestEvidenceIsGatheredOnceUnderThePolicyBudgetAndStoredForTheCard(t *testing.T) {
	pol := autoPolicy("checkout", "ecs.scale", requiredStep("ecs.scale", 1))
	pol.EvidenceBudget = 2 * time.Second
	g := &gatherer{ev: spike(time.Now())}
	f := newFixture(t, []*policy.Policy{pol}, []*action{{name: "ecs.scale", target: "ecs:prod/checkout"}},
		withDeps(func(d *engine.Deps) { d.Evidence = g }))
	out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	if err != nil {
		t.Fatalf("handle alarm: %v", err)
	}
	if got := time.Duration(g.budget.Load()); got != 2*time.Second {
		t.Errorf("gathered with a budget of %s, want the policy's 2s", got)
	}
	if n := f.notes.last(); n.Kind != engine.NoticeOpened || n.Incident.Evidence == nil || n.Incident.Evidence.Reading != "ELB 502s, 3 of 6 targets unhealthy" {
		t.Errorf("the opening card carried evidence %+v", n.Incident.Evidence)
	}
	if _, err := f.e.Vote(ctx, out.Proposals[0].ID, "U1", true); err != nil {
		t.Fatalf("vote: %v", err)
	}
	if _, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", out.Incident.Alarm.Timestamp)); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if n := g.calls.Load(); n != 1 {
		t.Errorf("evidence gathered %d times after a vote and a redelivery, want once", n)
	}
	entries, err := f.e.Audit(ctx, store.AuditQuery{Incident: out.Incident.ID})
	if err != nil {
		t.Fatal(err)
	}
	var said string
	for _, e := range entries {
		if e.Event == "evidence.gathered" {
			said = e.Why
		}
	}
	if !strings.Contains(said, "reading: ELB 502s, 3 of 6 targets unhealthy") {
		t.Errorf("the audit's evidence entry says %q, want the reading", said)
	}
}

func TestAGathererThatNeverAnswersDoesNotHoldTheCardPastTheBudget(t *testing.T) {
	pol := autoPolicy("checkout", "ecs.scale", requiredStep("ecs.scale", 1))
	g := &gatherer{ignore: true}
	f := newFixture(t, []*policy.Policy{pol}, []*action{{name: "ecs.scale", target: "ecs:prod/checkout"}},
		withDeps(func(d *engine.Deps) { d.Evidence = g }), withConfig(func(c *engine.Config) { c.EvidenceBudget = 100 * time.Millisecond }))
	start := time.Now()
	out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	if took := time.Since(start); took > time.Second {
		t.Errorf("HandleAlarm took %s with a 100ms budget", took)
	}
	if err != nil {
		t.Fatalf("handle alarm: %v", err)
	}
	ev := out.Incident.Evidence
	if ev == nil || len(ev.Missing) != 1 || ev.Missing[0].Reason != "no answer within 100ms" {
		t.Errorf("evidence = %+v, want everything missing: no answer within 100ms", ev)
	}
}

// lateGatherer answers at once and sends one late update.
type lateGatherer struct {
	first, later *store.Evidence
	send         chan struct{}
}

func (g *lateGatherer) Gather(ctx context.Context, a *alarm.Alarm, m []*policy.Policy, b time.Duration) *store.Evidence {
	return g.first
}

func (g *lateGatherer) GatherLate(context.Context, *alarm.Alarm, []*policy.Policy, time.Duration) (*store.Evidence, <-chan *store.Evidence) {
	late := make(chan *store.Evidence, 1)
	go func() {
		<-g.send
		late <- g.later
		close(late)
	}()
	return g.first, late
}

// openWithLateHealth opens an incident whose target health is missing at
// intake and arrives late, once g.send is closed.
func openWithLateHealth(t *testing.T) (*fixture, *lateGatherer, engine.Outcome) {
	t.Helper()
	pol := autoPolicy("checkout", "ecs.scale", requiredStep("ecs.scale", 1))
	first := &store.Evidence{Missing: []store.MissingEvidence{{Collector: "health", Reason: "timed out after 4s"}}}
	later := &store.Evidence{Health: &store.Health{TargetGroup: "checkout", Healthy: 2, Unhealthy: 1}}
	g := &lateGatherer{first: first, later: later, send: make(chan struct{})}
	f := newFixture(t, []*policy.Policy{pol}, []*action{{name: "ecs.scale", target: "ecs:prod/checkout"}},
		withDeps(func(d *engine.Deps) { d.Evidence = g }))
	out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	if err != nil {
		t.Fatalf("handle alarm: %v", err)
	}
	return f, g, out
}

func TestLateEvidenceIsStoredAndUpdatesTheCard(t *testing.T) {
	f, g, out := openWithLateHealth(t)
	if ev := out.Incident.Evidence; ev == nil || ev.Health != nil || len(ev.Missing) != 1 {
		t.Fatalf("evidence at intake = %+v, want health missing", ev)
	}
	close(g.send)
	deadline := time.Now().Add(5 * time.Second)
	for {
		inc, err := f.st.Incident(ctx, out.Incident.ID)
		if err != nil {
			t.Fatal(err)
		}
		if inc.Evidence != nil && inc.Evidence.Health != nil {
			if inc.Evidence.Health.Unhealthy != 1 || len(inc.Evidence.Missing) != 0 {
				t.Errorf("late evidence stored as %+v", inc.Evidence)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the late evidence was never stored")
		}
		time.Sleep(10 * time.Millisecond)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		n := f.notes.last()
		if n.Kind == engine.NoticeUpdated && n.Incident.Evidence != nil && n.Incident.Evidence.Health != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the card was not updated with the late evidence; last notice %s", n.Kind)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAGitHubDeployJustBeforeTheSpikeCountsForDeployWithin(t *testing.T) {
	pol := autoPolicy("checkout", "",
		&policy.Step{Action: "ecs.scale", Approval: policy.ApprovalAuto, When: &policy.When{DeployWithin: 30 * time.Minute}},
		&policy.Step{Action: "ecs.restart", Approval: policy.ApprovalAuto},
	)
	acts := []*action{{name: "ecs.scale", target: "ecs:prod/checkout"}, {name: "ecs.restart", target: "ecs:prod/checkout"}}
	clk := newClock()
	began := clk.Now().Add(-5 * time.Minute)
	// The ECS deployment is two days old; GitHub deployed 10 minutes
	// before the spike.
	ev := &store.Evidence{Pattern: &store.Pattern{Source: "target", Code: "5xx", StartedAt: began},
		Changes: &store.Changes{Deployments: []store.ECSDeployment{{TaskDefinition: "checkout:41", CreatedAt: began.Add(-48 * time.Hour)}}}}
	fd := &finder{deploys: []store.SuspectDeploy{{SHA: "4f2a9c1d8e7b", DeployedAt: began.Add(-10 * time.Minute)}}}
	f := newFixture(t, []*policy.Policy{pol}, acts, withDeps(func(d *engine.Deps) { d.Evidence = &gatherer{ev: ev}; d.Suspects = fd; d.Clock = clk }))
	out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	if err != nil || len(out.Proposals) != 1 {
		t.Fatalf("handle alarm = %+v, %v", out, err)
	}
	if p := out.Proposals[0]; p.Step != 0 {
		t.Errorf("proposed step %d (%s), skipped %q; want step 1: the GitHub deploy was 10m before the spike", p.Step+1, p.Action, p.Skipped)
	}
	if len(out.Incident.Suspects) != 1 || fd.calls.Load() != 1 {
		t.Errorf("suspects stored %+v, looked up %d times; want the one deploy, looked up once", out.Incident.Suspects, fd.calls.Load())
	}
}

// The ladder's later steps are chosen by the same rule: after step 1 runs,
// the follow-up skips step 2, whose conditions the stored evidence does not
// meet, for step 3, and says why.
func TestTheLadderSkipsALaterStepWhoseConditionsDoNotHold(t *testing.T) {
	pol := autoPolicy("checkout", "",
		&policy.Step{Action: "ecs.scale", Approval: policy.ApprovalAuto},
		&policy.Step{Action: "ecs.rollback", Approval: policy.ApprovalAuto, After: time.Minute, When: &policy.When{Op: "==", Unhealthy: 0}},
		&policy.Step{Action: "ecs.restart", Approval: policy.ApprovalAuto, After: time.Minute},
	)
	acts := []*action{{name: "ecs.scale", target: "ecs:prod/checkout"}, {name: "ecs.rollback", target: "ecs:prod/checkout"},
		{name: "ecs.restart", target: "ecs:prod/checkout"}}
	g := &gatherer{}
	f := newFixture(t, []*policy.Policy{pol}, acts, withDeps(func(d *engine.Deps) { d.Evidence = g }))
	g.ev = spike(f.clock.Now())
	pol.Cooldown = 0
	out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	if err != nil || len(out.Proposals) != 1 || out.Proposals[0].Step != 0 {
		t.Fatalf("handle alarm = %+v, %v; want step 1 proposed", out, err)
	}
	f.drain(t, 10*time.Minute)
	if _, err := f.st.Proposal(ctx, store.ProposalID(out.Incident.ID, "checkout", 1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("step 2 was proposed although unhealthy_targets == 0 does not hold (3 unhealthy): %v", err)
	}
	p3 := f.proposal(t, store.ProposalID(out.Incident.ID, "checkout", 2))
	if len(p3.Skipped) != 1 || !strings.Contains(p3.Skipped[0], "step 2 (ecs.rollback) skipped: unhealthy_targets == 0: 3 unhealthy") {
		t.Errorf("step 3 skipped %q, want why step 2 was skipped", p3.Skipped)
	}
	if acts[1].applies.Load() != 0 || acts[2].applies.Load() != 1 {
		t.Errorf("rollback applied %d times, restart %d; want 0 and 1", acts[1].applies.Load(), acts[2].applies.Load())
	}
}

// The alarm Lambda returns only after WaitLateEvidence: late answers must
// be stored and on the card by then, because Lambda freezes the process.
func TestWaitLateEvidenceReturnsOnceLateEvidenceIsStored(t *testing.T) {
	f, g, out := openWithLateHealth(t)

	// Nothing late has come: the wait ends with its context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err := f.e.WaitLateEvidence(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitLateEvidence with a late answer outstanding = %v, want the context's deadline", err)
	}

	go func() {
		time.Sleep(20 * time.Millisecond)
		close(g.send)
	}()
	if err := f.e.WaitLateEvidence(ctx); err != nil {
		t.Fatalf("WaitLateEvidence: %v", err)
	}
	// No polling: by the time the wait returns, the record and the card
	// have the late answer.
	inc, err := f.st.Incident(ctx, out.Incident.ID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Evidence == nil || inc.Evidence.Health == nil || inc.Evidence.Health.Unhealthy != 1 {
		t.Errorf("after the wait the incident's evidence is %+v, want the late health", inc.Evidence)
	}
	if n := f.notes.last(); n.Kind != engine.NoticeUpdated || n.Incident.Evidence == nil || n.Incident.Evidence.Health == nil {
		t.Errorf("after the wait the last card notice is %s without the late health", n.Kind)
	}
	// Once everything is in, the wait returns at once.
	if err := f.e.WaitLateEvidence(ctx); err != nil {
		t.Errorf("a second wait: %v", err)
	}
}
