package wiring

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/medicbot/medic/internal/accounts"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/alb"
)

// maintenanceWatch tells the engine when maintenance may end: an
// alb.maintenance result that records an exit condition (target health,
// an optional probe) is watched, and alb.ExitCheck evaluates it, in the
// account and region the result was made in (with the member role in
// multi-account mode).
type maintenanceWatch struct {
	check    *alb.ExitCheck
	provider *accounts.Provider // nil: single-account
}

var _ engine.Watcher = maintenanceWatch{}

func (w maintenanceWatch) Watches(res *remediations.Result) bool {
	_, _, ok := alb.ExitOf(res)
	return ok
}

func (w maintenanceWatch) Check(ctx context.Context, res *remediations.Result) (engine.WatchStatus, error) {
	cond, since, _ := alb.ExitOf(res)
	check := w.check
	if w.provider != nil && res.Account != "" {
		c, err := w.provider.Config(ctx, res.Account, res.Region, res.Session)
		if err != nil {
			return engine.WatchStatus{}, err
		}
		check = alb.NewExitCheck(elasticloadbalancingv2.NewFromConfig(c), nil)
	}
	st, err := check.Check(ctx, cond, since)
	if err != nil {
		return engine.WatchStatus{}, err
	}
	return engine.WatchStatus{Holds: st.Holds, Auto: st.Auto, Evidence: st.Evidence, InFor: st.InFor}, nil
}
