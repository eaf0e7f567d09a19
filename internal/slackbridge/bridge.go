// Package slackbridge adapts the engine to Slack: Notifier turns engine
// notices into incident cards and thread replies (with the suspect deploys
// stored on the incident at intake), Decider turns button presses into
// engine votes and tells the presser what became of them. It holds no
// decisions of its own and calls nothing but Slack.
package slackbridge

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/report"
	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/store"
)

// Poster is the part of *slack.Client the notifier uses.
type Poster interface {
	PostCard(ctx context.Context, channel string, card slack.Card) (string, error)
	UpdateCard(ctx context.Context, channel, ts string, card slack.Card) error
	PostThread(ctx context.Context, channel, threadTS string, msg slack.Message) (string, error)
}

// PolicyLookup finds a policy by name; *policy.Set implements it.
type PolicyLookup interface {
	Policy(name string) *policy.Policy
}

// Notifier posts one card per incident and keeps a thread for everything
// after it. It implements engine.Notifier. It calls Slack only: the card is
// rendered from the records (the suspect deploys were looked up at intake
// and stored on the incident).
type Notifier struct {
	slack          Poster
	policies       PolicyLookup
	defaultChannel string
}

// NewNotifier returns a Notifier posting to the incident's channel, or
// defaultChannel when the policy names none.
func NewNotifier(p Poster, policies PolicyLookup, defaultChannel string) *Notifier {
	return &Notifier{slack: p, policies: policies, defaultChannel: defaultChannel}
}

// Notify posts the incident's card the first time and updates it after
// that; updates, recoveries and lost executors also get a thread reply. The
// recovery's reply is the incident report (report.Build from the notice's
// records, rendered by slack.RenderReport). The
// reply is posted even when the card could not be updated: the thread is
// where people look for what happened.
func (n *Notifier) Notify(ctx context.Context, nt *engine.Notice) (store.MessageRef, error) {
	inc := nt.Incident
	ref := inc.Message
	card := n.Card(nt)
	var updateErr error
	if ref.IsZero() {
		channel := inc.Channel
		if channel == "" {
			channel = n.defaultChannel
		}
		if channel == "" {
			return ref, fmt.Errorf("post card for incident %s: no Slack channel (set slack.channel in policy %s or MEDIC_SLACK_CHANNEL)", inc.ID, strings.Join(inc.Policies, ", "))
		}
		ts, err := n.slack.PostCard(ctx, channel, card)
		if err != nil {
			return ref, fmt.Errorf("post card for incident %s: %w", inc.ID, err)
		}
		ref = store.MessageRef{Channel: channel, TS: ts}
		updateErr = n.threadEvidence(ctx, ref, inc)
	} else if err := n.slack.UpdateCard(ctx, ref.Channel, ref.TS, card); err != nil {
		updateErr = fmt.Errorf("update card of incident %s: %w", inc.ID, err)
	}
	var thread slack.Message
	switch nt.Kind {
	case engine.NoticeRecovered:
		thread = slack.RenderReport(ReportView(report.Build(n.reportInput(nt))))
	case engine.NoticeUpdated, engine.NoticeNeedsHuman:
		if nt.Summary != "" {
			thread = slack.SummaryMessage(nt.Summary)
		}
	}
	if thread.Text != "" || len(thread.Blocks) > 0 {
		if _, err := n.slack.PostThread(ctx, ref.Channel, ref.TS, thread); err != nil {
			return ref, errors.Join(updateErr, fmt.Errorf("reply in the thread of incident %s: %w", inc.ID, err))
		}
	}
	return ref, updateErr
}

// Card builds the incident card's view of a notice.
func (n *Notifier) Card(nt *engine.Notice) slack.Card {
	inc := nt.Incident
	card := slack.NewCard(&inc.Alarm)
	card.IncidentID = inc.ID
	card.Policy = strings.Join(inc.Policies, ", ")
	card.Recovered = inc.State == store.IncidentResolved
	if card.Recovered {
		card.AlarmState = "OK"
	}
	for _, name := range inc.Policies {
		if p := n.lookup(name); p != nil && p.Runbook != "" {
			card.RunbookURL = p.Runbook
			break
		}
	}
	if nt.Paused != nil {
		card.Paused = &slack.Pause{By: nt.Paused.By, At: nt.Paused.At, Reason: nt.Paused.Why}
	}
	for _, d := range inc.Suspects {
		card.Deploys = append(card.Deploys, slack.Deploy{SHA: d.SHA, Author: d.Author, PRTitle: d.PRTitle, PRNumber: d.PRNumber,
			PRURL: d.PRURL, CompareURL: d.CompareURL})
	}
	card.DeploysNote = inc.SuspectsNote
	card.Evidence = EvidenceView(inc.Evidence)
	for _, p := range nt.Proposals {
		v := StepView(p, nt.Undoable[p.ID])
		if nt.InEffect[p.ID] {
			v.InEffectSince = p.UpdatedAt // when it reached SUCCEEDED
		}
		card.Steps = append(card.Steps, v)
	}
	return card
}

