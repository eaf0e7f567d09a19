package slack

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"
)

// The action IDs of the card's buttons. A button's value is the proposal ID,
// nothing else.
const (
	ActionApprove = "medic:approve"
	ActionReject  = "medic:reject"
	ActionUndo    = "medic:undo"
)

// Block Kit limits the renderer respects.
const (
	maxBlocks       = 50
	maxHeaderText   = 150
	maxSectionText  = 3000
	maxFieldText    = 2000
	maxContextText  = 2000
	maxConfirmText  = 300
	maxConfirmTitle = 100
	maxFallbackText = 3000
)

// MaxProposalIDLen bounds a proposal ID carried in a button value (Slack
// allows 2000 characters; medic's IDs are far shorter). The handler refuses
// longer values as malformed.
const MaxProposalIDLen = 200

// Message is a rendered Slack message: Block Kit blocks plus the plain
// fallback text Slack shows in notifications and where blocks cannot render.
type Message struct {
	Text   string
	Blocks []slackapi.Block
}

// RenderCard renders an incident card.
//
// Buttons: a required step in PROPOSED gets "Approve" (primary, with a
// confirmation dialog stating the plan) and "Reject" (danger); with a plan
// error only "Reject". A SUCCEEDED step whose change can be reversed gets
// "Undo". Shadow steps never get buttons. Every button's action ID is one of
// ActionApprove, ActionReject, ActionUndo and its value the proposal ID.
func RenderCard(c Card) Message {
	var blocks []slackapi.Block

	blocks = append(blocks, slackapi.NewHeaderBlock(plain(truncate(headerText(c), maxHeaderText))))

	if c.Paused != nil {
		blocks = append(blocks, section(pausedText(c.Paused)))
	}

	if fields := summaryFields(c); len(fields) > 0 {
		blocks = append(blocks, slackapi.NewSectionBlock(nil, fields, nil))
	}
	if c.Reason != "" {
		blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(truncate(escape(c.Reason), maxContextText))))
	}
	switch {
	case len(c.Deploys) > 0:
		blocks = append(blocks, section(deploysText(c.Deploys)))
	case c.DeploysNote != "":
		blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(truncate("*Suspect deploys* unavailable: "+escape(c.DeploysNote), maxContextText))))
	}

	for _, s := range c.Steps {
		blocks = append(blocks, slackapi.NewDividerBlock())
		blocks = append(blocks, stepBlocks(c, s)...)
	}

	if c.IncidentID != "" {
		blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(truncate("incident `"+escape(c.IncidentID)+"`", maxContextText))))
	}

	if len(blocks) > maxBlocks {
		dropped := len(blocks) - (maxBlocks - 1)
		blocks = append(blocks[:maxBlocks-1:maxBlocks-1], slackapi.NewContextBlock("",
			mrkdwn(fmt.Sprintf(":scissors: %d more blocks not shown; see the audit log", dropped))))
	}

	return Message{Text: truncate(cardFallback(c), maxFallbackText), Blocks: blocks}
}

func headerText(c Card) string {
	state := c.AlarmState
	if state == "" {
		state = "ALARM"
	}
	emoji := ":rotating_light:"
	switch {
	case c.Recovered || state == "OK":
		emoji = ":white_check_mark:"
	case state == "INSUFFICIENT_DATA":
		emoji = ":grey_question:"
	}
	name := c.AlarmName
	if name == "" {
		name = "(unnamed alarm)"
	}
	return emoji + " " + state + " " + name
}

func pausedText(p *Pause) string {
	var b strings.Builder
	b.WriteString(":double_vertical_bar: *medic is paused*")
	if p.By != "" {
		b.WriteString(" by " + mention(p.By))
	}
	if !p.At.IsZero() {
		b.WriteString(" since " + slackDate(p.At))
	}
	if p.Reason != "" {
		b.WriteString(": " + escape(p.Reason))
	}
	b.WriteString("\nNothing runs automatically until medic is resumed.")
	return b.String()
}

func summaryFields(c Card) []*slackapi.TextBlockObject {
	var fields []*slackapi.TextBlockObject
	add := func(title, value string) {
		if value == "" {
			return
		}
		fields = append(fields, mrkdwn(truncate("*"+title+"*\n"+value, maxFieldText)))
	}
	add("5xx class", escape(c.Class))
	add("Datapoints", datapointsText(c.Datapoints, c.Threshold))
	where := strings.Join(nonEmpty(escape(c.Account), escape(c.Region)), " · ")
	add("Account / region", where)
	policy := escape(c.Policy)
	if c.RunbookURL != "" {
		if policy == "" {
			policy = link(c.RunbookURL, "runbook")
		} else {
			policy += " · " + link(c.RunbookURL, "runbook")
		}
	}
	add("Policy", policy)
	return fields
}

