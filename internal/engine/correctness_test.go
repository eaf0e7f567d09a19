package engine_test

// Regression tests for "a remediation must never do the wrong thing, or
// report success for nothing", through the engine with the real actions
// against moto.

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/medicbot/medic/examples"
	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/builtin"
)

// ecsStack is one ECS service in moto with the real built-in actions.
type ecsStack struct {
	ecs *ecs.Client
	reg *remediations.Registry
}

func newECSStack(t *testing.T, cluster, service string, desired int32) *ecsStack {
	t.Helper()
	m := testenv.Moto(t)
	s := &ecsStack{ecs: ecs.NewFromConfig(m.Config)}
	reg, err := builtin.Registry(builtin.Clients{ECS: s.ecs, AutoScaling: applicationautoscaling.NewFromConfig(m.Config),
		ELBv2: elasticloadbalancingv2.NewFromConfig(m.Config)})
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	s.reg = reg
	if _, err := s.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatalf("create cluster: %v", err)
	}
	td, err := s.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(service),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(512)}}})
	if err != nil {
		t.Fatalf("register task definition: %v", err)
	}
	if _, err := s.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String(service),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(desired)}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	return s
}

func (s *ecsStack) desired(t *testing.T, cluster, service string) int32 {
	t.Helper()
	out, err := s.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe %s/%s: %v", cluster, service, err)
	}
	return out.Services[0].DesiredCount
}

// setDesired changes the desired count behind medic's back, as Application
// Auto Scaling does during a spike.
func (s *ecsStack) setDesired(t *testing.T, cluster, service string, n int32) {
	t.Helper()
	if _, err := s.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(service), DesiredCount: aws.Int32(n)}); err != nil {
		t.Fatalf("update %s/%s: %v", cluster, service, err)
	}
}

func TestAnAlarmFromAnotherRegionIsProposedNowhereItCouldAct(t *testing.T) {
	// The payments service exists in the home region (us-east-1), healthy.
	s := newECSStack(t, "payments-prod", "payments-api", 3)
	set, err := policy.Load(examples.FS, s.reg)
	if err != nil {
		t.Fatalf("load the shipped policies: %v", err)
	}
	raw, err := os.ReadFile("../alarm/testdata/sns-event-alb-elb-502.json")
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := alarm.Decode(raw)
	if err != nil || len(decoded) != 1 {
		t.Fatalf("decode the us-west-2 fixture: %d alarms, %v", len(decoded), err)
	}
	a := decoded[0]
	if a.Region != "us-west-2" {
		t.Fatalf("fixture region = %q, want us-west-2", a.Region)
	}
	f := newFixture(t, nil, nil, withDeps(func(d *engine.Deps) {
		d.Policies, d.Render, d.Actions = set, (*policy.Step).Render, s.reg
	}), withConfig(func(c *engine.Config) {
		c.Scope = remediations.Scope{Account: "123456789012", Region: "us-east-1"}
	}))
	out, err := f.e.HandleAlarm(ctx, a)
	if err != nil {
		t.Fatalf("handle alarm: %v", err)
	}
	if len(out.Proposals) == 0 {
		t.Fatal("the payments policy did not match the fixture; the test proves nothing")
	}
	for _, p := range out.Proposals {
		if p.State != store.StateBlocked {
			t.Errorf("%s is %s, want BLOCKED", p.ID, p.State)
		}
		if !strings.Contains(p.Reason, "us-west-2") || !strings.Contains(p.Reason, "us-east-1") {
			t.Errorf("%s reason %q does not name the alarm's and medic's regions", p.ID, p.Reason)
		}
		if p.Plan != nil {
			t.Errorf("%s was planned against the home region: %s", p.ID, p.Plan.Summary)
		}
	}
	// Nobody can approve it, and the home region's service is untouched.
	vote, err := f.e.Vote(ctx, out.Proposals[0].ID, "U1", true)
	if err != nil {
		t.Fatal(err)
	}
	if vote.Result != engine.VoteClosed {
		t.Errorf("vote on the blocked step: %s, want closed", vote.Result)
	}
	f.drain(t, time.Hour)
	if got := s.desired(t, "payments-prod", "payments-api"); got != 3 {
		t.Errorf("home region's payments-api desired = %d, want 3 (untouched)", got)
	}
	card := f.notes.last()
	found := false
	for _, p := range card.Proposals {
		found = found || strings.Contains(p.Reason, "us-west-2")
	}
	if !found {
		t.Error("the card does not say why the steps are blocked")
	}
}

