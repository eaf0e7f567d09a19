package evidence_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// stub is a collector answering after delay (ignoring ctx when hang).
type stub struct {
	name  string
	delay time.Duration
	hang  bool
	ev    *store.Evidence
	err   error
}

func (s *stub) Name() string                      { return s.name }
func (s *stub) IAM() []remediations.IAMPermission { return nil }
func (s *stub) Collect(ctx context.Context, _ *evidence.Target) (*store.Evidence, error) {
	if s.hang {
		time.Sleep(s.delay)
		return s.ev, s.err
	}
	select {
	case <-time.After(s.delay):
		return s.ev, s.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func render(*policy.Step, *alarm.Alarm) (remediations.Params, error) { return nil, nil }

var anAlarm = &alarm.Alarm{Name: "checkout-prod-5xx", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-5xx",
	Region: "us-east-1", Account: "123456789012", State: alarm.StateAlarm, Timestamp: time.Unix(1_800_000_000, 0)}

func TestAHangingCollectorDoesNotDelayTheEvidencePastTheBudget(t *testing.T) {
	pattern := &store.Pattern{Source: "elb", Code: "502", ErrorRate: -1}
	g := evidence.NewGatherer(render, nil,
		&stub{name: "pattern", ev: &store.Evidence{Pattern: pattern}},
		&stub{name: "health", hang: true, delay: 10 * time.Second},
	)
	budget := 200 * time.Millisecond
	start := time.Now()
	ev := g.Gather(context.Background(), anAlarm, nil, budget)
	took := time.Since(start)
	if took > budget+100*time.Millisecond {
		t.Errorf("Gather took %s with a budget of %s: a hanging collector delayed it", took, budget)
	}
	if ev.Pattern == nil || ev.Pattern.Code != "502" {
		t.Errorf("pattern = %+v, want what the prompt collector returned", ev.Pattern)
	}
	want := []store.MissingEvidence{{Collector: "health", Reason: "timed out after 200ms"}}
	if len(ev.Missing) != 1 || ev.Missing[0] != want[0] {
		t.Errorf("missing = %+v, want %+v", ev.Missing, want)
	}
	if ev.Budget != budget {
		t.Errorf("budget recorded = %s, want %s", ev.Budget, budget)
	}
}

func TestEachMissingPartSaysWhy(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}
	g := evidence.NewGatherer(render, nil,
		// The real pattern collector against an alarm without a load
		// balancer: not configured.
		evidence.NewPattern(nil),
		// The real changes collector without a service: not configured.
		evidence.NewChanges(nil),
		&stub{name: "health", err: denied},
		&stub{name: "slow", delay: time.Second},
	)
	ev := g.Gather(context.Background(), anAlarm, nil, 100*time.Millisecond)
	got := map[string]string{}
	for _, m := range ev.Missing {
		got[m.Collector] = m.Reason
	}
	for name, want := range map[string]string{
		"pattern": "not configured: the alarm has no LoadBalancer dimension",
		"changes": "not configured: no ecs step of the policy names a cluster and service",
		"health":  "access denied",
		"slow":    "timed out after 100ms",
	} {
		if got[name] != want {
			t.Errorf("%s missing because %q, want %q", name, got[name], want)
		}
	}
}

// fakeELB answers DescribeTargetHealth with fixed targets.
type fakeELB struct{ states []elbtypes.TargetHealth }

func (f fakeELB) DescribeTargetHealth(context.Context, *elb.DescribeTargetHealthInput, ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error) {
	out := &elb.DescribeTargetHealthOutput{}
	for i := range f.states {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{TargetHealth: &f.states[i]})
	}
	return out, nil
}

// fakeECS answers for one service with stopped tasks; denyTasks refuses
// DescribeTasks.
type fakeECS struct {
	stopped   []ecstypes.Task
	denyTasks bool
}

