package slack_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/slack"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

var (
	t0 = time.Date(2024, 3, 12, 14, 2, 0, 0, time.UTC)
	t1 = t0.Add(90 * time.Second)
	t2 = t0.Add(150 * time.Second)
)

func baseCard() slack.Card {
	threshold := 10.0
	return slack.Card{
		IncidentID: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-5xx@2024-03-12T14:02:00Z",
		AlarmName:  "checkout-5xx",
		AlarmState: "ALARM",
		Reason:     "Threshold Crossed: 3 out of the last 3 datapoints [55.0 (12/03/24 14:01:00), 40.0 (12/03/24 14:00:00), 12.0 (12/03/24 13:59:00)] were greater than the threshold (10.0).",
		Datapoints: []float64{12, 40, 55},
		Threshold:  &threshold,
		Class:      "target 5xx",
		Account:    "123456789012",
		Region:     "eu-west-1",
		Policy:     "checkout-5xx",
		RunbookURL: "https://runbooks.example.com/checkout-5xx",
		Deploys: []slack.Deploy{{
			SHA:        "4f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f",
			Author:     "alice",
			PRTitle:    "Cache product lookups <fast path>",
			PRNumber:   482,
			PRURL:      "https://github.com/acme/checkout/pull/482",
			CompareURL: "https://github.com/acme/checkout/compare/1111111...4f2a9c1",
		}},
	}
}

func scaleStep() slack.StepView {
	return slack.StepView{
		ProposalID: "inc-1#0",
		Index:      0,
		Action:     "ecs.scale",
		Plan:       "prod/checkout: desired 4 -> 6 tasks; auto scaling min 2 -> 6",
		Changes: []slack.Change{
			{Resource: "ecs:prod/checkout", Field: "desiredCount", From: "4", To: "6"},
			{Resource: "ecs:prod/checkout", Field: "minCapacity", From: "2", To: "6"},
		},
		Mode:      slack.ModeRequired,
		Approvers: []string{"U0ALICE", "S0ONCALL"},
		Quorum:    1,
		State:     slack.StateProposed,
		ExpiresAt: t0.Add(30 * time.Minute),
	}
}