// scalePolicy is a two-step ecs.scale ladder on prod/checkout, parsed from
// YAML like the shipped policies.
func scalePolicy(t *testing.T, reg *remediations.Registry, approval policy.Approval) *policy.Policy {
	t.Helper()
	expires := ""
	if approval == policy.ApprovalRequired {
		expires = "\n        expires: 15m"
	}
	src := `version: 1
policies:
  - name: checkout-scale
    match: {alarm: "checkout-*"}
    cooldown: 30m
    approvers: [S0ONCALL]
    steps:
      - action: ecs.scale
        approval: ` + string(approval) + expires + `
        params: {cluster: prod, service: checkout, add: 2, max: 20}
      - action: ecs.scale
        after: 1m
        approval: required
        params: {cluster: prod, service: checkout, add: 4, max: 20}
`
	set, err := policy.Parse("checkout.yaml", []byte(src), reg)
	if err != nil {
		t.Fatalf("parse policy: %v", err)
	}
	return set.Policies()[0]
}

func withRealActions(reg *remediations.Registry) option {
	return withDeps(func(d *engine.Deps) { d.Actions, d.Render = reg, (*policy.Step).Render })
}

func TestAPlanMadeStaleByAutoScalingIsReplannedNotFailed(t *testing.T) {
	s := newECSStack(t, "prod", "checkout", 4)
	f := newFixture(t, []*policy.Policy{scalePolicy(t, s.reg, policy.ApprovalRequired)}, nil, withRealActions(s.reg))
	out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	id := out.Proposals[0].ID
	if got := out.Proposals[0].Plan.Summary; !strings.Contains(got, "4 -> 6") {
		t.Fatalf("first plan %q, want 4 -> 6", got)
	}
	s.setDesired(t, "prod", "checkout", 5) // auto scaling reacts to the spike
	if _, err := f.e.Vote(ctx, id, "U1", true); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 10*time.Minute)

	p := f.proposal(t, id)
	if p.State != store.StateReplanned {
		t.Fatalf("state %s (%s), want REPLANNED", p.State, p.Reason)
	}
	if p.Plan == nil || !strings.Contains(p.Plan.Summary, "5 -> 7") {
		t.Fatalf("new plan %+v, want 5 -> 7", p.Plan)
	}
	if p.StalePlan == nil || !strings.Contains(p.StalePlan.Summary, "4 -> 6") {
		t.Fatalf("stale plan %+v, want the old 4 -> 6 kept for the card", p.StalePlan)
	}
	if len(p.Votes) != 0 {
		t.Errorf("votes %v carried over to the new plan", p.Votes)
	}
	if got := s.desired(t, "prod", "checkout"); got != 5 {
		t.Errorf("desired %d after a stale plan, want 5 (nothing applied)", got)
	}
	if _, err := f.st.Cooldown(ctx, "checkout-scale", p.Target()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cooldown started although nothing was applied (err %v)", err)
	}
	if _, err := f.st.Proposal(ctx, store.ProposalID(p.Incident, p.Policy, 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the ladder advanced after a stale plan (step 2: %v)", err)
	}
	var replanned *store.AuditEntry
	for _, a := range f.audit(t, p.Incident) {
		if a.Event == "proposal.replanned" {
			replanned = &a
		}
	}
	if replanned == nil || !strings.Contains(replanned.Why, "4 -> 6") || !strings.Contains(replanned.Why, "5 -> 7") {
		t.Fatalf("audit does not say what changed between the plans: %+v", replanned)
	}
	// The card shows the new plan for approval with the old one.
	card := f.notes.last()
	var shown *store.Proposal
	for _, q := range card.Proposals {
		if q.ID == id {
			shown = q
		}
	}
	if shown == nil || shown.State != store.StateReplanned || shown.StalePlan == nil {
		t.Fatalf("the last card does not show the re-planned step: %+v", shown)
	}

	// Approving the new plan runs it.
	if _, err := f.e.Vote(ctx, id, "U1", true); err != nil {
		t.Fatal(err)
	}
	f.drain(t, time.Minute)
	if p := f.proposal(t, id); p.State != store.StateSucceeded {
		t.Fatalf("after approving the new plan: %s (%s)", p.State, p.Reason)
	}
	if got := s.desired(t, "prod", "checkout"); got != 7 {
		t.Errorf("desired %d, want 7", got)
	}
	checkAuditMatches(t, f.st, p.Incident)
}

