package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/internal/testfakes"
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/alb"
)

// TestALBMaintenanceSucceedsOnlyWhenThe503Answers drives the real engine
// (bbolt store, the real alb.maintenance against moto) through an auto step
// on a listener whose rule at priority 1 forwards every path: the step may
// end SUCCEEDED only when the listener, read back, answers with medic's 503
// first; otherwise it must not succeed and must leave no medic rule behind.
func TestALBMaintenanceSucceedsOnlyWhenThe503Answers(t *testing.T) {
	t.Run("the rule forwarding /* is moved behind the 503", func(t *testing.T) {
		w := newMaintWorld(t)
		catchAll := w.rule(t, 1, types.RuleCondition{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/*"}}})
		p := w.run(t, w.elb, `{}`)
		if p.State != store.StateSucceeded {
			t.Fatalf("step ended %s (%s; %s), want SUCCEEDED with the catch-all rule moved behind the 503", p.State, p.Reason, p.Error)
		}
		w.check503First(t)
		if r, ok := w.find(t, catchAll); !ok || r.Priority <= 1 {
			t.Errorf("the catch-all rule is at priority %d (present %v), want it behind the 503", r.Priority, ok)
		}
	})

	t.Run("with shadowing: refuse the step is blocked and names the rule", func(t *testing.T) {
		w := newMaintWorld(t)
		catchAll := w.rule(t, 1, types.RuleCondition{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/*"}}})
		p := w.run(t, w.elb, `{"shadowing": "refuse"}`)
		if p.State == store.StateSucceeded {
			t.Fatalf("step SUCCEEDED (%s) though it was told not to move the rule that shadows the 503", p.Result.Summary)
		}
		if p.State != store.StateBlocked || !strings.Contains(p.Reason, catchAll) || !strings.Contains(p.Reason, "priority 1") {
			t.Errorf("step = %s (%s), want BLOCKED naming the rule %s at priority 1", p.State, p.Reason, catchAll)
		}
		w.checkNoMedicRules(t)
	})

	t.Run("a rule that starts shadowing the 503 during the apply fails the step, reverted", func(t *testing.T) {
		w := newMaintWorld(t)
		admin := w.rule(t, 1, types.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"admin.example.com"}}})
		racer := &widenAfterMaintenanceCreate{ELBv2API: w.elb, client: w.elb, rule: admin}
		p := w.run(t, racer, `{"host_headers": ["shop.example.com"]}`)
		if !racer.done {
			t.Fatal("the apply never created the maintenance rule; the race did not happen")
		}
		if p.State == store.StateSucceeded {
			t.Fatalf("step SUCCEEDED (%s) while the rule at priority 1 answers shop.example.com ahead of the 503", p.Result.Summary)
		}
		if p.State != store.StateFailed || !strings.Contains(p.Error, admin) {
			t.Errorf("step = %s (%s; %s), want FAILED naming the rule %s", p.State, p.Reason, p.Error, admin)
		}
		w.checkNoMedicRules(t)
	})
}

// maintWorld is a moto ALB with one HTTP listener forwarding to "web", an
// engine with one policy (an auto alb.maintenance step on the alarm
// checkout-prod-elb-5xx) and a queue the test delivers by hand.
type maintWorld struct {
	elb      *elb.Client
	vpc      string
	lbDim    string
	web      string
	listener string
}

func newMaintWorld(t *testing.T) *maintWorld {
	t.Helper()
	bg := context.Background()
	m := testenv.Moto(t)
	w := &maintWorld{elb: elb.NewFromConfig(m.Config)}
	ec := ec2.NewFromConfig(m.Config)
	vpc, err := ec.CreateVpc(bg, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	maintMust(t, "create vpc", err)
	w.vpc = aws.ToString(vpc.Vpc.VpcId)
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec.CreateSubnet(bg, &ec2.CreateSubnetInput{VpcId: aws.String(w.vpc), AvailabilityZone: aws.String(az), CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1))})
		maintMust(t, "create subnet", err)
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	lb, err := w.elb.CreateLoadBalancer(bg, &elb.CreateLoadBalancerInput{Name: aws.String("checkout-prod"), Subnets: subnets, Type: types.LoadBalancerTypeEnumApplication})
	maintMust(t, "create load balancer", err)
	_, w.lbDim, _ = strings.Cut(aws.ToString(lb.LoadBalancers[0].LoadBalancerArn), ":loadbalancer/")
	tg, err := w.elb.CreateTargetGroup(bg, &elb.CreateTargetGroupInput{Name: aws.String("web"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String(w.vpc), TargetType: types.TargetTypeEnumIp})
	maintMust(t, "create target group", err)
	w.web = aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	l, err := w.elb.CreateListener(bg, &elb.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(w.web)}},
	})
	maintMust(t, "create listener", err)
	w.listener = aws.ToString(l.Listeners[0].ListenerArn)
	return w
}

func maintMust(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// rule adds a rule medic does not own, forwarding to "web".
func (w *maintWorld) rule(t *testing.T, prio int32, conds ...types.RuleCondition) string {
	t.Helper()
	out, err := w.elb.CreateRule(context.Background(), &elb.CreateRuleInput{
		ListenerArn: aws.String(w.listener), Priority: aws.Int32(prio), Conditions: conds,
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(w.web)}},
	})
	maintMust(t, fmt.Sprintf("create rule at priority %d", prio), err)
	return aws.ToString(out.Rules[0].RuleArn)
}

// run handles one ALARM of checkout-prod-elb-5xx with an auto
// alb.maintenance step (params as JSON, the listener resolved from the
// alarm's LoadBalancer dimension) using client, delivers the execute
// messages and returns the step's proposal.
func (w *maintWorld) run(t *testing.T, client alb.ELBv2API, params string) *store.Proposal {
	t.Helper()
	bg := context.Background()
	reg, err := remediations.NewRegistry(alb.New(client))
	maintMust(t, "registry", err)
	var p map[string]any
	maintMust(t, "params", json.Unmarshal([]byte(params), &p))
	doc, _ := json.Marshal(map[string]any{"version": 1, "policies": []any{map[string]any{
		"name":     "checkout-maintenance",
		"match":    map[string]any{"alarm": "checkout-prod-elb-5xx"},
		"cooldown": "10m",
		"slack":    map[string]any{"channel": "C0123INCIDENTS"},
		"steps":    []any{map[string]any{"action": alb.ActionName, "approval": "auto", "params": p}},
	}}})
	set, err := policy.Parse("maintenance.yaml", doc, reg) // JSON is YAML
	maintMust(t, "parse policy", err)
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "medic.db"), boltstore.Options{NoSync: true})
	maintMust(t, "open store", err)
	t.Cleanup(func() { _ = st.Close() })
	q := testfakes.NewQueue(testfakes.NewClock())
	e, err := engine.New(engine.Config{}, engine.Deps{
		Store: st, Policies: set, Render: (*policy.Step).Render, Actions: reg, Queue: q,
		AlarmState: maintAlarmInAlarm{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	maintMust(t, "new engine", err)

	a := &alarm.Alarm{
		Name: "checkout-prod-elb-5xx", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-elb-5xx",
		Account: testenv.Account, Region: testenv.Region, State: alarm.StateAlarm, Timestamp: time.Now().UTC(),
		Reason: "Threshold Crossed", Route: alarm.RouteEventBridge,
		Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_5XX_Count", Stat: "Sum", Period: 60,
			Dimensions: map[string]string{"LoadBalancer": w.lbDim}}},
	}
	out, err := e.HandleAlarm(bg, a)
	maintMust(t, "handle alarm", err)
	if len(out.Proposals) != 1 {
		t.Fatalf("proposals = %d, want 1 (outcome %+v)", len(out.Proposals), out)
	}
	for _, m := range q.Take() {
		if m.Kind == engine.KindExecute {
			maintMust(t, "handle execute message", e.HandleMessage(bg, m))
		}
	}
	prop, err := st.Proposal(bg, out.Proposals[0].ID)
	maintMust(t, "read proposal", err)
	return prop
}

// maintRule is one rule as the checks read it back.
type maintRule struct {
	ARN      string
	Priority int
	Rule     types.Rule
	Medic    bool
}

// rules reads the listener's non-default rules back from moto, by priority.
func (w *maintWorld) rules(t *testing.T) []maintRule {
	t.Helper()
	bg := context.Background()
	out, err := w.elb.DescribeRules(bg, &elb.DescribeRulesInput{ListenerArn: aws.String(w.listener)})
	maintMust(t, "describe rules", err)
	var rs []maintRule
	for _, r := range out.Rules {
		if aws.ToBool(r.IsDefault) {
			continue
		}
		p, err := strconv.Atoi(aws.ToString(r.Priority))
		maintMust(t, "rule priority", err)
		mr := maintRule{ARN: aws.ToString(r.RuleArn), Priority: p, Rule: r}
		tags, err := w.elb.DescribeTags(bg, &elb.DescribeTagsInput{ResourceArns: []string{mr.ARN}})
		maintMust(t, "describe tags", err)
		for _, d := range tags.TagDescriptions {
			for _, tag := range d.Tags {
				mr.Medic = mr.Medic || aws.ToString(tag.Key) == "medic:managed" && aws.ToString(tag.Value) == "true"
			}
		}
		rs = append(rs, mr)
	}
	slices.SortFunc(rs, func(a, b maintRule) int { return a.Priority - b.Priority })
	return rs
}

func (w *maintWorld) find(t *testing.T, arn string) (maintRule, bool) {
	t.Helper()
	for _, r := range w.rules(t) {
		if r.ARN == arn {
			return r, true
		}
	}
	return maintRule{}, false
}

// check503First checks that the listener's first rule is medic's and
// answers with a fixed 503: every request the maintenance covers gets it.
func (w *maintWorld) check503First(t *testing.T) {
	t.Helper()
	rs := w.rules(t)
	if len(rs) == 0 {
		t.Fatal("the listener has no rules; the 503 rule is missing")
	}
	first := rs[0]
	var status string
	for _, a := range first.Rule.Actions {
		if a.FixedResponseConfig != nil {
			status = aws.ToString(a.FixedResponseConfig.StatusCode)
		}
	}
	if !first.Medic || status != "503" {
		t.Errorf("the first rule (priority %d, %s) is not medic's 503 (medic %v, fixed response %q): maintenance is not what clients get", first.Priority, first.ARN, first.Medic, status)
	}
}

func (w *maintWorld) checkNoMedicRules(t *testing.T) {
	t.Helper()
	for _, r := range w.rules(t) {
		if r.Medic {
			t.Errorf("medic rule %s left at priority %d after a step that did not succeed", r.ARN, r.Priority)
		}
	}
}

// widenAfterMaintenanceCreate is the real ELB client, except that right
// after medic creates its 503 rule somebody widens rule to every host of
// example.com: it now answers the maintenance requests ahead of the 503.
type widenAfterMaintenanceCreate struct {
	alb.ELBv2API
	client *elb.Client
	rule   string
	done   bool
}

func (r *widenAfterMaintenanceCreate) CreateRule(ctx context.Context, in *elb.CreateRuleInput, opts ...func(*elb.Options)) (*elb.CreateRuleOutput, error) {
	out, err := r.ELBv2API.CreateRule(ctx, in, opts...)
	if err != nil || r.done || !slices.ContainsFunc(in.Actions, func(a types.Action) bool { return a.FixedResponseConfig != nil }) {
		return out, err
	}
	r.done = true
	_, merr := r.client.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(r.rule), Conditions: []types.RuleCondition{
		{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"*.example.com"}}},
	}})
	if merr != nil {
		return out, fmt.Errorf("test race: widen rule %s: %w", r.rule, merr)
	}
	return out, nil
}

// maintAlarmInAlarm says the alarm is still in ALARM.
type maintAlarmInAlarm struct{}

func (maintAlarmInAlarm) AlarmState(context.Context, *alarm.Alarm) (alarm.State, error) {
	return alarm.StateAlarm, nil
}
