package waf

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/wafv2"
	"github.com/aws/aws-sdk-go-v2/service/wafv2/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/remediations"
)

// world is an ALB "checkout-prod" in moto and, unless bare, a web ACL
// "checkout-acl" associated with it holding one rule that is not medic's
// ("block-bad-bots" at priority 0).
type world struct {
	t     *testing.T
	waf   *wafv2.Client
	lbARN string
	lbDim string
	acl   aclRef
	act   *RateLimit
}

func newWorld(t *testing.T, bare bool) *world {
	t.Helper()
	ctx := context.Background()
	m := testenv.Moto(t)
	w := &world{t: t, waf: wafv2.NewFromConfig(m.Config)}
	ec := ec2.NewFromConfig(m.Config)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	w.must("create vpc", err)
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, AvailabilityZone: aws.String(az), CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i])})
		w.must("create subnet", err)
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	lbc := elb.NewFromConfig(m.Config)
	lb, err := lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("checkout-prod"), Subnets: subnets, Type: elbtypes.LoadBalancerTypeEnumApplication})
	w.must("create load balancer", err)
	w.lbARN = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	_, w.lbDim, _ = strings.Cut(w.lbARN, ":loadbalancer/")
	w.act = New(w.waf, lbc)
	w.act.wait = 0
	if bare {
		return w
	}
	out, err := w.waf.CreateWebACL(ctx, &wafv2.CreateWebACLInput{
		Name: aws.String("checkout-acl"), Scope: types.ScopeRegional,
		DefaultAction:    &types.DefaultAction{Allow: &types.AllowAction{}},
		VisibilityConfig: &types.VisibilityConfig{CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: aws.String("checkout-acl")},
		Rules: []types.Rule{{
			Name: aws.String("block-bad-bots"), Priority: 0,
			Statement: &types.Statement{ByteMatchStatement: &types.ByteMatchStatement{
				FieldToMatch:         &types.FieldToMatch{SingleHeader: &types.SingleHeader{Name: aws.String("user-agent")}},
				PositionalConstraint: types.PositionalConstraintContains, SearchString: []byte("badbot"),
				TextTransformations: []types.TextTransformation{{Priority: 0, Type: types.TextTransformationTypeLowercase}},
			}},
			Action:           &types.RuleAction{Block: &types.BlockAction{}},
			VisibilityConfig: &types.VisibilityConfig{CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: aws.String("bots")},
		}},
	})
	w.must("create web ACL", err)
	w.acl = aclRef{ARN: aws.ToString(out.Summary.ARN), Name: "checkout-acl", ID: aws.ToString(out.Summary.Id)}
	_, err = w.waf.AssociateWebACL(ctx, &wafv2.AssociateWebACLInput{WebACLArn: out.Summary.ARN, ResourceArn: aws.String(w.lbARN)})
	w.must("associate web ACL", err)
	return w
}

