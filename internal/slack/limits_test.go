package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slack/slacktesting"
)

// long repeats a unit that mixes what mrkdwn must escape with multi-byte
// runes until it is n bytes or more, so that any cut lands on every kind of
// boundary sooner or later.
func long(n int, seed string) string {
	unit := seed + " & <b> é 日本 🚀 "
	return strings.Repeat(unit, n/len(unit)+1)
}

// maximalCard is a card with every field at or far past what Slack takes.
func maximalCard() slack.Card {
	threshold := 1e300
	var points []float64
	for i := range 1000 {
		points = append(points, float64(i)*1.5e-7)
	}
	var deploys []slack.Deploy
	for i := range 60 {
		deploys = append(deploys, slack.Deploy{
			SHA: strings.Repeat("f", 40), Author: long(300, "author"), PRTitle: long(500, "title"), PRNumber: 100000 + i,
			PRURL: "https://github.com/acme/checkout/pull/" + strings.Repeat("9", 500), CompareURL: "https://github.com/acme/checkout/compare/" + strings.Repeat("a", 500),
		})
	}
	return slack.Card{
		IncidentID: long(2000, "incident"),
		AlarmName:  long(255, "alarm"),
		AlarmState: "ALARM",
		Reason:     long(10000, "reason"),
		Datapoints: points,
		Threshold:  &threshold,
		Class:      long(3000, "class"),
		Account:    long(3000, "account"),
		Region:     long(3000, "region"),
		Policy:     long(5000, "policy"),
		RunbookURL: "https://runbooks.example.com/" + strings.Repeat("r", 3000),
		Paused:     &slack.Pause{By: long(500, "pauser"), At: t0, Reason: long(4200, "reason for the pause")},
		Deploys:    deploys,
	}
}

// maximalStep is a step with every field far past what Slack takes; its
// proposal ID is as long as medic allows.
func maximalStep(i int) slack.StepView {
	var changes []slack.Change
	for j := range 500 {
		changes = append(changes, slack.Change{Resource: long(100, "res"), Field: fmt.Sprintf("f%d", j), From: long(50, "from"), To: long(50, "to")})
	}
	var approvers []string
	var votes []slack.Vote
	for j := range 100 {
		approvers = append(approvers, fmt.Sprintf("U0APPROVER%03d", j), "<!channel> "+long(40, "name"))
		votes = append(votes, slack.Vote{UserID: fmt.Sprintf("U0VOTER%03d", j), At: t1})
	}
	id := fmt.Sprintf("p%d#", i)
	return slack.StepView{
		ProposalID:  id + strings.Repeat("x", slack.MaxProposalIDLen-len(id)),
		Index:       i,
		Action:      long(500, "action"),
		Plan:        long(10000, "plan"),
		Changes:     changes,
		Mode:        slack.ModeRequired,
		Approvers:   approvers,
		Quorum:      1000,
		Votes:       votes,
		State:       slack.StateProposed,
		StateReason: long(5000, "state reason"),
		DecidedBy:   long(500, "decider"),
		StateAt:     t2,
		Result:      long(5000, "result"),
		ExpiresAt:   t2,
	}
}

var allStates = []slack.StepState{
	slack.StateProposed, slack.StateApproved, slack.StateExecuting, slack.StateSucceeded,
	slack.StateFailed, slack.StateRejected, slack.StateExpired, slack.StateCancelled,
	slack.StateBlocked, slack.StateNeedsHuman, slack.StateUndone,
}

// wantButtons is the buttons a lone step in this mode and state carries.
func wantButtons(s slack.StepView) []button {
	switch {
	case s.Mode == slack.ModeShadow:
		return nil
	case s.Mode == slack.ModeRequired && s.State == slack.StateProposed && s.PlanError != "":
		return []button{{slack.ActionReject, s.ProposalID, "danger"}}
	case s.Mode == slack.ModeRequired && s.State == slack.StateProposed:
		return []button{{slack.ActionApprove, s.ProposalID, "primary"}, {slack.ActionReject, s.ProposalID, "danger"}}
	case s.State == slack.StateSucceeded && s.UndoAvailable:
		return []button{{slack.ActionUndo, s.ProposalID, ""}}
	}
	return nil
}

