package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

func TestAnAutoStepRunsOnceAndIsRecorded(t *testing.T) {
	scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", reversible: true}
	f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
	a := newAlarm("checkout-5xx", f.clock.Now())
	out, err := f.e.HandleAlarm(ctx, a)
	if err != nil {
		t.Fatalf("handle alarm: %v", err)
	}
	if out.Incident == nil || len(out.Proposals) != 1 || out.Proposals[0].State != store.StateApproved {
		t.Fatalf("outcome = %+v", out)
	}
	id := out.Proposals[0].ID
	f.drain(t, time.Hour)
	// A second delivery of the execute message changes nothing.
	if err := f.e.HandleMessage(ctx, engine.Message{Kind: engine.KindExecute, Incident: out.Incident.ID, Proposal: id}); err != nil {
		t.Fatalf("redelivered execute: %v", err)
	}
	p := f.proposal(t, id)
	if p.State != store.StateSucceeded || p.Result == nil || scale.applies.Load() != 1 {
		t.Fatalf("proposal %s, result %v, applies %d", p.State, p.Result, scale.applies.Load())
	}
	if _, err := f.st.Lock(ctx, "ecs:prod/checkout"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lock after execution: %v", err)
	}
	if _, err := f.st.Cooldown(ctx, "checkout", "ecs:prod/checkout"); err != nil {
		t.Fatalf("cooldown after execution: %v", err)
	}
	got := strings.Join(events(f.audit(t, out.Incident.ID)), " ")
	if got != "incident.opened proposal.created proposal.executing proposal.succeeded" {
		t.Fatalf("audit = %s", got)
	}
	checkAuditMatches(t, f.st, out.Incident.ID)
	if k := f.notes.kinds(); len(k) != 2 || k[0] != engine.NoticeOpened || k[1] != engine.NoticeUpdated {
		t.Fatalf("notices = %v", k)
	}
	inc, _ := f.st.Incident(ctx, out.Incident.ID)
	if inc.Message.TS != "1" {
		t.Fatalf("card ref not remembered: %+v", inc.Message)
	}
}

func TestOneIncidentPerStateChange(t *testing.T) {
	for name, mk := range map[string]func(testing.TB, *clock) store.Store{"bolt": boltStore, "dynamodb": dynamoStore} {
		t.Run(name, func(t *testing.T) {
			c := newClock()
			scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
			pol := autoPolicy("checkout", "ecs.scale", requiredStep("ecs.scale", 1))
			f := newFixture(t, []*policy.Policy{pol}, []*action{scale}, withStore(mk(t, c)),
				withDeps(func(d *engine.Deps) { d.Clock = c }))
			f.clock = c
			f.q.Clock = c
			ts := c.Now().Add(-time.Minute)
			routes := []alarm.Route{alarm.RouteEventBridge, alarm.RouteSNS, alarm.RouteAction}
			var wg sync.WaitGroup
			results := make([]engine.Outcome, 10)
			for i := range 10 {
				wg.Go(func() {
					a := newAlarm("checkout-5xx", ts)
					a.Route = routes[i%3]
					out, err := f.e.HandleAlarm(ctx, a)
					if err != nil {
						t.Errorf("delivery %d: %v", i, err)
					}
					results[i] = out
				})
			}
			wg.Wait()
			created, dups := 0, 0
			for _, r := range results {
				if r.Duplicate {
					dups++
				} else if r.Incident != nil {
					created++
				}
			}
			if created != 1 || dups != 9 {
				t.Fatalf("created %d, duplicates %d; want 1, 9", created, dups)
			}
			incs, err := f.st.IncidentsByAlarm(ctx, newAlarm("checkout-5xx", ts).ARN)
			if err != nil || len(incs) != 1 {
				t.Fatalf("incidents = %d, %v", len(incs), err)
			}
			props, _ := f.st.Proposals(ctx, incs[0].ID)
			if len(props) != 1 {
				t.Fatalf("proposals = %d, want 1", len(props))
			}
			if k := f.notes.kinds(); len(k) != 1 {
				t.Fatalf("cards = %v, want one", k)
			}
			if n := f.q.Count(engine.KindExpire); n != 1 {
				t.Fatalf("expire messages = %d, want 1", n)
			}
		})
	}
}

