package alb

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/remediations"
)

// world is the moto stack the integration tests start from: a VPC with two
// subnets, ALB "checkout-prod" with target groups "web" and "api", an HTTP
// listener on port 80 forwarding to "web", and on it a rule that is not
// medic's: priority 10, path /api/*, forward to "api", tagged team=payments.
type world struct {
	t        *testing.T
	elb      *elb.Client
	vpc      string
	subnets  []string
	lbARN    string
	lbDim    string
	web      string
	api      string
	listener string
	other    string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	m := testenv.Moto(t)
	w := &world{t: t, elb: elb.NewFromConfig(m.Config)}
	ec := ec2.NewFromConfig(m.Config)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	w.must("create vpc", err)
	w.vpc = aws.ToString(vpc.Vpc.VpcId)
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(w.vpc), AvailabilityZone: aws.String(az),
			CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]),
		})
		w.must("create subnet", err)
		w.subnets = append(w.subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	lb, err := w.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String("checkout-prod"), Subnets: w.subnets, Type: types.LoadBalancerTypeEnumApplication,
	})
	w.must("create load balancer", err)
	w.lbARN = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	_, w.lbDim, _ = strings.Cut(w.lbARN, ":loadbalancer/")
	w.web = w.targetGroup("web")
	w.api = w.targetGroup("api")
	w.listener = w.addListener(80)
	w.other = w.addRule(w.listener, 10, "/api/*", w.api, map[string]string{"team": "payments"})
	return w
}

func (w *world) must(what string, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

func (w *world) targetGroup(name string) string {
	w.t.Helper()
	out, err := w.elb.CreateTargetGroup(context.Background(), &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String(w.vpc),
		TargetType: types.TargetTypeEnumIp,
	})
	w.must("create target group "+name, err)
	return aws.ToString(out.TargetGroups[0].TargetGroupArn)
}

func (w *world) addListener(port int32) string {
	w.t.Helper()
	out, err := w.elb.CreateListener(context.Background(), &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(w.lbARN), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(port),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(w.web)}},
	})
	w.must("create listener", err)
	return aws.ToString(out.Listeners[0].ListenerArn)
}

func (w *world) addRule(listener string, prio int32, path, tg string, tags map[string]string) string {
	w.t.Helper()
	in := &elb.CreateRuleInput{
		ListenerArn: aws.String(listener), Priority: aws.Int32(prio),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{path}}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}},
	}
	for k, v := range tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := w.elb.CreateRule(context.Background(), in)
	w.must("create rule", err)
	return aws.ToString(out.Rules[0].RuleArn)
}

// rule is one listener rule as the tests compare it.
type rule struct {
	ARN        string
	Priority   int // 0 for the default rule
	Conditions []types.RuleCondition
	Actions    []types.Action
	Tags       map[string]string
}

// rules returns the listener's rules sorted by priority (moto does not sort),
// default rule last, with their tags.
func (w *world) rules(listener string) []rule {
	w.t.Helper()
	ctx := context.Background()
	out, err := w.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(listener)})
	w.must("describe rules", err)
	var rs []rule
	var arns []string
	for _, r := range out.Rules {
		p, _ := strconv.Atoi(aws.ToString(r.Priority))
		rs = append(rs, rule{ARN: aws.ToString(r.RuleArn), Priority: p, Conditions: r.Conditions, Actions: r.Actions})
		arns = append(arns, aws.ToString(r.RuleArn))
	}
	tags, err := w.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: arns})
	w.must("describe tags", err)
	for _, d := range tags.TagDescriptions {
		for i := range rs {
			if rs[i].ARN == aws.ToString(d.ResourceArn) {
				rs[i].Tags = tagMap(d.Tags)
			}
		}
	}
	slices.SortFunc(rs, func(a, b rule) int {
		if a.Priority == 0 || b.Priority == 0 {
			return b.Priority - a.Priority
		}
		return a.Priority - b.Priority
	})
	return rs
}

// medicRules returns the rules tagged medic:managed=true.
func medicRules(rs []rule) []rule {
	var out []rule
	for _, r := range rs {
		if r.Tags[tagManaged] == "true" {
			out = append(out, r)
		}
	}
	return out
}

func (w *world) find(listener, arn string) (rule, bool) {
	for _, r := range w.rules(listener) {
		if r.ARN == arn {
			return r, true
		}
	}
	return rule{}, false
}