func (f fakeECS) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{{Status: aws.String("ACTIVE"), RunningCount: 3, DesiredCount: 6, PendingCount: 3}}}, nil
}
func (f fakeECS) ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	out := &ecs.ListTasksOutput{}
	for _, t := range f.stopped {
		out.TaskArns = append(out.TaskArns, *t.TaskArn)
	}
	return out, nil
}
func (f fakeECS) DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	if f.denyTasks {
		return nil, &smithy.GenericAPIError{Code: "AccessDeniedException"}
	}
	return &ecs.DescribeTasksOutput{Tasks: f.stopped}, nil
}

func TestHealthCountsUnhealthyTargetsByReasonAndReadsStopReasons(t *testing.T) {
	unhealthy := func(r elbtypes.TargetHealthReasonEnum) elbtypes.TargetHealth {
		return elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumUnhealthy, Reason: r}
	}
	api := fakeELB{states: []elbtypes.TargetHealth{
		{State: elbtypes.TargetHealthStateEnumHealthy}, {State: elbtypes.TargetHealthStateEnumHealthy},
		{State: elbtypes.TargetHealthStateEnumDraining},
		unhealthy(elbtypes.TargetHealthReasonEnumResponseCodeMismatch), unhealthy(elbtypes.TargetHealthReasonEnumResponseCodeMismatch),
		unhealthy(elbtypes.TargetHealthReasonEnumTimeout),
	}}
	stoppedAt := time.Unix(1_800_000_000, 0).UTC()
	tasks := fakeECS{stopped: []ecstypes.Task{{
		TaskArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task/prod/abc123"), StoppedReason: aws.String("Essential container in task exited"),
		StoppedAt: &stoppedAt, Containers: []ecstypes.Container{{Name: aws.String("app"), ExitCode: aws.Int32(137)}},
	}}}
	target := &evidence.Target{Alarm: anAlarm, Now: stoppedAt, Region: "us-east-1", Account: "123456789012",
		TargetGroup: "targetgroup/checkout/0123456789abcdef", Cluster: "prod", Service: "checkout"}
	ev, err := evidence.NewHealth(api, tasks, noMetrics{}).Collect(context.Background(), target)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	h := ev.Health
	if h.Healthy != 2 || h.Unhealthy != 3 || h.Other != 1 {
		t.Errorf("healthy %d unhealthy %d other %d, want 2, 3, 1", h.Healthy, h.Unhealthy, h.Other)
	}
	want := []store.ReasonCount{{Reason: "Target.ResponseCodeMismatch", Count: 2}, {Reason: "Target.Timeout", Count: 1}}
	if len(h.Reasons) != 2 || h.Reasons[0] != want[0] || h.Reasons[1] != want[1] {
		t.Errorf("reasons = %+v, want %+v", h.Reasons, want)
	}
	if h.Running != 3 || h.Desired != 6 || h.Pending != 3 {
		t.Errorf("running %d desired %d pending %d, want 3, 6, 3", h.Running, h.Desired, h.Pending)
	}
	if len(h.Stopped) != 1 || h.Stopped[0].Task != "abc123" || h.Stopped[0].ExitCodes != "app=137" || !strings.Contains(h.Stopped[0].Reason, "exited") {
		t.Errorf("stopped = %+v, want task abc123 exited with app=137", h.Stopped)
	}
}

func TestHealthKeepsWhatItReadWhenOneCallIsDenied(t *testing.T) {
	target := &evidence.Target{Alarm: anAlarm, Now: time.Now(), Region: "us-east-1", Account: "123456789012",
		TargetGroup: "targetgroup/checkout/0123456789abcdef", Cluster: "prod", Service: "checkout"}
	stoppedAt := time.Now()
	tasks := fakeECS{denyTasks: true, stopped: []ecstypes.Task{{TaskArn: aws.String("arn:aws:ecs:us-east-1:1:task/prod/x"), StoppedAt: &stoppedAt}}}
	ev, err := evidence.NewHealth(fakeELB{states: []elbtypes.TargetHealth{{State: elbtypes.TargetHealthStateEnumHealthy}}}, tasks, noMetrics{}).
		Collect(context.Background(), target)
	if err != nil {
		t.Fatalf("collect: %v (the targets and the service were readable)", err)
	}
	if ev.Health.Healthy != 1 || ev.Health.Desired != 6 {
		t.Errorf("health = %+v, want the targets and task counts read", ev.Health)
	}
}

