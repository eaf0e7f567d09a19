package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/remediations"
)

// ErrHeadMoved is returned (wrapped, with remediations.ErrInvalid) when a
// revert pull request cannot be planned because the branch has commits
// after the deployed SHA: restoring the good tree on top would undo them
// too. Strategy redeploy is the way out.
var ErrHeadMoved = errors.New("branch moved past the deployed sha")

func (x *Rollback) planRevert(ctx context.Context, r repoRef, repo *gh.Repository, p remediations.Params, d *planData) error {
	d.Branch = p.String("branch")
	if d.Branch == "" {
		d.Branch = repo.GetDefaultBranch()
	}
	if d.Branch == "" {
		return fmt.Errorf("repository %s reports no default branch, set branch: %w", r, remediations.ErrInvalid)
	}
	head, err := x.branchHead(ctx, r, d.Branch)
	if err != nil {
		return err
	}
	if head != d.Bad.SHA {
		return fmt.Errorf("cannot open a revert pull request: branch %s is at %s, not at the deployed %s, so restoring the tree of %s would also undo the commits pushed since; use strategy redeploy instead: %w: %w",
			d.Branch, short(head), short(d.Bad.SHA), short(d.Good.SHA), ErrHeadMoved, remediations.ErrInvalid)
	}
	if d.GoodTree == "" {
		return fmt.Errorf("commit %s of %s names no tree: %w", short(d.Good.SHA), r, remediations.ErrInvalid)
	}
	d.RevertBranch = "medic/revert-" + short(d.Bad.SHA)
	d.AutoMerge = p.Bool("auto_merge", false)
	if d.AutoMerge {
		switch {
		case repo.GetAllowSquashMerge():
			d.MergeMethod = "SQUASH"
		case repo.GetAllowMergeCommit():
			d.MergeMethod = "MERGE"
		case repo.GetAllowRebaseMerge():
			d.MergeMethod = "REBASE"
		}
		if repo.AllowAutoMerge != nil && !*repo.AllowAutoMerge {
			d.Warnings = append(d.Warnings, "auto-merge is disabled in the repository settings, the pull request must be merged by hand")
		}
	}
	return nil
}

func (x *Rollback) branchHead(ctx context.Context, r repoRef, branch string) (string, error) {
	ref, _, err := x.gh.Git.GetRef(ctx, r.owner, r.name, "heads/"+branch)
	if err != nil {
		return "", apiErr(fmt.Sprintf("get branch %s of %s", branch, r), err)
	}
	return ref.GetObject().GetSHA(), nil
}

// applyRevert commits the good tree on top of the (still bad) branch head
// on a new branch and opens a pull request from it.
func (x *Rollback) applyRevert(ctx context.Context, r repoRef, d planData, res *resultData) (string, error) {
	head, err := x.branchHead(ctx, r, d.Branch)
	if err != nil {
		return "", err
	}
	if head != d.Bad.SHA {
		return "", fmt.Errorf("branch %s moved to %s since the plan (made at %s): %w", d.Branch, short(head), short(d.Bad.SHA), remediations.ErrStalePlan)
	}
	good, _, err := x.gh.Git.GetCommit(ctx, r.owner, r.name, d.Good.SHA)
	if err != nil {
		return "", apiErr(fmt.Sprintf("get commit %s of %s", short(d.Good.SHA), r), err)
	}
	tree := good.GetTree().GetSHA()
	if tree == "" {
		return "", fmt.Errorf("commit %s of %s names no tree: %w", short(d.Good.SHA), r, remediations.ErrInvalid)
	}
	msg := revertMessage(d)
	commit, _, err := x.gh.Git.CreateCommit(ctx, r.owner, r.name, &gh.Commit{
		Message: gh.String(msg),
		Tree:    &gh.Tree{SHA: gh.String(tree)},
		Parents: []*gh.Commit{{SHA: gh.String(head)}},
	}, nil)
	if err != nil {
		return "", apiErr(fmt.Sprintf("create revert commit in %s", r), err)
	}
	if err := x.createBranch(ctx, r, d.RevertBranch, commit.GetSHA(), tree, head); err != nil {
		return "", err
	}
	pr, err := x.openPR(ctx, r, d, msg)
	if err != nil {
		return "", err
	}
	res.PRNumber, res.PRURL, res.RevertBranch = pr.GetNumber(), pr.GetHTMLURL(), d.RevertBranch
	summary := fmt.Sprintf("%s %s: opened pull request #%d %s <- %s restoring %s (reverting %s)",
		d.Repo, d.Environment, pr.GetNumber(), d.Branch, d.RevertBranch, short(d.Good.SHA), short(d.Bad.SHA))
	if d.AutoMerge {
		res.AutoMerge = x.enableAutoMerge(ctx, r, pr, d.MergeMethod)
		summary += "; auto-merge " + res.AutoMerge
	}
	return summary, nil
}

