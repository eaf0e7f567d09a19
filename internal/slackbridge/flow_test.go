package slackbridge_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/store"
)

// These tests drive medic the way Slack does: signed block_actions requests
// into the real handler, through the bridge into the real engine on bbolt,
// and back out through the real client to the recording Slack fake.

func TestAnApprovalRunsTheStepAndTheCardSaysWhoAndWhat(t *testing.T) {
	h := newHarness(t, requiredPolicy(1))
	inc := h.fire()
	id := firstProposal(inc)
	if n := len(h.cardPosts()); n != 1 {
		t.Fatalf("%d cards posted, want 1", n)
	}
	mustContain(t, "the new card", h.lastCard(inc), "Awaiting approval", "[medic:approve "+id+"]", "[medic:reject "+id+"]")

	h.click(inc, alice, "approve", id)
	if got := h.ephemerals(alice); len(got) != 0 {
		t.Errorf("an approval that runs the step needs no private reply, got %q", got)
	}
	approvedAt := h.auditTime(inc.ID, id, store.StateApproved)
	mustContain(t, "the card after the approval", h.lastCard(inc), "*Approved*"+at(approvedAt)+", queued to run", "approved by <@"+alice+">")

	h.drain()
	if n := h.action.applies.Load(); n != 1 {
		t.Fatalf("Apply ran %d times, want 1", n)
	}
	if p := h.proposal(id); p.State != store.StateSucceeded {
		t.Fatalf("proposal is %s, want SUCCEEDED", p.State)
	}
	card := h.lastCard(inc)
	doneAt := h.auditTime(inc.ID, id, store.StateSucceeded)
	mustContain(t, "the card after the execution", card, "*Done*"+at(doneAt)+": desired 4 -&gt; 6 tasks", "approved by <@"+alice+">", "[medic:undo "+id+"]")
	mustNotContain(t, "the card after the execution", card, "[medic:approve")

	var thread []string
	for _, r := range h.threadReplies(inc) {
		thread = append(thread, r.Form.Get("text"))
	}
	all := strings.Join(thread, "\n")
	mustContain(t, "the thread", all, "step 1 of checkout approved by "+alice, "step 1 of checkout SUCCEEDED: desired 4 -&gt; 6 tasks")
}

func TestAQuorumOfTwoNeedsTwoDistinctApprovers(t *testing.T) {
	h := newHarness(t, requiredPolicy(2))
	inc := h.fire()
	id := firstProposal(inc)

	h.click(inc, alice, "approve", id)
	h.drain()
	if got := h.ephemerals(alice); len(got) != 1 || !strings.Contains(got[0], "1 of 2") {
		t.Fatalf("alice was told %q, want one reply saying 1 of 2", got)
	}
	if n := h.action.applies.Load(); n != 0 {
		t.Fatalf("Apply ran %d times after one of two approvals", n)
	}
	mustContain(t, "the card after one approval", h.lastCard(inc), "Awaiting approval* (1 of 2)", "approved by <@"+alice+">")

	t.Run("the same user approving again does not count twice", func(t *testing.T) {
		h.click(inc, alice, "approve", id)
		h.drain()
		got := h.ephemerals(alice)
		if len(got) != 2 || !strings.Contains(got[1], "already approved") {
			t.Fatalf("alice was told %q, want a second reply saying she already approved", got)
		}
		if p := h.proposal(id); len(p.Votes) != 1 || p.State != store.StateProposed {
			t.Fatalf("after alice's second click: %d votes, %s", len(p.Votes), p.State)
		}
		if n := h.action.applies.Load(); n != 0 {
			t.Fatalf("Apply ran %d times", n)
		}
	})

	t.Run("a second distinct approver runs the step", func(t *testing.T) {
		h.click(inc, bob, "approve", id)
		h.drain()
		if n := h.action.applies.Load(); n != 1 {
			t.Fatalf("Apply ran %d times, want 1", n)
		}
		p := h.proposal(id)
		if p.State != store.StateSucceeded || len(p.Votes) != 2 {
			t.Fatalf("proposal %s with %d votes, want SUCCEEDED with 2", p.State, len(p.Votes))
		}
		mustContain(t, "the card", h.lastCard(inc), "*Done*", "<@"+alice+">", "<@"+bob+">")
	})
}

