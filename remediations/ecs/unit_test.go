package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

func apiErr(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg}
}

const tdARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:"

func settled(td string) []types.Deployment {
	return []types.Deployment{{Id: aws.String("ecs-svc/1"), Status: aws.String("PRIMARY"), RolloutState: types.DeploymentRolloutStateCompleted, TaskDefinition: aws.String(td)}}
}

// checkoutFake is prod/checkout on checkout:2, desired 4, behind target
// group targetgroup/checkout/abc, with revisions 1 and 2 registered.
func checkoutFake() (*fakeECS, *types.Service) {
	f := newFakeECS()
	f.taskDefs = []string{tdARN + "1", tdARN + "2"}
	svc := f.add("prod", types.Service{
		ServiceName:    aws.String("checkout"),
		DesiredCount:   4,
		TaskDefinition: aws.String(tdARN + "2"),
		Deployments:    settled(tdARN + "2"),
		LoadBalancers:  []types.LoadBalancer{{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout/abc")}},
	})
	return f, svc
}

var prodCheckout = remediations.Params{"cluster": "prod", "service": "checkout"}

func TestScaleTarget(t *testing.T) {
	tests := []struct {
		name    string
		current int32
		p       remediations.Params
		want    int32
		capped  bool
	}{
		{"add adds to the current count", 4, remediations.Params{"add": 2, "max": 10}, 6, false},
		{"set sets the count", 4, remediations.Params{"set": 7, "max": 10}, 7, false},
		{"factor rounds up", 4, remediations.Params{"factor": 1.1, "max": 10}, 5, false},
		{"factor does not round an exact product up", 10, remediations.Params{"factor": 1.1, "max": 20}, 11, false},
		{"factor 1.5 of 4 is 6", 4, remediations.Params{"factor": 1.5, "max": 10}, 6, false},
		{"max caps the target", 4, remediations.Params{"add": 10, "max": 8}, 8, true},
		{"min raises the target", 0, remediations.Params{"factor": 2.0, "min": 2, "max": 8}, 2, false},
		{"set below current stays below", 4, remediations.Params{"set": 2, "max": 8}, 2, false},
		{"huge numbers are clamped to max", 4, remediations.Params{"add": 1e12, "max": 1e12}, 2147483647, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, capped := scaleTarget(tt.current, tt.p)
			if got != tt.want || capped != tt.capped {
				t.Errorf("scaleTarget(%d, %v) = %d, capped %v; want %d, capped %v", tt.current, tt.p, got, capped, tt.want, tt.capped)
			}
		})
	}
}

func TestInFlight(t *testing.T) {
	tests := []struct {
		name        string
		deployments []types.Deployment
		want        string // substring; "" means settled
	}{
		{"a single completed deployment is settled", settled(tdARN + "2"), ""},
		{"no deployments is settled", nil, ""},
		{"a lone failed deployment is settled", []types.Deployment{{Id: aws.String("ecs-svc/1"), Status: aws.String("PRIMARY"), RolloutState: types.DeploymentRolloutStateFailed}}, ""},
		{"an in-progress primary is in flight", []types.Deployment{{Id: aws.String("ecs-svc/2"), Status: aws.String("PRIMARY"), RolloutState: types.DeploymentRolloutStateInProgress}}, "deployment ecs-svc/2 is in progress"},
		{"two deployments are in flight", []types.Deployment{
			{Id: aws.String("ecs-svc/2"), Status: aws.String("PRIMARY"), RolloutState: types.DeploymentRolloutStateInProgress},
			{Id: aws.String("ecs-svc/1"), Status: aws.String("ACTIVE"), RolloutState: types.DeploymentRolloutStateCompleted},
		}, "a deployment is in progress (2 deployments)"},
		{"a circuit breaker rollback is recognised", []types.Deployment{
			{Id: aws.String("ecs-svc/3"), Status: aws.String("PRIMARY"), RolloutState: types.DeploymentRolloutStateInProgress, RolloutStateReason: aws.String("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.")},
			{Id: aws.String("ecs-svc/2"), Status: aws.String("ACTIVE"), RolloutState: types.DeploymentRolloutStateFailed, RolloutStateReason: aws.String("ECS deployment circuit breaker: tasks failed to start.")},
		}, "ECS is already rolling back: deployment ecs-svc/2 failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := inFlight(&types.Service{Deployments: tt.deployments})
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("inFlight = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRollbackPlansNoOpWhileECSIsRollingBack(t *testing.T) {
	f, svc := checkoutFake()
	svc.Deployments = []types.Deployment{
		{Id: aws.String("ecs-svc/3"), Status: aws.String("PRIMARY"), RolloutState: types.DeploymentRolloutStateInProgress, TaskDefinition: aws.String(tdARN + "1")},
		{Id: aws.String("ecs-svc/2"), Status: aws.String("ACTIVE"), RolloutState: types.DeploymentRolloutStateFailed, RolloutStateReason: aws.String("ECS deployment circuit breaker: tasks failed to start.")},
	}
	plan, err := NewRollback(f).Plan(context.Background(), nil, prodCheckout)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if !plan.NoOp || !strings.Contains(plan.Summary, "ECS is already rolling back") {
		t.Errorf("plan = NoOp %v, %q; want a NoOp saying ECS is already rolling back", plan.NoOp, plan.Summary)
	}
	for _, c := range f.calls {
		if c == "ListTaskDefinitions" || c == "UpdateService" {
			t.Errorf("planning called %s while ECS rolls back", c)
		}
	}
	res, err := NewRollback(f).Apply(context.Background(), plan)
	if err != nil || len(f.updates) != 0 {
		t.Fatalf("Apply of the NoOp plan = %v, %d updates; want no error and no update", err, len(f.updates))
	}
	if res.Summary != plan.Summary {
		t.Errorf("result summary %q, want the plan's %q", res.Summary, plan.Summary)
	}
}

func TestRollbackPicksHighestEarlierRevisionOfTheFamily(t *testing.T) {
	f, svc := checkoutFake()
	svc.TaskDefinition = aws.String(tdARN + "7")
	svc.Deployments = settled(tdARN + "7")
	// Not sorted, another family with the same prefix, a gap in revisions,
	// paged two at a time.
	f.taskDefs = []string{tdARN + "7", tdARN + "3", "arn:aws:ecs:us-east-1:123456789012:task-definition/checkout-worker:6", tdARN + "5", tdARN + "8", tdARN + "1"}
	f.pageSize = 2
	plan, err := NewRollback(f).Plan(context.Background(), nil, prodCheckout)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if want := "prod/checkout: task definition checkout:7 -> checkout:5 (new deployment of 4 tasks)"; plan.Summary != want {
		t.Errorf("summary %q, want %q", plan.Summary, want)
	}
}

func TestAccessDeniedNamesTheActionAndResource(t *testing.T) {
	f, _ := checkoutFake()
	f.errs["UpdateService"] = apiErr("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/medic/x is not authorized to perform: ecs:UpdateService")
	a := NewRollback(f)
	plan, err := a.Plan(context.Background(), nil, prodCheckout)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	_, err = a.Apply(context.Background(), roundTrip(t, plan))
	if !errors.Is(err, remediations.ErrAccessDenied) {
		t.Fatalf("Apply error %v, want ErrAccessDenied", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Op != "ecs:UpdateService" || ae.Resource != "prod/checkout" {
		t.Errorf("APIError = %+v, want op ecs:UpdateService on prod/checkout", ae)
	}
	var se smithy.APIError
	if !errors.As(err, &se) || se.ErrorCode() != "AccessDeniedException" {
		t.Errorf("the SDK error is not reachable with errors.As: %v", err)
	}
	if !strings.Contains(err.Error(), "ecs:UpdateService on prod/checkout: access denied") {
		t.Errorf("message %q does not say which call on what was denied", err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		code string
		want error
	}{
		{"ClusterNotFoundException", remediations.ErrNotFound},
		{"ServiceNotFoundException", remediations.ErrNotFound},
		{"ServiceNotActiveException", remediations.ErrNotFound},
		{"ObjectNotFoundException", remediations.ErrNotFound},
		{"AccessDeniedException", remediations.ErrAccessDenied},
		{"InvalidParameterException", remediations.ErrInvalid},
		{"ClientException", remediations.ErrInvalid},
		{"ValidationException", remediations.ErrInvalid},
		{"ThrottlingException", nil},
		{"ServerException", nil},
	}
	sentinels := []error{remediations.ErrNotFound, remediations.ErrAccessDenied, remediations.ErrInvalid}
	for _, tt := range tests {
		t.Run(tt.code+" maps to "+fmt.Sprint(tt.want), func(t *testing.T) {
			in := apiErr(tt.code, "boom")
			err := classify(fmt.Errorf("operation error: %w", in), "ecs:DescribeServices", "prod/checkout")
			for _, s := range sentinels {
				if errors.Is(err, s) != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, !(s == tt.want))
				}
			}
			if !errors.Is(err, in) {
				t.Errorf("the original error is lost: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "ecs:DescribeServices on prod/checkout: ") {
				t.Errorf("message %q does not say what was being done", err)
			}
		})
	}
	if classify(nil, "x", "y") != nil {
		t.Error("classify(nil) is not nil")
	}
}

func TestResolvePagesClustersAndDescribesTenAtATime(t *testing.T) {
	f := newFakeECS()
	f.pageSize = 3
	for c := range 3 {
		for i := range 12 {
			f.add(fmt.Sprintf("c%d", c), types.Service{
				ServiceName:   aws.String(fmt.Sprintf("svc%02d", i)),
				LoadBalancers: []types.LoadBalancer{{TargetGroupArn: aws.String(fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-%d-%d/0123", c, i))}},
			})
		}
	}
	// A draining service on the same target group does not count.
	f.add("c2", types.Service{ServiceName: aws.String("old"), Status: aws.String("DRAINING"),
		LoadBalancers: []types.LoadBalancer{{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-2-11/0123")}}})
	a := &alarm.Alarm{Name: "x", Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count",
		Dimensions: map[string]string{"TargetGroup": "targetgroup/tg-2-11/0123", "LoadBalancer": "app/web/1"}}}}
	ref, _, err := resolve(context.Background(), f, a, remediations.Params{})
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if ref.String() != "c2/svc11" {
		t.Errorf("resolved %s, want c2/svc11", ref)
	}
	// A name that is a suffix of another target group's name must not match.
	a.Metrics[0].Dimensions["TargetGroup"] = "targetgroup/1-11/0123"
	if _, _, err := resolve(context.Background(), f, a, remediations.Params{}); !errors.Is(err, remediations.ErrTarget) {
		t.Errorf("partial name match: err %v, want ErrTarget", err)
	}
}

func TestScaleApplyWithFakes(t *testing.T) {
	f, _ := checkoutFake()
	as := &fakeAAS{target: &aastypes.ScalableTarget{
		ResourceId: aws.String("service/prod/checkout"), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		MinCapacity: aws.Int32(2), MaxCapacity: aws.Int32(20),
	}}
	s := NewScale(f, as)
	plan, err := s.Plan(context.Background(), nil, remediations.Params{"cluster": "prod", "service": "checkout", "add": 2, "max": 10})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if want := "prod/checkout: desired 4 -> 6 tasks; auto scaling min 2 -> 6"; plan.Summary != want {
		t.Errorf("summary %q, want %q", plan.Summary, want)
	}
	as.errs = map[string]error{"RegisterScalableTarget": apiErr("AccessDeniedException", "no")}
	_, err = s.Apply(context.Background(), roundTrip(t, plan))
	if !errors.Is(err, remediations.ErrAccessDenied) || !strings.Contains(err.Error(), "application-autoscaling:RegisterScalableTarget on service/prod/checkout: access denied") {
		t.Errorf("Apply error %v, want access denied naming the call", err)
	}
	if len(f.updates) != 0 {
		t.Errorf("desired count was changed although the floor could not be raised")
	}
}

// scaleFakes is checkoutFake with a scalable target at min/max 2/20 and an
// ecs.scale plan for desired 4 -> 6, auto scaling min 2 -> 6.
func scaleFakes(t *testing.T) (*fakeECS, *fakeAAS, *Scale, *remediations.Plan) {
	t.Helper()
	f, _ := checkoutFake()
	as := &fakeAAS{target: &aastypes.ScalableTarget{
		ResourceId: aws.String("service/prod/checkout"), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		MinCapacity: aws.Int32(2), MaxCapacity: aws.Int32(20),
	}}
	s := NewScale(f, as)
	plan, err := s.Plan(context.Background(), nil, remediations.Params{"cluster": "prod", "service": "checkout", "add": 2, "max": 10})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if want := "prod/checkout: desired 4 -> 6 tasks; auto scaling min 2 -> 6"; plan.Summary != want {
		t.Fatalf("summary %q, want %q", plan.Summary, want)
	}
	return f, as, s, roundTrip(t, plan)
}

func capacityOf(as *fakeAAS) string {
	return fmt.Sprintf("%d/%d", aws.ToInt32(as.target.MinCapacity), aws.ToInt32(as.target.MaxCapacity))
}

func TestScaleApplyPutsTheCapacityBackWhenTheDesiredCountFails(t *testing.T) {
	f, as, s, plan := scaleFakes(t)
	updErr := apiErr("ServerException", "Service Unavailable")
	f.errs["UpdateService"] = updErr
	_, err := s.Apply(context.Background(), plan)
	if err == nil {
		t.Fatal("Apply succeeded although UpdateService failed")
	}
	if got := capacityOf(as); got != "2/20" {
		t.Errorf("after the failed apply min/max is %s, want it put back to 2/20", got)
	}
	if len(as.registers) != 2 || aws.ToInt32(as.registers[1].MinCapacity) != 2 || aws.ToInt32(as.registers[1].MaxCapacity) != 20 {
		t.Errorf("RegisterScalableTarget calls %+v, want the raise and then 2/20", as.registers)
	}
	for _, want := range []string{
		"scale prod/checkout: set desired count 4 -> 6 failed: ecs:UpdateService on prod/checkout",
		"auto scaling min/max had been raised 2/20 -> 6/20 and was put back to 2/20",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if !errors.Is(err, updErr) {
		t.Errorf("the UpdateService error is lost: %v", err)
	}
	if errors.Is(err, remediations.ErrStalePlan) {
		t.Errorf("a failed apply is reported as a stale plan: %v", err)
	}
	if !errors.Is(err, remediations.ErrNotApplied) {
		t.Errorf("the capacity was put back, so nothing is applied, but the error does not say so: %v", err)
	}
	if got := f.clusters["prod"][0].DesiredCount; got != 4 {
		t.Errorf("desired count %d, want 4", got)
	}
}

func TestScaleApplySaysTheCapacityIsStillRaisedWhenPuttingItBackFails(t *testing.T) {
	f, as, s, plan := scaleFakes(t)
	f.errs["UpdateService"] = apiErr("InvalidParameterException", "bad count")
	// The raise succeeds; putting it back is denied.
	as.registerErrs = []error{nil, apiErr("AccessDeniedException", "not authorized to perform: application-autoscaling:RegisterScalableTarget")}
	_, err := s.Apply(context.Background(), plan)
	if err == nil {
		t.Fatal("Apply succeeded although UpdateService failed")
	}
	if got := capacityOf(as); got != "6/20" {
		t.Errorf("min/max is %s; the fake should have kept 6/20", got)
	}
	for _, want := range []string{
		"scale prod/checkout: set desired count 4 -> 6 failed: ecs:UpdateService on prod/checkout: invalid request",
		"auto scaling min/max had been raised 2/20 -> 6/20 and putting it back failed: application-autoscaling:RegisterScalableTarget on service/prod/checkout: access denied",
		"auto scaling min/max is still raised at 6/20: set application-autoscaling:service/prod/checkout back to min/max 2/20 by hand",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Both failures stay classified.
	if !errors.Is(err, remediations.ErrInvalid) || !errors.Is(err, remediations.ErrAccessDenied) {
		t.Errorf("error %v does not wrap both the UpdateService and the restore failure", err)
	}
	if errors.Is(err, remediations.ErrNotApplied) {
		t.Errorf("the capacity is still raised, yet the error says nothing was applied: %v", err)
	}
}

// cancelingECS cancels the apply's context and fails UpdateService the way
// the SDK does when the deadline passes mid-call.
type cancelingECS struct {
	*fakeECS
	cancel context.CancelFunc
}

func (c cancelingECS) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, opt ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	c.cancel()
	return nil, ctx.Err()
}

func TestScaleApplyPutsTheCapacityBackEvenWhenTheContextIsDone(t *testing.T) {
	f, as, _, plan := scaleFakes(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewScale(cancelingECS{f, cancel}, as)
	_, err := s.Apply(ctx, plan)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "was put back to 2/20") {
		t.Errorf("Apply error %v, want the cancellation and the capacity put back", err)
	}
	if got := capacityOf(as); got != "2/20" {
		t.Errorf("min/max is %s, want 2/20", got)
	}
}

func TestScaleUndoPutsTheCapacityBackWhenTheDesiredCountFails(t *testing.T) {
	f, as, s, plan := scaleFakes(t)
	res, err := s.Apply(context.Background(), plan)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := capacityOf(as); got != "6/20" {
		t.Fatalf("after apply min/max is %s, want 6/20", got)
	}
	f.errs["UpdateService"] = apiErr("ServerException", "Service Unavailable")
	_, err = s.Undo(context.Background(), roundTripResult(t, res))
	if err == nil || !strings.Contains(err.Error(), "undo scale of prod/checkout: set desired count 6 -> 4 failed") ||
		!strings.Contains(err.Error(), "auto scaling min/max had been changed 6/20 -> 2/20 and was put back to 6/20") {
		t.Errorf("Undo error %v, want the failed desired count and the capacity put back to 6/20", err)
	}
	if got := capacityOf(as); got != "6/20" {
		t.Errorf("after the failed undo min/max is %s, want 6/20 (what apply set)", got)
	}
}

func TestBadInputIsAnErrorNotAPanic(t *testing.T) {
	ctx := context.Background()
	for _, a := range Actions(nil, nil) {
		t.Run(a.Name(), func(t *testing.T) {
			if s := a.Schema(); len(s.IAM) == 0 || s.Description == "" {
				t.Errorf("Schema with nil clients is empty: %+v", s)
			}
			if _, err := a.Plan(ctx, nil, remediations.Params{"cluster": "prod", "service": "checkout", "set": 3, "max": 4}); err == nil {
				t.Error("Plan with nil clients did not fail")
			}
			if _, err := a.Plan(ctx, nil, remediations.Params{"cluster": 7, "bogus": true}); !errors.Is(err, remediations.ErrInvalid) {
				t.Errorf("Plan with bad params: err %v, want ErrInvalid", err)
			}
			for _, p := range []*remediations.Plan{
				nil,
				{Action: "other.action"},
				{Action: a.Name()},
				{Action: a.Name(), Data: json.RawMessage(`{"service": 3}`)},
				{Action: a.Name(), Data: json.RawMessage(`{}`)},
			} {
				if _, err := a.Apply(ctx, p); err == nil {
					t.Errorf("Apply(%+v) did not fail", p)
				}
			}
			if u, ok := a.(remediations.Undoer); ok {
				for _, r := range []*remediations.Result{nil, {Action: a.Name()}, {Action: a.Name(), Data: json.RawMessage(`[]`)}} {
					if _, err := u.Undo(ctx, r); err == nil {
						t.Errorf("Undo(%+v) did not fail", r)
					}
				}
			}
		})
	}
}

func TestOnlyReversibleActionsUndo(t *testing.T) {
	for _, a := range Actions(nil, nil) {
		_, undoes := a.(remediations.Undoer)
		if undoes != a.Schema().Reversible {
			t.Errorf("%s: implements Undoer %v, Schema().Reversible %v", a.Name(), undoes, a.Schema().Reversible)
		}
	}
}

func TestTargetFromAlarmWithOnlyALoadBalancerIsRefused(t *testing.T) {
	f, _ := checkoutFake()
	a := &alarm.Alarm{Name: "web-elb-5xx", Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_5XX_Count",
		Dimensions: map[string]string{"LoadBalancer": "app/web/50dc6c495c0c9188"}}}}
	_, err := NewRestart(f).Plan(context.Background(), a, remediations.Params{})
	if !errors.Is(err, remediations.ErrTarget) || !strings.Contains(err.Error(), "names only load balancer app/web/50dc6c495c0c9188") {
		t.Errorf("err %v, want ErrTarget explaining the LoadBalancer-only alarm", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("resolution searched anyway: %v", f.calls)
	}
}

func TestTargetFromAlarmWithSeveralTargetGroupsIsRefused(t *testing.T) {
	f, _ := checkoutFake()
	a := &alarm.Alarm{Name: "all-5xx", Metrics: []alarm.Metric{
		{ID: "m1", Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{"TargetGroup": "targetgroup/checkout/abc"}},
		{ID: "m2", Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{"TargetGroup": "targetgroup/search/def"}},
	}}
	_, err := NewScale(f, &fakeAAS{}).Plan(context.Background(), a, remediations.Params{"add": 1, "max": 9})
	if !errors.Is(err, remediations.ErrTarget) || !strings.Contains(err.Error(), "watches 2 target groups") {
		t.Errorf("err %v, want ErrTarget naming both target groups", err)
	}
}

// roundTrip sends a plan through JSON, as it travels from the card to the
// executor.
func roundTrip(t *testing.T, p *remediations.Plan) *remediations.Plan {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("marshal plan: %v", err)
	}
	var out remediations.Plan
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal plan: %v", err)
	}
	return &out
}

// roundTripResult sends a result through JSON, as it is stored for Undo.
func roundTripResult(t *testing.T, r *remediations.Result) *remediations.Result {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	var out remediations.Result
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal result: %v", err)
	}
	return &out
}
