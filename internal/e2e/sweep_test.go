package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/testenv"
)

// TestBuiltExecutorSweepsALostExecutorOnSchedule: an executor claimed a
// proposal (EXECUTING, lock held) and died; no more work arrives. The
// EventBridge schedule template.yaml gives the executor delivers its
// "Scheduled Event" to the built executor bootstrap, which finds the lease
// run out, marks the proposal as needing a human, marks the lock stale and
// says so on the card, without re-running anything.
func TestBuiltExecutorSweepsALostExecutorOnSchedule(t *testing.T) {
	schedules := templateSchedules(t, "ExecutorFunction")
	if len(schedules) == 0 {
		t.Fatal("template.yaml gives ExecutorFunction no Schedule event: an executor that dies while no work arrives is never reported")
	}
	s := deploy(t)
	ctx := context.Background()

	// An alarm, its card, and an approval, through the built functions.
	var res doors.AlarmResult
	s.alarm.decode(t, s.alarm.invoke(t, json.RawMessage(s.prod.AlarmEvent("ALARM", time.Now().Add(-time.Minute)))), &res)
	if len(res.Alarms) != 1 || res.Alarms[0].Incident == "" {
		t.Fatalf("alarm function answered %+v, want one incident\nalarm output:\n%s", res, s.alarm.out.String())
	}
	incidentID := store.IncidentID(res.Alarms[0].Key)
	inc, err := s.store.Incident(ctx, incidentID)
	if err != nil {
		t.Fatalf("read incident %s: %v", incidentID, err)
	}
	cards := topLevelPosts(s.slack)
	if len(cards) != 1 {
		t.Fatalf("%d cards posted, want 1", len(cards))
	}
	proposalID := buttonValue(cards[0].BlocksJSON, "medic:approve")
	click := slacktesting.SignedFunctionURLClick(signingSecret, time.Now(), slacktesting.Click{
		UserID: sreUser, ChannelID: inc.Message.Channel, MessageTs: inc.Message.TS, ProposalID: proposalID, Verb: "approve",
	}, true)
	var resp events.LambdaFunctionURLResponse
	s.slackFn.decode(t, s.slackFn.invoke(t, click), &resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slack function answered %d %q\nslack output:\n%s", resp.StatusCode, resp.Body, s.slackFn.out.String())
	}

	// An executor takes the execute message, claims the proposal as the
	// engine does (EXECUTING and the target's lock, one transaction) and
	// dies: the message stays in flight, the lease runs out.
	s.receive(t, 1)
	p, err := s.store.Proposal(ctx, proposalID)
	if err != nil || p.State != store.StateApproved || p.Plan == nil {
		t.Fatalf("after the approval the proposal is %v (err %v), want APPROVED with a plan", stateOf(p), err)
	}
	now := time.Now()
	leaseUntil := now.Add(-time.Minute)
	p.State = store.StateExecuting
	p.Lease = &store.Lease{Token: "dead-executor", Until: leaseUntil}
	p.UpdatedAt = now
	if err := s.store.Commit(ctx, &store.Tx{Now: now,
		Proposals: []store.ProposalWrite{{Proposal: p, From: store.StateApproved}},
		Locks:     []store.LockWrite{{Op: store.LockAcquire, Lock: store.Lock{Target: p.Target(), Holder: p.ID, LeaseUntil: leaseUntil}}},
		Audit: []store.AuditEntry{{Incident: p.Incident, Proposal: p.ID, Event: "proposal.executing",
			From: store.StateApproved, To: store.StateExecuting, Who: "medic", Why: "executing " + p.Plan.Summary}},
	}); err != nil {
		t.Fatalf("claim %s as a dying executor would: %v", proposalID, err)
	}
	updates := len(s.slack.Requests(slacktesting.MethodUpdate))

	// EventBridge -> the executor, as the template's schedule delivers it.
	var sweep doors.SweepResult
	s.executor.decode(t, s.executor.invoke(t, scheduledEvent(schedules[0])), &sweep)
	if sweep.NeedsHuman != 1 {
		t.Fatalf("the scheduled sweep answered %+v, want 1 proposal needing a human\nexecutor output:\n%s", sweep, s.executor.out.String())
	}

	p, err = s.store.Proposal(ctx, proposalID)
	if err != nil {
		t.Fatalf("read proposal %s: %v", proposalID, err)
	}
	if p.State != store.StateExecuting || !p.NeedsHuman || p.Result != nil {
		t.Errorf("after the sweep the proposal is %s, needs human %v, result %+v; want EXECUTING, needing a human, not run", p.State, p.NeedsHuman, p.Result)
	}
	if l, err := s.store.Lock(ctx, p.Target()); err != nil || !l.Stale {
		t.Errorf("lock on %s after the sweep = %+v (err %v), want stale", p.Target(), l, err)
	}
	audit, err := s.store.Audit(ctx, store.AuditQuery{Incident: incidentID})
	if err != nil {
		t.Fatalf("read audit: %v", err)
	}
	var recorded bool
	for _, e := range audit {
		recorded = recorded || (e.Proposal == proposalID && e.Event == "proposal.needs_human")
	}
	if !recorded {
		t.Errorf("the audit has no proposal.needs_human entry for %s", proposalID)
	}
	ups := s.slack.Requests(slacktesting.MethodUpdate)
	if len(ups) <= updates {
		t.Fatalf("the card was not updated by the sweep\nexecutor output:\n%s", s.executor.out.String())
	}
	last := ups[len(ups)-1]
	if last.Form.Get("ts") != inc.Message.TS || !anyText(last.BlocksJSON, "Needs a human") {
		t.Errorf("the updated card (%s) does not say a human is needed: %s", last.Form.Get("ts"), last.BlocksJSON)
	}
	if got := s.desired(t); got != 4 {
		t.Errorf("desired count = %d after the sweep, want 4: nothing may be re-run", got)
	}

	// The next tick finds nothing new.
	s.executor.decode(t, s.executor.invoke(t, scheduledEvent(schedules[0])), &sweep)
	if sweep.NeedsHuman != 0 {
		t.Errorf("the second scheduled sweep marked %d more, want 0", sweep.NeedsHuman)
	}
	if errs := s.executor.errorLogs(); len(errs) != 0 {
		t.Errorf("the executor logged errors: %v", errs)
	}
}

// templateSchedules returns the names of the Schedule events template.yaml
// gives function fn, sorted.
func templateSchedules(t *testing.T, fn string) []string {
	t.Helper()
	raw := readTemplate(t)
	var tpl struct {
		Resources map[string]struct {
			Properties struct {
				Events map[string]struct {
					Type string `yaml:"Type"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	var names []string
	for name, ev := range tpl.Resources[fn].Properties.Events {
		if ev.Type == "Schedule" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// scheduledEvent is what the EventBridge rule SAM makes of the executor's
// Schedule event named event delivers (the rule has no Input).
func scheduledEvent(event string) events.EventBridgeEvent {
	return events.EventBridgeEvent{
		Version:    "0",
		ID:         "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  testenv.Account,
		Time:       time.Now().UTC().Truncate(time.Second),
		Region:     testenv.Region,
		Resources:  []string{"arn:aws:events:" + testenv.Region + ":" + testenv.Account + ":rule/medic-ExecutorFunction" + event + "-E2E"},
		Detail:     json.RawMessage(`{}`),
	}
}
