package alb

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/medicbot/medic/remediations"
)

const fakeListener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout-prod/50dc6c495c0c9188/f2f7dc8efc522ab2"

// fakeELB answers from fixed outputs; a nil output with a nil error is an
// empty answer. It records CreateRule, DeleteRule and SetRulePriorities
// calls.
type fakeELB struct {
	listeners  *elb.DescribeListenersOutput
	rules      *elb.DescribeRulesOutput
	tags       *elb.DescribeTagsOutput
	create     *elb.CreateRuleOutput
	createErr  error
	describeLB error
	created    []*elb.CreateRuleInput
	deleted    []string
	moved      []*elb.SetRulePrioritiesInput
}

func (f *fakeELB) DescribeLoadBalancers(context.Context, *elb.DescribeLoadBalancersInput, ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	return &elb.DescribeLoadBalancersOutput{}, f.describeLB
}

func (f *fakeELB) DescribeListeners(context.Context, *elb.DescribeListenersInput, ...func(*elb.Options)) (*elb.DescribeListenersOutput, error) {
	if f.listeners == nil {
		return &elb.DescribeListenersOutput{}, nil
	}
	return f.listeners, nil
}

func (f *fakeELB) DescribeRules(context.Context, *elb.DescribeRulesInput, ...func(*elb.Options)) (*elb.DescribeRulesOutput, error) {
	if f.rules == nil {
		return &elb.DescribeRulesOutput{}, nil
	}
	return f.rules, nil
}

func (f *fakeELB) DescribeTags(context.Context, *elb.DescribeTagsInput, ...func(*elb.Options)) (*elb.DescribeTagsOutput, error) {
	if f.tags == nil {
		return &elb.DescribeTagsOutput{}, nil
	}
	return f.tags, nil
}

func (f *fakeELB) CreateRule(_ context.Context, in *elb.CreateRuleInput, _ ...func(*elb.Options)) (*elb.CreateRuleOutput, error) {
	f.created = append(f.created, in)
	if f.createErr != nil {
		return nil, f.createErr
	}
	if f.create == nil {
		return &elb.CreateRuleOutput{}, nil
	}
	return f.create, nil
}

func (f *fakeELB) DeleteRule(_ context.Context, in *elb.DeleteRuleInput, _ ...func(*elb.Options)) (*elb.DeleteRuleOutput, error) {
	f.deleted = append(f.deleted, aws.ToString(in.RuleArn))
	return &elb.DeleteRuleOutput{}, nil
}

func (f *fakeELB) SetRulePriorities(_ context.Context, in *elb.SetRulePrioritiesInput, _ ...func(*elb.Options)) (*elb.SetRulePrioritiesOutput, error) {
	f.moved = append(f.moved, in)
	return &elb.SetRulePrioritiesOutput{}, nil
}

func oneListener() *elb.DescribeListenersOutput {
	return &elb.DescribeListenersOutput{Listeners: []types.Listener{{
		ListenerArn: aws.String(fakeListener), Port: aws.Int32(443),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067")}},
	}}}
}

