package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/localqueue"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/testfakes"
)

// flakyQueue fails every send while down is set, as SQS does in an outage.
type flakyQueue struct {
	*queue
	down  atomic.Bool
	fails atomic.Int32
}

func (q *flakyQueue) Send(ctx context.Context, body []byte, delay time.Duration) error {
	if q.down.Load() {
		q.fails.Add(1)
		return errors.New("sqs: service unavailable")
	}
	return q.queue.Send(ctx, body, delay)
}

// flakyNotifier fails every card while down is set, with the error Slack
// gives (500, 429, channel_not_found).
type flakyNotifier struct {
	*notifier
	mu    sync.Mutex
	err   error
	fails atomic.Int32
}

func (n *flakyNotifier) down(err error) {
	n.mu.Lock()
	n.err = err
	n.mu.Unlock()
}

func (n *flakyNotifier) Notify(ctx context.Context, no *engine.Notice) (store.MessageRef, error) {
	n.mu.Lock()
	err := n.err
	n.mu.Unlock()
	if err != nil {
		n.fails.Add(1)
		return store.MessageRef{}, err
	}
	return n.notifier.Notify(ctx, no)
}

// opsRecorder records what operators were told.
type opsRecorder struct {
	mu    sync.Mutex
	calls []engine.StuckCards
}

func (o *opsRecorder) CardsStuck(_ context.Context, s engine.StuckCards) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, s)
	return nil
}

func (o *opsRecorder) all() []engine.StuckCards {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]engine.StuckCards(nil), o.calls...)
}

type outboxFixture struct {
	*fixture
	fq    *flakyQueue
	fn    *flakyNotifier
	ops   *opsRecorder
	scale *action
}

func newOutboxFixture(t *testing.T, pols []*policy.Policy, st func(testing.TB, *clock) store.Store) *outboxFixture {
	t.Helper()
	o := &outboxFixture{ops: &opsRecorder{}, scale: &action{name: "ecs.scale", target: "ecs:prod/checkout", reversible: true}}
	c := newClock()
	o.fixture = newFixture(t, pols, []*action{o.scale}, withStore(st(t, c)), withDeps(func(d *engine.Deps) {
		d.Clock = c
		o.fq = &flakyQueue{queue: d.Queue.(*queue)}
		o.fq.queue.Clock = c
		d.Queue = o.fq
		o.fn = &flakyNotifier{notifier: d.Notifier.(*notifier)}
		d.Notifier = o.fn
		d.Ops = o.ops
	}))
	o.fixture.clock = c
	return o
}

func (o *outboxFixture) owed(t *testing.T) []*store.Owed {
	t.Helper()
	owed, err := o.st.Owed(ctx, 0)
	if err != nil {
		t.Fatalf("list owed: %v", err)
	}
	return owed
}

// relayUntilEmpty relays as a timer would, moving the clock past each
// backoff, until nothing is owed.
func (o *outboxFixture) relayUntilEmpty(t *testing.T) {
	t.Helper()
	for range 20 {
		if len(o.owed(t)) == 0 {
			return
		}
		o.clock.Advance(6 * time.Minute)
		if _, err := o.e.Relay(ctx); err != nil {
			t.Fatalf("relay: %v", err)
		}
	}
	t.Fatalf("still owed after 20 relays: %d entries", len(o.owed(t)))
}

func stores() map[string]func(testing.TB, *clock) store.Store {
	return map[string]func(testing.TB, *clock) store.Store{"bbolt": boltStore, "dynamodb": dynamoStore}
}

