package accounts

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// BuildFunc builds the registry of actions with clients made from cfg (in
// production, builtin.Registry over clients from wiring).
type BuildFunc func(cfg aws.Config) (*remediations.Registry, error)

// Registry hands out actions that act in the alarm's account and region:
// Plan builds (once per account, region and session) the real action with
// clients for the alarm's account and region and records them on the plan;
// Apply and Undo act where the plan or result says. Every summary is
// prefixed with "<account> <region>: ", so every card and audit line that
// changes something names where, and every target (the lock and cooldown
// key) is prefixed with "<account>/<region>/". It implements the engine's Actions.
type Registry struct {
	home     *remediations.Registry
	build    BuildFunc
	provider *Provider
	mu       sync.Mutex
	regs     map[credKey]*remediations.Registry
}

// NewRegistry wraps home (the registry built with the function's own
// clients, which names the actions and their schemas) so that actions run
// with clients from build over provider's configurations.
func NewRegistry(home *remediations.Registry, build BuildFunc, provider *Provider) *Registry {
	return &Registry{home: home, build: build, provider: provider, regs: map[credKey]*remediations.Registry{}}
}

// Get returns the named action, acting where each alarm is.
func (r *Registry) Get(name string) (remediations.Action, bool) {
	a, ok := r.home.Get(name)
	if !ok {
		return nil, false
	}
	s := scoped{Action: a, reg: r}
	if _, ok := a.(remediations.Undoer); ok {
		return scopedUndoer{s}, true
	}
	return s, true
}

// actionFor returns the action name built for account and region.
func (r *Registry) actionFor(ctx context.Context, name, account, region, session string) (remediations.Action, error) {
	cfg, err := r.provider.Config(ctx, account, region, session)
	if err != nil {
		return nil, err
	}
	k := credKey{account, cfg.Region, session}
	r.mu.Lock()
	defer r.mu.Unlock()
	reg, ok := r.regs[k]
	if !ok {
		if len(r.regs) >= maxCached {
			clear(r.regs)
		}
		if reg, err = r.build(cfg); err != nil {
			return nil, fmt.Errorf("build actions for account %s in %s: %w", account, cfg.Region, err)
		}
		r.regs[k] = reg
	}
	act, ok := reg.Get(name)
	if !ok {
		return nil, fmt.Errorf("action %s is not registered for account %s in %s", name, account, cfg.Region)
	}
	return act, nil
}

// Where is the prefix naming an account and region in summaries.
func Where(account, region string) string {
	if account == "" && region == "" {
		return ""
	}
	return strings.TrimSpace(account+" "+region) + ": "
}

type scoped struct {
	remediations.Action
	reg *Registry
}

func (s scoped) Plan(ctx context.Context, a *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	if a == nil {
		return nil, fmt.Errorf("plan %s: no alarm", s.Name())
	}
	session := SessionName(a)
	act, err := s.reg.actionFor(ctx, s.Name(), a.Account, a.Region, session)
	if err != nil {
		return nil, err
	}
	plan, err := act.Plan(ctx, a, p)
	if err != nil {
		return nil, fmt.Errorf("%s%w", Where(a.Account, a.Region), err)
	}
	if plan == nil {
		return nil, nil
	}
	plan.Account, plan.Region, plan.Session = a.Account, a.Region, session
	plan.Summary = Where(a.Account, a.Region) + plan.Summary
	plan.Target = lockPrefix(a.Account, a.Region) + plan.Target
	return plan, nil
}

func (s scoped) Apply(ctx context.Context, plan *remediations.Plan) (*remediations.Result, error) {
	act, err := s.reg.actionFor(ctx, s.Name(), plan.Account, plan.Region, plan.Session)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", remediations.ErrNotApplied, err)
	}
	inner := *plan
	where := Where(plan.Account, plan.Region)
	inner.Summary = strings.TrimPrefix(plan.Summary, where)
	inner.Target = strings.TrimPrefix(plan.Target, lockPrefix(plan.Account, plan.Region))
	res, err := act.Apply(ctx, &inner)
	return stamp(res, plan.Account, plan.Region, plan.Session), named(err, plan.Account, plan.Region)
}

type scopedUndoer struct{ scoped }

func (s scopedUndoer) Undo(ctx context.Context, res *remediations.Result) (*remediations.Result, error) {
	act, err := s.reg.actionFor(ctx, s.Name(), res.Account, res.Region, res.Session)
	if err != nil {
		return nil, err
	}
	u, ok := act.(remediations.Undoer)
	if !ok {
		return nil, fmt.Errorf("undo %s: %w", s.Name(), remediations.ErrNotReversible)
	}
	inner := *res
	inner.Summary = strings.TrimPrefix(res.Summary, Where(res.Account, res.Region))
	inner.Target = strings.TrimPrefix(res.Target, lockPrefix(res.Account, res.Region))
	out, err := u.Undo(ctx, &inner)
	return stamp(out, res.Account, res.Region, res.Session), named(err, res.Account, res.Region)
}

// named prefixes err with where it happened, keeping it for errors.Is.
func named(err error, account, region string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s%w", Where(account, region), err)
}

func stamp(res *remediations.Result, account, region, session string) *remediations.Result {
	if res == nil {
		return nil
	}
	res.Account, res.Region, res.Session = account, region, session
	res.Summary = Where(account, region) + res.Summary
	res.Target = lockPrefix(account, region) + res.Target
	return res
}

// lockPrefix makes targets (the lock and cooldown keys) distinct per
// account and region: prod/checkout in two accounts are two services.
func lockPrefix(account, region string) string { return account + "/" + region + "/" }