func TestConcurrentApprovalsExecuteOnce(t *testing.T) {
	for name, mk := range map[string]func(testing.TB, *clock) store.Store{"bolt": boltStore, "dynamodb": dynamoStore} {
		for _, quorum := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s quorum %d", name, quorum), func(t *testing.T) {
				c := newClock()
				scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
				pol := autoPolicy("checkout", "ecs.scale", requiredStep("ecs.scale", quorum))
				f := newFixture(t, []*policy.Policy{pol}, []*action{scale}, withStore(mk(t, c)),
					withDeps(func(d *engine.Deps) { d.Clock = c }))
				f.clock, f.q.Clock = c, c
				out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", c.Now()))
				if err != nil {
					t.Fatalf("handle alarm: %v", err)
				}
				id := out.Proposals[0].ID
				var wg sync.WaitGroup
				var mu sync.Mutex
				counts := map[engine.VoteResult]int{}
				for i := range 20 {
					wg.Go(func() {
						v, err := f.e.Vote(ctx, id, fmt.Sprintf("U%d", i), true)
						if err != nil {
							t.Errorf("vote %d: %v", i, err)
						}
						mu.Lock()
						counts[v.Result]++
						mu.Unlock()
					})
				}
				wg.Wait()
				if counts[engine.VoteApproved] != 1 || counts[engine.VoteCounted] != quorum-1 || counts[engine.VoteClosed] != 20-quorum {
					t.Fatalf("vote results = %v", counts)
				}
				if n := f.q.Count(engine.KindExecute); n != 1 {
					t.Fatalf("execute messages = %d, want 1", n)
				}
				// Deliver every execute message three times, concurrently.
				msgs := f.q.Take()
				var exec []engine.Message
				for _, m := range msgs {
					if m.Kind == engine.KindExecute {
						exec = append(exec, m, m, m)
					}
				}
				for _, m := range exec {
					wg.Go(func() {
						if err := f.e.HandleMessage(ctx, m); err != nil {
							t.Errorf("execute: %v", err)
						}
					})
				}
				wg.Wait()
				p := f.proposal(t, id)
				if scale.applies.Load() != 1 || p.State != store.StateSucceeded || len(p.Votes) != quorum {
					t.Fatalf("applies %d, state %s, votes %d", scale.applies.Load(), p.State, len(p.Votes))
				}
				checkAuditMatches(t, f.st, out.Incident.ID)
			})
		}
	}
}

func TestTwoPoliciesOnOneTargetRunOneAtATime(t *testing.T) {
	for name, mk := range map[string]func(testing.TB, *clock) store.Store{"bolt": boltStore, "dynamodb": dynamoStore} {
		t.Run(name, func(t *testing.T) {
			c := newClock()
			scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", applying: make(chan struct{}, 1), release: make(chan struct{})}
			restart := &action{name: "ecs.restart", target: "ecs:prod/checkout"}
			f := newFixture(t, []*policy.Policy{autoPolicy("a-scale", "ecs.scale"), autoPolicy("b-restart", "ecs.restart")},
				[]*action{scale, restart}, withStore(mk(t, c)), withDeps(func(d *engine.Deps) { d.Clock = c }))
			f.clock, f.q.Clock = c, c
			out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", c.Now()))
			if err != nil || len(out.Proposals) != 2 {
				t.Fatalf("handle alarm: %v, %+v", err, out)
			}
			msgs := f.q.Take()
			var first, second engine.Message
			for _, m := range msgs {
				if strings.Contains(m.Proposal, "a-scale") {
					first = m
				} else {
					second = m
				}
			}
			done := make(chan error)
			go func() { done <- f.e.HandleMessage(ctx, first) }()
			<-scale.applying // a-scale holds the lock and is applying
			if err := f.e.HandleMessage(ctx, second); err != nil {
				t.Fatalf("second execute: %v", err)
			}
			close(scale.release)
			if err := <-done; err != nil {
				t.Fatalf("first execute: %v", err)
			}
			a, b := f.proposal(t, first.Proposal), f.proposal(t, second.Proposal)
			if a.State != store.StateSucceeded {
				t.Fatalf("first = %s (%s)", a.State, a.Reason)
			}
			if b.State != store.StateBlocked || !strings.Contains(b.Reason, "locked") || !strings.Contains(b.Reason, first.Proposal) {
				t.Fatalf("second = %s (%s), want BLOCKED by the lock", b.State, b.Reason)
			}
			if restart.applies.Load() != 0 {
				t.Fatal("the blocked step ran")
			}
			checkAuditMatches(t, f.st, out.Incident.ID)
		})
	}
}

