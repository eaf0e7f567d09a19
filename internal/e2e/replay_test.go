package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/slackbridge"
	"github.com/medicbot/medic/internal/store"
)

// TestBuiltSlackFunctionDropsAReplayOnAnotherInstance: a signed approval is
// delivered again (a Slack retry, or a captured request re-sent within the
// signature window) and reaches a second instance of the Slack function.
// The replay check is in the DynamoDB table, not in the first instance's
// memory, so the second instance drops it silently.
func TestBuiltSlackFunctionDropsAReplayOnAnotherInstance(t *testing.T) {
	s := deploy(t)
	ctx := context.Background()

	var res doors.AlarmResult
	s.alarm.decode(t, s.alarm.invoke(t, json.RawMessage(s.prod.AlarmEvent("ALARM", time.Now().Add(-time.Minute)))), &res)
	if len(res.Alarms) != 1 || res.Alarms[0].Incident == "" {
		t.Fatalf("alarm function answered %+v, want one incident\nalarm output:\n%s", res, s.alarm.out.String())
	}
	inc, err := s.store.Incident(ctx, store.IncidentID(res.Alarms[0].Key))
	if err != nil {
		t.Fatalf("read incident: %v", err)
	}
	cards := topLevelPosts(s.slack)
	if len(cards) != 1 {
		t.Fatalf("%d cards posted, want 1", len(cards))
	}
	proposalID := buttonValue(cards[0].BlocksJSON, "medic:approve")
	c := slacktesting.Click{UserID: sreUser, ChannelID: inc.Message.Channel, MessageTs: inc.Message.TS,
		ProposalID: proposalID, Verb: "approve", ActionTs: "1700000400.000001"}
	click := slacktesting.SignedFunctionURLClick(signingSecret, time.Now(), c, true)

	var resp events.LambdaFunctionURLResponse
	s.slackFn.decode(t, s.slackFn.invoke(t, click), &resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slack function answered %d %q\nslack output:\n%s", resp.StatusCode, resp.Body, s.slackFn.out.String())
	}
	if p, err := s.store.Proposal(ctx, proposalID); err != nil || p.State != store.StateApproved {
		t.Fatalf("after the approval the proposal is %v (err %v), want APPROVED\nslack output:\n%s", stateOf(p), err, s.slackFn.out.String())
	}
	key := slack.ReplayKey(c.MessageTs, "medic:approve", c.UserID, c.ActionTs)
	if n, err := s.store.Counter(ctx, slackbridge.SeenKey(key)); err != nil || n != 1 {
		t.Errorf("the table's replay record for the click = %d (err %v), want 1", n, err)
	}

	// The same request, to another instance.
	second := startFunction(t, "slack-2", bootstrap(t, "slack"), s.env["SlackFunction"])
	second.decode(t, second.invoke(t, click), &resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("second instance answered %d %q\nslack-2 output:\n%s", resp.StatusCode, resp.Body, second.out.String())
	}
	if eph := s.slack.Requests(slacktesting.MethodPostEphemeral); len(eph) != 0 {
		t.Errorf("the replay was answered (%q): it reached the engine instead of being dropped\nslack-2 output:\n%s",
			eph[0].Form.Get("text"), second.out.String())
	}
	if !strings.Contains(second.out.String(), "replayed slack interaction ignored") {
		t.Errorf("the second instance did not drop the replay\nslack-2 output:\n%s", second.out.String())
	}
	audit, err := s.store.Audit(ctx, store.AuditQuery{Incident: inc.ID})
	if err != nil {
		t.Fatalf("read audit: %v", err)
	}
	for _, e := range audit {
		if e.Proposal == proposalID && e.Who == sreUser && e.To != store.StateApproved {
			t.Errorf("the replay left an audit entry: %+v", e)
		}
	}
}
