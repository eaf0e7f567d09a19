package slackbridge_test

import (
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
)

// The recovery's thread reply is the incident report, built from the
// records the engine wrote during the incident.
func TestTheRecoveryRepliesWithTheIncidentReport(t *testing.T) {
	h := newHarness(t, requiredPolicy(1))
	inc := h.fire()
	id := firstProposal(inc)

	h.clock.Advance(90 * time.Second)
	h.click(inc, alice, "approve", id)
	h.drain()
	h.clock.Advance(10 * time.Minute)
	if _, err := h.engine.HandleAlarm(h.ctx, h.newAlarm(alarm.StateOK)); err != nil {
		t.Fatal(err)
	}
	replies := h.threadReplies(inc)
	if len(replies) == 0 {
		t.Fatal("no thread reply after the recovery")
	}
	last := replies[len(replies)-1]
	text := blockText(last.Blocks)
	mustContain(t, "the report", text,
		"*Incident report* · alarm `"+alarmName+"`",
		"*Time to first action:* 1m30s", "*Time to recovery:* 11m30s",
		"*What ran*\n• *checkout step 1* `test.scale`: succeeded — prod/checkout: desired 4 -&gt; 6 tasks; desired 4 -&gt; 6 tasks; approved by <@"+alice+">",
		"*What did not run*\nEvery proposed step ran.",
		"<@"+alice+">: checkout step 1 approved", "checkout step 1 succeeded",
	)
	mustContain(t, "the fallback", last.Form.Get("text"), "time to first action 1m30s")
}
