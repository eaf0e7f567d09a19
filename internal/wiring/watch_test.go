package wiring

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/alb"
)

// The engine's watch of maintenance, against moto with the real
// alb.maintenance: a maintenance result with an exit condition is watched;
// with no target registered the condition does not hold, and once a
// healthy target serves the target group it does.
func TestMaintenanceIsWatchedOnTargetHealth(t *testing.T) {
	ctx := context.Background()
	m := testenv.Moto(t)
	prod, err := testenv.CreateProd(ctx, m.Config)
	if err != nil {
		t.Fatal(err)
	}
	elb := elasticloadbalancingv2.NewFromConfig(m.Config)
	act := alb.New(elb)
	a := &alarm.Alarm{Name: prod.AlarmName, Account: testenv.Account, Region: testenv.Region, State: alarm.StateAlarm, Timestamp: time.Now()}
	plan, err := act.Plan(ctx, a, remediations.Params{"listener": prod.ListenerARN, "mode": "fixed", "exit": "propose",
		"exit_target_groups": []any{prod.TargetGroupARN}})
	if err != nil {
		t.Fatalf("plan maintenance: %v", err)
	}
	res, err := act.Apply(ctx, plan)
	if err != nil {
		t.Fatalf("apply maintenance: %v", err)
	}
	w := maintenanceWatch{check: alb.NewExitCheck(elb, nil)}
	if !w.Watches(res) {
		t.Fatalf("a maintenance result with an exit condition is not watched: %s", res.Data)
	}
	if w.Watches(&remediations.Result{Action: "ecs.scale"}) {
		t.Error("an ecs.scale result is watched")
	}
	st, err := w.Check(ctx, res)
	if err != nil || st.Holds {
		t.Fatalf("with no target: %+v, %v; want the condition not holding", st, err)
	}

	inst, err := ec2.NewFromConfig(m.Config).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceTypeT3Micro})
	if err != nil {
		t.Fatalf("run an instance: %v", err)
	}
	if _, err := elb.RegisterTargets(ctx, &elasticloadbalancingv2.RegisterTargetsInput{TargetGroupArn: aws.String(prod.TargetGroupARN),
		Targets: []elbtypes.TargetDescription{{Id: inst.Instances[0].InstanceId, Port: aws.Int32(80)}}}); err != nil {
		t.Fatalf("register the target: %v", err)
	}
	st, err = w.Check(ctx, res)
	if err != nil || !st.Holds || st.Auto {
		t.Fatalf("with a healthy target: %+v, %v; want the condition holding, proposed (not auto)", st, err)
	}
	if len(st.Evidence) != 1 || !strings.Contains(st.Evidence[0], "1 of 1 targets healthy") {
		t.Errorf("evidence %q", st.Evidence)
	}
}
