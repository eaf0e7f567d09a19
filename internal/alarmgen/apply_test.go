package alarmgen

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/medicbot/medic/internal/testenv"
)

// compositeFake stands in for CloudWatch's PutCompositeAlarm, which moto
// lacks: it keeps composite alarms itself, refuses a rule naming an alarm
// moto does not have (as CloudWatch does), and adds its alarms to what
// moto's DescribeAlarms returns. Every other call goes to moto.
type compositeFake struct {
	*cloudwatch.Client
	mu         sync.Mutex
	composites map[string]cwtypes.CompositeAlarm
	puts       int // PutMetricAlarm and PutCompositeAlarm calls
}

func newCompositeFake(c *cloudwatch.Client) *compositeFake {
	return &compositeFake{Client: c, composites: make(map[string]cwtypes.CompositeAlarm)}
}

var ruleAlarm = regexp.MustCompile(`ALARM\("([^"]+)"\)`)

func (f *compositeFake) PutCompositeAlarm(ctx context.Context, in *cloudwatch.PutCompositeAlarmInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutCompositeAlarmOutput, error) {
	var names []string
	for _, m := range ruleAlarm.FindAllStringSubmatch(aws.ToString(in.AlarmRule), -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("ValidationError: AlarmRule %q names no alarm", aws.ToString(in.AlarmRule))
	}
	out, err := f.Client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names})
	if err != nil {
		return nil, err
	}
	if len(out.MetricAlarms) != len(names) {
		return nil, fmt.Errorf("ValidationError: AlarmRule %q names an alarm that does not exist", aws.ToString(in.AlarmRule))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts++
	f.composites[aws.ToString(in.AlarmName)] = cwtypes.CompositeAlarm{
		AlarmName: in.AlarmName, AlarmDescription: in.AlarmDescription, AlarmRule: in.AlarmRule,
		ActionsEnabled: in.ActionsEnabled, AlarmActions: in.AlarmActions, OKActions: in.OKActions,
	}
	return &cloudwatch.PutCompositeAlarmOutput{}, nil
}

func (f *compositeFake) PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error) {
	f.mu.Lock()
	f.puts++
	f.mu.Unlock()
	return f.Client.PutMetricAlarm(ctx, in, opts...)
}

