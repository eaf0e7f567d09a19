package slackbridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/localqueue"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/slackbridge"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/internal/testfakes"
	"github.com/medicbot/medic/remediations"
)

// The people and places of the tests. Approver IDs must pass policy
// validation (a letter and at least six more).
const (
	signingSecret = "test-signing-secret"
	channel       = "C0INCIDENTS"
	sreGroup      = "S0SREGROUP"
	alice         = "U0ALICE01"
	bob           = "U0BOB0001"
	carol         = "U0CAROL01"
	dave          = "U0DAVE001"
	mallory       = "U0MALLORY"
	actionsPath   = "/slack/actions"
	alarmName     = "checkout-prod-5xx"
	alarmARN      = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-prod-5xx"
)

// requiredPolicy is one required step of the fake scale action, approved
// by the SRE group.
func requiredPolicy(quorum int) string {
	return fmt.Sprintf(`version: 1
policies:
  - name: checkout
    runbook: https://runbooks.example.com/checkout-5xx
    match:
      alarm: ["checkout-*-5xx"]
    slack: {channel: %s}
    approvers: [%s]
    steps:
      - action: test.scale
        approval: required
        quorum: %d
        expires: 30m
        params: {service: checkout}
`, channel, sreGroup, quorum)
}

// clock and queue are the shared fakes (package testfakes): the engine's
// clock, moved by hand, and a manual engine.Queue whose messages wait until
// the test drains them.
type (
	clock = testfakes.Clock
	queue = testfakes.Queue
)

// scaleAction is a fake reversible remediation counting its calls. bump is
// how many tasks auto scaling added behind medic's back (plans made before
// are then stale).
type scaleAction struct {
	applies atomic.Int32
	undos   atomic.Int32
	bump    atomic.Int32
}

func (a *scaleAction) Name() string { return "test.scale" }
func (a *scaleAction) Schema() remediations.Schema {
	return remediations.Schema{
		Description: "scale a fake service",
		Params:      []remediations.Param{{Name: "service", Type: remediations.TypeString, Required: true, Description: "service"}},
		Reversible:  true,
	}
}

func (a *scaleAction) desired() (from, to string) {
	n := 4 + int(a.bump.Load())
	return strconv.Itoa(n), strconv.Itoa(n + 2)
}

func (a *scaleAction) Plan(_ context.Context, _ *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	svc := p.String("service")
	from, to := a.desired()
	return &remediations.Plan{Action: a.Name(), Target: "ecs:prod/" + svc, Summary: "prod/" + svc + ": desired " + from + " -> " + to + " tasks",
		Reversible: true, Changes: []remediations.Change{{Resource: "prod/" + svc, Field: "desired", From: from, To: to}}}, nil
}

func (a *scaleAction) Apply(_ context.Context, p *remediations.Plan) (*remediations.Result, error) {
	a.applies.Add(1)
	if from, _ := a.desired(); len(p.Changes) == 1 && p.Changes[0].From != from {
		return nil, fmt.Errorf("desired is %s, planned from %s: %w", from, p.Changes[0].From, remediations.ErrStalePlan)
	}
	return &remediations.Result{Action: p.Action, Target: p.Target, Summary: "desired " + p.Changes[0].From + " -> " + p.Changes[0].To + " tasks", Data: json.RawMessage(`{"from":4}`)}, nil
}

func (a *scaleAction) Undo(_ context.Context, r *remediations.Result) (*remediations.Result, error) {
	a.undos.Add(1)
	return &remediations.Result{Action: r.Action, Target: r.Target, Summary: "desired 6 -> 4 tasks"}, nil
}

// alarmState is the fake CloudWatch: what the alarm's state is now.
type alarmState struct{ state atomic.Value }

func (s *alarmState) set(st alarm.State) { s.state.Store(st) }
func (s *alarmState) AlarmState(context.Context, *alarm.Alarm) (alarm.State, error) {
	return s.state.Load().(alarm.State), nil
}