// alb5xx is an ELB 5xx alarm on the world's load balancer, as the decoders
// normalise it.
func (w *world) alb5xx() *alarm.Alarm {
	return &alarm.Alarm{
		Name:      "checkout-prod-elb-5xx",
		ARN:       "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-elb-5xx",
		Account:   testenv.Account,
		Region:    testenv.Region,
		State:     alarm.StateAlarm,
		Timestamp: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC),
		Metrics: []alarm.Metric{{
			Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_5XX_Count", Stat: "Sum", Period: 60,
			Dimensions: map[string]string{"LoadBalancer": w.lbDim},
		}},
		HTTP5xx: &alarm.HTTP5xx{Source: "elb", Code: "5XX"},
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

func resultRoundTrip(t *testing.T, r *remediations.Result) *remediations.Result {
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

func (w *world) planApply(m *Maintenance, a *alarm.Alarm, p remediations.Params) (*remediations.Plan, *remediations.Result) {
	w.t.Helper()
	ctx := context.Background()
	plan, err := m.Plan(ctx, a, p)
	w.must("plan", err)
	res, err := m.Apply(ctx, roundTrip(w.t, plan))
	w.must("apply", err)
	return plan, res
}

func fixedResponseOf(r rule) *types.FixedResponseActionConfig {
	for _, a := range r.Actions {
		if a.Type == types.ActionTypeEnumFixedResponse {
			return a.FixedResponseConfig
		}
	}
	return nil
}

func conditionValues(r rule, field string) []string {
	for _, c := range r.Conditions {
		if aws.ToString(c.Field) != field {
			continue
		}
		switch {
		case c.PathPatternConfig != nil:
			return c.PathPatternConfig.Values
		case c.HostHeaderConfig != nil:
			return c.HostHeaderConfig.Values
		case c.SourceIpConfig != nil:
			return c.SourceIpConfig.Values
		}
		return c.Values
	}
	return nil
}

func TestMaintenanceOnAddsOne503RuleAheadOfTheListenersRules(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	long := strings.Repeat(`We are upgrading the "checkout" database <b>&</b> will be back soon. ünïcødé ✓ `, 40)
	plan, res := w.planApply(m, nil, remediations.Params{
		"listener": w.listener, "format": "json", "retry_after": 600, "message": long,
	})
	if plan.NoOp || !plan.Reversible || plan.Target != "alb:"+w.listener {
		t.Errorf("plan = noop %v, reversible %v, target %q; want a reversible change on alb:%s", plan.NoOp, plan.Reversible, plan.Target, w.listener)
	}
	for _, want := range []string{"listener app/checkout-prod/", ":80: add maintenance rule (503 json, retry after 600s) at priority 1", "message cut"} {
		if !strings.Contains(plan.Summary, want) {
			t.Errorf("plan summary %q does not say %q", plan.Summary, want)
		}
	}

	mine := medicRules(w.rules(w.listener))
	if len(mine) != 1 {
		t.Fatalf("medic rules after apply = %d, want 1: %+v", len(mine), mine)
	}
	r := mine[0]
	if r.Priority != 1 || r.Priority >= 10 {
		t.Errorf("maintenance rule priority = %d, want 1 (ahead of the rule at 10)", r.Priority)
	}
	if got := conditionValues(r, "path-pattern"); !reflect.DeepEqual(got, []string{"/*"}) {
		t.Errorf("maintenance rule path-pattern = %v, want [/*]", got)
	}
	if r.Tags[tagRole] != roleMaintenance || r.Tags[tagAction] != ActionName {
		t.Errorf("maintenance rule tags = %v", r.Tags)
	}
	fr := fixedResponseOf(r)
	if fr == nil {
		t.Fatalf("maintenance rule has no fixed-response action: %+v", r.Actions)
	}
	if aws.ToString(fr.StatusCode) != "503" || aws.ToString(fr.ContentType) != "application/json" {
		t.Errorf("fixed response = %s %s, want 503 application/json", aws.ToString(fr.StatusCode), aws.ToString(fr.ContentType))
	}
	body := aws.ToString(fr.MessageBody)
	if n := len([]rune(body)); n > 1024 {
		t.Errorf("body is %d characters, ALB allows 1024", n)
	}
	var got struct {
		Message    string `json:"message"`
		RetryAfter int    `json:"retry_after"`
		Hint       string `json:"hint"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	if got.RetryAfter != 600 || !strings.Contains(got.Hint, "retry after 600 seconds") {
		t.Errorf("body retry hint = %d, %q; want 600 and \"retry after 600 seconds\"", got.RetryAfter, got.Hint)
	}
	if !strings.HasPrefix(long, strings.TrimSuffix(got.Message, "…")) || !strings.HasSuffix(got.Message, "…") {
		t.Errorf("body message is not the start of the message followed by an ellipsis: %q", got.Message)
	}

	var rd resultData
	if err := json.Unmarshal(res.Data, &rd); err != nil || len(rd.Rules) != 1 || rd.Rules[0].ARN != r.ARN {
		t.Errorf("result data = %s (%v), want the created rule %s", res.Data, err, r.ARN)
	}
}

func TestMaintenanceOnTwiceLeavesOneRule(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	p := remediations.Params{"listener": w.listener}
	w.planApply(m, nil, p)
	plan, err := m.Plan(context.Background(), nil, p)
	w.must("second plan", err)
	if !plan.NoOp || !strings.Contains(plan.Summary, "maintenance already on for app/checkout-prod/") {
		t.Errorf("second plan = noop %v, %q; want a NoOp saying maintenance is already on", plan.NoOp, plan.Summary)
	}
	if _, err := m.Apply(context.Background(), roundTrip(t, plan)); err != nil {
		t.Errorf("apply of a NoOp plan: %v", err)
	}
	if n := len(medicRules(w.rules(w.listener))); n != 1 {
		t.Errorf("medic rules after enabling twice = %d, want 1", n)
	}
}

func TestAllowListIsForwardedAheadOfThe503Rule(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	cidrs := []any{"10.0.0.0/8", "192.168.1.0/24", "172.16.0.0/12", "203.0.113.7/32", "198.51.100.0/24", "2001:db8::/32", "100.64.0.0/10"}
	plan, _ := w.planApply(m, nil, remediations.Params{"listener": w.listener, "allow_ips": cidrs})
	if !strings.Contains(plan.Summary, "allow 10.0.0.0/8") || !strings.Contains(plan.Summary, "at priorities 1, 2 (forward to targetgroup/web/") || !strings.Contains(plan.Summary, "skip the listener's 1 other rule") {
		t.Errorf("plan summary %q does not describe the allow rules", plan.Summary)
	}

	var maint rule
	var allow []rule
	for _, r := range medicRules(w.rules(w.listener)) {
		switch r.Tags[tagRole] {
		case roleMaintenance:
			maint = r
		case roleAllow:
			allow = append(allow, r)
		}
	}
	if maint.ARN == "" || len(allow) != 2 {
		t.Fatalf("want one maintenance rule and 2 allow rules (7 CIDRs, 5 per rule), got %q and %d", maint.ARN, len(allow))
	}
	var allowed []string
	for _, r := range allow {
		if r.Priority >= maint.Priority {
			t.Errorf("allow rule at priority %d is not ahead of the 503 rule at %d", r.Priority, maint.Priority)
		}
		v := conditionValues(r, "source-ip")
		if len(v) > 5 {
			t.Errorf("allow rule has %d source-ip values, ALB allows 5", len(v))
		}
		allowed = append(allowed, v...)
		if len(r.Actions) != 1 || r.Actions[0].Type != types.ActionTypeEnumForward {
			t.Fatalf("allow rule actions = %+v, want one forward", r.Actions)
		}
		var tgs []string
		if fc := r.Actions[0].ForwardConfig; fc != nil {
			for _, tg := range fc.TargetGroups {
				tgs = append(tgs, aws.ToString(tg.TargetGroupArn))
			}
		}
		if tg := aws.ToString(r.Actions[0].TargetGroupArn); tg != "" && !slices.Contains(tgs, tg) {
			tgs = append(tgs, tg)
		}
		if !reflect.DeepEqual(tgs, []string{w.web}) {
			t.Errorf("allow rule forwards to %v, want the default target group %s", tgs, w.web)
		}
	}
	slices.Sort(allowed)
	want := []string{"10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.1.0/24", "198.51.100.0/24", "2001:db8::/32", "203.0.113.7/32"}
	if !reflect.DeepEqual(allowed, want) {
		t.Errorf("allowed CIDRs = %v, want %v", allowed, want)
	}
	if maint.Priority >= 10 {
		t.Errorf("503 rule at priority %d is behind the existing rule at 10", maint.Priority)
	}
}

func TestHostHeadersScopeBothRules(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	hosts := []any{"shop.example.com", "www.example.com"}
	w.planApply(m, nil, remediations.Params{"listener": w.listener, "host_headers": hosts, "allow_ips": []any{"10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"}})
	var n int
	for _, r := range medicRules(w.rules(w.listener)) {
		n++
		if got := conditionValues(r, "host-header"); !reflect.DeepEqual(got, []string{"shop.example.com", "www.example.com"}) {
			t.Errorf("%s rule host-header = %v, want the two hosts", r.Tags[tagRole], got)
		}
		var values int
		for _, f := range []string{"host-header", "source-ip", "path-pattern"} {
			values += len(conditionValues(r, f))
		}
		if values > 5 {
			t.Errorf("%s rule at %d has %d condition values, ALB allows 5", r.Tags[tagRole], r.Priority, values)
		}
	}
	if n != 3 {
		t.Errorf("medic rules = %d, want 2 allow rules (3 CIDRs fit beside 2 hosts) and 1 maintenance rule", n)
	}
}

func TestUndoRemovesOnlyMedicsRules(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	before, ok := w.find(w.listener, w.other)
	if !ok {
		t.Fatal("the pre-existing rule is missing before the test")
	}
	_, res := w.planApply(m, w.alb5xx(), remediations.Params{"listener": w.listener, "allow_ips": []any{"10.0.0.0/8"}})
	if n := len(medicRules(w.rules(w.listener))); n != 2 {
		t.Fatalf("medic rules after apply = %d, want 2", n)
	}
	for _, r := range medicRules(w.rules(w.listener)) {
		if r.Tags[tagAlarm] != "checkout-prod-elb-5xx" {
			t.Errorf("rule tags = %v, want medic:alarm naming the alarm", r.Tags)
		}
	}

	undo, err := m.Undo(context.Background(), resultRoundTrip(t, res))
	w.must("undo", err)
	if !strings.Contains(undo.Summary, "maintenance off: removed maintenance rule at priority 2, allow rule at priority 1") {
		t.Errorf("undo summary = %q", undo.Summary)
	}
	after := w.rules(w.listener)
	if n := len(medicRules(after)); n != 0 {
		t.Errorf("medic rules after undo = %d, want 0", n)
	}
	if len(after) != 2 {
		t.Errorf("rules after undo = %d, want the pre-existing rule and the default rule", len(after))
	}
	got, ok := w.find(w.listener, w.other)
	if !ok {
		t.Fatal("undo removed the rule medic does not own")
	}
	if !reflect.DeepEqual(got, before) {
		t.Errorf("the rule medic does not own changed:\nbefore %+v\nafter  %+v", before, got)
	}

	again, err := m.Undo(context.Background(), res)
	w.must("second undo", err)
	if len(again.Changes) != 0 || !strings.Contains(again.Summary, "nothing removed") || !strings.Contains(again.Summary, "maintenance rule "+shortARN(res2ARN(t, res, roleMaintenance))+" (priority 2) already gone") {
		t.Errorf("second undo = %q with %d changes, want nothing removed and the recorded rules reported gone", again.Summary, len(again.Changes))
	}
}

func TestModeOffPlansAndRemovesMedicsRulesWithoutAResult(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	w.planApply(m, nil, remediations.Params{"listener": w.listener, "allow_ips": []any{"10.0.0.0/8"}})
	plan, res := w.planApply(m, nil, remediations.Params{"listener": w.listener, "mode": "off"})
	if plan.NoOp || len(plan.Changes) != 2 || !strings.Contains(plan.Summary, "remove maintenance rule at priority 2, allow rule at priority 1") {
		t.Errorf("off plan = noop %v, %d changes, %q", plan.NoOp, len(plan.Changes), plan.Summary)
	}
	if n := len(medicRules(w.rules(w.listener))); n != 0 {
		t.Errorf("medic rules after mode off = %d, want 0", n)
	}
	if _, ok := w.find(w.listener, w.other); !ok {
		t.Error("mode off removed the rule medic does not own")
	}
	if _, err := m.Undo(context.Background(), res); !errors.Is(err, remediations.ErrNotReversible) {
		t.Errorf("undo of mode off = %v, want ErrNotReversible", err)
	}
	plan, err := m.Plan(context.Background(), nil, remediations.Params{"listener": w.listener, "mode": "off"})
	w.must("plan off again", err)
	if !plan.NoOp {
		t.Errorf("off plan with no medic rules = %q, want a NoOp", plan.Summary)
	}
}

func TestListenerResolvesFromTheLoadBalancerDimension(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	ctx := context.Background()

	plan, err := m.Plan(ctx, w.alb5xx(), remediations.Params{})
	w.must("plan with one listener", err)
	if plan.Target != "alb:"+w.listener {
		t.Errorf("one listener: target = %q, want alb:%s", plan.Target, w.listener)
	}

	l8080 := w.addListener(8080)
	_, err = m.Plan(ctx, w.alb5xx(), remediations.Params{})
	if !errors.Is(err, remediations.ErrTarget) || !strings.Contains(err.Error(), "80, 8080") {
		t.Errorf("two listeners, no port: err = %v, want ErrTarget listing ports 80, 8080", err)
	}
	plan, err = m.Plan(ctx, w.alb5xx(), remediations.Params{"port": 8080})
	w.must("plan with port 8080", err)
	if plan.Target != "alb:"+l8080 {
		t.Errorf("port 8080: target = %q, want alb:%s", plan.Target, l8080)
	}
	_, err = m.Plan(ctx, w.alb5xx(), remediations.Params{"port": 443})
	if !errors.Is(err, remediations.ErrTarget) {
		t.Errorf("no listener on 443: err = %v, want ErrTarget", err)
	}

	a := w.alb5xx()
	a.Metrics[0].Dimensions["LoadBalancer"] = "app/checkout-prod/0123456789abcdef"
	_, err = m.Plan(ctx, a, remediations.Params{})
	if !errors.Is(err, remediations.ErrTarget) || !strings.Contains(err.Error(), "app/checkout-prod/0123456789abcdef") {
		t.Errorf("unknown load balancer id: err = %v, want ErrTarget naming the dimension", err)
	}
	a.Metrics[0].Dimensions["LoadBalancer"] = "app/nope/0123456789abcdef"
	_, err = m.Plan(ctx, a, remediations.Params{})
	if !errors.Is(err, remediations.ErrTarget) || !strings.Contains(err.Error(), "app/nope/0123456789abcdef") {
		t.Errorf("unknown load balancer: err = %v, want ErrTarget naming the dimension", err)
	}
	a.Metrics[0].Dimensions = map[string]string{"TargetGroup": "targetgroup/web/1"}
	_, err = m.Plan(ctx, a, remediations.Params{})
	if !errors.Is(err, remediations.ErrTarget) {
		t.Errorf("no LoadBalancer dimension: err = %v, want ErrTarget", err)
	}
}

func TestUnknownListenerIsNotFound(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	gone := strings.Replace(w.listener, "/checkout-prod/", "/checkout-prod/", 1)
	gone = gone[:strings.LastIndex(gone, "/")+1] + "0000000000000000"
	_, err := m.Plan(context.Background(), nil, remediations.Params{"listener": gone})
	if !errors.Is(err, remediations.ErrNotFound) {
		t.Errorf("unknown listener: err = %v, want ErrNotFound", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Op != "elasticloadbalancing:DescribeListeners" || ae.Resource != gone {
		t.Errorf("unknown listener: err = %#v, want an *APIError naming DescribeListeners on %s", ae, gone)
	}
}

func TestApplyRefusesAStalePlan(t *testing.T) {
	ctx := context.Background()
	t.Run("a rule took the planned priority", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": w.listener, "allow_ips": []any{"10.0.0.0/8"}})
		w.must("plan", err)
		w.addRule(w.listener, 2, "/late/*", w.api, nil)
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "priority 2 is now taken") {
			t.Errorf("err = %v, want ErrStalePlan saying priority 2 is taken", err)
		}
		if n := len(medicRules(w.rules(w.listener))); n != 0 {
			t.Errorf("medic rules after a refused apply = %d, want 0", n)
		}
	})
	t.Run("maintenance was turned on meanwhile", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		p := remediations.Params{"listener": w.listener}
		plan, err := m.Plan(ctx, nil, p)
		w.must("plan", err)
		w.planApply(m, nil, remediations.Params{"listener": w.listener})
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "medic maintenance rule appeared") {
			t.Errorf("err = %v, want ErrStalePlan saying a medic rule appeared", err)
		}
		if n := len(medicRules(w.rules(w.listener))); n != 1 {
			t.Errorf("medic rules = %d, want 1", n)
		}
	})
	t.Run("the listener was deleted", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": w.listener})
		w.must("plan", err)
		_, err = w.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(w.listener)})
		w.must("delete listener", err)
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !errors.Is(err, remediations.ErrNotFound) {
			t.Errorf("err = %v, want ErrStalePlan and ErrNotFound", err)
		}
	})
	t.Run("a rule the plan moves changed", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		health := w.addRule(w.listener, 1, "/health", w.api, nil)
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": w.listener})
		w.must("plan", err)
		_, err = w.elb.ModifyRule(ctx, &elb.ModifyRuleInput{
			RuleArn:    aws.String(health),
			Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/*"}}}},
		})
		w.must("modify rule", err)
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "to move changed since the plan: priority 1 -> 2 (path-pattern /* ->") || !strings.Contains(err.Error(), "was 1 -> 2 (path-pattern /health ->") {
			t.Errorf("err = %v, want ErrStalePlan saying the rule to move from priority 1 changed", err)
		}
		if r, _ := w.find(w.listener, health); r.Priority != 1 || len(medicRules(w.rules(w.listener))) != 0 {
			t.Errorf("after a refused apply the rule is at %d and medic has %d rules; want 1 and none", r.Priority, len(medicRules(w.rules(w.listener))))
		}
	})
	t.Run("a rule that stays ahead of the maintenance rule changed", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		admin := w.addHostRule(w.listener, 1, "admin.example.com")
		p := remediations.Params{"listener": w.listener, "host_headers": []any{"shop.example.com"}}
		plan, err := m.Plan(ctx, nil, p)
		w.must("plan", err)
		w.setHosts(admin, "admin2.example.com")
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "ahead of the maintenance rule changed since the plan: priority 1 (host-header admin2.example.com ->") {
			t.Errorf("err = %v, want ErrStalePlan saying the rule at priority 1 changed", err)
		}
	})
	t.Run("a rule ahead starts answering maintenance requests", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		admin := w.addHostRule(w.listener, 1, "admin.example.com")
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": w.listener, "host_headers": []any{"shop.example.com"}})
		w.must("plan", err)
		w.setHosts(admin, "*.example.com")
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "medic's rules would now go at priorities 1, not 2 as planned") {
			t.Errorf("err = %v, want ErrStalePlan saying the placement changed", err)
		}
		if n := len(medicRules(w.rules(w.listener))); n != 0 {
			t.Errorf("medic rules after a refused apply = %d, want 0", n)
		}
	})
	t.Run("someone renumbered the rules", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		health := w.addRule(w.listener, 1, "/health", w.api, nil)
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": w.listener})
		w.must("plan", err)
		_, err = w.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: aws.String(health), Priority: aws.Int32(7)}}})
		w.must("renumber", err)
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "no longer needs to move") {
			t.Errorf("err = %v, want ErrStalePlan saying the rule no longer needs to move", err)
		}
		if r, _ := w.find(w.listener, health); r.Priority != 7 || len(medicRules(w.rules(w.listener))) != 0 {
			t.Errorf("after a refused apply the rule is at %d and medic has %d rules; want 7 and none", r.Priority, len(medicRules(w.rules(w.listener))))
		}
	})
	t.Run("another rule took a planned priority", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		health := w.addRule(w.listener, 1, "/health", w.api, nil)
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": w.listener})
		w.must("plan", err)
		_, err = w.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(health)})
		w.must("delete rule", err)
		w.addRule(w.listener, 1, "/*", w.api, nil)
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "priority 1 is now taken by rule") || !strings.Contains(err.Error(), "(path-pattern /* -> forward to targetgroup/api/") {
			t.Errorf("err = %v, want ErrStalePlan naming the new rule at the planned priority", err)
		}
	})
	t.Run("another rule moved ahead of the maintenance rule", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		admin := w.addHostRule(w.listener, 1, "admin.example.com")
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": w.listener, "host_headers": []any{"shop.example.com"}})
		w.must("plan", err)
		_, err = w.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(admin)})
		w.must("delete rule", err)
		w.addHostRule(w.listener, 1, "other.example.com")
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "at priority 1 (host-header other.example.com -> forward to targetgroup/api/") || !strings.Contains(err.Error(), "now sits ahead of the maintenance rule at 2, which the plan did not say") {
			t.Errorf("err = %v, want ErrStalePlan naming the new rule ahead", err)
		}
	})
	t.Run("a rule to move that went away is no reason to refuse", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		health := w.addRule(w.listener, 1, "/health", w.api, nil)
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": w.listener})
		w.must("plan", err)
		_, err = w.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(health)})
		w.must("delete rule", err)
		res, err := m.Apply(ctx, roundTrip(t, plan))
		w.must("apply", err)
		if strings.Contains(res.Summary, "moved") || !strings.Contains(res.Summary, "added maintenance rule at priority 1") {
			t.Errorf("result summary = %q, want the maintenance rule at 1 and no rule moved", res.Summary)
		}
	})
	t.Run("AWS says a planned priority is in use", func(t *testing.T) {
		w := newWorld(t)
		m := New(&racingCreate{ELBv2API: w.elb, w: w, n: 2})
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": w.listener, "allow_ips": []any{"10.0.0.0/8"}})
		w.must("plan", err)
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "priority 2 was taken by another rule after the plan was checked") || !strings.Contains(err.Error(), "PriorityInUse") || !strings.Contains(err.Error(), "removed the 1 rule(s) this apply had created") {
			t.Errorf("err = %v, want ErrStalePlan naming priority 2, PriorityInUse and the rollback", err)
		}
		if n := len(medicRules(w.rules(w.listener))); n != 0 {
			t.Errorf("medic rules after a refused apply = %d, want 0", n)
		}
	})
	t.Run("the default action changed", func(t *testing.T) {
		w := newWorld(t)
		m := New(w.elb)
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": w.listener, "allow_ips": []any{"10.0.0.0/8"}})
		w.must("plan", err)
		_, err = w.elb.ModifyListener(ctx, &elb.ModifyListenerInput{
			ListenerArn:    aws.String(w.listener),
			DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(w.api)}},
		})
		w.must("modify listener", err)
		_, err = m.Apply(ctx, roundTrip(t, plan))
		if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), "default action changed") {
			t.Errorf("err = %v, want ErrStalePlan saying the default action changed", err)
		}
	})
}

// res2ARN returns the ARN of the rule with role that res records as created.
func res2ARN(t *testing.T, res *remediations.Result, role string) string {
	t.Helper()
	var rd resultData
	if err := json.Unmarshal(res.Data, &rd); err != nil {
		t.Fatalf("decode result data: %v", err)
	}
	for _, r := range rd.Rules {
		if r.Role == role {
			return r.ARN
		}
	}
	t.Fatalf("result data %s records no %s rule", res.Data, role)
	return ""
}

// notMedics returns the rules without medic's tags, the default rule
// included.
func notMedics(rs []rule) []rule {
	var out []rule
	for _, r := range rs {
		if r.Tags[tagManaged] != "true" {
			out = append(out, r)
		}
	}
	return out
}

// TestUndoRemovesOnlyTheRulesItsResultCreated: on creates the rules, on again
// is a NoOp; Undo of the NoOp result leaves the rules, Undo of the first
// removes them.
func TestUndoRemovesOnlyTheRulesItsResultCreated(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	ctx := context.Background()
	p := remediations.Params{"listener": w.listener, "allow_ips": []any{"10.0.0.0/8"}}
	_, first := w.planApply(m, w.alb5xx(), p)
	on := medicRules(w.rules(w.listener))
	if len(on) != 2 {
		t.Fatalf("medic rules after the first apply = %d, want 2", len(on))
	}
	plan, second := w.planApply(m, w.alb5xx(), p)
	if !plan.NoOp {
		t.Fatalf("second plan = %q, want a NoOp", plan.Summary)
	}

	undo, err := m.Undo(ctx, resultRoundTrip(t, second))
	w.must("undo of the NoOp result", err)
	if len(undo.Changes) != 0 || !strings.Contains(undo.Summary, "nothing to undo: that apply created no rules") {
		t.Errorf("undo of the NoOp result = %q with %d changes, want nothing to undo", undo.Summary, len(undo.Changes))
	}
	if got := medicRules(w.rules(w.listener)); !reflect.DeepEqual(got, on) {
		t.Errorf("undo of the NoOp result changed medic's rules:\nbefore %+v\nafter  %+v", on, got)
	}

	undo, err = m.Undo(ctx, resultRoundTrip(t, first))
	w.must("undo of the first result", err)
	if len(undo.Changes) != 2 || !strings.Contains(undo.Summary, "removed maintenance rule at priority 2, allow rule at priority 1") {
		t.Errorf("undo of the first result = %q with %d changes", undo.Summary, len(undo.Changes))
	}
	if n := len(medicRules(w.rules(w.listener))); n != 0 {
		t.Errorf("medic rules after undo of the first result = %d, want 0", n)
	}
	if _, ok := w.find(w.listener, w.other); !ok {
		t.Error("undo removed the rule medic does not own")
	}
}

// TestUndoLeavesMedicRulesAnotherApplyCreated: maintenance on, off (mode
// off), on again; Undo of the first result finds its rules gone and leaves
// the second apply's rules.
func TestUndoLeavesMedicRulesAnotherApplyCreated(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	p := remediations.Params{"listener": w.listener}
	_, first := w.planApply(m, nil, p)
	w.planApply(m, nil, remediations.Params{"listener": w.listener, "mode": "off"})
	_, second := w.planApply(m, nil, p)
	again := res2ARN(t, second, roleMaintenance)

	undo, err := m.Undo(context.Background(), resultRoundTrip(t, first))
	w.must("undo of the first result", err)
	if len(undo.Changes) != 0 || !strings.Contains(undo.Summary, "already gone") || !strings.Contains(undo.Summary, "medic maintenance rule at priority 1 from another apply left in place") {
		t.Errorf("undo of the first result = %q with %d changes", undo.Summary, len(undo.Changes))
	}
	if _, ok := w.find(w.listener, again); !ok {
		t.Error("undo of the first result removed the rule the second apply created")
	}
}

// failingCreate is the real client except that CreateRule fails from the
// nth call on, as AWS would when a quota is reached mid-apply.
type failingCreate struct {
	ELBv2API
	n, calls int
}

func (f *failingCreate) CreateRule(ctx context.Context, in *elb.CreateRuleInput, opts ...func(*elb.Options)) (*elb.CreateRuleOutput, error) {
	f.calls++
	if f.calls >= f.n {
		return nil, &smithy.GenericAPIError{Code: "TooManyRules", Message: "The limit on the number of rules has been reached"}
	}
	return f.ELBv2API.CreateRule(ctx, in, opts...)
}

// racingCreate is the real client except that, just before the nth
// CreateRule, someone else creates a rule at the same priority, as when a
// plan is applied while another change lands between the re-check and the
// create.
type racingCreate struct {
	ELBv2API
	w        *world
	n, calls int
}

func (r *racingCreate) CreateRule(ctx context.Context, in *elb.CreateRuleInput, opts ...func(*elb.Options)) (*elb.CreateRuleOutput, error) {
	r.calls++
	if r.calls == r.n {
		r.w.addRule(aws.ToString(in.ListenerArn), aws.ToInt32(in.Priority), "/race/*", r.w.api, nil)
	}
	return r.ELBv2API.CreateRule(ctx, in, opts...)
}

func TestApplyRemovesWhatItCreatedWhenALaterCreateFails(t *testing.T) {
	w := newWorld(t)
	m := New(&failingCreate{ELBv2API: w.elb, n: 2})
	plan, err := m.Plan(context.Background(), nil, remediations.Params{"listener": w.listener, "allow_ips": []any{"10.0.0.0/8"}})
	w.must("plan", err)
	_, err = m.Apply(context.Background(), roundTrip(t, plan))
	if !errors.Is(err, remediations.ErrInvalid) || !strings.Contains(err.Error(), "create maintenance rule at priority 2") || !strings.Contains(err.Error(), "removed the 1 rule(s) this apply had created") {
		t.Errorf("err = %v, want ErrInvalid naming the failed create and the rollback", err)
	}
	if n := len(medicRules(w.rules(w.listener))); n != 0 {
		t.Errorf("medic rules after a failed apply = %d, want 0", n)
	}
}

func TestUndoLeavesARecordedRuleThatLostMedicsTags(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	_, res := w.planApply(m, nil, remediations.Params{"listener": w.listener, "allow_ips": []any{"10.0.0.0/8"}})
	var rd resultData
	w.must("decode result", json.Unmarshal(res.Data, &rd))
	var adopted string
	for _, r := range rd.Rules {
		if r.Role == roleAllow {
			adopted = r.ARN
		}
	}
	// Someone adopts the allow rule: it is theirs now.
	_, err := w.elb.RemoveTags(context.Background(), &elb.RemoveTagsInput{ResourceArns: []string{adopted}, TagKeys: []string{tagManaged, tagRole}})
	w.must("remove tags", err)

	undo, err := m.Undo(context.Background(), res)
	w.must("undo", err)
	if _, ok := w.find(w.listener, adopted); !ok {
		t.Error("undo removed a recorded rule that no longer carries medic's tags")
	}
	if n := len(medicRules(w.rules(w.listener))); n != 0 {
		t.Errorf("medic rules after undo = %d, want 0", n)
	}
	if !strings.Contains(undo.Summary, "no longer carries medic's tags, left in place") {
		t.Errorf("undo summary = %q, want it to say the adopted rule was left", undo.Summary)
	}
}

func TestAllowRuleCopiesARedirectDefaultAction(t *testing.T) {
	w := newWorld(t)
	out, err := w.elb.CreateListener(context.Background(), &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(w.lbARN), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8081),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
			Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: types.RedirectActionStatusCodeEnumHttp301,
		}}},
	})
	w.must("create redirect listener", err)
	listener := aws.ToString(out.Listeners[0].ListenerArn)
	w.planApply(New(w.elb), w.alb5xx(), remediations.Params{"port": 8081, "allow_ips": "10.0.0.0/8"})
	var found bool
	for _, r := range medicRules(w.rules(listener)) {
		if r.Tags[tagRole] != roleAllow {
			continue
		}
		found = true
		if len(r.Actions) != 1 || r.Actions[0].RedirectConfig == nil || aws.ToString(r.Actions[0].RedirectConfig.Protocol) != "HTTPS" || r.Actions[0].RedirectConfig.StatusCode != types.RedirectActionStatusCodeEnumHttp301 {
			t.Errorf("allow rule actions = %+v, want the listener's redirect to HTTPS", r.Actions)
		}
	}
	if !found {
		t.Error("no allow rule on the redirect listener")
	}
}

// TestResolvesFromADeliveredAlarm decodes the EventBridge event CloudWatch
// sends for an ELB 5xx alarm (testdata, with this world's LoadBalancer
// dimension) and turns maintenance on for the listener it names.
func TestResolvesFromADeliveredAlarm(t *testing.T) {
	w := newWorld(t)
	raw, err := os.ReadFile("testdata/eventbridge-elb-5xx.json")
	w.must("read testdata", err)
	raw = []byte(strings.ReplaceAll(string(raw), "app/checkout-prod/50dc6c495c0c9188", w.lbDim))
	alarms, err := alarm.Decode(raw)
	w.must("decode alarm", err)
	plan, res := w.planApply(New(w.elb), alarms[0], remediations.Params{"format": "html", "retry_after": 120})
	if plan.Target != "alb:"+w.listener {
		t.Errorf("target = %q, want alb:%s", plan.Target, w.listener)
	}
	mine := medicRules(w.rules(w.listener))
	if len(mine) != 1 || mine[0].Tags[tagAlarm] != "checkout-prod-elb-5xx" {
		t.Fatalf("medic rules = %+v, want one tagged with the alarm name", mine)
	}
	fr := fixedResponseOf(mine[0])
	if fr == nil || aws.ToString(fr.ContentType) != "text/html" || !strings.Contains(aws.ToString(fr.MessageBody), "Please retry after 120 seconds.") {
		t.Errorf("fixed response = %+v, want an HTML body saying to retry after 120 seconds", fr)
	}
	if !strings.Contains(res.Summary, "maintenance on: added maintenance rule at priority 1") {
		t.Errorf("result summary = %q", res.Summary)
	}
}