// Every message medic owes survives a queue that is down when the change
// is committed: execute (auto step at intake, and after an approval),
// follow-up, expire and undo on recovery. Afterwards each step ran exactly
// once and nothing is owed.
func TestOwedQueueMessagesSurviveAQueueOutage(t *testing.T) {
	for name, st := range stores() {
		t.Run(name, func(t *testing.T) {
			ladder := autoPolicy("checkout", "ecs.scale",
				&policy.Step{Action: "ecs.scale", Approval: policy.ApprovalAuto},
				&policy.Step{Action: "ecs.scale", Approval: policy.ApprovalRequired, Approvers: []string{"S-oncall"}, Expires: 15 * time.Minute, After: 10 * time.Minute})
			ladder.OnRecovery = policy.OnRecoveryUndo
			o := newOutboxFixture(t, []*policy.Policy{ladder}, st)

			// Intake while SQS is down: the incident and the auto step's
			// execute message are recorded together; intake does not fail.
			o.fq.down.Store(true)
			a := newAlarm("checkout-5xx", o.clock.Now())
			out, err := o.e.HandleAlarm(ctx, a)
			if err != nil {
				t.Fatalf("intake with the queue down failed: %v (the message is owed, not lost)", err)
			}
			step1 := out.Proposals[0].ID
			if o.fq.fails.Load() == 0 {
				t.Fatal("the queue was never tried")
			}
			if owed := o.owed(t); len(owed) != 1 || owed[0].Kind != store.OwedQueue || owed[0].Attempts != 1 || !strings.Contains(owed[0].LastError, "service unavailable") {
				t.Fatalf("owed after the failed send: %+v", owed)
			}
			// A relay before the backoff sends nothing; the queue is back.
			o.fq.down.Store(false)
			if res, _ := o.e.Relay(ctx); res.Sent != 0 {
				t.Fatalf("relay ignored the backoff: sent %d", res.Sent)
			}
			o.relayUntilEmpty(t)
			o.drainDue(t)
			if p := o.proposal(t, step1); p.State != store.StateSucceeded || o.scale.applies.Load() != 1 {
				t.Fatalf("step 1 %s, applied %d times", p.State, o.scale.applies.Load())
			}

			// The follow-up for step 2 was owed with step 1's result; the
			// queue fails again when it comes due... it is delivered by the
			// relay and keeps its due time.
			owedFollowUp := o.q.Waiting()
			if len(owedFollowUp) != 1 || owedFollowUp[0].Msg.Kind != engine.KindFollowUp {
				t.Fatalf("queued after step 1: %+v", owedFollowUp)
			}
			o.clock.Advance(10 * time.Minute)
			o.fq.down.Store(true)
			o.drainDue(t) // proposes step 2; its expiry message is owed
			step2 := store.ProposalID(out.Incident.ID, "checkout", 1)
			p2 := o.proposal(t, step2)
			if p2.State != store.StateProposed {
				t.Fatalf("step 2 is %s", p2.State)
			}
			// Approve with the queue down: the approver is told it is
			// approved, not that nothing was done.
			vote, err := o.e.Vote(ctx, step2, "U1", true)
			if err != nil || vote.Result != engine.VoteApproved {
				t.Fatalf("vote with the queue down: %v %v", vote.Result, err)
			}
			owed := o.owed(t)
			kinds := map[string]int{}
			for _, e := range owed {
				kinds[string(e.Kind)]++
			}
			if kinds["queue"] != 2 { // step 2's expiry and its execution
				t.Fatalf("owed queue messages = %d, want 2 (expire, execute): %+v", kinds["queue"], owed)
			}
			for _, e := range owed {
				if strings.Contains(string(e.Body), `"expire"`) && !e.DueAt.Equal(p2.ExpiresAt) {
					t.Errorf("the owed expiry is due %s, want the proposal's expiry %s", e.DueAt, p2.ExpiresAt)
				}
			}
			o.fq.down.Store(false)
			o.relayUntilEmpty(t)
			o.drainDue(t)
			if p := o.proposal(t, step2); p.State != store.StateSucceeded || o.scale.applies.Load() != 2 {
				t.Fatalf("step 2 %s, applied %d times in all", p.State, o.scale.applies.Load())
			}
			// The relayed expiry still carries the original due time: it
			// waits (and then finds the step done).
			var expiry *testfakes.Queued
			waiting := o.q.Waiting()
			for i := range waiting {
				if waiting[i].Msg.Kind == engine.KindExpire {
					expiry = &waiting[i]
				}
			}
			if expiry == nil || !expiry.Msg.NotBefore.Equal(p2.ExpiresAt) {
				t.Errorf("relayed expiry %+v, want not before %s", expiry, p2.ExpiresAt)
			}

			// Recovery while the queue is down: the undo is owed with the
			// once-only counter.
			o.fq.down.Store(true)
			if _, err := o.e.HandleAlarm(ctx, okAlarm(a, 30*time.Minute)); err != nil {
				t.Fatalf("recovery with the queue down: %v", err)
			}
			o.fq.down.Store(false)
			o.relayUntilEmpty(t)
			o.drainDue(t)
			if got := o.scale.undos.Load(); got != 1 {
				t.Fatalf("undone %d times, want once (step 1 is the auto step)", got)
			}
			// Nothing left owed; relaying again sends nothing twice.
			o.clock.Advance(time.Hour)
			if res, err := o.e.Relay(ctx); err != nil || res.Sent != 0 {
				t.Fatalf("a relay with nothing owed sent %d (%v)", res.Sent, err)
			}
			o.drainDue(t)
			if o.scale.applies.Load() != 2 || o.scale.undos.Load() != 1 {
				t.Fatalf("after everything: %d applies, %d undos", o.scale.applies.Load(), o.scale.undos.Load())
			}
			checkAuditMatches(t, o.st, out.Incident.ID)
		})
	}
}