// harness is medic's decision path for real: the engine on bbolt, the
// Slack handler verifying signatures, the bridge, the Slack client and the
// authoriser against the recording Slack fake. Only the remediation, the
// alarm's current state and the queue are fakes.
type harness struct {
	t      testing.TB
	ctx    context.Context
	slack  *slacktesting.Server
	store  *boltstore.Store
	engine *engine.Engine
	h      *slack.Handler
	clock  *clock
	queue  *queue
	local  *localqueue.Queue
	action *scaleAction
	state  *alarmState
	set    *policy.Set

	mu       sync.Mutex
	sleeps   []time.Duration
	actionTS atomic.Int64
}

type options struct {
	clock    *clock
	local    bool // use the real in-process localqueue.Queue
	registry func(act *scaleAction) (*remediations.Registry, error)
	suspects engine.SuspectFinder
	config   engine.Config
	logger   *slog.Logger
}

type option func(*options)

// withClock sets the engine's clock.
func withClock(c *clock) option { return func(o *options) { o.clock = c } }

// newClock is a fake clock at the current second.
var newClock = testfakes.NewClock

// withLocalQueue runs queue messages asynchronously on localqueue.Queue.
func withLocalQueue() option { return func(o *options) { o.local = true } }

// withRegistry replaces the registry of the fake scale action.
func withRegistry(f func(act *scaleAction) (*remediations.Registry, error)) option {
	return func(o *options) { o.registry = f }
}

// withSuspects gives the engine a SuspectFinder (looked up at intake).
func withSuspects(f engine.SuspectFinder) option { return func(o *options) { o.suspects = f } }

// withEngineConfig sets the engine's configuration.
func withEngineConfig(c engine.Config) option { return func(o *options) { o.config = c } }

// withLogger sets the engine's logger (default: discarded).
func withLogger(l *slog.Logger) option { return func(o *options) { o.logger = l } }

func newHarness(t testing.TB, policyYAML string, opts ...option) *harness {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	if o.clock == nil {
		o.clock = newClock()
	}
	h := &harness{t: t, ctx: ctx, clock: o.clock, action: &scaleAction{}, state: &alarmState{}}
	h.state.set(alarm.StateAlarm)
	h.queue = testfakes.NewQueue(h.clock)

	newReg := o.registry
	if newReg == nil {
		newReg = func(act *scaleAction) (*remediations.Registry, error) { return remediations.NewRegistry(act) }
	}
	reg, err := newReg(h.action)
	if err != nil {
		t.Fatalf("build registry: %v", err)
	}
	h.set, err = policy.Parse("checkout.yaml", []byte(policyYAML), reg)
	if err != nil {
		t.Fatalf("parse policy: %v", err)
	}
	h.store, err = boltstore.Open(filepath.Join(t.TempDir(), "medic.db"), boltstore.Options{Now: h.clock.Now})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = h.store.Close() })

	h.slack = slacktesting.New(t)
	h.slack.SetGroup(sreGroup, alice, bob, carol, dave)
	api := h.slack.Client("xoxb-test")
	client := slack.NewClient(api, slack.WithSleep(h.sleep))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	notifier := slackbridge.NewNotifier(client, h.set, "")

	var q engine.Queue = h.queue
	if o.local {
		h.local = localqueue.New(localqueue.Options{Logger: log})
		q = h.local
	}
	engineLog := log
	if o.logger != nil {
		engineLog = o.logger
	}
	h.engine, err = engine.New(o.config, engine.Deps{
		Store:      h.store,
		Policies:   h.set,
		Render:     (*policy.Step).Render,
		Actions:    reg,
		Notifier:   notifier,
		Queue:      q,
		AlarmState: h.state,
		Authorizer: slack.NewAuthorizer(api),
		Clock:      h.clock,
		Logger:     engineLog,
		Suspects:   o.suspects,
	})
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	if h.local != nil {
		h.local.Start(h.engine.HandleMessage)
		t.Cleanup(func() { _, _ = h.local.Close(context.Background()) })
	}
	h.h, err = slack.NewHandler(slack.HandlerConfig{
		SigningSecret: signingSecret,
		Decider:       slackbridge.NewDecider(h.engine),
		Ephemeral:     client,
		Logger:        log,
		// Generous budgets: these tests prove decisions, not latency, and
		// run twenty presses at once on small CI machines.
		DecideTimeout: time.Minute,
		AckBudget:     time.Minute,
	})
	if err != nil {
		t.Fatalf("new handler: %v", err)
	}
	return h
}

