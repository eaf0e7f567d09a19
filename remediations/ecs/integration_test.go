package ecs

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// These tests run the actions through the real SDK against moto_server and
// read every effect back through the API. They share one moto_server, so
// none calls t.Parallel.

func (s *stack) scale() *Scale       { return NewScale(s.ecs, s.aas) }
func (s *stack) restart() *Restart   { return NewRestart(s.ecs) }
func (s *stack) rollback() *Rollback { return NewRollback(s.ecs) }

func plan(t *testing.T, a remediations.Action, p remediations.Params) *remediations.Plan {
	t.Helper()
	pl, err := a.Plan(context.Background(), nil, p)
	if err != nil {
		t.Fatalf("%s plan %v: %v", a.Name(), p, err)
	}
	return pl
}

func apply(t *testing.T, a remediations.Action, pl *remediations.Plan) *remediations.Result {
	t.Helper()
	res, err := a.Apply(context.Background(), roundTrip(t, pl))
	if err != nil {
		t.Fatalf("%s apply %q: %v", a.Name(), pl.Summary, err)
	}
	return roundTripResult(t, res)
}

func undo(t *testing.T, a remediations.Undoer, res *remediations.Result) *remediations.Result {
	t.Helper()
	out, err := a.Undo(context.Background(), res)
	if err != nil {
		t.Fatalf("undo %q: %v", res.Summary, err)
	}
	return out
}