func TestVotes(t *testing.T) {
	scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
	setup := func(t *testing.T, quorum int) (*fixture, string) {
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale", requiredStep("ecs.scale", quorum))}, []*action{scale})
		out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		if err != nil {
			t.Fatalf("handle alarm: %v", err)
		}
		if out.Proposals[0].State != store.StateProposed {
			t.Fatalf("proposal = %s", out.Proposals[0].State)
		}
		return f, out.Proposals[0].ID
	}
	t.Run("a user who is not an approver is refused and recorded", func(t *testing.T) {
		f, id := setup(t, 1)
		v, err := f.e.Vote(ctx, id, "U-stranger", true)
		if err != nil || v.Result != engine.VoteNotAllowed {
			t.Fatalf("vote = %+v, %v", v, err)
		}
		if p := f.proposal(t, id); p.State != store.StateProposed || len(p.Votes) != 0 {
			t.Fatalf("proposal = %s with %d votes", p.State, len(p.Votes))
		}
		ev := events(f.audit(t, f.proposal(t, id).Incident))
		if ev[len(ev)-1] != "vote.denied" {
			t.Fatalf("audit = %v", ev)
		}
	})
	t.Run("an authoriser failure denies", func(t *testing.T) {
		f, id := setup(t, 1)
		f.auth.err = errors.New("slack down")
		v, err := f.e.Vote(ctx, id, "U1", true)
		if err != nil || v.Result != engine.VoteNotAllowed {
			t.Fatalf("vote = %+v, %v", v, err)
		}
	})
	t.Run("the same user counts once", func(t *testing.T) {
		f, id := setup(t, 2)
		for i, want := range []engine.VoteResult{engine.VoteCounted, engine.VoteAlreadyVoted, engine.VoteApproved} {
			user := "U1"
			if i == 2 {
				user = "U2"
			}
			v, err := f.e.Vote(ctx, id, user, true)
			if err != nil || v.Result != want {
				t.Fatalf("vote %d = %+v, %v; want %s", i, v, err, want)
			}
		}
	})
	t.Run("a rejection ends the step and the ladder", func(t *testing.T) {
		f, id := setup(t, 1)
		v, err := f.e.Vote(ctx, id, "U1", false)
		if err != nil || v.Result != engine.VoteRejected || v.Proposal.State != store.StateRejected || v.Proposal.DecidedBy != "U1" {
			t.Fatalf("reject = %+v, %v", v, err)
		}
		v, _ = f.e.Vote(ctx, id, "U2", true)
		if v.Result != engine.VoteClosed {
			t.Fatalf("vote after reject = %s", v.Result)
		}
	})
	t.Run("a vote after expiry expires the step", func(t *testing.T) {
		f, id := setup(t, 1)
		f.clock.Advance(31 * time.Minute)
		v, err := f.e.Vote(ctx, id, "U1", true)
		if err != nil || v.Result != engine.VoteExpired || v.Proposal.State != store.StateExpired {
			t.Fatalf("vote = %+v, %v", v, err)
		}
		if scale.applies.Load() != 0 {
			t.Fatal("an expired step ran")
		}
	})
	t.Run("the expire message expires an unapproved step", func(t *testing.T) {
		f, id := setup(t, 1)
		f.drain(t, time.Hour)
		if p := f.proposal(t, id); p.State != store.StateExpired {
			t.Fatalf("proposal = %s", p.State)
		}
		checkAuditMatches(t, f.st, f.proposal(t, id).Incident)
	})
	t.Run("an unknown proposal is not found", func(t *testing.T) {
		f, _ := setup(t, 1)
		v, err := f.e.Vote(ctx, "nope/x/0", "U1", true)
		if err != nil || v.Result != engine.VoteNotFound {
			t.Fatalf("vote = %+v, %v", v, err)
		}
	})
}