// drainDue delivers the messages due now, as the queue would.
func (o *outboxFixture) drainDue(t *testing.T) {
	t.Helper()
	for range 100 {
		msgs := o.q.Take()
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			if err := o.e.HandleMessage(ctx, m); err != nil {
				t.Fatalf("handle %s %s: %v", m.Kind, m.Proposal, err)
			}
		}
	}
}

// A card Slack will not take (500, 429, channel_not_found) stays owed and
// is retried with backoff; after CardAlertAfter operators are told, once,
// naming the incident; when Slack takes it, the card shows the current
// state, not the one it was owed for.
func TestOwedCardsAreRetriedUntilSlackTakesThem(t *testing.T) {
	for _, slackErr := range []error{
		errors.New("slack: 500 internal server error"),
		errors.New("slack rate limit exceeded, retry after 30s"),
		errors.New("slack: channel_not_found"),
	} {
		t.Run(slackErr.Error(), func(t *testing.T) {
			o := newOutboxFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, boltStore)
			o.fn.down(slackErr)
			out, err := o.e.HandleAlarm(ctx, newAlarm("checkout-5xx", o.clock.Now()))
			if err != nil {
				t.Fatalf("intake with Slack down: %v", err)
			}
			o.drainDue(t) // the step runs while Slack is down
			if p := o.proposal(t, out.Proposals[0].ID); p.State != store.StateSucceeded {
				t.Fatalf("step %s: Slack being down must not stop remediation", p.State)
			}
			cards := 0
			for _, e := range o.owed(t) {
				if e.Kind == store.OwedCard {
					cards++
				}
			}
			if cards != 2 { // the new card, the result
				t.Fatalf("owed cards = %d, want 2", cards)
			}
			// Within CardAlertAfter nobody is alerted; after it, once.
			o.clock.Advance(2 * time.Minute)
			if _, err := o.e.Relay(ctx); err != nil {
				t.Fatal(err)
			}
			if len(o.ops.all()) != 0 {
				t.Fatalf("operators alerted after 2 minutes: %+v", o.ops.all())
			}
			o.clock.Advance(4 * time.Minute)
			res, err := o.e.Relay(ctx)
			if err != nil {
				t.Fatal(err)
			}
			calls := o.ops.all()
			if len(calls) != 1 || len(calls[0].New) != 1 || calls[0].New[0] != out.Incident.ID || len(res.StuckCards) != 1 {
				t.Fatalf("ops calls %+v, stuck %v: want one naming %s", calls, res.StuckCards, out.Incident.ID)
			}
			o.clock.Advance(6 * time.Minute)
			_, _ = o.e.Relay(ctx)
			if calls := o.ops.all(); len(calls) != 2 || len(calls[1].New) != 0 || len(calls[1].Incidents) != 1 {
				t.Fatalf("second relay's ops call %+v: the incident is still stuck but not new", calls)
			}
			if o.fn.fails.Load() < 3 {
				t.Fatalf("Slack tried %d times, want retries", o.fn.fails.Load())
			}
			// Slack is back: both owed cards go out; the card shows the
			// step done, although the first was owed while it was proposed.
			o.fn.down(nil)
			o.relayUntilEmpty(t)
			notes := o.notes.notices
			if len(notes) != 2 || notes[0].Kind != engine.NoticeOpened {
				t.Fatalf("notices after Slack came back: %d, first %v", len(notes), notes[0].Kind)
			}
			if notes[0].Proposals[0].State != store.StateSucceeded {
				t.Errorf("the late card shows %s, want the current SUCCEEDED", notes[0].Proposals[0].State)
			}
			inc, _ := o.st.Incident(ctx, out.Incident.ID)
			if inc.Message.IsZero() {
				t.Error("the card's place was not remembered")
			}
		})
	}
}

