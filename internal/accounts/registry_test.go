package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/medicbot/medic/internal/accounts"
	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// recorder is an action that records the region of the client it was built
// with and the plans and results it is given.
type recorder struct {
	region  string
	applied *[]string
	undone  *[]string
	fail    error
}

func (r recorder) Name() string                { return "test.act" }
func (r recorder) Schema() remediations.Schema { return remediations.Schema{} }
func (r recorder) Plan(_ context.Context, _ *alarm.Alarm, _ remediations.Params) (*remediations.Plan, error) {
	if r.fail != nil {
		return nil, r.fail
	}
	return &remediations.Plan{Action: "test.act", Target: "ecs:prod/checkout", Summary: "prod/checkout: 4 -> 6 (" + r.region + ")", Reversible: true}, nil
}
func (r recorder) Apply(_ context.Context, p *remediations.Plan) (*remediations.Result, error) {
	*r.applied = append(*r.applied, r.region+" "+p.Target+" "+p.Summary)
	return &remediations.Result{Action: p.Action, Target: p.Target, Summary: "scaled"}, nil
}
func (r recorder) Undo(_ context.Context, res *remediations.Result) (*remediations.Result, error) {
	*r.undone = append(*r.undone, r.region+" "+res.Target+" "+res.Summary)
	return &remediations.Result{Action: res.Action, Target: res.Target, Summary: "put back"}, nil
}

func TestScopedActionsApplyAndUndoWhereThePlanWasMade(t *testing.T) {
	ctx := context.Background()
	var applied, undone []string
	f := &fakeSTS{ttl: time.Hour}
	build := func(cfg aws.Config) (*remediations.Registry, error) {
		return remediations.NewRegistry(recorder{region: cfg.Region, applied: &applied, undone: &undone})
	}
	home, _ := build(aws.Config{Region: "us-east-1"})
	reg := accounts.NewRegistry(home, build, provider(t, f))
	act, ok := reg.Get("test.act")
	if !ok {
		t.Fatal("test.act not found")
	}
	a := &alarm.Alarm{Name: "checkout-5xx", ARN: "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:checkout-5xx",
		Account: "111111111111", Region: "eu-west-1", Timestamp: time.Unix(1700000000, 0)}
	plan, err := act.Plan(ctx, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Summary != "111111111111 eu-west-1: prod/checkout: 4 -> 6 (eu-west-1)" || plan.Target != "111111111111/eu-west-1/ecs:prod/checkout" {
		t.Errorf("plan = %q on %q", plan.Summary, plan.Target)
	}
	res, err := act.Apply(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || applied[0] != "eu-west-1 ecs:prod/checkout prod/checkout: 4 -> 6 (eu-west-1)" {
		t.Errorf("the action applied %q; want in eu-west-1, given its own target and summary", applied)
	}
	if res.Summary != "111111111111 eu-west-1: scaled" || res.Account != "111111111111" || res.Region != "eu-west-1" {
		t.Errorf("result = %+v", res)
	}
	u, ok := act.(remediations.Undoer)
	if !ok {
		t.Fatal("a reversible action lost its Undo")
	}
	back, err := u.Undo(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	if len(undone) != 1 || undone[0] != "eu-west-1 ecs:prod/checkout scaled" || back.Summary != "111111111111 eu-west-1: put back" {
		t.Errorf("undo ran %q and said %q", undone, back.Summary)
	}
	if len(f.calls) != 1 {
		t.Errorf("%d AssumeRole calls for one incident in one account and region, want 1", len(f.calls))
	}
}

func TestScopedErrorsNameTheAccountAndKeepTheirKind(t *testing.T) {
	build := func(cfg aws.Config) (*remediations.Registry, error) {
		return remediations.NewRegistry(recorder{region: cfg.Region, fail: remediations.ErrNotFound})
	}
	home, _ := build(aws.Config{})
	act, _ := accounts.NewRegistry(home, build, provider(t, &fakeSTS{ttl: time.Hour})).Get("test.act")
	_, err := act.Plan(context.Background(), &alarm.Alarm{Name: "x", Account: "111111111111", Region: "eu-west-1"}, nil)
	if !errors.Is(err, remediations.ErrNotFound) || !strings.Contains(err.Error(), "111111111111 eu-west-1") {
		t.Errorf("err = %v, want ErrNotFound naming 111111111111 eu-west-1", err)
	}

	denied := &fakeSTS{err: errors.New("AccessDenied")}
	act, _ = accounts.NewRegistry(home, build, provider(t, denied)).Get("test.act")
	_, err = act.Apply(context.Background(), &remediations.Plan{Action: "test.act", Account: "111111111111", Region: "eu-west-1"})
	if !errors.Is(err, accounts.ErrAssumeRole) || !errors.Is(err, remediations.ErrNotApplied) {
		t.Errorf("apply without the role: %v; want ErrAssumeRole and ErrNotApplied", err)
	}
}
