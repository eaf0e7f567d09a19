package policy

import (
	"time"
)

// Approval says how a step is allowed to run.
type Approval string

// The approval modes of a step.
const (
	ApprovalAuto     Approval = "auto"     // runs without a human
	ApprovalRequired Approval = "required" // waits for approvers' votes
	ApprovalShadow   Approval = "shadow"   // posted as "would have run", never runs
)

// Set is a compiled, immutable set of policies. It is safe for concurrent use.
type Set struct {
	policies []*Policy
	// (matching indexes are added by the implementation)
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
	// MaxPerHour caps this policy's executions per hour; 0 means the
	// engine's default.
	MaxPerHour int
	Steps      []*Step
	// File and Line locate the policy in its source, for messages.
	File string
	Line int
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
	// params holds the raw values and compiled templates (implementation).
	params map[string]any
}
