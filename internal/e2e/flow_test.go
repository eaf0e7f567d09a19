package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/testenv"
)

func TestBuiltLambdasHandleAnAlarmToTheECSChange(t *testing.T) {
	s := deploy(t)
	ctx := context.Background()
	if got := s.desired(t); got != 4 {
		t.Fatalf("checkout starts with %d tasks, want 4", got)
	}

	// CloudWatch -> EventBridge -> the alarm function.
	var res doors.AlarmResult
	s.alarm.decode(t, s.alarm.invoke(t, json.RawMessage(s.prod.AlarmEvent("ALARM", time.Now().Add(-time.Minute)))), &res)
	if len(res.Alarms) != 1 || res.Alarms[0].Incident == "" || len(res.Alarms[0].Proposals) != 1 {
		t.Fatalf("alarm function answered %+v, want one incident with one proposal\nalarm output:\n%s", res, s.alarm.out.String())
	}
	incidentID := store.IncidentID(res.Alarms[0].Key)

	// The card is in the policy's channel, shows the plan, and carries the
	// proposal on its Approve button.
	cards := topLevelPosts(s.slack)
	if len(cards) != 1 {
		t.Fatalf("%d cards posted, want 1\nalarm output:\n%s", len(cards), s.alarm.out.String())
	}
	card := cards[0]
	if ch := card.Form.Get("channel"); ch != incidentChannel {
		t.Errorf("card posted to %q, want the policy's channel %s", ch, incidentChannel)
	}
	if !anyText(card.BlocksJSON, "4 → 6") {
		t.Errorf("the card does not show the plan (4 → 6 tasks): %s", card.BlocksJSON)
	}
	proposalID := buttonValue(card.BlocksJSON, "medic:approve")
	if proposalID == "" {
		t.Fatalf("the card has no Approve button: %s", card.BlocksJSON)
	}

	// The records are in DynamoDB.
	inc, err := s.store.Incident(ctx, incidentID)
	if err != nil {
		t.Fatalf("read incident %s from DynamoDB: %v", incidentID, err)
	}
	if inc.State != store.IncidentOpen || inc.Message.Channel != incidentChannel || inc.Message.TS == "" {
		t.Errorf("incident = state %s, card %+v; want OPEN with the card's location", inc.State, inc.Message)
	}
	props, err := s.store.Proposals(ctx, incidentID)
	if err != nil {
		t.Fatalf("read proposals of %s: %v", incidentID, err)
	}
	if len(props) != 1 || props[0].ID != proposalID || props[0].State != store.StateProposed || props[0].Action != "ecs.scale" || props[0].Plan == nil {
		t.Fatalf("proposals = %s, want one PROPOSED ecs.scale with a plan, %s", describe(props), proposalID)
	}

	// An SRE presses Approve: Slack -> Function URL -> the Slack function.
	click := slacktesting.SignedFunctionURLClick(signingSecret, time.Now(), slacktesting.Click{
		UserID: sreUser, ChannelID: inc.Message.Channel, MessageTs: inc.Message.TS, ProposalID: proposalID, Verb: "approve",
	}, true)
	var resp events.LambdaFunctionURLResponse
	s.slackFn.decode(t, s.slackFn.invoke(t, click), &resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slack function answered %d %q, want 200\nslack output:\n%s", resp.StatusCode, resp.Body, s.slackFn.out.String())
	}
	if eph := s.slack.Requests(slacktesting.MethodPostEphemeral); len(eph) != 0 {
		t.Fatalf("the approval was answered privately (%q), not accepted\nslack output:\n%s", eph[0].Form.Get("text"), s.slackFn.out.String())
	}
	if p, err := s.store.Proposal(ctx, proposalID); err != nil || p.State != store.StateApproved {
		t.Fatalf("after the approval the proposal is %v (err %v), want APPROVED", stateOf(p), err)
	}
	if got := s.desired(t); got != 4 {
		t.Fatalf("desired count is %d before the executor ran, want 4", got)
	}

	// SQS -> the executor, as the event source mapping delivers it.
	msgs := s.receive(t, 1)
	var kinds []string
	for _, m := range msgs {
		msg, err := engine.ParseMessage([]byte(aws.ToString(m.Body)))
		if err != nil {
			t.Fatalf("work message %s: %v", aws.ToString(m.Body), err)
		}
		kinds = append(kinds, string(msg.Kind)+" "+msg.Proposal)
	}
	if len(msgs) != 1 || kinds[0] != string(engine.KindExecute)+" "+proposalID {
		t.Fatalf("work queue holds %v, want one execute message for %s", kinds, proposalID)
	}
	var batch events.SQSEventResponse
	s.executor.decode(t, s.executor.invoke(t, s.sqsEvent(msgs)), &batch)
	if len(batch.BatchItemFailures) != 0 {
		t.Fatalf("executor reported failures %+v\nexecutor output:\n%s", batch.BatchItemFailures, s.executor.out.String())
	}
	s.deleteMessages(t, msgs)

	// The service scaled, read back through the SDK.
	if got := s.desired(t); got != 6 {
		t.Fatalf("desired count = %d after the executor ran, want 6\nexecutor output:\n%s", got, s.executor.out.String())
	}

	// The proposal succeeded, with an audit trail of who and what.
	p, err := s.store.Proposal(ctx, proposalID)
	if err != nil {
		t.Fatalf("read proposal %s: %v", proposalID, err)
	}
	if p.State != store.StateSucceeded || p.Result == nil || p.DecidedBy != sreUser {
		t.Fatalf("proposal = %s (result %+v, decided by %q), want SUCCEEDED, approved by %s", p.State, p.Result, p.DecidedBy, sreUser)
	}
	audit, err := s.store.Audit(ctx, store.AuditQuery{Incident: incidentID})
	if err != nil {
		t.Fatalf("read audit of %s: %v", incidentID, err)
	}
	trail := map[store.State]string{}
	for _, e := range audit {
		if e.Proposal == proposalID && e.To != "" {
			trail[e.To] = e.Who
		}
	}
	for to, who := range map[store.State]string{store.StateProposed: "", store.StateApproved: sreUser, store.StateExecuting: "", store.StateSucceeded: ""} {
		got, ok := trail[to]
		if !ok {
			t.Errorf("audit has no move of %s to %s; trail: %v", proposalID, to, trail)
		} else if who != "" && got != who {
			t.Errorf("audit says %s moved it to %s, want %s", got, to, who)
		}
	}

	// The card now shows the outcome: updated in place, Undo offered.
	ups := s.slack.Requests(slacktesting.MethodUpdate)
	if len(ups) == 0 {
		t.Fatalf("the card was never updated\nexecutor output:\n%s", s.executor.out.String())
	}
	last := ups[len(ups)-1]
	if last.Form.Get("channel") != inc.Message.Channel || last.Form.Get("ts") != inc.Message.TS {
		t.Errorf("chat.update went to %s/%s, want the card %s/%s", last.Form.Get("channel"), last.Form.Get("ts"), inc.Message.Channel, inc.Message.TS)
	}
	if buttonValue(last.BlocksJSON, "medic:undo") != proposalID || buttonValue(last.BlocksJSON, "medic:approve") != "" {
		t.Errorf("the updated card should offer Undo and no Approve: %s", last.BlocksJSON)
	}

	for _, f := range []*function{s.alarm, s.slackFn, s.executor} {
		rss, err := f.peakRSS()
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		t.Logf("%s function peak RSS: %.1f MiB", f.name, float64(rss)/(1<<20))
	}
}

