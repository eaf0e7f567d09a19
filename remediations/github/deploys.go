package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// Deploy is one GitHub deployment to an environment and what medic knows of
// the commit it deployed. Plans name the bad and the good deploy with it;
// SuspectDeploys lists them for the Slack card.
type Deploy struct {
	// ID is the deployment id.
	ID          int64  `json:"id"`
	SHA         string `json:"sha"`
	Ref         string `json:"ref,omitempty"`
	Environment string `json:"environment"`
	// State is the deployment's latest status: success, failure, error,
	// inactive, in_progress, queued or pending ("" when it has none).
	State string `json:"state,omitempty"`
	// Creator is the login that created the deployment.
	Creator string `json:"creator,omitempty"`
	// Author is the commit author's login, or name when GitHub knows no
	// account for the author.
	Author string `json:"author,omitempty"`
	// Message is the first line of the commit message.
	Message     string    `json:"message,omitempty"`
	CommittedAt time.Time `json:"committed_at,omitzero"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	CommitURL   string    `json:"commit_url,omitempty"`
	// PRNumber, PRTitle and PRURL name the pull request that brought the
	// commit, when there is one (SuspectDeploys only).
	PRNumber int    `json:"pr_number,omitempty"`
	PRTitle  string `json:"pr_title,omitempty"`
	PRURL    string `json:"pr_url,omitempty"`
	// PreviousSHA is the SHA deployed before this one, CompareURL the
	// GitHub page comparing the two.
	PreviousSHA string `json:"previous_sha,omitempty"`
	CompareURL  string `json:"compare_url,omitempty"`
}

// repoRef is an owner/name pair.
type repoRef struct{ owner, name string }

func (r repoRef) String() string { return r.owner + "/" + r.name }

func parseRepo(s string) (repoRef, error) {
	if !repoPattern.MatchString(s) {
		return repoRef{}, fmt.Errorf("repo must be owner/name, got %q: %w", s, remediations.ErrInvalid)
	}
	o, n, _ := strings.Cut(s, "/")
	return repoRef{o, n}, nil
}

// medicPayload is what medic puts in the payload of the deployments it
// creates, under the key "medic".
type medicPayload struct {
	// Action is "rollback" or "roll-forward".
	Action   string `json:"action"`
	Incident string `json:"incident,omitempty"`
	Alarm    string `json:"alarm,omitempty"`
	// From is the SHA replaced, To the SHA deployed.
	From string `json:"from"`
	To   string `json:"to"`
}

type deployPayload struct {
	Medic *medicPayload `json:"medic,omitempty"`
}

// medicOf returns the medic record in a deployment's payload, if any.
func medicOf(d *gh.Deployment) *medicPayload {
	var p deployPayload
	if len(d.Payload) == 0 || json.Unmarshal(d.Payload, &p) != nil {
		return nil
	}
	return p.Medic
}

// scan calls fn for every deployment to env, newest first as GitHub lists
// them, following pagination, until fn says stop or x.maxScan deployments
// were seen. It returns how many it saw.
func (x *Rollback) scan(ctx context.Context, r repoRef, env string, perPage int, fn func(*gh.Deployment) (bool, error)) (int, error) {
	opts := &gh.DeploymentsListOptions{Environment: env, ListOptions: gh.ListOptions{PerPage: perPage}}
	n := 0
	for {
		page, resp, err := x.gh.Repositories.ListDeployments(ctx, r.owner, r.name, opts)
		if err != nil {
			return n, apiErr(fmt.Sprintf("list deployments of %s to %s", r, env), err)
		}
		for _, d := range page {
			if d == nil {
				continue
			}
			n++
			stop, err := fn(d)
			if err != nil || stop {
				return n, err
			}
			if n >= x.maxScan {
				return n, nil
			}
		}
		if resp == nil || resp.NextPage == 0 || len(page) == 0 {
			return n, nil
		}
		opts.Page = resp.NextPage
	}
}

// newest returns the newest deployment to env, or nil when there is none.
func (x *Rollback) newest(ctx context.Context, r repoRef, env string) (*gh.Deployment, error) {
	var first *gh.Deployment
	_, err := x.scan(ctx, r, env, 1, func(d *gh.Deployment) (bool, error) {
		first = d
		return true, nil
	})
	return first, err
}

// statusInfo summarises a deployment's statuses.
type statusInfo struct {
	latest    string    // state of the newest status
	succeeded bool      // some status was success
	liveAt    time.Time // when the first success status came, zero if none
}

func (x *Rollback) status(ctx context.Context, r repoRef, d *gh.Deployment) (statusInfo, error) {
	sts, _, err := x.gh.Repositories.ListDeploymentStatuses(ctx, r.owner, r.name, d.GetID(), &gh.ListOptions{PerPage: 100})
	if err != nil {
		return statusInfo{}, apiErr(fmt.Sprintf("list statuses of deployment %d of %s", d.GetID(), r), err)
	}
	var info statusInfo
	var latest *gh.DeploymentStatus
	for _, s := range sts {
		if s == nil {
			continue
		}
		if s.GetState() == "success" {
			info.succeeded = true
			if at := s.GetCreatedAt().Time; info.liveAt.IsZero() || at.Before(info.liveAt) {
				info.liveAt = at
			}
		}
		if latest == nil || s.GetCreatedAt().After(latest.GetCreatedAt().Time) ||
			(s.GetCreatedAt().Equal(latest.GetCreatedAt()) && s.GetID() > latest.GetID()) {
			latest = s
		}
	}
	info.latest = latest.GetState()
	return info, nil
}

// describe fills a Deploy from a deployment and its commit, and returns the
// commit's tree SHA.
func (x *Rollback) describe(ctx context.Context, r repoRef, d *gh.Deployment, state string) (Deploy, string, error) {
	dep := Deploy{
		ID:          d.GetID(),
		SHA:         d.GetSHA(),
		Ref:         d.GetRef(),
		Environment: d.GetEnvironment(),
		State:       state,
		Creator:     d.GetCreator().GetLogin(),
		CreatedAt:   d.GetCreatedAt().Time,
	}
	if dep.SHA == "" {
		return dep, "", fmt.Errorf("read deployment %d of %s: it names no sha", dep.ID, r)
	}
	rc, _, err := x.gh.Repositories.GetCommit(ctx, r.owner, r.name, dep.SHA, &gh.ListOptions{PerPage: 1})
	if err != nil {
		return dep, "", apiErr(fmt.Sprintf("get commit %s of %s", short(dep.SHA), r), err)
	}
	dep.Author = rc.GetAuthor().GetLogin()
	if dep.Author == "" {
		dep.Author = rc.GetCommit().GetAuthor().GetName()
	}
	dep.Message = firstLine(rc.GetCommit().GetMessage())
	dep.CommittedAt = rc.GetCommit().GetAuthor().GetDate().Time
	dep.CommitURL = rc.GetHTMLURL()
	return dep, rc.GetCommit().GetTree().GetSHA(), nil
}

// webURL returns the repository's web page: its html_url when known, else
// one derived from the client's API base URL (api.github.com -> github.com,
// https://HOST/api/v3/ -> https://HOST/).
func (x *Rollback) webURL(r repoRef, repo *gh.Repository) string {
	if u := repo.GetHTMLURL(); u != "" {
		return strings.TrimSuffix(u, "/")
	}
	base := x.webBase
	if base == "" {
		base = webBaseOf(x.gh.BaseURL)
	}
	return strings.TrimSuffix(base, "/") + "/" + r.String()
}

func webBaseOf(api *url.URL) string {
	if api == nil || api.Host == "api.github.com" {
		return "https://github.com"
	}
	u := *api
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v3")
	u.Host = strings.TrimPrefix(u.Host, "api.")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return strings.TrimSuffix(u.String(), "/")
}

func compareURL(web, base, head string) string {
	if base == "" || head == "" {
		return ""
	}
	return web + "/compare/" + base + "..." + head
}

// DefaultWindow is how far before the spike SuspectDeploys and Plan look
// for suspect deploys by default.
const DefaultWindow = 60 * time.Minute

// maxSuspects bounds the deploys SuspectDeploys describes: each costs three
// API calls, the lookup runs once at intake within a few seconds, and the
// incident keeps five (store.MaxSuspects).
const maxSuspects = 5

// SuspectDeploys lists the suspect deploys of an alarm to environment,
// newest first: those created, or that became live, from window before the
// alarm's spike began up to its state change (window <= 0 means
// DefaultWindow; see the package comment for when the spike began). Plan
// never rolls back to them. Each comes with its SHA, creator, commit author
// and message, the pull request that brought the commit, its latest status
// and a compare link to the SHA deployed before it. At most 5 are
// returned (what an incident keeps).
func (x *Rollback) SuspectDeploys(ctx context.Context, a *alarm.Alarm, repo, environment string, window time.Duration) ([]Deploy, error) {
	w, err := windowOf(a, window)
	if err != nil {
		return nil, fmt.Errorf("find suspect deploys of %s: %w", repo, err)
	}
	r, err := parseRepo(repo)
	if err != nil {
		return nil, fmt.Errorf("find suspect deploys: %w", err)
	}
	if environment == "" {
		return nil, fmt.Errorf("find suspect deploys of %s: environment is required: %w", r, remediations.ErrInvalid)
	}
	if x.gh == nil {
		return nil, errNoClient
	}
	repoInfo, _, err := x.gh.Repositories.Get(ctx, r.owner, r.name)
	if err != nil {
		return nil, apiErr("get repository "+r.String(), err)
	}
	web := x.webURL(r, repoInfo)

	// Collect the suspects, then keep going until an older deploy that is
	// not one, of a different SHA, gives the oldest suspect its
	// predecessor. Deploys created after the alarm need no status lookup.
	var in, older []*gh.Deployment
	states := map[int64]string{}
	_, err = x.scan(ctx, r, environment, 100, func(d *gh.Deployment) (bool, error) {
		if d.GetCreatedAt().After(w.fired) {
			return false, nil
		}
		st, err := x.status(ctx, r, d)
		if err != nil {
			return false, err
		}
		switch w.place(d.GetCreatedAt().Time, st.liveAt) {
		case afterAlarm:
			return false, nil
		case suspect:
			if len(in) == maxSuspects {
				older = append(older, d)
				return true, nil
			}
			in = append(in, d)
			states[d.GetID()] = st.latest
			return false, nil
		}
		older = append(older, d)
		return len(in) == 0 || d.GetSHA() != in[len(in)-1].GetSHA(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("find suspect deploys: %w", err)
	}
	all := append(append([]*gh.Deployment{}, in...), older...)
	out := make([]Deploy, 0, len(in))
	for i, d := range in {
		dep, _, err := x.describe(ctx, r, d, states[d.GetID()])
		if err != nil {
			return nil, fmt.Errorf("find suspect deploys: %w", err)
		}
		for _, p := range all[i+1:] {
			if p.GetSHA() != dep.SHA {
				dep.PreviousSHA = p.GetSHA()
				dep.CompareURL = compareURL(web, dep.PreviousSHA, dep.SHA)
				break
			}
		}
		if err := x.addPR(ctx, r, &dep); err != nil {
			return nil, fmt.Errorf("find suspect deploys: %w", err)
		}
		out = append(out, dep)
	}
	return out, nil
}

// addPR names the pull request that brought dep's commit, preferring a
// merged one.
func (x *Rollback) addPR(ctx context.Context, r repoRef, dep *Deploy) error {
	prs, _, err := x.gh.PullRequests.ListPullRequestsWithCommit(ctx, r.owner, r.name, dep.SHA, &gh.ListOptions{PerPage: 10})
	if err != nil {
		return apiErr(fmt.Sprintf("list pull requests of commit %s of %s", short(dep.SHA), r), err)
	}
	var pick *gh.PullRequest
	for _, pr := range prs {
		if pr == nil {
			continue
		}
		if pick == nil || (!pick.GetMergedAt().After(time.Time{}) && pr.GetMergedAt().After(time.Time{})) {
			pick = pr
		}
	}
	if pick != nil {
		dep.PRNumber, dep.PRTitle, dep.PRURL = pick.GetNumber(), pick.GetTitle(), pick.GetHTMLURL()
	}
	return nil
}

var errNoClient = errors.New("github.rollback: no GitHub client configured")

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