func TestLadder(t *testing.T) {
	newLadder := func() (*policy.Policy, *action, *action) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		rollback := &action{name: "ecs.rollback", target: "ecs:prod/checkout"}
		step1 := &policy.Step{Action: "ecs.rollback", Approval: policy.ApprovalAuto, After: 20 * time.Minute}
		pol := autoPolicy("checkout", "ecs.scale", &policy.Step{Action: "ecs.scale", Approval: policy.ApprovalAuto}, step1)
		pol.Cooldown = 0
		return pol, scale, rollback
	}
	t.Run("the next step is proposed after its delay while the alarm fires", func(t *testing.T) {
		pol, scale, rollback := newLadder()
		f := newFixture(t, []*policy.Policy{pol}, []*action{scale, rollback})
		out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		if err != nil {
			t.Fatalf("handle alarm: %v", err)
		}
		start := f.clock.Now()
		f.drain(t, 10*time.Minute)
		if _, err := f.st.Proposal(ctx, store.ProposalID(out.Incident.ID, "checkout", 1)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("step 2 proposed before its delay: %v", err)
		}
		f.drain(t, time.Hour)
		p := f.proposal(t, store.ProposalID(out.Incident.ID, "checkout", 1))
		if p.State != store.StateSucceeded || rollback.applies.Load() != 1 || p.CreatedAt.Sub(start) < 20*time.Minute {
			t.Fatalf("step 2 = %s at +%s, rollback applies %d", p.State, p.CreatedAt.Sub(start), rollback.applies.Load())
		}
		checkAuditMatches(t, f.st, out.Incident.ID)
	})
	t.Run("the ladder stops when the alarm is OK", func(t *testing.T) {
		pol, scale, rollback := newLadder()
		f := newFixture(t, []*policy.Policy{pol}, []*action{scale, rollback})
		out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		f.drain(t, time.Minute)
		f.state.set(alarm.StateOK, nil)
		f.drain(t, time.Hour)
		if _, err := f.st.Proposal(ctx, store.ProposalID(out.Incident.ID, "checkout", 1)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("step 2 proposed for an OK alarm: %v", err)
		}
		ev := events(f.audit(t, out.Incident.ID))
		if ev[len(ev)-1] != "ladder.stopped" {
			t.Fatalf("audit = %v", ev)
		}
	})
	t.Run("a follow-up delivered twice proposes once", func(t *testing.T) {
		pol, scale, rollback := newLadder()
		f := newFixture(t, []*policy.Policy{pol}, []*action{scale, rollback})
		out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		f.drain(t, time.Minute)
		f.clock.Advance(21 * time.Minute)
		m := engine.Message{Kind: engine.KindFollowUp, Incident: out.Incident.ID, Proposal: out.Proposals[0].ID}
		for range 2 {
			if err := f.e.HandleMessage(ctx, m); err != nil {
				t.Fatalf("follow-up: %v", err)
			}
		}
		if n := f.q.Count(engine.KindExecute); n != 2 {
			t.Fatalf("execute messages = %d, want 2 (one per step)", n)
		}
	})
}

