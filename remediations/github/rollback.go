package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// ActionName is the name policies use for the rollback action.
const ActionName = "github.rollback"

// The rollback strategies.
const (
	StrategyRedeploy = "redeploy"
	StrategyWorkflow = "workflow"
	StrategyRevertPR = "revert-pr"
)

// defaultMaxScan bounds how many deployments a plan looks through.
const defaultMaxScan = 1000

// Rollback is the github.rollback action. Build it with New.
type Rollback struct {
	gh      *gh.Client
	now     func() time.Time
	maxScan int
	webBase string
}

var (
	_ remediations.Action = (*Rollback)(nil)
	_ remediations.Undoer = (*Rollback)(nil)
)

// Option configures a Rollback.
type Option func(*Rollback)

// WithClock replaces time.Now (for the ages a plan shows).
func WithClock(now func() time.Time) Option {
	return func(x *Rollback) {
		if now != nil {
			x.now = now
		}
	}
}

// WithMaxScan bounds how many deployments a plan looks through to find the
// last good one (default 1000).
func WithMaxScan(n int) Option {
	return func(x *Rollback) {
		if n > 0 {
			x.maxScan = n
		}
	}
}

// WithWebURL sets the web base URL (e.g. https://github.example.com) for
// compare links when GitHub does not report the repository's html_url.
func WithWebURL(u string) Option {
	return func(x *Rollback) { x.webBase = u }
}

// New returns the github.rollback action using client (see NewClient). A
// nil client is fine for Name and Schema; Plan, Apply and Undo then fail.
func New(client *gh.Client, opts ...Option) *Rollback {
	x := &Rollback{gh: client, now: time.Now, maxScan: defaultMaxScan}
	for _, o := range opts {
		o(x)
	}
	return x
}

// Name returns "github.rollback".
func (x *Rollback) Name() string { return ActionName }

// Schema returns RollbackSchema().
func (x *Rollback) Schema() remediations.Schema { return RollbackSchema() }

// planData is the state a plan was made from and what Apply will do.
type planData struct {
	Repo        string `json:"repo"`
	Environment string `json:"environment"`
	Strategy    string `json:"strategy"`
	Incident    string `json:"incident,omitempty"`
	Alarm       string `json:"alarm,omitempty"`
	// NewestID and NewestSHA are the newest deployment to the environment
	// when planning; Apply refuses if a newer one appeared.
	NewestID   int64    `json:"newest_deployment_id"`
	NewestSHA  string   `json:"newest_sha"`
	Bad        Deploy   `json:"bad"`
	Good       Deploy   `json:"good"`
	CompareURL string   `json:"compare_url"`
	Warnings   []string `json:"warnings,omitempty"`
	// SpikeAt is when the alarm's spike is taken to begin, FiredAt its
	// state change (both zero for a plan made without an alarm time).
	SpikeAt time.Time `json:"spike_at,omitzero"`
	FiredAt time.Time `json:"fired_at,omitzero"`

	// Strategy workflow.
	Workflow string            `json:"workflow,omitempty"`
	Ref      string            `json:"ref,omitempty"`
	SHAInput string            `json:"sha_input,omitempty"`
	Inputs   map[string]string `json:"inputs,omitempty"`

	// Strategy revert-pr.
	Branch       string `json:"branch,omitempty"`
	RevertBranch string `json:"revert_branch,omitempty"`
	GoodTree     string `json:"good_tree,omitempty"`
	AutoMerge    bool   `json:"auto_merge,omitempty"`
	// MergeMethod is the GraphQL merge method for auto-merge (MERGE,
	// SQUASH or REBASE), "" for the repository's default.
	MergeMethod string `json:"merge_method,omitempty"`
}

func (d planData) target() string { return "github:" + d.Repo + "/" + d.Environment }

// change is what the plan changes: the deployed SHA, or for revert-pr the
// branch's content, through a pull request.
func (d planData) change() remediations.Change {
	switch d.Strategy {
	case StrategyRevertPR:
		return remediations.Change{Resource: "github:" + d.Repo + "@" + d.Branch,
			Field: "tree (pull request from " + d.RevertBranch + ")", From: d.Bad.SHA, To: d.Good.SHA}
	case StrategyWorkflow:
		return remediations.Change{Resource: d.target(), Field: "deployed sha (workflow " + d.Workflow + ")", From: d.Bad.SHA, To: d.Good.SHA}
	}
	return remediations.Change{Resource: d.target(), Field: "deployed sha", From: d.Bad.SHA, To: d.Good.SHA}
}