func with(p remediations.Params, kv ...any) remediations.Params {
	out := remediations.Params{}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestScaleWithoutAutoScalingSetsDesiredCountAndUndoes(t *testing.T) {
	s := newStack(t)
	a := s.scale()
	pl := plan(t, a, with(prodCheckout, "add", 2, "max", 10))
	if want := "prod/checkout: desired 4 -> 6 tasks"; pl.Summary != want {
		t.Errorf("summary %q, want %q", pl.Summary, want)
	}
	if pl.Target != "ecs:prod/checkout" || pl.NoOp || !pl.Reversible {
		t.Errorf("plan target %q noop %v reversible %v", pl.Target, pl.NoOp, pl.Reversible)
	}
	if got := s.read(t).DesiredCount; got != 4 {
		t.Fatalf("planning changed the desired count to %d", got)
	}
	res := apply(t, a, pl)
	if got := s.read(t).DesiredCount; got != 6 {
		t.Errorf("after apply desired count is %d, want 6", got)
	}
	if want := "prod/checkout: desired 4 -> 6 tasks"; res.Summary != want {
		t.Errorf("result summary %q, want %q", res.Summary, want)
	}
	undo(t, a, res)
	if got := s.read(t).DesiredCount; got != 4 {
		t.Errorf("after undo desired count is %d, want 4", got)
	}
}

func TestScaleWithAutoScalingRaisesTheFloorAndUndoRestoresIt(t *testing.T) {
	s := newStack(t)
	s.scalableTarget(t, "prod", "checkout", 2, 5)
	a := s.scale()
	pl := plan(t, a, with(prodCheckout, "set", 6, "max", 10))
	if want := "prod/checkout: desired 4 -> 6 tasks; auto scaling min 2 -> 6, max 5 -> 6"; pl.Summary != want {
		t.Errorf("summary %q, want %q", pl.Summary, want)
	}
	if len(pl.Changes) != 3 {
		t.Errorf("changes %+v, want desiredCount, MinCapacity and MaxCapacity", pl.Changes)
	}
	res := apply(t, a, pl)
	if got := s.read(t).DesiredCount; got != 6 {
		t.Errorf("after apply desired count is %d, want 6", got)
	}
	if lo, hi := s.readCapacity(t); lo != 6 || hi != 6 {
		t.Errorf("after apply min/max is %d/%d, want 6/6", lo, hi)
	}
	if len(res.Changes) != 3 {
		t.Errorf("result changes %+v, want three", res.Changes)
	}

	u := undo(t, a, res)
	if got := s.read(t).DesiredCount; got != 4 {
		t.Errorf("after undo desired count is %d, want 4", got)
	}
	if lo, hi := s.readCapacity(t); lo != 2 || hi != 5 {
		t.Errorf("after undo min/max is %d/%d, want 2/5", lo, hi)
	}
	if want := "prod/checkout: desired 6 -> 4 tasks; auto scaling min 6 -> 2, max 6 -> 5"; u.Summary != want {
		t.Errorf("undo summary %q, want %q", u.Summary, want)
	}
}

func TestScaleKeepsAutoScalingMaxWhenItIsHighEnough(t *testing.T) {
	s := newStack(t)
	s.scalableTarget(t, "prod", "checkout", 2, 20)
	pl := plan(t, s.scale(), with(prodCheckout, "factor", 1.5, "max", 10))
	if want := "prod/checkout: desired 4 -> 6 tasks; auto scaling min 2 -> 6"; pl.Summary != want {
		t.Errorf("summary %q, want %q", pl.Summary, want)
	}
	apply(t, s.scale(), pl)
	if lo, hi := s.readCapacity(t); lo != 6 || hi != 20 {
		t.Errorf("after apply min/max is %d/%d, want 6/20", lo, hi)
	}
}

func TestScalePlanBounds(t *testing.T) {
	s := newStack(t)
	tests := []struct {
		name   string
		p      remediations.Params
		want   string
		noop   bool
		target int32
	}{
		{"max caps the plan", with(prodCheckout, "add", 10, "max", 8), "prod/checkout: desired 4 -> 8 tasks, capped at max 8", false, 8},
		{"set below the current count is a no-op", with(prodCheckout, "set", 2, "max", 8), "prod/checkout: already 4 tasks (target 2); nothing to change", true, 4},
		{"set to the current count is a no-op", with(prodCheckout, "set", 4, "max", 8), "prod/checkout: already 4 tasks (target 4); nothing to change", true, 4},
		{"max below the current count is a no-op", with(prodCheckout, "add", 3, "max", 3), "prod/checkout: already 4 tasks (target 3, capped at max 3); nothing to change", true, 4},
		{"factor rounds up", with(prodCheckout, "factor", 1.1, "max", 8), "prod/checkout: desired 4 -> 5 tasks", false, 5},
		{"min raises the plan", with(prodCheckout, "add", 1, "min", 7, "max", 8), "prod/checkout: desired 4 -> 7 tasks", false, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := plan(t, s.scale(), tt.p)
			if pl.Summary != tt.want || pl.NoOp != tt.noop {
				t.Errorf("plan %q noop %v, want %q noop %v", pl.Summary, pl.NoOp, tt.want, tt.noop)
			}
			var d scaleData
			if err := decodeData(pl.Data, ScaleName, &d); err != nil || d.Target != tt.target {
				t.Errorf("plan data target %d (%v), want %d", d.Target, err, tt.target)
			}
		})
	}
	if got := s.read(t).DesiredCount; got != 4 {
		t.Errorf("planning changed the desired count to %d", got)
	}
}

func TestScaleNoOpApplyChangesNothing(t *testing.T) {
	s := newStack(t)
	s.setDesired(t, 6)
	pl := plan(t, s.scale(), with(prodCheckout, "set", 6, "max", 10))
	if want := "prod/checkout: already 6 tasks (target 6); nothing to change"; pl.Summary != want || !pl.NoOp {
		t.Fatalf("plan %q noop %v, want %q noop", pl.Summary, pl.NoOp, want)
	}
	res := apply(t, s.scale(), pl)
	if len(res.Changes) != 0 || s.read(t).DesiredCount != 6 {
		t.Errorf("no-op apply changed something: %+v", res)
	}
	if u := undo(t, s.scale(), res); !strings.Contains(u.Summary, "nothing to undo") {
		t.Errorf("undo of a no-op: %q", u.Summary)
	}
}

