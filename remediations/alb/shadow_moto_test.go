package alb

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/remediations"
)

// addRuleWith adds a rule medic does not own with conditions, forwarding
// to "api".
func (w *world) addRuleWith(listener string, prio int32, conds ...types.RuleCondition) string {
	w.t.Helper()
	out, err := w.elb.CreateRule(context.Background(), &elb.CreateRuleInput{
		ListenerArn: aws.String(listener), Priority: aws.Int32(prio), Conditions: conds,
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(w.api)}},
	})
	w.must("create rule", err)
	return aws.ToString(out.Rules[0].RuleArn)
}

func (w *world) addHostRule(listener string, prio int32, host string) string {
	w.t.Helper()
	return w.addRuleWith(listener, prio, hostCond(host))
}

// setHosts changes a rule's conditions to one host-header condition.
func (w *world) setHosts(rule string, hosts ...string) {
	w.t.Helper()
	_, err := w.elb.ModifyRule(context.Background(), &elb.ModifyRuleInput{RuleArn: aws.String(rule), Conditions: []types.RuleCondition{hostCond(hosts...)}})
	w.must("modify rule", err)
}

// answersFirst reads the listener back and returns the rule that answers
// first for q, leaving out medic's allow rules (they answer only the
// allow-listed clients, on purpose).
func (w *world) answersFirst(listener string, q requests) listenerRule {
	w.t.Helper()
	rules, err := readRules(context.Background(), w.elb, listener)
	w.must("read rules back", err)
	var rest []listenerRule
	for _, r := range rules {
		if r.Role != roleAllow {
			rest = append(rest, r)
		}
	}
	first, _, ok := firstTaker(rest, q)
	if !ok {
		w.t.Fatal("the listener has no rules at all")
	}
	return first
}

// priorityOf returns the priority of rule, 0 when it is gone.
func (w *world) priorityOf(listener, rule string) int {
	w.t.Helper()
	r, _ := w.find(listener, rule)
	return r.Priority
}

// countingMoves is the real client, recording SetRulePriorities calls.
type countingMoves struct {
	ELBv2API
	calls []*elb.SetRulePrioritiesInput
}

func (c *countingMoves) SetRulePriorities(ctx context.Context, in *elb.SetRulePrioritiesInput, opts ...func(*elb.Options)) (*elb.SetRulePrioritiesOutput, error) {
	c.calls = append(c.calls, in)
	return c.ELBv2API.SetRulePriorities(ctx, in, opts...)
}

// TestACatchAllRuleAtPriority1DoesNotShadowMaintenance is the regression
// test of issue 12.3: a rule at priority 1 forwarding /* used to keep
// answering every request while the step reported maintenance on.
func TestACatchAllRuleAtPriority1DoesNotShadowMaintenance(t *testing.T) {
	w := newWorld(t)
	catchAll := w.addRule(w.listener, 1, "/*", w.api, nil)
	before := w.rules(w.listener)
	c := &countingMoves{ELBv2API: w.elb}
	m := New(c)
	plan, res := w.planApply(m, w.alb5xx(), remediations.Params{"listener": w.listener})

	first := w.answersFirst(w.listener, requests{Paths: []string{"/*"}})
	if first.Role != roleMaintenance {
		t.Fatalf("after apply the rule answering first is %s at priority %d (%s), not medic's 503: plan %q, result %q", first.ARN, first.Priority, describeExisting(first), plan.Summary, res.Summary)
	}
	if p := w.priorityOf(w.listener, catchAll); p <= int(first.Priority) {
		t.Errorf("catch-all rule at priority %d, want it behind the 503 at %d", p, first.Priority)
	}
	if len(c.calls) != 1 || len(c.calls[0].RulePriorities) != 1 {
		t.Errorf("SetRulePriorities calls = %d, want one moving the catch-all rule", len(c.calls))
	}
	if _, err := m.Undo(context.Background(), resultRoundTrip(t, res)); err != nil {
		t.Fatalf("undo: %v", err)
	}
	if got := w.rules(w.listener); !reflect.DeepEqual(got, before) {
		t.Errorf("rules after undo differ from before maintenance:\nbefore %+v\nafter  %+v", before, got)
	}
}