// resultData is what Apply did, for Undo.
type resultData struct {
	Repo        string `json:"repo"`
	Environment string `json:"environment"`
	Strategy    string `json:"strategy"`
	Incident    string `json:"incident,omitempty"`
	Alarm       string `json:"alarm,omitempty"`
	// From is the SHA rolled back (the bad one), To the SHA now deployed.
	From string `json:"from"`
	To   string `json:"to"`
	// NewestID is the newest deployment to the environment right after
	// Apply (the one medic created, for redeploy); Undo refuses when a
	// deployment of another SHA came after it.
	NewestID     int64             `json:"newest_deployment_id"`
	DeploymentID int64             `json:"deployment_id,omitempty"`
	Workflow     string            `json:"workflow,omitempty"`
	Ref          string            `json:"ref,omitempty"`
	SHAInput     string            `json:"sha_input,omitempty"`
	Inputs       map[string]string `json:"inputs,omitempty"`
	CompareURL   string            `json:"compare_url,omitempty"`

	// Strategy revert-pr. PRNumber, PRURL and RevertBranch name the pull
	// request Apply opened into Branch, or, in the result of an Undo that
	// rolled forward, the roll-forward pull request (UndoesPR then names
	// the merged revert pull request it undoes).
	PRNumber     int    `json:"pr_number,omitempty"`
	PRURL        string `json:"pr_url,omitempty"`
	RevertBranch string `json:"revert_branch,omitempty"`
	Branch       string `json:"branch,omitempty"`
	UndoesPR     int    `json:"undoes_pr,omitempty"`
	// AutoMerge says what became of an auto-merge request: "enabled", or
	// why it was not and must be done by hand.
	AutoMerge string `json:"auto_merge,omitempty"`
	// AutoMergeRequested and MergeMethod repeat the plan's auto-merge
	// option, for the roll-forward pull request of an Undo.
	AutoMergeRequested bool   `json:"auto_merge_requested,omitempty"`
	MergeMethod        string `json:"merge_method,omitempty"`
}

func (d resultData) target() string { return "github:" + d.Repo + "/" + d.Environment }

// found is what a scan of the deployments found.
type found struct {
	newest      *gh.Deployment
	newestState string
	bad         *gh.Deployment // newest deployment whose latest status is success
	good        *gh.Deployment // newest earlier successful deployment before the window
	goodState   string
	skipped     []string      // SHAs medic rolled back from, never targets
	suspects    []seenDeploy  // first deployment seen of each suspect SHA, newest first
	later       []laterDeploy // deployments after the alarm, newest first
	scanned     int
}

// find scans the deployments to env for the live (bad) one and the
// rollback target (good) before it: the newest older deployment, of a SHA
// other than the live one, that ever reached success (GitHub marks
// superseded deployments inactive, so its latest status is normally
// "inactive"), that was live before w's suspect window and whose SHA is
// not a suspect's. SHAs that an earlier medic rollback moved away from are
// skipped, so a second rollback never returns to them. It also collects
// the suspects and the deployments made after the alarm fired, except
// medic's own for incident. A nil w (no alarm time) knows no suspects.
func (x *Rollback) find(ctx context.Context, r repoRef, env string, w *alarmWindow, incident string) (*found, error) {
	f := &found{}
	skip := map[string]bool{}
	suspectSHA := map[string]bool{}
	n, err := x.scan(ctx, r, env, 100, func(d *gh.Deployment) (bool, error) {
		m := medicOf(d)
		if m != nil && m.Action == "rollback" && m.From != "" && !skip[m.From] {
			skip[m.From] = true
			f.skipped = append(f.skipped, m.From)
		}
		if f.bad != nil && (d.GetSHA() == f.bad.GetSHA() || skip[d.GetSHA()] || suspectSHA[d.GetSHA()]) {
			return false, nil
		}
		st, err := x.status(ctx, r, d)
		if err != nil {
			return false, err
		}
		at := w.place(d.GetCreatedAt().Time, st.liveAt)
		switch at {
		case afterAlarm:
			if m == nil || incident == "" || m.Incident != incident {
				f.later = append(f.later, laterDeploy{d: d, state: st.latest})
			}
		case suspect:
			if !suspectSHA[d.GetSHA()] {
				suspectSHA[d.GetSHA()] = true
				f.suspects = append(f.suspects, seenDeploy{d: d, liveAt: st.liveAt})
			}
		}
		if f.newest == nil {
			f.newest, f.newestState = d, st.latest
		}
		if f.bad == nil {
			if st.latest == "success" {
				f.bad = d
			}
			return false, nil
		}
		if at == beforeWindow && !suspectSHA[d.GetSHA()] && st.succeeded && (st.latest == "success" || st.latest == "inactive") {
			f.good, f.goodState = d, st.latest
			return true, nil
		}
		return false, nil
	})
	f.scanned = n
	return f, err
}

