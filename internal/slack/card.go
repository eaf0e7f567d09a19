package slack

import (
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
)

// Card is everything an incident card shows: the alarm, the policy that
// matched, the suspect deploys and one StepView per remediation step. It is
// this package's own view model; the wiring fills it from engine records.
type Card struct {
	// IncidentID identifies the incident; shown in the card footer.
	IncidentID string
	// AlarmName is the CloudWatch alarm name.
	AlarmName string
	// AlarmState is the alarm's state for this card: ALARM, OK or
	// INSUFFICIENT_DATA.
	AlarmState string
	// Reason is CloudWatch's state reason, shown verbatim (escaped).
	Reason string
	// Datapoints are the datapoints that breached, from the reason data.
	Datapoints []float64
	// Threshold is the alarm threshold, nil when unknown.
	Threshold *float64
	// Class is the 5xx class in words, e.g. "target 5xx" or "ELB 502"; see
	// ClassText.
	Class string
	// Account and Region locate the alarm.
	Account string
	Region  string
	// Policy is the name of the medic policy that matched.
	Policy string
	// RunbookURL is the policy's runbook link, optional.
	RunbookURL string
	// Paused, when non-nil, shows a banner: medic's kill switch is on and
	// nothing runs automatically.
	Paused *Pause
	// Recovered is true when the alarm returned to OK; steps that were
	// cancelled because of it read "resolved before approval".
	Recovered bool
	// Deploys are recent deploys that may have caused the alarm, optional.
	Deploys []Deploy
	// DeploysNote says why the suspect deploys could not be looked up
	// (e.g. "GitHub timed out"); the card then says they are unavailable.
	DeploysNote string
	// Evidence is what medic gathered when the incident opened, optional.
	Evidence *Evidence
	// Steps are the remediation steps of the matched policy, in ladder
	// order.
	Steps []StepView
}

// Pause describes who paused medic, when and why.
type Pause struct {
	// By is the Slack user ID (or another free-text name) of who paused.
	By string
	// At is when medic was paused; zero when unknown.
	At time.Time
	// Reason is the free-text reason given, optional.
	Reason string
}

// Deploy is one suspect deploy. Every field is optional except SHA.
type Deploy struct {
	SHA        string
	Author     string
	PRTitle    string
	PRNumber   int
	PRURL      string
	CompareURL string
}

// ApprovalMode says how a step gets to run.
type ApprovalMode string

// The approval modes of a step.
const (
	// ModeAuto steps run without a vote; the card shows them as they run.
	ModeAuto ApprovalMode = "auto"
	// ModeRequired steps wait for a quorum of approvers.
	ModeRequired ApprovalMode = "required"
	// ModeShadow steps never run; the card says what would have run.
	ModeShadow ApprovalMode = "shadow"
)

// StepState is the state of one proposal, as the card shows it.
type StepState string

// The states a step can be shown in.
const (
	StateProposed   StepState = "PROPOSED"
	StateApproved   StepState = "APPROVED"
	StateExecuting  StepState = "EXECUTING"
	StateSucceeded  StepState = "SUCCEEDED"
	StateFailed     StepState = "FAILED"
	StateRejected   StepState = "REJECTED"
	StateExpired    StepState = "EXPIRED"
	StateCancelled  StepState = "CANCELLED"
	StateBlocked    StepState = "BLOCKED"
	StateNeedsHuman StepState = "NEEDS_HUMAN"
	// StateUndone is a step whose change was reversed with Undo.
	StateUndone StepState = "UNDONE"
)

