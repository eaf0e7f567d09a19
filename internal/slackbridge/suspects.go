package slackbridge

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations/github"
)

// Suspects lists the deploys that may have caused an alarm: those to
// environment of repo in the window before the alarm's state change.
// *github.Rollback implements it.
type Suspects interface {
	SuspectDeploys(ctx context.Context, a *alarm.Alarm, repo, environment string, window time.Duration) ([]github.Deploy, error)
}

var _ Suspects = (*github.Rollback)(nil)

// DefaultSuspectTimeout bounds one suspect-deploy lookup; the card is
// posted without deploys when it runs out.
const DefaultSuspectTimeout = 5 * time.Second

// suspectRetry is how long a failed lookup is remembered before an update
// of the same card tries again.
const suspectRetry = time.Minute

// maxCachedIncidents bounds the lookup cache; finished entries are dropped
// when it is full.
const maxCachedIncidents = 512

// WithSuspects makes the card of an incident whose policies have a
// github.rollback step show the suspect deploys of that step's repo and
// environment, looked up once per incident (in this process) through s. A
// failed lookup is logged and the card shows no deploys.
func WithSuspects(s Suspects) NotifierOption {
	return func(n *Notifier) { n.suspects = s }
}

// WithSuspectTimeout bounds one suspect-deploy lookup (default
// DefaultSuspectTimeout).
func WithSuspectTimeout(d time.Duration) NotifierOption {
	return func(n *Notifier) {
		if d > 0 {
			n.suspectTimeout = d
		}
	}
}

// suspectCache remembers each incident's suspect deploys; concurrent
// notices of one incident share one lookup.
type suspectCache struct {
	mu      sync.Mutex
	entries map[string]*suspectEntry
}

type suspectEntry struct {
	done    chan struct{}
	deploys []slack.Deploy
	// retryAt is set when the lookup failed: the entry is ignored after it.
	retryAt time.Time
}

// rollbackTarget is what a github.rollback step would roll back.
type rollbackTarget struct {
	policy      string
	repo        string
	environment string
	window      time.Duration
}

// suspectDeploys returns the card's suspect deploys for inc, nil when the
// notifier has no Suspects, no policy of inc rolls back a GitHub deploy, or
// the lookup failed (logged).
func (n *Notifier) suspectDeploys(ctx context.Context, inc *store.Incident) []slack.Deploy {
	if n.suspects == nil || inc == nil {
		return nil
	}
	target, ok, err := n.rollbackTarget(inc)
	if err != nil {
		n.log.WarnContext(ctx, "card without suspect deploys", slog.String("incident", inc.ID), slog.Any("error", err))
		return nil
	}
	if !ok {
		return nil
	}
	c := &n.cache
	c.mu.Lock()
	if e, found := c.entries[inc.ID]; found {
		select {
		case <-e.done:
			if e.retryAt.IsZero() || time.Now().Before(e.retryAt) {
				c.mu.Unlock()
				return e.deploys
			}
		default:
			c.mu.Unlock()
			select {
			case <-e.done:
				return e.deploys
			case <-ctx.Done():
				return nil
			}
		}
	}
	if c.entries == nil {
		c.entries = make(map[string]*suspectEntry)
	}
	if len(c.entries) >= maxCachedIncidents {
		for id, e := range c.entries {
			select {
			case <-e.done:
				delete(c.entries, id)
			default:
			}
		}
	}
	e := &suspectEntry{done: make(chan struct{})}
	c.entries[inc.ID] = e
	c.mu.Unlock()

	deploys, err := n.lookupSuspects(ctx, inc, target)
	if err != nil {
		n.log.WarnContext(ctx, "card without suspect deploys", slog.String("incident", inc.ID),
			slog.String("repo", target.repo), slog.String("environment", target.environment), slog.Any("error", err))
		e.retryAt = time.Now().Add(suspectRetry)
	}
	e.deploys = deploys
	close(e.done)
	return deploys
}

func (n *Notifier) lookupSuspects(ctx context.Context, inc *store.Incident, t rollbackTarget) ([]slack.Deploy, error) {
	ctx, cancel := context.WithTimeout(ctx, n.suspectTimeout)
	defer cancel()
	found, err := n.suspects.SuspectDeploys(ctx, &inc.Alarm, t.repo, t.environment, t.window)
	if err != nil {
		return nil, fmt.Errorf("suspect deploys of %s to %s (policy %s): %w", t.repo, t.environment, t.policy, err)
	}
	out := make([]slack.Deploy, 0, len(found))
	for _, d := range found {
		author := d.Author
		if author == "" {
			author = d.Creator
		}
		out = append(out, slack.Deploy{SHA: d.SHA, Author: author, PRTitle: d.PRTitle, PRNumber: d.PRNumber,
			PRURL: d.PRURL, CompareURL: d.CompareURL})
	}
	return out, nil
}

// rollbackTarget finds the first github.rollback step of inc's policies and
// renders its repo, environment and window against the incident's alarm.
func (n *Notifier) rollbackTarget(inc *store.Incident) (rollbackTarget, bool, error) {
	for _, name := range inc.Policies {
		p := n.lookup(name)
		if p == nil {
			continue
		}
		for _, st := range p.Steps {
			if st.Action != github.ActionName {
				continue
			}
			params, err := st.Render(&inc.Alarm)
			if err != nil {
				return rollbackTarget{}, false, fmt.Errorf("render step %d of policy %s for suspect deploys: %w", st.Index+1, name, err)
			}
			return rollbackTarget{policy: name, repo: params.String("repo"), environment: params.String("environment"),
				window: params.Duration("window", 0)}, true, nil
		}
	}
	return rollbackTarget{}, false, nil
}