// TestEveryCardStateWithMaximalInputsKeepsEveryLimit renders a card in
// every mode and state of its step, every input far past Slack's limits and
// medic paused with a 4,200-character reason, and checks every Block Kit
// limit, that no cut broke an escape, a <…> construct or a rune, that the
// paused banner keeps its last line, and that the buttons are all there.
func TestEveryCardStateWithMaximalInputsKeepsEveryLimit(t *testing.T) {
	for _, mode := range []slack.ApprovalMode{slack.ModeRequired, slack.ModeAuto, slack.ModeShadow} {
		for _, state := range allStates {
			for _, variant := range []string{"plain", "undo", "plan error", "recovered"} {
				t.Run(fmt.Sprintf("%s %s %s", mode, state, variant), func(t *testing.T) {
					c := maximalCard()
					s := maximalStep(0)
					s.Mode, s.State = mode, state
					switch variant {
					case "undo":
						s.UndoAvailable = true
					case "plan error":
						s.PlanError = long(5000, "plan error")
					case "recovered":
						c.Recovered, c.AlarmState = true, "OK"
					}
					c.Steps = []slack.StepView{s}
					msg := slack.RenderCard(c)
					checkMessage(t, msg)
					checkPausedBanner(t, msg)
					if got, want := buttons(msg.Blocks), wantButtons(s); !reflect.DeepEqual(got, want) {
						t.Errorf("buttons %v, want %v", got, want)
					}
				})
			}
		}
	}
}

// checkMessage fails t for every Block Kit limit msg breaks and every text
// a cut left broken.
func checkMessage(t *testing.T, msg slack.Message) {
	t.Helper()
	if err := msg.Check(); err != nil {
		t.Fatalf("the message breaks Block Kit limits:\n%v", err)
	}
	if len(msg.Blocks) > 0 {
		assertValidBlocks(t, msg.Blocks)
	}
	texts := map[string][]string{"mrkdwn": {msg.Text}}
	collectTexts(t, msg.Blocks, texts)
	for _, s := range texts["mrkdwn"] {
		if err := intactMrkdwn(s); err != nil {
			t.Errorf("mrkdwn: %v in %q", err, clip(s))
		}
	}
	for _, s := range texts["plain_text"] {
		if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
			t.Errorf("plain text: a broken rune in %q", clip(s))
		}
	}
}

// collectTexts adds the text of every text object in blocks to texts, by
// the object's type.
func collectTexts(t *testing.T, blocks []slackapi.Block, texts map[string][]string) {
	t.Helper()
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatalf("marshal blocks: %v", err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("unmarshal blocks: %v", err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if typ, _ := x["type"].(string); typ == "mrkdwn" || typ == "plain_text" {
				text, _ := x["text"].(string)
				texts[typ] = append(texts[typ], text)
			}
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

// intactMrkdwn reports a broken rune, a broken escape or an unclosed <…>.
func intactMrkdwn(s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return fmt.Errorf("a broken rune")
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			rest := s[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				return fmt.Errorf("a broken escape at byte %d", i)
			}
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return fmt.Errorf("an unclosed < at byte %d", i)
			}
			if strings.ContainsRune(s[i+1:i+end], '<') {
				return fmt.Errorf("a < inside <…> at byte %d", i)
			}
			i += end
		case '>':
			return fmt.Errorf("a > outside <…> at byte %d", i)
		}
	}
	return nil
}

func clip(s string) string {
	if r := []rune(s); len(r) > 120 {
		return string(r[:60]) + " … " + string(r[len(r)-60:])
	}
	return s
}

// checkPausedBanner: the banner is there, whole but for its cut reason.
func checkPausedBanner(t *testing.T, msg slack.Message) {
	t.Helper()
	for _, b := range msg.Blocks {
		sec, ok := b.(*slackapi.SectionBlock)
		if ok && sec.Text != nil && strings.HasPrefix(sec.Text.Text, ":double_vertical_bar: *medic is paused*") {
			if !strings.HasSuffix(sec.Text.Text, "…\nNothing runs automatically until medic is resumed.") {
				t.Errorf("the paused banner lost its last line or its cut: %q", clip(sec.Text.Text))
			}
			return
		}
	}
	t.Error("no paused banner")
}

