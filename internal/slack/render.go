package slack

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
)

// The action IDs of the card's buttons. A button's value is the proposal ID,
// nothing else.
const (
	ActionApprove = "medic:approve"
	ActionReject  = "medic:reject"
	ActionUndo    = "medic:undo"
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
//
// Every text is cut to Block Kit's limits (see Message.Check). A card that
// would exceed MaxBlocks shrinks in this order: first the steps without
// buttons (finished, running, shadow) collapse into one line each; then
// the steps with buttons lose their dividers and their context line (it
// joins their text), the collapsed lines join one section, and the alarm
// reason, suspect deploys and incident footer make room. Steps awaiting
// approval keep their buttons before Undo buttons do; only past
// MaxActionableSteps of them are some left out, and a note says how many.
// Last, when the texts together are more than Slack takes in one message,
// the longest are cut to a fair share; the header and the paused banner
// stay whole.
func RenderCard(c Card) Message {
	l := newCardLayout(c)
	blocks := l.full()
	if len(blocks) > MaxBlocks {
		blocks = l.collapsed()
	}
	if len(blocks) > MaxBlocks {
		blocks = l.lean()
	}
	fitTotal(blocks, l.header, l.paused)
	return Message{Text: fallbackText(cardFallback(c)), Blocks: blocks}
}

// stepKind orders steps by how much a person needs their buttons.
type stepKind int

const (
	kindPassive  stepKind = iota // no buttons: finished, running, shadow
	kindUndo                     // finished, with an Undo button
	kindAwaiting                 // awaiting a person's approval or rejection
)

// renderedStep is one step in the forms a card can show it in.
type renderedStep struct {
	kind    stepKind
	head    string                // title, mode and state
	plan    string                // the plan or why planning failed
	context string                // approvers, quorum, votes, expiry
	actions *slackapi.ActionBlock // nil without buttons
	line    string                // the step in one line, when collapsed
}

// full is the step as a divider, its section, its context and its buttons.
func (r renderedStep) full() []slackapi.Block {
	blocks := []slackapi.Block{slackapi.NewDividerBlock(), sectionBlock(joinLines(r.head, r.plan))}
	if r.context != "" {
		blocks = append(blocks, contextBlock(r.context))
	}
	if r.actions != nil {
		blocks = append(blocks, r.actions)
	}
	return blocks
}

// compact is the step as one section and its buttons: two blocks. The
// context joins the section before the plan, so that cutting a long plan
// keeps it.
func (r renderedStep) compact() []slackapi.Block {
	blocks := []slackapi.Block{sectionBlock(joinLines(r.head, r.context, r.plan))}
	if r.actions != nil {
		blocks = append(blocks, r.actions)
	}
	return blocks
}

// cardLayout holds a card's parts, rendered once, and lays them out in
// three ever leaner ways.
type cardLayout struct {
	header   slackapi.Block
	paused   slackapi.Block // nil when not paused
	fields   slackapi.Block // nil without fields
	reason   slackapi.Block // nil without a reason
	deploys  slackapi.Block // nil without deploys
	evidence slackapi.Block // nil without evidence
	footer   slackapi.Block // nil without an incident ID
	steps    []renderedStep
	awaiting int // steps of kindAwaiting
}

func newCardLayout(c Card) *cardLayout {
	l := &cardLayout{header: headerBlock(headerText(c))}
	if c.Paused != nil {
		l.paused = sectionBlock(pausedText(c.Paused))
	}
	if f := fieldsBlock(summaryFields(c)); f != nil {
		l.fields = f
	}
	if c.Reason != "" {
		l.reason = contextBlock(escape(c.Reason))
	}
	switch {
	case len(c.Deploys) > 0:
		l.deploys = sectionBlock(deploysText(c.Deploys))
	case c.DeploysNote != "":
		l.deploys = contextBlock("*Suspect deploys* unavailable: " + escape(c.DeploysNote))
	}
	if c.Evidence != nil {
		l.evidence = sectionBlock(evidenceText(c.Evidence))
	}
	if c.IncidentID != "" {
		l.footer = contextBlock("incident `" + escape(c.IncidentID) + "`")
	}
	for _, s := range c.Steps {
		r := renderedStep{
			head:    stepHead(c, s),
			plan:    planText(s),
			context: stepContext(s),
			actions: actionsBlock(stepButtons(s)),
			line:    stepLine(c, s),
		}
		if r.actions != nil {
			r.kind = kindUndo
			if s.State == StateProposed {
				r.kind = kindAwaiting
				l.awaiting++
			}
		}
		l.steps = append(l.steps, r)
	}
	return l
}

// top is the header and the paused banner.
func (l *cardLayout) top() []slackapi.Block {
	return nonNil(l.header, l.paused)
}

// full shows everything.
func (l *cardLayout) full() []slackapi.Block {
	blocks := append(l.top(), nonNil(l.fields, l.reason, l.evidence, l.deploys)...)
	for _, s := range l.steps {
		blocks = append(blocks, s.full()...)
	}
	return append(blocks, nonNil(l.footer)...)
}

// collapsed shows each run of steps without buttons as lines in one
// section; the rest as in full.
func (l *cardLayout) collapsed() []slackapi.Block {
	blocks := append(l.top(), nonNil(l.fields, l.reason, l.evidence, l.deploys)...)
	var run []string
	flush := func() {
		if len(run) > 0 {
			blocks = append(blocks, slackapi.NewDividerBlock())
			for _, text := range packLines(run, maxSectionText) {
				blocks = append(blocks, sectionBlock(text))
			}
			run = nil
		}
	}
	for _, s := range l.steps {
		if s.kind == kindPassive {
			run = append(run, s.line)
			continue
		}
		flush()
		blocks = append(blocks, s.full()...)
	}
	flush()
	return append(blocks, nonNil(l.footer)...)
}

// lean fits MaxBlocks: the header, the paused banner and the fields always;
// steps awaiting approval in compact form, as many as fit (all of them up
// to MaxActionableSteps), then steps with Undo; every other step as a line
// in one section; then the reason, the deploys and the footer as room
// allows.
func (l *cardLayout) lean() []slackapi.Block {
	must := nonNil(l.header, l.paused, l.fields)
	space := MaxBlocks - len(must)

	// A section of collapsed steps is needed for steps without buttons, and
	// may be for steps with Undo that do not fit: its place is kept first.
	passive, undos := 0, 0
	for _, s := range l.steps {
		switch s.kind {
		case kindPassive:
			passive++
		case kindUndo:
			undos++
		}
	}
	summary := passive+undos > 0
	if summary {
		space--
	}
	showAwaiting := l.awaiting
	if 2*l.awaiting > space {
		space-- // the note that says how many are left out
		showAwaiting = max(space/2, 0)
	}
	space -= 2 * showAwaiting
	showUndo := min(undos, max(space/2, 0))
	space -= 2 * showUndo
	if summary && passive == 0 && showUndo == undos {
		space++ // nothing to collapse after all
	}

	var shown, lines []slackapi.Block
	var collapsed []string
	awaitingLeft := 0
	for _, s := range l.steps {
		switch {
		case s.kind == kindAwaiting && showAwaiting > 0:
			showAwaiting--
			shown = append(shown, s.compact()...)
		case s.kind == kindAwaiting:
			awaitingLeft++
		case s.kind == kindUndo && showUndo > 0:
			showUndo--
			shown = append(shown, s.compact()...)
		default:
			collapsed = append(collapsed, s.line)
		}
	}
	if len(collapsed) > 0 {
		lines = append(lines, sectionBlock(limitLines(collapsed, maxSectionText)))
	}

	blocks := must
	var optional []slackapi.Block
	for _, b := range nonNil(l.evidence, l.reason, l.deploys, l.footer) {
		if space > 0 {
			optional = append(optional, b)
			space--
		}
	}
	// The reason and the deploys belong above the steps, the footer below.
	var tail []slackapi.Block
	for _, b := range optional {
		if b == l.footer {
			tail = append(tail, b)
		} else {
			blocks = append(blocks, b)
		}
	}
	blocks = append(blocks, lines...)
	blocks = append(blocks, shown...)
	if awaitingLeft > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf(
			":scissors: %d more %s awaiting approval not shown: too many for one card. "+
				"They appear here as the steps above are decided; see the audit log.",
			awaitingLeft, plural(awaitingLeft, "step", "steps"))))
	}
	return append(blocks, tail...)
}

