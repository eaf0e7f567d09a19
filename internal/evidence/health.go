package evidence

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// TargetHealthAPI is the ELBv2 call the health collector makes;
// *elasticloadbalancingv2.Client implements it.
type TargetHealthAPI interface {
	DescribeTargetHealth(ctx context.Context, in *elb.DescribeTargetHealthInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error)
}

// TasksAPI is what the health collector asks ECS; *ecs.Client implements
// it.
type TasksAPI interface {
	ServicesAPI
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// UtilisationWindow is how far back CPU and memory utilisation are
// averaged.
const UtilisationWindow = 10 * time.Minute

// Health is the infrastructure-health collector: the target group's
// healthy and unhealthy targets with reason codes, the service's running,
// desired and pending tasks, its last stopped tasks (stop reason, exit
// codes) and its CPU and memory utilisation. Parts it cannot read are left
// out and listed in the evidence's Missing ("health: stopped tasks",
// "access denied (ecs:ListTasks)"); it fails only when it can read
// nothing.
type Health struct {
	elb TargetHealthAPI
	ecs TasksAPI
	cw  MetricDataAPI
}

// NewHealth returns the infrastructure-health collector.
func NewHealth(elbAPI TargetHealthAPI, ecsAPI TasksAPI, cw MetricDataAPI) *Health {
	return &Health{elb: elbAPI, ecs: ecsAPI, cw: cw}
}

// Name is "health".
func (*Health) Name() string { return "health" }

// IAM lists the reads the collector makes.
func (*Health) IAM() []remediations.IAMPermission {
	return []remediations.IAMPermission{
		{Actions: []string{"elasticloadbalancing:DescribeTargetHealth"}, Resource: "*"},
		{Actions: []string{"ecs:DescribeServices"}, Resource: "arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/*"},
		{Actions: []string{"ecs:ListTasks"}, Resource: "arn:aws:ecs:REGION:ACCOUNT:container-instance/CLUSTER/*"},
		{Actions: []string{"ecs:DescribeTasks"}, Resource: "arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/*"},
		{Actions: []string{"cloudwatch:GetMetricData"}, Resource: "*"},
	}
}

// Collect reads the health of t's target group and service.
func (h *Health) Collect(ctx context.Context, t *Target) (*store.Evidence, error) {
	out := &store.Health{Service: t.ServiceName()}
	var svc *ecstypes.Service
	var errs []error
	var missing []store.MissingEvidence
	failed := func(part string, err error) {
		errs = append(errs, err)
		missing = append(missing, partMissing("health: "+part, err))
	}
	tgARN := t.TargetGroupARN()
	if t.ServiceName() != "" {
		s, err := describeService(ctx, h.ecs, t)
		if err != nil {
			failed("service", err)
		} else {
			svc = s
			out.Running, out.Desired, out.Pending = int(s.RunningCount), int(s.DesiredCount), int(s.PendingCount)
			if tgARN == "" {
				for _, lb := range s.LoadBalancers {
					if lb.TargetGroupArn != nil {
						tgARN = *lb.TargetGroupArn
						break
					}
				}
			}
		}
	}
	if tgARN != "" {
		if err := h.targets(ctx, tgARN, out); err != nil {
			failed("targets", err)
		}
	}
	if svc != nil {
		if err := h.stopped(ctx, t, out); err != nil {
			failed("stopped tasks", err)
		}
		if err := h.utilisation(ctx, t, out); err != nil {
			failed("CPU and memory", err)
		}
	}
	if tgARN == "" && t.ServiceName() == "" {
		return nil, missingConfig("the alarm names no target group and no ecs step names a service")
	}
	if svc == nil && out.TargetGroup == "" && len(errs) > 0 {
		return nil, errs[0]
	}
	return &store.Evidence{Health: out, Missing: missing}, nil
}

// partMissing names a part of a collector's evidence that could not be
// read, and why: "access denied (ecs:ListTasks)", "timed out", "AWS
// answered ThrottlingException", or the error.
func partMissing(part string, err error) store.MissingEvidence {
	reason := Reason(err, 0)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		reason = "timed out"
	case reason == "failed":
		reason = "error: " + err.Error()
	}
	return store.MissingEvidence{Collector: part, Reason: reason}
}