func TestRenderCardNeverLosesTheButtonsOfStepsAwaitingApproval(t *testing.T) {
	step := func(i int, state slack.StepState, undo bool) slack.StepView {
		s := maximalStep(i)
		s.State, s.UndoAvailable = state, undo
		if state != slack.StateProposed {
			s.Mode = slack.ModeAuto
		}
		return s
	}
	tests := []struct {
		name       string
		steps      func() []slack.StepView
		wantAwait  int // steps whose Approve and Reject buttons must be on the card
		wantUndo   int // at least this many Undo buttons
		wantNote   string
		wantInLine string // a collapsed step's line
	}{
		{"a long ladder: 60 finished steps, then one awaiting approval", func() []slack.StepView {
			var out []slack.StepView
			for i := range 60 {
				out = append(out, step(i, slack.StateFailed, false))
			}
			return append(out, step(60, slack.StateProposed, false))
		}, 1, 0, "", "*Step 1 · `"},
		{"a dozen policies, each with finished steps and one awaiting approval", func() []slack.StepView {
			var out []slack.StepView
			for p := range 12 {
				for i := range 4 {
					out = append(out, step(p*5+i, slack.StateSucceeded, true))
				}
				out = append(out, step(p*5+4, slack.StateProposed, false))
			}
			return out
		}, 12, 1, "", ""},
		{fmt.Sprintf("exactly %d awaiting approval among running steps", slack.MaxActionableSteps), func() []slack.StepView {
			var out []slack.StepView
			for i := range slack.MaxActionableSteps {
				out = append(out, step(i, slack.StateExecuting, false), step(i, slack.StateProposed, false))
			}
			return out
		}, slack.MaxActionableSteps, 0, "", ""},
		{"more awaiting approval than a card holds", func() []slack.StepView {
			var out []slack.StepView
			for i := range slack.MaxActionableSteps + 7 {
				out = append(out, step(i, slack.StateProposed, false))
			}
			return out
		}, slack.MaxActionableSteps, 0, "7 more steps awaiting approval not shown", ""},
		{"more awaiting approval than a card holds, after a step with Undo", func() []slack.StepView {
			out := []slack.StepView{step(0, slack.StateSucceeded, true)}
			for i := range slack.MaxActionableSteps + 7 {
				out = append(out, step(1+i, slack.StateProposed, false))
			}
			return out
		}, slack.MaxActionableSteps - 1, 0, "8 more steps awaiting approval not shown", "*Step 1 · `"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := maximalCard()
			c.Steps = tt.steps()
			msg := slack.RenderCard(c)
			checkMessage(t, msg)
			checkPausedBanner(t, msg)

			approve, reject, undo := map[string]bool{}, map[string]bool{}, 0
			for _, b := range buttons(msg.Blocks) {
				switch b.ActionID {
				case slack.ActionApprove:
					approve[b.Value] = true
				case slack.ActionReject:
					reject[b.Value] = true
				case slack.ActionUndo:
					undo++
				}
			}
			kept := 0
			for _, s := range c.Steps {
				if s.State == slack.StateProposed && approve[s.ProposalID] && reject[s.ProposalID] {
					kept++
				}
			}
			if kept != tt.wantAwait || len(approve) != tt.wantAwait || len(reject) != tt.wantAwait {
				t.Errorf("%d steps awaiting approval kept both buttons (%d approve, %d reject), want %d", kept, len(approve), len(reject), tt.wantAwait)
			}
			if undo < tt.wantUndo {
				t.Errorf("%d Undo buttons, want at least %d", undo, tt.wantUndo)
			}
			all := strings.Join(blockStrings(t, msg.Blocks), "\n")
			if tt.wantNote != "" && !strings.Contains(all, tt.wantNote) {
				t.Errorf("the card does not say %q", tt.wantNote)
			}
			if tt.wantNote == "" && strings.Contains(all, "awaiting approval not shown") {
				t.Error("the card says steps awaiting approval are not shown, but all fit")
			}
			if tt.wantInLine != "" && !strings.Contains(all, tt.wantInLine) {
				t.Errorf("the collapsed steps do not include %q", tt.wantInLine)
			}
		})
	}
}

