package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/killswitch"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/internal/store/dynamostore"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/internal/testfakes"
	"github.com/medicbot/medic/remediations"
)

var ctx = context.Background()

// clock and queue are the shared fakes (package testfakes).
type (
	clock = testfakes.Clock
	queue = testfakes.Queue
)

var newClock = testfakes.NewClock

// action is a fake remediation counting its calls.
type action struct {
	name       string
	target     string
	reversible bool
	planErr    error
	applyErr   error
	applying   chan struct{} // closed... signalled when Apply starts, if set
	release    chan struct{} // Apply waits for it, if set
	plans      atomic.Int32
	applies    atomic.Int32
	undos      atomic.Int32
}

func (a *action) Name() string                { return a.name }
func (a *action) Schema() remediations.Schema { return remediations.Schema{} }
func (a *action) Plan(_ context.Context, al *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	a.plans.Add(1)
	if a.planErr != nil {
		return nil, a.planErr
	}
	target := a.target
	if t, ok := p["target"].(string); ok {
		target = t
	}
	return &remediations.Plan{Action: a.name, Target: target, Summary: target + ": desired 4 -> 6", Reversible: a.reversible,
		Changes: []remediations.Change{{Resource: target, Field: "desired", From: "4", To: "6"}}}, nil
}
func (a *action) Apply(_ context.Context, p *remediations.Plan) (*remediations.Result, error) {
	a.applies.Add(1)
	if a.applying != nil {
		a.applying <- struct{}{}
	}
	if a.release != nil {
		<-a.release
	}
	if a.applyErr != nil {
		return nil, a.applyErr
	}
	return &remediations.Result{Action: a.name, Target: p.Target, Summary: p.Target + ": desired 4 -> 6", Data: json.RawMessage(`{"from":4}`)}, nil
}
func (a *action) Undo(_ context.Context, r *remediations.Result) (*remediations.Result, error) {
	a.undos.Add(1)
	return &remediations.Result{Action: a.name, Target: r.Target, Summary: r.Target + ": desired 6 -> 4"}, nil
}

// actions is a name -> action map.
type actions map[string]remediations.Action

func (as actions) Get(name string) (remediations.Action, bool) { a, ok := as[name]; return a, ok }

// notifier records notices.
type notifier struct {
	mu      sync.Mutex
	notices []engine.Notice
}

func (n *notifier) Notify(_ context.Context, no *engine.Notice) (store.MessageRef, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notices = append(n.notices, *no)
	return store.MessageRef{Channel: "C1", TS: fmt.Sprint(len(n.notices))}, nil
}

func (n *notifier) kinds() []engine.NoticeKind {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []engine.NoticeKind
	for _, no := range n.notices {
		out = append(out, no.Kind)
	}
	return out
}

func (n *notifier) last() engine.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.notices[len(n.notices)-1]
}

// alarmState is a settable fake AlarmState.
type alarmState struct {
	mu    sync.Mutex
	state alarm.State
	err   error
}

func (s *alarmState) AlarmState(context.Context, *alarm.Alarm) (alarm.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.err
}

func (s *alarmState) set(st alarm.State, err error) {
	s.mu.Lock()
	s.state, s.err = st, err
	s.mu.Unlock()
}

// authorizer allows the listed users.
type authorizer struct {
	allowed map[string]bool
	err     error
}

func (a *authorizer) Allowed(_ context.Context, user string, _ []string) (bool, error) {
	return a.allowed[user], a.err
}

// brokenSwitch cannot be read.
type brokenSwitch struct{}

func (brokenSwitch) State(context.Context) (killswitch.State, error) {
	return killswitch.State{}, errors.New("ssm: throttled")
}

// matcher matches every policy.
type matcher []*policy.Policy

func (m matcher) Match(*alarm.Alarm) []*policy.Policy { return m }

// render turns a step into params: the target comes from the action's
// default unless the test's stepTargets says otherwise.
func render(step *policy.Step, _ *alarm.Alarm) (remediations.Params, error) {
	if step.Action == "bad.render" {
		return nil, errors.New("template: no such dimension")
	}
	return remediations.Params{}, nil
}

// fixture wires an engine to fakes.
type fixture struct {
	e       *engine.Engine
	st      store.Store
	clock   *clock
	q       *queue
	notes   *notifier
	acts    actions
	state   *alarmState
	auth    *authorizer
	matcher matcher
}

type option func(*fixture, *engine.Config, *engine.Deps)

func withStore(st store.Store) option {
	return func(f *fixture, _ *engine.Config, d *engine.Deps) { f.st = st; d.Store = st }
}

func withConfig(fn func(*engine.Config)) option {
	return func(_ *fixture, c *engine.Config, _ *engine.Deps) { fn(c) }
}

func withDeps(fn func(*engine.Deps)) option {
	return func(_ *fixture, _ *engine.Config, d *engine.Deps) { fn(d) }
}

