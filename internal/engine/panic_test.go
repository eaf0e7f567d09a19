package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// panicking is an action with a bug: its Apply or Undo panics.
type panicking struct {
	*action
	inApply, inUndo bool
}

func (a *panicking) Apply(ctx context.Context, p *remediations.Plan) (*remediations.Result, error) {
	if a.inApply {
		a.applies.Add(1)
		var steps []int
		_ = steps[3] // index out of range
	}
	return a.action.Apply(ctx, p)
}

func (a *panicking) Undo(ctx context.Context, r *remediations.Result) (*remediations.Result, error) {
	if a.inUndo {
		a.undos.Add(1)
		panic("undo: nil listener")
	}
	return a.action.Undo(ctx, r)
}

func TestAPanickingRemediation(t *testing.T) {
	t.Run("a panic in Apply fails the step with the panic on record and frees the target", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
		f.acts["ecs.scale"] = &panicking{action: scale, inApply: true}
		out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		if err != nil {
			t.Fatalf("handle alarm: %v", err)
		}
		f.drain(t, time.Minute) // a panic escaping the engine would end the test here
		p := f.proposal(t, out.Proposals[0].ID)
		if p.State != store.StateFailed || scale.applies.Load() != 1 {
			t.Fatalf("step is %s after %d applies, want FAILED after 1", p.State, scale.applies.Load())
		}
		if !strings.Contains(p.Error, "panicked") || !strings.Contains(p.Error, "index out of range") {
			t.Errorf("error = %q, want the panic", p.Error)
		}
		var failed *store.AuditEntry
		for _, a := range f.audit(t, out.Incident.ID) {
			if a.Event == "proposal.failed" {
				failed = &a
			}
		}
		if failed == nil || !strings.Contains(failed.Why, "index out of range") || failed.Error != p.Error {
			t.Errorf("audit of the failure = %+v, want the panic in why and error", failed)
		}
		locks, err := f.st.Locks(ctx)
		if err != nil {
			t.Fatalf("read locks: %v", err)
		}
		for _, l := range locks {
			if l.Holder == p.ID {
				t.Errorf("the lock on %s is still held by the failed step: %+v", l.Target, l)
			}
		}
		checkAuditMatches(t, f.st, out.Incident.ID)
	})
	t.Run("a panic in Undo ends the undo failed with the panic on record", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", reversible: true}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
		f.acts["ecs.scale"] = &panicking{action: scale, inUndo: true}
		out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		f.drain(t, time.Minute)
		v, err := f.e.RequestUndo(ctx, out.Proposals[0].ID, "U1")
		if err != nil || v.Result != engine.UndoQueued {
			t.Fatalf("undo = %+v, %v", v, err)
		}
		f.drain(t, time.Minute)
		p := f.proposal(t, out.Proposals[0].ID)
		if p.State != store.StateUndoFailed || scale.undos.Load() != 1 {
			t.Fatalf("step is %s after %d undos, want UNDO_FAILED after 1", p.State, scale.undos.Load())
		}
		if !strings.Contains(p.Error, "panicked: undo: nil listener") {
			t.Errorf("error = %q, want the panic", p.Error)
		}
		checkAuditMatches(t, f.st, out.Incident.ID)
	})
}
