// Package report turns medic's records into incident reports: what
// happened during one incident, for the people who review it (Build, posted
// in the incident's thread when it resolves and printed by `medic report
// --incident ID`), and what medic did per policy over a window (Summarise,
// `medic report --since 7d`).
//
// Both are pure functions of the records (the incident, its proposals,
// the audit trail): they read nothing else, so a report printed a month
// later says what the thread said. Markdown and JSON renderings live
// here; Slack's, bound to Block Kit's limits, in internal/slack
// (RenderReport), which internal/slackbridge feeds.
package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/store"
)

// Kind classifies a timeline event.
type Kind string

// The kinds of timeline event.
const (
	KindAlarm     Kind = "alarm"     // the alarm fired (incident opened)
	KindEvidence  Kind = "evidence"  // evidence gathered about the alarm
	KindProposal  Kind = "proposal"  // a step was proposed (or blocked, or shadowed)
	KindVote      Kind = "vote"      // an approval, a rejection, a refused vote
	KindExecution Kind = "execution" // a step started, succeeded or failed
	KindUndo      Kind = "undo"      // an undo requested, run, or failed
	KindRecovery  Kind = "recovery"  // the alarm went back to OK
	KindOther     Kind = "other"     // expiries, cancellations, the ladder stopping...
)

// Report is what happened during one incident.
type Report struct {
	Incident string    `json:"incident"`
	Alarm    string    `json:"alarm"`
	AlarmARN string    `json:"alarm_arn"`
	Account  string    `json:"account,omitempty"`
	Region   string    `json:"region,omitempty"`
	Policies []string  `json:"policies"`
	Resolved bool      `json:"resolved"`
	AlarmAt  time.Time `json:"alarm_at"`
	// FirstActionAt is when the first step started executing; zero when
	// none did. TimeToFirstAction is from the alarm to then.
	FirstActionAt     time.Time `json:"first_action_at,omitzero"`
	TimeToFirstAction Duration  `json:"time_to_first_action,omitzero"`
	// RecoveredAt is when the alarm went back to OK; zero while open.
	RecoveredAt    time.Time `json:"recovered_at,omitzero"`
	TimeToRecovery Duration  `json:"time_to_recovery,omitzero"`
	Timeline       []Event   `json:"timeline"`
	// Ran are the steps that executed (whatever came of them); NotRun those
	// refused or that never ran: rejected, blocked, expired, cancelled,
	// shadow, or still waiting.
	Ran    []Step `json:"ran"`
	NotRun []Step `json:"not_run"`
	Links  []Link `json:"links,omitempty"`
}

// Event is one line of the timeline.
type Event struct {
	At   time.Time `json:"at"`
	Kind Kind      `json:"kind"`
	// Who is a Slack user ID, or "medic".
	Who  string `json:"who"`
	Text string `json:"text"`
}