// TestRenderCardCollapsesFinishedStepsBeforeAnythingElse: a ladder just too
// long for the full card keeps the reason, deploys, footer and the awaiting
// step's own context block; only the finished steps became lines.
func TestRenderCardCollapsesFinishedStepsBeforeAnythingElse(t *testing.T) {
	c := baseCard()
	for i := range 25 {
		s := scaleStep()
		s.Index, s.ProposalID = i, fmt.Sprintf("p%d", i)
		s.Mode, s.State, s.StateAt, s.Result = slack.ModeAuto, slack.StateSucceeded, t2, "desired 4 -> 6"
		c.Steps = append(c.Steps, s)
	}
	waiting := scaleStep()
	waiting.Index, waiting.ProposalID = 25, "p25"
	c.Steps = append(c.Steps, waiting)
	msg := slack.RenderCard(c)
	checkMessage(t, msg)
	all := strings.Join(blockStrings(t, msg.Blocks), "\n")
	for _, want := range []string{"Threshold Crossed", "Suspect deploys", "incident `", "Approvers: <@U0ALICE>", "*Step 20 · `ecs.scale`* · :white_check_mark: *Done*"} {
		if !strings.Contains(all, want) {
			t.Errorf("collapsed card lacks %q", want)
		}
	}
	if got := buttons(msg.Blocks); !reflect.DeepEqual(got, wantButtons(waiting)) {
		t.Errorf("buttons %v, want %v", got, wantButtons(waiting))
	}
}

func TestRenderTimelineWithMaximalInputsKeepsEveryLimit(t *testing.T) {
	var entries []slack.TimelineEntry
	for i := range 500 {
		entries = append(entries, slack.TimelineEntry{At: t0.Add(time.Duration(i) * time.Second), Actor: long(300, "actor"), Text: long(4000, "text")})
	}
	msg := slack.RenderTimeline(entries)
	checkMessage(t, msg)
}

func TestTextMessageIsCutToWhatSlackTakes(t *testing.T) {
	escape := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	msg := slack.TextMessage(escape.Replace(long(50000, "summary")))
	checkMessage(t, msg)
	if !strings.HasSuffix(msg.Text, "…") {
		t.Errorf("a cut text does not end in an ellipsis: %q", clip(msg.Text))
	}
}

