// Package doors converts what arrives at medic (alarm payloads, SQS batches,
// scheduled ticks) into engine calls. The Lambdas and `medic serve` use the
// same doors; they hold no decisions.
package doors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
)

// AlarmEngine is the part of the engine the alarm door calls.
type AlarmEngine interface {
	HandleAlarm(ctx context.Context, a *alarm.Alarm) (engine.Outcome, error)
	Relayer
}

// Relayer sends the messages medic owes (see engine.Relay).
type Relayer interface {
	Relay(ctx context.Context) (engine.RelayResult, error)
}

// relayTimeout bounds the relay at the tail of an invocation.
const relayTimeout = 10 * time.Second

// Relay sends what medic owes, at the tail of an invocation or on a timer;
// failures are logged (what was not sent stays owed for the next relay).
func Relay(ctx context.Context, eng Relayer, log *slog.Logger) engine.RelayResult {
	return relayWithin(ctx, eng, log, relayTimeout)
}

// slackRelayBudget bounds the relay at the tail of a Slack interaction:
// Slack waits for the answer, which must come within 3 s.
const slackRelayBudget = 300 * time.Millisecond

// FunctionURLHandler answers a Lambda Function URL request;
// *slack.Handler implements it.
type FunctionURLHandler interface {
	HandleFunctionURL(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error)
}

// SlackLambda is the Slack function's handler: the interaction, then, like
// every invocation's tail, a relay of what medic owes, kept short (Slack
// is waiting for the answer).
func SlackLambda(h FunctionURLHandler, eng Relayer, log *slog.Logger) func(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		resp, err := h.HandleFunctionURL(ctx, req)
		relayWithin(ctx, eng, log, slackRelayBudget)
		return resp, err
	}
}

func relayWithin(ctx context.Context, eng Relayer, log *slog.Logger, d time.Duration) engine.RelayResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	res, err := eng.Relay(ctx)
	switch {
	case err != nil:
		log.WarnContext(ctx, "relay owed messages", slog.Any("error", err))
	case len(res.StuckCards) > 0:
		log.ErrorContext(ctx, "incidents waiting for their card", slog.Any("incidents", res.StuckCards), slog.Int("sent", res.Sent), slog.Int("waiting", res.Waiting))
	case res.Sent > 0:
		log.InfoContext(ctx, "owed messages relayed", slog.Int("sent", res.Sent), slog.Int("waiting", res.Waiting))
	}
	return res
}

// ErrBadPayload marks input that no retry will fix: malformed JSON, or an
// alarm missing a required field. The error names the field.
var ErrBadPayload = errors.New("bad alarm payload")

// AlarmResult says what the alarm door did with one payload. It is the
// JSON answer of `medic serve`'s POST /alarms and of the alarm function:
// snake_case keys, times in RFC 3339, durations as Go duration strings
// ("30m0s"):
//
//	{"ignored": "...",                       // a payload that is no alarm state change
//	 "alarms": [{"alarm": NAME, "dedup_key": ARN@TIME,
//	             "incident": ID, "duplicate": false, "ignored": "no policy matches",
//	             "resolved": [ID...],            // incidents an OK resolved
//	             "proposals": [{"id", "policy", "step" (1-based), "action", "approval",
//	                            "state", "plan", "plan_error", "reason",
//	                            "approvers", "quorum", "expires_at", "cooldown"}]}]}
type AlarmResult struct {
	// Ignored is why a payload that is not an alarm state change was
	// ignored.
	Ignored string `json:"ignored,omitempty"`
	// Alarms are the outcomes, one per alarm in the payload.
	Alarms []AlarmOutcome `json:"alarms,omitempty"`
}

// AlarmOutcome is what the engine did with one alarm.
type AlarmOutcome struct {
	Alarm string `json:"alarm"`
	Key   string `json:"dedup_key"`
	// Incident is the incident opened, or found for a duplicate delivery.
	Incident  string `json:"incident,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
	// Ignored says why nothing was done, e.g. "no policy matches".
	Ignored string `json:"ignored,omitempty"`
	// Resolved are the incidents an OK state change resolved.
	Resolved []string `json:"resolved,omitempty"`
	// Proposals are the steps proposed (step 1 of each matched policy).
	Proposals []ProposalAnswer `json:"proposals,omitempty"`
}

// ProposalAnswer is one proposed step in an AlarmOutcome.
type ProposalAnswer struct {
	ID        string   `json:"id"`
	Policy    string   `json:"policy"`
	Step      int      `json:"step"`
	Action    string   `json:"action"`
	Approval  string   `json:"approval"`
	State     string   `json:"state"`
	Plan      string   `json:"plan,omitempty"`
	PlanError string   `json:"plan_error,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Approvers []string `json:"approvers,omitempty"`
	Quorum    int      `json:"quorum,omitempty"`
	ExpiresAt string   `json:"expires_at,omitempty"`
	Cooldown  string   `json:"cooldown,omitempty"`
}