// TestShadowingRulesMoveBehindTheMaintenanceRuleAndBack: with rules at
// priority 1 (/health) and 3 (/static/*) besides the one at 10, the allow
// rule and the 503 take 1 and 2, the two rules move to the free 4 and 5 in
// one call, keeping their order, the rule at 10 stays; the plan, the result
// and Undo say so, and Undo restores every priority exactly.
func TestShadowingRulesMoveBehindTheMaintenanceRuleAndBack(t *testing.T) {
	w := newWorld(t)
	c := &countingMoves{ELBv2API: w.elb}
	m := New(c)
	health := w.addRule(w.listener, 1, "/health", w.api, nil)
	static := w.addRule(w.listener, 3, "/static/*", w.web, map[string]string{"team": "web"})
	before := w.rules(w.listener)

	plan, res := w.planApply(m, w.alb5xx(), remediations.Params{"listener": w.listener, "allow_ips": []any{"10.0.0.0/8"}})
	for _, want := range []string{
		"add maintenance rule (503 html, retry after 300s) at priority 2",
		"allow 10.0.0.0/8 at priority 1 (forward to targetgroup/web/",
		"move 2 rule(s) medic does not own behind it, keeping their order (undo moves them back): rule at priority 1 (path-pattern /health -> forward to targetgroup/api/",
		"; answers maintenance requests) -> 4, rule at priority 3 (path-pattern /static/* -> forward to targetgroup/web/",
	} {
		if !strings.Contains(plan.Summary, want) {
			t.Errorf("plan summary %q does not say %q", plan.Summary, want)
		}
	}
	var moves []string
	for _, ch := range plan.Changes {
		if ch.Field == "priority" {
			moves = append(moves, ch.Resource+" "+ch.From+" -> "+ch.To)
		}
	}
	if len(moves) != 2 || !strings.HasPrefix(moves[0], health+" 1 -> 4 (path-pattern /health") || !strings.HasPrefix(moves[1], static+" 3 -> 5 (path-pattern /static/*") {
		t.Errorf("plan changes for the moves = %q, want %s 1 -> 4 and %s 3 -> 5", moves, health, static)
	}
	var d planData
	w.must("decode plan data", json.Unmarshal(plan.Data, &d))
	if len(d.Moves) != 2 || d.Moves[0].ARN != health || d.Moves[1].ARN != static {
		t.Errorf("plan data moves = %+v", d.Moves)
	}
	if !strings.Contains(res.Summary, "added allow rule at priority 1, maintenance rule at priority 2; moved 2 rule(s) behind it") || !strings.Contains(res.Summary, "checked: paths /* now reach the maintenance rule") {
		t.Errorf("result summary = %q", res.Summary)
	}
	if len(c.calls) != 1 {
		t.Errorf("SetRulePriorities calls = %d, want 1", len(c.calls))
	}
	got := map[string]int{"health": w.priorityOf(w.listener, health), "static": w.priorityOf(w.listener, static), "api": w.priorityOf(w.listener, w.other)}
	if want := map[string]int{"health": 4, "static": 5, "api": 10}; !reflect.DeepEqual(got, want) {
		t.Errorf("priorities after apply = %v, want %v", got, want)
	}
	if first := w.answersFirst(w.listener, requests{Paths: []string{"/*"}}); first.Role != roleMaintenance {
		t.Errorf("after apply %s (%s) answers first, not the 503", first.ARN, describeExisting(first))
	}

	undo, err := m.Undo(context.Background(), resultRoundTrip(t, res))
	w.must("undo", err)
	if !strings.Contains(undo.Summary, "removed maintenance rule at priority 2, allow rule at priority 1; moved 2 rule(s) back: rule at priority 4 -> 1, rule at priority 5 -> 3") {
		t.Errorf("undo summary = %q", undo.Summary)
	}
	if len(c.calls) != 2 {
		t.Errorf("SetRulePriorities calls after undo = %d, want 2 (one to move, one to move back)", len(c.calls))
	}
	if got := w.rules(w.listener); !reflect.DeepEqual(got, before) {
		t.Errorf("rules after undo differ from before maintenance:\nbefore %+v\nafter  %+v", before, got)
	}
}

