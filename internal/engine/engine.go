// Package engine is medic's one decision core. Every door (the alarm,
// Slack and executor Lambdas, `medic serve`, the CLI) converts its input and
// calls an Engine: HandleAlarm for alarm state changes, Vote and RequestUndo
// for button presses, HandleMessage for queue messages, SweepStale for lost
// executors, Pause and Resume for the kill switch, Audit for the trail.
//
// The engine reaches the world only through the small interfaces it
// declares here (Store, Notifier, Actions, Queue, Clock, AlarmState,
// Authorizer, Switch), so the same decisions run against DynamoDB, SQS and
// Slack in AWS and against bbolt, an in-process queue and a local notifier
// on a laptop.
//
// # Exactly once
//
// An alarm state change becomes one incident: its ID derives from the
// alarm's dedup key (ARN + state timestamp) and is created with a
// conditional write. A proposal moves through the store's state machine
// only by conditional transitions, so twenty concurrent approvals approve it
// once and a queue message delivered twice finds the proposal past the state
// it expects and does nothing. Execution claims the proposal (APPROVED ->
// EXECUTING), the target's lock, the hour's caps and the cooldown check in
// one transaction.
//
// # Decisions worth knowing
//
//   - Caps count executions when they are claimed, not when they finish, so
//     concurrent executors cannot overshoot a cap.
//   - An alarm from another account or region than Config.Scope is
//     planned nowhere: every client would act on the home account's and
//     region's resources of the same name. Its steps are BLOCKED saying so.
//   - A stale plan (Apply returns remediations.ErrStalePlan: what the plan
//     was made from changed, typically auto scaling moving the desired
//     count) is not a failure: nothing was applied. The step is planned
//     again; the new plan goes to the approvers (REPLANNED, the old plan
//     kept as StalePlan for the card), or an auto step runs it once and
//     waits for a person if it goes stale again. No cooldown starts and
//     the ladder does not advance; the audit says what changed.
//   - A step whose Apply failed having applied nothing (ErrStalePlan or
//     remediations.ErrNotApplied) starts no cooldown.
//   - A plan with Hold (e.g. a deploy after the alarm fired) never runs on
//     its own: an auto step is proposed for approval instead.
//   - The ladder advances (a delayed follow-up proposes the next step, if
//     the alarm is still in ALARM) after SUCCEEDED, FAILED, BLOCKED,
//     EXPIRED and SHADOW; it stops after REJECTED and CANCELLED, and when
//     the incident is resolved.
//   - A remediation whose Apply or Undo panics has failed: the step ends
//     FAILED (or UNDO_FAILED) with the panic in its error and audit entry,
//     its lock released; the stack is logged. The executor goes on.
//   - An executor that dies leaves its lease to run out; SweepStale marks the
//     proposal NeedsHuman (state stays EXECUTING) and the lock stale. It is
//     never run again by medic.
//   - Fail closed: when the kill switch, the store or the alarm's current
//     state cannot be read, nothing executes; proposals are still made.
//   - Nothing runs while paused: the kill switch (stored and SSM) is read
//     right before a claim, after the alarm-state check, and every claim
//     (execution or undo) is conditional on the stored switch being off in
//     the same transaction (store.Tx.RequireNotPaused), so a Pause pressed
//     at any moment before the claim commits stops it. The step then ends
//     BLOCKED ("medic is paused by ..."), an undo stays SUCCEEDED with an
//     undo.blocked entry, and the card says so.
//   - A step still running when its alarm recovers is undone when it
//     finishes, if its policy asks (on_recovery: undo), and its late result
//     is added to the recovery timeline. Resolve reads the proposals after
//     recording the recovery and the executor reads the incident after
//     recording the result, so at least one of them sees the other; a
//     counter limited to one (store.RecoveryUndoKey) lets only one of them
//     queue the undo.
package engine

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/killswitch"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// Errors the engine returns for inputs that retrying will not fix.
var (
	// ErrInvalidAlarm: the alarm lacks an ARN, a timestamp or a valid state.
	ErrInvalidAlarm = errors.New("invalid alarm")
	// ErrInvalidMessage: a queue message could not be decoded or has an
	// unknown kind.
	ErrInvalidMessage = errors.New("invalid queue message")
)

