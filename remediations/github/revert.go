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
// too. Strategy redeploy is the way out. Undo of a merged revert returns it
// too (with remediations.ErrStalePlan) when the branch moved past the
// revert's merge commit.
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
	if d.Branch == "" || d.RevertBranch == "" {
		return "", fmt.Errorf("plan data names no branch or revert branch: %w", remediations.ErrInvalid)
	}
	head, err := x.branchHead(ctx, r, d.Branch)
	if err != nil {
		return "", err
	}
	if head != d.Bad.SHA {
		return "", fmt.Errorf("branch %s moved to %s since the plan (made at %s): %w", d.Branch, short(head), short(d.Bad.SHA), remediations.ErrStalePlan)
	}
	pr, autoMerge, err := x.openTreePR(ctx, r, treePR{
		Base: d.Branch, Parent: head, Branch: d.RevertBranch, TreeOf: d.Good.SHA,
		Message:   revertMessage(d),
		Note:      "Opened by medic. Merging it deploys the tree of " + d.Good.SHA + " through the usual pipeline.",
		AutoMerge: d.AutoMerge, MergeMethod: d.MergeMethod,
	})
	if err != nil {
		return "", err
	}
	res.PRNumber, res.PRURL, res.RevertBranch, res.Branch = pr.GetNumber(), pr.GetHTMLURL(), d.RevertBranch, d.Branch
	res.AutoMergeRequested, res.MergeMethod = d.AutoMerge, d.MergeMethod
	summary := fmt.Sprintf("%s %s: opened pull request #%d %s <- %s restoring %s (reverting %s)",
		d.Repo, d.Environment, pr.GetNumber(), d.Branch, d.RevertBranch, short(d.Good.SHA), short(d.Bad.SHA))
	if d.AutoMerge {
		res.AutoMerge = autoMerge
		summary += "; auto-merge " + autoMerge
	}
	return summary, nil
}

// treePR is a pull request into Base that gives it the tree of commit
// TreeOf, through one commit on top of Parent (Base's head) on Branch. It
// is how revert-pr rolls back (the good SHA's tree on top of the bad one)
// and how its Undo rolls forward (the bad SHA's tree on top of the
// revert's merge commit).
type treePR struct {
	Base, Parent, Branch, TreeOf string
	// Message is the commit message; its first line titles the pull
	// request, the rest followed by Note is its body.
	Message, Note string
	AutoMerge     bool
	// MergeMethod is the GraphQL merge method for auto-merge, "" for the
	// repository's default.
	MergeMethod string
}

// openTreePR commits the tree of p.TreeOf on top of p.Parent, points the
// new branch p.Branch at it and opens a pull request into p.Base, enabling
// auto-merge when asked. The caller has checked that p.Base is at
// p.Parent. A retry reuses the branch and open pull request an earlier
// attempt left. It returns the pull request and, when auto-merge was
// asked for, what became of it (see enableAutoMerge).
func (x *Rollback) openTreePR(ctx context.Context, r repoRef, p treePR) (*gh.PullRequest, string, error) {
	tree, err := x.treeOf(ctx, r, p.TreeOf)
	if err != nil {
		return nil, "", err
	}
	commit, _, err := x.gh.Git.CreateCommit(ctx, r.owner, r.name, &gh.Commit{
		Message: gh.String(p.Message),
		Tree:    &gh.Tree{SHA: gh.String(tree)},
		Parents: []*gh.Commit{{SHA: gh.String(p.Parent)}},
	}, nil)
	if err != nil {
		return nil, "", apiErr(fmt.Sprintf("create commit for branch %s in %s", p.Branch, r), err)
	}
	if err := x.createBranch(ctx, r, p.Branch, commit.GetSHA(), tree, p.Parent); err != nil {
		return nil, "", err
	}
	pr, err := x.openPR(ctx, r, p)
	if err != nil {
		return nil, "", err
	}
	var autoMerge string
	if p.AutoMerge {
		autoMerge = x.enableAutoMerge(ctx, r, pr, p.MergeMethod)
	}
	return pr, autoMerge, nil
}

// treeOf returns the tree of commit sha.
func (x *Rollback) treeOf(ctx context.Context, r repoRef, sha string) (string, error) {
	c, _, err := x.gh.Git.GetCommit(ctx, r.owner, r.name, sha)
	if err != nil {
		return "", apiErr(fmt.Sprintf("get commit %s of %s", short(sha), r), err)
	}
	tree := c.GetTree().GetSHA()
	if tree == "" {
		return "", fmt.Errorf("commit %s of %s names no tree: %w", short(sha), r, remediations.ErrInvalid)
	}
	return tree, nil
}

// createBranch points a new branch at commit. A branch left by an earlier
// attempt of the same change (same tree on the same parent) is reused.
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