// TestWhichRulesMove runs maintenance on listeners with one more rule at
// priority 1 and checks which rules move, that the 503 answers the
// maintenance requests first, and that Undo restores the listener.
func TestWhichRulesMove(t *testing.T) {
	shop := []any{"shop.example.com"}
	for _, tc := range []struct {
		name  string
		conds []types.RuleCondition // nil: no extra rule, only the default action and the rule at 10
		hosts []any
		moves bool
	}{
		{"only the default action and a rule at 10: nothing moves", nil, nil, false},
		{"a rule for another host stays ahead", []types.RuleCondition{hostCond("admin.example.com")}, shop, false},
		{"a host wildcard covering the maintenance host moves", []types.RuleCondition{hostCond("*.example.com")}, shop, true},
		{"a GET-only rule for every path moves", []types.RuleCondition{methodCond("GET"), pathCond("/*")}, nil, true},
		{"a path pattern overlapping the maintenance paths moves", []types.RuleCondition{pathCond("/api/*")}, nil, true},
		{"a header rule for the maintenance host moves", []types.RuleCondition{hostCond("shop.example.com"), {Field: aws.String(fieldHTTPHeader), HttpHeaderConfig: &types.HttpHeaderConditionConfig{HttpHeaderName: aws.String("X-Canary"), Values: []string{"1"}}}}, shop, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			m := New(w.elb)
			var extra string
			if tc.conds != nil {
				extra = w.addRuleWith(w.listener, 1, tc.conds...)
			}
			before := w.rules(w.listener)
			p := remediations.Params{"listener": w.listener}
			q := requests{Paths: []string{"/*"}}
			if tc.hosts != nil {
				p["host_headers"] = tc.hosts
				q.Hosts = []string{"shop.example.com"}
			}
			_, res := w.planApply(m, nil, p)
			var rd resultData
			w.must("decode result", json.Unmarshal(res.Data, &rd))
			var moved []string
			for _, mv := range rd.Moved {
				moved = append(moved, mv.ARN)
			}
			switch {
			case tc.moves && !reflect.DeepEqual(moved, []string{extra}):
				t.Errorf("moved %v, want the rule at 1 (%s)", moved, extra)
			case !tc.moves && len(moved) != 0:
				t.Errorf("moved %v, want nothing moved", moved)
			}
			if extra != "" && !tc.moves && w.priorityOf(w.listener, extra) != 1 {
				t.Errorf("the rule at 1 is at %d now, want it left at 1", w.priorityOf(w.listener, extra))
			}
			if first := w.answersFirst(w.listener, q); first.Role != roleMaintenance {
				t.Errorf("after apply %s at %d (%s) answers %s first, not the 503", first.ARN, first.Priority, describeExisting(first), q)
			}
			_, err := m.Undo(context.Background(), resultRoundTrip(t, res))
			w.must("undo", err)
			if got := w.rules(w.listener); !reflect.DeepEqual(got, before) {
				t.Errorf("rules after undo differ from before:\nbefore %+v\nafter  %+v", before, got)
			}
		})
	}
}

func TestShadowingRefuseNamesTheShadowingRules(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	catchAll := w.addRule(w.listener, 1, "/*", w.api, nil)
	get := w.addRuleWith(w.listener, 2, methodCond("GET"))
	admin := w.addHostRule(w.listener, 3, "admin.example.com")
	before := w.rules(w.listener)
	_, err := m.Plan(context.Background(), nil, remediations.Params{"listener": w.listener, "shadowing": "refuse", "host_headers": []any{"shop.example.com"}})
	if !errors.Is(err, ErrShadowed) || !errors.Is(err, remediations.ErrInvalid) {
		t.Fatalf("err = %v, want ErrShadowed and ErrInvalid", err)
	}
	for _, want := range []string{
		"2 rule(s) medic does not own would answer maintenance requests (paths /* of hosts shop.example.com) before the maintenance rule",
		"rule " + catchAll + " at priority 1 (path-pattern /* -> forward to targetgroup/api/",
		"rule " + get + " at priority 2 (http-request-method GET -> forward to targetgroup/api/",
		"with shadowing: move",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), admin) {
		t.Errorf("err = %v names the rule for another host, which shadows nothing", err)
	}
	if got := w.rules(w.listener); !reflect.DeepEqual(got, before) {
		t.Errorf("a refused plan changed the rules:\nbefore %+v\nafter  %+v", before, got)
	}

	// Without a rule in the way, refuse changes nothing.
	w2 := newWorld(t)
	plan, err := New(w2.elb).Plan(context.Background(), nil, remediations.Params{"listener": w2.listener, "shadowing": "refuse"})
	if err != nil || !strings.Contains(plan.Summary, "at priority 1") {
		t.Errorf("refuse with nothing in the way: plan = %+v, %v; want the 503 at 1", plan, err)
	}
}

// widenOnMaintenanceCreate is the real client, except that right after
// medic creates its 503 rule somebody widens rule to every host of
// example.com, so that it answers the maintenance requests first.
type widenOnMaintenanceCreate struct {
	ELBv2API
	w    *world
	rule string
	done bool
}

func (r *widenOnMaintenanceCreate) CreateRule(ctx context.Context, in *elb.CreateRuleInput, opts ...func(*elb.Options)) (*elb.CreateRuleOutput, error) {
	out, err := r.ELBv2API.CreateRule(ctx, in, opts...)
	if err == nil && !r.done && slices.ContainsFunc(in.Actions, func(a types.Action) bool { return a.FixedResponseConfig != nil }) {
		r.done = true
		r.w.setHosts(r.rule, "*.example.com")
	}
	return out, err
}