// outcomeOf is the answer's view of what the engine did with a.
func outcomeOf(a *alarm.Alarm, out engine.Outcome) AlarmOutcome {
	o := AlarmOutcome{Alarm: a.Name, Key: a.DedupKey(), Duplicate: out.Duplicate, Ignored: out.Ignored}
	if out.Incident != nil {
		o.Incident = out.Incident.ID
	}
	for _, inc := range out.Resolved {
		o.Resolved = append(o.Resolved, inc.ID)
	}
	for _, p := range out.Proposals {
		pa := ProposalAnswer{ID: p.ID, Policy: p.Policy, Step: p.Step + 1, Action: p.Action, Approval: string(p.Approval),
			State: string(p.State), PlanError: p.PlanError, Reason: p.Reason, Approvers: p.Approvers, Quorum: p.Quorum}
		if p.Plan != nil {
			pa.Plan = p.Plan.Summary
		}
		if !p.ExpiresAt.IsZero() {
			pa.ExpiresAt = p.ExpiresAt.UTC().Format(time.RFC3339)
		}
		if p.Cooldown > 0 {
			pa.Cooldown = p.Cooldown.String()
		}
		o.Proposals = append(o.Proposals, pa)
	}
	return o
}

// Alarms handles one alarm payload of any shape medic receives.
func Alarms(ctx context.Context, eng AlarmEngine, log *slog.Logger, payload []byte) (AlarmResult, error) {
	alarms, err := alarm.Decode(payload)
	var ignored *alarm.IgnoredError
	if errors.As(err, &ignored) {
		log.InfoContext(ctx, "payload ignored", slog.String("reason", ignored.Reason))
		return AlarmResult{Ignored: ignored.Reason}, nil
	}
	if err != nil {
		return AlarmResult{}, fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	var res AlarmResult
	var errs []error
	for _, a := range alarms {
		out, err := eng.HandleAlarm(ctx, a)
		if err != nil {
			errs = append(errs, fmt.Errorf("handle alarm %s: %w", a.DedupKey(), err))
			continue
		}
		o := outcomeOf(a, out)
		res.Alarms = append(res.Alarms, o)
		log.InfoContext(ctx, "alarm handled", alarmLogAttrs(a, o)...)
	}
	return res, errors.Join(errs...)
}

// alarmLogAttrs are the few keys of the one log line per alarm: which
// alarm, which incident, and what became of each step, in one short string
// ("checkout-target-5xx/1 ecs.scale PROPOSED").
func alarmLogAttrs(a *alarm.Alarm, o AlarmOutcome) []any {
	attrs := []any{slog.String("alarm", a.Name), slog.String("state", string(a.State)), slog.String("route", string(a.Route))}
	if o.Incident != "" {
		attrs = append(attrs, slog.String("incident", o.Incident))
	}
	if o.Duplicate {
		attrs = append(attrs, slog.Bool("duplicate", true))
	}
	if o.Ignored != "" {
		attrs = append(attrs, slog.String("ignored", o.Ignored))
	}
	if len(o.Resolved) > 0 {
		attrs = append(attrs, slog.Any("resolved", o.Resolved))
	}
	if len(o.Proposals) > 0 {
		steps := make([]string, 0, len(o.Proposals))
		for _, p := range o.Proposals {
			steps = append(steps, fmt.Sprintf("%s/%d %s %s", p.Policy, p.Step, p.Action, p.State))
		}
		attrs = append(attrs, slog.String("steps", strings.Join(steps, "; ")))
	}
	return attrs
}

// AlarmLambda is the alarm function's handler: EventBridge events, SNS
// events and direct alarm actions all arrive as raw JSON. A malformed
// payload is logged and dropped (a retry cannot fix it); an engine failure
// is returned so Lambda retries (the engine dedups the retry).
func AlarmLambda(eng AlarmEngine, log *slog.Logger) func(ctx context.Context, payload json.RawMessage) (AlarmResult, error) {
	return func(ctx context.Context, payload json.RawMessage) (AlarmResult, error) {
		res, err := Alarms(ctx, eng, log, payload)
		waitLateEvidence(ctx, eng, log)
		Relay(ctx, eng, log)
		if errors.Is(err, ErrBadPayload) {
			log.ErrorContext(ctx, "alarm payload rejected", slog.Any("error", err))
			return res, nil
		}
		return res, err
	}
}

// LateWaiter waits for the evidence that arrives after an incident's card
// was posted (engine.WaitLateEvidence).
type LateWaiter interface {
	WaitLateEvidence(ctx context.Context) error
}

// LateEvidenceWait bounds how long the alarm function waits, after
// handling its alarms, for evidence that missed the budget: the
// collectors stop by then themselves (evidence.LateLimit, 30 s after
// gathering began). The card went out on time; the wait lets late answers
// update it before Lambda freezes the environment, which would leave them
// unsent.
const LateEvidenceWait = 30 * time.Second

// lateMargin is what the wait leaves of the invocation for the relay
// after it.
const lateMargin = relayTimeout + 2*time.Second

// waitLateEvidence waits (at most LateEvidenceWait, and never into the
// last lateMargin of the invocation) for eng's late evidence, when eng
// gathers any.
func waitLateEvidence(ctx context.Context, eng AlarmEngine, log *slog.Logger) {
	w, ok := eng.(LateWaiter)
	if !ok {
		return
	}
	limit := LateEvidenceWait
	if dl, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(dl)-lateMargin)
	}
	if limit <= 0 {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := w.WaitLateEvidence(wctx); err != nil {
		log.WarnContext(ctx, "late evidence still arriving when the alarm function had to return: the card keeps what came in",
			slog.Duration("waited", limit), slog.Any("error", err))
	}
}