func TestAnExpiredProposalCannotBeApproved(t *testing.T) {
	h := newHarness(t, requiredPolicy(1))
	inc := h.fire()
	id := firstProposal(inc)

	h.clock.Advance(31 * time.Minute)
	h.click(inc, alice, "approve", id)
	if got := h.ephemerals(alice); len(got) != 1 || !strings.Contains(got[0], "expired") {
		t.Fatalf("alice was told %q, want one reply saying the proposal expired", got)
	}
	h.drain()
	if n := h.action.applies.Load(); n != 0 {
		t.Fatalf("Apply ran %d times after expiry", n)
	}
	if p := h.proposal(id); p.State != store.StateExpired {
		t.Fatalf("proposal is %s, want EXPIRED", p.State)
	}
	mustContain(t, "the card", h.lastCard(inc), "*Expired* without approval")
}

func TestConcurrentApprovalsRunTheStepOnce(t *testing.T) {
	for _, quorum := range []int{1, 2} {
		t.Run(map[int]string{1: "quorum 1", 2: "quorum 2"}[quorum], func(t *testing.T) {
			h := newHarness(t, requiredPolicy(quorum), withLocalQueue())
			inc := h.fire()
			id := firstProposal(inc)

			users := []string{alice, alice, bob, alice, carol, dave, bob, alice, carol, carol,
				dave, alice, bob, bob, carol, dave, alice, dave, bob, carol}
			reqs := make([]*http.Request, len(users))
			for i, u := range users {
				reqs[i] = h.signedClick(inc, u, "approve", id)
			}
			start := make(chan struct{})
			statuses := make([]int, len(reqs))
			var wg sync.WaitGroup
			for i, req := range reqs {
				wg.Go(func() {
					<-start
					statuses[i] = h.serve(req)
				})
			}
			close(start)
			wg.Wait()
			for i, s := range statuses {
				if s != http.StatusOK {
					t.Errorf("click %d by %s answered %d", i, users[i], s)
				}
			}

			eventually(t, "the step has run", func() bool {
				p, err := h.store.Proposal(h.ctx, id)
				return err == nil && p.State == store.StateSucceeded
			})
			// Let every queued message finish before counting.
			if _, err := h.local.Close(context.Background()); err != nil {
				t.Fatalf("close queue: %v", err)
			}
			if n := h.action.applies.Load(); n != 1 {
				t.Fatalf("Apply ran %d times for %d concurrent approvals, want 1", n, len(users))
			}
			p := h.proposal(id)
			if len(p.Votes) != quorum {
				t.Errorf("%d votes recorded, want exactly the quorum %d", len(p.Votes), quorum)
			}
			seen := map[string]bool{}
			for _, v := range p.Votes {
				if seen[v.User] {
					t.Errorf("%s counted twice", v.User)
				}
				seen[v.User] = true
			}
			for _, u := range []string{alice, bob, carol, dave} {
				for _, text := range h.ephemerals(u) {
					if strings.Contains(text, "could not record") || strings.Contains(text, "still working") {
						t.Errorf("%s was told %q", u, text)
					}
				}
			}
		})
	}
}