// sleep records a rate-limit wait instead of sleeping.
func (h *harness) sleep(ctx context.Context, d time.Duration) error {
	h.mu.Lock()
	h.sleeps = append(h.sleeps, d)
	h.mu.Unlock()
	return ctx.Err()
}

func (h *harness) waits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.sleeps...)
}

// newAlarm is the checkout alarm's state change at the fake clock's now.
func (h *harness) newAlarm(state alarm.State) *alarm.Alarm {
	prev := alarm.StateOK
	if state == alarm.StateOK {
		prev = alarm.StateAlarm
	}
	return &alarm.Alarm{
		Name: alarmName, ARN: alarmARN, Account: "123456789012", Region: "eu-west-1",
		State: state, PreviousState: prev, Reason: "Threshold Crossed: 3 datapoints were greater than the threshold (10.0).",
		Timestamp: h.clock.Now().Truncate(time.Millisecond), Tags: map[string]string{"env": "production"},
		Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count",
			Dimensions: map[string]string{"LoadBalancer": "app/checkout/50dc6c495c0c9188"}}},
		HTTP5xx: &alarm.HTTP5xx{Source: "target", Code: "5XX"},
		Route:   alarm.RouteEventBridge,
	}
}

// fire handles an ALARM state change and returns the incident with its
// card posted.
func (h *harness) fire() *store.Incident {
	h.t.Helper()
	out, err := h.engine.HandleAlarm(h.ctx, h.newAlarm(alarm.StateAlarm))
	if err != nil {
		h.t.Fatalf("handle alarm: %v", err)
	}
	if out.Incident == nil {
		h.t.Fatalf("no incident opened: %+v", out)
	}
	inc := h.incident(out.Incident.ID)
	if inc.Message.IsZero() {
		h.t.Fatal("the incident's card was not posted")
	}
	return inc
}

func (h *harness) incident(id string) *store.Incident {
	h.t.Helper()
	inc, err := h.store.Incident(h.ctx, id)
	if err != nil {
		h.t.Fatalf("read incident %s: %v", id, err)
	}
	return inc
}

func (h *harness) proposal(id string) *store.Proposal {
	h.t.Helper()
	p, err := h.store.Proposal(h.ctx, id)
	if err != nil {
		h.t.Fatalf("read proposal %s: %v", id, err)
	}
	return p
}

// firstProposal is step 1 of the checkout policy of inc.
func firstProposal(inc *store.Incident) string { return store.ProposalID(inc.ID, "checkout", 0) }

// drain handles every due queue message, and those they queue, until none
// is due.
func (h *harness) drain() {
	h.t.Helper()
	for range 100 {
		msgs := h.queue.Take()
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			if err := h.engine.HandleMessage(h.ctx, m); err != nil {
				h.t.Fatalf("handle %s message for %s: %v", m.Kind, m.Proposal, err)
			}
		}
	}
	h.t.Fatal("the queue never drained")
}

// click is a signed button press on inc's card, through the handler's HTTP
// door. Every click gets its own action_ts, as Slack gives it.
func (h *harness) click(inc *store.Incident, user, verb, proposal string) {
	h.t.Helper()
	if status := h.serve(h.signedClick(inc, user, verb, proposal)); status != http.StatusOK {
		h.t.Fatalf("%s by %s answered %d", verb, user, status)
	}
}

func (h *harness) signedClick(inc *store.Incident, user, verb, proposal string) *http.Request {
	n := h.actionTS.Add(1)
	return slacktesting.SignedClick(actionsPath, signingSecret, time.Now(), slacktesting.Click{
		UserID: user, ChannelID: inc.Message.Channel, MessageTs: inc.Message.TS,
		ProposalID: proposal, Verb: verb, ActionTs: fmt.Sprintf("1700000200.%06d", n),
	})
}

// serve runs one request through the handler and returns its status.
func (h *harness) serve(req *http.Request) int {
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec.Code
}

