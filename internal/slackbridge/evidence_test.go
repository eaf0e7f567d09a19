package slackbridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/slackbridge"
	"github.com/medicbot/medic/internal/store"
)

func TestANewCardGetsTheLogPatternsAndTheMetricGraphInItsThread(t *testing.T) {
	sl := slacktesting.New(t)
	client := slack.NewClient(sl.Client("xoxb-test"))
	n := slackbridge.NewNotifier(client, nil, "C0INCIDENTS")
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 2048)...)
	inc := &store.Incident{ID: "inc-1", Alarm: alarm.Alarm{Name: "checkout-prod-5xx", State: alarm.StateAlarm}, State: store.IncidentOpen,
		Evidence: &store.Evidence{Reading: "target 5xx", Graph: png, Logs: &store.Logs{Groups: []string{"/ecs/checkout"},
			Start: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 3, 8, 15, 0, 0, time.UTC),
			Patterns: []store.PatternCount{{Pattern: "ERROR upstream payments timed out after Nms", Count: 41}, {Pattern: "pool <exhausted>", Count: 7}}}}}
	ref, err := n.Notify(context.Background(), &engine.Notice{Kind: engine.NoticeOpened, Incident: inc})
	if err != nil {
		t.Fatalf("notify: %v", err)
	}
	var thread string
	for _, r := range sl.Requests(slacktesting.MethodPostMessage) {
		if r.Form.Get("thread_ts") == ref.TS {
			thread += r.Form.Get("text")
		}
	}
	if !strings.Contains(thread, "×41 `ERROR upstream payments timed out after Nms`") || !strings.Contains(thread, "pool &lt;exhausted&gt;") {
		t.Errorf("thread = %q, want the log patterns with their counts, escaped", thread)
	}
	ups := sl.Requests(slacktesting.MethodFileUpload)
	if len(ups) != 1 || ups[0].Form.Get("size") != "2056" || ups[0].Form.Get("filename") != "5xx.png" {
		t.Fatalf("uploads = %+v, want the 2056-byte graph", ups)
	}
	done := sl.Requests(slacktesting.MethodCompleteUpload)
	if len(done) != 1 || done[0].Form.Get("thread_ts") != ref.TS || done[0].Form.Get("channel_id") != "C0INCIDENTS" {
		t.Errorf("completeUploadExternal = %+v, want it shared into the card's thread", done)
	}

	// An update of the card uploads nothing again.
	inc.Message = ref
	if _, err := n.Notify(context.Background(), &engine.Notice{Kind: engine.NoticeUpdated, Incident: inc}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if got := len(sl.Requests(slacktesting.MethodFileUpload)); got != 1 {
		t.Errorf("%d uploads after an update, want still 1", got)
	}
}