func TestScaleRefusesAStalePlan(t *testing.T) {
	t.Run("desired count changed", func(t *testing.T) {
		s := newStack(t)
		pl := plan(t, s.scale(), with(prodCheckout, "add", 2, "max", 10))
		s.setDesired(t, 5)
		_, err := s.scale().Apply(context.Background(), roundTrip(t, pl))
		if !errors.Is(err, remediations.ErrStalePlan) {
			t.Fatalf("apply error %v, want ErrStalePlan", err)
		}
		if want := "prod/checkout changed since the plan: desired count is now 5, plan was made at 4"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
		if got := s.read(t).DesiredCount; got != 5 {
			t.Errorf("a refused plan changed the desired count to %d", got)
		}
	})
	t.Run("auto scaling min changed", func(t *testing.T) {
		s := newStack(t)
		s.scalableTarget(t, "prod", "checkout", 2, 10)
		pl := plan(t, s.scale(), with(prodCheckout, "add", 2, "max", 10))
		s.scalableTarget(t, "prod", "checkout", 3, 10)
		_, err := s.scale().Apply(context.Background(), roundTrip(t, pl))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "auto scaling min/max is now 3/10, plan was made at 2/10") {
			t.Errorf("apply error %v, want a stale plan naming min/max", err)
		}
	})
	t.Run("auto scaling target added", func(t *testing.T) {
		s := newStack(t)
		pl := plan(t, s.scale(), with(prodCheckout, "add", 2, "max", 10))
		s.scalableTarget(t, "prod", "checkout", 1, 10)
		if _, err := s.scale().Apply(context.Background(), roundTrip(t, pl)); !errors.Is(err, remediations.ErrStalePlan) {
			t.Errorf("apply error %v, want ErrStalePlan", err)
		}
	})
}

func TestScaleUndoRefusesWhenTheServiceMovedOn(t *testing.T) {
	s := newStack(t)
	res := apply(t, s.scale(), plan(t, s.scale(), with(prodCheckout, "add", 2, "max", 10)))
	s.setDesired(t, 9)
	_, err := s.scale().Undo(context.Background(), res)
	if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "desired count is now 9, medic set 6") {
		t.Errorf("undo error %v, want a stale error", err)
	}
	if got := s.read(t).DesiredCount; got != 9 {
		t.Errorf("refused undo changed the desired count to %d", got)
	}
}

func TestRestartForcesANewDeployment(t *testing.T) {
	s := newStack(t)
	a := s.restart()
	before := s.read(t)
	pl := plan(t, a, prodCheckout)
	if want := "prod/checkout: restart all 4 tasks on checkout:2 (forced new deployment)"; pl.Summary != want || pl.NoOp || pl.Reversible {
		t.Errorf("plan %q noop %v reversible %v, want %q", pl.Summary, pl.NoOp, pl.Reversible, want)
	}
	res := apply(t, a, pl)
	after := s.read(t)
	// moto only renews deployments[0]'s id and timestamps on a forced
	// deployment: that, the unchanged task definition and desired count are
	// what can be checked.
	oldID, newID := primaryDeployment(&before), primaryDeployment(&after)
	if newID == "" || newID == oldID {
		t.Errorf("primary deployment %q -> %q, want a new one", oldID, newID)
	}
	if aws.ToString(after.TaskDefinition) != aws.ToString(before.TaskDefinition) || after.DesiredCount != 4 {
		t.Errorf("restart changed task definition or desired count: %s, %d", aws.ToString(after.TaskDefinition), after.DesiredCount)
	}
	if !strings.Contains(res.Summary, "new deployment "+newID+" started on checkout:2") {
		t.Errorf("result summary %q does not name the new deployment %s", res.Summary, newID)
	}
	if _, ok := remediations.Action(a).(remediations.Undoer); ok {
		t.Error("ecs.restart implements Undoer")
	}
	// The same plan again is stale: the deployment it was made at is gone.
	if _, err := a.Apply(context.Background(), roundTrip(t, pl)); !errors.Is(err, remediations.ErrStalePlan) {
		t.Errorf("second apply of one restart plan: %v, want ErrStalePlan", err)
	}
}

