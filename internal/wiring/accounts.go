package wiring

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	gogithub "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/internal/accounts"
	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/cwstate"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/builtin"
)

// Rem is the remediations as the doors use them.
type Rem struct {
	// Registry is built with the function's own clients: it names the
	// actions and their schemas (policy validation) and, in single-account
	// mode, runs them.
	Registry *remediations.Registry
	// Actions is what the engine runs: Registry itself, or in multi-account
	// mode the actions acting in each alarm's account and region.
	Actions engine.Actions
	// Provider hands out credentials per account and region; nil in
	// single-account mode.
	Provider *accounts.Provider

	home aws.Config
}

// AWSConfigFor returns an AWS configuration acting in a's account and
// region, for anything else that reads AWS about an alarm (evidence
// collectors): the member role's credentials in multi-account mode, the
// function's own in single-account mode. A role that cannot be assumed is
// an error wrapping accounts.ErrAssumeRole.
func (r *Rem) AWSConfigFor(ctx context.Context, a *alarm.Alarm) (aws.Config, error) {
	if r.Provider == nil {
		return r.home, nil
	}
	return r.Provider.Config(ctx, a.Account, a.Region, accounts.SessionName(a))
}

// Remediations builds the built-in actions with clients from awsCfg and,
// when cfg names a member role, wraps them so they act in each alarm's
// account and region with the member role's credentials.
func Remediations(cfg *config.Config, awsCfg aws.Config, gh *gogithub.Client) (*Rem, error) {
	build := func(c aws.Config) (*remediations.Registry, error) { return registryFor(cfg, c, gh) }
	reg, err := build(awsCfg)
	if err != nil {
		return nil, err
	}
	rem := &Rem{Registry: reg, Actions: reg, home: awsCfg}
	if !cfg.MultiAccount() {
		return rem, nil
	}
	p, err := accounts.New(accounts.Config{Home: awsCfg, HomeAccount: cfg.AccountID,
		RoleName: cfg.MemberRoleName, ExternalID: cfg.MemberExternalID.Value()})
	if err != nil {
		return nil, err
	}
	rem.Provider = p
	rem.Actions = accounts.NewRegistry(reg, build, p)
	return rem, nil
}

// registryFor builds the built-in actions with AWS clients from c.
func registryFor(cfg *config.Config, c aws.Config, gh *gogithub.Client) (*remediations.Registry, error) {
	return builtin.Registry(ActionClients(cfg, c, gh))
}

// AlarmState returns the alarm-state re-check: the home CloudWatch, or in
// multi-account mode CloudWatch in each alarm's account and region.
func (r *Rem) AlarmState(awsCfg aws.Config, emulator bool) engine.AlarmState {
	if r.Provider == nil {
		return cwstate.New(CloudWatch(awsCfg, emulator))
	}
	p := r.Provider
	return cwstate.NewScoped(func(ctx context.Context, a *alarm.Alarm) (cwstate.DescribeAlarmsAPI, error) {
		c, err := p.Config(ctx, a.Account, a.Region, accounts.SessionName(a))
		if err != nil {
			return nil, err
		}
		return CloudWatch(c, emulator), nil
	})
}