func TestBuiltLambdasDropMalformedInput(t *testing.T) {
	s := deploy(t)
	items := s.itemCount(t)

	// Lambda only accepts JSON payloads, so "malformed" is an alarm event
	// without the alarm: acknowledged (a retry cannot fix it) and logged.
	bad := `{"version":"0","id":"1","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch",` +
		`"account":"123456789012","region":"us-east-1","time":"2025-01-01T00:00:00Z","detail":{"state":{"value":"ALARM"}}}`
	var res doors.AlarmResult
	s.alarm.decode(t, s.alarm.invoke(t, json.RawMessage(bad)), &res)
	if len(res.Alarms) != 0 {
		t.Errorf("a malformed alarm event was handled: %+v", res)
	}
	if len(s.alarm.errorLogs()) != 1 {
		t.Errorf("the rejected payload was not logged as one error\nalarm output:\n%s", s.alarm.out.String())
	}
	if n := s.slack.Count(""); n != 0 {
		t.Errorf("%d Slack calls for a malformed alarm event, want none", n)
	}
	if got := s.itemCount(t); got != items {
		t.Errorf("the table went from %d to %d items", items, got)
	}
	if got := s.desired(t); got != 4 {
		t.Errorf("desired count = %d, want 4", got)
	}

	// A work message that is not JSON: dropped, not retried.
	if _, err := s.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &s.queueURL, MessageBody: aws.String("this is not JSON")}); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := s.receive(t, 1)
	if len(msgs) != 1 || aws.ToString(msgs[0].Body) != "this is not JSON" {
		t.Fatalf("the work queue holds %d messages, want only the one sent (did the malformed alarm queue work?)", len(msgs))
	}
	var batch events.SQSEventResponse
	s.executor.decode(t, s.executor.invoke(t, s.sqsEvent(msgs)), &batch)
	if len(batch.BatchItemFailures) != 0 {
		t.Errorf("the executor asked for %+v to be retried; a message that is not JSON should be dropped", batch.BatchItemFailures)
	}
	logged := false
	for _, rec := range s.executor.errorLogs() {
		logged = logged || rec["message_id"] == aws.ToString(msgs[0].MessageId)
	}
	if !logged {
		t.Errorf("the dropped message %s was not logged as an error\nexecutor output:\n%s", aws.ToString(msgs[0].MessageId), s.executor.out.String())
	}
	if got := s.itemCount(t); got != items {
		t.Errorf("the table went from %d to %d items", items, got)
	}
}