// Who is the audit name of the engine's own decisions.
const Who = "medic"

// Store keeps the engine's records; see package store. boltstore.Store and
// dynamostore.Store implement it.
type Store = store.Store

// Matcher finds the policies matching an alarm; *policy.Set implements it.
type Matcher interface {
	Match(a *alarm.Alarm) []*policy.Policy
}

// RenderFunc renders a step's parameters against an alarm; the method
// expression (*policy.Step).Render is one.
type RenderFunc func(step *policy.Step, a *alarm.Alarm) (remediations.Params, error)

// Actions finds a remediation by name; *remediations.Registry implements
// it.
type Actions interface {
	Get(name string) (remediations.Action, bool)
}

// Scope decides whether the remediations may act for an alarm: Refusal
// says why not, or "" when they may.
type Scope interface {
	Refusal(a *alarm.Alarm) string
}

// Notifier shows incidents to people (Slack cards). Notify posts the
// incident's card when Notice.Incident.Message is empty and updates it
// otherwise; it returns where the card is.
type Notifier interface {
	Notify(ctx context.Context, n *Notice) (store.MessageRef, error)
}

// Queue delivers work messages (JSON Message bodies) to HandleMessage no
// sooner than delay from now; *sqsqueue.Queue and *localqueue.Queue implement it.
// A queue may cap delay (SQS at 15 minutes): the message's NotBefore makes
// HandleMessage wait out the rest.
type Queue interface {
	Send(ctx context.Context, body []byte, delay time.Duration) error
}

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AlarmState reads an alarm's current state; *cwstate.Reader implements
// it.
type AlarmState interface {
	AlarmState(ctx context.Context, a *alarm.Alarm) (alarm.State, error)
}

// Authorizer decides whether a Slack user may approve, reject or undo a
// step whose approvers are the given user and user-group IDs;
// *slack.Authorizer implements it.
type Authorizer interface {
	Allowed(ctx context.Context, userID string, approvers []string) (bool, error)
}

// Switch reads the kill switch; *killswitch.Switch implements it.
type Switch interface {
	State(ctx context.Context) (killswitch.State, error)
}

// Config holds the engine's limits. Zero values take the defaults.
type Config struct {
	// MaxPerHour caps executions per hour across all policies (default 10).
	MaxPerHour int
	// PolicyMaxPerHour caps a policy's executions per hour when the policy
	// sets no MaxPerHour (default 3).
	PolicyMaxPerHour int
	// Lease is how long an executor may hold a claim before it is presumed
	// dead (default 15 minutes). It must exceed the executor's timeout.
	Lease time.Duration
	// DefaultExpires is how long a required step waits for approval when the
	// step gives no Expires (default 30 minutes).
	DefaultExpires time.Duration
	// Retention is how long incidents and proposals are kept (default 30
	// days).
	Retention time.Duration
	// RepairAfter is how old an incident must be before a repeated delivery
	// re-sends its pending queue messages, in case the first delivery
	// failed to (default 30 seconds).
	RepairAfter time.Duration
	// WatchEvery is how often a watched step's exit condition is checked
	// (default 1 minute; see Watcher).
	WatchEvery time.Duration
	// CardAlertAfter is how long a card may stay owed (Slack down, token
	// revoked, channel archived) before operators are told through Ops
	// (default 5 minutes).
	CardAlertAfter time.Duration
	// Scope says where the remediations may act (remediations.Scope: the
	// one home account and region; accounts.Members: the member accounts).
	// An alarm it refuses gets no plan: its steps are BLOCKED saying why.
	// Nil checks nothing (tests that do not care).
	Scope Scope
	// SuspectTimeout bounds the suspect-deploy lookup at intake (default
	// DefaultSuspectTimeout).
	SuspectTimeout time.Duration
	// EvidenceBudget bounds evidence gathering at intake when no matched
	// policy sets evidence.budget (default DefaultEvidenceBudget).
	EvidenceBudget time.Duration
}