// StepView is one remediation step (one proposal) on a card.
type StepView struct {
	// ProposalID identifies the proposal; it is the value of the step's
	// buttons and comes back in Decision.ProposalID. It must not hold
	// anything secret and must be at most MaxProposalIDLen bytes.
	ProposalID string
	// Index is the step's zero-based position in the policy's ladder; the
	// card shows Index+1.
	Index int
	// Action is the remediation name, e.g. "ecs.scale".
	Action string
	// Plan says what will change, e.g. "prod/checkout: desired 4 -> 6
	// tasks" (remediations.Plan.Summary).
	Plan string
	// InEffectSince, when set, is since when a step still in effect
	// (maintenance, watched until it may end) has been on: the card shows
	// for how long, as Slack counts it ("for 25 minutes").
	InEffectSince time.Time
	// StalePlan is the summary of an approved plan that went stale before it
	// was applied; the card shows it struck through above the new Plan.
	StalePlan string
	// Changes are the plan's individual changes, optional.
	Changes []Change
	// NoOp is true when the plan would change nothing.
	NoOp bool
	// PlanError is set when planning failed; the step cannot be approved.
	PlanError string
	// Mode is the step's approval mode.
	Mode ApprovalMode
	// Approvers are the Slack user IDs (U…, W…) and user-group IDs (S…)
	// that may approve; rendered as mentions.
	Approvers []string
	// Quorum is how many distinct approvers are needed (0 and 1 both mean
	// one).
	Quorum int
	// Votes are the approvals so far, in order.
	Votes []Vote
	// State is the step's current state.
	State StepState
	// StateReason explains BLOCKED, FAILED, NEEDS_HUMAN, CANCELLED and the
	// like, e.g. "cooldown until 14:05" or "kill switch on".
	StateReason string
	// DecidedBy is the Slack user ID that rejected, cancelled or undid the
	// step, optional.
	DecidedBy string
	// StateAt is when the step reached State: when it was approved,
	// rejected, started running, finished (the outcome), undone, blocked,
	// expired or cancelled. The card shows it after the state; zero hides
	// it. Ignored for PROPOSED steps and shadow steps.
	StateAt time.Time
	// Result is what Apply (or Undo) reported, e.g. "desired 4 -> 6".
	Result string
	// UndoAvailable is true when the action is reversible and the step can
	// still be undone; the card shows an Undo button on SUCCEEDED steps.
	UndoAvailable bool
	// ExpiresAt is when an unapproved proposal expires; zero for none.
	ExpiresAt time.Time
	// Skipped says why earlier steps were not proposed (their when:
	// conditions did not hold), optional.
	Skipped []string
}

// Change is one field a plan changes.
type Change struct {
	Resource string
	Field    string
	From     string
	To       string
}

// Vote is one approval.
type Vote struct {
	// UserID is the Slack user ID of the approver.
	UserID string
	// At is when the vote was recorded.
	At time.Time
}

// NewCard fills a Card's alarm fields from a normalised alarm: name, state,
// reason, datapoints, threshold, 5xx class, account and region. The caller
// adds the policy, deploys and steps.
func NewCard(a *alarm.Alarm) Card {
	if a == nil {
		return Card{}
	}
	c := Card{
		AlarmName:  a.Name,
		AlarmState: string(a.State),
		Reason:     a.Reason,
		Account:    a.Account,
		Region:     a.Region,
		Class:      ClassText(a.HTTP5xx),
		Recovered:  a.State == alarm.StateOK,
	}
	if a.ReasonData != nil {
		c.Datapoints = append([]float64(nil), a.ReasonData.Datapoints...)
		if a.ReasonData.Threshold != nil {
			t := *a.ReasonData.Threshold
			c.Threshold = &t
		}
	}
	return c
}

// ClassText describes an ALB 5xx class in words: "target 5xx", "ELB 502",
// "target 504". It returns "" for nil.
func ClassText(h *alarm.HTTP5xx) string {
	if h == nil {
		return ""
	}
	source := h.Source
	switch strings.ToLower(source) {
	case "elb":
		source = "ELB"
	case "target":
		source = "target"
	}
	code := h.Code
	if strings.EqualFold(code, "5xx") {
		code = "5xx"
	}
	return strings.TrimSpace(source + " " + code)
}
