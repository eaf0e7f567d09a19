package doors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/engine"
)

// fakeWork records what the executor door asked of the engine.
type fakeWork struct {
	sweeps   int
	stale    int
	messages []engine.Message
	relays   int
	relayed  engine.RelayResult
}

func (f *fakeWork) Relay(context.Context) (engine.RelayResult, error) {
	f.relays++
	return f.relayed, nil
}

func (f *fakeWork) HandleMessage(_ context.Context, m engine.Message) error {
	f.messages = append(f.messages, m)
	return nil
}

func (f *fakeWork) SweepStale(context.Context) (int, error) {
	f.sweeps++
	return f.stale, nil
}

// scheduledEvent is what an EventBridge rule of a SAM Schedule event
// (template.yaml's ExecutorFunction Sweep) delivers to the function.
const scheduledEvent = `{
  "version": "0",
  "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": "2025-01-01T00:05:00Z",
  "region": "us-east-1",
  "resources": ["arn:aws:events:us-east-1:123456789012:rule/medic-ExecutorFunctionSweep-1A2B3C4D5E6F"],
  "detail": {}
}`

func TestExecutorLambdaSweepsOnAScheduledEvent(t *testing.T) {
	eng := &fakeWork{stale: 2, relayed: engine.RelayResult{Sent: 1, Waiting: 3}}
	var logs bytes.Buffer
	h := doors.ExecutorLambda(eng, slog.New(slog.NewJSONHandler(&logs, nil)))

	out, err := h(context.Background(), json.RawMessage(scheduledEvent))
	if err != nil {
		t.Fatalf("scheduled event: %v", err)
	}
	if eng.sweeps != 1 || len(eng.messages) != 0 {
		t.Fatalf("a scheduled event swept %d times and handled %d messages, want one sweep and no message", eng.sweeps, len(eng.messages))
	}
	b, _ := json.Marshal(out)
	if string(b) != `{"needs_human":2,"relayed":1,"owed":3}` {
		t.Errorf("the executor answered %s, want {\"needs_human\":2,\"relayed\":1,\"owed\":3}", b)
	}
	if eng.relays != 1 {
		t.Errorf("a scheduled event relayed owed messages %d times, want once", eng.relays)
	}
	// What the sweep found is in the logs (the answer of a scheduled
	// invocation goes nowhere), naming the rule that fired.
	var warned bool
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "WARN" && rec["needs_human"] == float64(2) &&
			rec["detail_type"] == "Scheduled Event" && strings.Contains(line, "rule/medic-ExecutorFunctionSweep") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("the sweep's finding was not logged as a warning naming the rule:\n%s", logs.String())
	}

	// A quiet sweep is logged too, below warning.
	eng.stale = 0
	logs.Reset()
	if _, err := h(context.Background(), json.RawMessage(scheduledEvent)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"level":"INFO"`) || strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("a sweep that found nothing logged:\n%s", logs.String())
	}
}

func TestExecutorLambdaHandlesAnSQSBatchAfterASweep(t *testing.T) {
	eng := &fakeWork{}
	h := doors.ExecutorLambda(eng, slog.New(slog.DiscardHandler))
	body, _ := json.Marshal(engine.Message{Kind: engine.KindExecute, Proposal: "p1"})
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: string(body)}}}
	raw, _ := json.Marshal(ev)
	out, err := h(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.(events.SQSEventResponse); !ok {
		t.Fatalf("an SQS batch was answered with %T, want events.SQSEventResponse", out)
	}
	if eng.sweeps != 1 || len(eng.messages) != 1 || eng.messages[0].Proposal != "p1" {
		t.Errorf("SQS batch: %d sweeps, messages %+v; want one sweep and message p1", eng.sweeps, eng.messages)
	}
}

// fakeURL answers every Function URL request with 200.
type fakeURL struct{ calls int }

func (f *fakeURL) HandleFunctionURL(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	f.calls++
	return events.LambdaFunctionURLResponse{StatusCode: 200, Body: "ok"}, nil
}

// The Slack function's tail relays what medic owes too, after answering.
func TestSlackLambdaAnswersThenRelays(t *testing.T) {
	h, eng := &fakeURL{}, &fakeWork{}
	resp, err := doors.SlackLambda(h, eng, slog.New(slog.NewTextHandler(io.Discard, nil)))(context.Background(), events.LambdaFunctionURLRequest{})
	if err != nil || resp.StatusCode != 200 || resp.Body != "ok" || h.calls != 1 {
		t.Fatalf("answer %+v, %v after %d calls; want the handler's 200", resp, err, h.calls)
	}
	if eng.relays != 1 {
		t.Errorf("relayed %d times, want once at the tail", eng.relays)
	}
}