// seenDeploy is a deployment and when it first reported success.
type seenDeploy struct {
	d      *gh.Deployment
	liveAt time.Time
}

// suspectList names the suspects other than the SHAs in except, e.g.
// `1a2b3c4 (deployed 11:15 UTC by dave)`, or `(deployed 10:30 UTC by
// erin, live 11:36 UTC)` for one that became live in the window, joined
// with ", ".
func (f *found) suspectList(w *alarmWindow, except ...string) string {
	var out []string
	for _, sd := range f.suspects {
		d := sd.d
		if slices.Contains(except, d.GetSHA()) || slices.Contains(f.skipped, d.GetSHA()) {
			continue
		}
		s := fmt.Sprintf("%s (deployed %s", short(d.GetSHA()), w.clock(d.GetCreatedAt().Time))
		if by := d.GetCreator().GetLogin(); by != "" {
			s += " by " + by
		}
		if d.GetCreatedAt().Before(w.from) && !sd.liveAt.IsZero() {
			s += ", live " + w.clock(sd.liveAt)
		}
		out = append(out, s+")")
	}
	return strings.Join(out, ", ")
}

// Plan finds the live deploy and the last good one that was live before
// the alarm's spike began and is not a suspect, and says how the chosen
// strategy will return to the good one. When a deploy came after the alarm
// fired (or the alarm's time is unknown) the plan's Hold says so. It
// changes nothing.
func (x *Rollback) Plan(ctx context.Context, a *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	if errs := RollbackSchema().Validate(p, nil); len(errs) > 0 {
		return nil, fmt.Errorf("plan %s: %w: %w", ActionName, remediations.ErrInvalid, errors.Join(errs...))
	}
	if x.gh == nil {
		return nil, errNoClient
	}
	r, err := parseRepo(p.String("repo"))
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", ActionName, err)
	}
	d := planData{
		Repo:        r.String(),
		Environment: p.String("environment"),
		Strategy:    p.String("strategy"),
		Incident:    p.String("incident"),
	}
	if d.Strategy == "" {
		d.Strategy = StrategyRedeploy
	}
	if a != nil {
		d.Alarm = a.Name
		if d.Incident == "" {
			d.Incident = a.DedupKey()
		}
	}
	var w *alarmWindow
	if aw, err := windowOf(a, p.Duration("window", DefaultWindow)); err == nil {
		w = &aw
		d.SpikeAt, d.FiredAt = aw.spike, aw.fired
	}
	op := fmt.Sprintf("plan rollback of %s %s", r, d.Environment)

	repo, _, err := x.gh.Repositories.Get(ctx, r.owner, r.name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, apiErr("get repository "+r.String(), err))
	}
	f, err := x.find(ctx, r, d.Environment, w, d.Incident)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if f.bad == nil {
		return nil, fmt.Errorf("%s: no deployment to %s has a latest status of success (looked at %d): %w",
			op, d.Environment, f.scanned, remediations.ErrNotFound)
	}
	if f.good == nil && w == nil {
		return nil, fmt.Errorf("%s: no earlier successful deployment of a sha other than the live %s (looked at %d deployments), nothing to roll back to: %w",
			op, short(f.bad.GetSHA()), f.scanned, remediations.ErrNotFound)
	}
	if f.good == nil {
		sus := f.suspectList(w)
		if sus == "" {
			sus = "none"
		}
		return nil, fmt.Errorf("%s: no earlier successful deployment of a sha other than the live %s was live before the spike (%s; suspects: %s; looked at %d deployments), nothing to roll back to: %w",
			op, short(f.bad.GetSHA()), w.rule(), sus, f.scanned, remediations.ErrNotFound)
	}
	d.NewestID, d.NewestSHA = f.newest.GetID(), f.newest.GetSHA()
	if d.Bad, _, err = x.describe(ctx, r, f.bad, "success"); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if d.Good, d.GoodTree, err = x.describe(ctx, r, f.good, f.goodState); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	web := x.webURL(r, repo)
	d.CompareURL = compareURL(web, d.Good.SHA, d.Bad.SHA)
	d.Bad.PreviousSHA, d.Bad.CompareURL = d.Good.SHA, d.CompareURL
	if f.newest.GetID() != f.bad.GetID() {
		d.Warnings = append(d.Warnings, fmt.Sprintf("a newer deployment #%d of %s is %s, not live",
			f.newest.GetID(), short(f.newest.GetSHA()), orNone(f.newestState)))
	}
	for _, s := range f.skipped {
		d.Warnings = append(d.Warnings, fmt.Sprintf("skipped %s: medic already rolled back from it", short(s)))
	}
	if w != nil {
		if sus := f.suspectList(w, d.Bad.SHA); sus != "" {
			d.Warnings = append(d.Warnings, fmt.Sprintf("suspects skipped: %s (%s)", sus, w.rule()))
		}
	}
	hold := holdNoAlarmTime
	if w != nil {
		hold = w.holdFor(f.later)
	}

	switch d.Strategy {
	case StrategyWorkflow:
		err = x.planWorkflow(ctx, r, repo, p, &d)
	case StrategyRevertPR:
		err = x.planRevert(ctx, r, repo, p, &d)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("%s: encode plan: %w", op, err)
	}
	summary := x.summary(d)
	if hold != "" {
		summary += "; needs approval: " + hold
	}
	return &remediations.Plan{
		Action:     ActionName,
		Target:     d.target(),
		Summary:    summary,
		Changes:    []remediations.Change{d.change()},
		Reversible: true,
		Hold:       hold,
		Data:       data,
	}, nil
}

