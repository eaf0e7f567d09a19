package doors_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/engine"
)

// lateEngine records the order of the alarm door's calls and how long the
// late-evidence wait was allowed.
type lateEngine struct {
	calls   []string
	allowed time.Duration
	block   bool
}

func (e *lateEngine) HandleAlarm(context.Context, *alarm.Alarm) (engine.Outcome, error) {
	e.calls = append(e.calls, "alarm")
	return engine.Outcome{}, nil
}

func (e *lateEngine) WaitLateEvidence(ctx context.Context) error {
	e.calls = append(e.calls, "wait")
	if dl, ok := ctx.Deadline(); ok {
		e.allowed = time.Until(dl)
	}
	if e.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (e *lateEngine) Relay(context.Context) (engine.RelayResult, error) {
	e.calls = append(e.calls, "relay")
	return engine.RelayResult{}, nil
}

func TestTheAlarmFunctionWaitsForLateEvidenceBeforeItsRelay(t *testing.T) {
	payload, err := os.ReadFile("../../examples/tests/alarms/eventbridge-alb-target-5xx.json")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Run("late answers are waited for, then relayed", func(t *testing.T) {
		eng := &lateEngine{}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := doors.AlarmLambda(eng, log)(ctx, payload); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(eng.calls, " "); got != "alarm wait relay" {
			t.Errorf("calls = %s, want alarm wait relay", got)
		}
		if eng.allowed <= 0 || eng.allowed > doors.LateEvidenceWait {
			t.Errorf("the wait was allowed %s, want at most %s", eng.allowed, doors.LateEvidenceWait)
		}
	})

	t.Run("the wait leaves the invocation time to relay", func(t *testing.T) {
		eng := &lateEngine{block: true}
		ctx, cancel := context.WithTimeout(context.Background(), 13*time.Second)
		defer cancel()
		start := time.Now()
		if _, err := doors.AlarmLambda(eng, log)(ctx, payload); err != nil {
			t.Fatal(err)
		}
		// 13 s to the deadline, 12 s kept for the relay: a wait of about
		// a second, never into the relay's time.
		if eng.allowed > time.Second+100*time.Millisecond || time.Since(start) > 5*time.Second {
			t.Errorf("the wait was allowed %s (took %s) with 13 s left, want about 1 s", eng.allowed, time.Since(start))
		}
		if got := strings.Join(eng.calls, " "); got != "alarm wait relay" {
			t.Errorf("calls = %s, want alarm wait relay", got)
		}
	})

	t.Run("with no time to spare it does not wait", func(t *testing.T) {
		eng := &lateEngine{block: true}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := doors.AlarmLambda(eng, log)(ctx, payload); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(eng.calls, " "); got != "alarm relay" {
			t.Errorf("calls = %s, want alarm relay (no wait with 5 s left)", got)
		}
	})
}
