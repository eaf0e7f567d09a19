package engine_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/killswitch"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// pausingAlarmState answers ALARM, pausing medic while it is asked (once
// armed): a Pause pressed while the executor waits for CloudWatch.
type pausingAlarmState struct {
	armed atomic.Bool
	pause func()
}

func (s *pausingAlarmState) AlarmState(context.Context, *alarm.Alarm) (alarm.State, error) {
	if s.armed.CompareAndSwap(true, false) {
		s.pause()
	}
	return alarm.StateAlarm, nil
}

// pauseAfterRead reads the kill switch and then (once armed) pauses medic
// before returning what it read: a Pause landing between the executor's
// last read of the switch and its claim, or an SSM answer that is already
// out of date.
type pauseAfterRead struct {
	inner engine.Switch
	armed atomic.Bool
	pause func()
}

func (s *pauseAfterRead) State(ctx context.Context) (killswitch.State, error) {
	st, err := s.inner.State(ctx)
	if s.armed.CompareAndSwap(true, false) {
		s.pause()
	}
	return st, err
}

const pausedBy = "medic is paused by U1: game day"

// checkPausedBlock checks that proposal id ended as today's paused path
// ends it: BLOCKED with the pause's reason, audited, shown on the card.
func checkPausedBlock(t *testing.T, f *fixture, id string, scale *action) {
	t.Helper()
	p := f.proposal(t, id)
	if p.State != store.StateBlocked || p.Reason != pausedBy || scale.applies.Load() != 0 {
		t.Fatalf("proposal = %s (%q), applies %d; want BLOCKED (%q), no apply", p.State, p.Reason, scale.applies.Load(), pausedBy)
	}
	entries := f.audit(t, p.Incident)
	last := entries[len(entries)-1]
	if last.Proposal != id || last.Event != "proposal.blocked" || last.From != store.StateApproved || last.Why != pausedBy {
		t.Fatalf("last audit entry = %+v", last)
	}
	for _, a := range entries {
		if a.Event == "proposal.executing" {
			t.Fatalf("claim audited while paused: %+v", a)
		}
	}
	n := f.notes.last()
	if n.Kind != engine.NoticeUpdated || !strings.Contains(n.Summary, "BLOCKED: "+pausedBy) || n.Paused == nil || n.Paused.By != "U1" {
		t.Fatalf("last notice = %s %q (paused %+v)", n.Kind, n.Summary, n.Paused)
	}
	if l, err := f.st.Lock(ctx, "ecs:prod/checkout"); err == nil {
		t.Fatalf("lock taken while paused: %+v", l)
	}
	if c, _ := f.st.Counter(ctx, store.GlobalCounter(f.clock.Now())); c != 0 {
		t.Fatalf("execution counted while paused: %d", c)
	}
	checkAuditMatches(t, f.st, p.Incident)
}

// TestAPauseDuringTheChecksStopsTheClaim: "nothing runs while paused" holds
// for a Pause pressed at any moment before the claim commits, for
// executions and undos, on both stores.
func TestAPauseDuringTheChecksStopsTheClaim(t *testing.T) {
	for name, mk := range map[string]func(testing.TB, *clock) store.Store{"bolt": boltStore, "dynamodb": dynamoStore} {
		setup := func(t *testing.T, reversible bool) (*fixture, *action, *pausingAlarmState, *pauseAfterRead) {
			c := newClock()
			st := mk(t, c)
			scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", reversible: reversible}
			pol := autoPolicy("checkout", "ecs.scale")
			pol.OnRecovery = policy.OnRecoveryUndo
			cw := &pausingAlarmState{}
			sw := &pauseAfterRead{inner: killswitch.New(st, nil, "")}
			f := newFixture(t, []*policy.Policy{pol}, []*action{scale}, withStore(st),
				withDeps(func(d *engine.Deps) { d.Clock, d.AlarmState, d.Switch = c, cw, sw }))
			f.clock, f.q.Clock = c, c
			pause := func() {
				if err := f.e.Pause(ctx, "U1", "game day"); err != nil {
					t.Errorf("pause: %v", err)
				}
			}
			cw.pause, sw.pause = pause, pause
			return f, scale, cw, sw
		}
		t.Run(name+": paused while the alarm state is read", func(t *testing.T) {
			f, scale, cw, _ := setup(t, false)
			out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
			if err != nil || out.Proposals[0].State != store.StateApproved {
				t.Fatalf("handle alarm: %+v, %v", out, err)
			}
			cw.armed.Store(true)
			f.drain(t, time.Minute)
			if cw.armed.Load() {
				t.Fatal("the alarm state was never read")
			}
			checkPausedBlock(t, f, out.Proposals[0].ID, scale)
		})
		t.Run(name+": paused between the last read of the switch and the claim", func(t *testing.T) {
			f, scale, _, sw := setup(t, false)
			out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
			if err != nil || out.Proposals[0].State != store.StateApproved {
				t.Fatalf("handle alarm: %+v, %v", out, err)
			}
			sw.armed.Store(true)
			f.drain(t, time.Minute)
			if sw.armed.Load() {
				t.Fatal("the switch was never read")
			}
			checkPausedBlock(t, f, out.Proposals[0].ID, scale)
		})
		t.Run(name+": undo on recovery paused between the last read of the switch and the claim", func(t *testing.T) {
			f, scale, _, sw := setup(t, true)
			a := newAlarm("checkout-5xx", f.clock.Now())
			out, err := f.e.HandleAlarm(ctx, a)
			if err != nil {
				t.Fatalf("handle alarm: %v", err)
			}
			id := out.Proposals[0].ID
			f.drain(t, time.Minute)
			if p := f.proposal(t, id); p.State != store.StateSucceeded {
				t.Fatalf("step = %s (%s)", p.State, p.Reason)
			}
			if _, err := f.e.HandleAlarm(ctx, okAlarm(a, 5*time.Minute)); err != nil {
				t.Fatalf("recovery: %v", err)
			}
			sw.armed.Store(true)
			f.drain(t, time.Minute)
			if sw.armed.Load() {
				t.Fatal("the switch was never read")
			}
			p := f.proposal(t, id)
			if p.State != store.StateSucceeded || scale.undos.Load() != 0 {
				t.Fatalf("step = %s, undos %d; want SUCCEEDED, none", p.State, scale.undos.Load())
			}
			entries := f.audit(t, out.Incident.ID)
			last := entries[len(entries)-1]
			if last.Event != "undo.blocked" || last.Proposal != id || last.Why != pausedBy {
				t.Fatalf("last audit entry = %+v", last)
			}
			if n := f.notes.last(); !strings.Contains(n.Summary, "undo of step 1 of checkout not run: "+pausedBy) || n.Paused == nil {
				t.Fatalf("last notice = %s %q (paused %+v)", n.Kind, n.Summary, n.Paused)
			}
			if l, err := f.st.Lock(ctx, "ecs:prod/checkout"); err == nil {
				t.Fatalf("lock taken while paused: %+v", l)
			}
			checkAuditMatches(t, f.st, out.Incident.ID)
			// Resumed, a human can still undo it.
			if err := f.e.Resume(ctx, "U1"); err != nil {
				t.Fatalf("resume: %v", err)
			}
			if v, err := f.e.RequestUndo(ctx, id, "U1"); err != nil || v.Result != engine.UndoQueued {
				t.Fatalf("undo after resume = %+v, %v", v, err)
			}
			f.drain(t, time.Minute)
			if p := f.proposal(t, id); p.State != store.StateUndone || scale.undos.Load() != 1 {
				t.Fatalf("after resume: %s, undos %d", p.State, scale.undos.Load())
			}
		})
	}
}