func (n *Notifier) lookup(name string) *policy.Policy {
	if n.policies == nil {
		return nil
	}
	return n.policies.Policy(name)
}

// reportInput is what the incident report of a notice is built from: the
// records the notice carries and the policies' runbooks.
func (n *Notifier) reportInput(nt *engine.Notice) report.Input {
	in := report.Input{Incident: nt.Incident, Proposals: nt.Proposals, Audit: nt.Timeline, Runbooks: make(map[string]string)}
	for _, name := range nt.Incident.Policies {
		if p := n.lookup(name); p != nil && p.Runbook != "" {
			in.Runbooks[name] = p.Runbook
		}
	}
	return in
}

// ReportView is the Slack view of an incident report.
func ReportView(r report.Report) slack.ReportView {
	v := slack.ReportView{Alarm: r.Alarm}
	if !r.FirstActionAt.IsZero() {
		v.TimeToFirstAction = r.TimeToFirstAction.String()
	}
	if !r.RecoveredAt.IsZero() {
		v.TimeToRecovery = r.TimeToRecovery.String()
	}
	steps := func(in []report.Step) []slack.ReportStep {
		out := make([]slack.ReportStep, len(in))
		for i, s := range in {
			out[i] = slack.ReportStep{Policy: s.Policy, Step: s.Step, Action: s.Action, State: s.State, Plan: s.Plan,
				Outcome: s.Outcome, ApprovedBy: s.ApprovedBy, DecidedBy: s.DecidedBy}
		}
		return out
	}
	v.Ran, v.NotRun = steps(r.Ran), steps(r.NotRun)
	for _, l := range r.Links {
		v.Links = append(v.Links, slack.ReportLink{Text: l.Text, URL: l.URL})
	}
	for _, e := range r.Timeline {
		v.Timeline = append(v.Timeline, slack.TimelineEntry{At: e.At, Actor: e.Who, Text: e.Text})
	}
	return v
}

// StepView is the card's view of one proposal; undoable is the engine's
// word on whether it can be undone (engine.CanUndo, in Notice.Undoable).
func StepView(p *store.Proposal, undoable bool) slack.StepView {
	v := slack.StepView{
		ProposalID:  p.ID,
		Index:       p.Step,
		Action:      p.Action,
		PlanError:   p.PlanError,
		Mode:        slack.ApprovalMode(p.Approval),
		Approvers:   p.Approvers,
		Quorum:      p.Quorum,
		State:       stepState(p),
		StateReason: p.Reason,
		ExpiresAt:   p.ExpiresAt,
		Skipped:     p.Skipped,
	}
	// UpdatedAt is when the proposal last moved: the approval that reached
	// the quorum, the rejection, the claim, the outcome, the undo.
	if !p.State.AwaitsVote() && p.State != store.StateShadow {
		v.StateAt = p.UpdatedAt
	}
	// DecidedBy also holds the last approver; the card names it only for
	// what that person did (a rejection, an undo). A step medic cancelled
	// after an approval was not cancelled by the approver.
	switch p.State {
	case store.StateRejected, store.StateUndone, store.StateUndoing, store.StateUndoFailed:
		v.DecidedBy = p.DecidedBy
	}
	if p.StalePlan != nil {
		v.StalePlan = p.StalePlan.Summary
	}
	if p.Plan != nil {
		v.Plan = p.Plan.Summary
		v.NoOp = p.Plan.NoOp
		for _, c := range p.Plan.Changes {
			v.Changes = append(v.Changes, slack.Change{Resource: c.Resource, Field: c.Field, From: c.From, To: c.To})
		}
	}
	if len(p.Warnings) > 0 {
		v.StateReason = strings.TrimSpace(v.StateReason + " " + strings.Join(p.Warnings, "; "))
	}
	for _, vote := range p.Votes {
		v.Votes = append(v.Votes, slack.Vote{UserID: vote.User, At: vote.At})
	}
	switch {
	case p.UndoResult != nil:
		v.Result = p.UndoResult.Summary
	case p.Result != nil:
		v.Result = p.Result.Summary
	case p.Error != "":
		v.Result = p.Error
	}
	v.UndoAvailable = undoable
	return v
}