func TestRenderCardGolden(t *testing.T) {
	tests := []struct {
		name string
		card func() slack.Card
	}{
		{"required_proposal", func() slack.Card {
			c := baseCard()
			c.Steps = []slack.StepView{scaleStep()}
			return c
		}},
		{"auto_succeeded_undo", func() slack.Card {
			c := baseCard()
			s := scaleStep()
			s.Mode = slack.ModeAuto
			s.Approvers = nil
			s.State = slack.StateSucceeded
			s.StateAt = t2.Add(40 * time.Second)
			s.Result = "prod/checkout: desired 4 -> 6 tasks"
			s.UndoAvailable = true
			c.Steps = []slack.StepView{s}
			return c
		}},
		{"shadow", func() slack.Card {
			c := baseCard()
			s := scaleStep()
			s.Mode = slack.ModeShadow
			c.Steps = []slack.StepView{s}
			return c
		}},
		{"paused", func() slack.Card {
			c := baseCard()
			c.Paused = &slack.Pause{By: "U0BOB", At: t0.Add(-time.Hour), Reason: "game day"}
			c.Steps = []slack.StepView{scaleStep()}
			return c
		}},
		{"approved_by_two", func() slack.Card {
			c := baseCard()
			s := scaleStep()
			s.Quorum = 2
			s.State = slack.StateApproved
			s.StateAt = t2
			s.Votes = []slack.Vote{{UserID: "U0ALICE", At: t1}, {UserID: "U0CAROL", At: t2}}
			c.Steps = []slack.StepView{s}
			return c
		}},
		{"recovered_cancelled", func() slack.Card {
			c := baseCard()
			c.AlarmState = "OK"
			c.Recovered = true
			c.Reason = "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (12/03/24 14:06:00)] was not greater than the threshold (10.0)."
			s := scaleStep()
			s.State = slack.StateCancelled
			s.StateAt = t2.Add(5 * time.Minute)
			s.StateReason = "alarm recovered"
			c.Steps = []slack.StepView{s}
			return c
		}},
		{"rejected", func() slack.Card {
			c := baseCard()
			s := scaleStep()
			s.State = slack.StateRejected
			s.DecidedBy = "U0BOB"
			s.StateAt = t1
			c.Steps = []slack.StepView{s}
			return c
		}},
		{"failed", func() slack.Card {
			c := baseCard()
			s := scaleStep()
			s.State = slack.StateFailed
			s.StateAt = t2.Add(40 * time.Second)
			s.Votes = []slack.Vote{{UserID: "U0ALICE", At: t1}}
			s.StateReason = "apply failed"
			s.Result = "update service prod/checkout: AccessDeniedException"
			c.Steps = []slack.StepView{s}
			return c
		}},
		{"evidence_chooses_rollback", func() slack.Card {
			c := baseCard()
			c.Class = "ELB 502"
			cpu := 91.5
			c.Evidence = &slack.Evidence{
				Reading: "ELB 502s (12% of requests), 3 of 6 targets unhealthy (Target.ResponseCodeMismatch), began 4 min after task definition checkout:42",
				Favours: "step 2 (ecs.rollback) of checkout-5xx, as deploy_within: 30m, unhealthy_targets: >= 1",
				Pattern: &slack.PatternView{Window: 30 * time.Minute, ELB5xx: 217, ELB502: 212, ELB504: 5, Target5xx: 10, Requests: 1890,
					ErrorRate: 227.0 / 1890, StartedAt: t0.Add(-5 * time.Minute)},
				Health: &slack.HealthView{TargetGroup: "checkout", Healthy: 3, Unhealthy: 3, Reasons: []string{"Target.ResponseCodeMismatch ×3"},
					Service: "prod/checkout", Running: 3, Desired: 6, Pending: 3, CPU: &cpu,
					Stopped: []string{"abc123: Essential container in task exited (exit app=137)"}},
				Service: "prod/checkout",
				Deployments: []slack.DeploymentView{
					{Status: "PRIMARY", Rollout: "COMPLETED", TaskDefinition: "checkout:42", CreatedAt: t0.Add(-9 * time.Minute)},
				},
				Probe: &slack.ProbeView{URL: "https://checkout.example.com/health", Method: "GET", Expect: 200, OK: 1,
					Attempts: []slack.AttemptView{{Status: 502, TTFB: 31 * time.Millisecond}, {Status: 200, TTFB: 12 * time.Millisecond},
						{Status: 502, TTFB: 29 * time.Millisecond}},
					Headers: []string{"Server: awselb/2.0"}},
				Upstreams: []slack.ProbeView{{Name: "payments", URL: "http://payments.internal/health", Method: "GET", Expect: 200,
					Attempts: []slack.AttemptView{{Error: "timed out"}}}},
				Logs: []string{"×41 ERROR upstream payments timed out after Nms", "×7 ERROR pool exhausted <id>"},
				Missing: []slack.MissingView{{Collector: "upstreams", Reason: "not configured: the policy names no upstreams"},
					{Collector: "logs", Reason: "not configured: the policy has no logs query"}, {Collector: "graph", Reason: "timed out after 4s"}},
			}
			s := scaleStep()
			s.ProposalID, s.Index, s.Action = "inc-1#1", 1, "ecs.rollback"
			s.Plan = "prod/checkout: task definition checkout:42 -> checkout:41"
			s.Changes = nil
			s.Skipped = []string{"step 1 (ecs.scale) skipped: unhealthy_targets == 0: 3 unhealthy"}
			c.Steps = []slack.StepView{s}
			return c
		}},
		{"evidence_timed_out", func() slack.Card {
			c := baseCard()
			c.Evidence = &slack.Evidence{Missing: []slack.MissingView{
				{Collector: "pattern", Reason: "timed out after 4s"}, {Collector: "health", Reason: "access denied (elasticloadbalancing:DescribeTargetHealth)"}}}
			c.Steps = []slack.StepView{scaleStep()}
			return c
		}},
		{"deploys_unavailable", func() slack.Card {
			c := baseCard()
			c.Deploys = nil
			c.DeploysNote = "GitHub timed out <after 4s>"
			c.Steps = []slack.StepView{scaleStep()}
			return c
		}},
		{"plan_error", func() slack.Card {
			c := baseCard()
			s := scaleStep()
			s.Plan = ""
			s.Changes = nil
			s.PlanError = "describe service prod/checkout: ServiceNotFoundException"
			c.Steps = []slack.StepView{s}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := slack.RenderCard(tt.card())
			assertValidBlocks(t, msg.Blocks)
			compareGolden(t, tt.name, msg)
		})
	}
}