// TestCheckFindsEveryBrokenLimit: Check is the oracle of the tests above,
// so it must itself catch each limit.
func TestCheckFindsEveryBrokenLimit(t *testing.T) {
	md := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
	}
	pl := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
	}
	x := strings.Repeat
	btn := func(id, value, text string) *slackapi.ButtonBlockElement {
		return slackapi.NewButtonBlockElement(id, value, pl(text))
	}
	many := func(n int, b slackapi.Block) []slackapi.Block {
		out := make([]slackapi.Block, n)
		for i := range out {
			out[i] = b
		}
		return out
	}
	var fields, ctx []*slackapi.TextBlockObject
	for range 11 {
		fields = append(fields, md("f"))
		ctx = append(ctx, md("c"))
	}
	ctxEls := make([]slackapi.MixedElement, len(ctx))
	for i, c := range ctx {
		ctxEls[i] = c
	}
	confirm := slackapi.NewConfirmationBlockObject(pl(x("t", 101)), pl("ok"), pl("Yes"), pl("No"))
	tests := []struct {
		name string
		msg  slack.Message
		want string
	}{
		{"51 blocks", slack.Message{Blocks: many(51, slackapi.NewDividerBlock())}, "51 blocks, over 50"},
		{"a long header", slack.Message{Blocks: []slackapi.Block{slackapi.NewHeaderBlock(pl(x("h", 151)))}}, "text of 151 bytes, over 150"},
		{"a long section", slack.Message{Blocks: []slackapi.Block{slackapi.NewSectionBlock(md(x("s", 3001)), nil, nil)}}, "text of 3001 bytes, over 3000"},
		{"an empty section", slack.Message{Blocks: []slackapi.Block{slackapi.NewSectionBlock(md(""), nil, nil)}}, "empty text"},
		{"11 fields", slack.Message{Blocks: []slackapi.Block{slackapi.NewSectionBlock(nil, fields, nil)}}, "11 fields, over 10"},
		{"a long field", slack.Message{Blocks: []slackapi.Block{slackapi.NewSectionBlock(nil, []*slackapi.TextBlockObject{md(x("f", 2001))}, nil)}}, "text of 2001 bytes, over 2000"},
		{"11 context elements", slack.Message{Blocks: []slackapi.Block{slackapi.NewContextBlock("", ctxEls...)}}, "11 elements, want 1 to 10"},
		{"a long context text", slack.Message{Blocks: []slackapi.Block{slackapi.NewContextBlock("", md(x("c", 3001)))}}, "text of 3001 bytes, over 3000"},
		{"a long button text", slack.Message{Blocks: []slackapi.Block{slackapi.NewActionBlock("", btn("a", "v", x("b", 76)))}}, "text of 76 bytes, over 75"},
		{"a long button value", slack.Message{Blocks: []slackapi.Block{slackapi.NewActionBlock("", btn("a", x("v", 2001), "b"))}}, "value of 2001 bytes"},
		{"a long action_id", slack.Message{Blocks: []slackapi.Block{slackapi.NewActionBlock("", btn(x("a", 256), "v", "b"))}}, "action_id of 256 bytes"},
		{"a long confirm title", slack.Message{Blocks: []slackapi.Block{slackapi.NewActionBlock("", btn("a", "v", "b").WithConfirm(confirm))}}, "confirm.title: text of 101 bytes, over 100"},
		{"a long fallback text", slack.Message{Text: x("t", 3001)}, "message text: 3001 bytes, over 3000"},
		{"too much text in all", slack.Message{Blocks: many(3, slackapi.NewSectionBlock(md(x("s", 2700)), nil, nil))}, "the blocks' texts total 8100 bytes, over 8000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.msg.Check()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestRenderCardGoldenAtTheLimits pins the cards at the edges: the paused
// banner with a 4,200-character reason (cut inside the section, last line
// kept), a ladder too long for the full card (finished steps collapsed),
// and more steps awaiting approval than a card holds (the lean card).
func TestRenderCardGoldenAtTheLimits(t *testing.T) {
	finished := func(i int) slack.StepView {
		s := scaleStep()
		s.Index, s.ProposalID = i, fmt.Sprintf("inc-1#%d", i)
		s.Mode, s.Approvers, s.State, s.StateAt = slack.ModeAuto, nil, slack.StateSucceeded, t2
		s.Result = "prod/checkout: desired 4 -> 6 tasks"
		return s
	}
	awaiting := func(i int) slack.StepView {
		s := scaleStep()
		s.Index, s.ProposalID = i, fmt.Sprintf("inc-1#%d", i)
		return s
	}
	tests := []struct {
		name string
		card func() slack.Card
	}{
		{"limits_paused_long_reason", func() slack.Card {
			c := baseCard()
			c.Paused = &slack.Pause{By: "U0BOB", At: t0.Add(-time.Hour), Reason: long(4200, "deploy freeze")}
			c.Steps = []slack.StepView{scaleStep()}
			return c
		}},
		{"limits_long_ladder", func() slack.Card {
			c := baseCard()
			for i := range 25 {
				c.Steps = append(c.Steps, finished(i))
			}
			c.Steps = append(c.Steps, awaiting(25))
			return c
		}},
		{"limits_more_awaiting_than_a_card_holds", func() slack.Card {
			c := baseCard()
			c.Paused = &slack.Pause{By: "U0BOB", At: t0.Add(-time.Hour), Reason: "game day"}
			for i := range 3 {
				c.Steps = append(c.Steps, finished(i))
			}
			for i := range slack.MaxActionableSteps + 2 {
				c.Steps = append(c.Steps, awaiting(3+i))
			}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := slack.RenderCard(tt.card())
			checkMessage(t, msg)
			compareGolden(t, tt.name, msg)
		})
	}
}

// TestAnEphemeralReplyWithALongMessageKeepsEveryLimit: what the decider
// says to the user is cut like every other text.
func TestAnEphemeralReplyWithALongMessageKeepsEveryLimit(t *testing.T) {
	e := newEnv(t, slack.HandlerConfig{})
	escape := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	e.decider.decide = func(context.Context, slack.Decision) (slack.Outcome, error) {
		return slack.Outcome{Kind: slack.OutcomeStale, Message: escape.Replace(long(20000, "why"))}, nil
	}
	if code := e.serve(slacktesting.Click{UserID: "U0BOB", ProposalID: "p1", Verb: "approve"}); code != 200 {
		t.Fatalf("status %d, want 200", code)
	}
	reqs := e.srv.Requests(slacktesting.MethodPostEphemeral)
	if len(reqs) != 1 {
		t.Fatalf("%d ephemeral replies, want 1", len(reqs))
	}
	checkMessage(t, slack.Message{Text: reqs[0].Form.Get("text"), Blocks: reqs[0].Blocks})
}

// FuzzRenderCard: whatever the alarm, the pause and the step say, the card
// keeps every Block Kit limit and a step awaiting approval keeps its
// buttons.
func FuzzRenderCard(f *testing.F) {
	f.Add("checkout-5xx", "Threshold Crossed", "game day", "desired 4 -> 6", "inc-1#0", "U0BOB", 3)
	f.Add(long(300, "a"), long(5000, "&<>"), long(4200, "é"), long(4000, "🚀"), "p", "<!channel>", 60)
	f.Add("", "", "", "", "", "", 0)
	f.Add("\xff\xfe", "&amp", "<@U0A", "&lt", "x\xffy", "\x00", 1)
	f.Fuzz(func(t *testing.T, name, reason, pause, plan, id, by string, steps int) {
		steps = min(max(steps, 0), 80)
		if len(id) > slack.MaxProposalIDLen-3 { // proposal IDs are bounded (StepView.ProposalID)
			id = id[:slack.MaxProposalIDLen-3]
		}
		c := baseCard()
		c.AlarmName, c.Reason, c.IncidentID = name, reason, id
		c.Paused = &slack.Pause{By: by, Reason: pause}
		for i := range steps {
			s := scaleStep()
			s.Index, s.ProposalID, s.Plan, s.StateReason = i, fmt.Sprintf("%s#%d", id, i), plan, reason
			if i < steps-1 {
				s.Mode, s.State, s.Result = slack.ModeAuto, slack.StateSucceeded, plan
			}
			c.Steps = append(c.Steps, s)
		}
		msg := slack.RenderCard(c)
		if err := msg.Check(); err != nil {
			t.Fatalf("the card breaks Block Kit limits:\n%v", err)
		}
		if steps > 0 {
			last := c.Steps[steps-1]
			var got []button
			for _, b := range buttons(msg.Blocks) {
				if b.Value == last.ProposalID {
					got = append(got, b)
				}
			}
			if !reflect.DeepEqual(got, wantButtons(last)) {
				t.Fatalf("the step awaiting approval has buttons %v, want %v", got, wantButtons(last))
			}
		}
	})
}

// TestEveryMixOfStepsFitsAndKeepsTheAwaitingButtons renders cards with
// every mix of steps awaiting approval, steps with Undo and finished steps,
// paused or not: each fits Block Kit, and every step awaiting approval
// keeps both buttons whenever there are at most MaxActionableSteps of them.
func TestEveryMixOfStepsFitsAndKeepsTheAwaitingButtons(t *testing.T) {
	for _, paused := range []bool{false, true} {
		for awaiting := 0; awaiting <= slack.MaxActionableSteps+3; awaiting++ {
			for undos := 0; undos <= 30; undos += 6 {
				for passive := 0; passive <= 40; passive += 13 {
					c := baseCard()
					if paused {
						c.Paused = &slack.Pause{By: "U0BOB", Reason: "game day"}
					}
					n := 0
					add := func(s slack.StepView) {
						s.Index, s.ProposalID = n, fmt.Sprintf("p%d", n)
						n++
						c.Steps = append(c.Steps, s)
					}
					for range passive {
						s := scaleStep()
						s.State = slack.StateFailed
						add(s)
					}
					for range undos {
						s := scaleStep()
						s.Mode, s.State, s.UndoAvailable = slack.ModeAuto, slack.StateSucceeded, true
						add(s)
					}
					for range awaiting {
						add(scaleStep())
					}
					msg := slack.RenderCard(c)
					if err := msg.Check(); err != nil {
						t.Fatalf("paused %v, %d awaiting, %d undo, %d finished: %v", paused, awaiting, undos, passive, err)
					}
					approve, reject := 0, 0
					for _, b := range buttons(msg.Blocks) {
						switch b.ActionID {
						case slack.ActionApprove:
							approve++
						case slack.ActionReject:
							reject++
						}
					}
					if want := min(awaiting, slack.MaxActionableSteps); awaiting <= slack.MaxActionableSteps && (approve != want || reject != want) {
						t.Fatalf("paused %v, %d awaiting, %d undo, %d finished: %d Approve and %d Reject buttons, want %d each",
							paused, awaiting, undos, passive, approve, reject, want)
					}
				}
			}
		}
	}
}
