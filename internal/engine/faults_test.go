package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

var errInjected = errors.New("injected store failure")

// faultyStore fails chosen calls of the store it wraps.
type faultyStore struct {
	store.Store
	mu     sync.Mutex
	calls  int
	failAt int // fail the failAt-th call (1-based); 0 never
	pred   func(*store.Tx) bool
	left   int
}

func (f *faultyStore) failCommitsAfter(n int, pred func(*store.Tx) bool) {
	f.mu.Lock()
	f.pred, f.left = pred, n
	f.mu.Unlock()
}

func (f *faultyStore) heal() {
	f.mu.Lock()
	f.pred, f.failAt = nil, 0
	f.mu.Unlock()
}

func (f *faultyStore) fail(tx *store.Tx) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failAt != 0 && f.calls == f.failAt {
		return errInjected
	}
	if tx != nil && f.pred != nil && f.pred(tx) && f.left > 0 {
		f.left--
		return errInjected
	}
	return nil
}

func (f *faultyStore) Commit(ctx context.Context, tx *store.Tx) error {
	if err := f.fail(tx); err != nil {
		return err
	}
	return f.Store.Commit(ctx, tx)
}

func (f *faultyStore) Incident(ctx context.Context, id string) (*store.Incident, error) {
	if err := f.fail(nil); err != nil {
		return nil, err
	}
	return f.Store.Incident(ctx, id)
}

func (f *faultyStore) IncidentsByAlarm(ctx context.Context, arn string) ([]*store.Incident, error) {
	if err := f.fail(nil); err != nil {
		return nil, err
	}
	return f.Store.IncidentsByAlarm(ctx, arn)
}

func (f *faultyStore) Proposal(ctx context.Context, id string) (*store.Proposal, error) {
	if err := f.fail(nil); err != nil {
		return nil, err
	}
	return f.Store.Proposal(ctx, id)
}

func (f *faultyStore) Proposals(ctx context.Context, incident string) ([]*store.Proposal, error) {
	if err := f.fail(nil); err != nil {
		return nil, err
	}
	return f.Store.Proposals(ctx, incident)
}

func (f *faultyStore) Cooldown(ctx context.Context, pol, target string) (*store.Cooldown, error) {
	if err := f.fail(nil); err != nil {
		return nil, err
	}
	return f.Store.Cooldown(ctx, pol, target)
}

func (f *faultyStore) Counter(ctx context.Context, key string) (int, error) {
	if err := f.fail(nil); err != nil {
		return 0, err
	}
	return f.Store.Counter(ctx, key)
}

func (f *faultyStore) Switch(ctx context.Context) (*store.Switch, error) {
	if err := f.fail(nil); err != nil {
		return nil, err
	}
	return f.Store.Switch(ctx)
}

// TestAStoreFailingAnywhereLosesNothing fails the Nth store call of a whole
// incident (intake, approval, execution, ladder, recovery) for every N,
// then lets deliveries be retried as the doors would. Whatever N is: no
// step runs twice, every proposal's state is the last one its audit trail
// records, and the incident ends without anything half done.
func TestAStoreFailingAnywhereLosesNothing(t *testing.T) {
	for n := 1; n <= 120; n++ {
		t.Run(fmt.Sprintf("call %d fails", n), func(t *testing.T) {
			scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", reversible: true}
			restart := &action{name: "ecs.restart", target: "ecs:prod/api"}
			auto := autoPolicy("auto", "ecs.scale",
				&policy.Step{Action: "ecs.scale", Approval: policy.ApprovalAuto},
				&policy.Step{Action: "ecs.scale", Approval: policy.ApprovalAuto, After: 5 * time.Minute})
			auto.Cooldown = 0
			auto.OnRecovery = policy.OnRecoveryUndo
			manual := autoPolicy("manual", "ecs.restart", requiredStep("ecs.restart", 1))
			c := newClock()
			fs := &faultyStore{Store: boltStore(t, c), failAt: n}
			f := newFixture(t, []*policy.Policy{auto, manual}, []*action{scale, restart}, withStore(fs),
				withDeps(func(d *engine.Deps) { d.Clock = c }))
			f.clock, f.q.Clock = c, c
			a := newAlarm("checkout-5xx", c.Now())

			// Intake, retried like a Lambda async invoke until it succeeds.
			var out engine.Outcome
			var err error
			for range 3 {
				if out, err = f.e.HandleAlarm(ctx, a); err == nil {
					break
				}
				c.Advance(time.Minute)
			}
			if err != nil {
				t.Fatalf("intake never succeeded: %v", err)
			}
			f.redeliver(t, 2*time.Minute)
			manualID := store.ProposalID(out.Incident.ID, "manual", 0)
			for range 2 {
				if v, err := f.e.Vote(ctx, manualID, "U1", true); err == nil && v.Result != engine.VoteNotAllowed {
					break
				}
			}
			f.redeliver(t, 10*time.Minute)
			for range 2 {
				if _, err := f.e.HandleAlarm(ctx, okAlarm(a, 20*time.Minute)); err == nil {
					break
				}
			}
			f.redeliver(t, 5*time.Minute)
			c.Advance(20 * time.Minute)
			for range 2 {
				if _, err := f.e.SweepStale(ctx); err == nil {
					break
				}
			}

			// Invariants.
			if scale.applies.Load() > 2 || restart.applies.Load() > 1 || scale.undos.Load() > 2 {
				t.Fatalf("applies: scale %d, restart %d; undos %d", scale.applies.Load(), restart.applies.Load(), scale.undos.Load())
			}
			checkAuditMatches(t, fs.Store, out.Incident.ID)
			props, _ := fs.Store.Proposals(ctx, out.Incident.ID)
			applied := map[string]bool{}
			for _, p := range props {
				if p.State == store.StateExecuting && !p.NeedsHuman {
					t.Errorf("%s left EXECUTING without a human being told", p.ID)
				}
				if p.State.Pending() {
					t.Errorf("%s left %s after the alarm recovered", p.ID, p.State)
				}
				applied[p.ID] = p.State == store.StateSucceeded || p.State == store.StateUndone
			}
			if locks, _ := fs.Store.Locks(ctx); len(locks) > 0 {
				for _, l := range locks {
					if !l.Stale {
						t.Errorf("lock on %s held by %s outlived everything", l.Target, l.Holder)
					}
				}
			}
			if a, _ := fs.Store.Audit(ctx, store.AuditQuery{Incident: out.Incident.ID}); len(a) == 0 || a[0].Event != "incident.opened" {
				t.Errorf("incident without its opening audit entry")
			}
		})
	}
}

// redeliver delivers due messages like SQS: a message whose handler fails
// comes back a little later. It runs until the queue is empty or the
// horizon passes.
func (f *fixture) redeliver(t *testing.T, horizon time.Duration) {
	t.Helper()
	end := f.clock.Now().Add(horizon)
	for range 500 {
		msgs := f.q.Take()
		if len(msgs) == 0 {
			next, ok := f.q.Next()
			if !ok || next.After(end) {
				return
			}
			f.clock.Advance(max(next.Sub(f.clock.Now()), 0))
			continue
		}
		for _, m := range msgs {
			if err := f.e.HandleMessage(ctx, m); err != nil {
				f.q.Put(m, f.clock.Now().Add(30*time.Second))
			}
		}
	}
}