// ephemerals returns the texts shown privately to user.
func (h *harness) ephemerals(user string) []string {
	var out []string
	for _, r := range h.slack.Requests(slacktesting.MethodPostEphemeral) {
		if r.Form.Get("user") == user {
			out = append(out, r.Form.Get("text"))
		}
	}
	return out
}

// cardPosts are the chat.postMessage calls that posted a card (not thread
// replies, not calls Slack refused).
func (h *harness) cardPosts() []slacktesting.Request {
	var out []slacktesting.Request
	for _, r := range h.slack.Requests(slacktesting.MethodPostMessage) {
		if r.Form.Get("thread_ts") == "" && r.Failed == "" && !r.RateLimited {
			out = append(out, r)
		}
	}
	return out
}

// threadReplies are the replies posted in the thread of inc's card.
func (h *harness) threadReplies(inc *store.Incident) []slacktesting.Request {
	var out []slacktesting.Request
	for _, r := range h.slack.Requests(slacktesting.MethodPostMessage) {
		if r.Form.Get("thread_ts") == inc.Message.TS && r.Form.Get("channel") == inc.Message.Channel {
			out = append(out, r)
		}
	}
	return out
}

// updates are the successful chat.update calls of inc's card.
func (h *harness) updates(inc *store.Incident) []slacktesting.Request {
	var out []slacktesting.Request
	for _, r := range h.slack.Requests(slacktesting.MethodUpdate) {
		if !r.RateLimited && r.Form.Get("ts") == inc.Message.TS && r.Form.Get("channel") == inc.Message.Channel {
			out = append(out, r)
		}
	}
	return out
}

// lastCard is the text of the card as last updated (or posted).
func (h *harness) lastCard(inc *store.Incident) string {
	h.t.Helper()
	if ups := h.updates(inc); len(ups) > 0 {
		return blockText(ups[len(ups)-1].Blocks)
	}
	posts := h.cardPosts()
	if len(posts) == 0 {
		h.t.Fatal("no card was posted")
	}
	return blockText(posts[len(posts)-1].Blocks)
}

// blockText joins every text of blocks, one per line, with the buttons as
// "[action_id value]".
func blockText(blocks []slackapi.Block) string {
	var b strings.Builder
	add := func(t *slackapi.TextBlockObject) {
		if t != nil {
			b.WriteString(t.Text + "\n")
		}
	}
	for _, blk := range blocks {
		switch x := blk.(type) {
		case *slackapi.HeaderBlock:
			add(x.Text)
		case *slackapi.SectionBlock:
			add(x.Text)
			for _, f := range x.Fields {
				add(f)
			}
		case *slackapi.ContextBlock:
			for _, e := range x.ContextElements.Elements {
				if t, ok := e.(*slackapi.TextBlockObject); ok {
					add(t)
				}
			}
		case *slackapi.ActionBlock:
			if x.Elements == nil {
				continue
			}
			for _, e := range x.Elements.ElementSet {
				if btn, ok := e.(*slackapi.ButtonBlockElement); ok {
					fmt.Fprintf(&b, "[%s %s]\n", btn.ActionID, btn.Value)
				}
			}
		}
	}
	return b.String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// at is how a card says when a step reached its state: " at " and the
// Slack date of t, with its UTC fallback.
func at(t time.Time) string {
	return fmt.Sprintf(" at <!date^%d^{date_short_pretty} {time_secs}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// auditTime is when the audit trail says proposal id moved to state to.
func (h *harness) auditTime(incident, id string, to store.State) time.Time {
	h.t.Helper()
	entries, err := h.store.Audit(h.ctx, store.AuditQuery{Incident: incident})
	if err != nil {
		h.t.Fatalf("read audit: %v", err)
	}
	for _, e := range entries {
		if e.Proposal == id && e.To == to {
			return e.Time
		}
	}
	h.t.Fatalf("the audit has no move of %s to %s", id, to)
	return time.Time{}
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, text)
		}
	}
}

func mustNotContain(t *testing.T, what, text string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(text, w) {
			t.Errorf("%s says %q but should not:\n%s", what, w, text)
		}
	}
}
