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
// lacks: it keeps composite alarms and their tags itself, refuses a rule
// naming an alarm moto does not have (as CloudWatch does), and adds its
// alarms to what moto's DescribeAlarms returns. It records the
// ActionConfiguration of every put (moto 5.2.1 ignores it), and drops
// Tags when PutMetricAlarm updates an alarm, as CloudWatch does (moto
// applies them). Every other call goes to moto.
type compositeFake struct {
	*cloudwatch.Client
	mu            sync.Mutex
	composites    map[string]cwtypes.CompositeAlarm
	compositeTags map[string]map[string]string // by ARN
	puts          int                          // PutMetricAlarm and PutCompositeAlarm calls
	tagCalls      int                          // TagResource calls
	propagation   map[string]bool              // by alarm name: the last put turned tag propagation on
}

func newCompositeFake(c *cloudwatch.Client) *compositeFake {
	return &compositeFake{Client: c, composites: make(map[string]cwtypes.CompositeAlarm),
		compositeTags: make(map[string]map[string]string), propagation: make(map[string]bool)}
}

func propagates(c *cwtypes.ActionConfiguration) bool {
	return c != nil && c.AlarmTagsPropagation != nil && aws.ToBool(c.AlarmTagsPropagation.Enabled)
}

const compositeARN = "arn:aws:cloudwatch:" + testenv.Region + ":" + testenv.Account + ":alarm:"

func (f *compositeFake) ListTagsForResource(ctx context.Context, in *cloudwatch.ListTagsForResourceInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.ListTagsForResourceOutput, error) {
	f.mu.Lock()
	tags, ok := f.compositeTags[aws.ToString(in.ResourceARN)]
	f.mu.Unlock()
	if !ok {
		return f.Client.ListTagsForResource(ctx, in, opts...)
	}
	out := &cloudwatch.ListTagsForResourceOutput{}
	for k, v := range tags {
		out.Tags = append(out.Tags, cwtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

func (f *compositeFake) TagResource(ctx context.Context, in *cloudwatch.TagResourceInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.TagResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tagCalls++
	tags, ok := f.compositeTags[aws.ToString(in.ResourceARN)]
	if !ok {
		return f.Client.TagResource(ctx, in, opts...)
	}
	for _, t := range in.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return &cloudwatch.TagResourceOutput{}, nil
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
	name := aws.ToString(in.AlarmName)
	arn := compositeARN + name
	if _, ok := f.compositeTags[arn]; !ok { // Tags count only on creation
		f.compositeTags[arn] = make(map[string]string)
		for _, t := range in.Tags {
			f.compositeTags[arn][aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	f.propagation[name] = propagates(in.ActionConfiguration)
	f.composites[name] = cwtypes.CompositeAlarm{
		AlarmName: in.AlarmName, AlarmArn: aws.String(arn), AlarmDescription: in.AlarmDescription, AlarmRule: in.AlarmRule,
		ActionsEnabled: in.ActionsEnabled, AlarmActions: in.AlarmActions, OKActions: in.OKActions,
	}
	return &cloudwatch.PutCompositeAlarmOutput{}, nil
}

func (f *compositeFake) PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error) {
	exists, err := f.Client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{aws.ToString(in.AlarmName)}})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.puts++
	f.propagation[aws.ToString(in.AlarmName)] = propagates(in.ActionConfiguration)
	f.mu.Unlock()
	if len(exists.MetricAlarms) > 0 { // CloudWatch ignores Tags on an update
		cp := *in
		cp.Tags = nil
		in = &cp
	}
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

// tagsOf returns the alarm's tags as ListTagsForResource reports them.
func tagsOf(t *testing.T, api *compositeFake, name string) map[string]string {
	t.Helper()
	ctx := context.Background()
	arn := compositeARN + name
	if _, ok := api.composites[name]; !ok {
		out, err := api.Client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("describe %s: %v %v", name, out, err)
		}
		arn = aws.ToString(out.MetricAlarms[0].AlarmArn)
	}
	out, err := api.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil {
		t.Fatalf("list tags of %s: %v", name, err)
	}
	tags := make(map[string]string)
	for _, tag := range out.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags
}

// checkAlarmTags fails unless every alarm has want among its tags and was last
// put with tag propagation on.
func checkAlarmTags(t *testing.T, when string, api *compositeFake, alarms []Alarm, want map[string]string) {
	t.Helper()
	for _, a := range alarms {
		got := tagsOf(t, api, a.Name)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s has tags %v, want %s=%s", when, a.Name, got, k, v)
			}
		}
		if !api.propagation[a.Name] {
			t.Errorf("%s: %s was not put with tag propagation on", when, a.Name)
		}
	}
}

func tagOptions(tags ...Tag) Options {
	return Options{SLO: "99.9", Tags: tags}
}

func TestApplyWithTagsAgainstMoto(t *testing.T) {
	moto := testenv.Moto(t)
	ctx := context.Background()
	alarms, err := Generate([]Target{checkout}, tagOptions(starterTags...))
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
	checkAlarmTags(t, "first run", api, alarms, map[string]string{"medic-cluster": "prod", "medic-service": "checkout"})

	puts := api.puts
	changes, err = Apply(ctx, api, alarms)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(changes); got[Unchanged] != len(alarms) || api.puts != puts || api.tagCalls != 0 {
		t.Errorf("second run: %v, %d put and %d tag call(s); want all unchanged and none", changes, api.puts-puts, api.tagCalls)
	}

	// A new tag value reaches every alarm, through TagResource: the
	// definitions are the same, and a put would ignore the tags anyway.
	alarms, err = Generate([]Target{checkout}, tagOptions(Tag{"medic-cluster", "prod"}, Tag{"medic-service", "checkout-v2"}))
	if err != nil {
		t.Fatal(err)
	}
	changes, err = Apply(ctx, api, alarms)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(changes); got[Updated] != len(alarms) || api.tagCalls != len(alarms) {
		t.Errorf("new tag value: %v and %d tag call(s), want all %d updated and tagged", changes, api.tagCalls, len(alarms))
	}
	checkAlarmTags(t, "new tag value", api, alarms, map[string]string{"medic-cluster": "prod", "medic-service": "checkout-v2"})

	// A changed definition and a changed tag together: put, then tagged.
	opts := tagOptions(Tag{"medic-cluster", "prod"}, Tag{"medic-service", "checkout-v3"})
	opts.MaxP99 = 3e9
	if alarms, err = Generate([]Target{checkout}, opts); err != nil {
		t.Fatal(err)
	}
	if _, err = Apply(ctx, api, alarms); err != nil {
		t.Fatal(err)
	}
	checkAlarmTags(t, "new definition and tag value", api, alarms, map[string]string{"medic-service": "checkout-v3"})
	out, err := api.Client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"checkout-prod-checkout-target-p99"}})
	if err != nil || len(out.MetricAlarms) != 1 || aws.ToFloat64(out.MetricAlarms[0].Threshold) != 3 {
		t.Errorf("p99 alarm after update: %+v %v, want threshold 3", out, err)
	}
}