// createBranch points a new branch at commit. A branch left by an earlier
// attempt of the same plan (same tree on the same parent) is reused.
func (x *Rollback) createBranch(ctx context.Context, r repoRef, branch, commit, tree, parent string) error {
	_, _, err := x.gh.Git.CreateRef(ctx, r.owner, r.name, &gh.Reference{
		Ref:    gh.String("refs/heads/" + branch),
		Object: &gh.GitObject{SHA: gh.String(commit)},
	})
	if err == nil {
		return nil
	}
	cerr := apiErr(fmt.Sprintf("create branch %s in %s", branch, r), err)
	if !errors.Is(cerr, remediations.ErrInvalid) {
		return cerr
	}
	existing, herr := x.branchHead(ctx, r, branch)
	if herr != nil {
		return cerr
	}
	c, _, gerr := x.gh.Git.GetCommit(ctx, r.owner, r.name, existing)
	if gerr != nil || c.GetTree().GetSHA() != tree || len(c.Parents) != 1 || c.Parents[0].GetSHA() != parent {
		return fmt.Errorf("%w (branch %s already exists with other content: delete it or roll back another way)", cerr, branch)
	}
	return nil
}

// openPR opens the revert pull request, or returns the open one an earlier
// attempt of the same plan left.
func (x *Rollback) openPR(ctx context.Context, r repoRef, d planData, msg string) (*gh.PullRequest, error) {
	title, body, _ := strings.Cut(msg, "\n\n")
	body += "\n\nOpened by medic. Merging it deploys the tree of " + d.Good.SHA + " through the usual pipeline."
	pr, _, err := x.gh.PullRequests.Create(ctx, r.owner, r.name, &gh.NewPullRequest{
		Title: gh.String(title),
		Head:  gh.String(d.RevertBranch),
		Base:  gh.String(d.Branch),
		Body:  gh.String(body),
	})
	if err == nil {
		return pr, nil
	}
	cerr := apiErr(fmt.Sprintf("open pull request %s <- %s in %s", d.Branch, d.RevertBranch, r), err)
	if !errors.Is(cerr, remediations.ErrInvalid) {
		return nil, cerr
	}
	open, _, lerr := x.gh.PullRequests.List(ctx, r.owner, r.name, &gh.PullRequestListOptions{
		State: "open", Head: r.owner + ":" + d.RevertBranch, Base: d.Branch,
	})
	if lerr != nil || len(open) == 0 || open[0] == nil {
		return nil, cerr
	}
	return open[0], nil
}

func revertMessage(d planData) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Roll back %s to %s (revert %s)\n\n", d.Environment, short(d.Good.SHA), short(d.Bad.SHA))
	fmt.Fprintf(&b, "Restores the tree of %s (%q by %s), undoing every change since,\n", d.Good.SHA, d.Good.Message, orNone(d.Good.Author))
	fmt.Fprintf(&b, "up to the deployed %s (%q by %s).\n", d.Bad.SHA, d.Bad.Message, orNone(d.Bad.Author))
	if d.CompareURL != "" {
		fmt.Fprintf(&b, "\nReverted changes: %s\n", d.CompareURL)
	}
	if d.Alarm != "" {
		fmt.Fprintf(&b, "Alarm: %s\n", d.Alarm)
	}
	if d.Incident != "" {
		fmt.Fprintf(&b, "Incident: %s\n", d.Incident)
	}
	return b.String()
}