func TestDescribeExisting(t *testing.T) {
	r := listenerRule{
		Conditions: []types.RuleCondition{
			{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/health", "/ready"}}},
			{Field: aws.String("http-header"), HttpHeaderConfig: &types.HttpHeaderConditionConfig{HttpHeaderName: aws.String("X-Canary"), Values: []string{"1"}}},
			{Field: aws.String("query-string"), QueryStringConfig: &types.QueryStringConditionConfig{Values: []types.QueryStringKeyValuePair{{Key: aws.String("v"), Value: aws.String("2")}}}},
		},
		Actions: []types.Action{
			{Type: types.ActionTypeEnumAuthenticateOidc},
			{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/1")},
		},
	}
	want := "path-pattern /health,/ready and http-header X-Canary 1 and query-string v=2 -> authenticate-oidc, forward to targetgroup/api/1"
	if got := describeExisting(r); got != want {
		t.Errorf("describeExisting = %q, want %q", got, want)
	}
}

func TestUndoOfAResultThatCreatedNothingCallsNothing(t *testing.T) {
	f := &fakeELB{listeners: oneListener()}
	data, _ := json.Marshal(resultData{Mode: ModeOn, Listener: fakeListener, Label: "app/checkout-prod/50dc6c495c0c9188:443"})
	out, err := New(f).Undo(context.Background(), &remediations.Result{Action: ActionName, Data: data})
	if err != nil || len(out.Changes) != 0 || !strings.Contains(out.Summary, "nothing to undo: that apply created no rules") {
		t.Fatalf("undo = %+v, %v; want nothing to undo", out, err)
	}
	if len(f.deleted) != 0 || len(f.created) != 0 {
		t.Errorf("undo of a result that created nothing deleted %v, created %d", f.deleted, len(f.created))
	}
}

func TestSchemaRejectsRulesALBCannotHold(t *testing.T) {
	s := MaintenanceSchema()
	six := []any{"a.example.com", "b.example.com", "c.example.com", "d.example.com", "e.example.com", "f.example.com"}
	tests := []struct {
		name string
		p    remediations.Params
		want string
	}{
		{name: "six host names", p: remediations.Params{"host_headers": six}, want: "at most 5 host names"},
		{name: "five host names with an allow-list", p: remediations.Params{"host_headers": six[:5], "allow_ips": "10.0.0.0/8"}, want: "at most 4 host names"},
		{name: "an unknown mode", p: remediations.Params{"mode": "maybe"}, want: "must be one of on, lambda, fixed, off"},
		{name: "a bad CIDR", p: remediations.Params{"allow_ips": []any{"10.0.0.0/33"}}, want: "not a CIDR block"},
		{name: "an unknown format", p: remediations.Params{"format": "xml"}, want: "must be one of html, json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := s.Validate(tt.p, nil)
			if len(errs) == 0 || !strings.Contains(errors.Join(errs...).Error(), tt.want) {
				t.Errorf("errors = %v, want one saying %q", errs, tt.want)
			}
		})
	}
	if errs := s.Validate(remediations.Params{"host_headers": six[:4], "allow_ips": "10.0.0.0/8", "mode": "on", "format": "json", "retry_after": 60, "port": 443}, nil); len(errs) != 0 {
		t.Errorf("valid params: %v", errs)
	}
}

func TestSchemaWorksWithoutAClient(t *testing.T) {
	m := New(nil)
	if m.Name() != "alb.maintenance" || !m.Schema().Reversible || len(m.Schema().IAM) == 0 {
		t.Errorf("schema = %+v", m.Schema())
	}
	var typedNil *elb.Client
	for _, m := range []*Maintenance{New(nil), New(typedNil)} {
		if _, err := m.Plan(context.Background(), nil, remediations.Params{"listener": fakeListener}); err == nil || !strings.Contains(err.Error(), "no elasticloadbalancingv2 client") {
			t.Errorf("plan without a client: err = %v", err)
		}
		if _, err := m.Apply(context.Background(), &remediations.Plan{}); err == nil {
			t.Error("apply without a client: no error")
		}
		if _, err := m.Undo(context.Background(), &remediations.Result{}); err == nil {
			t.Error("undo without a client: no error")
		}
	}
}

func TestAccessDeniedNamesTheIAMActionAndResource(t *testing.T) {
	f := &fakeELB{listeners: oneListener(), createErr: &smithy.GenericAPIError{Code: "AccessDenied", Message: "User is not authorized"}}
	m := New(f)
	plan, err := m.Plan(context.Background(), nil, remediations.Params{"listener": fakeListener})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	_, err = m.Apply(context.Background(), plan)
	if !errors.Is(err, remediations.ErrAccessDenied) {
		t.Fatalf("err = %v, want ErrAccessDenied", err)
	}
	want := "elasticloadbalancing:CreateRule on " + fakeListener + ": access denied"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to say %q", err, want)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Op != "elasticloadbalancing:CreateRule" || ae.Resource != fakeListener {
		t.Errorf("err = %#v, want an *APIError for CreateRule on the listener", ae)
	}
}

