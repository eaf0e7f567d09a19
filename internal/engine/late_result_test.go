package engine_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// hookStore runs hooks around commits, to stop one goroutine at a chosen
// point while another goes on.
type hookStore struct {
	store.Store
	mu     sync.Mutex
	before func(*store.Tx)
	after  func(*store.Tx)
}

func (h *hookStore) Commit(ctx context.Context, tx *store.Tx) error {
	h.mu.Lock()
	before, after := h.before, h.after
	h.mu.Unlock()
	if before != nil {
		before(tx)
	}
	err := h.Store.Commit(ctx, tx)
	if err == nil && after != nil {
		after(tx)
	}
	return err
}

func (h *hookStore) hook(before, after func(*store.Tx)) {
	h.mu.Lock()
	h.before, h.after = before, after
	h.mu.Unlock()
}

func resolves(tx *store.Tx) bool {
	return len(tx.Incidents) == 1 && tx.Incidents[0].Incident.State == store.IncidentResolved
}

func succeeds(tx *store.Tx) bool {
	return len(tx.Proposals) == 1 && tx.Proposals[0].Proposal.State == store.StateSucceeded
}

// lateStep is one auto step of a policy with on_recovery: undo whose Apply
// blocks until released, and whose execution runs in the background.
type lateStep struct {
	f     *fixture
	hs    *hookStore
	scale *action
	alarm *alarm.Alarm
	inc   string
	id    string
	exec  engine.Message
	done  chan struct{}
	err   error
}

func newLateStep(t *testing.T, mk func(testing.TB, *clock) store.Store) *lateStep {
	t.Helper()
	c := newClock()
	hs := &hookStore{Store: mk(t, c)}
	scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", reversible: true,
		applying: make(chan struct{}, 1), release: make(chan struct{})}
	pol := autoPolicy("checkout", "ecs.scale")
	pol.OnRecovery = policy.OnRecoveryUndo
	f := newFixture(t, []*policy.Policy{pol}, []*action{scale}, withStore(hs), withDeps(func(d *engine.Deps) { d.Clock = c }))
	f.clock, f.q.Clock = c, c
	a := newAlarm("checkout-5xx", c.Now())
	out, err := f.e.HandleAlarm(ctx, a)
	if err != nil || len(out.Proposals) != 1 || out.Proposals[0].State != store.StateApproved {
		t.Fatalf("handle alarm: %+v, %v", out, err)
	}
	msgs := f.q.Take()
	if len(msgs) != 1 || msgs[0].Kind != engine.KindExecute {
		t.Fatalf("queued = %v", msgs)
	}
	return &lateStep{f: f, hs: hs, scale: scale, alarm: a, inc: out.Incident.ID, id: out.Proposals[0].ID, exec: msgs[0], done: make(chan struct{})}
}

// start runs the execution in the background and waits for Apply to start.
func (s *lateStep) start() {
	go func() {
		defer close(s.done)
		s.err = s.f.e.HandleMessage(ctx, s.exec)
	}()
	<-s.scale.applying
}

// finish lets Apply return and waits for the execution to end.
func (s *lateStep) finish(t *testing.T) {
	t.Helper()
	close(s.scale.release)
	s.wait(t)
}

func (s *lateStep) wait(t *testing.T) {
	t.Helper()
	<-s.done
	if s.err != nil {
		t.Errorf("execute: %v", s.err)
	}
}

func (s *lateStep) recover(t *testing.T) {
	t.Helper()
	out, err := s.f.e.HandleAlarm(ctx, okAlarm(s.alarm, 5*time.Minute))
	if err != nil || len(out.Resolved) != 1 {
		t.Errorf("recovery = %+v, %v", out, err)
	}
}