// packLines joins lines into as few texts of at most n bytes as it can.
func packLines(lines []string, n int) []string {
	var out []string
	var cur strings.Builder
	for _, line := range lines {
		line = cutMrkdwn(line, n)
		if cur.Len() > 0 && cur.Len()+1+len(line) > n {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(line)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// limitLines joins as many lines as fit in n bytes (each line is short),
// ending with a line saying how many were left out.
func limitLines(lines []string, n int) string {
	note := func(left int) string {
		return fmt.Sprintf("…and %d more %s; see the audit log", left, plural(left, "step", "steps"))
	}
	var b strings.Builder
	for i, line := range lines {
		need := len(line)
		if b.Len() > 0 {
			need++
		}
		if left := len(lines) - i - 1; left > 0 {
			need += 1 + len(note(left))
		}
		if b.Len()+need > n {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(note(len(lines) - i))
			break
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func nonNil(blocks ...slackapi.Block) []slackapi.Block {
	var out []slackapi.Block
	for _, b := range blocks {
		if b != nil && !isNilBlock(b) {
			out = append(out, b)
		}
	}
	return out
}

// isNilBlock catches a typed nil pointer in the Block interface.
func isNilBlock(b slackapi.Block) bool {
	switch b := b.(type) {
	case *slackapi.SectionBlock:
		return b == nil
	case *slackapi.ContextBlock:
		return b == nil
	case *slackapi.HeaderBlock:
		return b == nil
	case *slackapi.ActionBlock:
		return b == nil
	}
	return false
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

// maxPausedBy and maxPauseReason bound who paused (free text when not a
// Slack ID) and why, on the banner: it is on every card, always whole.
const (
	maxPausedBy    = 200
	maxPauseReason = 1000
)

// pausedText is the paused banner; the reason is cut so that the whole
// banner, its last line included, fits one section.
func pausedText(p *Pause) string {
	var b strings.Builder
	b.WriteString(":double_vertical_bar: *medic is paused*")
	if p.By != "" {
		b.WriteString(" by " + cutMrkdwn(mention(p.By), maxPausedBy))
	}
	if !p.At.IsZero() {
		b.WriteString(" since " + slackDate(p.At))
	}
	const last = "\nNothing runs automatically until medic is resumed."
	if p.Reason != "" {
		b.WriteString(": ")
		b.WriteString(cutMrkdwn(escape(p.Reason), min(maxPauseReason, maxSectionText-b.Len()-len(last))))
	}
	b.WriteString(last)
	return b.String()
}

func summaryFields(c Card) []string {
	var fields []string
	add := func(title, value string) {
		if value == "" {
			return
		}
		fields = append(fields, "*"+title+"*\n"+value)
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
	return b.String()
}

// maxActionText bounds a step's action name where it is shown.
const maxActionText = 100

// stepTitle is "*Step n · `action`*".
func stepTitle(s StepView) string {
	return fmt.Sprintf("*Step %d · `%s`*", s.Index+1, cutMrkdwn(escape(s.Action), maxActionText))
}

// stepHead is the start of a step's section: title and mode, state.
func stepHead(c Card, s StepView) string {
	return stepTitle(s) + " · " + modeLabel(s.Mode) + "\n" + stateLine(c, s)
}

// joinLines joins the texts that are not empty, one per line.
func joinLines(texts ...string) string {
	var out []string
	for _, t := range texts {
		if t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, "\n")
}

// maxStepLine bounds a collapsed step's line.
const maxStepLine = 300

// stepLine is a step in one line: title and the first line of its state.
func stepLine(c Card, s StepView) string {
	state, _, _ := strings.Cut(stateLine(c, s), "\n")
	return cutMrkdwn(stepTitle(s)+" · "+state, maxStepLine)
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
		if !s.InEffectSince.IsZero() {
			line += "\n:hourglass: in effect " + slackAgo(s.InEffectSince) + "; medic watches for when it may end"
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
	if len(s.Skipped) > 0 {
		parts = append(parts, "chosen by the evidence: "+escape(strings.Join(s.Skipped, "; ")))
	}
	return strings.Join(parts, " · ")
}

func stepButtons(s StepView) []*slackapi.ButtonBlockElement {
	if s.Mode == ModeShadow || s.ProposalID == "" {
		return nil
	}
	n := s.Index + 1
	var out []*slackapi.ButtonBlockElement
	add := func(b *slackapi.ButtonBlockElement) {
		if b != nil {
			out = append(out, b)
		}
	}
	switch {
	case s.Mode == ModeRequired && s.State == StateProposed:
		if s.PlanError == "" {
			confirm := confirmDialog(fmt.Sprintf("Approve step %d?", n), confirmPlanText(s), "Approve", "Cancel")
			if b := button(ActionApprove, s.ProposalID, "Approve", slackapi.StylePrimary); b != nil {
				add(b.WithConfirm(confirm))
			}
		}
		add(button(ActionReject, s.ProposalID, "Reject", slackapi.StyleDanger))
	case s.State == StateSucceeded && s.UndoAvailable:
		text := "medic will reverse this change."
		if s.Result != "" {
			text = "medic will reverse: " + s.Result
		}
		if b := button(ActionUndo, s.ProposalID, "Undo", ""); b != nil {
			add(b.WithConfirm(confirmDialog(fmt.Sprintf("Undo step %d?", n), text, "Undo", "Cancel")))
		}
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
	blocks, plain := timelineBlocks(entries, maxMessageText, MaxBlocks)
	return Message{Text: fallbackText(plain), Blocks: blocks}
}

// timelineBlocks renders the timeline in at most maxBlocks blocks whose
// texts total at most budget bytes, and its plain fallback text.
func timelineBlocks(entries []TimelineEntry, budget, maxBlocks int) ([]slackapi.Block, string) {
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
	const note = "timeline truncated; see the audit log"
	used, truncated := 0, false // used: bytes in finished sections
	for _, e := range sorted {
		who := ""
		if e.Actor != "" {
			who = mention(e.Actor) + ": "
		}
		line := cutMrkdwn("\n• "+slackDate(e.At)+" "+who+escape(e.Text), maxTimelineLine)
		if used+cur.Len()+len(line) > budget-len(note) {
			truncated = true
			break
		}
		if cur.Len()+len(line) > maxSectionText {
			blocks = append(blocks, sectionBlock(cur.String()))
			used += cur.Len()
			cur.Reset()
		}
		cur.WriteString(line)
		plainB.WriteString("\n• " + e.At.UTC().Format("2006-01-02 15:04:05 UTC") + " " + who + escape(e.Text))
	}
	blocks = append(blocks, sectionBlock(cur.String()))
	if truncated || len(blocks) > maxBlocks {
		blocks = append(blocks[:min(len(blocks), maxBlocks-1)], contextBlock(note))
	}
	return blocks, plainB.String()
}

// maxTimelineLine bounds one entry of the timeline.
const maxTimelineLine = 500

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
// slackAgo renders t as Slack's live relative time ("25 minutes ago").
func slackAgo(t time.Time) string {
	return fmt.Sprintf("since <!date^%d^{ago}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04:05 UTC"))
}

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
// Escape makes text safe in mrkdwn (&, < and > escaped), for the callers
// that compose a message of their own (the thread's log patterns).
func Escape(s string) string { return escape(s) }

func escape(s string) string {
	return mrkdwnEscaper.Replace(s)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

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