func TestClassify(t *testing.T) {
	for code, want := range map[string]error{
		"ListenerNotFound":     remediations.ErrNotFound,
		"RuleNotFound":         remediations.ErrNotFound,
		"LoadBalancerNotFound": remediations.ErrNotFound,
		"AccessDenied":         remediations.ErrAccessDenied,
		"ValidationError":      remediations.ErrInvalid,
		"PriorityInUse":        remediations.ErrInvalid,
		"TooManyRules":         remediations.ErrInvalid,
	} {
		err := classify(&smithy.GenericAPIError{Code: code}, "elasticloadbalancing:DescribeRules", "x")
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", code, err, want)
		}
	}
	err := classify(&smithy.GenericAPIError{Code: "Throttling"}, "elasticloadbalancing:DescribeRules", "x")
	for _, s := range []error{remediations.ErrNotFound, remediations.ErrAccessDenied, remediations.ErrInvalid} {
		if errors.Is(err, s) {
			t.Errorf("throttling is classified as %v; it must stay retryable", s)
		}
	}
}

func TestNilFieldsInAnswersDoNotPanic(t *testing.T) {
	ctx := context.Background()
	t.Run("a listener without port or default actions", func(t *testing.T) {
		f := &fakeELB{listeners: &elb.DescribeListenersOutput{Listeners: []types.Listener{{ListenerArn: aws.String(fakeListener)}}}}
		_, err := New(f).Plan(ctx, nil, remediations.Params{"listener": fakeListener, "allow_ips": "10.0.0.0/8"})
		if !errors.Is(err, remediations.ErrInvalid) || !strings.Contains(err.Error(), "no default action") {
			t.Errorf("err = %v, want ErrInvalid about the missing default action", err)
		}
	})
	t.Run("rules and tags with nil fields", func(t *testing.T) {
		f := &fakeELB{
			listeners: oneListener(),
			rules: &elb.DescribeRulesOutput{Rules: []types.Rule{
				{}, // no ARN: skipped
				{RuleArn: aws.String(fakeListener + "/default"), IsDefault: aws.Bool(true)},
				{RuleArn: aws.String(fakeListener + "/r10"), Priority: aws.String("10")},
			}},
			tags: &elb.DescribeTagsOutput{TagDescriptions: []types.TagDescription{{}, {ResourceArn: aws.String(fakeListener + "/r10"), Tags: []types.Tag{{}}}}},
		}
		plan, err := New(f).Plan(ctx, nil, remediations.Params{"listener": fakeListener})
		if err != nil || plan.NoOp {
			t.Fatalf("plan = %+v, %v", plan, err)
		}
	})
	t.Run("a rule whose priority is missing", func(t *testing.T) {
		f := &fakeELB{listeners: oneListener(), rules: &elb.DescribeRulesOutput{Rules: []types.Rule{{RuleArn: aws.String(fakeListener + "/x")}}}}
		if _, err := New(f).Plan(ctx, nil, remediations.Params{"listener": fakeListener}); err == nil || !strings.Contains(err.Error(), "has priority") {
			t.Errorf("err = %v, want one about the rule's priority", err)
		}
	})
	t.Run("a CreateRule answer without rules", func(t *testing.T) {
		f := &fakeELB{listeners: oneListener()}
		m := New(f)
		plan, err := m.Plan(ctx, nil, remediations.Params{"listener": fakeListener})
		if err != nil {
			t.Fatalf("plan: %v", err)
		}
		if _, err := m.Apply(ctx, plan); err == nil || !strings.Contains(err.Error(), "named no ARN") {
			t.Errorf("err = %v, want one saying the answer named no ARN", err)
		}
	})
	t.Run("a listener missing from the answer", func(t *testing.T) {
		f := &fakeELB{listeners: &elb.DescribeListenersOutput{}}
		if _, err := New(f).Plan(ctx, nil, remediations.Params{"listener": fakeListener}); !errors.Is(err, remediations.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestApplyAndUndoRejectForeignData(t *testing.T) {
	ctx := context.Background()
	m := New(&fakeELB{})
	for name, p := range map[string]*remediations.Plan{
		"no plan":          nil,
		"another action":   {Action: "ecs.scale", Data: json.RawMessage(`{}`)},
		"garbage data":     {Action: ActionName, Data: json.RawMessage(`[1,2]`)},
		"no listener":      {Action: ActionName, Data: json.RawMessage(`{"mode":"on"}`)},
		"on with no rules": {Action: ActionName, Data: json.RawMessage(`{"mode":"on","listener":"x"}`)},
		"an unknown mode":  {Action: ActionName, Data: json.RawMessage(`{"mode":"sideways","listener":"x"}`)},
	} {
		if _, err := m.Apply(ctx, p); !errors.Is(err, remediations.ErrInvalid) {
			t.Errorf("apply with %s: err = %v, want ErrInvalid", name, err)
		}
	}
	for name, r := range map[string]*remediations.Result{
		"no result":      nil,
		"another action": {Action: "ecs.scale"},
		"garbage data":   {Action: ActionName, Data: json.RawMessage(`"x"`)},
		"no listener":    {Action: ActionName, Data: json.RawMessage(`{"mode":"on"}`)},
	} {
		if _, err := m.Undo(ctx, r); !errors.Is(err, remediations.ErrInvalid) {
			t.Errorf("undo with %s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestListenerLabel(t *testing.T) {
	l := &types.Listener{ListenerArn: aws.String(fakeListener), Port: aws.Int32(443)}
	if got, want := listenerLabel(l), "app/checkout-prod/50dc6c495c0c9188:443"; got != want {
		t.Errorf("listenerLabel = %q, want %q", got, want)
	}
	if got := listenerLabel(&types.Listener{}); got != ":0" {
		t.Errorf("listenerLabel of an empty listener = %q", got)
	}
}

func TestPlanRefusesANetworkLoadBalancerListener(t *testing.T) {
	out := oneListener()
	out.Listeners[0].Protocol = types.ProtocolEnumTcp
	_, err := New(&fakeELB{listeners: out}).Plan(context.Background(), nil, remediations.Params{"listener": fakeListener})
	if !errors.Is(err, remediations.ErrInvalid) || !strings.Contains(err.Error(), "speaks TCP") {
		t.Errorf("err = %v, want ErrInvalid saying the listener speaks TCP", err)
	}
}

func TestPlanRefusesLeftoverAllowRules(t *testing.T) {
	f := &fakeELB{
		listeners: oneListener(),
		rules:     &elb.DescribeRulesOutput{Rules: []types.Rule{{RuleArn: aws.String(fakeListener + "/a1"), Priority: aws.String("1")}}},
		tags: &elb.DescribeTagsOutput{TagDescriptions: []types.TagDescription{{ResourceArn: aws.String(fakeListener + "/a1"), Tags: []types.Tag{
			{Key: aws.String(tagManaged), Value: aws.String("true")}, {Key: aws.String(tagRole), Value: aws.String(roleAllow)},
		}}}},
	}
	m := New(f)
	_, err := m.Plan(context.Background(), nil, remediations.Params{"listener": fakeListener})
	if !errors.Is(err, remediations.ErrInvalid) || !strings.Contains(err.Error(), "plan mode off first") {
		t.Errorf("on: err = %v, want ErrInvalid asking for mode off", err)
	}
	plan, err := m.Plan(context.Background(), nil, remediations.Params{"listener": fakeListener, "mode": "off"})
	if err != nil || plan.NoOp || len(plan.Changes) != 1 {
		t.Fatalf("off: plan = %+v, %v; want the leftover rule removed", plan, err)
	}
	if _, err := m.Apply(context.Background(), plan); err != nil || len(f.deleted) != 1 || f.deleted[0] != fakeListener+"/a1" {
		t.Errorf("off: apply err = %v, deleted %v", err, f.deleted)
	}
}

func TestRefusalNamesARuleMedicCannotEvaluate(t *testing.T) {
	f := &fakeELB{listeners: oneListener(), rules: &elb.DescribeRulesOutput{Rules: []types.Rule{{
		RuleArn: aws.String(fakeListener + "/regex"), Priority: aws.String("1"),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{RegexValues: []string{"^/v[0-9]+/"}}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/1")}},
	}}}}
	m := New(f)
	_, err := m.Plan(context.Background(), nil, remediations.Params{"listener": fakeListener, "shadowing": "refuse"})
	if !errors.Is(err, ErrShadowed) || !strings.Contains(err.Error(), "rule "+fakeListener+"/regex at priority 1") || !strings.Contains(err.Error(), "[assumed to match: path-pattern regex ^/v[0-9]+/ cannot be evaluated]") {
		t.Errorf("refuse: err = %v, want ErrShadowed naming the rule and the assumption", err)
	}
	plan, err := m.Plan(context.Background(), nil, remediations.Params{"listener": fakeListener})
	if err != nil || !strings.Contains(plan.Summary, "may answer maintenance requests (path-pattern regex ^/v[0-9]+/ cannot be evaluated)) -> 2") {
		t.Errorf("move: plan = %+v, %v; want the rule moved to 2, saying why", plan, err)
	}
}

func TestApplyRevertsWhenTheMaintenanceRuleIsNotReadBack(t *testing.T) {
	// The fake's rules never change: after the create, the listener read
	// back has no maintenance rule, so the default rule answers.
	f := &fakeELB{
		listeners: oneListener(),
		rules:     &elb.DescribeRulesOutput{Rules: []types.Rule{{RuleArn: aws.String(fakeListener + "/default"), IsDefault: aws.Bool(true)}}},
		create:    &elb.CreateRuleOutput{Rules: []types.Rule{{RuleArn: aws.String(fakeListener + "/medic")}}},
	}
	m := New(f)
	plan, err := m.Plan(context.Background(), nil, remediations.Params{"listener": fakeListener})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	_, err = m.Apply(context.Background(), plan)
	if !errors.Is(err, ErrNotEffective) || !strings.Contains(err.Error(), "the maintenance rule "+fakeListener+"/medic is not on the listener read back") || !strings.Contains(err.Error(), "reverted: removed the 1 rule(s)") {
		t.Errorf("err = %v, want ErrNotEffective saying the rule is missing and what was reverted", err)
	}
	if len(f.deleted) != 1 || f.deleted[0] != fakeListener+"/medic" {
		t.Errorf("deleted %v, want the created rule", f.deleted)
	}
}

func TestAPlanWithoutRecordedRequestsIsCheckedForItsMaintenanceRule(t *testing.T) {
	for _, tc := range []struct {
		data string
		want requests
	}{
		{`{"mode":"on","listener":"x","create":[{"role":"maintenance","priority":1,"conditions":[{"field":"path-pattern","values":["/*"]}]}]}`, requests{Paths: []string{"/*"}}},
		{`{"mode":"on","listener":"x","create":[{"role":"allow","priority":1},{"role":"maintenance","priority":2,"conditions":[{"field":"host-header","values":["shop.example.com"]}]}]}`, requests{Paths: []string{"/*"}, Hosts: []string{"shop.example.com"}}},
	} {
		d, err := decodePlan(&remediations.Plan{Action: ActionName, Data: json.RawMessage(tc.data)})
		if err != nil {
			t.Fatalf("decode %s: %v", tc.data, err)
		}
		if d.Requests.String() != tc.want.String() {
			t.Errorf("requests of %s = %s, want %s", tc.data, d.Requests, tc.want)
		}
	}
}
