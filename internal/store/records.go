package store

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations"
)

// IncidentState is the state of an incident.
type IncidentState string

// The states of an incident.
const (
	// IncidentOpen: the alarm state change that opened it has not recovered.
	IncidentOpen IncidentState = "OPEN"
	// IncidentResolved: the alarm returned to OK after it.
	IncidentResolved IncidentState = "RESOLVED"
)

// Incident is one ALARM state change of one alarm and what medic did about
// it. Its ID is derived from the alarm's dedup key, so one state change
// delivered by several routes, or several times, is one incident.
type Incident struct {
	// ID is IncidentID(DedupKey).
	ID string `json:"id"`
	// DedupKey is the alarm's DedupKey: ARN@state timestamp.
	DedupKey string `json:"dedup_key"`
	// Alarm is the alarm state change as first received.
	Alarm alarm.Alarm `json:"alarm"`
	// Policies are the names of the policies that matched, in match order.
	Policies []string `json:"policies"`
	// State is OPEN until the alarm recovers.
	State IncidentState `json:"state"`
	// Channel is the Slack channel the first matching policy asks for;
	// empty means the notifier's default.
	Channel string `json:"channel,omitempty"`
	// Message locates the incident's card once it has been posted.
	Message MessageRef `json:"message,omitzero"`
	// Suspects are the deploys that may have caused the alarm, newest
	// first, looked up once when the incident was opened (see
	// BoundSuspects). Cards show them without looking again.
	Suspects []SuspectDeploy `json:"suspects,omitempty"`
	// SuspectsNote says in a few words why the suspect deploys could not
	// be looked up (e.g. "GitHub timed out"); empty when the lookup
	// succeeded or none was made.
	SuspectsNote string `json:"suspects_note,omitempty"`
	// Evidence is what the collectors found when the incident was opened
	// (see BoundEvidence); nil when none were run.
	Evidence *Evidence `json:"evidence,omitempty"`
	// RecoveredBy is the dedup key of the OK state change that resolved it.
	RecoveredBy string    `json:"recovered_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Version counts the incident's writes; updates are conditional on it.
	Version int64 `json:"version"`
	// ExpiresAt is when the record may be deleted (DynamoDB TTL); reads
	// treat it as gone after that.
	ExpiresAt time.Time `json:"expires_at"`
}

// MessageRef locates a posted card (a Slack channel and message ts).
type MessageRef struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
}

// IsZero reports whether no card has been posted.
func (r MessageRef) IsZero() bool { return r.Channel == "" && r.TS == "" }

// Vote is one distinct user's approval.
type Vote struct {
	User string    `json:"user"`
	At   time.Time `json:"at"`
}

// Lease is an executor's claim on a proposal: the token identifies the
// claim, Until is when it is considered dead.
type Lease struct {
	Token string    `json:"token"`
	Until time.Time `json:"until"`
}

// Proposal is one step of one policy's ladder for one incident: the action,
// its rendered parameters and plan, how it may run, and where it is in the
// state machine.
type Proposal struct {
	// ID is ProposalID(Incident, Policy, Step).
	ID       string `json:"id"`
	Incident string `json:"incident"`
	Policy   string `json:"policy"`
	Step     int    `json:"step"`
	Action   string `json:"action"`
	// Params are the step's parameters rendered against the alarm.
	Params remediations.Params `json:"params,omitempty"`
	// Plan is what the action said it would change; nil when planning
	// failed (PlanError says why).
	Plan      *remediations.Plan `json:"plan,omitempty"`
	PlanError string             `json:"plan_error,omitempty"`
	// StalePlan is the plan that was approved and went stale before it
	// could be applied (state REPLANNED, or an auto step running its new
	// plan); the card shows it struck through. Replans counts how often
	// that happened.
	StalePlan *remediations.Plan `json:"stale_plan,omitempty"`
	// Skipped says why each earlier step of the ladder was not proposed:
	// its `when:` conditions did not hold for the incident's evidence.
	Skipped []string `json:"skipped,omitempty"`
	Replans int      `json:"replans,omitempty"`
	// Approval, Approvers and Quorum are copied from the policy step; an
	// auto step, which has no approvers, gets its policy's (who may undo it).
	Approval  policy.Approval `json:"approval"`
	Approvers []string        `json:"approvers,omitempty"`
	Quorum    int             `json:"quorum,omitempty"`
	// Votes are the approvals so far, one per distinct user.
	Votes []Vote `json:"votes,omitempty"`
	// ExpiresAt is when an unapproved proposal expires; zero for none.
	ExpiresAt time.Time `json:"approval_expires_at,omitzero"`
	State     State     `json:"state"`
	// Reason explains the state: why BLOCKED, CANCELLED, FAILED, what a
	// shadow step would have done, why a human is needed.
	Reason string `json:"reason,omitempty"`
	// Warnings are guardrail notes shown while the proposal waits, e.g.
	// "cooldown until 14:05" or "medic is paused".
	Warnings []string `json:"warnings,omitempty"`
	// DecidedBy is who approved the last vote, rejected, or asked to undo.
	DecidedBy string `json:"decided_by,omitempty"`
	// Result is what Apply reported; Error what it failed with.
	Result *remediations.Result `json:"result,omitempty"`
	Error  string               `json:"error,omitempty"`
	// UndoResult is what Undo reported.
	UndoResult *remediations.Result `json:"undo_result,omitempty"`
	// Lease is the executor's claim while EXECUTING or UNDOING.
	Lease *Lease `json:"lease,omitempty"`
	// NeedsHuman is set when the executor's lease ran out: the action may or
	// may not have been applied, and medic will not run it again.
	NeedsHuman bool `json:"needs_human,omitempty"`
	// Cooldown, MaxPerHour and OnRecovery are copied from the policy.
	Cooldown   time.Duration `json:"cooldown,omitempty"`
	MaxPerHour int           `json:"max_per_hour,omitempty"`
	OnRecovery string        `json:"on_recovery,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
	// Version counts the proposal's writes; updates are conditional on it.
	Version int64 `json:"version"`
	// RecordExpiresAt is when the record may be deleted (DynamoDB TTL).
	RecordExpiresAt time.Time `json:"expires_at"`
}