func TestRenderTimelineGolden(t *testing.T) {
	msg := slack.RenderTimeline([]slack.TimelineEntry{
		{At: t2, Actor: "U0ALICE", Text: "approved step 1 (ecs.scale)"},
		{At: t0, Actor: "medic", Text: "proposed step 1: prod/checkout desired 4 -> 6 tasks"},
		{At: t2.Add(40 * time.Second), Actor: "medic", Text: "step 1 succeeded: desired 4 -> 6"},
		{At: t2.Add(5 * time.Minute), Text: "alarm checkout-5xx back to OK <recovered>"},
	})
	assertValidBlocks(t, msg.Blocks)
	compareGolden(t, "timeline", msg)
}

// compareGolden compares msg with testdata/<name>.golden.json as JSON values.
func compareGolden(t *testing.T, name string, msg slack.Message) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <@U…> readable in the golden files
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Text   string           `json:"text"`
		Blocks []slackapi.Block `json:"blocks"`
	}{msg.Text, msg.Blocks}); err != nil {
		t.Fatalf("marshal message: %v", err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("write golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	var gotV, wantV any
	if err := json.Unmarshal(got, &gotV); err != nil {
		t.Fatalf("unmarshal rendered JSON: %v", err)
	}
	if err := json.Unmarshal(want, &wantV); err != nil {
		t.Fatalf("unmarshal golden %s: %v", path, err)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("rendered card differs from %s (run go test -update to accept):\n got: %s", path, got)
	}
}

// assertValidBlocks checks that blocks survive slack-go's own decoding and
// respect the Block Kit limits medic relies on.
func assertValidBlocks(t *testing.T, blocks []slackapi.Block) {
	t.Helper()
	if len(blocks) == 0 || len(blocks) > 50 {
		t.Fatalf("got %d blocks, want 1..50", len(blocks))
	}
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatalf("marshal blocks: %v", err)
	}
	var back slackapi.Blocks
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("slack-go cannot decode the rendered blocks: %v", err)
	}
	if len(back.BlockSet) != len(blocks) {
		t.Fatalf("round trip: got %d blocks, want %d", len(back.BlockSet), len(blocks))
	}
}

type button struct{ ActionID, Value, Style string }

func buttons(blocks []slackapi.Block) []button {
	var out []button
	for _, b := range blocks {
		ab, ok := b.(*slackapi.ActionBlock)
		if !ok {
			continue
		}
		for _, e := range ab.Elements.ElementSet {
			if btn, ok := e.(*slackapi.ButtonBlockElement); ok {
				out = append(out, button{btn.ActionID, btn.Value, string(btn.Style)})
			}
		}
	}
	return out
}

func TestRenderCardButtons(t *testing.T) {
	allStates := []slack.StepState{
		slack.StateProposed, slack.StateApproved, slack.StateExecuting, slack.StateSucceeded,
		slack.StateFailed, slack.StateRejected, slack.StateExpired, slack.StateCancelled,
		slack.StateBlocked, slack.StateNeedsHuman, slack.StateUndone,
	}
	for _, mode := range []slack.ApprovalMode{slack.ModeRequired, slack.ModeAuto, slack.ModeShadow} {
		for _, state := range allStates {
			for _, undo := range []bool{false, true} {
				s := scaleStep()
				s.Mode, s.State, s.UndoAvailable = mode, state, undo
				c := baseCard()
				c.Steps = []slack.StepView{s}
				got := buttons(slack.RenderCard(c).Blocks)

				var want []button
				switch {
				case mode == slack.ModeShadow:
				case mode == slack.ModeRequired && state == slack.StateProposed:
					want = []button{{slack.ActionApprove, s.ProposalID, "primary"}, {slack.ActionReject, s.ProposalID, "danger"}}
				case state == slack.StateSucceeded && undo:
					want = []button{{slack.ActionUndo, s.ProposalID, ""}}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s step in %s (undo=%v): buttons %v, want %v", mode, state, undo, got, want)
				}
			}
		}
	}
}

