package github

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

var (
	now      = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	at       = func(h, m int) time.Time { return time.Date(2024, 5, 1, h, m, 0, 0, time.UTC) }
	theAlarm = &alarm.Alarm{
		Name:      "shop-target-5xx",
		ARN:       "arn:aws:cloudwatch:us-east-1:123456789012:alarm:shop-target-5xx",
		State:     alarm.StateAlarm,
		Timestamp: at(11, 55),
	}
)

// scenario is the usual history: v1 and v2 deployed and superseded, v3
// (bad) live since 11:40, main still at v3.
type scenario struct {
	f             *fakeGitHub
	clk           *fakeClock
	x             *Rollback
	v1, good, bad string
	goodID, badID int64
}

func newScenario(t testing.TB) *scenario {
	t.Helper()
	s := &scenario{f: newFake(t), clk: &fakeClock{now: now}}
	s.x = New(s.f.client(t, s.clk), WithClock(s.clk.Now))
	s.reset()
	return s
}

// reset returns the fake GitHub and the clock to the scenario's start.
func (s *scenario) reset() {
	f := s.f
	f.reset()
	s.clk.mu.Lock()
	s.clk.now, s.clk.sleeps = now, nil
	s.clk.mu.Unlock()
	s.v1 = f.addCommit("v1", "Initial release", "carol", at(7, 0))
	s.good = f.addCommit("v2", "Fix cache headers\n\nThe long story.", "alice", at(8, 30), s.v1)
	s.bad = f.addCommit("v3", "Add search", "bob", at(11, 0), s.good)
	f.addDeploy(s.v1, "production", "carol", at(8, 0), "in_progress", "success", "inactive")
	f.addDeploy(s.v1, "staging", "carol", at(8, 5), "success")
	s.goodID = f.addDeploy(s.good, "production", "alice", at(9, 0), "in_progress", "success", "inactive")
	s.badID = f.addDeploy(s.bad, "production", "bob", at(11, 40), "queued", "in_progress", "success")
	f.setRef("heads/main", s.bad)
}

func params(kv ...any) remediations.Params {
	p := remediations.Params{"repo": "acme/shop", "environment": "production"}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i].(string)] = kv[i+1]
	}
	return p
}

// roundTrip sends a plan through JSON, as it travels from card to executor.
func roundTrip[T any](t *testing.T, v *T) *T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return &out
}

func planData_(t *testing.T, p *remediations.Plan) planData {
	t.Helper()
	var d planData
	if err := json.Unmarshal(p.Data, &d); err != nil {
		t.Fatalf("decode plan data: %v", err)
	}
	return d
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not mention %q", what, s, sub)
		}
	}
}