func (f *compositeFake) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	out, err := f.Client.DescribeAlarms(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(in.AlarmTypes, cwtypes.AlarmTypeCompositeAlarm) {
		return out, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range in.AlarmNames {
		if c, ok := f.composites[n]; ok {
			out.CompositeAlarms = append(out.CompositeAlarms, c)
		}
	}
	return out, nil
}

func outcomes(changes []Change) map[Outcome]int {
	out := make(map[Outcome]int)
	for _, c := range changes {
		out[c.Outcome]++
	}
	return out
}

func TestApplyAgainstMotoIsIdempotent(t *testing.T) {
	moto := testenv.Moto(t)
	ctx := context.Background()
	prod, err := testenv.CreateProd(ctx, moto.Config)
	if err != nil {
		t.Fatal(err)
	}
	found, err := Discover(ctx, elb.NewFromConfig(moto.Config), Selection{Policies: examplePolicies(t).Policies()})
	if err != nil {
		t.Fatal(err)
	}
	want := Target{LoadBalancer: prod.LoadBalancerDim, TargetGroup: prod.TargetGroupDim}
	if !slices.Equal(found.Targets, []Target{want}) {
		t.Fatalf("discovered %v, want %v (checkout-prod's target group checkout, which checkout-target-5xx names)", found.Targets, want)
	}
	opts := Options{SLO: "99.9", Actions: Actions{SNSTopic: "arn:aws:sns:us-east-1:123456789012:medic-AlarmTopic"}}
	alarms, err := Generate(found.Targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	api := newCompositeFake(testenv.CloudWatchClient(moto.Config))

	changes, err := Apply(ctx, api, alarms)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(changes); got[Created] != len(alarms) {
		t.Fatalf("first run: %v, want %d created", changes, len(alarms))
	}
	// Composite alarms are put after the alarms their rules name (the fake
	// refuses a rule naming a missing alarm, as CloudWatch does).
	if len(api.composites) != 2 {
		t.Errorf("composite alarms stored: %d, want 2", len(api.composites))
	}

	// moto stored the metric-math definition as generated.
	out, err := api.Client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"checkout-prod-checkout-burn-1h"}})
	if err != nil || len(out.MetricAlarms) != 1 {
		t.Fatalf("describe burn-1h: %v %v", out, err)
	}
	m := out.MetricAlarms[0]
	if aws.ToFloat64(m.Threshold) != 0.0144 || len(m.Metrics) != 3 || aws.ToInt32(m.Metrics[1].MetricStat.Period) != 3600 ||
		!strings.HasPrefix(aws.ToString(m.Metrics[0].Expression), "IF(requests >= 1200") {
		t.Errorf("stored burn-1h: threshold %v, metrics %+v", aws.ToFloat64(m.Threshold), m.Metrics)
	}

	puts := api.puts
	changes, err = Apply(ctx, api, alarms)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(changes); got[Unchanged] != len(alarms) || api.puts != puts {
		t.Errorf("second run: %v and %d put call(s), want all unchanged and none", changes, api.puts-puts)
	}

	// A changed option updates exactly the alarms it touches.
	opts.MaxP99 = 3e9
	alarms, err = Generate(found.Targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	changes, err = Apply(ctx, api, alarms)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		wantOutcome := Unchanged
		if c.Name == "checkout-prod-checkout-target-p99" {
			wantOutcome = Updated
		}
		if c.Outcome != wantOutcome {
			t.Errorf("after changing the p99 bound: %s %s, want %s", c.Name, c.Outcome, wantOutcome)
		}
	}
	out, err = api.Client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"checkout-prod-checkout-target-p99"}})
	if err != nil || len(out.MetricAlarms) != 1 || aws.ToFloat64(out.MetricAlarms[0].Threshold) != 3 {
		t.Errorf("p99 alarm after update: %+v %v, want threshold 3", out, err)
	}
}

func TestDiscoverGivenLoadBalancerAndTargetGroup(t *testing.T) {
	moto := testenv.Moto(t)
	ctx := context.Background()
	prod, err := testenv.CreateProd(ctx, moto.Config)
	if err != nil {
		t.Fatal(err)
	}
	api := elb.NewFromConfig(moto.Config)
	want := []Target{{LoadBalancer: prod.LoadBalancerDim, TargetGroup: prod.TargetGroupDim}}
	for name, sel := range map[string]Selection{
		"load balancer by name": {LoadBalancers: []string{"checkout-prod"}},
		"target group by name":  {TargetGroups: []string{"checkout"}},
		"target group by ARN":   {TargetGroups: []string{prod.TargetGroupARN}},
		"both, found once":      {LoadBalancers: []string{"checkout-prod"}, TargetGroups: []string{"checkout"}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Discover(ctx, api, sel)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Targets, want) {
				t.Errorf("targets %v, want %v", got.Targets, want)
			}
		})
	}
	if _, err := Discover(ctx, api, Selection{LoadBalancers: []string{"nope-prod"}}); err == nil || !strings.Contains(err.Error(), "nope-prod") {
		t.Errorf("unknown load balancer: err = %v, want one naming it", err)
	}
}

func TestDiscoverNotesPoliciesWithoutALoadBalancer(t *testing.T) {
	moto := testenv.Moto(t)
	ctx := context.Background()
	if _, err := testenv.CreateProd(ctx, moto.Config); err != nil {
		t.Fatal(err)
	}
	got, err := Discover(ctx, elb.NewFromConfig(moto.Config), Selection{Policies: examplePolicies(t).Policies()})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(got.Notes, "\n")
	for _, want := range []string{"payments-elb-502-503", "degraded-restart-shadow"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q do not mention %s", notes, want)
		}
	}
	if strings.Contains(notes, "checkout-target-5xx") {
		t.Errorf("notes %q mention checkout-target-5xx, whose target group exists", notes)
	}
}
