package alb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/maintpage"
	"github.com/medicbot/medic/remediations"
)

// recordingCreate is the real client that also keeps every CreateRule
// request: moto does not store a rule's transforms, so the tests read the
// url-rewrite from what medic sent.
type recordingCreate struct {
	ELBv2API
	sent []*elb.CreateRuleInput
}

func (r *recordingCreate) CreateRule(ctx context.Context, in *elb.CreateRuleInput, opts ...func(*elb.Options)) (*elb.CreateRuleOutput, error) {
	r.sent = append(r.sent, in)
	return r.ELBv2API.CreateRule(ctx, in, opts...)
}

// lambdaTargetGroup creates the maintenance function's target group as the
// template does (target type lambda, no VPC).
func (w *world) lambdaTargetGroup() string {
	w.t.Helper()
	out, err := w.elb.CreateTargetGroup(context.Background(), &elb.CreateTargetGroupInput{
		Name: aws.String("medic-maintenance"), TargetType: types.TargetTypeEnumLambda,
		HealthCheckEnabled: aws.Bool(true), HealthCheckPath: aws.String(maintpage.HealthPath),
	})
	w.must("create lambda target group", err)
	return aws.ToString(out.TargetGroups[0].TargetGroupArn)
}

func TestModeLambdaForwardsTheMaintenanceRequestsToTheFunction(t *testing.T) {
	w := newWorld(t)
	tg := w.lambdaTargetGroup()
	rec := &recordingCreate{ELBv2API: w.elb}
	// The stack provides the target group: mode on (the default) uses it.
	m := NewWithOptions(rec, Options{TargetGroup: tg})
	plan, res := w.planApply(m, w.alb5xx(), remediations.Params{
		"listener": w.listener, "message": "Checkout is being upgraded.", "retry_after": 600, "allow_paths": []any{"/healthz"},
	})
	if !strings.Contains(plan.Summary, "503 from the maintenance function targetgroup/medic-maintenance/") || !strings.Contains(plan.Summary, "Retry-After 600s") ||
		!strings.Contains(plan.Summary, "/healthz answered 200") {
		t.Errorf("plan summary %q does not say the function answers", plan.Summary)
	}

	mine := medicRules(w.rules(w.listener))
	if len(mine) != 1 {
		t.Fatalf("medic rules after apply: %d, want one maintenance rule", len(mine))
	}
	r := mine[0]
	if r.Priority != 1 || len(r.Actions) != 1 || !forwardsTo(r.Actions[0], tg) || fixedResponseOf(r) != nil {
		t.Errorf("maintenance rule read back: priority %d, actions %+v; want priority 1 forwarding to %s", r.Priority, r.Actions, tg)
	}
	if got := conditionValues(r, "path-pattern"); len(got) != 1 || got[0] != "/*" {
		t.Errorf("maintenance rule matches %v, want /*", got)
	}

	// The url-rewrite medic sent carries the page to the function.
	if len(rec.sent) != 1 || len(rec.sent[0].Transforms) != 1 {
		t.Fatalf("CreateRule requests %d, transforms %+v; want one url-rewrite", len(rec.sent), rec.sent)
	}
	tr := rec.sent[0].Transforms[0]
	if tr.Type != types.TransformTypeEnumUrlRewrite || tr.UrlRewriteConfig == nil || len(tr.UrlRewriteConfig.Rewrites) != 1 {
		t.Fatalf("transform = %+v", tr)
	}
	rw := tr.UrlRewriteConfig.Rewrites[0]
	enc, ok := strings.CutPrefix(aws.ToString(rw.Replace), maintpage.PathPrefix)
	enc, ok2 := strings.CutSuffix(enc, "$1")
	if aws.ToString(rw.Regex) != "^(.*)$" || !ok || !ok2 {
		t.Fatalf("rewrite %q -> %q, want ^(.*)$ -> %s<config>$1", aws.ToString(rw.Regex), aws.ToString(rw.Replace), maintpage.PathPrefix)
	}
	cfg, err := maintpage.Decode(enc)
	if err != nil || cfg.Message != "Checkout is being upgraded." || cfg.RetryAfter != 600 || len(cfg.AllowPaths) != 1 || cfg.AllowPaths[0] != "/healthz" {
		t.Errorf("config the rule carries = %+v (%v)", cfg, err)
	}

	if _, err := m.Undo(context.Background(), resultRoundTrip(t, res)); err != nil {
		t.Fatalf("undo: %v", err)
	}
	if left := medicRules(w.rules(w.listener)); len(left) != 0 {
		t.Errorf("undo left %d medic rules", len(left))
	}
}

func TestModeFixedAndModeLambdaChooseAndOnFallsBackToFixed(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tg := w.lambdaTargetGroup()

	// No target group from the stack: mode on is ALB's fixed 503.
	plan, err := New(w.elb).Plan(ctx, w.alb5xx(), remediations.Params{"listener": w.listener})
	w.must("plan on without a target group", err)
	if !strings.Contains(plan.Summary, "503 html") {
		t.Errorf("mode on without a target group: %q, want the fixed 503", plan.Summary)
	}
	// mode fixed wins over the stack's target group.
	plan, err = NewWithOptions(w.elb, Options{TargetGroup: tg}).Plan(ctx, w.alb5xx(), remediations.Params{"listener": w.listener, "mode": "fixed"})
	w.must("plan fixed", err)
	if !strings.Contains(plan.Summary, "503 html") {
		t.Errorf("mode fixed: %q", plan.Summary)
	}
	// mode lambda with the policy's target_group.
	plan, err = New(w.elb).Plan(ctx, w.alb5xx(), remediations.Params{"listener": w.listener, "mode": "lambda", "target_group": tg})
	w.must("plan lambda", err)
	if !strings.Contains(plan.Summary, "maintenance function") {
		t.Errorf("mode lambda with target_group: %q", plan.Summary)
	}
	// mode lambda, or allow_paths, without any target group is refused.
	for _, p := range []remediations.Params{
		{"listener": w.listener, "mode": "lambda"},
		{"listener": w.listener, "allow_paths": "/healthz"},
	} {
		if _, err := New(w.elb).Plan(ctx, w.alb5xx(), p); !errors.Is(err, remediations.ErrInvalid) || !strings.Contains(err.Error(), "target group") {
			t.Errorf("plan %v without a target group: %v, want ErrInvalid naming the target group", p, err)
		}
	}
	if rs := medicRules(w.rules(w.listener)); len(rs) != 0 {
		t.Errorf("plans created %d rules", len(rs))
	}
}