func (w *world) must(what string, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

// alarm is an ELB 5xx alarm on the world's load balancer.
func (w *world) alarm() *alarm.Alarm {
	return &alarm.Alarm{Name: "checkout-elb-5xx", Region: testenv.Region, Account: testenv.Account, Metrics: []alarm.Metric{{
		Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_5XX_Count", Dimensions: map[string]string{"LoadBalancer": w.lbDim},
	}}}
}

// rules returns the web ACL's rules by name, and its lock token.
func (w *world) rules(ref aclRef) (map[string]types.Rule, string) {
	w.t.Helper()
	out, err := w.waf.GetWebACL(context.Background(), &wafv2.GetWebACLInput{Name: aws.String(ref.Name), Id: aws.String(ref.ID), Scope: types.ScopeRegional})
	w.must("get web ACL", err)
	m := map[string]types.Rule{}
	for _, r := range out.WebACL.Rules {
		m[aws.ToString(r.Name)] = r
	}
	return m, aws.ToString(out.LockToken)
}

func (w *world) plan(p remediations.Params) *remediations.Plan {
	w.t.Helper()
	plan, err := w.act.Plan(context.Background(), w.alarm(), p)
	w.must("plan", err)
	return plan
}

func medicRule(t *testing.T, rules map[string]types.Rule) rateRule {
	t.Helper()
	for name, r := range rules {
		if strings.HasPrefix(name, rulePrefix) {
			rr, ok := fromSDK(r)
			if !ok {
				t.Fatalf("medic rule %s does not read back in medic's shape: %+v", name, r)
			}
			return rr
		}
	}
	t.Fatalf("no medic rule among %d rules", len(rules))
	return rateRule{}
}

func TestRateLimitAddsARuleAtAFreePriorityAndUndoRemovesOnlyIt(t *testing.T) {
	w := newWorld(t, false)
	ctx := context.Background()
	_, before := w.rules(w.acl)
	plan := w.plan(remediations.Params{"limit": 500, "path_prefix": "/api/", "action": "block"})
	if _, after := w.rules(w.acl); after != before {
		t.Fatal("Plan changed the web ACL (its lock token moved)")
	}
	if plan.NoOp || !plan.Reversible || plan.Target != "waf:"+w.acl.ARN {
		t.Fatalf("plan = %+v, want a reversible change of %s", plan, w.acl.ARN)
	}
	for _, want := range []string{"web ACL checkout-acl (of " + w.lbDim + ")", "at priority 1", "500 requests per 5 min per IP on path /api/* -> block"} {
		if !strings.Contains(plan.Summary, want) {
			t.Errorf("summary %q does not say %q", plan.Summary, want)
		}
	}
	// The plan survives the trip to the executor as JSON.
	raw, _ := json.Marshal(plan)
	var sent remediations.Plan
	w.must("decode plan", json.Unmarshal(raw, &sent))
	res, err := w.act.Apply(ctx, &sent)
	w.must("apply", err)

	rules, _ := w.rules(w.acl)
	if len(rules) != 2 {
		t.Fatalf("web ACL has %d rules after apply, want block-bad-bots and medic's", len(rules))
	}
	got := medicRule(t, rules)
	want := rateRule{Name: got.Name, Priority: 1, Limit: 500, Window: 300, Key: KeyIP, Path: "/api/", Action: ActionBlock}
	if got != want {
		t.Errorf("medic rule = %+v, want %+v", got, want)
	}
	if rules["block-bad-bots"].Priority != 0 {
		t.Errorf("block-bad-bots moved to priority %d", rules["block-bad-bots"].Priority)
	}

	undo, err := w.act.Undo(ctx, res)
	w.must("undo", err)
	rules, _ = w.rules(w.acl)
	if _, ok := rules["block-bad-bots"]; !ok || len(rules) != 1 {
		t.Errorf("after undo the web ACL has rules %v, want only block-bad-bots", keys(rules))
	}
	if !strings.Contains(undo.Summary, "removed medic's rule") {
		t.Errorf("undo summary %q does not say the rule was removed", undo.Summary)
	}
}

func TestRateLimitRefusesAPlanWhoseWebACLChanged(t *testing.T) {
	w := newWorld(t, false)
	ctx := context.Background()
	plan := w.plan(remediations.Params{"limit": 1000})

	// Someone else changes the ACL between plan and apply.
	acl, err := w.waf.GetWebACL(ctx, &wafv2.GetWebACLInput{Name: aws.String(w.acl.Name), Id: aws.String(w.acl.ID), Scope: types.ScopeRegional})
	w.must("get web ACL", err)
	_, err = w.waf.UpdateWebACL(ctx, updateInput(acl.WebACL, acl.WebACL.Rules, aws.ToString(acl.LockToken)))
	w.must("update web ACL by hand", err)

	_, err = w.act.Apply(ctx, plan)
	if !errors.Is(err, remediations.ErrStalePlan) || !errors.Is(err, remediations.ErrNotApplied) {
		t.Fatalf("apply of a stale plan: err = %v, want ErrStalePlan and ErrNotApplied", err)
	}
	if !strings.Contains(err.Error(), "lock token") {
		t.Errorf("error %q does not say the lock token changed", err)
	}
	if rules, _ := w.rules(w.acl); len(rules) != 1 {
		t.Errorf("the stale apply changed the web ACL: rules %v", keys(rules))
	}
}

func TestRateLimitUpdateWithAStaleLockTokenIsAStalePlan(t *testing.T) {
	// The check WAF itself makes: an update with an old lock token.
	w := newWorld(t, false)
	ctx := context.Background()
	acl, token, err := w.act.getACL(ctx, w.acl)
	w.must("get web ACL", err)
	_, err = w.waf.UpdateWebACL(ctx, updateInput(acl, acl.Rules, token))
	w.must("first update", err)
	_, err = w.waf.UpdateWebACL(ctx, updateInput(acl, acl.Rules, token))
	err = classify(err, "wafv2:UpdateWebACL", w.acl.Name)
	if !errors.Is(err, remediations.ErrStalePlan) {
		t.Fatalf("update with a used lock token: %v, want ErrStalePlan", err)
	}
}

func TestRateLimitTightensMedicsRuleNeverLoosensAndUndoPutsItBack(t *testing.T) {
	w := newWorld(t, false)
	ctx := context.Background()
	_, err := w.act.Apply(ctx, w.plan(remediations.Params{"limit": 2000, "action": "count"}))
	w.must("apply count 2000", err)

	plan := w.plan(remediations.Params{"limit": 500, "action": "block"})
	if plan.NoOp || !strings.Contains(plan.Summary, "tighten medic's rule") || !strings.Contains(plan.Summary, "limit 2000 per 5 min -> 500 per 5 min, action count -> block") {
		t.Fatalf("plan = %q, want a tighten from 2000/count to 500/block", plan.Summary)
	}
	res, err := w.act.Apply(ctx, plan)
	w.must("apply tighten", err)
	rules, _ := w.rules(w.acl)
	if got := medicRule(t, rules); got.Limit != 500 || got.Action != ActionBlock || got.Priority != 1 || len(rules) != 2 {
		t.Fatalf("after tighten: medic rule %+v among %d rules, want 500/block at priority 1, one medic rule", got, len(rules))
	}

	looser := w.plan(remediations.Params{"limit": 5000, "action": "block"})
	if !looser.NoOp || !strings.Contains(looser.Summary, "never loosens") {
		t.Errorf("a higher limit: plan %q (noop %v), want a NoOp saying medic never loosens", looser.Summary, looser.NoOp)
	}
	same := w.plan(remediations.Params{"limit": 500})
	if !same.NoOp || !strings.Contains(same.Summary, "already in place") {
		t.Errorf("the same rule again: plan %q, want already in place", same.Summary)
	}

	_, err = w.act.Undo(ctx, res)
	w.must("undo tighten", err)
	rules, _ = w.rules(w.acl)
	if got := medicRule(t, rules); got.Limit != 2000 || got.Action != ActionCount {
		t.Errorf("undo of the tighten left %+v, want the 2000/count rule back", got)
	}
}

func TestRateLimitUndoLeavesARuleChangedSinceInPlace(t *testing.T) {
	w := newWorld(t, false)
	ctx := context.Background()
	res, err := w.act.Apply(ctx, w.plan(remediations.Params{"limit": 800}))
	w.must("apply", err)
	// A person edits medic's rule by hand.
	acl, token, err := w.act.getACL(ctx, w.acl)
	w.must("get web ACL", err)
	rules := acl.Rules
	for i := range rules {
		if strings.HasPrefix(aws.ToString(rules[i].Name), rulePrefix) {
			rules[i].Statement.RateBasedStatement.Limit = aws.Int64(300)
		}
	}
	_, err = w.waf.UpdateWebACL(ctx, updateInput(acl, rules, token))
	w.must("edit by hand", err)

	undo, err := w.act.Undo(ctx, res)
	w.must("undo", err)
	if !strings.Contains(undo.Summary, "changed since medic set it") {
		t.Errorf("undo summary %q does not say the rule changed", undo.Summary)
	}
	if got := medicRule(t, mustRules(w)); got.Limit != 300 {
		t.Errorf("undo touched a rule changed by hand: limit %d", got.Limit)
	}
}

func TestRateLimitWithoutAWebACL(t *testing.T) {
	w := newWorld(t, true)
	ctx := context.Background()

	plan := w.plan(remediations.Params{"limit": 100, "key": "forwarded_ip", "forwarded_header": "X-Client-IP", "host": "Shop.Example.com"})
	if !plan.NoOp || !strings.Contains(plan.Summary, "has no web ACL") || !strings.Contains(plan.Summary, "create_acl: true") {
		t.Fatalf("plan without create_acl = %q (noop %v), want a NoOp saying there is no web ACL", plan.Summary, plan.NoOp)
	}

	plan = w.plan(remediations.Params{"limit": 100, "key": "forwarded_ip", "forwarded_header": "X-Client-IP", "host": "Shop.Example.com", "create_acl": true})
	if plan.NoOp || !strings.Contains(plan.Summary, "create web ACL medic-checkout-prod") {
		t.Fatalf("plan with create_acl = %q, want a web ACL created", plan.Summary)
	}
	res, err := w.act.Apply(ctx, plan)
	w.must("apply", err)
	out, err := w.waf.GetWebACLForResource(ctx, &wafv2.GetWebACLForResourceInput{ResourceArn: aws.String(w.lbARN)})
	w.must("get web ACL for resource", err)
	if out.WebACL == nil || aws.ToString(out.WebACL.Name) != "medic-checkout-prod" {
		t.Fatalf("the load balancer's web ACL after apply: %+v, want medic-checkout-prod", out.WebACL)
	}
	created := aclRef{ARN: aws.ToString(out.WebACL.ARN), Name: aws.ToString(out.WebACL.Name), ID: aws.ToString(out.WebACL.Id)}
	got := medicRule(t, func() map[string]types.Rule { r, _ := w.rules(created); return r }())
	if got.Key != KeyForwardedIP || got.Header != "X-Client-IP" || got.Host != "shop.example.com" || got.Limit != 100 {
		t.Errorf("rule in the created ACL = %+v", got)
	}

	// A second apply of the same (now stale) plan refuses.
	if _, err := w.act.Apply(ctx, plan); !errors.Is(err, remediations.ErrStalePlan) {
		t.Errorf("second apply of the create plan: %v, want ErrStalePlan", err)
	}

	undo, err := w.act.Undo(ctx, res)
	w.must("undo", err)
	if !strings.Contains(undo.Summary, "disassociated and deleted web ACL medic-checkout-prod") {
		t.Errorf("undo summary %q", undo.Summary)
	}
	out, err = w.waf.GetWebACLForResource(ctx, &wafv2.GetWebACLForResourceInput{ResourceArn: aws.String(w.lbARN)})
	w.must("get web ACL for resource", err)
	if out.WebACL != nil {
		t.Errorf("after undo the load balancer still has web ACL %s", aws.ToString(out.WebACL.Name))
	}
	if _, _, err := w.act.getACL(ctx, created); !errors.Is(err, remediations.ErrNotFound) {
		t.Errorf("after undo the created web ACL still exists (err %v)", err)
	}
}

func TestRateLimitOnANamedWebACL(t *testing.T) {
	w := newWorld(t, false)
	plan, err := w.act.Plan(context.Background(), nil, remediations.Params{"limit": 300, "web_acl": w.acl.ARN})
	w.must("plan", err)
	if plan.Target != "waf:"+w.acl.ARN || !strings.Contains(plan.Summary, "web ACL checkout-acl:") {
		t.Errorf("plan on a named ACL = %+v", plan)
	}
	if _, err := w.act.Plan(context.Background(), nil, remediations.Params{"limit": 300}); !errors.Is(err, remediations.ErrTarget) {
		t.Errorf("plan with no load balancer anywhere: %v, want ErrTarget", err)
	}
}

func mustRules(w *world) map[string]types.Rule {
	r, _ := w.rules(w.acl)
	return r
}

func keys(m map[string]types.Rule) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
