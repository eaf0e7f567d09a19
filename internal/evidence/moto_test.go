package evidence_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/testenv"
)

// prodTarget builds Prod in moto and the Target the collectors look at.
func prodTarget(t *testing.T, now time.Time) (*testenv.MotoServer, *testenv.Prod, *evidence.Target) {
	t.Helper()
	m := testenv.Moto(t)
	p, err := testenv.CreateProd(context.Background(), m.Config)
	if err != nil {
		t.Fatalf("create prod in moto: %v", err)
	}
	threshold := 10.0
	a := &alarm.Alarm{Name: p.AlarmName, Region: testenv.Region, Account: testenv.Account, Timestamp: now,
		ReasonData: &alarm.ReasonData{Threshold: &threshold},
		Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_502_Count",
			Dimensions: map[string]string{"LoadBalancer": p.LoadBalancerDim, "TargetGroup": p.TargetGroupDim}}}}
	return m, p, &evidence.Target{Alarm: a, Now: now, Region: testenv.Region, Account: testenv.Account,
		LoadBalancer: p.LoadBalancerDim, TargetGroup: p.TargetGroupDim, Cluster: p.Cluster, Service: p.Service}
}

func putCounts(t *testing.T, cw *cloudwatch.Client, ns string, dims []cwtypes.Dimension, metric string, at time.Time, values ...float64) {
	t.Helper()
	var data []cwtypes.MetricDatum
	for i, v := range values {
		data = append(data, cwtypes.MetricDatum{MetricName: aws.String(metric), Dimensions: dims,
			Timestamp: aws.Time(at.Add(time.Duration(i) * time.Minute)), Value: aws.Float64(v), Unit: cwtypes.StandardUnitCount})
	}
	if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: data}); err != nil {
		t.Fatalf("put %s: %v", metric, err)
	}
}

func TestPatternSplitsThe5xxAndFindsWhenTheSpikeBeganAgainstMoto(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	m, p, target := prodTarget(t, now)
	cw := testenv.CloudWatchClient(m.Config)
	lb := []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String(p.LoadBalancerDim)}}
	first := now.Add(-9 * time.Minute)
	// 10 minutes: a blip over the threshold at minute 1, then the spike
	// from minute 5 on.
	putCounts(t, cw, "AWS/ApplicationELB", lb, "HTTPCode_ELB_502_Count", first, 0, 12, 0, 0, 0, 20, 30, 40, 50, 60)
	putCounts(t, cw, "AWS/ApplicationELB", lb, "HTTPCode_ELB_5XX_Count", first, 0, 12, 0, 0, 0, 21, 31, 41, 51, 61)
	putCounts(t, cw, "AWS/ApplicationELB", lb, "HTTPCode_ELB_504_Count", first, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1)
	putCounts(t, cw, "AWS/ApplicationELB", lb, "HTTPCode_Target_5XX_Count", first, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	putCounts(t, cw, "AWS/ApplicationELB", lb, "RequestCount", first, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100)

	ev, err := evidence.NewPattern(cw).Collect(context.Background(), target)
	if err != nil {
		t.Fatalf("collect pattern: %v", err)
	}
	got := ev.Pattern
	if got == nil {
		t.Fatal("no pattern collected")
	}
	if got.ELB5xx != 217 || got.ELB502 != 212 || got.ELB504 != 5 || got.ELB503 != 0 || got.Target5xx != 10 || got.Requests != 1000 {
		t.Errorf("sums: ELB5xx %v (want 217), 502 %v (212), 503 %v (0), 504 %v (5), target %v (10), requests %v (1000)",
			got.ELB5xx, got.ELB502, got.ELB503, got.ELB504, got.Target5xx, got.Requests)
	}
	if want := 227.0 / 1000; got.ErrorRate != want {
		t.Errorf("error rate = %v, want %v", got.ErrorRate, want)
	}
	if got.Source != "elb" || got.Code != "502" {
		t.Errorf("source, code = %q, %q; want elb, 502", got.Source, got.Code)
	}
	if want := first.Add(5 * time.Minute); !got.StartedAt.Equal(want) {
		t.Errorf("started at %v, want %v (the first period of the last run over the threshold 10)", got.StartedAt, want)
	}
}

func TestHealthCountsTargetsAndTasksAgainstMoto(t *testing.T) {
	now := time.Now().UTC()
	m, p, target := prodTarget(t, now)
	ctx := context.Background()
	elbc := elb.NewFromConfig(m.Config)
	if _, err := elbc.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: &p.TargetGroupARN,
		Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.1.10"), Port: aws.Int32(8080)}, {Id: aws.String("10.0.1.11"), Port: aws.Int32(8080)}}}); err != nil {
		t.Fatalf("register targets: %v", err)
	}
	ecsc := ecs.NewFromConfig(m.Config)
	cw := testenv.CloudWatchClient(m.Config)
	svc := []cwtypes.Dimension{{Name: aws.String("ClusterName"), Value: aws.String(p.Cluster)}, {Name: aws.String("ServiceName"), Value: aws.String(p.Service)}}
	putCounts(t, cw, "AWS/ECS", svc, "CPUUtilization", now.Add(-3*time.Minute), 80, 90, 100)
	putCounts(t, cw, "AWS/ECS", svc, "MemoryUtilization", now.Add(-3*time.Minute), 40, 40, 40)
	ev, err := evidence.NewHealth(elbc, ecsc, cw).Collect(ctx, target)
	if err != nil {
		t.Fatalf("collect health: %v", err)
	}
	h := ev.Health
	if h == nil {
		t.Fatal("no health collected")
	}
	t.Logf("health: %+v", *h)
	if h.TargetGroup != "checkout" {
		t.Errorf("target group = %q, want checkout", h.TargetGroup)
	}
	if n := h.Healthy + h.Unhealthy + h.Other; n != 2 {
		t.Errorf("counted %d targets, want the 2 registered", n)
	}
	if h.Service != "prod/checkout" || h.Desired != 4 {
		t.Errorf("service %q desired %d, want prod/checkout desired 4", h.Service, h.Desired)
	}
	if h.CPU == nil || *h.CPU != 90 || h.Memory == nil || *h.Memory != 40 {
		t.Errorf("CPU %v, memory %v; want averages 90 and 40", h.CPU, h.Memory)
	}
}

func TestChangesListTheServiceDeploymentsAgainstMoto(t *testing.T) {
	now := time.Now().UTC()
	m, _, target := prodTarget(t, now)
	ev, err := evidence.NewChanges(ecs.NewFromConfig(m.Config)).Collect(context.Background(), target)
	if err != nil {
		t.Fatalf("collect changes: %v", err)
	}
	c := ev.Changes
	if c == nil || len(c.Deployments) == 0 {
		t.Fatalf("changes = %+v, want the service's deployment", c)
	}
	t.Logf("changes: %+v", *c)
	last, _ := c.LastChange()
	if last.TaskDefinition != "checkout:2" || last.Status != "PRIMARY" {
		t.Errorf("last deployment = %+v, want PRIMARY checkout:2", last)
	}
}
