package policy

import (
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// Approval says how a step is allowed to run.
type Approval string

// The approval modes of a step.
const (
	ApprovalAuto     Approval = "auto"     // runs without a human
	ApprovalRequired Approval = "required" // waits for approvers' votes
	ApprovalShadow   Approval = "shadow"   // posted as "would have run", never runs
)

// OnRecoveryUndo is the Policy.OnRecovery value asking the engine to undo
// reversible auto-run steps when the alarm returns to OK.
const OnRecoveryUndo = "undo"

// The Policy.OnBlocked values: what the ladder does after a step ends
// BLOCKED (a guardrail refused it) or EXPIRED (nobody approved in time).
const (
	// OnBlockedStop, the default: no later step is proposed, and the audit
	// trail records ladder.stopped naming the step that stopped it, and the
	// card's thread says so.
	OnBlockedStop = "stop"
	// OnBlockedContinue: the next step is proposed after its after, as
	// after a step that ran.
	OnBlockedContinue = "continue"
)

// Defaults applied when a policy leaves a field out.
const (
	// DefaultCooldown is a policy's cooldown when it gives none; an
	// explicit "0s" turns the cooldown off.
	DefaultCooldown = 15 * time.Minute
	// DefaultAfter is how long a later step waits after the previous one
	// when it gives no `after`.
	DefaultAfter = 10 * time.Minute
	// DefaultExpires is how long a required step waits for approval.
	DefaultExpires = 30 * time.Minute
	// DefaultMaxPerHour is how many times per hour the engine lets a policy
	// execute when the policy sets no max_per_hour (the engine's
	// PolicyMaxPerHour default). Policy review and history replays judge
	// caps by it.
	DefaultMaxPerHour = 3
	// MaxEvidenceBudget bounds a policy's evidence.budget: the card waits
	// for the evidence.
	MaxEvidenceBudget = 30 * time.Second
)

// Set is a compiled, immutable set of policies. It is safe for concurrent use.
type Set struct {
	policies []*Policy
	byName   map[string]*Policy
	index    index
}

// Policy is one compiled policy.
type Policy struct {
	Name         string
	Description  string
	Runbook      string
	Cooldown     time.Duration
	SlackChannel string
	// OnRecovery is "" (leave things as they are) or "undo" (undo
	// reversible auto-run steps when the alarm returns to OK).
	OnRecovery string
	// OnBlocked is OnBlockedStop (the default) or OnBlockedContinue.
	OnBlocked string
	// MaxPerHour caps this policy's executions per hour; 0 means the
	// engine's default (DefaultMaxPerHour; see Cap).
	MaxPerHour int
	// Approvers are the policy-level approvers: the default of required
	// steps that list none, and (with every step's approvers) who may undo
	// an auto step.
	Approvers []string
	// EvidenceBudget is how long evidence may be gathered when an incident
	// opens (evidence.budget); 0 means the engine's default.
	EvidenceBudget time.Duration
	// Probe is the HTTP request made at intake to reproduce the error;
	// nil for none. Upstreams are the dependencies probed at intake.
	Probe     *Probe
	Upstreams []Upstream
	// Logs is the Logs Insights query run at intake; nil for none.
	Logs *Logs
	// Enabled is false for a policy kept in the files but switched off:
	// it is validated and listed but never matches.
	Enabled bool
	// Match is the policy's match block as written, for display.
	Match Match
	Steps []*Step
	// File and Line locate the policy in its source, for messages.
	File string
	Line int

	matcher matcher
	// pos is the policy's index in its file's policies list; accountsLine
	// and regionsLine are the lines of match.accounts and match.regions (0
	// when absent). OutsideDeployment names them.
	pos                       int
	accountsLine, regionsLine int
}

// Probe is an HTTP request medic makes when an incident opens.
type Probe struct {
	URL          string
	Method       string        // GET or HEAD
	ExpectStatus int           // the status of a healthy answer
	Timeout      time.Duration // per attempt
}

// Logs is a CloudWatch Logs Insights query medic runs when an incident
// opens. Query "" means DefaultLogsQuery.
type Logs struct {
	Groups []string
	Query  string
}

// DefaultLogsQuery selects the lines that look like errors; medic groups
// them by message pattern and counts them.
const DefaultLogsQuery = `fields @timestamp, @message | filter @message like /(?i)(error|exception|fatal|panic|timeout|refused)/ | sort @timestamp desc | limit 1000`

// MaxLogGroups is how many log groups one query may name (the Logs
// Insights limit is higher; medic keeps the query small).
const MaxLogGroups = 10

// Upstream is a dependency medic probes when an incident opens.
type Upstream struct {
	Name string
	URL  string
}

// Match is a policy's match block as written (patterns uncompiled). Empty
// fields do not constrain.
type Match struct {
	Alarm      []string
	State      alarm.State // always set; ALARM unless the policy says otherwise
	Namespace  []string
	Metric     []string
	Dimensions map[string]string
	Accounts   []string
	Regions    []string
	Tags       map[string]string
}

// Step is one rung of a policy's ladder.
type Step struct {
	Index     int // 0-based position in Policy.Steps
	Action    string
	Approval  Approval
	After     time.Duration // wait after the previous step finished
	Approvers []string      // Slack user IDs (U.../W...) or user-group IDs (S...)
	Quorum    int           // distinct approvers needed; >= 1 when Approval is required
	Expires   time.Duration // how long a proposal waits for approval
	// When holds the step's conditions over the evidence; nil for none.
	When *When

	policy string              // owning policy's name, for errors
	schema remediations.Schema // the action's schema, to type rendered params
	params map[string]*value   // raw values and compiled templates
	names  []string            // param names, sorted
}

// Cap returns the policy's executions per hour: MaxPerHour, or
// DefaultMaxPerHour when the policy sets none.
func (p *Policy) Cap() int {
	if p.MaxPerHour > 0 {
		return p.MaxPerHour
	}
	return DefaultMaxPerHour
}
