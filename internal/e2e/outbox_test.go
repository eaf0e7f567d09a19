package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/store"
)

// TestBuiltFunctionsRelayWhatADeadProcessOwed: an alarm function records
// an incident while neither SQS nor Slack takes what it owes, and is then
// killed (as Lambda freezes and reclaims an instance). Nothing but the
// table remembers the card and the messages. The executor's scheduled
// invocation relays them: the card is posted with the current state, the
// approval's execute message goes through, and the step runs once.
func TestBuiltFunctionsRelayWhatADeadProcessOwed(t *testing.T) {
	schedules := templateSchedules(t, "ExecutorFunction")
	if len(schedules) == 0 {
		t.Fatal("template.yaml gives ExecutorFunction no Schedule event: owed messages would wait for the next alarm")
	}
	s := deploy(t)
	ctx := context.Background()

	// An instance of the alarm function that can reach neither the queue
	// nor Slack.
	env := slices.Clone(s.env["AlarmFunction"])
	for i, kv := range env {
		switch {
		case strings.HasPrefix(kv, "MEDIC_QUEUE_URL="):
			env[i] = "MEDIC_QUEUE_URL=" + s.queueURL + "-gone"
		case strings.HasPrefix(kv, "SLACK_API_URL="):
			env[i] = "SLACK_API_URL=http://127.0.0.1:1/"
		}
	}
	cut := startFunction(t, "alarm-cut-off", bootstrap(t, "alarm"), env)
	var res doors.AlarmResult
	cut.decode(t, cut.invoke(t, json.RawMessage(s.prod.AlarmEvent("ALARM", time.Now().Add(-time.Minute)))), &res)
	if len(res.Alarms) != 1 || res.Alarms[0].Incident == "" {
		t.Fatalf("the cut-off alarm function answered %+v, want the incident recorded\noutput:\n%s", res, cut.out.String())
	}
	cut.stop() // killed: whatever it meant to send later is gone with it
	incidentID := store.IncidentID(res.Alarms[0].Key)

	owed, err := s.store.Owed(ctx, 0)
	if err != nil {
		t.Fatalf("list owed messages: %v", err)
	}
	var cards, messages int
	latest := time.Time{}
	for _, o := range owed {
		switch o.Kind {
		case store.OwedCard:
			cards++
		case store.OwedQueue:
			messages++
		}
		if o.Attempts == 0 || o.LastError == "" {
			t.Errorf("owed %s %s was never tried: %+v", o.Kind, o.ID, o)
		}
		if o.NextAttemptAt.After(latest) {
			latest = o.NextAttemptAt
		}
	}
	if cards != 1 || messages != 1 { // the card and the approval's expiry
		t.Fatalf("owed after the dead instance: %d cards, %d queue messages; want 1 and 1\noutput:\n%s", cards, messages, cut.out.String())
	}
	if n := len(topLevelPosts(s.slack)); n != 0 {
		t.Fatalf("%d cards reached Slack through an unreachable API", n)
	}

	// The executor's schedule, once the retry is due.
	time.Sleep(time.Until(latest) + 100*time.Millisecond)
	var sweep doors.SweepResult
	s.executor.decode(t, s.executor.invoke(t, scheduledEvent(schedules[0])), &sweep)
	if sweep.Relayed != 2 || sweep.Owed != 0 {
		t.Fatalf("the scheduled invocation answered %+v, want 2 relayed and nothing owed\nexecutor output:\n%s", sweep, s.executor.out.String())
	}
	if owed, _ := s.store.Owed(ctx, 0); len(owed) != 0 {
		t.Fatalf("still owed after the relay: %+v", owed)
	}
	posted := topLevelPosts(s.slack)
	if len(posted) != 1 {
		t.Fatalf("%d cards posted by the relay, want 1", len(posted))
	}
	proposalID := buttonValue(posted[0].BlocksJSON, "medic:approve")
	if proposalID == "" {
		t.Fatalf("the relayed card has no Approve button: %s", posted[0].BlocksJSON)
	}
	inc, err := s.store.Incident(ctx, incidentID)
	if err != nil || inc.Message.TS == "" {
		t.Fatalf("the relayed card's place was not recorded: %+v %v", inc, err)
	}

	// From here the loop is the usual one: approve, execute once.
	click := slacktesting.SignedFunctionURLClick(signingSecret, time.Now(), slacktesting.Click{
		UserID: sreUser, ChannelID: inc.Message.Channel, MessageTs: inc.Message.TS, ProposalID: proposalID, Verb: "approve",
	}, true)
	var resp events.LambdaFunctionURLResponse
	s.slackFn.decode(t, s.slackFn.invoke(t, click), &resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slack function answered %d %q\nslack output:\n%s", resp.StatusCode, resp.Body, s.slackFn.out.String())
	}
	msgs := s.receive(t, 1)
	if len(msgs) != 1 {
		t.Fatalf("work queue holds %d messages, want the execute message", len(msgs))
	}
	if m, err := engine.ParseMessage([]byte(*msgs[0].Body)); err != nil || m.Kind != engine.KindExecute || m.Proposal != proposalID {
		t.Fatalf("work message %s (%v), want execute %s", *msgs[0].Body, err, proposalID)
	}
	var batch events.SQSEventResponse
	s.executor.decode(t, s.executor.invoke(t, s.sqsEvent(msgs)), &batch)
	s.deleteMessages(t, msgs)
	if got := s.desired(t); got != 6 {
		t.Fatalf("desired count = %d, want 6\nexecutor output:\n%s", got, s.executor.out.String())
	}
	if p, err := s.store.Proposal(ctx, proposalID); err != nil || p.State != store.StateSucceeded {
		t.Fatalf("proposal %v (%v), want SUCCEEDED", stateOf(p), err)
	}
}