func TestRecovery(t *testing.T) {
	t.Run("pending proposals are cancelled", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale", requiredStep("ecs.scale", 1))}, []*action{scale})
		a := newAlarm("checkout-5xx", f.clock.Now())
		out, _ := f.e.HandleAlarm(ctx, a)
		rec, err := f.e.HandleAlarm(ctx, okAlarm(a, 5*time.Minute))
		if err != nil || len(rec.Resolved) != 1 {
			t.Fatalf("recovery = %+v, %v", rec, err)
		}
		p := f.proposal(t, out.Proposals[0].ID)
		if p.State != store.StateCancelled || p.Reason != "resolved before approval" {
			t.Fatalf("proposal = %s (%s)", p.State, p.Reason)
		}
		last := f.notes.last()
		if last.Kind != engine.NoticeRecovered || len(last.Timeline) == 0 {
			t.Fatalf("last notice = %s with %d timeline entries", last.Kind, len(last.Timeline))
		}
		// The same OK again resolves nothing more.
		again, err := f.e.HandleAlarm(ctx, okAlarm(a, 5*time.Minute))
		if err != nil || len(again.Resolved) != 0 {
			t.Fatalf("second recovery = %+v, %v", again, err)
		}
		v, _ := f.e.Vote(ctx, p.ID, "U1", true)
		if v.Result != engine.VoteClosed {
			t.Fatalf("vote after recovery = %s", v.Result)
		}
		checkAuditMatches(t, f.st, out.Incident.ID)
	})
	t.Run("reversible auto steps are undone when the policy says so", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", reversible: true}
		pol := autoPolicy("checkout", "ecs.scale")
		pol.OnRecovery = policy.OnRecoveryUndo
		keep := autoPolicy("keep", "ecs.restart")
		restart := &action{name: "ecs.restart", target: "ecs:prod/other", reversible: true}
		f := newFixture(t, []*policy.Policy{pol, keep}, []*action{scale, restart})
		a := newAlarm("checkout-5xx", f.clock.Now())
		out, _ := f.e.HandleAlarm(ctx, a)
		f.drain(t, time.Minute)
		if _, err := f.e.HandleAlarm(ctx, okAlarm(a, 5*time.Minute)); err != nil {
			t.Fatalf("recovery: %v", err)
		}
		f.drain(t, time.Minute)
		p := f.proposal(t, store.ProposalID(out.Incident.ID, "checkout", 0))
		if p.State != store.StateUndone || p.UndoResult == nil || scale.undos.Load() != 1 {
			t.Fatalf("undo: state %s, undos %d", p.State, scale.undos.Load())
		}
		if k := f.proposal(t, store.ProposalID(out.Incident.ID, "keep", 0)); k.State != store.StateSucceeded || restart.undos.Load() != 0 {
			t.Fatalf("policy without undo was undone: %s", k.State)
		}
		// An undo delivered twice undoes once.
		if err := f.e.HandleMessage(ctx, engine.Message{Kind: engine.KindUndo, Incident: out.Incident.ID, Proposal: p.ID}); err != nil || scale.undos.Load() != 1 {
			t.Fatalf("second undo: %v, undos %d", err, scale.undos.Load())
		}
		checkAuditMatches(t, f.st, out.Incident.ID)
	})
	t.Run("a human can ask for an undo", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", reversible: true}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
		out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		f.drain(t, time.Minute)
		v, err := f.e.RequestUndo(ctx, out.Proposals[0].ID, "U-stranger")
		if err != nil || v.Result != engine.VoteNotAllowed {
			t.Fatalf("undo by stranger = %+v, %v", v, err)
		}
		v, err = f.e.RequestUndo(ctx, out.Proposals[0].ID, "U1")
		if err != nil || v.Result != engine.UndoQueued {
			t.Fatalf("undo = %+v, %v", v, err)
		}
		f.drain(t, time.Minute)
		if p := f.proposal(t, out.Proposals[0].ID); p.State != store.StateUndone || p.DecidedBy != "U1" {
			t.Fatalf("proposal = %s by %s", p.State, p.DecidedBy)
		}
	})
}