// Target is the resource the proposal's plan changes, "" without a plan.
func (p *Proposal) Target() string {
	if p.Plan == nil {
		return ""
	}
	return p.Plan.Target
}

// HasVoted reports whether user has already approved p.
func (p *Proposal) HasVoted(user string) bool {
	for _, v := range p.Votes {
		if v.User == user {
			return true
		}
	}
	return false
}

// NeededVotes is the number of distinct approvals p needs (at least one).
func (p *Proposal) NeededVotes() int { return max(p.Quorum, 1) }

// Clone returns a deep enough copy of p for a caller to modify.
func (p *Proposal) Clone() *Proposal {
	c := *p
	c.Votes = append([]Vote(nil), p.Votes...)
	c.Warnings = append([]string(nil), p.Warnings...)
	c.Approvers = append([]string(nil), p.Approvers...)
	if p.Lease != nil {
		l := *p.Lease
		c.Lease = &l
	}
	return &c
}

// Clone returns a copy of i for a caller to modify.
func (i *Incident) Clone() *Incident {
	c := *i
	c.Policies = append([]string(nil), i.Policies...)
	return &c
}

// Lock gives one proposal the right to change one target at a time.
type Lock struct {
	// Target is the locked resource, a Plan.Target.
	Target string `json:"target"`
	// Holder is the ID of the proposal holding the lock.
	Holder string `json:"holder"`
	// LeaseUntil is when the holder is presumed dead.
	LeaseUntil time.Time `json:"lease_until"`
	// Stale is set once the holder has been marked as needing a human;
	// only then may another proposal take the lock over.
	Stale      bool      `json:"stale,omitempty"`
	AcquiredAt time.Time `json:"acquired_at"`
}