func datapointsText(points []float64, threshold *float64) string {
	if len(points) == 0 && threshold == nil {
		return ""
	}
	var parts []string
	for _, p := range points {
		parts = append(parts, formatFloat(p))
	}
	s := strings.Join(parts, ", ")
	if s == "" {
		s = "n/a"
	}
	if threshold != nil {
		s += " (threshold " + formatFloat(*threshold) + ")"
	}
	return s
}

func deploysText(deploys []Deploy) string {
	var b strings.Builder
	b.WriteString("*Suspect deploys*")
	for _, d := range deploys {
		b.WriteString("\n• ")
		sha := d.SHA
		if len(sha) > 7 {
			sha = sha[:7]
		}
		b.WriteString("`" + escape(sha) + "`")
		if d.Author != "" {
			b.WriteString(" by " + escape(d.Author))
		}
		if d.PRNumber > 0 || d.PRTitle != "" {
			title := escape(d.PRTitle)
			if d.PRNumber > 0 {
				title = strings.TrimSpace("#" + strconv.Itoa(d.PRNumber) + " " + title)
			}
			b.WriteString(" — " + link(d.PRURL, title))
		}
		if d.CompareURL != "" {
			b.WriteString(" · " + link(d.CompareURL, "diff"))
		}
	}
	return truncate(b.String(), maxSectionText)
}

func stepBlocks(c Card, s StepView) []slackapi.Block {
	var b strings.Builder
	fmt.Fprintf(&b, "*Step %d · `%s`* · %s\n", s.Index+1, escape(s.Action), modeLabel(s.Mode))
	b.WriteString(stateLine(c, s))
	if plan := planText(s); plan != "" {
		b.WriteString("\n" + plan)
	}
	blocks := []slackapi.Block{section(truncate(b.String(), maxSectionText))}

	if ctx := stepContext(s); ctx != "" {
		blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(truncate(ctx, maxContextText))))
	}
	if buttons := stepButtons(s); len(buttons) > 0 {
		blocks = append(blocks, slackapi.NewActionBlock("", buttons...))
	}
	return blocks
}

func modeLabel(m ApprovalMode) string {
	switch m {
	case ModeAuto:
		return "automatic"
	case ModeShadow:
		return "shadow"
	case ModeRequired:
		return "approval required"
	default:
		return escape(string(m))
	}
}

func stateLine(c Card, s StepView) string {
	reason := ""
	if s.StateReason != "" {
		reason = ": " + escape(s.StateReason)
	}
	by := ""
	if s.DecidedBy != "" {
		by = " by " + mention(s.DecidedBy)
	}
	// at says when the step reached its state: who, outcome and when.
	at := ""
	if !s.StateAt.IsZero() {
		at = " at " + slackDate(s.StateAt)
	}
	if s.Mode == ModeShadow {
		return ":ghost: *Shadow*: would have run; shadow steps never execute" + reason
	}
	switch s.State {
	case StateProposed:
		if s.Mode == ModeAuto {
			return ":arrow_forward: *Starting automatically*" + reason
		}
		if s.PlanError != "" {
			return ":hourglass_flowing_sand: *Cannot be approved*: planning failed"
		}
		return fmt.Sprintf(":hourglass_flowing_sand: *Awaiting approval* (%d of %d)%s", len(s.Votes), quorum(s), reason)
	case StateApproved:
		if s.Mode == ModeAuto {
			return ":arrow_forward: *Queued to run*" + at + reason
		}
		return ":white_check_mark: *Approved*" + at + ", queued to run" + reason
	case StateExecuting:
		since := ""
		if !s.StateAt.IsZero() {
			since = " since " + slackDate(s.StateAt)
		}
		return ":gear: *Running*" + since + reason
	case StateSucceeded:
		line := ":white_check_mark: *Done*" + at
		if s.Result != "" {
			line += ": " + escape(s.Result)
		}
		return line
	case StateFailed:
		line := ":x: *Failed*" + at + reason
		if s.Result != "" {
			line += "\n" + escape(s.Result)
		}
		return line
	case StateRejected:
		return ":no_entry_sign: *Rejected*" + by + at + reason
	case StateExpired:
		return ":alarm_clock: *Expired* without approval" + at + reason
	case StateCancelled:
		if c.Recovered {
			return ":relieved: *Resolved before approval*" + at + ": the alarm recovered and nothing ran"
		}
		return ":heavy_minus_sign: *Cancelled*" + by + at + reason
	case StateBlocked:
		return ":no_entry: *Blocked*" + at + reason
	case StateNeedsHuman:
		return ":sos: *Needs a human*" + at + reason
	case StateUndone:
		line := ":leftwards_arrow_with_hook: *Undone*" + by + at
		if s.Result != "" {
			line += ": " + escape(s.Result)
		}
		return line
	default:
		return "*" + escape(string(s.State)) + "*" + at + reason
	}
}

