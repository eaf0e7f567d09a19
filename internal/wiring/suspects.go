package wiring

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/github"
)

// DeployLookup lists the deploys to environment of repo in the window
// before an alarm's state change; *github.Rollback implements it.
type DeployLookup interface {
	SuspectDeploys(ctx context.Context, a *alarm.Alarm, repo, environment string, window time.Duration) ([]github.Deploy, error)
}

var _ DeployLookup = (*github.Rollback)(nil)

// SuspectFinder is the engine's engine.SuspectFinder over GitHub: the
// first github.rollback step of the matched policies says which
// repository, environment and window to look at, rendered against the
// alarm as the step itself would be. The alarm function calls it once per
// incident (engine.HandleAlarm); no card render does.
type SuspectFinder struct {
	lookup DeployLookup
	render engine.RenderFunc
}

var _ engine.SuspectFinder = (*SuspectFinder)(nil)

// NewSuspectFinder returns a SuspectFinder looking deploys up through
// lookup, rendering steps with (*policy.Step).Render.
func NewSuspectFinder(lookup DeployLookup) *SuspectFinder {
	return &SuspectFinder{lookup: lookup, render: (*policy.Step).Render}
}

// rollbackTarget is what a github.rollback step would roll back.
type rollbackTarget struct {
	policy      string
	repo        string
	environment string
	window      time.Duration
}

// FindSuspects returns the deploys the first github.rollback step of
// matched would roll back, newest first; nothing when no matched policy has
// such a step. Failures are *engine.SuspectsError saying in a few words
// what went wrong ("GitHub timed out").
func (f *SuspectFinder) FindSuspects(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy) ([]store.SuspectDeploy, error) {
	t, ok, err := f.rollbackTarget(a, matched)
	if err != nil {
		return nil, &engine.SuspectsError{Reason: "the github.rollback step of policy " + t.policy + " cannot be rendered", Err: err}
	}
	if !ok {
		return nil, nil
	}
	found, err := f.lookup.SuspectDeploys(ctx, a, t.repo, t.environment, t.window)
	if err != nil {
		return nil, &engine.SuspectsError{Reason: githubReason(err),
			Err: fmt.Errorf("suspect deploys of %s to %s (policy %s): %w", t.repo, t.environment, t.policy, err)}
	}
	out := make([]store.SuspectDeploy, 0, min(len(found), store.MaxSuspects))
	for _, d := range found {
		author := d.Author
		if author == "" {
			author = d.Creator
		}
		out = append(out, store.SuspectDeploy{SHA: d.SHA, Author: author, PRNumber: d.PRNumber, PRTitle: d.PRTitle,
			PRURL: d.PRURL, CompareURL: d.CompareURL, DeployedAt: d.CreatedAt})
	}
	return out, nil
}

// rollbackTarget finds the first github.rollback step of matched and
// renders its repo, environment and window against a.
func (f *SuspectFinder) rollbackTarget(a *alarm.Alarm, matched []*policy.Policy) (rollbackTarget, bool, error) {
	for _, p := range matched {
		if p == nil {
			continue
		}
		for _, st := range p.Steps {
			if st == nil || st.Action != github.ActionName {
				continue
			}
			t := rollbackTarget{policy: p.Name}
			params, err := f.render(st, a)
			if err != nil {
				return t, false, fmt.Errorf("render step %d of policy %s for suspect deploys: %w", st.Index+1, p.Name, err)
			}
			t.repo, t.environment, t.window = params.String("repo"), params.String("environment"), params.Duration("window", 0)
			return t, true, nil
		}
	}
	return rollbackTarget{}, false, nil
}

// githubReason says in a few words, for the card, why a GitHub lookup
// failed.
func githubReason(err error) string {
	var apiErr *github.APIError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "GitHub timed out"
	case errors.Is(err, context.Canceled):
		return "the lookup was cancelled"
	case errors.As(err, &apiErr) && errors.Is(err, github.ErrTemporary):
		return fmt.Sprintf("GitHub is unavailable (HTTP %d)", apiErr.Status)
	case errors.As(err, &apiErr) && errors.Is(err, remediations.ErrAccessDenied):
		return fmt.Sprintf("GitHub refused access (HTTP %d)", apiErr.Status)
	case errors.As(err, &apiErr) && errors.Is(err, remediations.ErrNotFound):
		return "GitHub found no such repository or environment"
	case errors.As(err, &apiErr):
		return fmt.Sprintf("GitHub answered HTTP %d", apiErr.Status)
	case errors.Is(err, remediations.ErrInvalid):
		return "the github.rollback step's repo or environment is invalid"
	case errors.As(err, &netErr):
		return "GitHub is unreachable"
	}
	return "the GitHub lookup failed"
}