// openPR opens the pull request p.Branch -> p.Base, or returns the open one
// an earlier attempt left.
func (x *Rollback) openPR(ctx context.Context, r repoRef, p treePR) (*gh.PullRequest, error) {
	title, body, _ := strings.Cut(p.Message, "\n\n")
	body += "\n\n" + p.Note
	pr, _, err := x.gh.PullRequests.Create(ctx, r.owner, r.name, &gh.NewPullRequest{
		Title: gh.String(title),
		Head:  gh.String(p.Branch),
		Base:  gh.String(p.Base),
		Body:  gh.String(body),
	})
	if err == nil {
		return pr, nil
	}
	cerr := apiErr(fmt.Sprintf("open pull request %s <- %s in %s", p.Base, p.Branch, r), err)
	if !errors.Is(cerr, remediations.ErrInvalid) {
		return nil, cerr
	}
	open, _, lerr := x.gh.PullRequests.List(ctx, r.owner, r.name, &gh.PullRequestListOptions{
		State: "open", Head: r.owner + ":" + p.Branch, Base: p.Base,
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
	writeTrailer(&b, "Reverted changes", d.CompareURL, d.Alarm, d.Incident)
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
// branch; a merged one is undone by a roll-forward pull request (see
// rollForward).
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
		return x.rollForward(ctx, r, d, pr)
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

// rollForward undoes a merged revert pull request: it opens a pull request
// whose one commit has the tree of the SHA rolled back from (d.From) on top
// of the branch head, with the same auto-merge option as the revert. The
// head must still be the revert's merge commit; if commits landed since,
// restoring the old tree would silently undo them too, so it refuses with
// ErrHeadMoved (and ErrStalePlan) naming the new head.
func (x *Rollback) rollForward(ctx context.Context, r repoRef, d resultData, pr *gh.PullRequest) (*remediations.Result, error) {
	op := fmt.Sprintf("roll %s %s forward from %s to %s (undo merged revert pull request #%d)", r, d.Environment, short(d.To), short(d.From), d.PRNumber)
	base := d.Branch
	if base == "" { // a result recorded before results named the branch
		base = pr.GetBase().GetRef()
	}
	merge := pr.GetMergeCommitSHA()
	if base == "" || merge == "" {
		return nil, fmt.Errorf("%s: GitHub names no base branch or merge commit for the merged pull request; redeploy %s with strategy redeploy instead: %w",
			op, short(d.From), remediations.ErrNotReversible)
	}
	head, err := x.branchHead(ctx, r, base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if head != merge {
		return nil, fmt.Errorf("%s: branch %s is at %s%s, not at the revert's merge commit %s, so restoring the tree of %s on top would also undo the commits pushed since; revert pull request #%d on GitHub instead (its Revert button undoes only the revert), or redeploy %s with strategy redeploy: %w: %w",
			op, base, short(head), x.commitNote(ctx, r, head), short(merge), short(d.From), d.PRNumber, short(d.From), ErrHeadMoved, remediations.ErrStalePlan)
	}
	branch := "medic/roll-forward-" + short(d.From)
	autoMerge := d.AutoMergeRequested || d.AutoMerge != "" // AutoMerge is set only when it was asked for
	npr, outcome, err := x.openTreePR(ctx, r, treePR{
		Base: base, Parent: head, Branch: branch, TreeOf: d.From,
		Message: rollForwardMessage(d, merge),
		Note: fmt.Sprintf("Opened by medic to undo the rollback of pull request #%d. Merging it deploys the tree of %s through the usual pipeline.",
			d.PRNumber, d.From),
		AutoMerge: autoMerge, MergeMethod: d.MergeMethod,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out := d
	out.From, out.To = d.To, d.From
	out.Branch, out.UndoesPR = base, d.PRNumber
	out.PRNumber, out.PRURL, out.RevertBranch = npr.GetNumber(), npr.GetHTMLURL(), branch
	out.AutoMergeRequested, out.AutoMerge = autoMerge, outcome
	summary := fmt.Sprintf("%s %s: revert pull request #%d was merged, so opened pull request #%d %s <- %s restoring %s (roll forward from %s)",
		d.Repo, d.Environment, d.PRNumber, npr.GetNumber(), base, branch, short(d.From), short(d.To))
	if autoMerge {
		summary += "; auto-merge " + outcome
	}
	data, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%s: encode result: %w", op, err)
	}
	return &remediations.Result{
		Action:  ActionName,
		Target:  d.target(),
		Summary: summary,
		Changes: []remediations.Change{{Resource: "github:" + d.Repo + "@" + base,
			Field: "tree (pull request from " + branch + ")", From: d.To, To: d.From}},
		Data: data,
	}, nil
}

// commitNote describes commit sha for an error, e.g. ` ("Tweak copy" by
// Dave)`, or "" when it cannot be read.
func (x *Rollback) commitNote(ctx context.Context, r repoRef, sha string) string {
	c, _, err := x.gh.Git.GetCommit(ctx, r.owner, r.name, sha)
	if err != nil || c.GetMessage() == "" {
		return ""
	}
	return fmt.Sprintf(" (%q by %s)", firstLine(c.GetMessage()), orNone(c.GetAuthor().GetName()))
}

func rollForwardMessage(d resultData, merge string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Roll forward %s to %s (undo revert #%d)\n\n", d.Environment, short(d.From), d.PRNumber)
	fmt.Fprintf(&b, "Restores the tree of %s, which medic's revert pull request #%d\n", d.From, d.PRNumber)
	fmt.Fprintf(&b, "(merged as %s) rolled back to %s.\n", merge, d.To)
	writeTrailer(&b, "Restored changes", d.CompareURL, d.Alarm, d.Incident)
	return b.String()
}

// writeTrailer ends a commit message medic writes with the compare link
// (under label) and the alarm and incident it answers, each when known.
func writeTrailer(b *strings.Builder, label, compareURL, alarm, incident string) {
	if compareURL != "" {
		fmt.Fprintf(b, "\n%s: %s\n", label, compareURL)
	}
	if alarm != "" {
		fmt.Fprintf(b, "Alarm: %s\n", alarm)
	}
	if incident != "" {
		fmt.Fprintf(b, "Incident: %s\n", incident)
	}
}