func planText(s StepView) string {
	if s.PlanError != "" {
		return ":warning: *Plan failed*: " + escape(s.PlanError)
	}
	if s.Plan == "" && len(s.Changes) == 0 {
		return ""
	}
	label := "*Plan*: "
	if s.Mode == ModeShadow {
		label = "*Would have*: "
	}
	var b strings.Builder
	if s.StalePlan != "" {
		// The approved plan went stale; nothing of it was applied.
		b.WriteString("~" + escape(s.StalePlan) + "~ _(stale before it was applied: nothing was applied)_\n")
		label = "*New plan*: "
	}
	b.WriteString(label + escape(s.Plan))
	if s.NoOp {
		b.WriteString(" _(no change needed)_")
	}
	for _, ch := range s.Changes {
		fmt.Fprintf(&b, "\n• `%s` %s: %s → %s", escape(ch.Resource), escape(ch.Field), escape(ch.From), escape(ch.To))
	}
	return b.String()
}

func stepContext(s StepView) string {
	var parts []string
	if len(s.Approvers) > 0 && s.Mode != ModeAuto {
		var names []string
		for _, a := range s.Approvers {
			names = append(names, mention(a))
		}
		parts = append(parts, "Approvers: "+strings.Join(names, ", "))
	}
	if s.Mode == ModeRequired {
		parts = append(parts, fmt.Sprintf("quorum %d", quorum(s)))
	}
	if len(s.Votes) > 0 {
		var votes []string
		for _, v := range s.Votes {
			vote := mention(v.UserID)
			if !v.At.IsZero() {
				vote += " at " + slackDate(v.At)
			}
			votes = append(votes, vote)
		}
		parts = append(parts, "approved by "+strings.Join(votes, ", "))
	}
	if !s.ExpiresAt.IsZero() && s.State == StateProposed && s.Mode == ModeRequired {
		parts = append(parts, "expires "+slackDate(s.ExpiresAt))
	}
	return strings.Join(parts, " · ")
}

func stepButtons(s StepView) []slackapi.BlockElement {
	if s.Mode == ModeShadow || s.ProposalID == "" {
		return nil
	}
	n := s.Index + 1
	var out []slackapi.BlockElement
	switch {
	case s.Mode == ModeRequired && s.State == StateProposed:
		if s.PlanError == "" {
			confirm := slackapi.NewConfirmationBlockObject(
				plain(truncate(fmt.Sprintf("Approve step %d?", n), maxConfirmTitle)),
				plain(truncate(confirmPlanText(s), maxConfirmText)),
				plain("Approve"),
				plain("Cancel"),
			)
			out = append(out, slackapi.NewButtonBlockElement(ActionApprove, s.ProposalID, plain("Approve")).
				WithStyle(slackapi.StylePrimary).WithConfirm(confirm))
		}
		out = append(out, slackapi.NewButtonBlockElement(ActionReject, s.ProposalID, plain("Reject")).
			WithStyle(slackapi.StyleDanger))
	case s.State == StateSucceeded && s.UndoAvailable:
		text := "medic will reverse this change."
		if s.Result != "" {
			text = "medic will reverse: " + s.Result
		}
		confirm := slackapi.NewConfirmationBlockObject(
			plain(truncate(fmt.Sprintf("Undo step %d?", n), maxConfirmTitle)),
			plain(truncate(text, maxConfirmText)),
			plain("Undo"),
			plain("Cancel"),
		)
		out = append(out, slackapi.NewButtonBlockElement(ActionUndo, s.ProposalID, plain("Undo")).WithConfirm(confirm))
	}
	return out
}

