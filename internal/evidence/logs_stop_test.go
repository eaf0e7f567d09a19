package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// checkoutLogs is a policy with a logs query and nothing else.
var checkoutLogs = []*policy.Policy{{Name: "checkout", Logs: &policy.Logs{Groups: []string{"/ecs/checkout"}}}}

func TestTheGathererStopsALogsQueryStillRunningWhenTheBudgetEnds(t *testing.T) {
	fake := &fakeLogsInsights{} // the query never finishes
	g := evidence.NewGatherer(render, nil, evidence.NewLogs(fake.client(t), nil))
	budget := 300 * time.Millisecond
	ev := g.Gather(context.Background(), anAlarm, checkoutLogs, budget)
	want := store.MissingEvidence{Collector: "logs", Reason: "timed out after 300ms"}
	if len(ev.Missing) != 1 || ev.Missing[0] != want {
		t.Errorf("missing = %+v, want %+v", ev.Missing, want)
	}
	// The collector stops its query once the budget has cancelled it,
	// after Gather has returned.
	select {
	case id := <-fake.stops:
		if id != fakeQueryID {
			t.Errorf("StopQuery(%q), want the query started (%q)", id, fakeQueryID)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("the logs query was not stopped within 3s of the budget ending")
	}
}

func TestTheLogsCollectorStopsOnlyAQueryItAbandonsUnfinished(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fake      *fakeLogsInsights
		wantStops []string
		// wantErr, when set, is what the collector's error must be;
		// otherwise it must succeed. reason is the card's Missing reason.
		wantErr error
		reason  string
	}{{
		name:      "a query still running when the budget ends is stopped, and the card says timed out",
		fake:      &fakeLogsInsights{},
		wantStops: []string{fakeQueryID},
		wantErr:   context.DeadlineExceeded,
		reason:    "timed out after 300ms",
	}, {
		name:      "a query that could not be stopped still reads timed out",
		fake:      &fakeLogsInsights{stopError: "InvalidParameterException"},
		wantStops: []string{fakeQueryID},
		wantErr:   context.DeadlineExceeded,
		reason:    "timed out after 300ms",
	}, {
		name:      "a query whose results cannot be read is stopped",
		fake:      &fakeLogsInsights{pollError: "AccessDeniedException"},
		wantStops: []string{fakeQueryID},
		reason:    "access denied (logs:GetQueryResults)",
	}, {
		name: "a query that completes is not stopped",
		fake: &fakeLogsInsights{finishAfter: 2, finish: "Complete", results: [][]fakeField{
			{{Field: "@timestamp", Value: "2026-12-03 08:14:02.123"}, {Field: "@message", Value: "ERROR order 4711 failed"}},
			{{Field: "@timestamp", Value: "2026-12-03 08:14:03.456"}, {Field: "@message", Value: "ERROR order 4712 failed"}},
		}},
	}, {
		name:   "a query that failed on its own is not stopped",
		fake:   &fakeLogsInsights{finishAfter: 1, finish: "Failed"},
		reason: "failed",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var logged bytes.Buffer
			c := evidence.NewLogs(tc.fake.client(t), slog.New(slog.NewJSONHandler(&logged, nil)))
			budget := 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), budget)
			defer cancel()
			target := &evidence.Target{Alarm: anAlarm, Now: time.Now(), Logs: checkoutLogs[0].Logs}
			ev, err := c.Collect(ctx, target)
			if got := tc.fake.stoppedIDs(); !slices.Equal(got, tc.wantStops) {
				t.Errorf("StopQuery called with %q, want %q", got, tc.wantStops)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("collect: %v", err)
				}
				if p := ev.Logs.Patterns; len(p) != 1 || p[0].Pattern != "ERROR order N failed" || p[0].Count != 2 {
					t.Errorf("patterns = %+v, want ERROR order N failed ×2", p)
				}
				return
			}
			if got := evidence.Reason(err, budget); got != tc.reason {
				t.Errorf("reason = %q (error %v), want %q", got, err, tc.reason)
			}
			if left := strings.Contains(logged.String(), "logs query left running"); left != (tc.fake.stopError != "") {
				t.Errorf("logged %q; want a line saying the query was left running only when StopQuery failed", logged.String())
			}
		})
	}
}