func TestRedeployRollsBackToThePreviousGoodSHA(t *testing.T) {
	s := newScenario(t)
	ctx := context.Background()

	plan, err := s.x.Plan(ctx, theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if plan.Target != "github:acme/shop/production" || plan.Action != ActionName || !plan.Reversible {
		t.Errorf("plan target/action/reversible = %q %q %v", plan.Target, plan.Action, plan.Reversible)
	}
	mustContain(t, "summary", plan.Summary, short(s.good), "Fix cache headers", "alice", "deployed 3h ago",
		short(s.bad), "Add search", "bob", "live 20m")
	if len(plan.Changes) != 1 || plan.Changes[0].From != s.bad || plan.Changes[0].To != s.good {
		t.Errorf("changes = %+v", plan.Changes)
	}
	d := planData_(t, plan)
	if d.Good.ID != s.goodID || d.Bad.ID != s.badID || d.Good.Author != "alice" || d.Bad.Message != "Add search" {
		t.Errorf("good/bad = %+v / %+v", d.Good, d.Bad)
	}
	compare := "https://github.com/acme/shop/compare/" + s.good + "..." + s.bad
	if d.CompareURL != compare {
		t.Errorf("compare = %q, want %q", d.CompareURL, compare)
	}
	// The summary is what the Slack card shows: it links the diff.
	mustContain(t, "summary", plan.Summary, "changes rolled back: "+compare)
	if !d.Good.CreatedAt.Equal(at(9, 0)) || !d.Good.CommittedAt.Equal(at(8, 30)) {
		t.Errorf("good times = %v %v", d.Good.CreatedAt, d.Good.CommittedAt)
	}
	if got := s.f.requestsTo("POST", "/deployments"); len(got) != 0 {
		t.Fatalf("Plan created %d deployments, want none", len(got))
	}

	res, err := s.x.Apply(ctx, roundTrip(t, plan))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	posts := s.f.requestsTo("POST", "/repos/acme/shop/deployments")
	if len(posts) != 1 {
		t.Fatalf("Apply made %d deployments, want 1", len(posts))
	}
	var body struct {
		Ref              string    `json:"ref"`
		Environment      string    `json:"environment"`
		AutoMerge        *bool     `json:"auto_merge"`
		RequiredContexts *[]string `json:"required_contexts"`
		Description      string    `json:"description"`
		Payload          struct {
			Medic medicPayload `json:"medic"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(posts[0].Body, &body); err != nil {
		t.Fatalf("decode deployment request: %v", err)
	}
	if body.Ref != s.good || body.Environment != "production" {
		t.Errorf("deployment ref/env = %q %q", body.Ref, body.Environment)
	}
	if body.AutoMerge == nil || *body.AutoMerge {
		t.Errorf("auto_merge = %v, want false", body.AutoMerge)
	}
	if body.RequiredContexts == nil || len(*body.RequiredContexts) != 0 {
		t.Errorf("required_contexts = %v, want []", body.RequiredContexts)
	}
	want := medicPayload{Action: "rollback", Incident: theAlarm.DedupKey(), Alarm: "shop-target-5xx", From: s.bad, To: s.good}
	if body.Payload.Medic != want {
		t.Errorf("payload = %+v, want %+v", body.Payload.Medic, want)
	}
	mustContain(t, "description", body.Description, "medic", short(s.good), short(s.bad))
	if n := len([]rune(body.Description)); n > 140 {
		t.Errorf("description has %d characters, GitHub allows 140", n)
	}
	if res.Target != plan.Target || len(res.Changes) != 1 {
		t.Errorf("result = %+v", res)
	}
	mustContain(t, "result summary", res.Summary, "created deployment", short(s.good))
}

func TestIncidentParamOverridesTheAlarmKey(t *testing.T) {
	s := newScenario(t)
	plan, err := s.x.Plan(context.Background(), nil, params("incident", "INC-42"))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if _, err := s.x.Apply(context.Background(), plan); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	post := s.f.requestsTo("POST", "/deployments")[0]
	mustContain(t, "deployment request", string(post.Body), `"incident":"INC-42"`, "for INC-42")
}

func TestWorkflowDispatchesTheGoodSHA(t *testing.T) {
	s := newScenario(t)
	ctx := context.Background()
	plan, err := s.x.Plan(ctx, theAlarm, params("strategy", "workflow", "workflow", "deploy.yml",
		"sha_input", "version", "inputs", map[string]any{"environment": "production"}))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	mustContain(t, "summary", plan.Summary, "deploy.yml", "on main", "version="+short(s.good),
		"changes rolled back: https://github.com/acme/shop/compare/"+s.good+"..."+s.bad)
	res, err := s.x.Apply(ctx, roundTrip(t, plan))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	got := s.f.requestsTo("POST", "/actions/workflows/deploy.yml/dispatches")
	if len(got) != 1 {
		t.Fatalf("dispatches = %d, want 1", len(got))
	}
	var body struct {
		Ref    string            `json:"ref"`
		Inputs map[string]string `json:"inputs"`
	}
	if err := json.Unmarshal(got[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Ref != "main" || body.Inputs["version"] != s.good || body.Inputs["environment"] != "production" || len(body.Inputs) != 2 {
		t.Errorf("dispatch = %+v", body)
	}
	if len(s.f.requestsTo("POST", "/deployments")) != 0 {
		t.Error("workflow strategy created a deployment")
	}

	// Undo dispatches the same workflow with the bad SHA.
	if _, err := s.x.Undo(ctx, roundTrip(t, res)); err != nil {
		t.Fatalf("Undo: %v", err)
	}
	got = s.f.requestsTo("POST", "/dispatches")
	if len(got) != 2 || !strings.Contains(string(got[1].Body), `"version":"`+s.bad+`"`) {
		t.Errorf("undo dispatch = %s", got[len(got)-1].Body)
	}
}

func TestWorkflowPlanNamesAMissingWorkflow(t *testing.T) {
	s := newScenario(t)
	_, err := s.x.Plan(context.Background(), theAlarm, params("strategy", "workflow", "workflow", "nope.yml"))
	if !errors.Is(err, remediations.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	mustContain(t, "error", err.Error(), "nope.yml", "acme/shop")
}

func TestRevertPROpensAPullRequestRestoringTheGoodTree(t *testing.T) {
	s := newScenario(t)
	ctx := context.Background()
	plan, err := s.x.Plan(ctx, theAlarm, params("strategy", "revert-pr", "auto_merge", true))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	branch := "medic/revert-" + short(s.bad)
	mustContain(t, "summary", plan.Summary, "main <- "+branch, short(s.good), "auto-merge requested",
		"changes rolled back: https://github.com/acme/shop/compare/"+s.good+"..."+s.bad)
	res, err := s.x.Apply(ctx, roundTrip(t, plan))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}

	commits := s.f.requestsTo("POST", "/git/commits")
	if len(commits) != 1 {
		t.Fatalf("commits created = %d, want 1", len(commits))
	}
	var c struct {
		Message string   `json:"message"`
		Tree    string   `json:"tree"`
		Parents []string `json:"parents"`
	}
	_ = json.Unmarshal(commits[0].Body, &c)
	if c.Tree != sha("tree:v2") || len(c.Parents) != 1 || c.Parents[0] != s.bad {
		t.Errorf("commit tree %s parents %v, want tree of v2 on top of %s", c.Tree, c.Parents, s.bad)
	}
	mustContain(t, "commit message", c.Message, s.good, s.bad, "compare/")

	refs := s.f.requestsTo("POST", "/git/refs")
	if len(refs) != 1 || !strings.Contains(string(refs[0].Body), `"ref":"refs/heads/`+branch+`"`) {
		t.Fatalf("refs = %+v", refs)
	}
	pulls := s.f.requestsTo("POST", "/repos/acme/shop/pulls")
	var pr struct{ Title, Head, Base, Body string }
	_ = json.Unmarshal(pulls[0].Body, &pr)
	if pr.Head != branch || pr.Base != "main" {
		t.Errorf("pull request %s <- %s", pr.Base, pr.Head)
	}
	mustContain(t, "pull request title", pr.Title, short(s.good), short(s.bad))

	gql := s.f.requestsTo("POST", "/graphql")
	if len(gql) != 1 {
		t.Fatalf("graphql requests = %d, want 1", len(gql))
	}
	mustContain(t, "graphql request", string(gql[0].Body), "enablePullRequestAutoMerge", `"id":"PR_kwDO100"`, `"method":"SQUASH"`)
	if gql[0].Auth != "Bearer ghp_secret_test_token" {
		t.Errorf("graphql request not authenticated like REST: %q", gql[0].Auth)
	}
	mustContain(t, "result summary", res.Summary, "#100", "auto-merge enabled")
	if len(s.f.requestsTo("POST", "/deployments")) != 0 {
		t.Error("revert-pr created a deployment")
	}

	// Undo closes the open pull request and deletes the branch.
	undo, err := s.x.Undo(ctx, roundTrip(t, res))
	if err != nil {
		t.Fatalf("Undo: %v", err)
	}
	mustContain(t, "undo summary", undo.Summary, "#100 closed", branch)
	if len(s.f.requestsTo("DELETE", "/git/refs/heads/"+branch)) != 1 || len(s.f.requestsTo("PATCH", "/pulls/100")) != 1 {
		t.Error("undo did not close the pull request and delete the branch")
	}
}

func TestRevertPRReportsAutoMergeItCouldNotEnable(t *testing.T) {
	s := newScenario(t)
	no := false
	s.f.allowAuto = &no
	plan, err := s.x.Plan(context.Background(), theAlarm, params("strategy", "revert-pr", "auto_merge", true))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	mustContain(t, "summary", plan.Summary, "auto-merge is disabled")
	res, err := s.x.Apply(context.Background(), plan)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	mustContain(t, "result summary", res.Summary, "not enabled", "not allowed for this repository", "by hand")
}

func TestRevertPRMergesAtOnceWhenThereIsNothingToWaitFor(t *testing.T) {
	s := newScenario(t)
	s.f.cleanPRs = true
	plan, err := s.x.Plan(context.Background(), theAlarm, params("strategy", "revert-pr", "auto_merge", true))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	res, err := s.x.Apply(context.Background(), plan)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	mustContain(t, "result summary", res.Summary, "merged at once")
	merges := s.f.requestsTo("PUT", "/pulls/100/merge")
	if len(merges) != 1 {
		t.Fatalf("merges = %d, want 1", len(merges))
	}
	mustContain(t, "merge request", string(merges[0].Body), `"merge_method":"squash"`, `"sha":"`)
	if !s.f.pulls[0].Merged {
		t.Error("pull request not merged")
	}
}

func TestRevertPRRefusedWhenTheBranchMovedPastTheDeploy(t *testing.T) {
	s := newScenario(t)
	later := s.f.addCommit("v4", "Tweak copy", "dave", at(11, 50), s.bad)
	s.f.setRef("heads/main", later)
	_, err := s.x.Plan(context.Background(), theAlarm, params("strategy", "revert-pr"))
	if !errors.Is(err, ErrHeadMoved) || !errors.Is(err, remediations.ErrInvalid) {
		t.Fatalf("err = %v, want ErrHeadMoved and ErrInvalid", err)
	}
	mustContain(t, "error", err.Error(), short(later), short(s.bad), "use strategy redeploy")
}

func TestRevertPRApplyRefusedWhenTheBranchMovedSinceThePlan(t *testing.T) {
	s := newScenario(t)
	plan, err := s.x.Plan(context.Background(), theAlarm, params("strategy", "revert-pr"))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	s.f.setRef("heads/main", s.f.addCommit("v4", "Tweak copy", "dave", at(11, 58), s.bad))
	_, err = s.x.Apply(context.Background(), plan)
	if !errors.Is(err, remediations.ErrStalePlan) {
		t.Fatalf("err = %v, want ErrStalePlan", err)
	}
	if len(s.f.requestsTo("POST", "/git/commits")) != 0 {
		t.Error("a commit was created for a stale plan")
	}
}

func TestRevertPRApplyIsIdempotent(t *testing.T) {
	s := newScenario(t)
	plan, err := s.x.Plan(context.Background(), theAlarm, params("strategy", "revert-pr"))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	first, err := s.x.Apply(context.Background(), plan)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	second, err := s.x.Apply(context.Background(), plan)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if first.Summary != second.Summary {
		t.Errorf("second apply %q, first %q", second.Summary, first.Summary)
	}
	if n := len(s.f.pulls); n != 1 {
		t.Errorf("%d pull requests, want 1", n)
	}
}

func TestPlanFailsWithoutAnEarlierSuccessfulDeploy(t *testing.T) {
	f := newFake(t)
	bad := f.addCommit("v3", "Add search", "bob", at(11, 0))
	other := f.addCommit("v2", "Broken", "eve", at(10, 0))
	f.addDeploy(other, "production", "eve", at(10, 30), "in_progress", "failure")
	f.addDeploy(bad, "production", "bob", at(11, 0), "success", "inactive")
	f.addDeploy(bad, "production", "bob", at(11, 40), "success")
	x := New(f.client(t, &fakeClock{now: now}))
	_, err := x.Plan(context.Background(), theAlarm, params())
	if !errors.Is(err, remediations.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	mustContain(t, "error", err.Error(), "no earlier successful deployment", short(bad), "nothing to roll back to")
}

func TestPlanFailsWhenNothingIsLive(t *testing.T) {
	f := newFake(t)
	x := New(f.client(t, &fakeClock{now: now}))
	_, err := x.Plan(context.Background(), theAlarm, params())
	if !errors.Is(err, remediations.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	mustContain(t, "error", err.Error(), "latest status of success")
}

func TestApplyRefusesAPlanOvertakenByANewerDeploy(t *testing.T) {
	s := newScenario(t)
	plan, err := s.x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	hotfix := s.f.addCommit("v4", "Hotfix", "dave", at(11, 58), s.bad)
	s.f.addDeploy(hotfix, "production", "dave", at(11, 58), "in_progress")
	_, err = s.x.Apply(context.Background(), roundTrip(t, plan))
	if !errors.Is(err, remediations.ErrStalePlan) {
		t.Fatalf("err = %v, want ErrStalePlan", err)
	}
	mustContain(t, "error", err.Error(), short(hotfix), "dave")
	if len(s.f.requestsTo("POST", "/deployments")) != 0 {
		t.Error("a stale plan created a deployment")
	}
}

func TestPlanNotesANewerDeployThatIsNotLive(t *testing.T) {
	s := newScenario(t)
	broken := s.f.addCommit("v4", "Broken", "dave", at(11, 50), s.bad)
	s.f.addDeploy(broken, "production", "dave", at(11, 50), "failure")
	plan, err := s.x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	d := planData_(t, plan)
	if d.Bad.SHA != s.bad || d.Good.SHA != s.good {
		t.Errorf("bad/good = %s/%s", short(d.Bad.SHA), short(d.Good.SHA))
	}
	mustContain(t, "summary", plan.Summary, short(broken)+" is failure, not live")
	if _, err := s.x.Apply(context.Background(), plan); err != nil {
		t.Errorf("Apply: %v", err)
	}
}

func TestPlanPagesThroughManyDeployments(t *testing.T) {
	f := newFake(t)
	old := f.addCommit("v0", "Ancient", "carol", at(0, 0))
	good := f.addCommit("v1", "Last good", "alice", at(0, 30))
	bad := f.addCommit("v9", "Bad", "bob", at(1, 0))
	broken := f.addCommit("vx", "Never worked", "eve", at(1, 0))
	base := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	// Oldest first: 39 of the old SHA, the good one (index 210 from the
	// newest, so on page 3 of 100), then 209 failed or repeated deploys, then
	// the live bad one: 250 in all.
	for i := 0; i < 39; i++ {
		f.addDeploy(old, "production", "carol", base.Add(time.Duration(i)*time.Minute), "success", "inactive")
	}
	goodID := f.addDeploy(good, "production", "alice", base.Add(40*time.Minute), "success", "inactive")
	for i := 0; i < 209; i++ {
		s, st := broken, "failure"
		if i%2 == 0 {
			s, st = bad, "inactive"
		}
		f.addDeploy(s, "production", "eve", base.Add(time.Duration(41+i)*time.Minute), st)
	}
	f.addDeploy(bad, "production", "bob", base.Add(300*time.Minute), "success")
	if n := len(f.deployments); n != 250 {
		t.Fatalf("setup made %d deployments", n)
	}
	x := New(f.client(t, &fakeClock{now: now}))
	plan, err := x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if d := planData_(t, plan); d.Good.ID != goodID || d.Good.SHA != good {
		t.Errorf("good = #%d %s, want #%d %s", d.Good.ID, short(d.Good.SHA), goodID, short(good))
	}
	pages := map[string]bool{}
	for _, r := range f.requestsTo("GET", "/repos/acme/shop/deployments") {
		pages[r.Query.Get("page")] = true
		if r.Query.Get("environment") != "production" {
			t.Errorf("listed deployments without the environment filter: %v", r.Query)
		}
	}
	if !pages["3"] || pages["4"] {
		t.Errorf("pages fetched = %v, want up to 3", pages)
	}
	// Repeats of the bad SHA need no status lookup.
	if n := len(f.requestsTo("GET", "/statuses")); n > 110 {
		t.Errorf("%d status lookups, want repeats of the bad sha skipped", n)
	}
}

func TestASecondRollbackNeverReturnsToTheSHAMedicRolledBackFrom(t *testing.T) {
	s := newScenario(t)
	s.f.onCreateDeployment = func(d *fakeDeployment) { s.f.addStatus(d.ID, "success", at(12, 5)) }
	ctx := context.Background()
	plan, err := s.x.Plan(ctx, theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if _, err := s.x.Apply(ctx, plan); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	// v2 turns out bad too: the next rollback goes to v1, skipping v3.
	plan, err = s.x.Plan(ctx, theAlarm, params())
	if err != nil {
		t.Fatalf("second Plan: %v", err)
	}
	d := planData_(t, plan)
	if d.Bad.SHA != s.good || d.Good.SHA != s.v1 {
		t.Errorf("second rollback %s -> %s, want %s -> %s", short(d.Bad.SHA), short(d.Good.SHA), short(s.good), short(s.v1))
	}
	mustContain(t, "summary", plan.Summary, "skipped "+short(s.bad))
}

func TestUndoRollsForward(t *testing.T) {
	s := newScenario(t)
	ctx := context.Background()
	plan, err := s.x.Plan(ctx, theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	res, err := s.x.Apply(ctx, plan)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	undo, err := s.x.Undo(ctx, roundTrip(t, res))
	if err != nil {
		t.Fatalf("Undo: %v", err)
	}
	posts := s.f.requestsTo("POST", "/deployments")
	if len(posts) != 2 {
		t.Fatalf("deployments created = %d, want 2", len(posts))
	}
	var body struct {
		Ref     string `json:"ref"`
		Payload struct {
			Medic medicPayload `json:"medic"`
		} `json:"payload"`
	}
	_ = json.Unmarshal(posts[1].Body, &body)
	if body.Ref != s.bad || body.Payload.Medic.Action != "roll-forward" || body.Payload.Medic.From != s.good || body.Payload.Medic.To != s.bad {
		t.Errorf("roll-forward deployment = %+v", body)
	}
	if len(undo.Changes) != 1 || undo.Changes[0].From != s.good || undo.Changes[0].To != s.bad {
		t.Errorf("undo changes = %+v", undo.Changes)
	}
}

func TestUndoRefusedAfterSomeoneElseDeployed(t *testing.T) {
	s := newScenario(t)
	ctx := context.Background()
	plan, err := s.x.Plan(ctx, theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	res, err := s.x.Apply(ctx, plan)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	fix := s.f.addCommit("v4", "Real fix", "dave", at(12, 30), s.bad)
	s.f.addDeploy(fix, "production", "dave", at(12, 30), "success")
	_, err = s.x.Undo(ctx, res)
	if !errors.Is(err, remediations.ErrStalePlan) {
		t.Fatalf("err = %v, want ErrStalePlan", err)
	}
	if n := len(s.f.requestsTo("POST", "/deployments")); n != 1 {
		t.Errorf("deployments created = %d, want only the rollback", n)
	}
}

// mergedRevert plans and applies a revert-pr rollback (with auto-merge)
// and merges its pull request #100, returning the result and the merge
// commit.
func mergedRevert(t *testing.T, s *scenario) (*remediations.Result, string) {
	t.Helper()
	plan, err := s.x.Plan(context.Background(), theAlarm, params("strategy", "revert-pr", "auto_merge", true))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	res, err := s.x.Apply(context.Background(), roundTrip(t, plan))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	merge := s.f.mergePR(100)
	if merge == "" {
		t.Fatal("Apply opened no pull request #100")
	}
	return res, merge
}

func TestUndoOfAMergedRevertOpensARollForwardPR(t *testing.T) {
	s := newScenario(t)
	ctx := context.Background()
	res, merge := mergedRevert(t, s)

	undo, err := s.x.Undo(ctx, roundTrip(t, res))
	if err != nil {
		t.Fatalf("Undo: %v", err)
	}
	branch := "medic/roll-forward-" + short(s.bad)

	// One commit: the bad SHA's tree on top of the revert's merge commit.
	commits := s.f.requestsTo("POST", "/git/commits")
	if len(commits) != 2 {
		t.Fatalf("commits created = %d, want the revert and the roll-forward", len(commits))
	}
	var c struct {
		Message string   `json:"message"`
		Tree    string   `json:"tree"`
		Parents []string `json:"parents"`
	}
	if err := json.Unmarshal(commits[1].Body, &c); err != nil {
		t.Fatal(err)
	}
	if c.Tree != sha("tree:v3") || len(c.Parents) != 1 || c.Parents[0] != merge {
		t.Errorf("roll-forward commit tree %s parents %v, want tree of v3 %s on top of merge commit %s", c.Tree, c.Parents, sha("tree:v3"), merge)
	}
	mustContain(t, "commit message", c.Message, "Roll forward production to "+short(s.bad), "#100", s.bad, merge,
		"https://github.com/acme/shop/compare/"+s.good+"..."+s.bad)

	// A branch pointing at that commit, and a pull request from it.
	refs := s.f.requestsTo("POST", "/git/refs")
	if len(refs) != 2 {
		t.Fatalf("refs created = %d, want 2", len(refs))
	}
	var ref struct{ Ref, SHA string }
	_ = json.Unmarshal(refs[1].Body, &ref)
	s.f.mu.Lock()
	created := s.f.commits[ref.SHA]
	s.f.mu.Unlock()
	if ref.Ref != "refs/heads/"+branch || created == nil || created.Tree != sha("tree:v3") || created.Parents[0] != merge {
		t.Errorf("roll-forward ref %s -> %s (%+v)", ref.Ref, short(ref.SHA), created)
	}
	pulls := s.f.requestsTo("POST", "/repos/acme/shop/pulls")
	if len(pulls) != 2 {
		t.Fatalf("pull requests opened = %d, want 2", len(pulls))
	}
	var pr struct{ Title, Head, Base, Body string }
	_ = json.Unmarshal(pulls[1].Body, &pr)
	if pr.Head != branch || pr.Base != "main" {
		t.Errorf("roll-forward pull request %s <- %s", pr.Base, pr.Head)
	}
	mustContain(t, "pull request title", pr.Title, short(s.bad), "#100")
	mustContain(t, "pull request body", pr.Body, "Opened by medic", "tree of "+s.bad)

	// The same auto-merge option as the revert.
	gql := s.f.requestsTo("POST", "/graphql")
	if len(gql) != 2 {
		t.Fatalf("graphql requests = %d, want 2", len(gql))
	}
	mustContain(t, "graphql request", string(gql[1].Body), "enablePullRequestAutoMerge", `"id":"PR_kwDO101"`, `"method":"SQUASH"`)

	// The result records the new pull request.
	mustContain(t, "undo summary", undo.Summary, "#100 was merged", "#101", "main <- "+branch, short(s.bad), "auto-merge enabled")
	if len(undo.Changes) != 1 || undo.Changes[0].From != s.good || undo.Changes[0].To != s.bad ||
		undo.Changes[0].Resource != "github:acme/shop@main" {
		t.Errorf("undo changes = %+v", undo.Changes)
	}
	var d resultData
	if err := json.Unmarshal(undo.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.PRNumber != 101 || d.PRURL != "https://github.com/acme/shop/pull/101" || d.RevertBranch != branch || d.Branch != "main" ||
		d.UndoesPR != 100 || d.From != s.good || d.To != s.bad || d.AutoMerge != "enabled" || !d.AutoMergeRequested {
		t.Errorf("undo result data = %+v", d)
	}
	if len(s.f.requestsTo("POST", "/deployments")) != 0 {
		t.Error("the roll-forward created a deployment")
	}

	// Retrying the undo reuses the branch and the open pull request.
	again, err := s.x.Undo(ctx, roundTrip(t, res))
	if err != nil {
		t.Fatalf("second Undo: %v", err)
	}
	if n := len(s.f.pulls); n != 2 || again.Summary != undo.Summary {
		t.Errorf("second Undo: %d pull requests, summary %q", n, again.Summary)
	}
}

func TestUndoOfAMergedRevertRefusedWhenTheBranchMovedOn(t *testing.T) {
	s := newScenario(t)
	res, merge := mergedRevert(t, s)
	later := s.f.addCommit("v4", "Tweak copy", "dave", at(12, 10), merge)
	s.f.setRef("heads/main", later)

	_, err := s.x.Undo(context.Background(), roundTrip(t, res))
	if !errors.Is(err, ErrHeadMoved) || !errors.Is(err, remediations.ErrStalePlan) {
		t.Fatalf("err = %v, want ErrHeadMoved and ErrStalePlan", err)
	}
	mustContain(t, "error", err.Error(), "branch main is at "+short(later), `"Tweak copy" by Dave`,
		"merge commit "+short(merge), "would also undo the commits pushed since", "revert pull request #100", "strategy redeploy")
	if n := len(s.f.requestsTo("POST", "/git/commits")); n != 1 {
		t.Errorf("commits created = %d, want only the revert", n)
	}
	if n := len(s.f.pulls); n != 1 {
		t.Errorf("%d pull requests, want only the revert", n)
	}
}

func TestApplyAndUndoRejectForeignOrBrokenData(t *testing.T) {
	x := New(nil)
	ctx := context.Background()
	for name, p := range map[string]*remediations.Plan{
		"nil plan":       nil,
		"other action":   {Action: "ecs.scale", Data: json.RawMessage(`{}`)},
		"garbage data":   {Action: ActionName, Data: json.RawMessage(`{"repo":`)},
		"empty data":     {Action: ActionName},
		"bad repo":       {Action: ActionName, Data: json.RawMessage(`{"repo":"nope","environment":"p","newest_deployment_id":1,"good":{"sha":"a"},"bad":{"sha":"b"},"strategy":"redeploy"}`)},
		"unknown method": {Action: ActionName, Data: json.RawMessage(`{"repo":"a/b","environment":"p","newest_deployment_id":1,"good":{"sha":"a"},"bad":{"sha":"b"},"strategy":"pray"}`)},
	} {
		if _, err := x.Apply(ctx, p); !errors.Is(err, remediations.ErrInvalid) {
			t.Errorf("Apply(%s) = %v, want ErrInvalid", name, err)
		}
	}
	for name, r := range map[string]*remediations.Result{
		"nil result":   nil,
		"garbage data": {Action: ActionName, Data: json.RawMessage(`[`)},
		"no shas":      {Action: ActionName, Data: json.RawMessage(`{"repo":"a/b","environment":"p"}`)},
	} {
		if _, err := x.Undo(ctx, r); !errors.Is(err, remediations.ErrInvalid) {
			t.Errorf("Undo(%s) = %v, want ErrInvalid", name, err)
		}
	}
}

func TestSchemaAndNameNeedNoClient(t *testing.T) {
	x := New(nil)
	if x.Name() != "github.rollback" {
		t.Errorf("Name = %q", x.Name())
	}
	s := x.Schema()
	if !s.Reversible {
		t.Error("schema not reversible")
	}
	if errs := s.Validate(params("strategy", "workflow"), nil); len(errs) != 1 {
		t.Errorf("workflow without a workflow name: %v", errs)
	}
	if _, err := x.Plan(context.Background(), theAlarm, params()); err == nil {
		t.Error("Plan without a client succeeded")
	}
	if _, err := x.Plan(context.Background(), theAlarm, remediations.Params{"repo": "not a repo"}); !errors.Is(err, remediations.ErrInvalid) {
		t.Errorf("Plan with bad params = %v, want ErrInvalid", err)
	}
	if _, err := x.SuspectDeploys(context.Background(), theAlarm, "acme/shop", "production", 0); err == nil {
		t.Error("SuspectDeploys without a client succeeded")
	}
}

func TestSuspectDeploysInTheWindowBeforeTheAlarm(t *testing.T) {
	f := newFake(t)
	v1 := f.addCommit("v1", "Initial release", "carol", at(7, 0))
	good := f.addCommit("v2", "Fix cache headers", "alice", at(8, 30), v1)
	search := f.addCommit("v3a", "Add search box", "erin", at(10, 50), good)
	bad := f.addCommit("v3", "Add search", "bob", at(11, 0), search)
	after := f.addCommit("v4", "After the alarm", "dave", at(11, 58), bad)
	f.addDeploy(v1, "production", "carol", at(8, 0), "success", "inactive")
	f.addDeploy(good, "production", "alice", at(9, 0), "success", "inactive")
	f.addDeploy(good, "staging", "alice", at(10, 0), "success")
	f.addDeploy(search, "production", "erin", at(11, 10), "success", "inactive")
	f.addDeploy(bad, "production", "bob", at(11, 40), "success")
	f.addDeploy(after, "production", "dave", at(11, 58), "success")
	f.addPR(bad, 42, "Add search")
	f.addPR(search, 41, "Search box behind a flag")
	x := New(f.client(t, &fakeClock{now: now}))

	got, err := x.SuspectDeploys(context.Background(), theAlarm, "acme/shop", "production", time.Hour)
	if err != nil {
		t.Fatalf("SuspectDeploys: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d suspects, want 2: %+v", len(got), got)
	}
	first, second := got[0], got[1]
	if first.SHA != bad || first.PRNumber != 42 || first.PRTitle != "Add search" || first.Creator != "bob" || first.Author != "bob" {
		t.Errorf("first suspect = %+v", first)
	}
	if first.PreviousSHA != search || first.CompareURL != "https://github.com/acme/shop/compare/"+search+"..."+bad {
		t.Errorf("first compare = %s (previous %s)", first.CompareURL, short(first.PreviousSHA))
	}
	if !first.CreatedAt.Equal(at(11, 40)) || first.Message != "Add search" || first.PRURL == "" || first.State != "success" {
		t.Errorf("first suspect details = %+v", first)
	}
	if second.SHA != search || second.PRTitle != "Search box behind a flag" || second.PreviousSHA != good || second.State != "inactive" {
		t.Errorf("second suspect = %+v", second)
	}

	// A 10 minute window (11:45-11:55) holds none of them.
	got, err = x.SuspectDeploys(context.Background(), theAlarm, "acme/shop", "production", 10*time.Minute)
	if err != nil || len(got) != 0 {
		t.Errorf("10m window: %d suspects, err %v", len(got), err)
	}
	// Window 0 means the default hour.
	if got, err = x.SuspectDeploys(context.Background(), theAlarm, "acme/shop", "production", 0); err != nil || len(got) != 2 {
		t.Errorf("default window: %d suspects, err %v", len(got), err)
	}
	if _, err := x.SuspectDeploys(context.Background(), &alarm.Alarm{}, "acme/shop", "production", 0); !errors.Is(err, remediations.ErrInvalid) {
		t.Errorf("alarm without time: %v", err)
	}
	if _, err := x.SuspectDeploys(context.Background(), nil, "acme/shop", "production", 0); !errors.Is(err, remediations.ErrInvalid) {
		t.Errorf("nil alarm: %v", err)
	}
}

func TestAgesReadLikePeopleSayThem(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                "0s",
		42 * time.Second:            "42s",
		20 * time.Minute:            "20m",
		3 * time.Hour:               "3h",
		3*time.Hour + 5*time.Minute: "3h5m",
		72 * time.Hour:              "3d",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestWebAndGraphQLURLsFollowTheAPIURL(t *testing.T) {
	for _, tc := range []struct{ api, web, graphql string }{
		{"https://api.github.com/", "https://github.com", "https://api.github.com/graphql"},
		{"https://ghe.example.com/api/v3/", "https://ghe.example.com", "https://ghe.example.com/api/graphql"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", "http://127.0.0.1:8080/graphql"},
	} {
		c, err := NewClient(Config{Token: "t", APIURL: tc.api})
		if err != nil {
			t.Fatal(err)
		}
		if got := webBaseOf(c.BaseURL); got != tc.web {
			t.Errorf("web base of %s = %s, want %s", tc.api, got, tc.web)
		}
		if got := graphqlURL(c); got != tc.graphql {
			t.Errorf("graphql of %s = %s, want %s", tc.api, got, tc.graphql)
		}
	}
	// Without html_url from GitHub, compare links use the derived base.
	x := New(gh.NewClient(nil))
	if got := x.webURL(repoRef{"acme", "shop"}, nil); got != "https://github.com/acme/shop" {
		t.Errorf("webURL = %s", got)
	}
	x = New(gh.NewClient(nil), WithWebURL("https://git.corp/"))
	if got := x.webURL(repoRef{"acme", "shop"}, &gh.Repository{}); got != "https://git.corp/acme/shop" {
		t.Errorf("webURL with WithWebURL = %s", got)
	}
}

// Ensure the fake's status codes are what go-github sees (sanity).
func TestFakeServesDocumentedShapes(t *testing.T) {
	s := newScenario(t)
	c := s.f.client(t, s.clk)
	deps, resp, err := c.Repositories.ListDeployments(context.Background(), "acme", "shop", &gh.DeploymentsListOptions{Environment: "production", ListOptions: gh.ListOptions{PerPage: 1}})
	if err != nil || len(deps) != 1 || resp.NextPage != 2 || resp.LastPage != 3 {
		t.Fatalf("list: %v %d next %d last %d", err, len(deps), resp.NextPage, resp.LastPage)
	}
	if deps[0].GetID() != s.badID || deps[0].GetCreator().GetLogin() != "bob" || deps[0].GetCreatedAt().IsZero() {
		t.Errorf("deployment = %+v", deps[0])
	}
	_, _, err = c.Repositories.Get(context.Background(), "acme", "other")
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusNotFound {
		t.Errorf("unknown repo: %v", err)
	}
}

// Fuzz operations between Apply and Undo (bits of FuzzApplyAndUndoNeverPanic's ops).
const (
	fuzzNewerDeploy  = 1 << iota // a deployment of another SHA before Apply
	fuzzMergePR                  // merge pull request #100 (if any) before Undo
	fuzzPushCommit               // push a commit onto main before Undo
	fuzzDropMergeSHA             // GitHub reports no merge_commit_sha
)

// FuzzApplyAndUndoNeverPanic feeds arbitrary plan and result data to Apply
// and Undo against the fake GitHub of the usual scenario, so data that
// decodes reaches the strategies' logic and API calls: they must return a
// result or an error, never panic or hang. The seeds are real plans and
// results of each strategy, which the fuzzer mutates. One fake server
// serves every input, reset to the scenario's start for each. Run it with
//
//	go test -run '^$' -fuzz FuzzApplyAndUndoNeverPanic -fuzztime 30s -fuzzminimizetime 5s ./remediations/github/
//
// (each input costs a few hundred µs of HTTP, so the default minute of
// minimizing each new input would take most of a short run).
func FuzzApplyAndUndoNeverPanic(f *testing.F) {
	ctx := context.Background()
	s := newScenario(f)
	for _, p := range []remediations.Params{
		params(),
		params("strategy", "workflow", "workflow", "deploy.yml", "inputs", map[string]any{"environment": "production"}),
		params("strategy", "revert-pr", "auto_merge", true),
	} {
		s.reset()
		plan, err := s.x.Plan(ctx, theAlarm, p)
		if err != nil {
			f.Fatalf("seed Plan %v: %v", p, err)
		}
		res, err := s.x.Apply(ctx, plan)
		if err != nil {
			f.Fatalf("seed Apply %v: %v", p, err)
		}
		for _, ops := range []uint8{0, fuzzNewerDeploy, fuzzMergePR, fuzzMergePR | fuzzPushCommit, fuzzMergePR | fuzzDropMergeSHA} {
			f.Add([]byte(plan.Data), []byte(res.Data), ops)
		}
	}
	f.Add([]byte(`{"repo":"acme/shop","environment":"production","strategy":"revert-pr","newest_deployment_id":1,"good":{"sha":"a"},"bad":{"sha":"b"}}`),
		[]byte(`{"repo":"acme/shop","environment":"production","strategy":"revert-pr","from":"a","to":"b","pr_number":100}`), uint8(fuzzMergePR))
	f.Add([]byte(`null`), []byte(`null`), uint8(0))

	f.Fuzz(func(t *testing.T, planData, resultData []byte, ops uint8) {
		s.reset()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if ops&fuzzNewerDeploy != 0 {
			s.f.addDeploy(s.f.addCommit("v4", "Hotfix", "dave", at(11, 58), s.bad), "production", "dave", at(11, 58), "success")
		}
		res, err := s.x.Apply(ctx, &remediations.Plan{Action: ActionName, Data: planData})
		checkResult(t, "Apply", res, err)
		if ops&fuzzMergePR != 0 {
			s.f.mergePR(100)
		}
		if ops&fuzzDropMergeSHA != 0 {
			s.f.mu.Lock()
			for _, p := range s.f.pulls {
				p.MergeCommit = ""
			}
			s.f.mu.Unlock()
		}
		if ops&fuzzPushCommit != 0 {
			s.f.mu.Lock()
			head := s.f.refs["heads/main"]
			s.f.mu.Unlock()
			s.f.setRef("heads/main", s.f.addCommit("v5", "Tweak copy", "dave", at(12, 10), head))
		}
		undo, err := s.x.Undo(ctx, &remediations.Result{Action: ActionName, Data: resultData})
		checkResult(t, "Undo", undo, err)
		if res != nil {
			undo, err = s.x.Undo(ctx, res)
			checkResult(t, "Undo of Apply's result", undo, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("Apply and Undo took over 10s: %v", ctx.Err())
		}
	})
}

// checkResult fails t unless exactly one of res and err is set, and a
// result is a github.rollback one that decodes.
func checkResult(t *testing.T, what string, res *remediations.Result, err error) {
	t.Helper()
	switch {
	case err != nil && res != nil:
		t.Errorf("%s returned both a result and %v", what, err)
	case err != nil:
	case res == nil:
		t.Errorf("%s returned neither a result nor an error", what)
	case res.Action != ActionName || res.Summary == "" || !json.Valid(res.Data):
		t.Errorf("%s result = %+v", what, res)
	}
}
