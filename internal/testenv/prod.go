package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// Prod is a small production-like stack in an AWS emulator: an ALB
// "checkout-prod" with a listener on port 80 forwarding to target group
// "checkout", ECS cluster "prod" with service "checkout" (4 tasks) behind
// it, and the CloudWatch alarm "checkout-prod-target-5xx" on the target
// group's 5xx count.
type Prod struct {
	LoadBalancerARN string
	ListenerARN     string
	TargetGroupARN  string
	Cluster         string
	Service         string
	AlarmName       string
	// LoadBalancerDim and TargetGroupDim are the CloudWatch dimension
	// values (the ARN tails).
	LoadBalancerDim string
	TargetGroupDim  string
}

// CloudWatchClient returns a CloudWatch client that speaks the query
// protocol, which moto understands (the SDK's default RPC v2 CBOR it does
// not).
func CloudWatchClient(cfg aws.Config) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	})
}

// CreateProd builds Prod through the real SDK.
func CreateProd(ctx context.Context, cfg aws.Config) (*Prod, error) {
	ec2c, elbc, ecsc := ec2.NewFromConfig(cfg), elb.NewFromConfig(cfg), ecs.NewFromConfig(cfg)
	p := &Prod{Cluster: "prod", Service: "checkout", AlarmName: "checkout-prod-target-5xx"}

	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return nil, fmt.Errorf("create vpc: %w", err)
	}
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec2c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(az),
		})
		if err != nil {
			return nil, fmt.Errorf("create subnet: %w", err)
		}
		subnets = append(subnets, *sn.Subnet.SubnetId)
	}
	lb, err := elbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("checkout-prod"), Subnets: subnets})
	if err != nil {
		return nil, fmt.Errorf("create load balancer: %w", err)
	}
	p.LoadBalancerARN = *lb.LoadBalancers[0].LoadBalancerArn
	tg, err := elbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("checkout"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080),
		VpcId: vpc.Vpc.VpcId, TargetType: elbtypes.TargetTypeEnumIp,
	})
	if err != nil {
		return nil, fmt.Errorf("create target group: %w", err)
	}
	p.TargetGroupARN = *tg.TargetGroups[0].TargetGroupArn
	l, err := elbc.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: &p.LoadBalancerARN, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &p.TargetGroupARN}},
	})
	if err != nil {
		return nil, fmt.Errorf("create listener: %w", err)
	}
	p.ListenerARN = *l.Listeners[0].ListenerArn
	p.LoadBalancerDim = arnTail(p.LoadBalancerARN, "loadbalancer/")
	p.TargetGroupDim = arnTail(p.TargetGroupARN, "")

	if _, err := ecsc.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: &p.Cluster}); err != nil {
		return nil, fmt.Errorf("create cluster: %w", err)
	}
	for _, img := range []string{"acme/checkout:1.0", "acme/checkout:1.1"} {
		if _, err := ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("checkout"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String(img), Memory: aws.Int32(512),
			}},
		}); err != nil {
			return nil, fmt.Errorf("register task definition: %w", err)
		}
	}
	if _, err := ecsc.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: &p.Cluster, ServiceName: &p.Service, TaskDefinition: aws.String("checkout:2"), DesiredCount: aws.Int32(4),
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: &p.TargetGroupARN, ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}},
	}); err != nil {
		return nil, fmt.Errorf("create service: %w", err)
	}

	cw := CloudWatchClient(cfg)
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: &p.AlarmName, Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
		Dimensions: []cwtypes.Dimension{
			{Name: aws.String("LoadBalancer"), Value: &p.LoadBalancerDim},
			{Name: aws.String("TargetGroup"), Value: &p.TargetGroupDim},
		},
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		return nil, fmt.Errorf("create alarm: %w", err)
	}
	if err := p.SetAlarm(ctx, cfg, "ALARM"); err != nil {
		return nil, err
	}
	return p, nil
}

// SetAlarm sets the alarm's state, as CloudWatch would when it evaluates.
func (p *Prod) SetAlarm(ctx context.Context, cfg aws.Config, state string) error {
	_, err := CloudWatchClient(cfg).SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: &p.AlarmName, StateValue: cwtypes.StateValue(state), StateReason: aws.String("set by test"),
	})
	if err != nil {
		return fmt.Errorf("set alarm %s to %s: %w", p.AlarmName, state, err)
	}
	return nil
}

// DesiredCount reads the checkout service's desired count.
func (p *Prod) DesiredCount(ctx context.Context, cfg aws.Config) (int32, error) {
	out, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &p.Cluster, Services: []string{p.Service}})
	if err != nil {
		return 0, fmt.Errorf("describe %s/%s: %w", p.Cluster, p.Service, err)
	}
	if len(out.Services) != 1 {
		return 0, fmt.Errorf("describe %s/%s: service not found", p.Cluster, p.Service)
	}
	return out.Services[0].DesiredCount, nil
}

// arnTail returns what follows ":"+prefix in an ELB ARN, e.g.
// "app/checkout-prod/123" for a load balancer ("loadbalancer/") and
// "targetgroup/checkout/456" for a target group ("").
func arnTail(arn, prefix string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == ':' {
			tail := arn[i+1:]
			if len(tail) >= len(prefix) && tail[:len(prefix)] == prefix {
				return tail[len(prefix):]
			}
			return tail
		}
	}
	return arn
}

// AlarmARN is the ARN of the Prod alarm.
func (p *Prod) AlarmARN() string {
	return "arn:aws:cloudwatch:" + Region + ":" + Account + ":alarm:" + p.AlarmName
}

// AlarmEvent is the EventBridge "CloudWatch Alarm State Change" event
// CloudWatch sends when the Prod alarm moves to state at ts.
func (p *Prod) AlarmEvent(state string, ts time.Time) []byte {
	prev := "OK"
	if state == "OK" {
		prev = "ALARM"
	}
	stamp := ts.UTC().Format("2006-01-02T15:04:05.000-0700")
	reasonData := fmt.Sprintf(`{"version":"1.0","queryDate":%q,"statistic":"Sum","period":60,"recentDatapoints":[42.0],"threshold":10.0,"evaluatedDatapoints":[{"timestamp":%q,"sampleCount":1.0,"value":42.0}]}`, stamp, stamp)
	ev := map[string]any{
		"version": "0", "id": fmt.Sprintf("%x", ts.UnixNano()), "detail-type": "CloudWatch Alarm State Change",
		"source": "aws.cloudwatch", "account": Account, "time": ts.UTC().Format(time.RFC3339), "region": Region,
		"resources": []string{p.AlarmARN()},
		"detail": map[string]any{
			"alarmName": p.AlarmName,
			"state": map[string]any{
				"value": state, "reason": "Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (10.0).",
				"reasonData": reasonData, "timestamp": stamp,
			},
			"previousState": map[string]any{"value": prev, "reason": "previous", "timestamp": ts.Add(-10 * time.Minute).UTC().Format("2006-01-02T15:04:05.000-0700")},
			"configuration": map[string]any{
				"description": "checkout targets return 5xx",
				"metrics": []any{map[string]any{
					"id": "m1", "returnData": true,
					"metricStat": map[string]any{
						"metric": map[string]any{
							"namespace": "AWS/ApplicationELB", "name": "HTTPCode_Target_5XX_Count",
							"dimensions": map[string]string{"LoadBalancer": p.LoadBalancerDim, "TargetGroup": p.TargetGroupDim},
						},
						"period": 60, "stat": "Sum",
					},
				}},
			},
		},
	}
	b, _ := json.Marshal(ev)
	return b
}