// Cooldown stops a policy acting on a target again before Until.
type Cooldown struct {
	Policy string    `json:"policy"`
	Target string    `json:"target"`
	Until  time.Time `json:"until"`
}

// Key is the cooldown's record key.
func (c Cooldown) Key() string { return c.Policy + "|" + c.Target }

// Switch is the stored kill switch.
type Switch struct {
	Paused bool      `json:"paused"`
	By     string    `json:"by,omitempty"`
	Why    string    `json:"why,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// AuditEntry is one recorded event: a transition, a vote, a denial, a pause.
type AuditEntry struct {
	// ID orders entries; the store assigns it.
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Incident string    `json:"incident,omitempty"`
	Proposal string    `json:"proposal,omitempty"`
	// Event names what happened, e.g. "incident.opened", "proposal.approved".
	Event string `json:"event"`
	From  State  `json:"from,omitempty"`
	To    State  `json:"to,omitempty"`
	// Who is a Slack user ID, or "medic" for the engine itself.
	Who    string               `json:"who"`
	Why    string               `json:"why,omitempty"`
	Plan   *remediations.Plan   `json:"plan,omitempty"`
	Result *remediations.Result `json:"result,omitempty"`
	Error  string               `json:"error,omitempty"`
}

// AuditQuery selects audit entries.
type AuditQuery struct {
	// Since keeps entries at or after it. Zero means 24 hours before now
	// when Incident is empty, and the whole incident otherwise.
	Since time.Time
	// Incident keeps only the entries of one incident.
	Incident string
}

// DefaultAuditWindow is how far back an AuditQuery without Since or
// Incident looks.
const DefaultAuditWindow = 24 * time.Hour

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// IncidentID derives the incident ID of an alarm state change from its
// dedup key: 16 characters, stable, safe in URLs and Slack button values.
func IncidentID(dedupKey string) string {
	sum := sha256.Sum256([]byte(dedupKey))
	return idEncoding.EncodeToString(sum[:10])
}

// ProposalID is the ID of one step of one policy for one incident:
// "<incident>/<policy>/<step>".
func ProposalID(incident, policyName string, step int) string {
	return incident + "/" + policyName + "/" + strconv.Itoa(step)
}

// ParseProposalID splits a ProposalID.
func ParseProposalID(id string) (incident, policyName string, step int, err error) {
	first := strings.IndexByte(id, '/')
	last := strings.LastIndexByte(id, '/')
	if first <= 0 || last <= first+1 {
		return "", "", 0, fmt.Errorf("parse proposal id %q: want incident/policy/step", id)
	}
	step, err = strconv.Atoi(id[last+1:])
	if err != nil || step < 0 {
		return "", "", 0, fmt.Errorf("parse proposal id %q: step is not a number", id)
	}
	return id[:first], id[first+1 : last], step, nil
}

// hourFormat names an hour window.
const hourFormat = "2006-01-02T15"

// GlobalCounter is the key of the global execution counter for the hour
// holding t.
func GlobalCounter(t time.Time) string { return "global#" + t.UTC().Format(hourFormat) }

// PolicyCounter is the key of a policy's execution counter for the hour
// holding t.
func PolicyCounter(policyName string, t time.Time) string {
	return "policy#" + policyName + "#" + t.UTC().Format(hourFormat)
}

// RecoveryUndoKey is the key of the counter that makes queuing the undo of
// a proposal on recovery happen once: whoever increments it (limit 1)
// queues the undo.
func RecoveryUndoKey(proposal string) string { return "undo-on-recovery#" + proposal }

// HourEnd is the end of the hour window holding t.
func HourEnd(t time.Time) time.Time { return t.UTC().Truncate(time.Hour).Add(time.Hour) }

// SortProposals orders proposals by policy name, then step.
func SortProposals(ps []*Proposal) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Policy != ps[j].Policy {
			return ps[i].Policy < ps[j].Policy
		}
		return ps[i].Step < ps[j].Step
	})
}