func confirmPlanText(s StepView) string {
	plan := s.Plan
	if plan == "" {
		plan = "no plan details"
	}
	text := "medic will run " + s.Action + ": " + plan
	if s.NoOp {
		text += " (no change needed)"
	}
	return text
}

func quorum(s StepView) int {
	if s.Quorum < 1 {
		return 1
	}
	return s.Quorum
}

func cardFallback(c Card) string {
	name := c.AlarmName
	state := c.AlarmState
	if state == "" {
		state = "ALARM"
	}
	text := escape(state + " " + name)
	if c.Recovered {
		text += ": recovered"
	}
	waiting := 0
	for _, s := range c.Steps {
		if s.Mode == ModeRequired && s.State == StateProposed && s.PlanError == "" {
			waiting++
		}
	}
	switch waiting {
	case 0:
	case 1:
		text += ": 1 step awaiting approval"
	default:
		text += fmt.Sprintf(": %d steps awaiting approval", waiting)
	}
	if c.Paused != nil {
		text += " (medic is paused)"
	}
	return text
}

// TimelineEntry is one thing medic (or a person through medic) did during an
// incident, for the summary posted in the card's thread when the alarm
// recovers.
type TimelineEntry struct {
	// At is when it happened.
	At time.Time
	// Actor is a Slack user ID (rendered as a mention) or a name such as
	// "medic"; optional.
	Actor string
	// Text says what happened, e.g. "approved step 1 (ecs.scale)".
	Text string
}

// RenderTimeline renders the thread summary of what medic did and when, oldest
// first. Times show in each reader's time zone, with UTC in the fallback.
func RenderTimeline(entries []TimelineEntry) Message {
	sorted := append([]TimelineEntry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })

	const title = "*What medic did*"
	var (
		blocks []slackapi.Block
		plainB strings.Builder
		cur    strings.Builder
	)
	plainB.WriteString("What medic did:")
	cur.WriteString(title)
	if len(sorted) == 0 {
		cur.WriteString("\nNothing: no step ran.")
		plainB.WriteString(" nothing, no step ran.")
	}
	for _, e := range sorted {
		who := ""
		plainWho := ""
		if e.Actor != "" {
			who = mention(e.Actor) + ": "
			plainWho = mention(e.Actor) + ": "
		}
		line := "\n• " + slackDate(e.At) + " " + who + escape(e.Text)
		line = truncate(line, maxSectionText-len(title)-1)
		if cur.Len()+len(line) > maxSectionText {
			blocks = append(blocks, section(cur.String()))
			cur.Reset()
		}
		cur.WriteString(line)
		plainB.WriteString("\n• " + e.At.UTC().Format("2006-01-02 15:04:05 UTC") + " " + plainWho + escape(e.Text))
	}
	blocks = append(blocks, section(cur.String()))
	if len(blocks) > maxBlocks {
		blocks = append(blocks[:maxBlocks-1:maxBlocks-1], slackapi.NewContextBlock("", mrkdwn("timeline truncated; see the audit log")))
	}
	return Message{Text: truncate(plainB.String(), maxFallbackText), Blocks: blocks}
}

// idPattern matches Slack user (U…, W…) and user-group (S…) IDs.
var idPattern = regexp.MustCompile(`^[UWS][A-Z0-9]{2,}$`)

// mention renders a user ID as <@U…>, a user-group ID as <!subteam^S…> and
// anything else as escaped text, so nothing user-supplied can become a
// broadcast such as <!channel>.
func mention(id string) string {
	if !idPattern.MatchString(id) {
		return escape(id)
	}
	if id[0] == 'S' {
		return "<!subteam^" + id + ">"
	}
	return "<@" + id + ">"
}

// slackDate renders t with Slack's date formatting, falling back to UTC.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time_secs}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// link renders an http(s) URL as a mrkdwn link with already-escaped text;
// anything else renders as the text alone.
func link(raw, text string) string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.ContainsAny(raw, "|<> ") {
		return text
	}
	if text == "" {
		text = escape(raw)
	}
	return "<" + raw + "|" + text + ">"
}

// escape makes text safe for mrkdwn: Slack wants &, < and > escaped.
func escape(s string) string {
	return mrkdwnEscaper.Replace(s)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// truncate cuts s to at most n bytes on a rune boundary, ending in "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
}

func section(text string) *slackapi.SectionBlock {
	return slackapi.NewSectionBlock(mrkdwn(text), nil, nil)
}