func TestARejectionRunsNothing(t *testing.T) {
	h := newHarness(t, requiredPolicy(1))
	inc := h.fire()
	id := firstProposal(inc)

	h.click(inc, bob, "reject", id)
	h.click(inc, alice, "approve", id)
	h.drain()
	if n := h.action.applies.Load(); n != 0 {
		t.Fatalf("Apply ran %d times after a rejection", n)
	}
	if p := h.proposal(id); p.State != store.StateRejected || p.DecidedBy != bob {
		t.Fatalf("proposal is %s decided by %s, want REJECTED by bob", p.State, p.DecidedBy)
	}
	card := h.lastCard(inc)
	// Who rejected it and when: the time of the rejection, not of alice's
	// later click.
	mustContain(t, "the card", card, "*Rejected* by <@"+bob+">"+at(h.auditTime(inc.ID, id, store.StateRejected)))
	mustNotContain(t, "the card", card, "[medic:approve")
	if got := h.ephemerals(alice); len(got) != 1 || !strings.Contains(got[0], "already decided (it is rejected)") {
		t.Errorf("alice, approving after the rejection, was told %q", got)
	}
}

func TestAnUnauthorisedUserIsRefusedOnTheRecord(t *testing.T) {
	h := newHarness(t, requiredPolicy(1))
	inc := h.fire()
	id := firstProposal(inc)

	h.click(inc, mallory, "approve", id)
	got := h.ephemerals(mallory)
	if len(got) != 1 || !strings.Contains(got[0], "Not allowed") || !strings.Contains(got[0], "not an approver") {
		t.Fatalf("mallory was told %q, want one reply saying she is not allowed", got)
	}
	h.drain()
	if p := h.proposal(id); p.State != store.StateProposed || len(p.Votes) != 0 {
		t.Fatalf("after mallory's click: %s with %d votes", p.State, len(p.Votes))
	}
	if n := h.action.applies.Load(); n != 0 {
		t.Fatalf("Apply ran %d times", n)
	}
	entries, err := h.store.Audit(h.ctx, store.AuditQuery{Incident: inc.ID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		found = found || (e.Event == "vote.denied" && e.Who == mallory && e.Proposal == id)
	}
	if !found {
		t.Fatalf("no vote.denied audit entry for mallory in %+v", entries)
	}
}

func TestAnAlarmBackToOKBeforeExecutionIsNotExecuted(t *testing.T) {
	h := newHarness(t, requiredPolicy(1))
	inc := h.fire()
	id := firstProposal(inc)

	h.state.set(alarm.StateOK)
	h.click(inc, alice, "approve", id)
	h.drain()
	if n := h.action.applies.Load(); n != 0 {
		t.Fatalf("Apply ran %d times though the alarm is OK", n)
	}
	if p := h.proposal(id); p.State != store.StateCancelled {
		t.Fatalf("proposal is %s, want CANCELLED", p.State)
	}
	card := h.lastCard(inc)
	mustContain(t, "the card", card, "*Cancelled*"+at(h.auditTime(inc.ID, id, store.StateCancelled))+": alarm is OK now; not executed")
	// alice approved; medic cancelled. The card must not blame her.
	mustNotContain(t, "the card", card, "Cancelled* by")
}

func TestARecoveryClosesThePendingApproval(t *testing.T) {
	h := newHarness(t, requiredPolicy(1))
	inc := h.fire()
	id := firstProposal(inc)

	h.clock.Advance(5 * time.Minute)
	out, err := h.engine.HandleAlarm(h.ctx, h.newAlarm(alarm.StateOK))
	if err != nil || len(out.Resolved) != 1 {
		t.Fatalf("recovery: %+v, %v", out, err)
	}
	if p := h.proposal(id); p.State != store.StateCancelled || p.Reason != "resolved before approval" {
		t.Fatalf("proposal is %s (%s), want CANCELLED resolved before approval", p.State, p.Reason)
	}
	card := h.lastCard(inc)
	mustContain(t, "the card", card, ":white_check_mark: OK "+alarmName, "*Resolved before approval*")
	mustNotContain(t, "the card", card, "[medic:approve")

	replies := h.threadReplies(inc)
	if len(replies) == 0 {
		t.Fatal("no thread reply after the recovery")
	}
	timeline := blockText(replies[len(replies)-1].Blocks)
	mustContain(t, "the report", timeline, "*Incident report*", "*Time to first action:* no step ran", "*Time to recovery:* 5m0s",
		"<https://runbooks.example.com/checkout-5xx|Runbook (checkout)>", "*What ran*\nNothing ran.",
		"*What did not run*\n• *checkout step 1* `test.scale`: cancelled",
		"*What medic did*", "alarm fired", "checkout step 1 proposed for approval",
		"checkout step 1 cancelled: resolved before approval", "recovered: alarm "+alarmName+" back to OK")

	h.click(inc, alice, "approve", id)
	h.drain()
	if n := h.action.applies.Load(); n != 0 {
		t.Fatalf("Apply ran %d times after the recovery", n)
	}
}

func TestARateLimitedCardUpdateIsRetried(t *testing.T) {
	h := newHarness(t, requiredPolicy(1))
	inc := h.fire()
	id := firstProposal(inc)

	h.slack.RateLimit(slacktesting.MethodUpdate, 1, 3*time.Second)
	h.click(inc, alice, "approve", id)

	all := h.slack.Requests(slacktesting.MethodUpdate)
	if len(all) < 2 || !all[0].RateLimited || all[1].RateLimited {
		t.Fatalf("chat.update calls: %d, want a 429 then a success", len(all))
	}
	if w := h.waits(); len(w) != 1 || w[0] != 3*time.Second {
		t.Errorf("the client waited %v, want once for Retry-After 3s", w)
	}
	mustContain(t, "the card", h.lastCard(inc), "*Approved*"+at(h.auditTime(inc.ID, id, store.StateApproved))+", queued to run", "approved by <@"+alice+">")
	h.drain()
	mustContain(t, "the card", h.lastCard(inc), "*Done* at ")
}

func TestAReplayedRequestCountsOnce(t *testing.T) {
	h := newHarness(t, requiredPolicy(2))
	inc := h.fire()
	id := firstProposal(inc)

	body := slacktesting.FormBody(slacktesting.BlockActionsPayload(slacktesting.Click{
		UserID: alice, ChannelID: inc.Message.Channel, MessageTs: inc.Message.TS, ProposalID: id, Verb: "approve",
		ActionTs: "1700000300.000001",
	}))
	signedAt := time.Now()
	for i := range 2 {
		if s := h.serve(slacktesting.SignedHTTPRequest(actionsPath, signingSecret, signedAt, body)); s != http.StatusOK {
			t.Fatalf("delivery %d answered %d", i+1, s)
		}
	}
	h.drain()
	if p := h.proposal(id); len(p.Votes) != 1 {
		t.Fatalf("%d votes after a replayed approval, want 1", len(p.Votes))
	}
	if got := h.ephemerals(alice); len(got) != 1 || !strings.Contains(got[0], "1 of 2") {
		t.Fatalf("alice was told %q, want one reply (the replay is dropped silently)", got)
	}
	entries, err := h.store.Audit(h.ctx, store.AuditQuery{Incident: inc.ID})
	if err != nil {
		t.Fatal(err)
	}
	votes := 0
	for _, e := range entries {
		if e.Proposal == id && e.Who == alice {
			votes++
		}
	}
	if votes != 1 {
		t.Errorf("%d audit entries by alice, want 1", votes)
	}
	if n := h.queue.Count(engine.KindExecute); n != 0 {
		t.Errorf("%d executions queued after one of two approvals", n)
	}
}

func TestAStalePlanIsShownStruckThroughWithTheNewPlanToApprove(t *testing.T) {
	h := newHarness(t, requiredPolicy(1))
	inc := h.fire()
	id := firstProposal(inc)
	h.action.bump.Store(1) // auto scaling added a task after the card was posted
	h.click(inc, alice, "approve", id)
	h.drain()
	if p := h.proposal(id); p.State != store.StateReplanned {
		t.Fatalf("proposal is %s (%s), want REPLANNED", p.State, p.Reason)
	}
	card := h.lastCard(inc)
	mustContain(t, "the card after the stale plan", card,
		"~prod/checkout: desired 4 -&gt; 6 tasks~", "nothing was applied", "*New plan*: prod/checkout: desired 5 -&gt; 7 tasks",
		"Awaiting approval", "[medic:approve "+id+"]", "[medic:reject "+id+"]")

	h.click(inc, alice, "approve", id)
	h.drain()
	if p := h.proposal(id); p.State != store.StateSucceeded {
		t.Fatalf("after approving the new plan: %s (%s)", p.State, p.Reason)
	}
	mustContain(t, "the card after the new plan ran", h.lastCard(inc), "*Done*", "desired 5 -&gt; 7 tasks")
}

// A card Slack refuses (channel_not_found, internal_error) is not lost: the
// incident goes on, the card stays owed, and once Slack takes it again the
// relay posts one card showing the step as it is now.
func TestACardSlackRefusesIsPostedWhenSlackTakesItAgain(t *testing.T) {
	for _, slackErr := range []string{"channel_not_found", "internal_error"} {
		t.Run(slackErr, func(t *testing.T) {
			h := newHarness(t, requiredPolicy(1))
			h.slack.FailWith(slacktesting.MethodPostMessage, slackErr)
			out, err := h.engine.HandleAlarm(h.ctx, h.newAlarm(alarm.StateAlarm))
			if err != nil || out.Incident == nil {
				t.Fatalf("intake while Slack refuses cards: %+v, %v", out, err)
			}
			inc := out.Incident
			id := firstProposal(inc)
			if n := len(h.cardPosts()); n != 0 {
				t.Fatalf("%d cards posted while Slack refuses them", n)
			}
			owed, err := h.store.Owed(h.ctx, 0)
			if err != nil || len(owed) != 1 || owed[0].Kind != store.OwedCard || !strings.Contains(owed[0].LastError, slackErr) {
				t.Fatalf("owed = %+v (%v), want the card, failed with %s", owed, err, slackErr)
			}
			// Still refused a minute later.
			h.clock.Advance(time.Minute)
			if _, err := h.engine.Relay(h.ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(h.cardPosts()); n != 0 {
				t.Fatalf("%d cards posted while Slack refuses them", n)
			}
			// The step expires meanwhile; then Slack is back.
			h.clock.Advance(time.Hour)
			h.drain()
			h.slack.FailWith(slacktesting.MethodPostMessage, "")
			for range 5 {
				h.clock.Advance(6 * time.Minute)
				if _, err := h.engine.Relay(h.ctx); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(h.cardPosts()); n != 1 {
				t.Fatalf("%d cards posted after Slack came back, want 1", n)
			}
			card := h.lastCard(h.incident(inc.ID))
			mustContain(t, "the late card", card, "*Expired* without approval")
			mustNotContain(t, "the late card", card, "[medic:approve "+id+"]")
			if owed, _ := h.store.Owed(h.ctx, 0); len(owed) != 0 {
				t.Fatalf("still owed after Slack came back: %+v", owed)
			}
		})
	}
}

// A late approver of a step that is approved but has not run yet is told
// it is queued to run (its execution is owed with the approval), not that
// nothing will happen.
func TestALateApproverIsToldTheStepIsQueuedToRun(t *testing.T) {
	h := newHarness(t, requiredPolicy(1))
	inc := h.fire()
	id := firstProposal(inc)
	h.click(inc, alice, "approve", id)
	h.click(inc, bob, "approve", id)
	got := h.ephemerals(bob)
	if len(got) != 1 || !strings.Contains(got[0], "already decided (it is approved and queued to run); your click changed nothing") {
		t.Fatalf("the late approver was told %q", got)
	}
	h.drain()
	if n := h.action.applies.Load(); n != 1 {
		t.Fatalf("applied %d times, want 1", n)
	}
}