// receive polls the work queue until it has received want messages (or
// 10s pass), then once more to catch any extra.
func (s *stack) receive(t *testing.T, want int) []sqstypes.Message {
	t.Helper()
	var msgs []sqstypes.Message
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := s.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: &s.queueURL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive from the work queue: %v", err)
		}
		msgs = append(msgs, out.Messages...)
		if len(msgs) > want || (len(msgs) == want && len(out.Messages) == 0) {
			return msgs
		}
		if time.Now().After(deadline) {
			if len(msgs) < want {
				t.Fatalf("received %d work messages in 10s, want %d", len(msgs), want)
			}
			return msgs
		}
	}
}

// sqsEvent is the batch the SQS event source mapping would deliver.
func (s *stack) sqsEvent(msgs []sqstypes.Message) events.SQSEvent {
	var ev events.SQSEvent
	for _, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:      aws.ToString(m.MessageId),
			ReceiptHandle:  aws.ToString(m.ReceiptHandle),
			Body:           aws.ToString(m.Body),
			Md5OfBody:      aws.ToString(m.MD5OfBody),
			Attributes:     m.Attributes,
			EventSource:    "aws:sqs",
			EventSourceARN: s.queueARN,
			AWSRegion:      testenv.Region,
		})
	}
	return ev
}

// deleteMessages removes a batch the executor handled without failures,
// as the event source mapping does.
func (s *stack) deleteMessages(t *testing.T, msgs []sqstypes.Message) {
	t.Helper()
	for _, m := range msgs {
		if _, err := s.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: &s.queueURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("delete message %s: %v", aws.ToString(m.MessageId), err)
		}
	}
}

// topLevelPosts are the chat.postMessage calls that are cards, not thread
// replies.
func topLevelPosts(sl *slacktesting.Server) []slacktesting.Request {
	var out []slacktesting.Request
	for _, p := range sl.Requests(slacktesting.MethodPostMessage) {
		if p.Form.Get("thread_ts") == "" {
			out = append(out, p)
		}
	}
	return out
}

// buttonValue returns the value of the button with actionID in blocks, or
// "".
func buttonValue(blocks json.RawMessage, actionID string) string {
	var found string
	walkJSON(blocks, func(obj map[string]any) {
		if obj["action_id"] == actionID {
			if v, ok := obj["value"].(string); ok {
				found = v
			}
		}
	})
	return found
}

// anyText reports whether any "text" string in blocks contains sub.
func anyText(blocks json.RawMessage, sub string) bool {
	found := false
	walkJSON(blocks, func(obj map[string]any) {
		if s, ok := obj["text"].(string); ok && strings.Contains(s, sub) {
			found = true
		}
	})
	return found
}

// walkJSON calls fn on every object in the JSON document doc.
func walkJSON(doc json.RawMessage, fn func(map[string]any)) {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			fn(v)
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
}

func describe(props []*store.Proposal) string {
	var b strings.Builder
	b.WriteString("[")
	for i, p := range props {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.ID + " " + p.Action + " " + string(p.State) + " plan=" + strconv.FormatBool(p.Plan != nil))
	}
	b.WriteString("]")
	return b.String()
}

func stateOf(p *store.Proposal) store.State {
	if p == nil {
		return "(none)"
	}
	return p.State
}