// While a card is owed for an incident, that incident's later cards wait
// their turn: a later update never posts a second card first.
func TestAnIncidentsCardsKeepTheirOrder(t *testing.T) {
	o := newOutboxFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, boltStore)
	o.fn.down(errors.New("slack: 503"))
	if _, err := o.e.HandleAlarm(ctx, newAlarm("checkout-5xx", o.clock.Now())); err != nil {
		t.Fatal(err)
	}
	o.drainDue(t)
	attempts := o.fn.fails.Load()
	o.clock.Advance(time.Minute)
	if _, err := o.e.Relay(ctx); err != nil {
		t.Fatal(err)
	}
	if got := o.fn.fails.Load() - attempts; got != 1 {
		t.Errorf("a relay tried %d cards of one incident while its first failed, want 1", got)
	}
}

var _ = alarm.StateAlarm

// The in-process queue of `medic serve` refuses work while it shuts down:
// an approval recorded then owes its execution, and the next run relays
// it (from the store, not from memory), so the step runs exactly once.
func TestAnApprovalDuringShutdownRunsAfterTheRestart(t *testing.T) {
	c := newClock()
	st := boltStore(t, c)
	scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
	pol := autoPolicy("checkout", "ecs.scale", requiredStep("ecs.scale", 1))
	newEngine := func(q engine.Queue) *engine.Engine {
		f := newFixture(t, []*policy.Policy{pol}, []*action{scale}, withStore(st), withDeps(func(d *engine.Deps) { d.Clock, d.Queue = c, q }))
		return f.e
	}
	first := localqueue.New(localqueue.Options{})
	e1 := newEngine(first)
	first.Start(e1.HandleMessage)
	out, err := e1.HandleAlarm(ctx, newAlarm("checkout-5xx", c.Now()))
	if err != nil {
		t.Fatal(err)
	}
	id := out.Proposals[0].ID
	if _, err := first.Close(ctx); err != nil {
		t.Fatalf("close the first queue: %v", err)
	}
	vote, err := e1.Vote(ctx, id, "U1", true)
	if err != nil || vote.Result != engine.VoteApproved {
		t.Fatalf("vote while the queue is closed: %v %v", vote.Result, err)
	}
	if scale.applies.Load() != 0 {
		t.Fatal("ran on a closed queue")
	}

	second := localqueue.New(localqueue.Options{})
	e2 := newEngine(second)
	second.Start(e2.HandleMessage)
	t.Cleanup(func() { _, _ = second.Close(ctx) })
	c.Advance(time.Minute)
	res, err := e2.Relay(ctx)
	if err != nil || res.Sent == 0 {
		t.Fatalf("relay after the restart: %+v %v", res, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if p, _ := st.Proposal(ctx, id); p != nil && p.State == store.StateSucceeded {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p, _ := st.Proposal(ctx, id); p.State != store.StateSucceeded {
		t.Fatalf("step %s 10 s after the restart, want SUCCEEDED", p.State)
	}
	if got := scale.applies.Load(); got != 1 {
		t.Fatalf("applied %d times after the restart, want 1", got)
	}
}