func TestRenderCardApproveConfirmStatesThePlan(t *testing.T) {
	c := baseCard()
	c.Steps = []slack.StepView{scaleStep()}
	for _, b := range slack.RenderCard(c).Blocks {
		ab, ok := b.(*slackapi.ActionBlock)
		if !ok {
			continue
		}
		btn := ab.Elements.ElementSet[0].(*slackapi.ButtonBlockElement)
		if btn.Confirm == nil || !strings.Contains(btn.Confirm.Text.Text, "desired 4 -> 6 tasks") {
			t.Fatalf("approve confirm dialog does not state the plan: %+v", btn.Confirm)
		}
		return
	}
	t.Fatal("no actions block rendered")
}

func TestRenderCardPlanErrorOffersOnlyReject(t *testing.T) {
	c := baseCard()
	s := scaleStep()
	s.PlanError = "boom"
	c.Steps = []slack.StepView{s}
	got := buttons(slack.RenderCard(c).Blocks)
	want := []button{{slack.ActionReject, s.ProposalID, "danger"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("buttons %v, want %v", got, want)
	}
}

func TestRenderCardEscapesUserText(t *testing.T) {
	c := baseCard()
	c.Reason = "<!channel> & friends"
	s := scaleStep()
	s.Approvers = []string{"<!here>", "U0ALICE", "S0ONCALL"}
	c.Steps = []slack.StepView{s}
	out := strings.Join(blockStrings(t, slack.RenderCard(c).Blocks), "\n")
	for _, bad := range []string{"<!channel>", "<!here>"} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered card contains unescaped %s", bad)
		}
	}
	for _, good := range []string{"<@U0ALICE>", "<!subteam^S0ONCALL>"} {
		if !strings.Contains(out, good) {
			t.Errorf("rendered card lacks mention %s", good)
		}
	}
}

func TestRenderCardStaysWithinFiftyBlocks(t *testing.T) {
	c := baseCard()
	for i := range 30 {
		s := scaleStep()
		s.Index = i
		s.ProposalID = "p" + string(rune('a'+i%26))
		c.Steps = append(c.Steps, s)
	}
	msg := slack.RenderCard(c)
	if len(msg.Blocks) != 50 {
		t.Fatalf("got %d blocks, want exactly 50 (truncated)", len(msg.Blocks))
	}
	assertValidBlocks(t, msg.Blocks)
}

func TestNewCardFromAlarm(t *testing.T) {
	threshold := 5.0
	a := &alarm.Alarm{
		Name: "api-502", Account: "123456789012", Region: "us-east-1", State: alarm.StateAlarm,
		Reason:     "Threshold Crossed",
		ReasonData: &alarm.ReasonData{Datapoints: []float64{7, 9}, Threshold: &threshold},
		HTTP5xx:    &alarm.HTTP5xx{Source: "elb", Code: "502"},
	}
	c := slack.NewCard(a)
	if c.AlarmName != "api-502" || c.AlarmState != "ALARM" || c.Class != "ELB 502" || c.Recovered ||
		!reflect.DeepEqual(c.Datapoints, []float64{7, 9}) || c.Threshold == nil || *c.Threshold != 5 ||
		c.Account != "123456789012" || c.Region != "us-east-1" || c.Reason != "Threshold Crossed" {
		t.Fatalf("NewCard = %+v", c)
	}
}