// targets counts the target group's targets by state and reason.
func (h *Health) targets(ctx context.Context, arn string, out *store.Health) error {
	res, err := h.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return callFailed("elasticloadbalancing:DescribeTargetHealth", arn, err)
	}
	out.TargetGroup = targetGroupName(arn)
	reasons := map[string]int{}
	for _, d := range res.TargetHealthDescriptions {
		if d.TargetHealth == nil {
			out.Other++
			continue
		}
		switch d.TargetHealth.State {
		case elbtypes.TargetHealthStateEnumHealthy:
			out.Healthy++
		case elbtypes.TargetHealthStateEnumUnhealthy:
			out.Unhealthy++
			if r := string(d.TargetHealth.Reason); r != "" {
				reasons[r]++
			}
		default:
			out.Other++
		}
	}
	for r, n := range reasons {
		out.Reasons = append(out.Reasons, store.ReasonCount{Reason: r, Count: n})
	}
	sort.Slice(out.Reasons, func(i, j int) bool {
		if out.Reasons[i].Count != out.Reasons[j].Count {
			return out.Reasons[i].Count > out.Reasons[j].Count
		}
		return out.Reasons[i].Reason < out.Reasons[j].Reason
	})
	return nil
}

// stopped reads the service's last stopped tasks.
func (h *Health) stopped(ctx context.Context, t *Target, out *store.Health) error {
	list, err := h.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(t.Cluster), ServiceName: aws.String(t.Service),
		DesiredStatus: ecstypes.DesiredStatusStopped, MaxResults: aws.Int32(int32(store.MaxStopped * 2))})
	if err != nil {
		return callFailed("ecs:ListTasks", t.ServiceName(), err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	arns := list.TaskArns[:min(len(list.TaskArns), 100)]
	res, err := h.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(t.Cluster), Tasks: arns})
	if err != nil {
		return callFailed("ecs:DescribeTasks", t.ServiceName(), err)
	}
	tasks := res.Tasks
	sort.SliceStable(tasks, func(i, j int) bool { return aws.ToTime(tasks[i].StoppedAt).After(aws.ToTime(tasks[j].StoppedAt)) })
	for _, task := range tasks {
		if len(out.Stopped) == store.MaxStopped {
			break
		}
		var codes []string
		for _, c := range task.Containers {
			if c.ExitCode != nil {
				codes = append(codes, fmt.Sprintf("%s=%d", aws.ToString(c.Name), *c.ExitCode))
			}
		}
		out.Stopped = append(out.Stopped, store.StoppedTask{
			Task: taskDefName(aws.ToString(task.TaskArn)), Reason: aws.ToString(task.StoppedReason),
			ExitCodes: strings.Join(codes, ", "), StoppedAt: aws.ToTime(task.StoppedAt).UTC(),
		})
	}
	return nil
}

// utilisation averages the service's CPU and memory utilisation.
func (h *Health) utilisation(ctx context.Context, t *Target, out *store.Health) error {
	end := t.Now.Truncate(time.Minute).Add(time.Minute)
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(end.Add(-UtilisationWindow)), EndTime: aws.Time(end)}
	for _, m := range []struct{ id, name string }{{"cpu", "CPUUtilization"}, {"memory", "MemoryUtilization"}} {
		in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
			Id: aws.String(m.id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/ECS"), MetricName: aws.String(m.name), Dimensions: []cwtypes.Dimension{
					{Name: aws.String("ClusterName"), Value: aws.String(t.Cluster)},
					{Name: aws.String("ServiceName"), Value: aws.String(t.Service)},
				}},
				Period: aws.Int32(60), Stat: aws.String("Average"),
			},
			ReturnData: aws.Bool(true),
		})
	}
	series, err := metricData(ctx, h.cw, in)
	if err != nil {
		return callFailed("cloudwatch:GetMetricData", t.ServiceName(), err)
	}
	out.CPU, out.Memory = mean(series["cpu"]), mean(series["memory"])
	return nil
}

func mean(ps points) *float64 {
	if len(ps) == 0 {
		return nil
	}
	m := ps.sum() / float64(len(ps))
	return &m
}

// targetGroupName is NAME from .../targetgroup/NAME/ID.
func targetGroupName(arn string) string {
	_, rest, ok := strings.Cut(arn, "targetgroup/")
	if !ok {
		return arn
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}
