package ecs

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/testenv"
)

// motoRunningTasks is what moto reports as every service's running count.
// Unset, moto reports 0 running tasks and so an IN_PROGRESS deployment for
// every service; a settled service is what medic meets between deployments.
// A service created with a higher desired count stays IN_PROGRESS.
const motoRunningTasks = "10"

func TestMain(m *testing.M) {
	// moto_server inherits the environment when testenv.Moto starts it.
	if os.Getenv("MOTO_ECS_SERVICE_RUNNING") == "" {
		os.Setenv("MOTO_ECS_SERVICE_RUNNING", motoRunningTasks)
	}
	os.Exit(m.Run())
}

// stack is the moto world most integration tests start from: a VPC with two
// subnets, ALB "web" with a listener forwarding to target group "checkout",
// ECS cluster "prod" with task definitions checkout:1 and checkout:2, and
// service prod/checkout on checkout:2, desired 4, behind the target group.
type stack struct {
	ecs     *ecs.Client
	aas     *applicationautoscaling.Client
	elb     *elb.Client
	vpc     string
	subnets []string
	lbARN   string
	tgARN   string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	m := testenv.Moto(t)
	s := &stack{
		ecs: ecs.NewFromConfig(m.Config),
		aas: applicationautoscaling.NewFromConfig(m.Config),
		elb: elb.NewFromConfig(m.Config),
	}
	ec := ec2.NewFromConfig(m.Config)

	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	must(t, "create vpc", err)
	s.vpc = aws.ToString(vpc.Vpc.VpcId)
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(s.vpc), CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]), AvailabilityZone: aws.String(az)})
		must(t, "create subnet", err)
		s.subnets = append(s.subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	lb, err := s.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: s.subnets, Type: elbtypes.LoadBalancerTypeEnumApplication})
	must(t, "create load balancer", err)
	s.lbARN = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	s.tgARN = s.targetGroup(t, "checkout")
	_, err = s.elb.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(s.lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(s.tgARN)}},
	})
	must(t, "create listener", err)

	s.cluster(t, "prod")
	s.taskDef(t, "checkout")
	s.taskDef(t, "checkout")
	s.service(t, "prod", "checkout", "checkout:2", s.tgARN, 4)
	return s
}

func must(t *testing.T, doing string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", doing, err)
	}
}

func (s *stack) targetGroup(t *testing.T, name string) string {
	t.Helper()
	tg, err := s.elb.CreateTargetGroup(context.Background(), &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		VpcId: aws.String(s.vpc), TargetType: elbtypes.TargetTypeEnumIp,
	})
	must(t, "create target group "+name, err)
	return aws.ToString(tg.TargetGroups[0].TargetGroupArn)
}

func (s *stack) cluster(t *testing.T, name string) {
	t.Helper()
	_, err := s.ecs.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	must(t, "create cluster "+name, err)
}

// taskDef registers the next revision of family and returns its ARN.
func (s *stack) taskDef(t *testing.T, family string) string {
	t.Helper()
	out, err := s.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("public.ecr.aws/nginx/nginx:1.27"), Memory: aws.Int32(512),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}},
		}},
	})
	must(t, "register task definition "+family, err)
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func (s *stack) service(t *testing.T, cluster, name, taskDef, tgARN string, desired int32) {
	t.Helper()
	in := &ecs.CreateServiceInput{
		Cluster: aws.String(cluster), ServiceName: aws.String(name), TaskDefinition: aws.String(taskDef),
		DesiredCount: aws.Int32(desired),
	}
	if tgARN != "" {
		in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String(tgARN), ContainerName: aws.String("app"), ContainerPort: aws.Int32(80)}}
	}
	_, err := s.ecs.CreateService(context.Background(), in)
	must(t, "create service "+cluster+"/"+name, err)
}

func (s *stack) scalableTarget(t *testing.T, cluster, service string, lo, hi int32) {
	t.Helper()
	_, err := s.aas.RegisterScalableTarget(context.Background(), &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String("service/" + cluster + "/" + service),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		MinCapacity:       aws.Int32(lo), MaxCapacity: aws.Int32(hi),
	})
	must(t, "register scalable target", err)
}

// read returns prod/checkout as DescribeServices reports it.
func (s *stack) read(t *testing.T) types.Service {
	t.Helper()
	return s.readService(t, "prod", "checkout")
}

func (s *stack) readService(t *testing.T, cluster, name string) types.Service {
	t.Helper()
	out, err := s.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	must(t, "describe "+cluster+"/"+name, err)
	if len(out.Services) != 1 {
		t.Fatalf("describe %s/%s: %d services, failures %v", cluster, name, len(out.Services), out.Failures)
	}
	return out.Services[0]
}

// readCapacity returns prod/checkout's scalable target min and max.
func (s *stack) readCapacity(t *testing.T) (int32, int32) {
	t.Helper()
	out, err := s.aas.DescribeScalableTargets(context.Background(), &applicationautoscaling.DescribeScalableTargetsInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{"service/prod/checkout"},
	})
	must(t, "describe scalable targets", err)
	if len(out.ScalableTargets) != 1 {
		t.Fatalf("%d scalable targets for service/prod/checkout, want 1", len(out.ScalableTargets))
	}
	return aws.ToInt32(out.ScalableTargets[0].MinCapacity), aws.ToInt32(out.ScalableTargets[0].MaxCapacity)
}

func (s *stack) setDesired(t *testing.T, n int32) {
	t.Helper()
	_, err := s.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("checkout"), DesiredCount: aws.Int32(n)})
	must(t, "set desired count", err)
}

// tail returns the part of an ELB ARN CloudWatch uses as a dimension value:
// app/NAME/ID for a load balancer, targetgroup/NAME/ID for a target group.
func tail(arn, after string) string {
	i := strings.Index(arn, after)
	if i < 0 {
		return arn
	}
	return arn[i+len(after):]
}

// targetAlarm is the alarm a per-service ALB alarm on
// HTTPCode_Target_5XX_Count delivers: TargetGroup and LoadBalancer
// dimensions, as the alarm decoders produce it.
func (s *stack) targetAlarm(tgARN string) *alarm.Alarm {
	return &alarm.Alarm{
		Name:    "checkout-target-5xx",
		ARN:     "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-target-5xx",
		Account: "123456789012",
		Region:  "us-east-1",
		State:   alarm.StateAlarm,
		Metrics: []alarm.Metric{{
			ID: "m1", Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Stat: "Sum", Period: 60,
			Dimensions: map[string]string{
				"LoadBalancer": tail(s.lbARN, ":loadbalancer/"),
				"TargetGroup":  "targetgroup/" + tail(tgARN, ":targetgroup/"),
			},
		}},
		HTTP5xx: &alarm.HTTP5xx{Source: "target", Code: "5XX"},
		Route:   alarm.RouteEventBridge,
	}
}