func (c *Config) defaults() {
	if c.MaxPerHour <= 0 {
		c.MaxPerHour = 10
	}
	if c.PolicyMaxPerHour <= 0 {
		c.PolicyMaxPerHour = policy.DefaultMaxPerHour
	}
	if c.Lease <= 0 {
		c.Lease = 15 * time.Minute
	}
	if c.DefaultExpires <= 0 {
		c.DefaultExpires = 30 * time.Minute
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.RepairAfter <= 0 {
		c.RepairAfter = 30 * time.Second
	}
	if c.WatchEvery <= 0 {
		c.WatchEvery = time.Minute
	}
	if c.CardAlertAfter <= 0 {
		c.CardAlertAfter = 5 * time.Minute
	}
	if c.SuspectTimeout <= 0 {
		c.SuspectTimeout = DefaultSuspectTimeout
	}
	if c.EvidenceBudget <= 0 {
		c.EvidenceBudget = DefaultEvidenceBudget
	}
}

// Deps are the engine's side effects. Store, Policies, Render, Actions and
// Queue are required; Notifier may be nil (nothing is shown), Ops nil
// (stuck cards are only logged), AlarmState
// nil means the alarm's state cannot be read (nothing executes), Authorizer
// nil allows nobody, Switch nil reads only the stored switch, Clock nil is
// the system clock, Logger nil is slog.Default(), Suspects nil looks up no
// suspect deploys, Evidence nil gathers no evidence.
type Deps struct {
	Store      Store
	Policies   Matcher
	Render     RenderFunc
	Actions    Actions
	Notifier   Notifier
	Queue      Queue
	AlarmState AlarmState
	Authorizer Authorizer
	Switch     Switch
	// Ops is told about cards Slack has not taken for CardAlertAfter; nil
	// only logs.
	Ops      Ops
	Clock    Clock
	Logger   *slog.Logger
	Suspects SuspectFinder
	Evidence EvidenceGatherer
	// Watcher checks when steps still in effect (maintenance) may end; nil
	// watches nothing.
	Watcher Watcher
}

// Engine is medic's decision core. It is safe for concurrent use.
type Engine struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	// late counts the goroutines storing late evidence (evidence.go);
	// WaitLateEvidence waits for them.
	late sync.WaitGroup
}

// New returns an engine. It reports missing required dependencies.
func New(cfg Config, deps Deps) (*Engine, error) {
	cfg.defaults()
	var errs []error
	if deps.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if deps.Policies == nil {
		errs = append(errs, errors.New("policies are required"))
	}
	if deps.Render == nil {
		errs = append(errs, errors.New("a render function is required"))
	}
	if deps.Actions == nil {
		errs = append(errs, errors.New("actions are required"))
	}
	if deps.Queue == nil {
		errs = append(errs, errors.New("a queue is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(errors.New("new engine"), err)
	}
	if deps.Switch == nil {
		deps.Switch = killswitch.New(deps.Store, nil, "")
	}
	if deps.Clock == nil {
		deps.Clock = SystemClock{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return &Engine{cfg: cfg, deps: deps, log: deps.Logger}, nil
}

func (e *Engine) now() time.Time { return e.deps.Clock.Now().UTC() }

// maxAttempts bounds optimistic retries after a conflict.
const maxAttempts = 60

// backoff sleeps a little, more with each attempt, so that concurrent
// writers of one record spread out; it returns early when ctx ends.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1+rand.IntN(2+min(attempt, 20)*2)) * time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func token() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}