// enableAutoMerge turns on auto-merge for pr with GraphQL's
// enablePullRequestAutoMerge (REST has no such call), through the same
// authenticated client. It reports "enabled", or why not: the pull request
// stands either way, so a failure here is reported, not returned.
func (x *Rollback) enableAutoMerge(ctx context.Context, r repoRef, pr *gh.PullRequest, method string) string {
	manual := fmt.Sprintf("; merge pull request #%d by hand", pr.GetNumber())
	if pr.GetNodeID() == "" {
		return "not enabled: GitHub returned no node id for the pull request" + manual
	}
	const mutation = `mutation($id: ID!, $method: PullRequestMergeMethod) {
  enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method}) {
    pullRequest { number }
  }
}`
	vars := map[string]any{"id": pr.GetNodeID()}
	if method != "" {
		vars["method"] = method
	}
	req, err := x.gh.NewRequest("POST", graphqlURL(x.gh), map[string]any{"query": mutation, "variables": vars})
	if err != nil {
		return "not enabled: " + err.Error() + manual
	}
	var out struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
		Data json.RawMessage `json:"data"`
	}
	if _, err := x.gh.Do(ctx, req, &out); err != nil {
		return "not enabled: " + apiErr(fmt.Sprintf("enable auto-merge of pull request #%d in %s", pr.GetNumber(), r), err).Error() + manual
	}
	if len(out.Errors) > 0 {
		msgs := make([]string, len(out.Errors))
		for i, e := range out.Errors {
			msgs[i] = e.Message
		}
		msg := strings.Join(msgs, "; ")
		// GitHub refuses auto-merge when there is nothing left to wait for
		// (the pull request is "in clean status", or "unstable" with only
		// optional checks pending): merge it now instead, as auto-merge
		// would. Branch protection still gates the merge server-side.
		if strings.Contains(msg, "clean status") || strings.Contains(msg, "unstable status") {
			_, _, err := x.gh.PullRequests.Merge(ctx, r.owner, r.name, pr.GetNumber(), "", &gh.PullRequestOptions{
				SHA: pr.GetHead().GetSHA(), MergeMethod: strings.ToLower(method),
			})
			if err == nil {
				return "not needed: nothing to wait for, so the pull request was merged at once"
			}
			msg += "; merging at once failed too: " + apiErr(fmt.Sprintf("merge pull request #%d of %s", pr.GetNumber(), r), err).Error()
		}
		return "not enabled: " + msg + manual
	}
	return "enabled"
}

// graphqlURL is the GraphQL endpoint next to the client's REST base URL:
// https://api.github.com/graphql, or https://HOST/api/graphql for GitHub
// Enterprise Server (REST at /api/v3/).
func graphqlURL(c *gh.Client) string {
	u := *c.BaseURL
	if p, ok := strings.CutSuffix(u.Path, "/api/v3/"); ok {
		u.Path = p + "/api/graphql"
		return u.String()
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/graphql"
	return u.String()
}

// undoRevert closes a still-open revert pull request and deletes its
// branch. A merged one is past undoing here.
func (x *Rollback) undoRevert(ctx context.Context, r repoRef, d resultData) (*remediations.Result, error) {
	op := fmt.Sprintf("undo revert pull request #%d of %s", d.PRNumber, r)
	if d.PRNumber == 0 {
		return nil, fmt.Errorf("%s: result names no pull request: %w", op, remediations.ErrInvalid)
	}
	pr, _, err := x.gh.PullRequests.Get(ctx, r.owner, r.name, d.PRNumber)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, apiErr(fmt.Sprintf("get pull request #%d of %s", d.PRNumber, r), err))
	}
	if pr.GetMerged() {
		return nil, fmt.Errorf("%s: it was merged, so %s is on its way out already; revert the pull request, or redeploy %s: %w",
			op, short(d.From), short(d.From), remediations.ErrNotReversible)
	}
	summary := fmt.Sprintf("%s: pull request #%d", d.Repo, d.PRNumber)
	if pr.GetState() == "open" {
		if _, _, err := x.gh.PullRequests.Edit(ctx, r.owner, r.name, d.PRNumber, &gh.PullRequest{State: gh.String("closed")}); err != nil {
			return nil, fmt.Errorf("%s: %w", op, apiErr(fmt.Sprintf("close pull request #%d of %s", d.PRNumber, r), err))
		}
		summary += " closed"
	} else {
		summary += " was already closed"
	}
	if d.RevertBranch != "" {
		_, err := x.gh.Git.DeleteRef(ctx, r.owner, r.name, "heads/"+d.RevertBranch)
		if err := apiErr(fmt.Sprintf("delete branch %s of %s", d.RevertBranch, r), err); err != nil &&
			!errors.Is(err, remediations.ErrInvalid) && !errors.Is(err, remediations.ErrNotFound) {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		summary += " and branch " + d.RevertBranch + " deleted"
	}
	summary += "; nothing was deployed"
	out := d
	out.From, out.To = d.To, d.From
	data, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%s: encode result: %w", op, err)
	}
	return &remediations.Result{
		Action:  ActionName,
		Target:  d.target(),
		Summary: summary,
		Data:    data,
	}, nil
}