func (x *Rollback) planWorkflow(ctx context.Context, r repoRef, repo *gh.Repository, p remediations.Params, d *planData) error {
	d.Workflow = p.String("workflow")
	d.Ref = p.String("ref")
	if d.Ref == "" {
		d.Ref = repo.GetDefaultBranch()
	}
	if d.Ref == "" {
		return fmt.Errorf("repository %s reports no default branch, set ref: %w", r, remediations.ErrInvalid)
	}
	d.SHAInput = p.String("sha_input")
	if d.SHAInput == "" {
		d.SHAInput = "sha"
	}
	if m, ok := p["inputs"].(map[string]any); ok {
		d.Inputs = make(map[string]string, len(m))
		for k, v := range m {
			s, _ := v.(string)
			d.Inputs[k] = s
		}
	}
	if _, clash := d.Inputs[d.SHAInput]; clash {
		return fmt.Errorf("inputs.%s: set by medic to the sha to deploy, remove it from inputs: %w", d.SHAInput, remediations.ErrInvalid)
	}
	// GitHub accepts at most 10 inputs per dispatch.
	if len(d.Inputs)+1 > 10 {
		return fmt.Errorf("inputs: a workflow dispatch takes at most 10 inputs, %d given plus %s: %w", len(d.Inputs), d.SHAInput, remediations.ErrInvalid)
	}
	if _, _, err := x.gh.Actions.GetWorkflowByFileName(ctx, r.owner, r.name, d.Workflow); err != nil {
		return apiErr(fmt.Sprintf("get workflow %s of %s", d.Workflow, r), err)
	}
	return nil
}