func boltStore(t testing.TB, c *clock) store.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "medic.db"), boltstore.Options{Now: c.Now, NoSync: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func dynamoStore(t testing.TB, c *clock) store.Store {
	t.Helper()
	m := testenv.Moto(t)
	api := dynamodb.NewFromConfig(m.Config)
	if err := dynamostore.CreateTable(ctx, api, "medic"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	// moto lacks transaction isolation; see dynamostore.Isolated.
	return dynamostore.New(dynamostore.Isolated(api), "medic", dynamostore.Options{Now: c.Now})
}

func newFixture(t testing.TB, pols []*policy.Policy, acts []*action, opts ...option) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(), notes: &notifier{}, acts: actions{},
		state: &alarmState{state: alarm.StateAlarm}, auth: &authorizer{allowed: map[string]bool{}}, matcher: pols}
	f.q = testfakes.NewQueue(f.clock)
	for _, a := range acts {
		f.acts[a.name] = a
	}
	for i := range 30 {
		f.auth.allowed[fmt.Sprintf("U%d", i)] = true
	}
	cfg := engine.Config{}
	deps := engine.Deps{Policies: f.matcher, Render: render, Actions: f.acts, Notifier: f.notes, Queue: f.q,
		AlarmState: f.state, Authorizer: f.auth, Clock: f.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(f, &cfg, &deps)
	}
	if deps.Store == nil {
		f.st = boltStore(t, f.clock)
		deps.Store = f.st
	}
	e, err := engine.New(cfg, deps)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	f.e = e
	return f
}

// drain delivers every due message until none is due, then moves the clock
// to the next waiting message while it is within horizon of the start.
func (f *fixture) drain(t testing.TB, horizon time.Duration) {
	t.Helper()
	end := f.clock.Now().Add(horizon)
	for range 1000 {
		msgs := f.q.Take()
		if len(msgs) == 0 {
			next, ok := f.q.Next()
			if !ok || next.After(end) {
				return
			}
			if d := next.Sub(f.clock.Now()); d > 0 {
				f.clock.Advance(d)
			}
			continue
		}
		for _, m := range msgs {
			if err := f.e.HandleMessage(ctx, m); err != nil {
				t.Fatalf("handle %s %s: %v", m.Kind, m.Proposal, err)
			}
		}
	}
	t.Fatal("drain: messages never stopped")
}

func (f *fixture) proposal(t testing.TB, id string) *store.Proposal {
	t.Helper()
	p, err := f.st.Proposal(ctx, id)
	if err != nil {
		t.Fatalf("read proposal %s: %v", id, err)
	}
	return p
}

func (f *fixture) audit(t testing.TB, incident string) []store.AuditEntry {
	t.Helper()
	a, err := f.st.Audit(ctx, store.AuditQuery{Incident: incident})
	if err != nil {
		t.Fatalf("read audit: %v", err)
	}
	return a
}

func events(entries []store.AuditEntry) []string {
	var out []string
	for _, a := range entries {
		out = append(out, a.Event)
	}
	return out
}

var alarmSeq atomic.Int64

// newAlarm returns a fresh ALARM state change of one alarm.
func newAlarm(name string, ts time.Time) *alarm.Alarm {
	return &alarm.Alarm{Name: name, ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name,
		State: alarm.StateAlarm, Timestamp: ts, Reason: "Threshold Crossed", Route: alarm.RouteEventBridge}
}

func okAlarm(a *alarm.Alarm, after time.Duration) *alarm.Alarm {
	ok := *a
	ok.State, ok.PreviousState, ok.Timestamp = alarm.StateOK, alarm.StateAlarm, a.Timestamp.Add(after)
	return &ok
}

func autoPolicy(name, act string, steps ...*policy.Step) *policy.Policy {
	if len(steps) == 0 {
		steps = []*policy.Step{{Action: act, Approval: policy.ApprovalAuto}}
	}
	for i, s := range steps {
		s.Index = i
	}
	return &policy.Policy{Name: name, Cooldown: 10 * time.Minute, Steps: steps}
}

func requiredStep(act string, quorum int) *policy.Step {
	return &policy.Step{Action: act, Approval: policy.ApprovalRequired, Approvers: []string{"S-oncall"}, Quorum: quorum, Expires: 30 * time.Minute}
}

// checkAuditMatches verifies the audit trail never lost a transition: each
// proposal's last audited state is its current state.
func checkAuditMatches(t testing.TB, st store.Store, incident string) {
	t.Helper()
	props, err := st.Proposals(ctx, incident)
	if err != nil {
		t.Fatalf("list proposals: %v", err)
	}
	entries, err := st.Audit(ctx, store.AuditQuery{Incident: incident})
	if err != nil {
		t.Fatalf("read audit: %v", err)
	}
	last := map[string]store.State{}
	for _, a := range entries {
		if a.Proposal != "" && a.To != "" {
			last[a.Proposal] = a.To
		}
	}
	for _, p := range props {
		if last[p.ID] != p.State {
			t.Errorf("proposal %s is %s but its audit trail ends at %q", p.ID, p.State, last[p.ID])
		}
	}
}
