package slack

import (
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"
)

// ReportView is the incident report posted in a card's thread when the
// alarm recovers: the figures, what ran and what did not, the links, and
// the timeline.
type ReportView struct {
	Alarm string
	// TimeToFirstAction and TimeToRecovery are durations as text ("2m50s");
	// empty when no step ran or the alarm has not recovered.
	TimeToFirstAction string
	TimeToRecovery    string
	Ran, NotRun       []ReportStep
	Links             []ReportLink
	Timeline          []TimelineEntry
}

// ReportStep is one step of a report.
type ReportStep struct {
	Policy string
	// Step is 1-based.
	Step    int
	Action  string
	State   string
	Plan    string
	Outcome string
	// ApprovedBy are user IDs; DecidedBy the user who rejected or undid.
	ApprovedBy []string
	DecidedBy  string
}

// ReportLink is a runbook or a compare view.
type ReportLink struct {
	Text, URL string
}

// Bounds of a report's parts: the summary, each list of steps. The
// timeline gets what is left of the message.
const (
	maxReportSummary = 1200
	maxReportSteps   = 1800
	maxReportStep    = 400
)

// RenderReport renders the incident report within Block Kit's limits:
// the summary and the step lists are bounded, and the timeline (oldest
// first) takes what is left, truncated with a note when it does not fit.
func RenderReport(v ReportView) Message {
	var sum strings.Builder
	fmt.Fprintf(&sum, "*Incident report* · alarm `%s`", escape(v.Alarm))
	fmt.Fprintf(&sum, "\n*Time to first action:* %s · *Time to recovery:* %s",
		escape(orText(v.TimeToFirstAction, "no step ran")), escape(orText(v.TimeToRecovery, "not recovered")))
	var links []string
	for _, l := range v.Links {
		if s := link(l.URL, escape(l.Text)); s != escape(l.Text) {
			links = append(links, s)
		}
	}
	if len(links) > 0 {
		sum.WriteString("\n" + strings.Join(links, " · "))
	}
	blocks := []slackapi.Block{
		slackapi.NewSectionBlock(mrkdwnObj(sum.String(), maxReportSummary), nil, nil),
		slackapi.NewSectionBlock(mrkdwnObj("*What ran*\n"+stepsText(v.Ran, "Nothing ran."), maxReportSteps), nil, nil),
		slackapi.NewSectionBlock(mrkdwnObj("*What did not run*\n"+stepsText(v.NotRun, "Every proposed step ran."), maxReportSteps), nil, nil),
	}
	timeline, plain := timelineBlocks(v.Timeline, maxMessageText-textBytes(blocks), MaxBlocks-len(blocks))
	blocks = append(blocks, timeline...)
	fallback := fmt.Sprintf("Incident report of alarm %s: time to first action %s, time to recovery %s, %d step(s) ran, %d did not. %s",
		escape(v.Alarm), escape(orText(v.TimeToFirstAction, "none")), escape(orText(v.TimeToRecovery, "none")), len(v.Ran), len(v.NotRun), plain)
	return Message{Text: fallbackText(fallback), Blocks: blocks}
}

func stepsText(steps []ReportStep, none string) string {
	if len(steps) == 0 {
		return none
	}
	lines := make([]string, len(steps))
	for i, s := range steps {
		line := fmt.Sprintf("• *%s step %d* `%s`: %s", escape(s.Policy), s.Step, escape(s.Action), escape(strings.ToLower(strings.ReplaceAll(s.State, "_", " "))))
		if s.Plan != "" {
			line += " — " + escape(s.Plan)
		}
		if s.Outcome != "" {
			line += "; " + escape(s.Outcome)
		}
		if len(s.ApprovedBy) > 0 {
			var who []string
			for _, u := range s.ApprovedBy {
				who = append(who, mention(u))
			}
			line += "; approved by " + strings.Join(who, ", ")
		}
		if s.DecidedBy != "" && !strings.Contains(s.Outcome, s.DecidedBy) {
			line += "; by " + mention(s.DecidedBy)
		}
		lines[i] = cutMrkdwn(line, maxReportStep)
	}
	return limitLines(lines, maxReportSteps-len("*What did not run*\n"))
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