func TestClassText(t *testing.T) {
	tests := []struct {
		in   *alarm.HTTP5xx
		want string
	}{
		{nil, ""},
		{&alarm.HTTP5xx{Source: "target", Code: "5XX"}, "target 5xx"},
		{&alarm.HTTP5xx{Source: "elb", Code: "502"}, "ELB 502"},
		{&alarm.HTTP5xx{Source: "elb", Code: "5XX"}, "ELB 5xx"},
		{&alarm.HTTP5xx{Source: "target", Code: "504"}, "target 504"},
	}
	for _, tt := range tests {
		if got := slack.ClassText(tt.in); got != tt.want {
			t.Errorf("ClassText(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// blockStrings returns every string value in the blocks' JSON, decoded.
func blockStrings(t *testing.T, blocks []slackapi.Block) []string {
	t.Helper()
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatalf("marshal blocks: %v", err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("unmarshal blocks: %v", err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// TestStepSaysWhenItReachedItsState: a decided or finished step says who,
// what and when; a waiting step and a step without a time say no time.
func TestStepSaysWhenItReachedItsState(t *testing.T) {
	when := "<!date^1710252210^{date_short_pretty} {time_secs}|2024-03-12 14:03:30 UTC>"
	tests := []struct {
		name  string
		state slack.StepState
		by    string
		at    time.Time
		want  string
	}{
		{"approved", slack.StateApproved, "", t1, ":white_check_mark: *Approved* at " + when + ", queued to run"},
		{"rejected", slack.StateRejected, "U0BOB", t1, ":no_entry_sign: *Rejected* by <@U0BOB> at " + when},
		{"running", slack.StateExecuting, "", t1, ":gear: *Running* since " + when},
		{"done", slack.StateSucceeded, "", t1, ":white_check_mark: *Done* at " + when},
		{"failed", slack.StateFailed, "", t1, ":x: *Failed* at " + when},
		{"undone", slack.StateUndone, "U0CAROL", t1, ":leftwards_arrow_with_hook: *Undone* by <@U0CAROL> at " + when},
		{"needs a human", slack.StateNeedsHuman, "", t1, ":sos: *Needs a human* at " + when},
		{"expired", slack.StateExpired, "", t1, ":alarm_clock: *Expired* without approval at " + when},
		{"no time known", slack.StateRejected, "U0BOB", time.Time{}, ":no_entry_sign: *Rejected* by <@U0BOB>\n"},
		{"waiting", slack.StateProposed, "", t1, ":hourglass_flowing_sand: *Awaiting approval* (0 of 1)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseCard()
			s := scaleStep()
			s.State, s.DecidedBy, s.StateAt = tt.state, tt.by, tt.at
			c.Steps = []slack.StepView{s}
			got := stepSection(t, slack.RenderCard(c))
			if !strings.Contains(got, tt.want) {
				t.Errorf("step says\n%s\nwant it to contain %q", got, tt.want)
			}
			if tt.at.IsZero() || tt.state == slack.StateProposed {
				if strings.Contains(strings.SplitN(got, "\n", 3)[1], "<!date^") {
					t.Errorf("step without a decision time shows one: %s", got)
				}
			}
		})
	}
}

// stepSection is the text of the first step's section block.
func stepSection(t *testing.T, msg slack.Message) string {
	t.Helper()
	for _, b := range msg.Blocks {
		if sec, ok := b.(*slackapi.SectionBlock); ok && sec.Text != nil && strings.HasPrefix(sec.Text.Text, "*Step 1") {
			return sec.Text.Text + "\n"
		}
	}
	t.Fatal("no step section")
	return ""
}

// A step still in effect (maintenance that medic watches) says for how
// long, in Slack's live relative time, next to its result and Undo.
func TestRenderCardShowsHowLongAStepHasBeenInEffect(t *testing.T) {
	s := scaleStep()
	s.State, s.UndoAvailable = slack.StateSucceeded, true
	since := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	s.InEffectSince = since
	c := baseCard()
	c.Steps = []slack.StepView{s}
	text := func() string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(slack.RenderCard(c).Blocks); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	raw := text()
	want := fmt.Sprintf(`in effect since <!date^%d^{ago}|2026-12-03 09:00:00 UTC>`, since.Unix())
	if !strings.Contains(raw, want) {
		t.Errorf("the card does not say %q:\n%s", want, raw)
	}
	s.InEffectSince = time.Time{}
	c.Steps = []slack.StepView{s}
	if strings.Contains(text(), "in effect since") {
		t.Error("a step not in effect says it is")
	}
}
