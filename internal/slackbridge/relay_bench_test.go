package slackbridge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/slack/slacktesting"
)

// BenchmarkRelayAfterSlackOutage: 100 incidents open while Slack refuses
// every card; one op is the time from Slack taking cards again to every
// owed card posted (relays run back to back, as a busy timer would; the
// backoff is skipped by moving the clock), through the real Slack client
// against the Slack test server.
func BenchmarkRelayAfterSlackOutage(b *testing.B) {
	const incidents = 100
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b, requiredPolicy(1))
		h.slack.FailWith(slacktesting.MethodPostMessage, "service_unavailable")
		for i := range incidents {
			a := h.newAlarm(alarm.StateAlarm)
			a.ARN = fmt.Sprintf("%s-%d", alarmARN, i)
			if _, err := h.engine.HandleAlarm(h.ctx, a); err != nil {
				b.Fatal(err)
			}
		}
		h.slack.FailWith(slacktesting.MethodPostMessage, "")
		h.clock.Advance(10 * time.Minute)
		b.StartTimer()
		for range 10 {
			if _, err := h.engine.Relay(h.ctx); err != nil {
				b.Fatal(err)
			}
			if owed, _ := h.store.Owed(h.ctx, 0); len(owed) == 0 {
				break
			}
		}
		b.StopTimer()
		if n := len(h.cardPosts()); n != incidents {
			b.Fatalf("%d cards posted, want %d", n, incidents)
		}
		b.StartTimer()
	}
}