func stepState(p *store.Proposal) slack.StepState {
	if p.NeedsHuman {
		return slack.StateNeedsHuman
	}
	switch p.State {
	case store.StateShadow:
		return slack.StateProposed // shadow mode renders as "would have run"
	case store.StateReplanned:
		return slack.StateProposed // awaiting approval of the new plan
	case store.StateUndoing:
		return slack.StateExecuting
	case store.StateUndoFailed:
		return slack.StateFailed
	}
	return slack.StepState(p.State)
}

// Timeline turns an incident's audit trail into timeline entries, one per
// entry, worded from the event names (the recovery thread reply is the
// incident report, whose timeline report.Build words).
func Timeline(entries []store.AuditEntry) []slack.TimelineEntry {
	out := make([]slack.TimelineEntry, 0, len(entries))
	for _, e := range entries {
		text := strings.ReplaceAll(e.Event, ".", " ")
		if e.Proposal != "" {
			if _, pol, step, err := store.ParseProposalID(e.Proposal); err == nil {
				text += fmt.Sprintf(" (%s step %d)", pol, step+1)
			}
		}
		if e.Why != "" {
			text += ": " + e.Why
		}
		if e.Result != nil && e.Result.Summary != "" {
			text += " — " + e.Result.Summary
		}
		out = append(out, slack.TimelineEntry{At: e.Time, Actor: e.Who, Text: text})
	}
	return out
}

// Voter is the part of the engine the decider calls.
type Voter interface {
	Vote(ctx context.Context, proposalID, userID string, approve bool) (engine.VoteOutcome, error)
	RequestUndo(ctx context.Context, proposalID, userID string) (engine.VoteOutcome, error)
}

// Decider turns Slack button presses into engine votes. It implements
// slack.Decider.
type Decider struct {
	engine Voter
}

// NewDecider returns a Decider voting through e.
func NewDecider(e Voter) *Decider { return &Decider{engine: e} }

// Decide records the press and says what to tell the user.
func (d *Decider) Decide(ctx context.Context, dec slack.Decision) (slack.Outcome, error) {
	var (
		out engine.VoteOutcome
		err error
	)
	switch dec.Verb {
	case slack.VerbApprove:
		out, err = d.engine.Vote(ctx, dec.ProposalID, dec.UserID, true)
	case slack.VerbReject:
		out, err = d.engine.Vote(ctx, dec.ProposalID, dec.UserID, false)
	case slack.VerbUndo:
		out, err = d.engine.RequestUndo(ctx, dec.ProposalID, dec.UserID)
	default:
		return slack.Outcome{}, fmt.Errorf("decide on %s: unknown verb %q", dec.ProposalID, dec.Verb)
	}
	if err != nil {
		return slack.Outcome{}, fmt.Errorf("%s %s by %s: %w", dec.Verb, dec.ProposalID, dec.UserID, err)
	}
	return outcome(out), nil
}

// outcome turns the engine's answer into the facts the user is told about
// (the slack package words them). Accepted presses are silent (the card
// shows them) except a counted approval, which says how many more are
// needed.
func outcome(o engine.VoteOutcome) slack.Outcome {
	switch o.Result {
	case engine.VoteCounted:
		out := slack.Outcome{Kind: slack.OutcomeAccepted, Needed: 1}
		if o.Proposal != nil {
			out.Needed, out.Approvals = o.Proposal.NeededVotes(), len(o.Proposal.Votes)
		}
		return out
	case engine.VoteApproved, engine.VoteRejected, engine.UndoQueued:
		return slack.Outcome{Kind: slack.OutcomeAccepted}
	case engine.VoteNotAllowed:
		return slack.Outcome{Kind: slack.OutcomeNotAllowed, NotApprover: !o.ApproversUnchecked, ApproversUnchecked: o.ApproversUnchecked}
	case engine.VoteExpired:
		return slack.Outcome{Kind: slack.OutcomeExpired}
	case engine.VoteAlreadyVoted:
		return slack.Outcome{Kind: slack.OutcomeAlreadyDecided, AlreadyVoted: true}
	case engine.VoteClosed:
		out := slack.Outcome{Kind: slack.OutcomeAlreadyDecided}
		if o.Proposal != nil {
			out.State = string(o.Proposal.State)
		}
		return out
	case engine.VoteNotFound:
		return slack.Outcome{Kind: slack.OutcomeNotFound}
	case engine.UndoUnavailable:
		out := slack.Outcome{Kind: slack.OutcomeCannotUndo}
		if o.Proposal != nil {
			out.State = string(o.Proposal.State)
		}
		return out
	}
	return slack.Outcome{Kind: slack.OutcomeStale}
}