func TestRollbackToThePreviousRevisionAndUndo(t *testing.T) {
	s := newStack(t)
	a := s.rollback()
	pl := plan(t, a, prodCheckout)
	if want := "prod/checkout: task definition checkout:2 -> checkout:1 (new deployment of 4 tasks)"; pl.Summary != want {
		t.Errorf("summary %q, want %q", pl.Summary, want)
	}
	res := apply(t, a, pl)
	if got := taskDefName(aws.ToString(s.read(t).TaskDefinition)); got != "checkout:1" {
		t.Errorf("after rollback the service is on %s, want checkout:1", got)
	}
	if want := "prod/checkout: rolled back task definition checkout:2 -> checkout:1"; res.Summary != want {
		t.Errorf("result %q, want %q", res.Summary, want)
	}
	u := undo(t, a, res)
	if got := taskDefName(aws.ToString(s.read(t).TaskDefinition)); got != "checkout:2" {
		t.Errorf("after undo the service is on %s, want checkout:2", got)
	}
	if want := "prod/checkout: rolled forward task definition checkout:1 -> checkout:2"; u.Summary != want {
		t.Errorf("undo result %q, want %q", u.Summary, want)
	}
}

func TestRollbackToANamedRevision(t *testing.T) {
	for _, p := range []remediations.Params{
		with(prodCheckout, "revision", 1),
		with(prodCheckout, "task_definition", "checkout:1"),
	} {
		t.Run("with "+strings.Join(paramNames(p), ","), func(t *testing.T) {
			s := newStack(t)
			td3 := s.taskDef(t, "checkout")
			_, err := s.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("checkout"), TaskDefinition: aws.String(td3)})
			must(t, "move to checkout:3", err)
			pl := plan(t, s.rollback(), p)
			if want := "prod/checkout: task definition checkout:3 -> checkout:1 (new deployment of 4 tasks)"; pl.Summary != want {
				t.Errorf("summary %q, want %q", pl.Summary, want)
			}
			apply(t, s.rollback(), pl)
			if got := aws.ToString(s.read(t).TaskDefinition); !strings.HasSuffix(got, ":task-definition/checkout:1") {
				t.Errorf("after rollback the service is on %s, want the checkout:1 ARN", got)
			}
		})
	}
}

func paramNames(p remediations.Params) []string {
	var out []string
	for k := range p {
		if k != "cluster" && k != "service" {
			out = append(out, k)
		}
	}
	return out
}

func TestRollbackErrors(t *testing.T) {
	s := newStack(t)
	s.service(t, "prod", "fresh", "checkout:1", "", 2)
	_, err := s.rollback().Plan(context.Background(), nil, remediations.Params{"cluster": "prod", "service": "fresh"})
	if !errors.Is(err, remediations.ErrNotFound) || !strings.Contains(err.Error(), "no ACTIVE revision of checkout older than checkout:1") {
		t.Errorf("rollback from the first revision: %v, want a not-found error naming the family", err)
	}
	_, err = s.rollback().Plan(context.Background(), nil, with(prodCheckout, "revision", 9))
	if !errors.Is(err, remediations.ErrNotFound) || !strings.Contains(err.Error(), "ecs:DescribeTaskDefinition on checkout:9") {
		t.Errorf("rollback to a missing revision: %v, want not found naming checkout:9", err)
	}
	pl := plan(t, s.rollback(), with(prodCheckout, "revision", 2))
	if !pl.NoOp || pl.Summary != "prod/checkout: already on checkout:2; nothing to change" {
		t.Errorf("rollback to the current revision: %q noop %v", pl.Summary, pl.NoOp)
	}
}