func TestGuardrails(t *testing.T) {
	t.Run("paused: auto steps are blocked and cards say so", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
		if err := f.e.Pause(ctx, "U1", "game day"); err != nil {
			t.Fatalf("pause: %v", err)
		}
		out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		if err != nil {
			t.Fatalf("handle alarm: %v", err)
		}
		f.drain(t, time.Hour)
		p := f.proposal(t, out.Proposals[0].ID)
		if p.State != store.StateBlocked || !strings.Contains(p.Reason, "paused by U1: game day") || scale.applies.Load() != 0 {
			t.Fatalf("proposal = %s (%s), applies %d", p.State, p.Reason, scale.applies.Load())
		}
		if n := f.notes.last(); n.Paused == nil || n.Paused.By != "U1" {
			t.Fatalf("card does not say paused: %+v", n.Paused)
		}
		st, err := f.e.Paused(ctx)
		if err != nil || !st.Paused {
			t.Fatalf("paused = %+v, %v", st, err)
		}
	})
	t.Run("paused after approval: nothing executes", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
		out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		_ = f.e.Pause(ctx, "U1", "")
		f.drain(t, time.Hour)
		if p := f.proposal(t, out.Proposals[0].ID); p.State != store.StateBlocked || scale.applies.Load() != 0 {
			t.Fatalf("proposal = %s, applies %d", p.State, scale.applies.Load())
		}
		_ = f.e.Resume(ctx, "U1")
		if st, _ := f.e.Paused(ctx); st.Paused {
			t.Fatal("still paused after resume")
		}
	})
	t.Run("kill switch unreadable: propose, never execute", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale"), autoPolicy("manual", "ecs.scale", requiredStep("ecs.scale", 1))},
			[]*action{scale}, withDeps(func(d *engine.Deps) { d.Switch = brokenSwitch{} }))
		out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		if err != nil {
			t.Fatalf("handle alarm: %v", err)
		}
		auto, manual := out.Proposals[0], out.Proposals[1]
		if auto.State != store.StateBlocked || !strings.Contains(auto.Reason, "kill switch cannot be read") {
			t.Fatalf("auto = %s (%s)", auto.State, auto.Reason)
		}
		if manual.State != store.StateProposed || len(manual.Warnings) == 0 {
			t.Fatalf("manual = %s %v", manual.State, manual.Warnings)
		}
		if v, _ := f.e.Vote(ctx, manual.ID, "U1", true); v.Result != engine.VoteApproved {
			t.Fatalf("vote = %s", v.Result)
		}
		f.drain(t, time.Hour)
		if p := f.proposal(t, manual.ID); p.State != store.StateBlocked || scale.applies.Load() != 0 {
			t.Fatalf("approved step = %s, applies %d", p.State, scale.applies.Load())
		}
		if n := f.notes.last(); n.Paused == nil {
			t.Fatal("card does not say medic cannot run")
		}
	})
	t.Run("alarm state unreadable: not executed", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
		f.state.set("", errors.New("cloudwatch: throttled"))
		out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		f.drain(t, time.Hour)
		p := f.proposal(t, out.Proposals[0].ID)
		if p.State != store.StateBlocked || !strings.Contains(p.Reason, "cannot be read") || scale.applies.Load() != 0 {
			t.Fatalf("proposal = %s (%s), applies %d", p.State, p.Reason, scale.applies.Load())
		}
	})
	t.Run("alarm already OK at execution: cancelled", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
		f.state.set(alarm.StateOK, nil)
		out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		f.drain(t, time.Hour)
		if p := f.proposal(t, out.Proposals[0].ID); p.State != store.StateCancelled || scale.applies.Load() != 0 {
			t.Fatalf("proposal = %s, applies %d", p.State, scale.applies.Load())
		}
	})
	t.Run("cooldown per policy and target", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
		first := newAlarm("checkout-5xx", f.clock.Now())
		_, _ = f.e.HandleAlarm(ctx, first)
		f.drain(t, time.Minute)
		_, _ = f.e.HandleAlarm(ctx, okAlarm(first, time.Minute))
		f.clock.Advance(2 * time.Minute)
		out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		if p := out.Proposals[0]; p.State != store.StateBlocked || !strings.Contains(p.Reason, "cooldown") {
			t.Fatalf("second = %s (%s)", p.State, p.Reason)
		}
		f.clock.Advance(10 * time.Minute)
		out, _ = f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		f.drain(t, time.Minute)
		if p := f.proposal(t, out.Proposals[0].ID); p.State != store.StateSucceeded || scale.applies.Load() != 2 {
			t.Fatalf("after the cooldown = %s, applies %d", p.State, scale.applies.Load())
		}
	})
	t.Run("global and per-policy caps", func(t *testing.T) {
		var acts []*action
		var pols []*policy.Policy
		for i := range 4 {
			a := &action{name: fmt.Sprintf("act%d", i), target: fmt.Sprintf("ecs:prod/svc%d", i)}
			acts = append(acts, a)
			pols = append(pols, autoPolicy(fmt.Sprintf("p%d", i), a.name))
		}
		pols[0].MaxPerHour = 1
		f := newFixture(t, pols, acts, withConfig(func(c *engine.Config) { c.MaxPerHour = 3 }))
		// Round 1: four policies, global cap 3 -> one is blocked.
		out, _ := f.e.HandleAlarm(ctx, newAlarm("a", f.clock.Now()))
		f.drain(t, time.Minute)
		blocked := 0
		for _, p := range out.Proposals {
			if p := f.proposal(t, p.ID); p.State == store.StateBlocked {
				blocked++
				if !strings.Contains(p.Reason, "global cap reached") {
					t.Fatalf("blocked for %q", p.Reason)
				}
			}
		}
		if blocked != 1 {
			t.Fatalf("blocked = %d, want 1", blocked)
		}
		// Next hour: p0's own cap of 1 holds within the hour.
		f.clock.Advance(time.Hour)
		out, _ = f.e.HandleAlarm(ctx, newAlarm("b", f.clock.Now()))
		f.drain(t, time.Minute)
		out2, _ := f.e.HandleAlarm(ctx, newAlarm("c", f.clock.Now().Add(time.Second)))
		p0 := out2.Proposals[0]
		if p0.Policy != "p0" || p0.State != store.StateBlocked || !strings.Contains(p0.Reason, "policy cap reached") {
			t.Fatalf("p0 = %s %s (%s)", p0.Policy, p0.State, p0.Reason)
		}
	})
	t.Run("plan errors are shown, not fatal", func(t *testing.T) {
		broken := &action{name: "ecs.scale", target: "ecs:prod/checkout", planErr: errors.New("service not found")}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale"), autoPolicy("tmpl", "bad.render")}, []*action{broken})
		out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		if err != nil || len(out.Proposals) != 2 {
			t.Fatalf("handle alarm: %v, %+v", err, out)
		}
		for _, p := range out.Proposals {
			if p.State != store.StateBlocked || p.PlanError == "" {
				t.Fatalf("%s = %s (%s)", p.ID, p.State, p.PlanError)
			}
		}
	})
	t.Run("shadow steps never run", func(t *testing.T) {
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
		pol := autoPolicy("checkout", "ecs.scale", &policy.Step{Action: "ecs.scale", Approval: policy.ApprovalShadow})
		f := newFixture(t, []*policy.Policy{pol}, []*action{scale})
		out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		f.drain(t, time.Hour)
		p := f.proposal(t, out.Proposals[0].ID)
		if p.State != store.StateShadow || !strings.Contains(p.Reason, "would have run") || scale.applies.Load() != 0 {
			t.Fatalf("shadow = %s (%s), applies %d", p.State, p.Reason, scale.applies.Load())
		}
	})
	t.Run("a stale plan is planned again once, never retried in a loop", func(t *testing.T) {
		// (Was: "a stale plan fails without retrying". A stale plan applied
		// nothing, so it is no failure: an auto step runs its new plan once
		// and then waits for a person, who did not come within the hour.)
		scale := &action{name: "ecs.scale", target: "ecs:prod/checkout", applyErr: fmt.Errorf("desired is 5, planned from 4: %w", remediations.ErrStalePlan)}
		f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
		out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
		f.drain(t, time.Hour)
		p := f.proposal(t, out.Proposals[0].ID)
		if p.State != store.StateExpired || p.Replans != 2 || scale.applies.Load() != 2 {
			t.Fatalf("proposal = %s (%s), replans %d, applies %d", p.State, p.Reason, p.Replans, scale.applies.Load())
		}
		if _, err := f.st.Lock(ctx, "ecs:prod/checkout"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("lock kept after a failure: %v", err)
		}
	})
}