// WorkEngine is the part of the engine the executor door calls.
type WorkEngine interface {
	HandleMessage(ctx context.Context, m engine.Message) error
	SweepStale(ctx context.Context) (int, error)
	Relayer
}

// Work handles one SQS batch: each message goes to the engine; failures are
// reported per message so SQS redelivers only those (and moves them to the
// dead-letter queue after maxReceiveCount). Malformed messages are logged
// and dropped. Before the batch, lost executors are swept so a stale claim
// is reported even when no schedule runs.
func Work(ctx context.Context, eng WorkEngine, log *slog.Logger, ev events.SQSEvent) events.SQSEventResponse {
	if n, err := eng.SweepStale(ctx); err != nil {
		log.WarnContext(ctx, "sweep for lost executors failed", slog.Any("error", err))
	} else if n > 0 {
		log.WarnContext(ctx, "proposals need a human: their executor lost its lease", slog.Int("count", n))
	}
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		m, err := engine.ParseMessage([]byte(r.Body))
		if err != nil {
			log.ErrorContext(ctx, "work message dropped", slog.String("message_id", r.MessageId), slog.Any("error", err))
			continue
		}
		if err := eng.HandleMessage(ctx, m); err != nil {
			log.ErrorContext(ctx, "work message failed", slog.String("message_id", r.MessageId),
				slog.String("kind", string(m.Kind)), slog.String("proposal", m.Proposal), slog.Any("error", err))
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	Relay(ctx, eng, log)
	return resp
}

// SweepResult is what the executor answers to a scheduled event.
type SweepResult struct {
	// NeedsHuman is how many executions the sweep found without a live
	// executor and marked as needing a human.
	NeedsHuman int `json:"needs_human"`
	// Relayed is how many owed messages were sent; Owed how many are
	// still owed; StuckCards the incidents waiting too long for a card.
	Relayed    int      `json:"relayed"`
	Owed       int      `json:"owed"`
	StuckCards []string `json:"stuck_cards,omitempty"`
}

// ExecutorLambda is the executor function's handler: SQS batches, and
// scheduled events that only sweep. template.yaml schedules the sweep every
// 5 minutes with an EventBridge rule, whose events are
// {"source": "aws.events", "detail-type": "Scheduled Event", ...}; any other
// payload without "Records" (an EventBridge Scheduler target's input, a
// manual invocation) sweeps too.
func ExecutorLambda(eng WorkEngine, log *slog.Logger) func(ctx context.Context, payload json.RawMessage) (any, error) {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		var probe struct {
			Records    []json.RawMessage `json:"Records"`
			Source     string            `json:"source"`
			DetailType string            `json:"detail-type"`
			Resources  []string          `json:"resources"`
		}
		if err := json.Unmarshal(payload, &probe); err != nil {
			return nil, fmt.Errorf("executor: payload is not JSON: %w", err)
		}
		if probe.Records == nil {
			n, err := eng.SweepStale(ctx)
			if err != nil {
				return nil, fmt.Errorf("sweep for lost executors: %w", err)
			}
			attrs := []any{slog.String("source", probe.Source), slog.String("detail_type", probe.DetailType),
				slog.Any("resources", probe.Resources), slog.Int("needs_human", n)}
			if n > 0 {
				log.WarnContext(ctx, "scheduled sweep: proposals need a human, their executor lost its lease", attrs...)
			} else {
				log.InfoContext(ctx, "scheduled sweep: no lost executors", attrs...)
			}
			rr := Relay(ctx, eng, log)
			return SweepResult{NeedsHuman: n, Relayed: rr.Sent, Owed: rr.Waiting, StuckCards: rr.StuckCards}, nil
		}
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("executor: payload is not an SQS event: %w", err)
		}
		return Work(ctx, eng, log, ev), nil
	}
}