func TestRollbackRefusesATaskDefinitionOfAnotherFamily(t *testing.T) {
	s := newStack(t)
	paymentsARN := s.taskDef(t, "payments")
	s.taskDef(t, "checkout-worker")
	for _, td := range []string{"payments:1", paymentsARN, "payments", "checkout-worker:1"} {
		_, err := s.rollback().Plan(context.Background(), nil, with(prodCheckout, "task_definition", td))
		if !errors.Is(err, remediations.ErrInvalid) {
			t.Errorf("task_definition %s: %v, want ErrInvalid", td, err)
			continue
		}
		other := taskDefFamily(td)
		if want := "is of family " + other + ", not of the service's family checkout"; !strings.Contains(err.Error(), want) {
			t.Errorf("task_definition %s: %q does not name both families (%q)", td, err, want)
		}
	}
	if got := taskDefName(aws.ToString(s.read(t).TaskDefinition)); got != "checkout:2" {
		t.Errorf("a refused plan moved the service to %s", got)
	}
	// The service's own family, named without a revision, is its latest
	// ACTIVE revision: the one it is on.
	pl := plan(t, s.rollback(), with(prodCheckout, "task_definition", "checkout"))
	if !pl.NoOp {
		t.Errorf("task_definition checkout: %q, want a NoOp (already on checkout:2)", pl.Summary)
	}
}

func TestRollbackWhileADeploymentIsInProgressIsANoOp(t *testing.T) {
	s := newStack(t)
	// moto reports 10 running tasks: a service wanting 20 stays IN_PROGRESS.
	s.service(t, "prod", "busy", "checkout:2", "", 20)
	p := remediations.Params{"cluster": "prod", "service": "busy"}
	for _, a := range []remediations.Action{s.rollback(), s.restart()} {
		pl := plan(t, a, p)
		if !pl.NoOp || !strings.Contains(pl.Summary, "is in progress") {
			t.Errorf("%s plan %q noop %v, want a NoOp saying a deployment is in progress", a.Name(), pl.Summary, pl.NoOp)
		}
		apply(t, a, pl)
	}
	if got := taskDefName(aws.ToString(s.readService(t, "prod", "busy").TaskDefinition)); got != "checkout:2" {
		t.Errorf("no-op rollback moved the service to %s", got)
	}
}

func TestRollbackRefusesAStalePlan(t *testing.T) {
	s := newStack(t)
	pl := plan(t, s.rollback(), prodCheckout)
	td3 := s.taskDef(t, "checkout")
	_, err := s.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("checkout"), TaskDefinition: aws.String(td3)})
	must(t, "deploy checkout:3", err)
	_, err = s.rollback().Apply(context.Background(), roundTrip(t, pl))
	if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "task definition is now checkout:3, plan was made at checkout:2") {
		t.Errorf("apply error %v, want a stale plan naming the task definitions", err)
	}
}