func TestALostExecutorNeedsAHuman(t *testing.T) {
	scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
	c := newClock()
	fs := &faultyStore{Store: boltStore(t, c)}
	f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale"), autoPolicy("other", "ecs.scale")}, []*action{scale},
		withStore(fs), withDeps(func(d *engine.Deps) { d.Clock = c }))
	f.clock, f.q.Clock = c, c
	out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", c.Now()))
	msgs := f.q.Take()
	// The executor dies after Apply: its final commit never happens.
	fs.failCommitsAfter(1, func(tx *store.Tx) bool {
		return len(tx.Proposals) == 1 && tx.Proposals[0].Proposal.State == store.StateSucceeded
	})
	if err := f.e.HandleMessage(ctx, msgs[0]); err == nil {
		t.Fatal("execution with a dead store reported success")
	}
	fs.heal()
	id := msgs[0].Proposal
	if p := f.proposal(t, id); p.State != store.StateExecuting {
		t.Fatalf("proposal = %s", p.State)
	}
	// Before the lease runs out nothing is swept.
	if n, err := f.e.SweepStale(ctx); err != nil || n != 0 {
		t.Fatalf("early sweep = %d, %v", n, err)
	}
	// A redelivery does not run it again.
	if err := f.e.HandleMessage(ctx, msgs[0]); err != nil || scale.applies.Load() != 1 {
		t.Fatalf("redelivery: %v, applies %d", err, scale.applies.Load())
	}
	c.Advance(16 * time.Minute)
	n, err := f.e.SweepStale(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	p := f.proposal(t, id)
	if p.State != store.StateExecuting || !p.NeedsHuman || !strings.Contains(p.Reason, "human") {
		t.Fatalf("proposal = %s needs human %v (%s)", p.State, p.NeedsHuman, p.Reason)
	}
	if n := f.notes.last(); n.Kind != engine.NoticeNeedsHuman {
		t.Fatalf("last notice = %s", n.Kind)
	}
	if n, _ := f.e.SweepStale(ctx); n != 0 {
		t.Fatalf("second sweep marked %d", n)
	}
	if err := f.e.HandleMessage(ctx, msgs[0]); err != nil || scale.applies.Load() != 1 {
		t.Fatalf("after sweep: %v, applies %d", err, scale.applies.Load())
	}
	// The stale lock can now be taken over by the other policy's step.
	if err := f.e.HandleMessage(ctx, msgs[1]); err != nil {
		t.Fatalf("other step: %v", err)
	}
	if q := f.proposal(t, msgs[1].Proposal); q.State != store.StateSucceeded {
		t.Fatalf("other step = %s (%s)", q.State, q.Reason)
	}
	checkAuditMatches(t, f.st, out.Incident.ID)
}

