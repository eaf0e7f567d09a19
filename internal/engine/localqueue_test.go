package engine_test

import (
	"testing"
	"time"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/localqueue"
)

// The in-process queue of `medic serve` (package localqueue) under a real
// engine.
func TestLocalQueue(t *testing.T) {
	t.Run("an engine runs end to end on it", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		lq := localqueue.New(localqueue.Options{})
		f := newFixture(t, nil, []*action{scale}, withDeps(func(d *engine.Deps) {
			d.Queue = lq
			d.Clock = engine.SystemClock{}
			d.Policies = matcher{autoPolicy("checkout", "ecs.scale")}
		}))
		lq.Start(f.e.HandleMessage)
		out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", time.Now()))
		if err != nil {
			t.Fatalf("handle alarm: %v", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for scale.applies.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := lq.Close(ctx); err != nil {
			t.Fatalf("close: %v", err)
		}
		if p := f.proposal(t, out.Proposals[0].ID); p.State != "SUCCEEDED" {
			t.Fatalf("proposal = %s", p.State)
		}
	})
}
