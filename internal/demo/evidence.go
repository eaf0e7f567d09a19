package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/internal/wiring"
)

// What the demo's "prod" goes through before its alarm: a new task
// definition revision of checkout, deployed a moment ago, whose tasks fail
// the target group's health checks and answer 5xx.
const (
	newImage = "acme/checkout:1.2"
	// Unhealthy of Targets answer the wrong status to the health check.
	unhealthyTargets = 2
	targets          = 3
	unhealthyReason  = elbtypes.TargetHealthReasonEnumResponseCodeMismatch
	// The 5xx spike over the last minute, as the load balancer counts it.
	spike5xx      = 42
	spikeRequests = 600
)

// deployNewRevision registers a new revision of the service's task
// definition family (image newImage) and updates the service to it, as a
// deploy pipeline would, in moto. It returns the task definition the
// service was on and the new one (ARNs).
func deployNewRevision(ctx context.Context, awsCfg aws.Config, prod *testenv.Prod) (from, to string, err error) {
	c := ecs.NewFromConfig(awsCfg)
	from, err = taskDefinition(ctx, awsCfg, prod)
	if err != nil {
		return "", "", err
	}
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("checkout"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(newImage), Memory: aws.Int32(512),
		}},
	})
	if err != nil {
		return "", "", fmt.Errorf("register task definition checkout (%s): %w", newImage, err)
	}
	to = aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	// ForceNewDeployment makes moto stamp the deployment "now", as ECS
	// stamps the deployment a task definition change starts.
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: &prod.Cluster, Service: &prod.Service,
		TaskDefinition: aws.String(to), ForceNewDeployment: true}); err != nil {
		return "", "", fmt.Errorf("update %s/%s to %s: %w", prod.Cluster, prod.Service, to, err)
	}
	return from, to, nil
}

// taskDefinition reads the task definition the service runs.
func taskDefinition(ctx context.Context, awsCfg aws.Config, prod *testenv.Prod) (string, error) {
	out, err := ecs.NewFromConfig(awsCfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &prod.Cluster, Services: []string{prod.Service}})
	if err != nil {
		return "", fmt.Errorf("describe %s/%s: %w", prod.Cluster, prod.Service, err)
	}
	if len(out.Services) != 1 {
		return "", fmt.Errorf("describe %s/%s: service not found", prod.Cluster, prod.Service)
	}
	return aws.ToString(out.Services[0].TaskDefinition), nil
}

// putSpike stores, in moto's CloudWatch, what the load balancer and ECS
// would have published since the deployment: spike5xx target 5xx of
// spikeRequests requests on the load balancer, and the service's CPU and
// memory (moderate: capacity is not the problem).
func putSpike(ctx context.Context, awsCfg aws.Config, prod *testenv.Prod, at time.Time) error {
	lb := []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String(prod.LoadBalancerDim)}}
	svc := []cwtypes.Dimension{{Name: aws.String("ClusterName"), Value: aws.String(prod.Cluster)}, {Name: aws.String("ServiceName"), Value: aws.String(prod.Service)}}
	cw := wiring.CloudWatch(awsCfg, true)
	for _, put := range []struct {
		namespace string
		data      []cwtypes.MetricDatum
	}{
		{"AWS/ApplicationELB", []cwtypes.MetricDatum{
			{MetricName: aws.String("HTTPCode_Target_5XX_Count"), Dimensions: lb, Timestamp: aws.Time(at), Value: aws.Float64(spike5xx), Unit: cwtypes.StandardUnitCount},
			{MetricName: aws.String("RequestCount"), Dimensions: lb, Timestamp: aws.Time(at), Value: aws.Float64(spikeRequests), Unit: cwtypes.StandardUnitCount},
		}},
		{"AWS/ECS", []cwtypes.MetricDatum{
			{MetricName: aws.String("CPUUtilization"), Dimensions: svc, Timestamp: aws.Time(at), Value: aws.Float64(31), Unit: cwtypes.StandardUnitPercent},
			{MetricName: aws.String("MemoryUtilization"), Dimensions: svc, Timestamp: aws.Time(at), Value: aws.Float64(48), Unit: cwtypes.StandardUnitPercent},
		}},
	} {
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(put.namespace), MetricData: put.data}); err != nil {
			return fmt.Errorf("put the spike's %s metrics: %w", put.namespace, err)
		}
	}
	return nil
}

// collectors are medic's evidence collectors against moto
// (wiring.Collectors), with two stand-ins for what moto cannot show:
//
//   - the health collector asks demoTargetHealth for the target group's
//     health (moto reports every registered target healthy and cannot
//     stage an unhealthy one); its other reads (the service's tasks,
//     stopped tasks, CPU and memory) go to moto;
//   - the changes collector reads the service through motoDeployments,
//     which puts the service's task definition on its PRIMARY deployment
//     (moto keeps the one the service was created with there).
func collectors(awsCfg aws.Config, log *slog.Logger) []evidence.Collector {
	ecsc := ecs.NewFromConfig(awsCfg)
	all := wiring.Collectors(awsCfg, true, log)
	for i, c := range all {
		switch c.Name() {
		case "health":
			all[i] = evidence.NewHealth(demoTargetHealth{}, ecsc, wiring.CloudWatch(awsCfg, true))
		case "changes":
			all[i] = evidence.NewChanges(motoDeployments{ecsc})
		}
	}
	return all
}

// demoTargetHealth is the demo's stand-in for ELBv2 DescribeTargetHealth,
// which moto cannot stage: of the target group's targets, unhealthyTargets
// fail the health check with unhealthyReason.
type demoTargetHealth struct{}

// DescribeTargetHealth implements evidence.TargetHealthAPI.
func (demoTargetHealth) DescribeTargetHealth(_ context.Context, in *elb.DescribeTargetHealthInput, _ ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error) {
	out := &elb.DescribeTargetHealthOutput{}
	for i := range targets {
		h := &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumHealthy}
		if i < unhealthyTargets {
			h = &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumUnhealthy, Reason: unhealthyReason,
				Description: aws.String("Health checks failed with these codes: [500]")}
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{
			Target:       &elbtypes.TargetDescription{Id: aws.String(fmt.Sprintf("10.0.1.%d", 11+i)), Port: aws.Int32(8080)},
			TargetHealth: h,
		})
	}
	return out, nil
}

// motoDeployments is an ECS client whose DescribeServices answers as ECS
// does after a task definition change: the PRIMARY deployment runs the
// service's task definition. moto keeps the task definition the service
// was created with on its one deployment (it restamps the deployment's
// time on ForceNewDeployment, which the demo uses).
type motoDeployments struct{ evidence.ServicesAPI }

// DescribeServices implements evidence.ServicesAPI.
func (m motoDeployments) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	out, err := m.ServicesAPI.DescribeServices(ctx, in, optFns...)
	if err != nil {
		return nil, err
	}
	for i := range out.Services {
		s := &out.Services[i]
		for j := range s.Deployments {
			if aws.ToString(s.Deployments[j].Status) == "PRIMARY" {
				s.Deployments[j].TaskDefinition = s.TaskDefinition
			}
		}
	}
	return out, nil
}