func TestNotBeforeInTheFutureIsQueuedAgain(t *testing.T) {
	scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
	f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
	m := engine.Message{Kind: engine.KindExecute, Incident: "i", Proposal: "i/checkout/0", NotBefore: f.clock.Now().Add(40 * time.Minute)}
	if err := f.e.HandleMessage(ctx, m); err != nil {
		t.Fatalf("handle: %v", err)
	}
	due, ok := f.q.Next()
	if d := due.Sub(f.clock.Now()); !ok || d < 39*time.Minute || d > 40*time.Minute {
		t.Fatalf("re-queued for %v", due.Sub(f.clock.Now()))
	}
}

func TestInvalidInput(t *testing.T) {
	f := newFixture(t, nil, nil)
	if _, err := f.e.HandleAlarm(ctx, &alarm.Alarm{Name: "x"}); !errors.Is(err, engine.ErrInvalidAlarm) {
		t.Fatalf("alarm without ARN: %v", err)
	}
	out, err := f.e.HandleAlarm(ctx, newAlarm("x", f.clock.Now()))
	if err != nil || out.Ignored == "" {
		t.Fatalf("unmatched alarm = %+v, %v", out, err)
	}
	if _, err := engine.ParseMessage([]byte(`{"kind":"explode","proposal":"p"}`)); !errors.Is(err, engine.ErrInvalidMessage) {
		t.Fatalf("bad kind: %v", err)
	}
	if _, err := engine.ParseMessage([]byte(`{`)); !errors.Is(err, engine.ErrInvalidMessage) {
		t.Fatalf("bad json: %v", err)
	}
	if _, err := engine.New(engine.Config{}, engine.Deps{}); err == nil {
		t.Fatal("New without dependencies succeeded")
	}
}
