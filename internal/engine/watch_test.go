package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// exitWatcher is a fake exit condition: it fails to read once, does not
// hold for the next checks, then holds.
type exitWatcher struct {
	auto   bool
	checks atomic.Int32
	holdAt int32
}

func (w *exitWatcher) Watches(res *remediations.Result) bool { return res != nil }

func (w *exitWatcher) Check(context.Context, *remediations.Result) (engine.WatchStatus, error) {
	n := w.checks.Add(1)
	if n == 1 {
		return engine.WatchStatus{}, errors.New("elasticloadbalancing:DescribeTargetHealth: throttled")
	}
	return engine.WatchStatus{Holds: n >= w.holdAt, Auto: w.auto, InFor: time.Duration(n) * time.Minute,
		Evidence: []string{"targetgroup/web: 3 of 3 targets healthy (want at least 1)"}}, nil
}

// A step still in effect (maintenance) is watched on evidence, not on the
// alarm it silenced: while its exit condition does not hold (or cannot be
// read) medic checks again; when it holds, the card proposes ending it, or
// medic ends it itself where the policy says so.
func TestAWatchedStepEndsOnItsExitCondition(t *testing.T) {
	for _, auto := range []bool{false, true} {
		name := map[bool]string{false: "proposed on the card", true: "ended automatically"}[auto]
		t.Run(name, func(t *testing.T) {
			w := &exitWatcher{auto: auto, holdAt: 3}
			maint := &action{name: "alb.maintenance", target: "alb:listener", reversible: true}
			f := newFixture(t, []*policy.Policy{autoPolicy("edge", "alb.maintenance")}, []*action{maint},
				withDeps(func(d *engine.Deps) { d.Watcher = w }))
			out, err := f.e.HandleAlarm(ctx, newAlarm("edge-5xx", f.clock.Now()))
			if err != nil {
				t.Fatal(err)
			}
			id := out.Proposals[0].ID
			f.drain(t, 30*time.Minute)
			if got := w.checks.Load(); got != 3 {
				t.Fatalf("checked %d times, want 3 (unreadable, not holding, holding) and then no more", got)
			}
			p := f.proposal(t, id)
			events := events(f.audit(t, out.Incident.ID))
			if !auto {
				if !f.notes.last().InEffect[id] {
					t.Error("the card is not told the step is in effect")
				}
				if p.State != store.StateSucceeded || maint.undos.Load() != 0 {
					t.Fatalf("step %s, undone %d times: a person ends it", p.State, maint.undos.Load())
				}
				if !slicesContain(events, "watch.exit_ready") {
					t.Errorf("audit %v lacks watch.exit_ready", events)
				}
				last := f.notes.last()
				if !strings.Contains(last.Summary, "can end: exit condition holds after 3m0s in effect (targetgroup/web: 3 of 3 targets healthy") ||
					!strings.Contains(last.Summary, "Press Undo") {
					t.Errorf("the card's thread says %q", last.Summary)
				}
				return
			}
			if p.State != store.StateUndone || maint.undos.Load() != 1 {
				t.Fatalf("step %s, undone %d times; want UNDONE once", p.State, maint.undos.Load())
			}
			if !slicesContain(events, "watch.exit") {
				t.Errorf("audit %v lacks watch.exit", events)
			}
		})
	}
}