func TestAnAutoStepReplansWithinItsBoundsAndRunsOnce(t *testing.T) {
	s := newECSStack(t, "prod", "checkout", 4)
	f := newFixture(t, []*policy.Policy{scalePolicy(t, s.reg, policy.ApprovalAuto)}, nil, withRealActions(s.reg))
	out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	id := out.Proposals[0].ID
	s.setDesired(t, "prod", "checkout", 5)
	f.drain(t, 30*time.Second)
	p := f.proposal(t, id)
	if p.State != store.StateSucceeded {
		t.Fatalf("state %s (%s), want SUCCEEDED after one re-plan", p.State, p.Reason)
	}
	if got := s.desired(t, "prod", "checkout"); got != 7 {
		t.Errorf("desired %d, want 7 (5 + 2)", got)
	}
	if p.Replans != 1 || p.StalePlan == nil {
		t.Errorf("replans %d, stale plan %v: want one re-plan on the record", p.Replans, p.StalePlan)
	}
	if !slicesContain(events(f.audit(t, p.Incident)), "proposal.replanned") {
		t.Errorf("audit lacks proposal.replanned: %v", events(f.audit(t, p.Incident)))
	}
}

func TestAnAutoStepStaleTwiceWaitsForAPerson(t *testing.T) {
	stale := &action{name: "ecs.scale", target: "ecs:prod/checkout", applyErr: remediations.ErrStalePlan}
	f := newFixture(t, []*policy.Policy{{Name: "p", Cooldown: 30 * time.Minute, Approvers: []string{"S-oncall"},
		Steps: []*policy.Step{{Action: "ecs.scale", Approval: policy.ApprovalAuto}, {Index: 1, Action: "ecs.scale", Approval: policy.ApprovalAuto}}}},
		[]*action{stale})
	out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	id := out.Proposals[0].ID
	f.drain(t, 30*time.Second)
	p := f.proposal(t, id)
	if p.State != store.StateReplanned {
		t.Fatalf("state %s (%s), want REPLANNED waiting for a person", p.State, p.Reason)
	}
	if got := stale.applies.Load(); got != 2 {
		t.Errorf("applied %d times, want 2 (the plan and one re-plan)", got)
	}
	if p.Approval != policy.ApprovalRequired || p.ExpiresAt.IsZero() {
		t.Errorf("approval %s, expires %v: the held step must wait for an approval that can expire", p.Approval, p.ExpiresAt)
	}
	if _, err := f.st.Cooldown(ctx, "p", p.Target()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cooldown started although nothing was applied (err %v)", err)
	}
	if _, err := f.st.Proposal(ctx, store.ProposalID(p.Incident, "p", 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the ladder advanced (step 2: %v)", err)
	}
}

func TestAStepThatFailedHavingAppliedNothingStartsNoCooldown(t *testing.T) {
	failing := &action{name: "ecs.scale", target: "ecs:prod/checkout",
		applyErr: errors.Join(errors.New("update service: throttled"), remediations.ErrNotApplied)}
	f := newFixture(t, []*policy.Policy{autoPolicy("p", "ecs.scale")}, []*action{failing})
	out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	f.drain(t, 30*time.Second)
	p := f.proposal(t, out.Proposals[0].ID)
	if p.State != store.StateFailed {
		t.Fatalf("state %s, want FAILED", p.State)
	}
	if _, err := f.st.Cooldown(ctx, "p", p.Target()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cooldown started although nothing was applied (err %v)", err)
	}
}

func TestAHeldPlanOnAnAutoStepWaitsForApproval(t *testing.T) {
	held := &heldAction{action: action{name: "github.rollback", target: "github:acme/checkout"},
		hold: "acme/checkout was deployed after the alarm fired (abc1234 by alice at 10:02)"}
	f := newFixture(t, []*policy.Policy{{Name: "p", Approvers: []string{"S-oncall"},
		Steps: []*policy.Step{{Action: "github.rollback", Approval: policy.ApprovalAuto}}}}, nil,
		withDeps(func(d *engine.Deps) { d.Actions = actions{"github.rollback": held} }))
	out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	f.drain(t, time.Minute)
	p := f.proposal(t, out.Proposals[0].ID)
	if p.State != store.StateProposed || p.Approval != policy.ApprovalRequired {
		t.Fatalf("state %s approval %s, want PROPOSED and required", p.State, p.Approval)
	}
	if held.applies.Load() != 0 {
		t.Fatal("a held plan ran without approval")
	}
	if !slicesContain(p.Warnings, held.hold) {
		t.Errorf("warnings %v do not carry the hold", p.Warnings)
	}
	if _, err := f.e.Vote(ctx, p.ID, "U1", true); err != nil {
		t.Fatal(err)
	}
	f.drain(t, time.Minute)
	if p := f.proposal(t, p.ID); p.State != store.StateSucceeded {
		t.Fatalf("after approval: %s (%s)", p.State, p.Reason)
	}
}

type heldAction struct {
	action
	hold string
}

func (h *heldAction) Plan(c context.Context, a *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	plan, err := h.action.Plan(c, a, p)
	if plan != nil {
		plan.Hold = h.hold
	}
	return plan, err
}

func slicesContain(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