func TestApplyTagsAlarmsCreatedWithoutThem(t *testing.T) {
	moto := testenv.Moto(t)
	ctx := context.Background()
	api := newCompositeFake(testenv.CloudWatchClient(moto.Config))
	untagged, err := Generate([]Target{checkout}, tagOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, api, untagged); err != nil {
		t.Fatal(err)
	}
	if api.tagCalls != 0 || api.propagation["checkout-prod-elb-503"] {
		t.Fatalf("without tags: %d tag call(s), propagation %v; want none and off", api.tagCalls, api.propagation["checkout-prod-elb-503"])
	}

	alarms, err := Generate([]Target{checkout}, tagOptions(starterTags...))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := Apply(ctx, api, alarms)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(changes); got[Updated] != len(alarms) {
		t.Errorf("tagging: %v, want all %d updated", changes, len(alarms))
	}
	// Put again with propagation on (moto does not say whether it is), and tagged.
	checkAlarmTags(t, "tagging", api, alarms, map[string]string{"medic-cluster": "prod", "medic-service": "checkout"})

	puts := api.puts
	changes, err = Apply(ctx, api, alarms)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(changes); got[Unchanged] != len(alarms) || api.puts != puts {
		t.Errorf("after tagging: %v and %d put call(s), want all unchanged and none", changes, api.puts-puts)
	}
}

// reportsPropagationOff is CloudWatch reporting, in DescribeAlarms, that
// every alarm has tag propagation off (moto 5.2.1 reports nothing).
type reportsPropagationOff struct{ *compositeFake }

func (r reportsPropagationOff) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	out, err := r.compositeFake.DescribeAlarms(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	off := &cwtypes.ActionConfiguration{AlarmTagsPropagation: &cwtypes.AlarmTagsPropagation{Enabled: aws.Bool(false)}}
	for i := range out.MetricAlarms {
		out.MetricAlarms[i].ActionConfiguration = off
	}
	return out, nil
}

func TestApplyTurnsOnPropagationReportedOff(t *testing.T) {
	moto := testenv.Moto(t)
	ctx := context.Background()
	fake := newCompositeFake(testenv.CloudWatchClient(moto.Config))
	alarms, err := Generate([]Target{checkout}, Options{Tags: starterTags})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, fake, alarms); err != nil {
		t.Fatal(err)
	}
	puts, tagCalls := fake.puts, fake.tagCalls
	changes, err := Apply(ctx, reportsPropagationOff{fake}, alarms)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(changes); got[Updated] != len(alarms) || fake.puts-puts != len(alarms) || fake.tagCalls != tagCalls {
		t.Errorf("tags in place, propagation reported off: %v, %d put and %d tag call(s); want all %d updated by a put, no tagging",
			changes, fake.puts-puts, fake.tagCalls-tagCalls, len(alarms))
	}
}
