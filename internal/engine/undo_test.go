package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// noUndo is an action that cannot undo (no Undo method).
type noUndo struct{ a *action }

func (n noUndo) Name() string                { return n.a.Name() }
func (n noUndo) Schema() remediations.Schema { return n.a.Schema() }
func (n noUndo) Plan(ctx context.Context, al *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	return n.a.Plan(ctx, al, p)
}
func (n noUndo) Apply(ctx context.Context, p *remediations.Plan) (*remediations.Result, error) {
	return n.a.Apply(ctx, p)
}

func TestCanUndoIsTheOneRule(t *testing.T) {
	undoable := func() *store.Proposal {
		return &store.Proposal{Action: "ecs.scale", State: store.StateSucceeded,
			Plan:   &remediations.Plan{Action: "ecs.scale", Target: "ecs:prod/checkout", Reversible: true},
			Result: &remediations.Result{Action: "ecs.scale", Summary: "desired 4 -> 6"}}
	}
	scale := &action{name: "ecs.scale", reversible: true}
	acts := actions{"ecs.scale": scale, "ecs.restart": noUndo{&action{name: "ecs.restart"}}}
	for _, tc := range []struct {
		name   string
		change func(p *store.Proposal)
		want   bool
	}{
		{"a succeeded reversible step that changed something can be undone", func(*store.Proposal) {}, true},
		{"a step still waiting cannot", func(p *store.Proposal) { p.State = store.StateProposed }, false},
		{"a step already undone cannot", func(p *store.Proposal) { p.State = store.StateUndone }, false},
		{"a step without a recorded result cannot", func(p *store.Proposal) { p.Result = nil }, false},
		{"a plan that is not reversible cannot", func(p *store.Proposal) { p.Plan.Reversible = false }, false},
		{"a no-op has nothing to undo", func(p *store.Proposal) { p.Plan.NoOp = true }, false},
		{"an action without Undo cannot", func(p *store.Proposal) { p.Action = "ecs.restart" }, false},
		{"an unknown action cannot", func(p *store.Proposal) { p.Action = "ecs.gone" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := undoable()
			tc.change(p)
			if got := engine.CanUndo(p, acts); got != tc.want {
				t.Errorf("CanUndo = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("cards are told exactly the steps RequestUndo accepts", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", reversible: true}
		restart := &action{name: "ecs.restart", target: "ecs:prod/other", reversible: true}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale"), autoPolicy("other", "ecs.restart")}, []*action{scale})
		f.acts["ecs.restart"] = noUndo{restart} // reversible by its plan, but it has no Undo
		out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		if err != nil {
			t.Fatalf("handle alarm: %v", err)
		}
		f.drain(t, time.Minute)
		last := f.notes.last()
		for _, p := range out.Proposals {
			v, err := f.e.RequestUndo(ctx, p.ID, "U1")
			if err != nil {
				t.Fatalf("request undo of %s: %v", p.ID, err)
			}
			if accepted := v.Result == engine.UndoQueued; accepted != last.Undoable[p.ID] {
				t.Errorf("%s: the card offers Undo %v, RequestUndo answers %s", p.Action, last.Undoable[p.ID], v.Result)
			}
		}
		if len(last.Undoable) != 1 {
			t.Errorf("undoable = %v, want only the scale step", last.Undoable)
		}
	})
}