func TestApplyRevertsWhenTheMaintenanceRuleDoesNotAnswerFirst(t *testing.T) {
	w := newWorld(t)
	admin := w.addHostRule(w.listener, 1, "admin.example.com")
	catchAll := w.addRule(w.listener, 2, "/*", w.api, nil)
	m := New(&widenOnMaintenanceCreate{ELBv2API: w.elb, w: w, rule: admin})
	plan, err := m.Plan(context.Background(), nil, remediations.Params{"listener": w.listener, "host_headers": []any{"shop.example.com"}})
	w.must("plan", err)
	if !strings.Contains(plan.Summary, "at priority 2") || !strings.Contains(plan.Summary, "rule at priority 2 (path-pattern /* -> forward to targetgroup/api/") {
		t.Fatalf("plan = %q, want the 503 at 2 and the catch-all moved", plan.Summary)
	}
	_, err = m.Apply(context.Background(), roundTrip(t, plan))
	if !errors.Is(err, ErrNotEffective) {
		t.Fatalf("err = %v, want ErrNotEffective", err)
	}
	for _, want := range []string{
		"rule " + admin + " at priority 1 (host-header *.example.com -> forward to targetgroup/api/",
		"answers paths /* of hosts shop.example.com ahead of the maintenance rule at priority 2",
		"reverted: removed the 1 rule(s) this apply had created; moved 1 rule(s) back to priorities 2",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, does not say %q", err, want)
		}
	}
	if n := len(medicRules(w.rules(w.listener))); n != 0 {
		t.Errorf("medic rules after a reverted apply = %d, want 0", n)
	}
	if p := w.priorityOf(w.listener, catchAll); p != 2 {
		t.Errorf("the moved rule is at %d after the revert, want 2 again", p)
	}
}

func TestApplyMovesRulesBackWhenACreateFails(t *testing.T) {
	w := newWorld(t)
	catchAll := w.addRule(w.listener, 1, "/*", w.api, nil)
	before := w.rules(w.listener)
	m := New(&failingCreate{ELBv2API: w.elb, n: 1})
	plan, err := m.Plan(context.Background(), nil, remediations.Params{"listener": w.listener})
	w.must("plan", err)
	_, err = m.Apply(context.Background(), roundTrip(t, plan))
	if !errors.Is(err, remediations.ErrInvalid) || !strings.Contains(err.Error(), "create maintenance rule at priority 1") || !strings.Contains(err.Error(), "reverted: moved 1 rule(s) back to priorities 1") {
		t.Errorf("err = %v, want ErrInvalid naming the failed create and the move back", err)
	}
	if got := w.rules(w.listener); !reflect.DeepEqual(got, before) {
		t.Errorf("rules after a failed apply differ from before:\nbefore %+v\nafter  %+v", before, got)
	}
	if p := w.priorityOf(w.listener, catchAll); p != 1 {
		t.Errorf("catch-all at %d, want 1", p)
	}
}

func TestApplyRefusesAPlanWhoseMoveTargetWasTaken(t *testing.T) {
	w := newWorld(t)
	catchAll := w.addRule(w.listener, 1, "/*", w.api, nil)
	m := New(w.elb)
	plan, err := m.Plan(context.Background(), nil, remediations.Params{"listener": w.listener})
	w.must("plan", err)
	late := w.addRule(w.listener, 2, "/late/*", w.api, nil)
	_, err = m.Apply(context.Background(), roundTrip(t, plan))
	if !errors.Is(err, remediations.ErrStalePlan) || !strings.Contains(err.Error(), late) {
		t.Errorf("err = %v, want ErrStalePlan naming the rule at the planned target %s", err, late)
	}
	if p := w.priorityOf(w.listener, catchAll); p != 1 || len(medicRules(w.rules(w.listener))) != 0 {
		t.Errorf("after a refused apply the catch-all is at %d and medic has %d rules; want 1 and none", p, len(medicRules(w.rules(w.listener))))
	}
}