// check verifies the outcome whatever the interleaving: the step ran once,
// its undo was queued once and ran once, the audit trail says so, and a
// recovery timeline shows the late result.
func (s *lateStep) check(t *testing.T) {
	t.Helper()
	f := s.f
	if n := f.q.Count(engine.KindUndo); n != 1 {
		t.Fatalf("undo messages = %d, want 1 (sent: %v)", n, f.q.Kinds())
	}
	// Repeated deliveries of the execution and of the OK queue nothing more.
	if err := f.e.HandleMessage(ctx, s.exec); err != nil {
		t.Fatalf("redelivered execute: %v", err)
	}
	if out, err := f.e.HandleAlarm(ctx, okAlarm(s.alarm, 5*time.Minute)); err != nil || len(out.Resolved) != 0 {
		t.Fatalf("redelivered OK = %+v, %v", out, err)
	}
	if n := f.q.Count(engine.KindUndo); n != 1 {
		t.Fatalf("undo messages after redeliveries = %d, want 1", n)
	}
	f.drain(t, time.Minute)
	p := f.proposal(t, s.id)
	if p.State != store.StateUndone || s.scale.applies.Load() != 1 || s.scale.undos.Load() != 1 {
		t.Fatalf("step = %s (%s), applies %d, undos %d; want UNDONE, 1, 1", p.State, p.Reason, s.scale.applies.Load(), s.scale.undos.Load())
	}
	ev := events(f.audit(t, s.inc))
	queued := 0
	for _, e := range ev {
		if e == "undo.queued" {
			queued++
		}
	}
	if queued != 1 || !slices.Contains(ev, "proposal.succeeded") || !slices.Contains(ev, "proposal.undone") {
		t.Fatalf("audit = %v; want one undo.queued", ev)
	}
	checkAuditMatches(t, f.st, s.inc)
	shown := false
	f.notes.mu.Lock()
	for _, n := range f.notes.notices {
		if n.Kind == engine.NoticeRecovered && slices.Contains(events(n.Timeline), "proposal.succeeded") {
			shown = true
		}
	}
	f.notes.mu.Unlock()
	if !shown {
		t.Fatal("no recovery timeline shows the step's result")
	}
}

// TestAStepFinishingAfterRecoveryIsUndone: a step still running when its
// alarm recovers is undone when it finishes, as its policy asks, exactly
// once however the recovery and the end of the step interleave.
func TestAStepFinishingAfterRecoveryIsUndone(t *testing.T) {
	for name, mk := range map[string]func(testing.TB, *clock) store.Store{"bolt": boltStore, "dynamodb": dynamoStore} {
		t.Run(name+": OK while Apply runs", func(t *testing.T) {
			s := newLateStep(t, mk)
			s.start()
			s.recover(t)
			if n := s.f.q.Count(engine.KindUndo); n != 0 {
				t.Fatalf("undo queued for a running step: %d", n)
			}
			if p := s.f.proposal(t, s.id); p.State != store.StateExecuting {
				t.Fatalf("step = %s while Apply runs", p.State)
			}
			s.finish(t)
			last := s.f.notes.last()
			if last.Kind != engine.NoticeRecovered || last.Changed == nil || last.Changed.State != store.StateSucceeded ||
				!slices.Contains(events(last.Timeline), "proposal.succeeded") || !slices.Contains(events(last.Timeline), "undo.queued") {
				t.Fatalf("last notice = %s %q, timeline %v", last.Kind, last.Summary, events(last.Timeline))
			}
			s.check(t)
		})
		// The step finishes after resolve read it as running, but before
		// resolve records the recovery: the executor still sees the
		// incident open, so resolve must see the result.
		t.Run(name+": the step finishes between resolve's read and its commit", func(t *testing.T) {
			s := newLateStep(t, mk)
			s.start()
			var once sync.Once
			s.hs.hook(func(tx *store.Tx) {
				if resolves(tx) {
					once.Do(func() { s.finish(t) })
				}
			}, nil)
			s.recover(t)
			s.hs.hook(nil, nil)
			s.check(t)
		})
		// The whole recovery happens between the step's result being
		// recorded and its executor reading the incident: both see the
		// other, and only one may queue the undo.
		t.Run(name+": the alarm recovers between the result and the executor's next read", func(t *testing.T) {
			s := newLateStep(t, mk)
			s.start()
			var once sync.Once
			s.hs.hook(nil, func(tx *store.Tx) {
				if succeeds(tx) {
					once.Do(func() { s.recover(t) })
				}
			})
			s.finish(t)
			s.hs.hook(nil, nil)
			s.check(t)
		})
	}
	// Free-running races of the recovery and the end of the step.
	for i := range 10 {
		t.Run(fmt.Sprintf("bolt: race %d", i), func(t *testing.T) {
			s := newLateStep(t, boltStore)
			s.start()
			go0 := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				<-go0
				close(s.scale.release)
			})
			wg.Go(func() {
				<-go0
				s.recover(t)
			})
			close(go0)
			wg.Wait()
			s.wait(t)
			s.check(t)
		})
	}
}