func TestReasonNamesTheDeniedCall(t *testing.T) {
	cw := deniedMetrics{}
	target := &evidence.Target{Alarm: anAlarm, Now: time.Now(), LoadBalancer: "app/checkout-prod/1"}
	_, err := evidence.NewPattern(cw).Collect(context.Background(), target)
	if got, want := evidence.Reason(err, time.Second), "access denied (cloudwatch:GetMetricData)"; got != want {
		t.Errorf("reason = %q, want %q", got, want)
	}
	if got := evidence.Reason(context.DeadlineExceeded, 4*time.Second); got != "timed out after 4s" {
		t.Errorf("reason for a deadline = %q", got)
	}
	if got := evidence.Reason(errors.New("boom"), time.Second); got != "failed" {
		t.Errorf("reason for an unknown error = %q, want failed", got)
	}
}

func TestGatherLateSendsWhatArrivesAfterTheBudget(t *testing.T) {
	g := evidence.NewGatherer(render, nil,
		&stub{name: "pattern", ev: &store.Evidence{Pattern: &store.Pattern{Source: "target", Code: "5xx", ErrorRate: -1}}},
		&stub{name: "health", delay: 300 * time.Millisecond, ev: &store.Evidence{Health: &store.Health{TargetGroup: "checkout", Unhealthy: 2}}},
	)
	start := time.Now()
	first, late := g.GatherLate(context.Background(), anAlarm, nil, 100*time.Millisecond)
	if took := time.Since(start); took > 250*time.Millisecond {
		t.Errorf("GatherLate returned after %s, want about the 100ms budget", took)
	}
	if first.Health != nil || len(first.Missing) != 1 || first.Missing[0].Collector != "health" {
		t.Fatalf("first = %+v, want health missing", first)
	}
	var updates []*store.Evidence
	for ev := range late {
		updates = append(updates, ev)
	}
	if len(updates) != 1 {
		t.Fatalf("%d late updates, want 1", len(updates))
	}
	u := updates[0]
	if u.Health == nil || u.Health.Unhealthy != 2 || u.Pattern == nil || len(u.Missing) != 0 {
		t.Errorf("update = %+v, want the pattern kept, health added, nothing missing", u)
	}
	if u.Reading != "target 5xx, 2 of 2 targets unhealthy" {
		t.Errorf("reading after the late answer = %q", u.Reading)
	}
}

// A collector that read some parts and not others returns both: the
// gatherer keeps its part next to the missing ones, not only the
// collectors that failed outright.
func TestTheGathererKeepsThePartsACollectorCouldNotRead(t *testing.T) {
	part := &store.Evidence{Health: &store.Health{TargetGroup: "checkout", Unhealthy: 1},
		Missing: []store.MissingEvidence{{Collector: "health: stopped tasks", Reason: "access denied (ecs:ListTasks)"}}}
	g := evidence.NewGatherer(render, nil,
		&stub{name: "health", ev: part},
		&stub{name: "changes", err: context.DeadlineExceeded, delay: time.Millisecond})
	ev := g.Gather(context.Background(), anAlarm, nil, time.Second)
	want := []store.MissingEvidence{
		{Collector: "health: stopped tasks", Reason: "access denied (ecs:ListTasks)"},
		{Collector: "changes", Reason: "timed out after 1s"},
	}
	if ev.Health == nil || !slices.Equal(ev.Missing, want) {
		t.Errorf("health %+v, missing %+v; want the health and missing %+v", ev.Health, ev.Missing, want)
	}
}