// Step is one proposal as the report tells it.
type Step struct {
	Policy string `json:"policy"`
	// Step is 1-based, as cards number steps.
	Step   int    `json:"step"`
	Action string `json:"action"`
	State  string `json:"state"`
	// Plan says what the step would change; Outcome what came of it (the
	// result, the error, or why it did not run).
	Plan    string `json:"plan,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	// ApprovedBy are the users whose votes approved it; DecidedBy who
	// rejected or undid it.
	ApprovedBy []string `json:"approved_by,omitempty"`
	DecidedBy  string   `json:"decided_by,omitempty"`
}

// Link is a runbook or a compare view.
type Link struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// Duration is a time.Duration written as "4m30s" in JSON.
type Duration time.Duration

// MarshalText writes d as time.Duration's String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("read duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// String is time.Duration's String.
func (d Duration) String() string { return time.Duration(d).String() }

// Input is the records a report is built from.
type Input struct {
	Incident  *store.Incident
	Proposals []*store.Proposal
	// Audit is the incident's audit trail, in any order.
	Audit []store.AuditEntry
	// Runbooks are the policies' runbook URLs by policy name; policies
	// without one are left out.
	Runbooks map[string]string
}

// Build returns the report of one incident. Times are kept to the second.
func Build(in Input) Report {
	inc := in.Incident
	if inc == nil { // nothing recorded: an empty report rather than a panic
		inc = &store.Incident{}
	}
	r := Report{
		Incident: inc.ID, Alarm: inc.Alarm.Name, AlarmARN: inc.Alarm.ARN, Account: inc.Alarm.Account, Region: inc.Alarm.Region,
		Policies: slices.Clone(inc.Policies), Resolved: inc.State == store.IncidentResolved,
		AlarmAt: sec(inc.Alarm.Timestamp), Timeline: []Event{}, Ran: []Step{}, NotRun: []Step{},
	}
	if r.AlarmAt.IsZero() {
		r.AlarmAt = sec(inc.CreatedAt)
	}
	entries := slices.Clone(in.Audit)
	slices.SortStableFunc(entries, func(a, b store.AuditEntry) int { return a.Time.Compare(b.Time) })
	for _, e := range entries {
		kind, text := describe(e)
		at := sec(e.Time)
		if kind == KindAlarm && !inc.Alarm.Timestamp.IsZero() {
			at = sec(inc.Alarm.Timestamp) // when the alarm fired, not when medic heard
		}
		r.Timeline = append(r.Timeline, Event{At: at, Kind: kind, Who: e.Who, Text: text})
		switch {
		case e.Event == "proposal.executing" && r.FirstActionAt.IsZero():
			r.FirstActionAt = sec(e.Time)
		case e.Event == "incident.resolved" && r.RecoveredAt.IsZero():
			r.RecoveredAt = sec(e.Time)
		}
	}
	if !r.FirstActionAt.IsZero() {
		r.TimeToFirstAction = Duration(r.FirstActionAt.Sub(r.AlarmAt))
	}
	if !r.RecoveredAt.IsZero() {
		r.TimeToRecovery = Duration(r.RecoveredAt.Sub(r.AlarmAt))
	}
	props := slices.Clone(in.Proposals)
	store.SortProposals(props)
	for _, p := range props {
		s := step(p)
		if ran(p.State) {
			r.Ran = append(r.Ran, s)
		} else {
			r.NotRun = append(r.NotRun, s)
		}
	}
	for _, name := range inc.Policies {
		if u := in.Runbooks[name]; u != "" && !slices.ContainsFunc(r.Links, func(l Link) bool { return l.URL == u }) {
			r.Links = append(r.Links, Link{Text: "Runbook (" + name + ")", URL: u})
		}
	}
	for _, d := range inc.Suspects {
		if d.CompareURL != "" {
			r.Links = append(r.Links, Link{Text: "Compare " + short(d.SHA) + " with the deploy before it", URL: d.CompareURL})
		}
	}
	return r
}

// ran reports whether a proposal in s executed (or tried to).
func ran(s store.State) bool {
	switch s {
	case store.StateExecuting, store.StateSucceeded, store.StateFailed,
		store.StateUndoing, store.StateUndone, store.StateUndoFailed:
		return true
	}
	return false
}

func step(p *store.Proposal) Step {
	s := Step{Policy: p.Policy, Step: p.Step + 1, Action: p.Action, State: string(p.State)}
	if p.Plan != nil {
		s.Plan = p.Plan.Summary
	} else if p.PlanError != "" {
		s.Plan = "no plan: " + p.PlanError
	}
	switch {
	case p.UndoResult != nil:
		s.Outcome = "undone: " + p.UndoResult.Summary
	case p.Result != nil:
		s.Outcome = p.Result.Summary
	case p.Error != "":
		s.Outcome = p.Error
	case p.Reason != "":
		s.Outcome = p.Reason
	}
	if s.Outcome == s.Plan {
		s.Outcome = "" // the result says what the plan said
	}
	if p.NeedsHuman {
		s.Outcome = strings.TrimPrefix(s.Outcome+"; needs a human: the executor was lost, the change may or may not be applied", "; ")
	}
	if p.State != store.StateProposed && p.State != store.StateReplanned && p.State != store.StateRejected {
		for _, v := range p.Votes {
			s.ApprovedBy = append(s.ApprovedBy, v.User)
		}
	}
	switch p.State {
	case store.StateRejected, store.StateUndone, store.StateUndoing, store.StateUndoFailed:
		s.DecidedBy = p.DecidedBy
	}
	return s
}

// describe classifies an audit entry and says it in one line.
func describe(e store.AuditEntry) (Kind, string) {
	subject := ""
	if e.Proposal != "" {
		if _, pol, n, err := store.ParseProposalID(e.Proposal); err == nil {
			subject = pol + " step " + strconv.Itoa(n+1)
		}
	}
	with := func(s string) string {
		if e.Why != "" {
			s += ": " + e.Why
		}
		if e.Result != nil && e.Result.Summary != "" && !strings.Contains(s, e.Result.Summary) {
			s += " — " + e.Result.Summary
		}
		if e.Error != "" {
			s += " (error: " + e.Error + ")"
		}
		return s
	}
	plan := ""
	if e.Plan != nil && e.Plan.Summary != "" && !strings.Contains(e.Why, e.Plan.Summary) {
		plan = " (" + e.Plan.Summary + ")"
	}
	switch {
	case e.Event == "incident.opened":
		return KindAlarm, with("alarm fired")
	case strings.HasPrefix(e.Event, "evidence."):
		return KindEvidence, with("evidence " + strings.TrimPrefix(e.Event, "evidence."))
	case e.Event == "incident.resolved":
		return KindRecovery, with("recovered")
	case e.Event == "proposal.created":
		switch e.To {
		case store.StateBlocked:
			return KindProposal, with(subject + " blocked" + plan)
		case store.StateShadow:
			return KindProposal, with(subject + " would have run (shadow)" + plan)
		case store.StateApproved:
			return KindProposal, with(subject + " proposed, runs without approval" + plan)
		}
		return KindProposal, with(subject + " proposed for approval" + plan)
	case (e.Event == "proposal.proposed" && e.From == store.StateProposed ||
		e.Event == "proposal.replanned" && e.From == store.StateReplanned) && e.Who != "medic":
		return KindVote, with(subject + " approved (vote counted, more needed)")
	case e.Event == "proposal.approved" && e.Who != "medic" && e.Who != "":
		return KindVote, with(subject + " approved")
	case e.Event == "proposal.rejected":
		return KindVote, with(subject + " rejected")
	case e.Event == "vote.denied", e.Event == "undo.denied":
		return KindVote, with(subject + " vote refused")
	case e.Event == "proposal.executing":
		return KindExecution, with(subject + " started" + plan)
	case e.Event == "proposal.succeeded":
		return KindExecution, with(subject + " succeeded")
	case e.Event == "proposal.failed":
		return KindExecution, with(subject + " failed")
	case strings.HasPrefix(e.Event, "undo."):
		return KindUndo, with(subject + " undo " + strings.TrimPrefix(e.Event, "undo."))
	case e.Event == "proposal.undoing":
		return KindUndo, with(subject + " undo started")
	case e.Event == "proposal.undone":
		return KindUndo, with(subject + " undone")
	case e.Event == "proposal.undo_failed":
		return KindUndo, with(subject + " undo failed")
	case strings.HasPrefix(e.Event, "proposal."):
		return KindOther, with(subject + " " + strings.ReplaceAll(strings.TrimPrefix(e.Event, "proposal."), "_", " "))
	}
	words := strings.ReplaceAll(e.Event, ".", " ")
	if subject != "" {
		words = subject + ": " + words
	}
	return KindOther, with(words)
}

func sec(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