// summary is the plan's one line, e.g.
// `acme/shop production: redeploy 1a2b3c4 ("Fix cache" by alice, deployed 3h ago) in place of 9f8e7d6 ("Add search" by bob, live 20m); changes rolled back: https://github.com/acme/shop/compare/1a2b3c4...9f8e7d6`
// (with the full SHAs in the link), so a card showing the plan links the diff.
func (x *Rollback) summary(d planData) string {
	now := x.now()
	good := fmt.Sprintf("%s (%q by %s, deployed %s ago)", short(d.Good.SHA), d.Good.Message, orNone(d.Good.Author), age(now.Sub(d.Good.CreatedAt)))
	bad := fmt.Sprintf("%s (%q by %s, live %s)", short(d.Bad.SHA), d.Bad.Message, orNone(d.Bad.Author), age(now.Sub(d.Bad.CreatedAt)))
	var s string
	switch d.Strategy {
	case StrategyWorkflow:
		s = fmt.Sprintf("%s %s: run workflow %s on %s with %s=%s to deploy %s in place of %s",
			d.Repo, d.Environment, d.Workflow, d.Ref, d.SHAInput, short(d.Good.SHA), good, bad)
	case StrategyRevertPR:
		s = fmt.Sprintf("%s %s: open pull request %s <- %s restoring the tree of %s, reverting %s",
			d.Repo, d.Environment, d.Branch, d.RevertBranch, good, bad)
		if d.AutoMerge {
			s += "; auto-merge requested"
		}
	default:
		s = fmt.Sprintf("%s %s: redeploy %s in place of %s", d.Repo, d.Environment, good, bad)
	}
	if d.CompareURL != "" {
		s += "; changes rolled back: " + d.CompareURL
	}
	for _, w := range d.Warnings {
		s += "; note: " + w
	}
	return s
}