func TestResolveFromTheAlarmsTargetGroup(t *testing.T) {
	s := newStack(t)
	// Noise: another cluster, another target group, a service without one.
	s.cluster(t, "staging")
	other := s.targetGroup(t, "search")
	s.service(t, "staging", "search", "checkout:1", other, 2)
	s.service(t, "prod", "worker", "checkout:1", "", 2)

	pl, err := s.scale().Plan(context.Background(), s.targetAlarm(s.tgARN), remediations.Params{"add": 1, "max": 10})
	if err != nil {
		t.Fatalf("plan from the alarm: %v", err)
	}
	if pl.Target != "ecs:prod/checkout" || pl.Summary != "prod/checkout: desired 4 -> 5 tasks" {
		t.Errorf("plan %q on %q, want prod/checkout", pl.Summary, pl.Target)
	}

	t.Run("the target_group param with cluster narrows the search", func(t *testing.T) {
		pl, err := s.restart().Plan(context.Background(), nil, remediations.Params{"cluster": "staging", "target_group": "targetgroup/" + tail(other, ":targetgroup/")})
		if err != nil || pl.Target != "ecs:staging/search" {
			t.Errorf("plan %v, %v; want staging/search", pl, err)
		}
	})
	t.Run("two services on one target group are ambiguous", func(t *testing.T) {
		s.service(t, "staging", "checkout-canary", "checkout:2", s.tgARN, 1)
		_, err := s.scale().Plan(context.Background(), s.targetAlarm(s.tgARN), remediations.Params{"add": 1, "max": 10})
		if !errors.Is(err, remediations.ErrTarget) || !strings.Contains(err.Error(), "2 services use it (prod/checkout, staging/checkout-canary)") {
			t.Errorf("err %v, want ErrTarget naming both services", err)
		}
	})
	t.Run("a target group no service uses is not found", func(t *testing.T) {
		orphan := s.targetGroup(t, "orphan")
		_, err := s.scale().Plan(context.Background(), s.targetAlarm(orphan), remediations.Params{"add": 1, "max": 10})
		if !errors.Is(err, remediations.ErrTarget) || !strings.Contains(err.Error(), "none of 4 active services in clusters prod, staging uses it") {
			t.Errorf("err %v, want ErrTarget saying what was searched", err)
		}
	})
}

func TestResolveFromAnEventBridgeAlarmEvent(t *testing.T) {
	s := newStack(t)
	raw, err := os.ReadFile("testdata/eventbridge-target-5xx.json")
	must(t, "read testdata", err)
	raw = []byte(strings.NewReplacer(
		"{{LOAD_BALANCER}}", tail(s.lbARN, ":loadbalancer/"),
		"{{TARGET_GROUP}}", "targetgroup/"+tail(s.tgARN, ":targetgroup/"),
	).Replace(string(raw)))
	alarms, err := alarm.Decode(raw)
	if err != nil || len(alarms) != 1 {
		t.Fatalf("decode the EventBridge event: %d alarms, %v", len(alarms), err)
	}
	pl, err := s.rollback().Plan(context.Background(), alarms[0], remediations.Params{})
	if err != nil {
		t.Fatalf("plan from the decoded alarm: %v", err)
	}
	if pl.Target != "ecs:prod/checkout" {
		t.Errorf("resolved %q, want ecs:prod/checkout", pl.Target)
	}
}

func TestUnknownClusterOrServiceIsNotFound(t *testing.T) {
	s := newStack(t)
	for _, p := range []remediations.Params{
		{"cluster": "nope", "service": "checkout"},
		{"cluster": "prod", "service": "nope"},
		{"cluster": "nope", "target_group": "targetgroup/checkout/0123"},
	} {
		for _, a := range []remediations.Action{s.restart(), s.rollback()} {
			_, err := a.Plan(context.Background(), nil, p)
			if !errors.Is(err, remediations.ErrNotFound) {
				t.Errorf("%s with %v: err %v, want ErrNotFound", a.Name(), p, err)
			}
		}
	}
	_, err := s.restart().Plan(context.Background(), nil, remediations.Params{"cluster": "nope", "service": "checkout"})
	if err == nil || !strings.Contains(err.Error(), "ecs:DescribeServices on nope/checkout: not found (ClusterNotFoundException") {
		t.Errorf("message %v does not name the call and the code", err)
	}
}

func TestServiceARNParamNamesItsCluster(t *testing.T) {
	s := newStack(t)
	arn := aws.ToString(s.read(t).ServiceArn)
	pl, err := s.restart().Plan(context.Background(), nil, remediations.Params{"service": arn})
	if err != nil || pl.Target != "ecs:prod/checkout" {
		t.Errorf("plan with service ARN %s: %v, %v", arn, pl, err)
	}
}