func TestUndoMovesBackOnlyTheRulesItMoved(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	catchAll := w.addRule(w.listener, 1, "/*", w.api, nil)
	_, res := w.planApply(m, nil, remediations.Params{"listener": w.listener})
	newer := w.addRule(w.listener, 9, "/new/*", w.api, nil)
	undo, err := m.Undo(context.Background(), resultRoundTrip(t, res))
	w.must("undo", err)
	got := map[string]int{"catch-all": w.priorityOf(w.listener, catchAll), "newer": w.priorityOf(w.listener, newer), "api": w.priorityOf(w.listener, w.other)}
	if want := map[string]int{"catch-all": 1, "newer": 9, "api": 10}; !reflect.DeepEqual(got, want) {
		t.Errorf("priorities after undo = %v, want %v", got, want)
	}
	var back []string
	for _, c := range undo.Changes {
		if c.Field == "priority" {
			back = append(back, c.Resource+" "+c.From+" -> "+c.To)
		}
	}
	if len(back) != 1 || !strings.HasPrefix(back[0], catchAll+" 2 -> 1 (path-pattern /*") {
		t.Errorf("undo changes for moves = %q, want the catch-all 2 -> 1", back)
	}
}

func TestUndoLeavesMovedRulesThatSomeoneRenumbered(t *testing.T) {
	w := newWorld(t)
	m := New(w.elb)
	catchAll := w.addRule(w.listener, 1, "/*", w.api, nil)
	_, res := w.planApply(m, nil, remediations.Params{"listener": w.listener})
	_, err := w.elb.SetRulePriorities(context.Background(), &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: aws.String(catchAll), Priority: aws.Int32(20)}}})
	w.must("renumber", err)
	undo, err := m.Undo(context.Background(), resultRoundTrip(t, res))
	w.must("undo", err)
	if p := w.priorityOf(w.listener, catchAll); p != 20 {
		t.Errorf("the renumbered rule is at %d after undo, want it left at 20", p)
	}
	if n := len(medicRules(w.rules(w.listener))); n != 0 {
		t.Errorf("medic rules after undo = %d, want 0", n)
	}
	if !strings.Contains(undo.Summary, "is at priority 20, not 2 where medic moved it, so no moved rule was moved back") {
		t.Errorf("undo summary = %q, want it to say why nothing moved back", undo.Summary)
	}
}

// changeOnMaintenanceCreate is the real client, except that right after
// medic creates its 503 rule somebody modifies that rule.
type changeOnMaintenanceCreate struct {
	ELBv2API
	w      *world
	modify func(arn string) *elb.ModifyRuleInput
}

func (c *changeOnMaintenanceCreate) CreateRule(ctx context.Context, in *elb.CreateRuleInput, opts ...func(*elb.Options)) (*elb.CreateRuleOutput, error) {
	out, err := c.ELBv2API.CreateRule(ctx, in, opts...)
	if err == nil && len(out.Rules) > 0 && slices.ContainsFunc(in.Actions, func(a types.Action) bool { return a.FixedResponseConfig != nil }) {
		_, merr := c.w.elb.ModifyRule(ctx, c.modify(aws.ToString(out.Rules[0].RuleArn)))
		c.w.must("modify the maintenance rule", merr)
	}
	return out, err
}

func TestApplyRevertsWhenTheMaintenanceRuleWasChangedUnderIt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(w *world, arn string) *elb.ModifyRuleInput
		want   string
	}{
		{"its path narrowed", func(_ *world, arn string) *elb.ModifyRuleInput {
			return &elb.ModifyRuleInput{RuleArn: aws.String(arn), Conditions: []types.RuleCondition{pathCond("/nothing")}}
		}, "read back matches path-pattern /nothing, not path-pattern /* as created"},
		{"its action changed", func(w *world, arn string) *elb.ModifyRuleInput {
			return &elb.ModifyRuleInput{RuleArn: aws.String(arn), Actions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(w.web)}}}
		}, "does not answer with a fixed 503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			catchAll := w.addRule(w.listener, 1, "/*", w.api, nil)
			m := New(&changeOnMaintenanceCreate{ELBv2API: w.elb, w: w, modify: func(arn string) *elb.ModifyRuleInput { return tc.modify(w, arn) }})
			plan, err := m.Plan(context.Background(), nil, remediations.Params{"listener": w.listener})
			w.must("plan", err)
			_, err = m.Apply(context.Background(), roundTrip(t, plan))
			if !errors.Is(err, ErrNotEffective) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "reverted: removed the 1 rule(s) this apply had created; moved 1 rule(s) back to priorities 1") {
				t.Errorf("err = %v, want ErrNotEffective saying %q and what was reverted", err, tc.want)
			}
			if n := len(medicRules(w.rules(w.listener))); n != 0 || w.priorityOf(w.listener, catchAll) != 1 {
				t.Errorf("after the revert medic has %d rules and the catch-all is at %d; want none and 1", n, w.priorityOf(w.listener, catchAll))
			}
		})
	}
}