// age renders a duration for people: "45s", "12m", "3h5m", "4d".
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Truncate(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		h := int(d / time.Hour)
		if m := int(d%time.Hour) / int(time.Minute); m > 0 {
			return fmt.Sprintf("%dh%dm", h, m)
		}
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// decodePlan reads and checks a plan's data.
func decodePlan(plan *remediations.Plan) (planData, repoRef, error) {
	var d planData
	if plan == nil || plan.Action != ActionName {
		return d, repoRef{}, fmt.Errorf("apply %s: not a %s plan: %w", ActionName, ActionName, remediations.ErrInvalid)
	}
	if err := json.Unmarshal(plan.Data, &d); err != nil {
		return d, repoRef{}, fmt.Errorf("apply %s: decode plan data: %w: %w", ActionName, remediations.ErrInvalid, err)
	}
	r, err := parseRepo(d.Repo)
	if err != nil {
		return d, r, fmt.Errorf("apply %s: %w", ActionName, err)
	}
	if d.Environment == "" || d.Good.SHA == "" || d.Bad.SHA == "" || d.NewestID == 0 {
		return d, r, fmt.Errorf("apply %s: plan data lacks environment, shas or newest deployment: %w", ActionName, remediations.ErrInvalid)
	}
	if !slices.Contains([]string{StrategyRedeploy, StrategyWorkflow, StrategyRevertPR}, d.Strategy) {
		return d, r, fmt.Errorf("apply %s: unknown strategy %q: %w", ActionName, d.Strategy, remediations.ErrInvalid)
	}
	return d, r, nil
}

// Apply performs the plan after checking that no deployment to the
// environment happened since it was made.
func (x *Rollback) Apply(ctx context.Context, plan *remediations.Plan) (*remediations.Result, error) {
	d, r, err := decodePlan(plan)
	if err != nil {
		return nil, err
	}
	if x.gh == nil {
		return nil, errNoClient
	}
	op := fmt.Sprintf("roll back %s %s from %s to %s", r, d.Environment, short(d.Bad.SHA), short(d.Good.SHA))
	newest, err := x.newest(ctx, r, d.Environment)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if newest == nil {
		return nil, fmt.Errorf("%s: %s has no deployments any more: %w", op, d.Environment, remediations.ErrStalePlan)
	}
	if newest.GetID() != d.NewestID || newest.GetSHA() != d.NewestSHA {
		return nil, fmt.Errorf("%s: a newer deployment #%d of %s by %s happened since the plan (made against #%d of %s): %w",
			op, newest.GetID(), short(newest.GetSHA()), orNone(newest.GetCreator().GetLogin()), d.NewestID, short(d.NewestSHA), remediations.ErrStalePlan)
	}
	if d.NewestID != d.Bad.ID {
		// Deployments newer than the live one were not live when planned
		// (a hotfix still deploying, say); if one is now, a rollback would
		// replace it, not the deploy the plan names.
		live, err := x.liveAbove(ctx, r, d.Environment, d.Bad.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if live != nil {
			return nil, fmt.Errorf("%s: deployment #%d of %s by %s became live since the plan, which was to replace %s: %w",
				op, live.GetID(), short(live.GetSHA()), orNone(live.GetCreator().GetLogin()), short(d.Bad.SHA), remediations.ErrStalePlan)
		}
	}
	res := resultData{
		Repo: d.Repo, Environment: d.Environment, Strategy: d.Strategy,
		Incident: d.Incident, Alarm: d.Alarm, From: d.Bad.SHA, To: d.Good.SHA,
		NewestID: d.NewestID, CompareURL: d.CompareURL,
	}
	var summary string
	switch d.Strategy {
	case StrategyRedeploy:
		dep, err := x.deploy(ctx, r, d.Environment, res.medic("rollback"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		res.DeploymentID, res.NewestID = dep.GetID(), dep.GetID()
		summary = fmt.Sprintf("%s %s: created deployment #%d of %s (was %s)", d.Repo, d.Environment, dep.GetID(), short(d.Good.SHA), short(d.Bad.SHA))
	case StrategyWorkflow:
		res.Workflow, res.Ref, res.SHAInput, res.Inputs = d.Workflow, d.Ref, d.SHAInput, d.Inputs
		if err := x.dispatch(ctx, r, res, d.Good.SHA); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		summary = fmt.Sprintf("%s %s: dispatched workflow %s on %s with %s=%s (was %s)", d.Repo, d.Environment, d.Workflow, d.Ref, d.SHAInput, short(d.Good.SHA), short(d.Bad.SHA))
	case StrategyRevertPR:
		if summary, err = x.applyRevert(ctx, r, d, &res); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	data, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("%s: encode result: %w", op, err)
	}
	return &remediations.Result{
		Action:  ActionName,
		Target:  d.target(),
		Summary: summary,
		Changes: []remediations.Change{d.change()},
		Data:    data,
	}, nil
}

// liveAbove returns the newest deployment to env newer than id whose
// latest status is success, or nil when there is none.
func (x *Rollback) liveAbove(ctx context.Context, r repoRef, env string, id int64) (*gh.Deployment, error) {
	var live *gh.Deployment
	_, err := x.scan(ctx, r, env, 30, func(d *gh.Deployment) (bool, error) {
		if d.GetID() <= id {
			return true, nil
		}
		st, err := x.status(ctx, r, d)
		if err != nil {
			return false, err
		}
		if st.latest == "success" {
			live = d
			return true, nil
		}
		return false, nil
	})
	return live, err
}

// medic returns the payload record of a deployment made for res.
func (res resultData) medic(action string) *medicPayload {
	m := &medicPayload{Action: action, Incident: res.Incident, Alarm: res.Alarm, From: res.From, To: res.To}
	if action == "roll-forward" {
		m.From, m.To = res.To, res.From
	}
	return m
}

// deploy creates a deployment of m.To to env, for the repository's
// `on: deployment` workflow to perform.
func (x *Rollback) deploy(ctx context.Context, r repoRef, env string, m *medicPayload) (*gh.Deployment, error) {
	desc := fmt.Sprintf("medic %s to %s from %s", m.Action, short(m.To), short(m.From))
	if m.Incident != "" {
		desc += " for " + m.Incident
	}
	// GitHub caps descriptions at 140 characters.
	if rs := []rune(desc); len(rs) > 140 {
		desc = string(rs[:139]) + "…"
	}
	dep, _, err := x.gh.Repositories.CreateDeployment(ctx, r.owner, r.name, &gh.DeploymentRequest{
		Ref:              gh.String(m.To),
		Environment:      gh.String(env),
		AutoMerge:        gh.Bool(false),
		RequiredContexts: &[]string{},
		Description:      gh.String(desc),
		Payload:          deployPayload{Medic: m},
	})
	if err != nil {
		return nil, apiErr(fmt.Sprintf("create deployment of %s to %s in %s", short(m.To), env, r), err)
	}
	return dep, nil
}

// dispatch runs res's workflow with sha in its SHA input.
func (x *Rollback) dispatch(ctx context.Context, r repoRef, res resultData, sha string) error {
	inputs := make(map[string]any, len(res.Inputs)+1)
	for k, v := range res.Inputs {
		inputs[k] = v
	}
	inputs[res.SHAInput] = sha
	_, err := x.gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, r.owner, r.name, res.Workflow,
		gh.CreateWorkflowDispatchEventRequest{Ref: res.Ref, Inputs: inputs})
	return apiErr(fmt.Sprintf("dispatch workflow %s of %s on %s", res.Workflow, r, res.Ref), err)
}

// Undo rolls forward: it deploys again the SHA Apply rolled back from (for
// workflow, by dispatching the same workflow with it). It refuses with
// ErrStalePlan when a deployment of another SHA came after the rollback.
// A revert pull request is closed (and its branch deleted) while still
// open; once merged, Undo opens a roll-forward pull request restoring the
// rolled-back SHA's tree on top of the revert's merge commit (see
// undoRevert).
func (x *Rollback) Undo(ctx context.Context, result *remediations.Result) (*remediations.Result, error) {
	var d resultData
	if result == nil || result.Action != ActionName {
		return nil, fmt.Errorf("undo %s: not a %s result: %w", ActionName, ActionName, remediations.ErrInvalid)
	}
	if err := json.Unmarshal(result.Data, &d); err != nil {
		return nil, fmt.Errorf("undo %s: decode result data: %w: %w", ActionName, remediations.ErrInvalid, err)
	}
	r, err := parseRepo(d.Repo)
	if err != nil {
		return nil, fmt.Errorf("undo %s: %w", ActionName, err)
	}
	if d.From == "" || d.To == "" || d.Environment == "" {
		return nil, fmt.Errorf("undo %s: result data lacks environment or shas: %w", ActionName, remediations.ErrInvalid)
	}
	if x.gh == nil {
		return nil, errNoClient
	}
	if d.Strategy == StrategyRevertPR {
		return x.undoRevert(ctx, r, d)
	}
	op := fmt.Sprintf("roll %s %s forward from %s to %s", r, d.Environment, short(d.To), short(d.From))
	// Deployments newer than the rollback must all be of the SHA it
	// deployed (the workflow's own, or re-runs); anything else means
	// someone deployed since, and rolling forward would undo their deploy.
	var later *gh.Deployment
	_, err = x.scan(ctx, r, d.Environment, 30, func(dep *gh.Deployment) (bool, error) {
		if dep.GetID() <= d.NewestID {
			return true, nil
		}
		if dep.GetSHA() != d.To {
			later = dep
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if later != nil {
		return nil, fmt.Errorf("%s: deployment #%d of %s by %s came after the rollback: %w",
			op, later.GetID(), short(later.GetSHA()), orNone(later.GetCreator().GetLogin()), remediations.ErrStalePlan)
	}
	out := d
	out.From, out.To = d.To, d.From
	var summary string
	switch d.Strategy {
	case StrategyWorkflow:
		if err := x.dispatch(ctx, r, d, d.From); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		summary = fmt.Sprintf("%s %s: dispatched workflow %s on %s with %s=%s (roll forward from %s)", d.Repo, d.Environment, d.Workflow, d.Ref, d.SHAInput, short(d.From), short(d.To))
	default:
		dep, err := x.deploy(ctx, r, d.Environment, d.medic("roll-forward"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out.DeploymentID, out.NewestID = dep.GetID(), dep.GetID()
		summary = fmt.Sprintf("%s %s: created deployment #%d of %s (roll forward from %s)", d.Repo, d.Environment, dep.GetID(), short(d.From), short(d.To))
	}
	data, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%s: encode result: %w", op, err)
	}
	return &remediations.Result{
		Action:  ActionName,
		Target:  d.target(),
		Summary: summary,
		Changes: []remediations.Change{{Resource: d.target(), Field: "deployed sha", From: d.To, To: d.From}},
		Data:    data,
	}, nil
}
